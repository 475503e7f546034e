//! `appautoscaling_policy`: target tracking on a scalable target — keep a
//! metric (an ECS service's CPU, an ALB's requests per target) at a value —
//! or step scaling, run by a CloudWatch alarm that names the policy's ARN
//! in its `alarm_actions`.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_applicationautoscaling::types::{
    AdjustmentType, MetricAggregationType, MetricType, PolicyType, PredefinedMetricSpecification,
    ScalingPolicy, StepAdjustment, StepScalingPolicyConfiguration,
    TargetTrackingScalingPolicyConfiguration,
};

use super::{SCALED, policy_namespace, scaled};
use crate::aws::ApiError;
use crate::kinds::support::{
    Batch, bool_attr, gone_is_ok, int_field, number, pages, str_attr, str_field, table, to_i32,
};
use crate::kinds::{ApiResult, Create, Ctx, Delete, Kind, LiveMap, Timeouts, Update};
use crate::schema::{Default, Field, ID, Rule, Schema, Type};
use crate::value::{Attrs, Value};

pub struct AppAutoScalingPolicy;

/// DescribeScalingPolicies takes at most 50 policy names per call.
const DESCRIBE_CHUNK: usize = 50;

/// Every field a PutScalingPolicy call sends; a change of any is one call.
const POLICY_FIELDS: [&str; 8] = [
    "policy_type",
    "step_scaling",
    "predefined_metric_type",
    "resource_label",
    "target_value",
    "scale_in_cooldown",
    "scale_out_cooldown",
    "disable_scale_in",
];

const STEP: &[Field] = crate::schema::STEP_ADJUSTMENT;

const STEP_SCALING: &[Field] = &[
    Field::new("adjustment_type", Type::String)
        .required()
        .one_of(&[
            "ChangeInCapacity",
            "ExactCapacity",
            "PercentChangeInCapacity",
        ])
        .doc("How `scaling_adjustment` counts: tasks added, the new count, or a percent."),
    Field::new("step_adjustments", Type::Set(&Type::Object(STEP)))
        .required()
        .min_items(1)
        .doc("The steps, by how far the metric is past the alarm threshold."),
    Field::new("cooldown", Type::Int).doc("Seconds after a scaling before another may start."),
    Field::new("metric_aggregation_type", Type::String)
        .one_of(&["Minimum", "Maximum", "Average"])
        .doc("How the alarm's metric is aggregated."),
    Field::new("min_adjustment_magnitude", Type::Int)
        .doc("With PercentChangeInCapacity: the fewest tasks a scaling changes."),
];

/// What each policy type needs, as AWS refuses it otherwise.
static RULES: [Rule; 2] = [
    Rule::Needs {
        field: "policy_type",
        is: "TargetTrackingScaling",
        needs: &["predefined_metric_type", "target_value"],
    },
    Rule::Needs { field: "policy_type", is: "StepScaling", needs: &["step_scaling"] },
];

static SCHEMA: Schema = Schema {
    kind: "appautoscaling_policy",
    service: super::SERVICE,
    timeouts: Timeouts::DEFAULT,
    description: "A scaling policy of a scalable target: target tracking, or step scaling run \
                  by a `cloudwatch_metric_alarm` whose `alarm_actions` name the policy's `arn`.",
    fields: &[
        Field::new("name", Type::String)
            .naming(crate::kinds::names::SCALING_POLICY)
            .example("\"cpu-at-60\"")
            .required()
            .force_new(),
        SCALED[0],
        SCALED[1],
        SCALED[2],
        Field::new("policy_type", Type::String)
            .default(Default::Str("TargetTrackingScaling"))
            .one_of(&["TargetTrackingScaling", "StepScaling"])
            .doc("\"TargetTrackingScaling\" (the fields below) or \"StepScaling\" (`step_scaling`)."),
        Field::new("step_scaling", Type::Object(STEP_SCALING))
            .doc("Step scaling: the steps an alarm runs."),
        Field::new("predefined_metric_type", Type::String)
            .example("\"ECSServiceAverageCPUUtilization\"")
            .doc("Target tracking: e.g. \"ECSServiceAverageCPUUtilization\" or \"ALBRequestCountPerTarget\"."),
        Field::new("resource_label", Type::String)
            .unset_is_null()
            .doc("For ALBRequestCountPerTarget: `app/<lb name>/<id>/targetgroup/<tg name>/<id>`."),
        Field::new("target_value", Type::Int)
            .example("60")
            .doc("Target tracking: the value the metric is kept at (a percentage, or requests per target)."),
        Field::new("scale_in_cooldown", Type::Int).doc("Seconds between scale-ins."),
        Field::new("scale_out_cooldown", Type::Int).doc("Seconds between scale-outs."),
        Field::new("disable_scale_in", Type::Bool).default(Default::Bool(false)),
        ID,
        Field::new("arn", Type::String)
            .computed()
            .doc("The policy ARN (also its id)."),
    ],
};

fn policy_attrs(p: &ScalingPolicy) -> Attrs {
    let t = p.target_tracking_scaling_policy_configuration();
    let metric = t.and_then(|t| t.predefined_metric_specification());
    let target = t.map(aws_sdk_applicationautoscaling::types::TargetTrackingScalingPolicyConfiguration::target_value);
    let mut a = Attrs::new();
    a.insert("id".into(), Value::str(p.policy_arn()));
    a.insert("arn".into(), Value::str(p.policy_arn()));
    a.insert("name".into(), Value::str(p.policy_name()));
    a.insert(
        "service_namespace".into(),
        Value::str(p.service_namespace().as_str()),
    );
    a.insert("resource_id".into(), Value::str(p.resource_id()));
    a.insert(
        "scalable_dimension".into(),
        Value::str(p.scalable_dimension().as_str()),
    );
    a.insert(
        "predefined_metric_type".into(),
        metric.map(|m| m.predefined_metric_type().as_str()).into(),
    );
    a.insert(
        "resource_label".into(),
        metric.and_then(|m| m.resource_label()).into(),
    );
    a.insert(
        "target_value".into(),
        target.map_or(Value::Null, Value::Float),
    );
    a.insert(
        "scale_in_cooldown".into(),
        t.and_then(aws_sdk_applicationautoscaling::types::TargetTrackingScalingPolicyConfiguration::scale_in_cooldown).into(),
    );
    a.insert(
        "scale_out_cooldown".into(),
        t.and_then(aws_sdk_applicationautoscaling::types::TargetTrackingScalingPolicyConfiguration::scale_out_cooldown).into(),
    );
    a.insert("policy_type".into(), Value::str(p.policy_type().as_str()));
    a.insert(
        "step_scaling".into(),
        p.step_scaling_policy_configuration()
            .map(step_scaling_value)
            .unwrap_or_default(),
    );
    a.insert(
        "disable_scale_in".into(),
        Value::Bool(t.and_then(aws_sdk_applicationautoscaling::types::TargetTrackingScalingPolicyConfiguration::disable_scale_in).unwrap_or(false)),
    );
    a
}

fn step_scaling_value(s: &StepScalingPolicyConfiguration) -> Value {
    let steps = s
        .step_adjustments()
        .iter()
        .map(|a| {
            table([
                (
                    "metric_interval_lower_bound",
                    a.metric_interval_lower_bound()
                        .map_or(Value::Null, Value::Float),
                ),
                (
                    "metric_interval_upper_bound",
                    a.metric_interval_upper_bound()
                        .map_or(Value::Null, Value::Float),
                ),
                ("scaling_adjustment", Value::from(a.scaling_adjustment())),
            ])
        })
        .collect();
    table([
        (
            "adjustment_type",
            s.adjustment_type().map(AdjustmentType::as_str).into(),
        ),
        ("step_adjustments", Value::List(steps)),
        ("cooldown", s.cooldown().into()),
        (
            "metric_aggregation_type",
            s.metric_aggregation_type()
                .map(MetricAggregationType::as_str)
                .into(),
        ),
        (
            "min_adjustment_magnitude",
            s.min_adjustment_magnitude().into(),
        ),
    ])
}

fn step_scaling(v: &Value) -> ApiResult<StepScalingPolicyConfiguration> {
    let get = |name: &str| v.as_map().and_then(|m| m.get(name));
    let steps = get("step_adjustments")
        .map(Value::as_list)
        .unwrap_or_default()
        .iter()
        .map(|s| {
            let bound = |name: &str| number(s.as_map().and_then(|m| m.get(name)));
            StepAdjustment::builder()
                .set_metric_interval_lower_bound(bound("metric_interval_lower_bound"))
                .set_metric_interval_upper_bound(bound("metric_interval_upper_bound"))
                .set_scaling_adjustment(int_field(Some(s), "scaling_adjustment")?)
                .build()
                .map_err(|e| ApiError::msg(e.to_string()))
        })
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(StepScalingPolicyConfiguration::builder()
        .set_adjustment_type(
            str_field(Some(v), "adjustment_type").map(|a| AdjustmentType::from(a.as_str())),
        )
        .set_step_adjustments(Some(steps))
        .set_cooldown(int_field(Some(v), "cooldown")?)
        .set_metric_aggregation_type(
            str_field(Some(v), "metric_aggregation_type")
                .map(|m| MetricAggregationType::from(m.as_str())),
        )
        .set_min_adjustment_magnitude(int_field(Some(v), "min_adjustment_magnitude")?)
        .build())
}

fn configuration(desired: &Attrs) -> ApiResult<TargetTrackingScalingPolicyConfiguration> {
    let int = |f: &str| to_i32(desired.get(f).unwrap_or(&Value::Null), f);
    let metric = PredefinedMetricSpecification::builder()
        .predefined_metric_type(MetricType::from(
            str_attr(desired, "predefined_metric_type")
                .unwrap_or_default()
                .as_str(),
        ))
        .set_resource_label(str_attr(desired, "resource_label"))
        .build()
        .map_err(|e| ApiError::msg(e.to_string()))?;
    let target = desired
        .get("target_value")
        .and_then(|v| match v {
            Value::Float(f) => Some(*f),
            other => other.as_int().map(|i| i as f64),
        })
        .unwrap_or_default();
    TargetTrackingScalingPolicyConfiguration::builder()
        .target_value(target)
        .predefined_metric_specification(metric)
        .set_scale_in_cooldown(int("scale_in_cooldown")?)
        .set_scale_out_cooldown(int("scale_out_cooldown")?)
        .set_disable_scale_in(bool_attr(desired, "disable_scale_in"))
        .build()
        .map_err(|e| ApiError::msg(e.to_string()))
}

/// Whether two policy ARNs name the same policy: the same target and name
/// (`…:resource/<namespace>/<resource id>:policyName/<name>`), whatever the
/// id before them. AWS keeps a policy's ARN across puts; the emulator
/// (moto 5.2.5) gives each put a new id.
fn same_policy(a: &str, b: &str) -> bool {
    let key = |arn: &str| arn.split_once(":resource/").map(|(_, k)| k.to_owned());
    a == b || key(a).is_some() && key(a) == key(b)
}

/// The name at the end of a policy ARN (`…:policyName/<name>`).
fn name_of(arn: &str) -> Option<&str> {
    arn.rsplit_once(":policyName/").map(|(_, n)| n)
}

impl AppAutoScalingPolicy {
    /// The policies with these ARNs (keyed by the ARN asked for): per
    /// namespace, by name, matched by ARN less its id (see `same_policy`).
    async fn describe(
        &self,
        cx: Ctx<'_>,
        arns: &[String],
    ) -> ApiResult<Vec<(String, ScalingPolicy)>> {
        let mut by_ns: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for arn in arns {
            if let (Some(ns), Some(name)) = (policy_namespace(arn), name_of(arn)) {
                by_ns
                    .entry(ns.as_str().to_owned())
                    .or_default()
                    .push(name.to_owned());
            }
        }
        let mut out = Vec::new();
        for (ns, names) in &by_ns {
            let found: Vec<ScalingPolicy> = Batch::of(DESCRIBE_CHUNK)
                .read(names, |chunk| {
                    let call = cx.aws.appautoscaling.describe_scaling_policies();
                    let call = call.service_namespace(ns.as_str().into());
                    async move { pages!(call.set_policy_names(Some(chunk.to_vec()))) }
                })
                .await?;
            for p in found {
                if let Some(arn) = arns.iter().find(|a| same_policy(a, p.policy_arn())) {
                    out.push((arn.clone(), p));
                }
            }
        }
        Ok(out)
    }

    /// PutScalingPolicy is an upsert keyed by name and target.
    async fn put(&self, cx: Ctx<'_>, desired: &Attrs) -> ApiResult<String> {
        let (ns, resource, dim) = scaled(desired);
        let call = cx
            .aws
            .appautoscaling
            .put_scaling_policy()
            .policy_name(str_attr(desired, "name").unwrap_or_default())
            .service_namespace(ns)
            .resource_id(resource)
            .scalable_dimension(dim);
        let step = desired.get("step_scaling").filter(|v| !v.is_null());
        let call = if str_attr(desired, "policy_type").as_deref() == Some("StepScaling") {
            let config = step.map(step_scaling).transpose()?;
            call.policy_type(PolicyType::StepScaling)
                .set_step_scaling_policy_configuration(config)
        } else {
            call.policy_type(PolicyType::TargetTrackingScaling)
                .target_tracking_scaling_policy_configuration(configuration(desired)?)
        };
        let out = call.send().await?;
        Ok(out.policy_arn().to_owned())
    }
}

#[async_trait]
impl Kind for AppAutoScalingPolicy {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    fn rules(&self) -> &'static [Rule] {
        &RULES
    }

    async fn read_many(&self, cx: Ctx<'_>, ids: &[String]) -> ApiResult<LiveMap> {
        Ok(self
            .describe(cx, ids)
            .await?
            .iter()
            .map(|(id, p)| (id.clone(), policy_attrs(p)))
            .collect())
    }

    async fn create(&self, op: Create<'_>) -> ApiResult<String> {
        let Create { cx, desired, .. } = op;
        self.put(cx, desired).await
    }

    async fn update(&self, op: Update<'_>) -> ApiResult<()> {
        let Update { cx, desired, changed, .. } = op;
        if POLICY_FIELDS.iter().any(|f| changed.sets(f)) {
            self.put(cx, desired).await?;
        }
        Ok(())
    }

    /// The target's deregistration (ordered after) deletes its policies
    /// too; deleting the policy first keeps the order explicit.
    async fn delete(&self, op: Delete<'_>) -> ApiResult<()> {
        let Delete { cx, id, .. } = op;
        // The dimension is not in the ARN: ask for the policy.
        let Some((_, p)) = self
            .describe(cx, &[id.to_owned()])
            .await?
            .into_iter()
            .next()
        else {
            return Ok(());
        };
        gone_is_ok(
            cx.aws
                .appautoscaling
                .delete_scaling_policy()
                .policy_name(p.policy_name())
                .service_namespace(p.service_namespace().clone())
                .resource_id(p.resource_id())
                .scalable_dimension(p.scalable_dimension().clone())
                .send()
                .await,
        )
    }

    // No `find_by_address`: policies carry no tags; a create whose answer was lost is made again,
    // which updates the same policy (an upsert keyed by name and target).
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::Changes;
    use aws_sdk_applicationautoscaling::types::{ScalableDimension, ServiceNamespace};

    #[test]
    fn a_described_policy_reads_as_its_inputs() {
        let desired = SCHEMA.with_defaults(&Attrs::from([
            ("name".to_owned(), Value::str("cpu")),
            ("resource_id".to_owned(), Value::str("service/app/web")),
            (
                "predefined_metric_type".to_owned(),
                Value::str("ECSServiceAverageCPUUtilization"),
            ),
            ("target_value".to_owned(), Value::Int(60)),
            ("scale_in_cooldown".to_owned(), Value::Int(120)),
        ]));
        let arn = "arn:aws:autoscaling:us-east-1:1:scalingPolicy:u:resource/ecs/service/app/web:policyName/cpu";
        let p = ScalingPolicy::builder()
            .policy_arn(arn)
            .policy_name("cpu")
            .service_namespace(ServiceNamespace::Ecs)
            .resource_id("service/app/web")
            .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
            .policy_type(PolicyType::TargetTrackingScaling)
            .target_tracking_scaling_policy_configuration(configuration(&desired).unwrap())
            .creation_time(aws_smithy_types::DateTime::from_secs(0))
            .build()
            .unwrap();
        let a = policy_attrs(&p);
        for f in SCHEMA.field_names() {
            assert!(a.contains_key(f), "read leaves out {f}");
        }
        for f in SCHEMA.inputs() {
            assert!(
                !Changes::between(&AppAutoScalingPolicy, &a, &desired).sets(f.name),
                "{}",
                f.name
            );
        }
        assert_eq!(name_of(arn), Some("cpu"));
        let renewed = arn.replace(":u:", ":v:");
        assert!(same_policy(arn, &renewed));
        assert!(!same_policy(
            arn,
            &arn.replace("policyName/cpu", "policyName/mem")
        ));
    }

    #[test]
    fn a_step_scaling_policy_reads_as_its_inputs() {
        let desired = SCHEMA.with_defaults(&Attrs::from([
            ("name".to_owned(), Value::str("out")),
            ("resource_id".to_owned(), Value::str("service/app/web")),
            ("policy_type".to_owned(), Value::str("StepScaling")),
            (
                "step_scaling".to_owned(),
                table([
                    ("adjustment_type", Value::str("ChangeInCapacity")),
                    ("cooldown", Value::Int(60)),
                    ("metric_aggregation_type", Value::str("Average")),
                    (
                        "step_adjustments",
                        Value::List(vec![
                            table([
                                ("metric_interval_lower_bound", Value::Int(0)),
                                ("metric_interval_upper_bound", Value::Float(15.5)),
                                ("scaling_adjustment", Value::Int(1)),
                            ]),
                            table([
                                ("metric_interval_lower_bound", Value::Float(15.5)),
                                ("scaling_adjustment", Value::Int(3)),
                            ]),
                        ]),
                    ),
                ]),
            ),
        ]));
        let arn = "arn:aws:autoscaling:us-east-1:1:scalingPolicy:u:resource/ecs/service/app/web:policyName/out";
        let p = ScalingPolicy::builder()
            .policy_arn(arn)
            .policy_name("out")
            .service_namespace(ServiceNamespace::Ecs)
            .resource_id("service/app/web")
            .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
            .policy_type(PolicyType::StepScaling)
            .step_scaling_policy_configuration(step_scaling(&desired["step_scaling"]).unwrap())
            .creation_time(aws_smithy_types::DateTime::from_secs(0))
            .build()
            .unwrap();
        let live = policy_attrs(&p);
        let changes = Changes::between(&AppAutoScalingPolicy, &live, &desired);
        assert!(!changes.fields().any(|f| changes.sets(f)), "{changes:?}");
        // Target tracking's fields are not needed by a step policy.
        let m = desired.clone().into_iter().collect();
        assert!(RULES.iter().all(|r| r.problem(SCHEMA.fields, &m).is_none()));
    }
}
