//! KMS kinds: keys and their aliases.

/// The AWS service of these kinds.
pub const SERVICE: &str = "kms";

pub mod alias;
pub mod key;
