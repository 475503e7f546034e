//! The rest of the tag plumbing kinds would otherwise write again: `SdkTag`
//! for the SDK tag types whose key and value are required (IAM's, ECR's,
//! EFS's, S3's), and the two calls of a tag sync.

/// `SdkTag` for an SDK tag type with required key and value and a builder
/// that checks them (`$what` names it in the builder's error).
#[macro_export]
macro_rules! sdk_tag_required {
    ($tag:ty, $what:literal) => {
        impl $crate::kinds::support::SdkTag for $tag {
            fn tag_key(&self) -> Option<&str> {
                Some(self.key())
            }
            fn tag_value(&self) -> Option<&str> {
                Some(self.value())
            }
            fn from_pair(key: String, value: String) -> Result<Self, $crate::aws::ApiError> {
                <$tag>::builder()
                    .key(key)
                    .value(value)
                    .build()
                    .map_err(|e| $crate::aws::ApiError::msg(format!("building {}: {e}", $what)))
            }
        }
    };
}

/// `support::sync_tags` with the two calls given as request builders:
/// `|set| <the tagging call taking set>` and `|unset| <the untagging call
/// taking unset>`; each is sent only when it has something to do.
#[macro_export]
macro_rules! sync_tags_with {
    ($live:expr, $desired:expr, |$set:ident: $tag:ty| $tag_call:expr, |$unset:ident| $untag_call:expr $(,)?) => {
        $crate::kinds::support::sync_tags(
            $live,
            $desired,
            |$set: Vec<$tag>| async move {
                $tag_call.send().await?;
                Ok(())
            },
            |$unset: Vec<String>| async move {
                $untag_call.send().await?;
                Ok(())
            },
        )
        .await
    };
}

pub use crate::{sdk_tag_required, sync_tags_with};
