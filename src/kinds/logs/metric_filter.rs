//! `logs_metric_filter`: a CloudWatch Logs metric filter, turning the log
//! events of a group that match a pattern into a metric (that an alarm can
//! watch). Its id is `<log group>:<filter name>` (neither holds a colon).
//!
//! Metric filters take no tags: a put of the same group and name replaces
//! the filter, so a create whose answer was lost is simply made again.

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use aws_sdk_cloudwatchlogs::types::{MetricFilter, MetricTransformation};

use crate::aws::ApiError;
use crate::kinds::support::{all_matches, found, gone_is_ok, pages, str_attr, str_field, table};
use crate::kinds::{ApiResult, Create, Ctx, Delete, Kind, LiveMap, Timeouts, Update};
use crate::schema::{Field, Name, Schema, Type};
use crate::value::{Attrs, Value};

pub struct LogsMetricFilter;

/// Metric names and namespaces of a transformation.
const METRIC: Name = Name {
    min: 1,
    max: 255,
    pattern: r"[^:*$]+",
    rule: "no colons, asterisks or dollar signs",
};

const TRANSFORMATION: &[Field] = &[
    Field::new("name", Type::String)
        .naming(METRIC)
        .required()
        .doc("The metric the matches are counted in, e.g. \"FailedRuns\"."),
    Field::new("namespace", Type::String)
        .naming(METRIC)
        .required()
        .doc("Its namespace, e.g. \"Reconcile\"."),
    Field::new("value", Type::String)
        .required()
        .doc("What a matching event adds: a number (\"1\") or a field of a JSON event (\"$.duration_ms\")."),
    Field::new("default_value", Type::Number)
        .doc("What an event that does not match adds (e.g. 0, so that a run that went well is a data point too); by default nothing."),
];

static SCHEMA: Schema = Schema {
    kind: "logs_metric_filter",
    service: super::SERVICE,
    timeouts: Timeouts::DEFAULT,
    description: "A CloudWatch Logs metric filter: counts the log events of a group that match a pattern as a metric.",
    fields: &[
        Field::stack_name("name", crate::kinds::names::METRIC_FILTER)
            .doc("The filter name; by default `<stack>-<resource name>`."),
        Field::new("log_group_name", Type::String)
            .example("\"${log_group.example.name}\"")
            .required()
            .force_new()
            .doc("The log group whose events are matched."),
        Field::new("pattern", Type::String)
            .example("\"{ $.errors[0] = \\\"*\\\" }\"")
            .required()
            .doc("The filter pattern (at most 1024 characters): terms, `{ $.field = value }` for JSON events, or \"\" for every event."),
        Field::new("metric_transformation", Type::Object(TRANSFORMATION))
            .required()
            .doc("The metric a match becomes."),
        Field::new("id", Type::String)
            .computed()
            .doc("`<log group>:<filter name>` (what `reconcile import` takes)."),
    ],
};

/// `<log group>:<name>` ↔ (group, name).
fn split_id(id: &str) -> Option<(&str, &str)> {
    id.rsplit_once(':')
}

fn filter_attrs(f: &MetricFilter) -> Option<(String, Attrs)> {
    let group = f.log_group_name()?;
    let name = f.filter_name()?;
    let id = format!("{group}:{name}");
    let transformation = f.metric_transformations().first().map_or(Value::Null, |t| {
        table([
            ("name", Value::str(t.metric_name())),
            ("namespace", Value::str(t.metric_namespace())),
            ("value", Value::str(t.metric_value())),
            (
                "default_value",
                t.default_value().map_or(Value::Null, Value::Float),
            ),
        ])
    });
    let mut a = Attrs::new();
    a.insert("id".into(), Value::str(&id));
    a.insert("name".into(), Value::str(name));
    a.insert("log_group_name".into(), Value::str(group));
    a.insert(
        "pattern".into(),
        Value::str(f.filter_pattern().unwrap_or_default()),
    );
    a.insert("metric_transformation".into(), transformation);
    Some((id, a))
}

/// The metric filters of a log group, `None` when the group is gone.
async fn of_group(cx: Ctx<'_>, group: &str) -> ApiResult<Option<Vec<MetricFilter>>> {
    found(pages!(
        cx.aws.logs.describe_metric_filters().log_group_name(group)
    ))
}

async fn put(cx: Ctx<'_>, group: &str, name: &str, desired: &Attrs) -> ApiResult<()> {
    let t = desired.get("metric_transformation");
    let default_value = match t
        .and_then(Value::as_map)
        .and_then(|m| m.get("default_value"))
    {
        Some(Value::Int(i)) => Some(*i as f64),
        Some(Value::Float(f)) => Some(*f),
        _ => None,
    };
    let transformation = MetricTransformation::builder()
        .set_metric_name(str_field(t, "name"))
        .set_metric_namespace(str_field(t, "namespace"))
        .set_metric_value(str_field(t, "value"))
        .set_default_value(default_value)
        .build()
        .map_err(|e| ApiError::msg(format!("metric_transformation: {e}")))?;
    cx.aws
        .logs
        .put_metric_filter()
        .log_group_name(group)
        .filter_name(name)
        .filter_pattern(str_attr(desired, "pattern").unwrap_or_default())
        .metric_transformations(transformation)
        .send()
        .await?;
    Ok(())
}

#[async_trait]
impl Kind for LogsMetricFilter {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    /// One DescribeMetricFilters (paginated) per log group the ids belong
    /// to. The emulator appends a second filter of the same name on a put
    /// where AWS replaces it: the last one listed is the one put last.
    async fn read_many(&self, cx: Ctx<'_>, ids: &[String]) -> ApiResult<LiveMap> {
        let groups: BTreeSet<&str> = ids
            .iter()
            .filter_map(|i| split_id(i))
            .map(|(g, _)| g)
            .collect();
        let lists: Vec<_> = groups
            .into_iter()
            .map(|g| async move { of_group(cx, g).await })
            .collect();
        let wanted: BTreeSet<&str> = ids.iter().map(String::as_str).collect();
        let mut out = BTreeMap::new();
        for filters in all_matches(lists).await? {
            out.extend(
                filters
                    .iter()
                    .filter_map(filter_attrs)
                    .filter(|(id, _)| wanted.contains(id.as_str())),
            );
        }
        Ok(out)
    }

    async fn create(&self, op: Create<'_>) -> ApiResult<String> {
        let Create { cx, address, desired } = op;
        let name = str_attr(desired, "name")
            .unwrap_or_else(|| crate::kinds::default_name(cx.stack, address));
        let group = str_attr(desired, "log_group_name").unwrap_or_default();
        put(cx, &group, &name, desired)
            .await
            .map_err(|e| ApiError { message: format!("{address}: {}", e.message), ..e })?;
        let id = format!("{group}:{name}");
        crate::kinds::created(&id);
        Ok(id)
    }

    /// A put of the same group and name replaces the filter.
    async fn update(&self, op: Update<'_>) -> ApiResult<()> {
        let Update { cx, address, id, desired, .. } = op;
        let (group, name) = split_id(id)
            .ok_or_else(|| ApiError::msg(format!("{address}: {id:?} is no <group>:<name>")))?;
        put(cx, group, name, desired).await
    }

    /// Deletes until no filter of the name is left (once on AWS; the
    /// emulator keeps a copy per put and deletes one at a time), at most
    /// a few times.
    async fn delete(&self, op: Delete<'_>) -> ApiResult<()> {
        let Delete { cx, id, .. } = op;
        let Some((group, name)) = split_id(id) else {
            return Ok(());
        };
        for _ in 0..MAX_COPIES {
            let r = cx
                .aws
                .logs
                .delete_metric_filter()
                .log_group_name(group)
                .filter_name(name)
                .send()
                .await;
            gone_is_ok(r.map(drop).map_err(ApiError::from))?;
            let left = of_group(cx, group).await?.unwrap_or_default();
            if !left.iter().any(|f| f.filter_name() == Some(name)) {
                return Ok(());
            }
        }
        Err(ApiError::msg(format!(
            "metric filter {id} is still there after {MAX_COPIES} deletes"
        )))
    }

    /// Metric filters carry no tags.
    async fn find_by_address(&self, _cx: Ctx<'_>, _address: &str) -> ApiResult<Option<String>> {
        Ok(None)
    }
}

/// How many same-named copies a delete removes at most.
const MAX_COPIES: usize = 5;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_filter_is_named_by_its_group_and_name() {
        assert_eq!(
            split_id("/reconcile/ops/runs:failed-runs"),
            Some(("/reconcile/ops/runs", "failed-runs"))
        );
        let f = MetricFilter::builder()
            .log_group_name("/g")
            .filter_name("f")
            .filter_pattern("{ $.errors[0] = \"*\" }")
            .metric_transformations(
                MetricTransformation::builder()
                    .metric_name("FailedRuns")
                    .metric_namespace("Reconcile")
                    .metric_value("1")
                    .default_value(0.0)
                    .build()
                    .unwrap(),
            )
            .build();
        let (id, a) = filter_attrs(&f).unwrap();
        assert_eq!(id, "/g:f");
        let t = &a["metric_transformation"];
        assert_eq!(
            str_field(Some(t), "namespace").as_deref(),
            Some("Reconcile")
        );
        let ty = Type::Object(TRANSFORMATION);
        let desired = table([
            ("name", Value::str("FailedRuns")),
            ("namespace", Value::str("Reconcile")),
            ("value", Value::str("1")),
            ("default_value", Value::Int(0)),
        ]);
        assert_eq!(ty.normalize(t), ty.normalize(&desired));
    }
}
