//! Certificate Manager kinds: public certificates validated by DNS.

/// The AWS service of these kinds.
pub const SERVICE: &str = "acm";

pub mod certificate;

use aws_sdk_acm::types::Tag;

use crate::aws::ApiError;

/// ACM's tag: a required key, an optional value.
impl super::support::SdkTag for Tag {
    fn tag_key(&self) -> Option<&str> {
        Some(self.key())
    }
    fn tag_value(&self) -> Option<&str> {
        self.value()
    }
    fn from_pair(key: String, value: String) -> Result<Self, ApiError> {
        Tag::builder()
            .key(key)
            .value(value)
            .build()
            .map_err(|e| ApiError::msg(format!("building an ACM tag: {e}")))
    }
}
