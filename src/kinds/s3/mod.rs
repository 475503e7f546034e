//! S3 kinds and the tag type they use.

/// The AWS service of these kinds.
pub const SERVICE: &str = "s3";

pub mod bucket;

use aws_sdk_s3::types::Tag;

use super::support::sdk_tag_required;

sdk_tag_required!(Tag, "an S3 tag");
