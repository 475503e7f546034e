//! RDS kinds (subnet group, instance) and what they share: tags by ARN,
//! names AWS accepts.

/// The AWS service of these kinds.
pub const SERVICE: &str = "rds";

pub mod db_instance;
pub mod db_subnet_group;

use aws_sdk_rds::types::Tag;

use super::{Ctx, user_tags};
use crate::aws::ApiError;
pub use crate::kinds::lowercase_name as default_name;
use crate::kinds::support::tag_changes;
use crate::value::{Attrs, Value};

/// How many per-resource calls (tags) run at once.
pub use crate::kinds::READ_CONCURRENCY as CONCURRENCY;

/// The tags of a create call: user tags plus `reconcile:*`.
pub fn create_tags(cx: Ctx<'_>, address: &str, desired: &Attrs) -> Vec<Tag> {
    cx.tags_for(address, desired)
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

/// The user-visible tags of an RDS resource.
pub fn tags_value(tags: &[Tag]) -> Value {
    user_tags(
        tags.iter()
            .filter_map(|t| Some((t.key()?, t.value().unwrap_or_default()))),
    )
}

/// True when the tags say the resource is `address` of this stack.
pub fn is_ours(cx: Ctx<'_>, address: &str, tags: &[Tag]) -> bool {
    let has = |k: &str, v: &str| {
        tags.iter()
            .any(|t| t.key() == Some(k) && t.value() == Some(v))
    };
    has(super::STACK_TAG, cx.stack) && has(super::ADDRESS_TAG, address)
}

pub async fn list_tags(cx: Ctx<'_>, arn: &str) -> Result<Vec<Tag>, ApiError> {
    let out = cx
        .aws
        .rds
        .list_tags_for_resource()
        .resource_name(arn)
        .send()
        .await?;
    Ok(out.tag_list.unwrap_or_default())
}

/// Brings the user tags of `arn` from `live` to `desired` with at most one
/// AddTagsToResource and one RemoveTagsFromResource call.
pub async fn sync_tags(
    cx: Ctx<'_>,
    arn: &str,
    live: &Attrs,
    desired: &Attrs,
) -> Result<(), ApiError> {
    let (set, unset) = tag_changes(live, desired);
    if !set.is_empty() {
        cx.aws
            .rds
            .add_tags_to_resource()
            .resource_name(arn)
            .set_tags(Some(
                set.into_iter()
                    .map(|(k, v)| Tag::builder().key(k).value(v).build())
                    .collect(),
            ))
            .send()
            .await?;
    }
    if !unset.is_empty() {
        cx.aws
            .rds
            .remove_tags_from_resource()
            .resource_name(arn)
            .set_tag_keys(Some(unset))
            .send()
            .await?;
    }
    Ok(())
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
        let cx = Ctx {
            aws: &clients,
            stack: "My_Stack",
        };
        assert_eq!(
            default_name(cx, "db_instance.main_db", 63),
            "my-stack-main-db"
        );
        let cx = Ctx {
            aws: &clients,
            stack: "1st",
        };
        assert_eq!(default_name(cx, "db_instance.x-", 63), "r1st-x");
        assert!(default_name(cx, "db_instance.a_very_long_name_indeed", 10).len() <= 10);
    }
}
