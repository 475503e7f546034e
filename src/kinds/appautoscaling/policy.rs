//! `appautoscaling_policy`: target tracking on a scalable target — keep a
//! metric (an ECS service's CPU, an ALB's requests per target) at a value.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_applicationautoscaling::types::{
    MetricType, PolicyType, PredefinedMetricSpecification, ScalingPolicy,
    TargetTrackingScalingPolicyConfiguration,
};

use super::{SCALED, policy_namespace, scaled};
use crate::aws::ApiError;
use crate::kinds::support::{Batch, bool_attr, gone_is_ok, pages, str_attr, to_i32};
use crate::kinds::{ApiResult, Create, Ctx, Delete, Kind, LiveMap, Timeouts, Update};
use crate::schema::{Default, Field, ID, Schema, Type};
use crate::value::{Attrs, Value};

pub struct AppAutoScalingPolicy;

/// DescribeScalingPolicies takes at most 50 policy names per call.
const DESCRIBE_CHUNK: usize = 50;

/// Every field a PutScalingPolicy call sends; a change of any is one call.
const POLICY_FIELDS: [&str; 6] = [
    "predefined_metric_type",
    "resource_label",
    "target_value",
    "scale_in_cooldown",
    "scale_out_cooldown",
    "disable_scale_in",
];

static SCHEMA: Schema = Schema {
    kind: "appautoscaling_policy",
    service: super::SERVICE,
    timeouts: Timeouts::DEFAULT,
    description: "A target-tracking scaling policy of a scalable target.",
    fields: &[
        Field::new("name", Type::String)
            .naming(crate::kinds::names::SCALING_POLICY)
            .example("\"cpu-at-60\"")
            .required()
            .force_new(),
        SCALED[0],
        SCALED[1],
        SCALED[2],
        Field::new("predefined_metric_type", Type::String)
            .example("\"ECSServiceAverageCPUUtilization\"")
            .required()
            .doc("e.g. \"ECSServiceAverageCPUUtilization\" or \"ALBRequestCountPerTarget\"."),
        Field::new("resource_label", Type::String)
            .unset_is_null()
            .doc("For ALBRequestCountPerTarget: `app/<lb name>/<id>/targetgroup/<tg name>/<id>`."),
        Field::new("target_value", Type::Int)
            .example("60")
            .required()
            .doc("The value the metric is kept at (a percentage, or requests per target)."),
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
    a.insert(
        "disable_scale_in".into(),
        Value::Bool(t.and_then(aws_sdk_applicationautoscaling::types::TargetTrackingScalingPolicyConfiguration::disable_scale_in).unwrap_or(false)),
    );
    a
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

/// The name at the end of a policy ARN (`…:policyName/<name>`).
fn name_of(arn: &str) -> Option<&str> {
    arn.rsplit_once(":policyName/").map(|(_, n)| n)
}

impl AppAutoScalingPolicy {
    /// The policies with these ARNs: per namespace, by name, matched by ARN.
    async fn describe(&self, cx: Ctx<'_>, arns: &[String]) -> ApiResult<Vec<ScalingPolicy>> {
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
            out.extend(
                found
                    .into_iter()
                    .filter(|p| arns.iter().any(|a| a == p.policy_arn())),
            );
        }
        Ok(out)
    }

    /// PutScalingPolicy is an upsert keyed by name and target.
    async fn put(&self, cx: Ctx<'_>, desired: &Attrs) -> ApiResult<String> {
        let (ns, resource, dim) = scaled(desired);
        let out = cx
            .aws
            .appautoscaling
            .put_scaling_policy()
            .policy_name(str_attr(desired, "name").unwrap_or_default())
            .service_namespace(ns)
            .resource_id(resource)
            .scalable_dimension(dim)
            .policy_type(PolicyType::TargetTrackingScaling)
            .target_tracking_scaling_policy_configuration(configuration(desired)?)
            .send()
            .await?;
        Ok(out.policy_arn().to_owned())
    }
}

#[async_trait]
impl Kind for AppAutoScalingPolicy {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    async fn read_many(&self, cx: Ctx<'_>, ids: &[String]) -> ApiResult<LiveMap> {
        Ok(self
            .describe(cx, ids)
            .await?
            .iter()
            .map(|p| (p.policy_arn().to_owned(), policy_attrs(p)))
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
        let Some(p) = self
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
    }
}
