//! `sns_topic_subscription`: an endpoint subscribed to an SNS topic. Its id
//! is the subscription's ARN.
//!
//! Email (and HTTP) subscriptions stay pending until their owner confirms
//! them from the message AWS sends: the create does not wait for that (a
//! person may never click), the subscription reads back with
//! `pending_confirmation = true`, and AWS refuses to delete it until then
//! (it removes unconfirmed subscriptions itself after three days), so a
//! delete of a pending one succeeds without deleting anything. The
//! emulator confirms every subscription at once.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use async_trait::async_trait;
use aws_sdk_sns::types::Subscription;

use crate::aws::ApiError;
use crate::kinds::support::{all_matches, found, pages, read_each, str_attr};
use crate::kinds::{ApiResult, Create, Ctx, Delete, Kind, LiveMap, Timeouts, Update};
use crate::schema::{Field, Schema, Type};
use crate::value::{Attrs, Value};

pub struct SnsTopicSubscription;

static SCHEMA: Schema = Schema {
    kind: "sns_topic_subscription",
    service: super::SERVICE,
    timeouts: Timeouts::DEFAULT,
    description: "An endpoint (an email address, an SQS queue, a Lambda function, an HTTPS URL…) subscribed to an SNS topic.",
    fields: &[
        Field::new("topic_arn", Type::Arn)
            .example("\"${sns_topic.example.arn}\"")
            .required()
            .force_new()
            .doc("The ARN of the topic."),
        Field::new("protocol", Type::String)
            .required()
            .force_new()
            .one_of(PROTOCOLS)
            .doc(
                "How messages are delivered. Email, email-json, http and https subscriptions \
                 stay pending until confirmed from the message AWS sends.",
            ),
        Field::new("endpoint", Type::String)
            .example("\"ops@example.com\"")
            .required()
            .force_new()
            .doc("Where messages go: an email address, a URL, an ARN or a phone number, by protocol."),
        Field::new("id", Type::String)
            .computed()
            .doc("The subscription's ARN (what `reconcile import` takes)."),
        Field::new("arn", Type::String)
            .computed()
            .doc("The ARN of the subscription (also its id)."),
        Field::new("pending_confirmation", Type::Bool)
            .computed()
            .doc("True until the endpoint's owner confirms the subscription (email, http, https)."),
    ],
};

/// The protocols SNS delivers by.
const PROTOCOLS: &[&str] = &[
    "email",
    "email-json",
    "http",
    "https",
    "sqs",
    "sms",
    "lambda",
    "firehose",
    "application",
];

/// What ListSubscriptionsByTopic shows instead of the ARN of a subscription
/// not yet confirmed.
const PENDING: &str = "PendingConfirmation";

fn attrs(arn: &str, topic: &str, protocol: &str, endpoint: &str, pending: bool) -> Attrs {
    let mut a = Attrs::new();
    a.insert("id".into(), Value::str(arn));
    a.insert("arn".into(), Value::str(arn));
    a.insert("topic_arn".into(), Value::str(topic));
    a.insert("protocol".into(), Value::str(protocol));
    a.insert("endpoint".into(), Value::str(endpoint));
    a.insert("pending_confirmation".into(), Value::Bool(pending));
    a
}

/// A subscription as ListSubscriptionsByTopic answers it; `None` for one
/// still pending (listed without its ARN).
fn listed_attrs(s: &Subscription) -> Option<(String, Attrs)> {
    let arn = s.subscription_arn().filter(|a| *a != PENDING)?;
    Some((
        arn.to_owned(),
        attrs(
            arn,
            s.topic_arn().unwrap_or_default(),
            s.protocol().unwrap_or_default(),
            s.endpoint().unwrap_or_default(),
            false,
        ),
    ))
}

/// A subscription as GetSubscriptionAttributes answers it.
fn attributes_attrs(arn: &str, a: &HashMap<String, String>) -> Attrs {
    let get = |k: &str| a.get(k).map(String::as_str).unwrap_or_default();
    attrs(
        arn,
        get("TopicArn"),
        get("Protocol"),
        get("Endpoint"),
        get("PendingConfirmation") == "true",
    )
}

/// The subscriptions of a topic, `None` when the topic is gone (and its
/// subscriptions with it).
async fn of_topic(cx: Ctx<'_>, topic: &str) -> ApiResult<Option<Vec<Subscription>>> {
    found(pages!(
        cx.aws.sns.list_subscriptions_by_topic().topic_arn(topic)
    ))
}

/// One subscription by its ARN, `None` when it is gone.
async fn get_one(cx: Ctx<'_>, arn: &str) -> ApiResult<Option<Attrs>> {
    let r = cx
        .aws
        .sns
        .get_subscription_attributes()
        .subscription_arn(arn)
        .send()
        .await
        .map_err(ApiError::from);
    Ok(found(r)?.map(|o| attributes_attrs(arn, o.attributes().unwrap_or(&HashMap::new()))))
}

/// Whether an Unsubscribe was refused because the subscription is still
/// pending: AWS keeps those until confirmed or expired.
fn refused_as_pending(e: &ApiError) -> bool {
    e.code.as_deref() == Some("InvalidParameter")
        && e.message
            .to_ascii_lowercase()
            .contains("pending confirmation")
}

#[async_trait]
impl Kind for SnsTopicSubscription {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    /// One ListSubscriptionsByTopic (paginated) per topic the ids belong
    /// to; a subscription the listing shows only as pending is read on its
    /// own with GetSubscriptionAttributes.
    async fn read_many(&self, cx: Ctx<'_>, ids: &[String]) -> ApiResult<LiveMap> {
        let topics: BTreeSet<&str> = ids.iter().filter_map(|i| super::topic_of(i)).collect();
        let lists: Vec<_> = topics
            .into_iter()
            .map(
                |topic| async move { Ok::<_, ApiError>(Some((topic, of_topic(cx, topic).await?))) },
            )
            .collect();
        let wanted: BTreeSet<&str> = ids.iter().map(String::as_str).collect();
        let mut out = BTreeMap::new();
        // Topics that exist: a subscription of a deleted topic is gone too.
        let mut alive = BTreeSet::new();
        for (topic, subs) in all_matches(lists).await? {
            let Some(subs) = subs else { continue };
            alive.insert(topic);
            out.extend(
                subs.iter()
                    .filter_map(listed_attrs)
                    .filter(|(arn, _)| wanted.contains(arn.as_str())),
            );
        }
        let pending: Vec<_> = ids
            .iter()
            .filter(|i| {
                !out.contains_key(*i) && super::topic_of(i).is_some_and(|t| alive.contains(t))
            })
            .map(|arn| async move { Ok(get_one(cx, arn).await?.map(|a| (arn.clone(), a))) })
            .collect();
        let pending = read_each(pending).await?;
        out.extend(pending);
        Ok(out)
    }

    async fn create(&self, op: Create<'_>) -> ApiResult<String> {
        let Create { cx, address, desired } = op;
        // With ReturnSubscriptionArn even a pending subscription answers
        // its ARN (else "pending confirmation"), so it can be read and
        // recorded like any other.
        let out = cx
            .aws
            .sns
            .subscribe()
            .set_topic_arn(str_attr(desired, "topic_arn"))
            .set_protocol(str_attr(desired, "protocol"))
            .set_endpoint(str_attr(desired, "endpoint"))
            .return_subscription_arn(true)
            .send()
            .await?;
        let arn = out
            .subscription_arn()
            .filter(|a| super::topic_of(a).is_some())
            .ok_or_else(|| {
                ApiError::msg(format!(
                    "{address}: Subscribe answered no subscription ARN ({:?})",
                    out.subscription_arn()
                ))
            })?
            .to_owned();
        crate::kinds::created(&arn);
        Ok(arn)
    }

    /// Every field forces a new subscription: nothing changes in place.
    async fn update(&self, _op: Update<'_>) -> ApiResult<()> {
        Ok(())
    }

    /// Gone counts as deleted; a subscription still pending confirmation
    /// cannot be deleted, and AWS removes it after three days unconfirmed.
    async fn delete(&self, op: Delete<'_>) -> ApiResult<()> {
        let Delete { cx, id, .. } = op;
        let r = cx
            .aws
            .sns
            .unsubscribe()
            .subscription_arn(id)
            .send()
            .await
            .map_err(ApiError::from);
        match r {
            Ok(_) => Ok(()),
            Err(e) if e.is_not_found() || refused_as_pending(&e) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Subscriptions carry no tags.
    async fn find_by_address(&self, _cx: Ctx<'_>, _address: &str) -> ApiResult<Option<String>> {
        Ok(None)
    }

    /// A topic holds one subscription per protocol and endpoint (Subscribe
    /// answers the existing one again): the one a lost create made is the
    /// topic's subscription of the desired protocol and endpoint.
    async fn find_created(&self, op: Create<'_>) -> ApiResult<Option<String>> {
        let Create { cx, desired, .. } = op;
        let (Some(topic), Some(protocol), Some(endpoint)) = (
            str_attr(desired, "topic_arn"),
            str_attr(desired, "protocol"),
            str_attr(desired, "endpoint"),
        ) else {
            return Ok(None);
        };
        let subs = of_topic(cx, &topic).await?.unwrap_or_default();
        Ok(subs
            .iter()
            .filter(|s| s.protocol() == Some(&protocol) && s.endpoint() == Some(&endpoint))
            .find_map(|s| listed_attrs(s).map(|(arn, _)| arn)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::ErrorClass;

    const ARN: &str = "arn:aws:sns:us-east-1:123456789012:alerts:5b2c-41d0";
    const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:alerts";

    #[test]
    fn a_pending_subscription_is_not_taken_from_the_listing_but_read_as_pending() {
        let listed = |arn: &str| {
            Subscription::builder()
                .subscription_arn(arn)
                .topic_arn(TOPIC)
                .protocol("email")
                .endpoint("ops@example.com")
                .build()
        };
        assert!(listed_attrs(&listed(PENDING)).is_none());
        let (arn, a) = listed_attrs(&listed(ARN)).unwrap();
        assert_eq!(arn, ARN);
        assert_eq!(a["pending_confirmation"], Value::Bool(false));
        assert_eq!(a["topic_arn"], Value::str(TOPIC));

        let answered = HashMap::from([
            ("TopicArn".to_owned(), TOPIC.to_owned()),
            ("Protocol".to_owned(), "email".to_owned()),
            ("Endpoint".to_owned(), "ops@example.com".to_owned()),
            ("PendingConfirmation".to_owned(), "true".to_owned()),
        ]);
        let a = attributes_attrs(ARN, &answered);
        assert_eq!(a["pending_confirmation"], Value::Bool(true));
        assert_eq!(a["endpoint"], Value::str("ops@example.com"));
        assert_eq!(a["id"], Value::str(ARN));
    }

    #[test]
    fn only_a_refusal_because_of_pending_confirmation_counts_as_deleted() {
        let err = |code: &str, message: &str| ApiError {
            code: Some(code.into()),
            message: message.into(),
            class: ErrorClass::Other,
        };
        assert!(refused_as_pending(&err(
            "InvalidParameter",
            "Invalid parameter: Cannot unsubscribe a subscription that is pending confirmation [Unsubscribe]"
        )));
        assert!(!refused_as_pending(&err(
            "InvalidParameter",
            "Invalid parameter: SubscriptionArn"
        )));
        assert!(!refused_as_pending(&err(
            "AuthorizationError",
            "pending confirmation"
        )));
    }
}
