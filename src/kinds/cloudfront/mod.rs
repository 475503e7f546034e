//! CloudFront kinds and the helpers they share: tags, the ETag a change
//! must quote, and the wait until a change has reached every edge.

/// The AWS service of these kinds.
pub const SERVICE: &str = "cloudfront";

pub mod distribution;

use std::collections::BTreeMap;

use aws_sdk_cloudfront::types::{Tag, Tags};

use super::{ADDRESS_TAG, Ctx, STACK_TAG, user_tags};
use crate::aws::ApiError;
use crate::aws::wait::{Poll, Waiter};
use crate::value::{Attrs, Value};

/// Parallel reads (GetDistribution, ListTagsForResource) at once.
pub use crate::kinds::READ_CONCURRENCY as CONCURRENCY;

/// A required field the SDK builder refused: a bug in reconcile, not AWS.
pub fn built<T>(
    r: Result<T, aws_smithy_types::error::operation::BuildError>,
) -> Result<T, ApiError> {
    r.map_err(|e| ApiError::msg(format!("building a CloudFront request: {e}")))
}

/// The tags of a new resource, as CloudFront takes them.
pub fn create_tags(cx: Ctx<'_>, address: &str, desired: &Attrs) -> Result<Tags, ApiError> {
    let items = cx
        .tags_for(address, desired)
        .into_iter()
        .map(|(k, v)| built(Tag::builder().key(k).value(v).build()))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Tags::builder().set_items(Some(items)).build())
}

/// All tags of a resource; `None` when it no longer exists.
pub async fn tags_of(cx: Ctx<'_>, arn: &str) -> Result<Option<BTreeMap<String, String>>, ApiError> {
    let r = cx
        .aws
        .cloudfront
        .list_tags_for_resource()
        .resource(arn)
        .send()
        .await
        .map_err(ApiError::from);
    match r {
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
        Ok(out) => Ok(Some(
            out.tags()
                .map(|t| t.items())
                .unwrap_or_default()
                .iter()
                .map(|t| (t.key().to_owned(), t.value().unwrap_or_default().to_owned()))
                .collect(),
        )),
    }
}

/// The user-visible part of a tag map.
pub fn tags_value(tags: Option<&BTreeMap<String, String>>) -> Value {
    user_tags(
        tags.into_iter()
            .flatten()
            .map(|(k, v)| (k.as_str(), v.as_str())),
    )
}

/// Whether a tag map names this stack and address.
pub fn is_tagged_with(tags: &BTreeMap<String, String>, cx: Ctx<'_>, address: &str) -> bool {
    tags.get(STACK_TAG).is_some_and(|s| s == cx.stack)
        && tags.get(ADDRESS_TAG).is_some_and(|a| a == address)
}

/// Sets the user's tags to `desired`'s: untags what went away, tags the rest.
pub async fn sync_tags(
    cx: Ctx<'_>,
    arn: &str,
    live: &Attrs,
    desired: &Attrs,
) -> Result<(), ApiError> {
    let old = live.get("tags").map(Value::str_map).unwrap_or_default();
    let new = desired.get("tags").map(Value::str_map).unwrap_or_default();
    let gone: Vec<String> = old
        .keys()
        .filter(|k| !new.contains_key(*k))
        .cloned()
        .collect();
    let cf = &cx.aws.cloudfront;
    if !gone.is_empty() {
        cf.untag_resource()
            .resource(arn)
            .tag_keys(
                aws_sdk_cloudfront::types::TagKeys::builder()
                    .set_items(Some(gone))
                    .build(),
            )
            .send()
            .await?;
    }
    if !new.is_empty() {
        let items = new
            .into_iter()
            .map(|(k, v)| built(Tag::builder().key(k).value(v).build()))
            .collect::<Result<Vec<_>, _>>()?;
        cf.tag_resource()
            .resource(arn)
            .tags(Tags::builder().set_items(Some(items)).build())
            .send()
            .await?;
    }
    Ok(())
}

/// What one poll of a changing distribution saw: only `Deployed` is done;
/// `InProgress` (the change still spreading to the edges) and anything
/// else CloudFront may add later keep waiting.
pub fn deploy_outcome(status: Option<&str>) -> Poll<()> {
    match status {
        Some("Deployed") => Poll::Ready(()),
        Some(s) => Poll::Pending(s.to_owned()),
        None => Poll::Pending("no status yet".into()),
    }
}

/// Waits until distribution `id` is `Deployed`; returns its ETag then.
pub async fn wait_deployed(
    cx: Ctx<'_>,
    timeout: std::time::Duration,
    id: &str,
) -> Result<String, ApiError> {
    Waiter::new(timeout)
        .until(
            &format!("CloudFront distribution {id} to be deployed"),
            || async {
                let out = cx.aws.cloudfront.get_distribution().id(id).send().await?;
                Ok(
                    match deploy_outcome(out.distribution().map(|d| d.status())) {
                        Poll::Ready(()) => Poll::Ready(out.e_tag().unwrap_or_default().to_owned()),
                        Poll::Pending(s) => Poll::Pending(s),
                        Poll::Failed(s) => Poll::Failed(s),
                    },
                )
            },
        )
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[test]
    fn only_deployed_ends_the_wait() {
        assert_eq!(deploy_outcome(Some("Deployed")), Poll::Ready(()));
        assert_eq!(
            deploy_outcome(Some("InProgress")),
            Poll::Pending("InProgress".into())
        );
        assert!(matches!(deploy_outcome(None), Poll::Pending(_)));
    }

    /// The waiter over the decision function, fed CloudFront's statuses.
    async fn wait_over(
        statuses: &'static [&'static str],
        timeout: Duration,
    ) -> Result<(), ApiError> {
        let n = AtomicUsize::new(0);
        Waiter::new(timeout)
            .until("distribution", || {
                let i = n.fetch_add(1, Ordering::SeqCst).min(statuses.len() - 1);
                std::future::ready(Ok(deploy_outcome(Some(statuses[i]))))
            })
            .await
    }

    #[tokio::test(start_paused = true)]
    async fn in_progress_then_deployed_is_ready() {
        let got = wait_over(
            &["InProgress", "InProgress", "Deployed"],
            Duration::from_secs(2400),
        )
        .await;
        assert!(got.is_ok(), "{got:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_distribution_stuck_in_progress_times_out_after_40_minutes() {
        let start = tokio::time::Instant::now();
        let err = wait_over(&["InProgress"], Duration::from_secs(2400))
            .await
            .unwrap_err();
        assert!(err.message.contains("timed out after 40m"), "{err}");
        assert!(err.message.contains("InProgress"), "{err}");
        assert!(start.elapsed() >= Duration::from_secs(2400));
    }
}
