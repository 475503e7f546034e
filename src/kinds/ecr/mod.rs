//! ECR kinds and the helpers they share: tags.

/// The AWS service of these kinds.
pub const SERVICE: &str = "ecr";

pub mod repository;

use aws_sdk_ecr::types::Tag;

use super::{ADDRESS_TAG, Ctx, STACK_TAG, user_tags};
use crate::aws::ApiError;
use crate::value::{Attrs, Value};

// Shared with the IAM kinds: generic over attributes.
pub use super::iam::{found, tag_changes};

/// How many per-repository calls run at once.
pub use crate::kinds::READ_CONCURRENCY as CONCURRENCY;

pub fn tag(key: impl Into<String>, value: impl Into<String>) -> Result<Tag, ApiError> {
    Tag::builder()
        .key(key)
        .value(value)
        .build()
        .map_err(|e| ApiError::msg(format!("building an ECR tag: {e}")))
}

/// The tags of a create call: user tags plus `reconcile:*`.
pub fn create_tags(cx: Ctx<'_>, address: &str, desired: &Attrs) -> Result<Vec<Tag>, ApiError> {
    cx.tags_for(address, desired)
        .into_iter()
        .map(|(k, v)| tag(k, v))
        .collect()
}

/// The user-visible tags of a repository.
pub fn tags_value(tags: &[Tag]) -> Value {
    user_tags(tags.iter().map(|t| (t.key(), t.value())))
}

/// True when the tags say the resource is `address` of this stack.
pub fn is_ours(cx: Ctx<'_>, address: &str, tags: &[Tag]) -> bool {
    let has = |k: &str, v: &str| tags.iter().any(|t| t.key() == k && t.value() == v);
    has(STACK_TAG, cx.stack) && has(ADDRESS_TAG, address)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconcile_tags_are_hidden_from_user_tags() {
        let tags = [
            tag("team", "web").unwrap(),
            tag("reconcile:stack", "s").unwrap(),
        ];
        assert_eq!(tags_value(&tags).str_map().len(), 1);
    }
}
