//! ECR kinds and the tag type they share.

/// The AWS service of these kinds.
pub const SERVICE: &str = "ecr";

pub mod repository;

use aws_sdk_ecr::types::Tag;

use super::support::SdkTag;
use crate::aws::ApiError;

impl SdkTag for Tag {
    fn tag_key(&self) -> Option<&str> {
        Some(self.key())
    }
    fn tag_value(&self) -> Option<&str> {
        Some(self.value())
    }
    fn from_pair(key: String, value: String) -> Result<Self, ApiError> {
        Tag::builder()
            .key(key)
            .value(value)
            .build()
            .map_err(|e| ApiError::msg(format!("building an ECR tag: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::support::tags_value;

    #[test]
    fn reconcile_tags_are_hidden_from_user_tags() {
        let tags = [
            Tag::from_pair("team".into(), "web".into()).unwrap(),
            Tag::from_pair("reconcile:stack".into(), "s".into()).unwrap(),
        ];
        assert_eq!(tags_value(&tags).str_map().len(), 1);
    }
}
