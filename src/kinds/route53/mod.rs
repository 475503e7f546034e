//! Route 53 kinds: hosted zones and their record sets. Route 53 is a
//! global service: its clients answer from any region.

/// The AWS service of these kinds.
pub const SERVICE: &str = "route53";

pub mod record;
pub mod zone;

use crate::kinds::support::TagApi;
use aws_sdk_route53::types::{Tag, TagResourceType};

use crate::aws::ApiError;
pub use crate::kinds::support::dns::{bare, fqdn, zone_id};
use crate::kinds::{ApiResult, Ctx};
use crate::value::Attrs;

crate::sdk_tag!(Tag);

/// Route 53's tag API for hosted zones, on the zone id.
pub struct ZoneTags;

#[async_trait::async_trait]
impl TagApi for ZoneTags {
    async fn sync(&self, cx: Ctx<'_>, zone: &str, live: &Attrs, desired: &Attrs) -> ApiResult<()> {
        let r53 = &cx.aws.route53;
        crate::kinds::support::sync_tags_with!(
            live,
            desired,
            |set: Tag| r53
                .change_tags_for_resource()
                .resource_type(TagResourceType::Hostedzone)
                .resource_id(zone)
                .set_add_tags(Some(set)),
            |unset| r53
                .change_tags_for_resource()
                .resource_type(TagResourceType::Hostedzone)
                .resource_id(zone)
                .set_remove_tag_keys(Some(unset)),
        )
    }
}

/// The error of an answer that lacks what the API documents.
fn missing(what: &str) -> ApiError {
    ApiError::msg(format!("Route 53 answered without {what}"))
}
