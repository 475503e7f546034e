//! ECR kinds and the tag type they share.

/// The AWS service of these kinds.
pub const SERVICE: &str = "ecr";

pub mod repository;

use aws_sdk_ecr::types::Tag;

use super::support::sdk_tag_required;

sdk_tag_required!(Tag, "an ECR tag");

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::support::SdkTag;
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
