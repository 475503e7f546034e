//! EventBridge Scheduler kinds: schedules.

/// The AWS service of these kinds.
pub const SERVICE: &str = "scheduler";

pub mod schedule;
