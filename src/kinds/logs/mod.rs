//! CloudWatch Logs kinds.

/// The AWS service of these kinds.
pub const SERVICE: &str = "logs";

pub mod log_group;
pub mod metric_filter;
