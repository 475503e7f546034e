//! KMS kinds: keys and their aliases.

pub mod alias;
pub mod key;
