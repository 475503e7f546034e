//! CloudWatch kinds: metric alarms.

/// The AWS service of these kinds.
pub const SERVICE: &str = "cloudwatch";

pub mod metric_alarm;

use aws_sdk_cloudwatch::types::Tag;

crate::sdk_tag!(Tag);
