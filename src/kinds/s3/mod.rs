//! S3 kinds and the tag type they use.

/// The AWS service of these kinds.
pub const SERVICE: &str = "s3";

pub mod bucket;

use aws_sdk_s3::types::Tag;

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
            .map_err(|e| ApiError::msg(format!("building an S3 tag: {e}")))
    }
}
