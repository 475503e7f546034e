//! CloudFront kinds and what they share: the tag type, the ETag a change
//! must quote, and the wait until a change has reached every edge.

/// The AWS service of these kinds.
pub const SERVICE: &str = "cloudfront";

pub mod distribution;

use crate::kinds::support::TagApi;
use std::collections::BTreeMap;

use aws_sdk_cloudfront::types::{Tag, TagKeys, Tags};

use super::Ctx;
use super::support::{Poll, SdkTag, Waiter, found, sync_tags_with};
use crate::aws::ApiError;
use crate::kinds::ApiResult;
use crate::value::Attrs;

/// A required field the SDK builder refused: a bug in reconcile, not AWS.
pub fn built<T>(r: Result<T, aws_smithy_types::error::operation::BuildError>) -> ApiResult<T> {
    r.map_err(|e| ApiError::msg(format!("building a CloudFront request: {e}")))
}

impl SdkTag for Tag {
    fn tag_key(&self) -> Option<&str> {
        Some(self.key())
    }
    fn tag_value(&self) -> Option<&str> {
        Some(self.value().unwrap_or_default())
    }
    fn from_pair(key: String, value: String) -> ApiResult<Self> {
        built(Tag::builder().key(key).value(value).build())
    }
}

/// The tags of a new resource, as CloudFront takes them.
pub fn create_tags(cx: Ctx<'_>, address: &str, desired: &Attrs) -> ApiResult<Tags> {
    let items = super::support::create_tags(cx, address, desired)?;
    Ok(Tags::builder().set_items(Some(items)).build())
}

/// All tags of a resource; `None` when it no longer exists. (CloudFront is
/// global: its tags are not read through the stack region's tagging API.)
pub async fn tags_of(cx: Ctx<'_>, arn: &str) -> ApiResult<Option<BTreeMap<String, String>>> {
    let r = cx
        .aws
        .cloudfront
        .list_tags_for_resource()
        .resource(arn)
        .send()
        .await;
    Ok(found(r.map_err(ApiError::from))?.map(|out| {
        let items = out
            .tags()
            .map(aws_sdk_cloudfront::types::Tags::items)
            .unwrap_or_default();
        super::support::tag_pairs(items)
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }))
}

/// The tag API of CloudFront: untags what went away, tags what
/// is new or changed.
pub struct CloudFrontTags;

#[async_trait::async_trait]
impl TagApi for CloudFrontTags {
    async fn sync(&self, cx: Ctx<'_>, arn: &str, live: &Attrs, desired: &Attrs) -> ApiResult<()> {
        let cf = &cx.aws.cloudfront;
        sync_tags_with!(
            live,
            desired,
            |set: Tag| cf
                .tag_resource()
                .resource(arn)
                .tags(Tags::builder().set_items(Some(set)).build()),
            |unset| cf
                .untag_resource()
                .resource(arn)
                .tag_keys(TagKeys::builder().set_items(Some(unset)).build()),
        )
    }
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
) -> ApiResult<String> {
    Waiter::new(timeout)
        .until(
            &format!("CloudFront distribution {id} to be deployed"),
            || async {
                let out = cx.aws.cloudfront.get_distribution().id(id).send().await?;
                Ok(
                    match deploy_outcome(
                        out.distribution()
                            .map(aws_sdk_cloudfront::types::Distribution::status),
                    ) {
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
    async fn wait_over(statuses: &'static [&'static str], timeout: Duration) -> ApiResult<()> {
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
            Duration::from_mins(40),
        )
        .await;
        assert!(got.is_ok(), "{got:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_distribution_stuck_in_progress_times_out_after_40_minutes() {
        let start = tokio::time::Instant::now();
        let err = wait_over(&["InProgress"], Duration::from_mins(40))
            .await
            .unwrap_err();
        assert!(err.message.contains("timed out after 40m"), "{err}");
        assert!(err.message.contains("InProgress"), "{err}");
        assert!(start.elapsed() >= Duration::from_mins(40));
    }
}
