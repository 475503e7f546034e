//! Systems Manager kinds: Parameter Store parameters.

/// The AWS service of these kinds.
pub const SERVICE: &str = "ssm";

pub mod parameter;

use aws_sdk_ssm::types::Tag;

use super::support::sdk_tag_required;

sdk_tag_required!(Tag, "an SSM tag");
