//! `autoscaling_policy`: a scaling policy of an EC2 Auto Scaling group —
//! simple or step scaling (run by a CloudWatch alarm that names the
//! policy's ARN in its `alarm_actions`), or target tracking.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_autoscaling::types::{
    MetricType, PredefinedMetricSpecification, ScalingPolicy, StepAdjustment,
    TargetTrackingConfiguration,
};

use crate::aws::ApiError;
use crate::kinds::support::{
    Batch, bool_attr, int_field, number, pages, str_attr, str_field, table, to_i32,
};
use crate::kinds::{ApiResult, Create, Ctx, Delete, Kind, LiveMap, Timeouts, Update};
use crate::schema::{Default, Field, ID, Rule, Schema, Type};
use crate::value::{Attrs, Value};

pub struct AutoScalingPolicy;

/// DescribePolicies takes at most 50 policy names per call.
const DESCRIBE_CHUNK: usize = 50;

const STEP: &[Field] = crate::schema::STEP_ADJUSTMENT;

const TARGET_TRACKING: &[Field] = &[
    Field::new("predefined_metric_type", Type::String)
        .required()
        .one_of(&[
            "ASGAverageCPUUtilization",
            "ASGAverageNetworkIn",
            "ASGAverageNetworkOut",
            "ALBRequestCountPerTarget",
        ])
        .doc("The metric kept at `target_value`, e.g. \"ASGAverageCPUUtilization\"."),
    Field::new("resource_label", Type::String)
        .doc("For ALBRequestCountPerTarget: `app/<lb name>/<id>/targetgroup/<tg name>/<id>`."),
    Field::new("target_value", Type::Number)
        .required()
        .doc("The value the metric is kept at."),
    Field::new("disable_scale_in", Type::Bool)
        .default(Default::Bool(false))
        .doc("Whether the policy only ever scales out."),
];

/// What each policy type needs, as AWS refuses it otherwise.
static RULES: [Rule; 3] = [
    Rule::Needs {
        field: "policy_type",
        is: "SimpleScaling",
        needs: &["adjustment_type", "scaling_adjustment"],
    },
    Rule::Needs {
        field: "policy_type",
        is: "StepScaling",
        needs: &["adjustment_type", "step_adjustments"],
    },
    Rule::Needs {
        field: "policy_type",
        is: "TargetTrackingScaling",
        needs: &["target_tracking"],
    },
];

static SCHEMA: Schema = Schema {
    kind: "autoscaling_policy",
    service: super::SERVICE,
    timeouts: Timeouts::DEFAULT,
    description: "A scaling policy of an EC2 Auto Scaling group: simple or step scaling run \
                  by a `cloudwatch_metric_alarm` whose `alarm_actions` name the policy's \
                  `arn`, or target tracking.",
    fields: &[
        Field::new("name", Type::String)
            .naming(crate::kinds::names::SCALING_POLICY)
            .example("\"scale-out\"")
            .required()
            .force_new()
            .doc("The policy name, unique within its group."),
        Field::new("autoscaling_group_name", Type::String)
            .example("\"${autoscaling_group.example.name}\"")
            .required()
            .force_new()
            .doc("The group scaled."),
        Field::new("policy_type", Type::String)
            .default(Default::Str("SimpleScaling"))
            .one_of(&["SimpleScaling", "StepScaling", "TargetTrackingScaling"])
            .doc("\"SimpleScaling\", \"StepScaling\" or \"TargetTrackingScaling\"."),
        Field::new("adjustment_type", Type::String)
            .one_of(&[
                "ChangeInCapacity",
                "ExactCapacity",
                "PercentChangeInCapacity",
            ])
            .doc("Simple and step scaling: how `scaling_adjustment` counts."),
        Field::new("scaling_adjustment", Type::Int).doc(
            "Simple scaling: instances to add (negative: remove), or the capacity or percent.",
        ),
        Field::new("cooldown", Type::Int)
            .doc("Simple scaling: seconds after a scaling before another may start."),
        Field::new("min_adjustment_magnitude", Type::Int)
            .doc("With PercentChangeInCapacity: the fewest instances a scaling changes."),
        Field::new("metric_aggregation_type", Type::String)
            .one_of(&["Minimum", "Maximum", "Average"])
            .doc("Step scaling: how the alarm's metric is aggregated."),
        Field::new("step_adjustments", Type::Set(&Type::Object(STEP)))
            .default(Default::EmptyList)
            .doc("Step scaling: the steps, by how far the metric is past the alarm threshold."),
        Field::new("estimated_instance_warmup", Type::Int)
            .doc("Step scaling and target tracking: seconds until a new instance counts."),
        Field::new("target_tracking", Type::Object(TARGET_TRACKING))
            .doc("Target tracking: the metric and the value it is kept at."),
        Field::new("enabled", Type::Bool)
            .default(Default::Bool(true))
            .doc("Whether the policy runs."),
        ID,
        Field::new("arn", Type::String)
            .computed()
            .doc("The policy ARN (also its id), for an alarm's `alarm_actions`."),
    ],
};

fn field<'a>(v: &'a Value, name: &str) -> Option<&'a Value> {
    v.as_map().and_then(|m| m.get(name))
}

fn policy_attrs(p: &ScalingPolicy) -> Attrs {
    let tt = p.target_tracking_configuration();
    let metric = tt.and_then(TargetTrackingConfiguration::predefined_metric_specification);
    let steps = p
        .step_adjustments()
        .iter()
        .map(|s| {
            table([
                (
                    "metric_interval_lower_bound",
                    s.metric_interval_lower_bound()
                        .map_or(Value::Null, Value::Float),
                ),
                (
                    "metric_interval_upper_bound",
                    s.metric_interval_upper_bound()
                        .map_or(Value::Null, Value::Float),
                ),
                ("scaling_adjustment", s.scaling_adjustment().into()),
            ])
        })
        .collect();
    let mut a = Attrs::new();
    a.insert("id".into(), p.policy_arn().into());
    a.insert("arn".into(), p.policy_arn().into());
    a.insert("name".into(), p.policy_name().into());
    a.insert(
        "autoscaling_group_name".into(),
        p.auto_scaling_group_name().into(),
    );
    a.insert("policy_type".into(), p.policy_type().into());
    a.insert("adjustment_type".into(), p.adjustment_type().into());
    a.insert("scaling_adjustment".into(), p.scaling_adjustment().into());
    a.insert("cooldown".into(), p.cooldown().into());
    a.insert(
        "min_adjustment_magnitude".into(),
        p.min_adjustment_magnitude().into(),
    );
    a.insert(
        "metric_aggregation_type".into(),
        p.metric_aggregation_type().into(),
    );
    a.insert("step_adjustments".into(), Value::List(steps));
    a.insert(
        "estimated_instance_warmup".into(),
        p.estimated_instance_warmup().into(),
    );
    a.insert(
        "target_tracking".into(),
        tt.map(|t| {
            table([
                (
                    "predefined_metric_type",
                    metric
                        .and_then(PredefinedMetricSpecification::predefined_metric_type)
                        .map(MetricType::as_str)
                        .into(),
                ),
                (
                    "resource_label",
                    metric
                        .and_then(PredefinedMetricSpecification::resource_label)
                        .into(),
                ),
                (
                    "target_value",
                    t.target_value().map_or(Value::Null, Value::Float),
                ),
                (
                    "disable_scale_in",
                    Value::Bool(t.disable_scale_in().unwrap_or(false)),
                ),
            ])
        })
        .unwrap_or_default(),
    );
    a.insert("enabled".into(), Value::Bool(p.enabled().unwrap_or(true)));
    a
}

fn target_tracking(v: &Value) -> TargetTrackingConfiguration {
    let metric = PredefinedMetricSpecification::builder()
        .set_predefined_metric_type(
            str_field(Some(v), "predefined_metric_type").map(|m| MetricType::from(m.as_str())),
        )
        .set_resource_label(str_field(Some(v), "resource_label"))
        .build();
    TargetTrackingConfiguration::builder()
        .predefined_metric_specification(metric)
        .set_target_value(number(field(v, "target_value")))
        .set_disable_scale_in(field(v, "disable_scale_in").and_then(Value::as_bool))
        .build()
}

fn step_adjustments(desired: &Attrs) -> ApiResult<Vec<StepAdjustment>> {
    desired
        .get("step_adjustments")
        .map(Value::as_list)
        .unwrap_or_default()
        .iter()
        .map(|s| {
            Ok(StepAdjustment::builder()
                .set_metric_interval_lower_bound(number(field(s, "metric_interval_lower_bound")))
                .set_metric_interval_upper_bound(number(field(s, "metric_interval_upper_bound")))
                .set_scaling_adjustment(int_field(Some(s), "scaling_adjustment")?)
                .build())
        })
        .collect()
}

/// `…:autoScalingGroupName/<group>:policyName/<name>` → (group, name).
fn group_and_name(arn: &str) -> Option<(&str, &str)> {
    let rest = arn.split_once(":autoScalingGroupName/")?.1;
    rest.split_once(":policyName/")
}

impl AutoScalingPolicy {
    /// The policies with these ARNs: per group, by name (50 a call).
    async fn describe(&self, cx: Ctx<'_>, arns: &[String]) -> ApiResult<Vec<ScalingPolicy>> {
        let mut by_group: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for arn in arns {
            if let Some((group, name)) = group_and_name(arn) {
                by_group.entry(group).or_default().push(name.to_owned());
            }
        }
        let mut out = Vec::new();
        for (group, names) in &by_group {
            let found: Vec<ScalingPolicy> = Batch::of(DESCRIBE_CHUNK)
                .read(names, |chunk| {
                    let call = cx.aws.autoscaling.describe_policies();
                    let call = call.auto_scaling_group_name(*group);
                    async move { pages!(call.set_policy_names(Some(chunk.to_vec()))) }
                })
                .await?;
            out.extend(
                found
                    .into_iter()
                    .filter(|p| p.policy_arn().is_some_and(|a| arns.iter().any(|x| x == a))),
            );
        }
        Ok(out)
    }

    /// PutScalingPolicy is an upsert keyed by group and name: every setting
    /// is sent each time.
    async fn put(&self, cx: Ctx<'_>, desired: &Attrs) -> ApiResult<String> {
        let int = |f: &str| to_i32(desired.get(f).unwrap_or(&Value::Null), f);
        let steps = step_adjustments(desired)?;
        let out = cx
            .aws
            .autoscaling
            .put_scaling_policy()
            .set_policy_name(str_attr(desired, "name"))
            .set_auto_scaling_group_name(str_attr(desired, "autoscaling_group_name"))
            .set_policy_type(str_attr(desired, "policy_type"))
            .set_adjustment_type(str_attr(desired, "adjustment_type"))
            .set_scaling_adjustment(int("scaling_adjustment")?)
            .set_cooldown(int("cooldown")?)
            .set_min_adjustment_magnitude(int("min_adjustment_magnitude")?)
            .set_metric_aggregation_type(str_attr(desired, "metric_aggregation_type"))
            .set_step_adjustments((!steps.is_empty()).then_some(steps))
            .set_estimated_instance_warmup(int("estimated_instance_warmup")?)
            .set_target_tracking_configuration(
                desired
                    .get("target_tracking")
                    .filter(|v| !v.is_null())
                    .map(target_tracking),
            )
            .set_enabled(bool_attr(desired, "enabled"))
            .send()
            .await?;
        if let Some(arn) = out.policy_arn() {
            return Ok(arn.to_owned());
        }
        // AWS answers the ARN; the emulator (moto 5.2.5) leaves it out.
        self.arn_of(cx, desired)
            .await?
            .ok_or_else(|| ApiError::msg("PutScalingPolicy returned no ARN"))
    }

    /// The ARN of the policy `desired` names, by its group and name.
    async fn arn_of(&self, cx: Ctx<'_>, desired: &Attrs) -> ApiResult<Option<String>> {
        let (Some(group), Some(name)) = (
            str_attr(desired, "autoscaling_group_name"),
            str_attr(desired, "name"),
        ) else {
            return Ok(None);
        };
        let found = pages!(
            cx.aws
                .autoscaling
                .describe_policies()
                .auto_scaling_group_name(group)
                .policy_names(name)
        )?;
        Ok(found
            .into_iter()
            .find_map(|p| p.policy_arn().map(str::to_owned)))
    }
}

#[async_trait]
impl Kind for AutoScalingPolicy {
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
            .filter_map(|p| Some((p.policy_arn()?.to_owned(), policy_attrs(p))))
            .collect())
    }

    async fn create(&self, op: Create<'_>) -> ApiResult<String> {
        let Create { cx, desired, .. } = op;
        let arn = self.put(cx, desired).await?;
        crate::kinds::created(&arn);
        Ok(arn)
    }

    async fn update(&self, op: Update<'_>) -> ApiResult<()> {
        let Update { cx, desired, changed, .. } = op;
        // A setting left unset is not managed: only what desired sets counts.
        if changed.fields().any(|f| changed.sets(f)) {
            self.put(cx, desired).await?;
        }
        Ok(())
    }

    async fn delete(&self, op: Delete<'_>) -> ApiResult<()> {
        let Delete { cx, id, .. } = op;
        // Gone (with its group, or by hand): nothing to do. AWS answers an
        // unknown policy with a ValidationError, not "not found".
        let Some(p) = self
            .describe(cx, &[id.to_owned()])
            .await?
            .into_iter()
            .next()
        else {
            return Ok(());
        };
        cx.aws
            .autoscaling
            .delete_policy()
            .set_policy_name(p.policy_name().map(str::to_owned))
            .set_auto_scaling_group_name(p.auto_scaling_group_name().map(str::to_owned))
            .send()
            .await?;
        Ok(())
    }

    /// Policies carry no tags; a create whose answer was lost is found by
    /// its group and name, which it was made with.
    async fn find_created(&self, op: Create<'_>) -> ApiResult<Option<String>> {
        self.arn_of(op.cx, op.desired).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::Changes;

    const ARN: &str = "arn:aws:autoscaling:us-east-1:1:scalingPolicy:c322:autoScalingGroupName/web-asg:policyName/out";

    fn described(desired: &Attrs) -> ScalingPolicy {
        ScalingPolicy::builder()
            .policy_arn(ARN)
            .policy_name("out")
            .auto_scaling_group_name("web-asg")
            .set_policy_type(str_attr(desired, "policy_type"))
            .set_adjustment_type(str_attr(desired, "adjustment_type"))
            .set_metric_aggregation_type(str_attr(desired, "metric_aggregation_type"))
            .set_step_adjustments(Some(step_adjustments(desired).unwrap()))
            .set_target_tracking_configuration(desired.get("target_tracking").map(target_tracking))
            .enabled(true)
            .build()
    }

    #[test]
    fn a_step_policy_reads_as_its_inputs() {
        let desired = SCHEMA.with_defaults(&Attrs::from([
            ("name".to_owned(), Value::str("out")),
            ("autoscaling_group_name".to_owned(), Value::str("web-asg")),
            ("policy_type".to_owned(), Value::str("StepScaling")),
            ("adjustment_type".to_owned(), Value::str("ChangeInCapacity")),
            ("metric_aggregation_type".to_owned(), Value::str("Average")),
            (
                "step_adjustments".to_owned(),
                Value::List(vec![
                    table([
                        ("metric_interval_lower_bound", Value::Int(10)),
                        ("scaling_adjustment", Value::Int(2)),
                    ]),
                    table([
                        ("metric_interval_lower_bound", Value::Int(0)),
                        ("metric_interval_upper_bound", Value::Float(10.0)),
                        ("scaling_adjustment", Value::Int(1)),
                    ]),
                ]),
            ),
        ]));
        let live = policy_attrs(&described(&desired));
        let changes = Changes::between(&AutoScalingPolicy, &live, &desired);
        assert!(!changes.fields().any(|f| changes.sets(f)), "{changes:?}");
        for f in SCHEMA.field_names() {
            assert!(live.contains_key(f), "read leaves out {f}");
        }
    }

    #[test]
    fn a_target_tracking_policy_reads_as_its_inputs() {
        let desired = SCHEMA.with_defaults(&Attrs::from([
            ("name".to_owned(), Value::str("out")),
            ("autoscaling_group_name".to_owned(), Value::str("web-asg")),
            (
                "policy_type".to_owned(),
                Value::str("TargetTrackingScaling"),
            ),
            (
                "target_tracking".to_owned(),
                table([
                    (
                        "predefined_metric_type",
                        Value::str("ASGAverageCPUUtilization"),
                    ),
                    ("target_value", Value::Int(50)),
                ]),
            ),
        ]));
        let live = policy_attrs(&described(&desired));
        let changes = Changes::between(&AutoScalingPolicy, &live, &desired);
        assert!(!changes.fields().any(|f| changes.sets(f)), "{changes:?}");
    }

    #[test]
    fn a_policy_arn_names_its_group_and_name() {
        assert_eq!(group_and_name(ARN), Some(("web-asg", "out")));
        assert_eq!(group_and_name("arn:aws:autoscaling:x"), None);
    }

    #[test]
    fn each_policy_type_needs_its_settings() {
        let m = |pairs: &[(&str, Value)]| {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect::<BTreeMap<_, _>>()
        };
        let simple = m(&[("adjustment_type", Value::str("ChangeInCapacity"))]);
        let problems: Vec<_> = RULES
            .iter()
            .filter_map(|r| r.problem(SCHEMA.fields, &simple))
            .collect();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].1.contains("scaling_adjustment"), "{problems:?}");
        let tracking = m(&[("policy_type", Value::str("TargetTrackingScaling"))]);
        let problem = RULES
            .iter()
            .find_map(|r| r.problem(SCHEMA.fields, &tracking));
        assert!(problem.is_some_and(|p| p.1.contains("target_tracking")));
    }
}
