//! SNS kinds: topics and their subscriptions.

/// The AWS service of these kinds.
pub const SERVICE: &str = "sns";

pub mod subscription;
pub mod topic;

use aws_sdk_sns::types::Tag;

use super::support::sdk_tag_required;

sdk_tag_required!(Tag, "an SNS tag");

/// The ARN of the topic a subscription belongs to: its own ARN less the
/// last `:<uuid>` (`arn:aws:sns:<region>:<account>:<topic>:<uuid>`).
pub fn topic_of(subscription_arn: &str) -> Option<&str> {
    let (topic, id) = subscription_arn.rsplit_once(':')?;
    (topic.starts_with("arn:") && topic.matches(':').count() == 5 && !id.is_empty())
        .then_some(topic)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_subscription_names_its_topic() {
        assert_eq!(
            topic_of("arn:aws:sns:us-east-1:123456789012:alerts:0f1e-2d3c"),
            Some("arn:aws:sns:us-east-1:123456789012:alerts")
        );
        assert_eq!(topic_of("arn:aws:sns:us-east-1:123456789012:alerts"), None);
        assert_eq!(topic_of("PendingConfirmation"), None);
    }
}
