//! IAM kinds and what they share: default names, IAM's tag type, and the
//! wait for IAM's eventual consistency.

/// The AWS service of these kinds.
pub const SERVICE: &str = "iam";

pub mod instance_profile;
pub mod role;

use std::time::Duration;

use aws_sdk_iam::types::Tag;

use super::Ctx;
use super::support::{Poll, Waiter, sdk_tag_required};
use crate::aws::ApiError;
use crate::kinds::ApiResult;

/// How many per-resource calls run at once, to stay clear of IAM's
/// (account-wide, low) request rate.
pub use crate::kinds::READ_CONCURRENCY as CONCURRENCY;

/// IAM names (roles, instance profiles) are at most 64 characters.
pub const NAME_MAX: usize = 64;

/// How long IAM may take to let other IAM calls see a new entity (a role
/// named as principal of a trust policy, a role added to a profile).
pub const PROPAGATION: Duration = Duration::from_mins(2);

/// `<stack>-<resource name>`, cut to `max` characters; the resource name is
/// the part of the address after the first '.'.
pub fn default_name(cx: Ctx<'_>, address: &str, max: usize) -> String {
    crate::kinds::default_name(cx.stack, address)
        .chars()
        .take(max)
        .collect()
}

sdk_tag_required!(Tag, "an IAM tag");

/// Runs `call` until it stops failing with an error `pending` names, for at
/// most `PROPAGATION`: IAM is eventually consistent, and a role created a
/// moment ago can be unknown to the next call.
pub async fn retry_while_propagating<T, F, Fut>(
    what: &str,
    pending: fn(&ApiError) -> bool,
    mut call: F,
) -> ApiResult<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ApiResult<T>>,
{
    Waiter::new(PROPAGATION)
        .until(what, || {
            let attempt = call();
            async move {
                match attempt.await {
                    Ok(t) => Ok(Poll::Ready(t)),
                    Err(e) if pending(&e) => Ok(Poll::Pending(e.to_string())),
                    Err(e) => Err(e),
                }
            }
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::support::tag_changes;
    use crate::value::{Attrs, Value};
    use std::collections::BTreeMap;

    #[test]
    fn default_names_join_stack_and_resource_and_fit_iam() {
        let aws = crate::aws::Clients::from_config(
            &aws_config::SdkConfig::builder()
                .behavior_version(aws_config::BehaviorVersion::latest())
                .build(),
        );
        let cx = Ctx { aws: &aws, stack: "shop" };
        assert_eq!(
            default_name(cx, "module.web.iam_role.task_exec", NAME_MAX),
            "shop-web-task_exec"
        );
        let long = format!("iam_role.{}", "x".repeat(100));
        assert_eq!(default_name(cx, &long, NAME_MAX).len(), NAME_MAX);
    }

    #[test]
    fn tag_changes_set_new_values_and_remove_dropped_keys() {
        let tags = |pairs: &[(&str, &str)]| {
            Attrs::from([(
                "tags".to_owned(),
                Value::from(
                    pairs
                        .iter()
                        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                        .collect::<BTreeMap<_, _>>(),
                ),
            )])
        };
        let (set, unset) = tag_changes(
            &tags(&[("a", "1"), ("b", "2")]),
            &tags(&[("a", "1"), ("c", "3")]),
        );
        assert_eq!(set, BTreeMap::from([("c".to_owned(), "3".to_owned())]));
        assert_eq!(unset, vec!["b".to_owned()]);
    }
}
