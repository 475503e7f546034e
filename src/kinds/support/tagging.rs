//! Tags of many resources at once through the Resource Groups Tagging API,
//! for services whose own API reads tags one resource per call
//! (CloudWatch Logs' ListTagsForResource).
//!
//! Use it only for resource types the emulator answers too (moto 5.2.5
//! answers GetResources for logs, efs, kms, rds, s3, cloudfront, and ELB
//! load balancers and target groups — not for ECR, IAM, or ELB listeners
//! and listener rules).

use std::collections::BTreeMap;

use aws_sdk_resourcegroupstagging::types::{ResourceTagMapping, TagFilter};

use super::{AddressTags, Batch, SdkTag};
use crate::aws::ApiError;
use crate::kinds::ApiResult;
use crate::kinds::Ctx;

/// A tag as a plain pair, for the APIs that take tags as a map
/// (CloudWatch Logs, the tagging API itself).
impl SdkTag for (String, String) {
    fn tag_key(&self) -> Option<&str> {
        Some(&self.0)
    }
    fn tag_value(&self) -> Option<&str> {
        Some(&self.1)
    }
    fn from_pair(key: String, value: String) -> ApiResult<Self> {
        Ok((key, value))
    }
}

/// GetResources takes at most 100 ARNs per call (and no paging with them).
const ARNS_PER_CALL: usize = 100;

/// The largest pages GetResources allows, asked for when following a
/// pagination token.
const RESOURCES_PER_PAGE: i32 = 100;
const TAGS_PER_PAGE: i32 = 500;

/// A resource's tags, by key.
pub type TagMap = BTreeMap<String, String>;

fn tag_map(m: &ResourceTagMapping) -> TagMap {
    m.tags()
        .iter()
        .map(|t| (t.key().to_owned(), t.value().to_owned()))
        .collect()
}

/// The tags of each of `arns`, 100 ARNs per GetResources call. A resource
/// that has never carried a tag is not in the API's answer: it is answered
/// here with no tags. No ARN, no call.
///
/// AWS answers a list of ARNs in one page (it takes no paging parameters
/// with one). The emulator pages it anyway (50 resources or 100 tags to a
/// page): a pagination token in the answer is followed, asking for the
/// largest pages.
pub async fn tags_of(cx: Ctx<'_>, arns: &[String]) -> ApiResult<BTreeMap<String, TagMap>> {
    let mut out: BTreeMap<String, TagMap> = Batch::of(ARNS_PER_CALL)
        .read(arns, |chunk| async move {
            let mut page = cx
                .aws
                .tagging
                .get_resources()
                .set_resource_arn_list(Some(chunk.to_vec()))
                .send()
                .await?;
            let mut found = Vec::new();
            loop {
                found.extend(
                    page.resource_tag_mapping_list()
                        .iter()
                        .filter_map(|m| Some((m.resource_arn()?.to_owned(), tag_map(m)))),
                );
                let Some(token) = page
                    .pagination_token()
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned)
                else {
                    break;
                };
                page = cx
                    .aws
                    .tagging
                    .get_resources()
                    .pagination_token(token)
                    .resources_per_page(RESOURCES_PER_PAGE)
                    .tags_per_page(TAGS_PER_PAGE)
                    .send()
                    .await?;
            }
            Ok::<_, ApiError>(found)
        })
        .await?;
    for arn in arns {
        out.entry(arn.clone()).or_default();
    }
    Ok(out)
}

/// The ARNs of the resources of `resource_type` (e.g. "logs:log-group";
/// a service name alone takes all its types) that carry the `reconcile:*`
/// tags of an address: one filtered GetResources, paginated.
pub async fn arns_tagged(
    cx: Ctx<'_>,
    resource_type: &str,
    t: AddressTags<'_>,
) -> ApiResult<Vec<String>> {
    let filters = t
        .pairs()
        .into_iter()
        .map(|(k, v)| TagFilter::builder().key(k).values(v).build())
        .collect();
    let found = super::pages!(
        cx.aws
            .tagging
            .get_resources()
            .resource_type_filters(resource_type)
            .set_tag_filters(Some(filters))
    )?;
    Ok(found
        .iter()
        // The filter is the API's; the check is ours, as for every finder.
        .filter(|m| t.matches(m.tags().iter().map(|t| (t.key(), t.value()))))
        .filter_map(|m| m.resource_arn().map(str::to_owned))
        .collect())
}
