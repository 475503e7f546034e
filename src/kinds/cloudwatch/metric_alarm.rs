//! `cloudwatch_metric_alarm`: a CloudWatch alarm on one metric, with the
//! actions (SNS topics, scaling policies…) it triggers. Its id is its name.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_cloudwatch::types::{
    AlarmType, ComparisonOperator, Dimension, MetricAlarm, Statistic, Tag,
};

use crate::aws::ApiError;
use crate::kinds::support::tagging::{self, TagMap};
use crate::kinds::support::{
    AddressTags, Batch, TagApi, bool_attr, create_tags, find_by_address, gone_is_ok, str_attr,
    sync_tags_with, to_i32, user_tags,
};
use crate::kinds::{ApiResult, Create, Ctx, Delete, Kind, LiveMap, Tagging, Timeouts, Update};
use crate::schema::{Default, Field, Name, Schema, TAGS, Type};
use crate::value::{Attrs, Value};

pub struct CloudWatchMetricAlarm;

/// Namespaces and metric names: 1 to 255 characters, a namespace not
/// starting with a colon.
const METRIC_NAME: Name =
    Name { min: 1, max: 255, pattern: r"[^\p{Cc}]+", rule: "printable characters" };
const NAMESPACE: Name = Name {
    min: 1,
    max: 255,
    pattern: r"[^:\p{Cc}][^\p{Cc}]*",
    rule: "printable characters, not starting with a colon",
};

static SCHEMA: Schema = Schema {
    kind: "cloudwatch_metric_alarm",
    service: super::SERVICE,
    timeouts: Timeouts::DEFAULT,
    description: "A CloudWatch alarm on one metric: its state changes trigger actions such as notifying an SNS topic.",
    fields: &[
        Field::stack_name("name", crate::kinds::names::ALARM)
            .doc("The alarm name; by default `<stack>-<resource name>`."),
        Field::new("namespace", Type::String)
            .example("\"AWS/ECS\"")
            .naming(NAMESPACE)
            .required()
            .doc("The metric's namespace, e.g. \"AWS/ApplicationELB\", \"AWS/ECS\" or your own."),
        Field::new("metric_name", Type::String)
            .example("\"CPUUtilization\"")
            .naming(METRIC_NAME)
            .required()
            .doc("The metric, e.g. \"HTTPCode_Target_5XX_Count\", \"TargetResponseTime\", \"CPUUtilization\"."),
        Field::new("dimensions", Type::Map(&Type::String))
            .default(Default::EmptyMap)
            .doc("The metric's dimensions (at most 30), e.g. { ClusterName = \"...\", ServiceName = \"...\" }."),
        Field::new("statistic", Type::String)
            .unset_is_null()
            .one_of(STATISTICS)
            .doc("How data points are aggregated per period. Give this or `extended_statistic`."),
        Field::new("extended_statistic", Type::String)
            .unset_is_null()
            .doc("A percentile or other extended statistic, e.g. \"p99\" or \"tm90\". Give this or `statistic`."),
        Field::new("period", Type::Range(10, 86_400))
            .example("300")
            .required()
            .doc("Seconds per data point: 10, 30 or a multiple of 60."),
        Field::new("evaluation_periods", Type::Range(1, 8_640))
            .example("1")
            .required()
            .doc("How many recent periods are evaluated."),
        Field::new("datapoints_to_alarm", Type::Range(1, 8_640))
            .unset_is_null()
            .doc("How many of those periods must breach to alarm (at most `evaluation_periods`); by default all of them."),
        Field::new("threshold", Type::Number)
            .required()
            .doc("The value the statistic is compared with."),
        Field::new("comparison_operator", Type::String)
            .required()
            .one_of(OPERATORS)
            .doc("How the statistic is compared with the threshold."),
        Field::new("treat_missing_data", Type::String)
            .default(Default::Str("missing"))
            .one_of(&["missing", "ignore", "breaching", "notBreaching"])
            .doc("What a period without data counts as."),
        Field::new("actions_enabled", Type::Bool)
            .default(Default::Bool(true))
            .doc("Whether state changes trigger the actions."),
        Field::new("alarm_actions", Type::Set(&Type::Arn))
            .default(Default::EmptyList)
            .max_items(5)
            .doc("ARNs to notify when the alarm goes to ALARM (SNS topics, scaling policies, …)."),
        Field::new("ok_actions", Type::Set(&Type::Arn))
            .default(Default::EmptyList)
            .max_items(5)
            .doc("ARNs to notify when the alarm goes back to OK."),
        Field::new("insufficient_data_actions", Type::Set(&Type::Arn))
            .default(Default::EmptyList)
            .max_items(5)
            .doc("ARNs to notify when the alarm goes to INSUFFICIENT_DATA."),
        Field::new("alarm_description", Type::String)
            .unset_is_null()
            .doc("A description of the alarm (at most 1024 characters); \"\" for none."),
        TAGS,
        Field::new("id", Type::String)
            .computed()
            .doc("The alarm name (what `reconcile import` takes)."),
        Field::new("arn", Type::String)
            .computed()
            .doc("The ARN of the alarm."),
    ],
};

const STATISTICS: &[&str] = &["SampleCount", "Average", "Sum", "Minimum", "Maximum"];

/// The operators of a static threshold (the anomaly-detection ones need a
/// metric math threshold, which this kind does not model).
const OPERATORS: &[&str] = &[
    "GreaterThanOrEqualToThreshold",
    "GreaterThanThreshold",
    "LessThanThreshold",
    "LessThanOrEqualToThreshold",
];

/// DescribeAlarms takes at most 100 alarm names per call.
const NAMES_PER_CALL: usize = 100;

/// The service of alarms in the Resource Groups Tagging API.
const RESOURCE_TYPE: &str = "cloudwatch";

/// What AWS would refuse with a bare ValidationError, said with the
/// address: one statistic, a period it offers, no more data points to
/// alarm than periods evaluated.
fn check(address: &str, a: &Attrs) -> ApiResult<()> {
    let fail = |m: String| Err(ApiError::msg(format!("{address}: {m}")));
    match (str_attr(a, "statistic"), str_attr(a, "extended_statistic")) {
        (Some(_), Some(_)) => {
            return fail("give `statistic` or `extended_statistic`, not both".into());
        }
        (None, None) => return fail("give `statistic` or `extended_statistic`".into()),
        _ => {}
    }
    let int = |f: &str| a.get(f).and_then(Value::as_int);
    if let Some(p) = int("period")
        && p != 10
        && p != 30
        && p % 60 != 0
    {
        return fail(format!(
            "period = {p} is not one CloudWatch offers: 10, 30 or a multiple of 60 seconds"
        ));
    }
    if let (Some(d), Some(e)) = (int("datapoints_to_alarm"), int("evaluation_periods"))
        && d > e
    {
        return fail(format!(
            "datapoints_to_alarm = {d} is more than evaluation_periods = {e}"
        ));
    }
    Ok(())
}

/// The live attributes of an alarm (tags come from another call).
fn alarm_attrs(m: &MetricAlarm) -> Attrs {
    let name = m.alarm_name().unwrap_or_default();
    let list = |l: &[String]| Value::List(l.iter().map(Value::str).collect());
    let opt_int = |i: Option<i32>| i.map_or(Value::Null, |i| Value::Int(i64::from(i)));
    let dimensions: BTreeMap<String, String> = m
        .dimensions()
        .iter()
        .filter_map(|d| Some((d.name()?.to_owned(), d.value()?.to_owned())))
        .collect();
    let mut a = Attrs::new();
    a.insert("id".into(), Value::str(name));
    a.insert("name".into(), Value::str(name));
    a.insert("arn".into(), m.alarm_arn().into());
    a.insert("namespace".into(), m.namespace().into());
    a.insert("metric_name".into(), m.metric_name().into());
    a.insert("dimensions".into(), Value::from(dimensions));
    a.insert(
        "statistic".into(),
        m.statistic().map(Statistic::as_str).into(),
    );
    a.insert("extended_statistic".into(), m.extended_statistic().into());
    a.insert("period".into(), opt_int(m.period()));
    a.insert("evaluation_periods".into(), opt_int(m.evaluation_periods()));
    a.insert(
        "datapoints_to_alarm".into(),
        opt_int(m.datapoints_to_alarm()),
    );
    a.insert(
        "threshold".into(),
        m.threshold().map_or(Value::Null, Value::Float),
    );
    a.insert(
        "comparison_operator".into(),
        m.comparison_operator()
            .map(ComparisonOperator::as_str)
            .into(),
    );
    // Not set is AWS's default, "missing" (left out of the answer).
    a.insert(
        "treat_missing_data".into(),
        Value::str(m.treat_missing_data().unwrap_or("missing")),
    );
    a.insert(
        "actions_enabled".into(),
        Value::Bool(m.actions_enabled().unwrap_or(true)),
    );
    a.insert("alarm_actions".into(), list(m.alarm_actions()));
    a.insert("ok_actions".into(), list(m.ok_actions()));
    a.insert(
        "insufficient_data_actions".into(),
        list(m.insufficient_data_actions()),
    );
    a.insert(
        "alarm_description".into(),
        Value::str(m.alarm_description().unwrap_or_default()),
    );
    a
}

/// One PutMetricAlarm of `a` (the whole alarm: a put replaces it), with
/// `tags` on a create (a put ignores tags of an alarm that exists).
async fn put(
    cx: Ctx<'_>,
    address: &str,
    name: &str,
    a: &Attrs,
    tags: Option<Vec<Tag>>,
) -> ApiResult<()> {
    check(address, a)?;
    let int = |f: &str| to_i32(a.get(f).unwrap_or(&Value::Null), f);
    let list = |f: &str| Some(a.get(f).map(Value::str_list).unwrap_or_default());
    let dimensions: Vec<Dimension> = a
        .get("dimensions")
        .map(Value::str_map)
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| Dimension::builder().name(k).value(v).build())
        .collect();
    let threshold = match a.get("threshold") {
        Some(Value::Int(i)) => Some(*i as f64),
        Some(Value::Float(f)) => Some(*f),
        _ => None,
    };
    cx.aws
        .cloudwatch
        .put_metric_alarm()
        .alarm_name(name)
        .set_namespace(str_attr(a, "namespace"))
        .set_metric_name(str_attr(a, "metric_name"))
        .set_dimensions(Some(dimensions))
        .set_statistic(str_attr(a, "statistic").map(|s| Statistic::from(s.as_str())))
        .set_extended_statistic(str_attr(a, "extended_statistic"))
        .set_period(int("period")?)
        .set_evaluation_periods(int("evaluation_periods")?)
        .set_datapoints_to_alarm(int("datapoints_to_alarm")?)
        .set_threshold(threshold)
        .set_comparison_operator(
            str_attr(a, "comparison_operator").map(|s| ComparisonOperator::from(s.as_str())),
        )
        .set_treat_missing_data(str_attr(a, "treat_missing_data"))
        .set_actions_enabled(bool_attr(a, "actions_enabled"))
        .set_alarm_actions(list("alarm_actions"))
        .set_ok_actions(list("ok_actions"))
        .set_insufficient_data_actions(list("insufficient_data_actions"))
        .set_alarm_description(str_attr(a, "alarm_description").filter(|d| !d.is_empty()))
        .set_tags(tags)
        .send()
        .await?;
    Ok(())
}

/// The alarm a put makes of `desired` over `live`: a put replaces the
/// whole alarm, so what the desired state leaves unset keeps its live
/// value (it is not managed). Of the two statistics, the one desired wins.
fn merged(live: &Attrs, desired: &Attrs) -> Attrs {
    let mut out = live.clone();
    for (k, v) in desired.iter().filter(|(_, v)| !v.is_null()) {
        out.insert(k.clone(), v.clone());
    }
    for (set, other) in [
        ("statistic", "extended_statistic"),
        ("extended_statistic", "statistic"),
    ] {
        if desired.get(set).is_some_and(|v| !v.is_null()) {
            out.remove(other);
        }
    }
    out
}

/// CloudWatch's tag API, on the alarm ARN.
struct AlarmTags;

#[async_trait::async_trait]
impl TagApi for AlarmTags {
    async fn sync(&self, cx: Ctx<'_>, arn: &str, live: &Attrs, desired: &Attrs) -> ApiResult<()> {
        let cw = &cx.aws.cloudwatch;
        sync_tags_with!(
            live,
            desired,
            |set: Tag| cw.tag_resource().resource_arn(arn).set_tags(Some(set)),
            |unset| cw
                .untag_resource()
                .resource_arn(arn)
                .set_tag_keys(Some(unset)),
        )
    }
}

impl CloudWatchMetricAlarm {
    /// The named metric alarms: one DescribeAlarms (paginated) per 100
    /// names.
    async fn describe(&self, cx: Ctx<'_>, names: &[String]) -> ApiResult<Vec<MetricAlarm>> {
        Batch::of(NAMES_PER_CALL)
            .read(names, |chunk| async move {
                let pages = cx
                    .aws
                    .cloudwatch
                    .describe_alarms()
                    .set_alarm_names(Some(chunk.to_vec()))
                    .alarm_types(AlarmType::MetricAlarm)
                    .into_paginator()
                    .send()
                    .collect::<Result<Vec<_>, _>>()
                    .await
                    .map_err(ApiError::from)?;
                Ok::<_, ApiError>(
                    pages
                        .iter()
                        .flat_map(|p| p.metric_alarms().iter().cloned())
                        .collect::<Vec<_>>(),
                )
            })
            .await
    }
}

#[async_trait]
impl Kind for CloudWatchMetricAlarm {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    fn tagging(&self) -> Option<Tagging> {
        Some(Tagging::by_arn(&AlarmTags))
    }

    /// The alarms, 100 names per DescribeAlarms, then the tags of all of
    /// them in one GetResources per 100 ARNs.
    async fn read_many(&self, cx: Ctx<'_>, ids: &[String]) -> ApiResult<LiveMap> {
        if ids.is_empty() {
            return Ok(BTreeMap::new());
        }
        let alarms = self.describe(cx, ids).await?;
        let arns: Vec<String> = alarms
            .iter()
            .filter_map(|m| m.alarm_arn().map(str::to_owned))
            .collect();
        let tags = tagging::tags_of(cx, &arns).await?;
        let no_tags = TagMap::new();
        Ok(alarms
            .iter()
            .filter(|m| m.alarm_name().is_some_and(|n| ids.iter().any(|i| i == n)))
            .map(|m| {
                let mut a = alarm_attrs(m);
                let t = m
                    .alarm_arn()
                    .and_then(|arn| tags.get(arn))
                    .unwrap_or(&no_tags);
                a.insert(
                    "tags".into(),
                    user_tags(t.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
                );
                (m.alarm_name().unwrap_or_default().to_owned(), a)
            })
            .collect())
    }

    async fn create(&self, op: Create<'_>) -> ApiResult<String> {
        let Create { cx, address, desired } = op;
        let name = str_attr(desired, "name")
            .unwrap_or_else(|| crate::kinds::default_name(cx.stack, address));
        let tags = create_tags::<Tag>(cx, address, desired)?;
        put(cx, address, &name, desired, Some(tags)).await?;
        crate::kinds::created(&name);
        Ok(name)
    }

    async fn update(&self, op: Update<'_>) -> ApiResult<()> {
        let Update { cx, address, id, live, desired, changed } = op;
        if !changed.is_empty() {
            put(cx, address, id, &merged(live, desired), None).await?;
        }
        Ok(())
    }

    /// Deleting an alarm that is gone succeeds.
    async fn delete(&self, op: Delete<'_>) -> ApiResult<()> {
        let Delete { cx, id, .. } = op;
        let r = cx
            .aws
            .cloudwatch
            .delete_alarms()
            .alarm_names(id)
            .send()
            .await;
        gone_is_ok(r.map(drop).map_err(ApiError::from))
    }

    /// One GetResources filtered by the address's tags.
    async fn find_by_address(&self, cx: Ctx<'_>, address: &str) -> ApiResult<Option<String>> {
        find_by_address(cx, address, |t: AddressTags<'_>| async move {
            let arns = tagging::arns_tagged(cx, RESOURCE_TYPE, t).await?;
            Ok::<_, ApiError>(
                arns.into_iter()
                    .filter_map(|arn| arn.split_once(":alarm:").map(|(_, n)| n.to_owned())),
            )
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::attrs;

    fn valid() -> Attrs {
        attrs(&[
            ("statistic", Value::str("Average")),
            ("period", Value::Int(60)),
            ("evaluation_periods", Value::Int(3)),
            ("datapoints_to_alarm", Value::Int(2)),
        ])
    }

    #[test]
    fn what_aws_refuses_is_said_with_the_address() {
        assert!(check("cloudwatch_metric_alarm.cpu", &valid()).is_ok());
        let mut both = valid();
        both.insert("extended_statistic".into(), Value::str("p99"));
        let e = check("cloudwatch_metric_alarm.cpu", &both).unwrap_err();
        assert!(
            e.message.starts_with("cloudwatch_metric_alarm.cpu: give"),
            "{e}"
        );
        let mut none = valid();
        none.remove("statistic");
        assert!(check("a", &none).is_err());
        for (p, ok) in [
            (10, true),
            (30, true),
            (300, true),
            (45, false),
            (90, false),
        ] {
            let mut a = valid();
            a.insert("period".into(), Value::Int(p));
            assert_eq!(check("a", &a).is_ok(), ok, "period {p}");
        }
        let mut more = valid();
        more.insert("datapoints_to_alarm".into(), Value::Int(4));
        let e = check("a", &more).unwrap_err();
        assert!(
            e.message.contains("more than evaluation_periods = 3"),
            "{e}"
        );
    }

    #[test]
    fn an_update_keeps_what_is_unset_and_switches_statistics_whole() {
        let live = attrs(&[
            ("statistic", Value::str("Average")),
            ("alarm_description", Value::str("by hand")),
            ("threshold", Value::Float(80.0)),
        ]);
        let desired = attrs(&[
            ("extended_statistic", Value::str("p99")),
            ("alarm_description", Value::Null),
            ("threshold", Value::Float(1.5)),
        ]);
        let m = merged(&live, &desired);
        assert_eq!(m.get("statistic"), None);
        assert_eq!(m["extended_statistic"], Value::str("p99"));
        assert_eq!(m["alarm_description"], Value::str("by hand"));
        assert_eq!(m["threshold"], Value::Float(1.5));
    }

    #[test]
    fn an_alarm_reads_back_in_the_schemas_terms() {
        let m = MetricAlarm::builder()
            .alarm_name("ops-cpu")
            .alarm_arn("arn:aws:cloudwatch:us-east-1:123456789012:alarm:ops-cpu")
            .namespace("AWS/ECS")
            .metric_name("CPUUtilization")
            .dimensions(Dimension::builder().name("ClusterName").value("c").build())
            .statistic(Statistic::Average)
            .period(60)
            .evaluation_periods(3)
            .threshold(80.0)
            .comparison_operator(ComparisonOperator::GreaterThanThreshold)
            .alarm_actions("arn:aws:sns:us-east-1:123456789012:alerts")
            .build();
        let a = alarm_attrs(&m);
        assert_eq!(a["id"], Value::str("ops-cpu"));
        assert_eq!(a["statistic"], Value::str("Average"));
        assert_eq!(a["extended_statistic"], Value::Null);
        assert_eq!(a["datapoints_to_alarm"], Value::Null);
        assert_eq!(a["treat_missing_data"], Value::str("missing"));
        assert_eq!(a["actions_enabled"], Value::Bool(true));
        assert_eq!(a["alarm_description"], Value::str(""));
        assert_eq!(a["dimensions"].str_map()["ClusterName"], "c");
        assert_eq!(
            Type::Number.normalize(&a["threshold"]),
            Type::Number.normalize(&Value::Int(80))
        );
    }
}
