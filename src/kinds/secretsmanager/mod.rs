//! Secrets Manager kinds: secrets.

/// The AWS service of these kinds.
pub const SERVICE: &str = "secretsmanager";

pub mod secret;

use aws_sdk_secretsmanager::types::Tag;

crate::sdk_tag!(Tag);
