//! IAM kinds and the helpers they share: default names, tags, and policy
//! documents (URL-decoded as IAM returns them, and brought into one canonical
//! form so that equal policies written differently compare equal).

/// The AWS service of these kinds.
pub const SERVICE: &str = "iam";

pub mod instance_profile;
pub mod role;

use std::time::Duration;

use aws_sdk_iam::types::Tag;

use super::{ADDRESS_TAG, Ctx, STACK_TAG, user_tags};
use crate::aws::ApiError;
use crate::aws::wait::{Poll, Waiter};
use crate::value::{Attrs, Value};

/// How many per-resource calls run at once, to stay clear of IAM's
/// (account-wide, low) request rate.
pub use crate::kinds::READ_CONCURRENCY as CONCURRENCY;

/// IAM names (roles, instance profiles) are at most 64 characters.
pub const NAME_MAX: usize = 64;

/// How long IAM may take to let other IAM calls see a new entity (a role
/// named as principal of a trust policy, a role added to a profile).
pub const PROPAGATION: Duration = Duration::from_secs(120);

/// `<stack>-<resource name>`, cut to `max` characters; the resource name is
/// the part of the address after the first '.'.
pub fn default_name(cx: Ctx<'_>, address: &str, max: usize) -> String {
    crate::kinds::default_name(cx.stack, address)
        .chars()
        .take(max)
        .collect()
}

/// The tags of a create call: user tags plus `reconcile:*`.
pub fn create_tags(cx: Ctx<'_>, address: &str, desired: &Attrs) -> Result<Vec<Tag>, ApiError> {
    cx.tags_for(address, desired)
        .into_iter()
        .map(|(k, v)| tag(k, v))
        .collect()
}

pub fn tag(key: impl Into<String>, value: impl Into<String>) -> Result<Tag, ApiError> {
    Tag::builder()
        .key(key)
        .value(value)
        .build()
        .map_err(|e| ApiError::msg(format!("building an IAM tag: {e}")))
}

/// The user-visible tags of an IAM entity.
pub fn tags_value(tags: &[Tag]) -> Value {
    user_tags(tags.iter().map(|t| (t.key(), t.value())))
}

/// True when the tags say the entity is `address` of this stack.
pub fn is_ours(cx: Ctx<'_>, address: &str, tags: &[Tag]) -> bool {
    let has = |k: &str, v: &str| tags.iter().any(|t| t.key() == k && t.value() == v);
    has(STACK_TAG, cx.stack) && has(ADDRESS_TAG, address)
}

pub use super::tag_changes;

pub use super::support::found;

/// Runs `call` until it stops failing with an error `pending` names, for at
/// most `PROPAGATION`: IAM is eventually consistent, and a role created a
/// moment ago can be unknown to the next call.
pub async fn retry_while_propagating<T, F, Fut>(
    what: &str,
    pending: fn(&ApiError) -> bool,
    mut call: F,
) -> Result<T, ApiError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, ApiError>>,
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

pub use super::support::policy::{canonical_policy, policy_value, url_decode};

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn default_names_join_stack_and_resource_and_fit_iam() {
        let aws = crate::aws::Clients::from_config(
            &aws_config::SdkConfig::builder()
                .behavior_version(aws_config::BehaviorVersion::latest())
                .build(),
        );
        let cx = Ctx {
            aws: &aws,
            stack: "shop",
        };
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
