//! S3 kinds.

/// The AWS service of these kinds.
pub const SERVICE: &str = "s3";

pub mod bucket;
