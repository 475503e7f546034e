//! Cloud Map kinds (private DNS namespace, service) and what they share:
//! tags, and the asynchronous operations most of their calls start.

/// The AWS service of these kinds.
pub const SERVICE: &str = "servicediscovery";

pub mod namespace;
pub mod service;

use crate::kinds::support::TagApi;
use aws_sdk_servicediscovery::types::{OperationStatus, OperationTargetType, Tag};

use super::Ctx;
use super::support::{Poll, Waiter, sdk_tag_required, sync_tags_with, tags_value};
use crate::aws::ApiError;
use crate::kinds::ApiResult;
use crate::value::{Attrs, Value};

sdk_tag_required!(Tag, "a Cloud Map tag");

/// The user tags of a namespace or service (one call per resource: Cloud
/// Map has no batched tag read), with the `reconcile:*` ones kept apart.
pub async fn tags_of(cx: Ctx<'_>, arn: &str) -> ApiResult<Vec<Tag>> {
    let out = cx
        .aws
        .servicediscovery
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await?;
    Ok(out.tags.unwrap_or_default())
}

/// The user tags of `tags`, as a value.
pub fn tags_attr(tags: &[Tag]) -> Value {
    tags_value(tags)
}

/// Cloud Map's tag API, on the ARN.
pub struct CloudMapTags;

#[async_trait::async_trait]
impl TagApi for CloudMapTags {
    async fn sync(&self, cx: Ctx<'_>, arn: &str, live: &Attrs, desired: &Attrs) -> ApiResult<()> {
        let sd = &cx.aws.servicediscovery;
        sync_tags_with!(
            live,
            desired,
            |set: Tag| sd.tag_resource().resource_arn(arn).set_tags(Some(set)),
            |unset| sd
                .untag_resource()
                .resource_arn(arn)
                .set_tag_keys(Some(unset)),
        )
    }
}

/// Waits until the operation `id` (what CreatePrivateDnsNamespace,
/// DeleteNamespace and UpdateService answer instead of a result) has
/// succeeded, and returns the id of its `target` (the namespace made). A
/// failed operation fails with AWS's reason.
pub async fn wait_operation(
    cx: Ctx<'_>,
    id: &str,
    target: OperationTargetType,
    timeout: std::time::Duration,
) -> ApiResult<Option<String>> {
    Waiter::new(timeout)
        .until(&format!("Cloud Map operation {id} to finish"), || {
            let target = target.clone();
            async move {
                let out = cx
                    .aws
                    .servicediscovery
                    .get_operation()
                    .operation_id(id)
                    .send()
                    .await?;
                let op = out
                    .operation
                    .ok_or_else(|| ApiError::msg(format!("GetOperation {id} answered nothing")))?;
                operation_poll(&op, &target)
            }
        })
        .await
}

/// Where an operation stands: done (with its target's id), pending, or
/// failed with AWS's reason.
fn operation_poll(
    op: &aws_sdk_servicediscovery::types::Operation,
    target: &OperationTargetType,
) -> ApiResult<Poll<Option<String>>> {
    match op.status() {
        Some(OperationStatus::Success) => Ok(Poll::Ready(
            op.targets().and_then(|t| t.get(target)).cloned(),
        )),
        Some(OperationStatus::Fail) => Err(ApiError {
            code: op.error_code().map(str::to_owned),
            message: op
                .error_message()
                .unwrap_or("the operation failed")
                .to_owned(),
            class: crate::aws::error::classify_code(op.error_code().unwrap_or_default()),
        }),
        other => Ok(Poll::Pending(
            other.map_or("unknown", OperationStatus::as_str).to_owned(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_servicediscovery::types::Operation;

    #[test]
    fn an_operation_is_done_pending_or_failed_with_its_reason() {
        let op = |status| {
            Operation::builder()
                .id("op")
                .status(status)
                .targets(OperationTargetType::Namespace, "ns-1")
        };
        let ns = OperationTargetType::Namespace;
        assert_eq!(
            operation_poll(&op(OperationStatus::Success).build(), &ns).unwrap(),
            Poll::Ready(Some("ns-1".to_owned()))
        );
        assert!(matches!(
            operation_poll(&op(OperationStatus::Pending).build(), &ns).unwrap(),
            Poll::Pending(s) if s == "PENDING"
        ));
        let failed = op(OperationStatus::Fail)
            .error_code("CONFLICTING_DOMAIN_EXISTS")
            .error_message("a namespace of this name exists in the VPC")
            .build();
        let err = operation_poll(&failed, &ns).unwrap_err();
        assert!(err.message.contains("exists in the VPC"), "{err}");
    }
}
