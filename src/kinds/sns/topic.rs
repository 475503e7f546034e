//! `sns_topic`: an SNS topic (standard or FIFO). Its id is its ARN.

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use aws_sdk_sns::types::Tag;

use crate::aws::ApiError;
use crate::kinds::support::tagging::{self, TagMap};
use crate::kinds::support::{
    AddressTags, TagApi, bool_attr, canonical_policy, create_tags, find_by_address, found,
    gone_is_ok, policy_value, read_each, str_attr, sync_tags_with, user_tags,
};
use crate::kinds::{ApiResult, Create, Ctx, Delete, Kind, LiveMap, Tagging, Timeouts, Update};
use crate::schema::{Default, Field, Schema, TAGS, Type, json_text};
use crate::value::{Attrs, Value};

pub struct SnsTopic;

static SCHEMA: Schema = Schema {
    kind: "sns_topic",
    service: super::SERVICE,
    timeouts: Timeouts::DEFAULT,
    description: "An SNS topic: where alarms and applications publish messages for its subscribers.",
    fields: &[
        Field::new("name", Type::String)
            .naming(crate::kinds::names::SNS_TOPIC)
            .force_new()
            .doc(
                "The topic name; by default `<stack>-<resource name>` (with `.fifo` for a FIFO \
                 topic, whose name must end with it).",
            ),
        Field::new("display_name", Type::String)
            .doc("The name shown as the sender of SMS and email messages (at most 100 characters); \"\" for none."),
        Field::new("fifo", Type::Bool)
            .default(Default::Bool(false))
            .force_new()
            .doc("A FIFO topic: ordered, deduplicated delivery (to SQS FIFO queues)."),
        Field::new("content_based_deduplication", Type::Bool)
            .default(Default::Bool(false))
            .doc("FIFO topics only: deduplicate messages by a hash of their body."),
        Field::new("kms_master_key_id", Type::String)
            .unset_is_null()
            .doc("The KMS key (id, ARN or alias, e.g. \"alias/aws/sns\") encrypting messages at rest; \"\" for none."),
        Field::new("policy", Type::Json)
            .doc("The topic's access policy; by default AWS's, which lets only the owner account publish and subscribe."),
        TAGS,
        Field::new("id", Type::String)
            .computed()
            .doc("The topic's ARN (what `reconcile import` takes)."),
        Field::new("arn", Type::String)
            .computed()
            .doc("The ARN of the topic (also its id)."),
    ],
};

/// The topic attributes `SetTopicAttributes` takes, by field.
const SETTABLE: &[(&str, &str)] = &[
    ("display_name", "DisplayName"),
    ("content_based_deduplication", "ContentBasedDeduplication"),
    ("kms_master_key_id", "KmsMasterKeyId"),
    ("policy", "Policy"),
];

/// The service of topics in the Resource Groups Tagging API.
const RESOURCE_TYPE: &str = "sns";

/// The name a create uses: the given one, else `<stack>-<resource name>`,
/// with `.fifo` for a FIFO topic. A name that contradicts `fifo` is an
/// error naming the address (AWS would answer a bare InvalidParameter).
fn topic_name(cx: Ctx<'_>, address: &str, desired: &Attrs) -> ApiResult<String> {
    let fifo = bool_attr(desired, "fifo").unwrap_or(false);
    let name = str_attr(desired, "name").unwrap_or_else(|| {
        let base = crate::kinds::default_name(cx.stack, address);
        let base: String = base.chars().take(251).collect();
        if fifo { format!("{base}.fifo") } else { base }
    });
    // AWS wants the suffix in lowercase: no case-insensitive comparison.
    match (fifo, name.strip_suffix(".fifo").is_some()) {
        (true, false) => Err(ApiError::msg(format!(
            "{address}: a FIFO topic's name must end with \".fifo\", not {name:?}"
        ))),
        (false, true) => Err(ApiError::msg(format!(
            "{address}: name {name:?} ends with \".fifo\": set `fifo = true`, or choose another name"
        ))),
        _ => Ok(name),
    }
}

/// The text SNS takes for a field's value (`Policy` as JSON).
fn attribute_text(field: &str, v: &Value) -> Option<String> {
    match (field, v) {
        (_, Value::Null) => None,
        ("policy", doc) => Some(json_text(doc)),
        (_, Value::Bool(b)) => Some(b.to_string()),
        (_, Value::Str(s)) => Some(s.clone()),
        (_, other) => Some(other.to_string()),
    }
}

/// The attributes a create sends.
fn create_attributes(desired: &Attrs) -> HashMap<String, String> {
    let fifo = bool_attr(desired, "fifo").unwrap_or(false);
    let mut out = HashMap::new();
    if fifo {
        out.insert("FifoTopic".to_owned(), "true".to_owned());
    }
    for (field, attribute) in SETTABLE {
        // Deduplication is a FIFO topic's setting only: AWS refuses it on
        // a standard topic, even as "false".
        if *field == "content_based_deduplication" && !fifo {
            continue;
        }
        let text = desired.get(*field).and_then(|v| attribute_text(field, v));
        if let Some(text) = text.filter(|t| !t.is_empty()) {
            out.insert((*attribute).to_owned(), text);
        }
    }
    out
}

/// The user tags of a tag map.
fn tags_of_map(tags: &TagMap) -> Value {
    user_tags(tags.iter().map(|(k, v)| (k.as_str(), v.as_str())))
}

/// The attributes of a topic as GetTopicAttributes answers them (tags
/// come from another call).
fn topic_attrs(arn: &str, a: &HashMap<String, String>) -> Attrs {
    let get = |k: &str| a.get(k).map(String::as_str).unwrap_or_default();
    let mut out = Attrs::new();
    out.insert("id".into(), Value::str(arn));
    out.insert("arn".into(), Value::str(arn));
    out.insert(
        "name".into(),
        Value::str(arn.rsplit(':').next().unwrap_or_default()),
    );
    out.insert("display_name".into(), Value::str(get("DisplayName")));
    out.insert("fifo".into(), Value::Bool(get("FifoTopic") == "true"));
    out.insert(
        "content_based_deduplication".into(),
        Value::Bool(get("ContentBasedDeduplication") == "true"),
    );
    out.insert(
        "kms_master_key_id".into(),
        Value::str(get("KmsMasterKeyId")),
    );
    out.insert(
        "policy".into(),
        a.get("Policy")
            .filter(|p| !p.is_empty())
            .map_or(Value::Null, |p| policy_value(p)),
    );
    out
}

/// One topic's attributes, `None` when it is gone.
async fn get_attributes(cx: Ctx<'_>, arn: &str) -> ApiResult<Option<HashMap<String, String>>> {
    let r = cx
        .aws
        .sns
        .get_topic_attributes()
        .topic_arn(arn)
        .send()
        .await
        .map_err(ApiError::from);
    Ok(found(r)?.map(|o| o.attributes().cloned().unwrap_or_default()))
}

/// SNS's tag API, on the topic ARN.
struct SnsTags;

#[async_trait::async_trait]
impl TagApi for SnsTags {
    async fn sync(&self, cx: Ctx<'_>, arn: &str, live: &Attrs, desired: &Attrs) -> ApiResult<()> {
        let sns = &cx.aws.sns;
        sync_tags_with!(
            live,
            desired,
            |set: Tag| sns.tag_resource().resource_arn(arn).set_tags(Some(set)),
            |unset| sns
                .untag_resource()
                .resource_arn(arn)
                .set_tag_keys(Some(unset)),
        )
    }
}

#[async_trait]
impl Kind for SnsTopic {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    fn tagging(&self) -> Option<Tagging> {
        Some(Tagging::by_id(&SnsTags))
    }

    fn canonicalize(&self, attrs: &mut Attrs) {
        if let Some(doc) = attrs.get_mut("policy") {
            *doc = canonical_policy(doc);
        }
    }

    /// SNS has no batched describe: one GetTopicAttributes per topic, a few
    /// at a time, then the tags of all of them in one GetResources per 100.
    async fn read_many(&self, cx: Ctx<'_>, ids: &[String]) -> ApiResult<LiveMap> {
        if ids.is_empty() {
            return Ok(BTreeMap::new());
        }
        let reads: Vec<_> = ids
            .iter()
            .map(|arn| async move {
                let a = get_attributes(cx, arn).await?;
                Ok(a.map(|a| (arn.clone(), topic_attrs(arn, &a))))
            })
            .collect();
        let mut live = read_each(reads).await?;
        let arns: Vec<String> = live.keys().cloned().collect();
        let tags = tagging::tags_of(cx, &arns).await?;
        for (arn, a) in &mut live {
            a.insert("tags".into(), tags_of_map(&tags[arn]));
        }
        Ok(live)
    }

    async fn create(&self, op: Create<'_>) -> ApiResult<String> {
        let Create { cx, address, desired } = op;
        let name = topic_name(cx, address, desired)?;
        let out = cx
            .aws
            .sns
            .create_topic()
            .name(&name)
            .set_attributes(Some(create_attributes(desired)))
            .set_tags(Some(create_tags::<Tag>(cx, address, desired)?))
            .send()
            .await?;
        let arn = out
            .topic_arn()
            .ok_or_else(|| ApiError::msg(format!("{address}: CreateTopic answered no ARN")))?
            .to_owned();
        crate::kinds::created(&arn);
        Ok(arn)
    }

    async fn update(&self, op: Update<'_>) -> ApiResult<()> {
        let Update { cx, id, desired, changed, .. } = op;
        for (field, attribute) in SETTABLE {
            if !changed.sets(field) {
                continue;
            }
            let Some(text) = desired.get(*field).and_then(|v| attribute_text(field, v)) else {
                continue;
            };
            cx.aws
                .sns
                .set_topic_attributes()
                .topic_arn(id)
                .attribute_name(*attribute)
                .attribute_value(text)
                .send()
                .await?;
        }
        Ok(())
    }

    /// DeleteTopic also deletes the topic's subscriptions; deleting a topic
    /// that is gone succeeds.
    async fn delete(&self, op: Delete<'_>) -> ApiResult<()> {
        let Delete { cx, id, .. } = op;
        let r = cx.aws.sns.delete_topic().topic_arn(id).send().await;
        gone_is_ok(r.map(drop).map_err(ApiError::from))
    }

    /// One GetResources filtered by the address's tags.
    async fn find_by_address(&self, cx: Ctx<'_>, address: &str) -> ApiResult<Option<String>> {
        find_by_address(cx, address, |t: AddressTags<'_>| async move {
            let arns = tagging::arns_tagged(cx, RESOURCE_TYPE, t).await?;
            // Topics only: their ARN has six parts (a subscription's seven).
            Ok::<_, ApiError>(arns.into_iter().filter(|a| a.matches(':').count() == 5))
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::attrs;

    fn clients() -> crate::aws::Clients {
        let config = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
        crate::aws::Clients::from_config(&config)
    }

    #[test]
    fn a_fifo_topic_is_named_with_its_suffix_and_a_contradiction_is_refused() {
        let clients = clients();
        let cx = Ctx { aws: &clients, stack: "ops" };
        let fifo = attrs(&[("fifo", Value::Bool(true))]);
        assert_eq!(
            topic_name(cx, "sns_topic.events", &fifo).unwrap(),
            "ops-events.fifo"
        );
        assert_eq!(
            topic_name(cx, "sns_topic.alerts", &Attrs::new()).unwrap(),
            "ops-alerts"
        );
        let named = attrs(&[("fifo", Value::Bool(true)), ("name", Value::str("x"))]);
        let e = topic_name(cx, "sns_topic.events", &named).unwrap_err();
        assert!(e.message.starts_with("sns_topic.events: a FIFO"), "{e}");
        let named = attrs(&[("name", Value::str("x.fifo"))]);
        assert!(topic_name(cx, "sns_topic.events", &named).is_err());
    }

    #[test]
    fn a_create_sends_only_what_is_set_and_deduplication_only_for_fifo() {
        let standard = attrs(&[
            ("display_name", Value::str("Ops")),
            ("content_based_deduplication", Value::Bool(false)),
            ("kms_master_key_id", Value::str("")),
            ("fifo", Value::Bool(false)),
        ]);
        let sent = create_attributes(&standard);
        assert_eq!(
            sent,
            HashMap::from([("DisplayName".to_owned(), "Ops".to_owned())])
        );
        let fifo = attrs(&[
            ("fifo", Value::Bool(true)),
            ("content_based_deduplication", Value::Bool(true)),
            (
                "policy",
                Value::from_json(&serde_json::json!({"Version": "2012-10-17", "Statement": []})),
            ),
        ]);
        let sent = create_attributes(&fifo);
        assert_eq!(sent["FifoTopic"], "true");
        assert_eq!(sent["ContentBasedDeduplication"], "true");
        assert!(sent["Policy"].starts_with('{'), "{sent:?}");
    }

    #[test]
    fn a_topic_reads_back_its_name_flags_and_policy() {
        let arn = "arn:aws:sns:us-east-1:123456789012:ops-events.fifo";
        let a = HashMap::from([
            ("FifoTopic".to_owned(), "true".to_owned()),
            ("DisplayName".to_owned(), String::new()),
            (
                "Policy".to_owned(),
                r#"{"Version":"2012-10-17","Statement":[]}"#.to_owned(),
            ),
        ]);
        let tags = TagMap::from([
            ("team".to_owned(), "ops".to_owned()),
            (crate::kinds::STACK_TAG.to_owned(), "ops".to_owned()),
        ]);
        let mut got = topic_attrs(arn, &a);
        got.insert("tags".into(), tags_of_map(&tags));
        assert_eq!(got["name"], Value::str("ops-events.fifo"));
        assert_eq!(got["fifo"], Value::Bool(true));
        assert_eq!(got["content_based_deduplication"], Value::Bool(false));
        assert_eq!(got["kms_master_key_id"], Value::str(""));
        assert!(got["policy"].as_map().is_some(), "{got:?}");
        assert_eq!(got["tags"].str_map().len(), 1);
    }
}
