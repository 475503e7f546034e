//! CloudWatch Logs kinds.

pub mod log_group;
