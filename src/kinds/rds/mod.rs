//! RDS kinds (subnet group, instance) and what they share: the tag type,
//! tags by ARN, names AWS accepts.

/// The AWS service of these kinds.
pub const SERVICE: &str = "rds";

pub mod db_instance;
pub mod db_subnet_group;

use crate::kinds::support::TagApi;
use aws_sdk_rds::types::Tag;

use super::Ctx;
use super::support::sync_tags_with;
use crate::kinds::ApiResult;
pub use crate::kinds::lowercase_name as default_name;
use crate::value::Attrs;

crate::sdk_tag!(Tag);

/// The tags of one resource (ListTagsForResource): RDS describes carry
/// tags for instances but not for subnet groups, and the tagging API does
/// not know subnet groups in the emulator.
pub async fn list_tags(cx: Ctx<'_>, arn: &str) -> ApiResult<Vec<Tag>> {
    let out = cx
        .aws
        .rds
        .list_tags_for_resource()
        .resource_name(arn)
        .send()
        .await?;
    Ok(out.tag_list.unwrap_or_default())
}

/// RDS's tag API, on the ARN: at most one AddTagsToResource and one
/// RemoveTagsFromResource call.
pub struct RdsTags;

#[async_trait::async_trait]
impl TagApi for RdsTags {
    async fn sync(&self, cx: Ctx<'_>, arn: &str, live: &Attrs, desired: &Attrs) -> ApiResult<()> {
        let rds = &cx.aws.rds;
        sync_tags_with!(
            live,
            desired,
            |set: Tag| rds
                .add_tags_to_resource()
                .resource_name(arn)
                .set_tags(Some(set)),
            |unset| rds
                .remove_tags_from_resource()
                .resource_name(arn)
                .set_tag_keys(Some(unset)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::Clients;

    #[tokio::test]
    async fn default_names_are_valid_rds_identifiers() {
        let config = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
        let clients = Clients::from_config(&config);
        let cx = Ctx { aws: &clients, stack: "My_Stack" };
        assert_eq!(
            default_name(cx, "db_instance.main_db", 63),
            "my-stack-main-db"
        );
        let cx = Ctx { aws: &clients, stack: "1st" };
        assert_eq!(default_name(cx, "db_instance.x-", 63), "r1st-x");
        assert!(default_name(cx, "db_instance.a_very_long_name_indeed", 10).len() <= 10);
    }
}
