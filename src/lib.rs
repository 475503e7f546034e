//! reconcile: keeps AWS infrastructure equal to a desired state in TOML.

pub mod aws;
pub mod kinds;
pub mod schema;
pub mod value;
