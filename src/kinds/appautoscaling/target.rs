//! `appautoscaling_target`: registers something (an ECS service's desired
//! count) with Application Auto Scaling, between a minimum and a maximum.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_applicationautoscaling::types::ScalableTarget;

use super::{SCALED, parse_target_id, scaled, target_id};
use crate::aws::ApiError;
use crate::kinds::support::{Batch, gone_is_ok, pages, to_i32};
use crate::kinds::{ApiResult, Create, Ctx, Delete, Kind, LiveMap, Timeouts, Update};
use crate::schema::{Field, ID, Schema, Type};
use crate::value::{Attrs, Value};

pub struct AppAutoScalingTarget;

/// DescribeScalableTargets takes at most 50 resource ids per call.
const DESCRIBE_CHUNK: usize = 50;

static SCHEMA: Schema = Schema {
    kind: "appautoscaling_target",
    service: super::SERVICE,
    timeouts: Timeouts::DEFAULT,
    description: "A resource registered with Application Auto Scaling (e.g. an ECS service).",
    fields: &[
        SCALED[0],
        SCALED[1],
        SCALED[2],
        Field::new("min_capacity", Type::Int).required(),
        Field::new("max_capacity", Type::Int).required(),
        ID,
        Field::new("arn", Type::String)
            .computed()
            .doc("The ARN of the scalable target, when AWS gives one."),
    ],
};

fn target_attrs(t: &ScalableTarget) -> Attrs {
    let mut a = Attrs::new();
    a.insert(
        "id".into(),
        Value::str(target_id(
            t.service_namespace(),
            t.resource_id(),
            t.scalable_dimension(),
        )),
    );
    a.insert(
        "service_namespace".into(),
        Value::str(t.service_namespace().as_str()),
    );
    a.insert("resource_id".into(), Value::str(t.resource_id()));
    a.insert(
        "scalable_dimension".into(),
        Value::str(t.scalable_dimension().as_str()),
    );
    a.insert("min_capacity".into(), t.min_capacity().into());
    a.insert("max_capacity".into(), t.max_capacity().into());
    a.insert("arn".into(), t.scalable_target_arn().into());
    a
}

impl AppAutoScalingTarget {
    /// Registering is an upsert: create and update are the same call.
    async fn register(&self, cx: Ctx<'_>, desired: &Attrs) -> ApiResult<String> {
        let (ns, resource, dim) = scaled(desired);
        let int = |f: &str| to_i32(desired.get(f).unwrap_or(&Value::Null), f);
        cx.aws
            .appautoscaling
            .register_scalable_target()
            .service_namespace(ns.clone())
            .resource_id(&resource)
            .scalable_dimension(dim.clone())
            .set_min_capacity(int("min_capacity")?)
            .set_max_capacity(int("max_capacity")?)
            .send()
            .await?;
        Ok(target_id(&ns, &resource, &dim))
    }
}

#[async_trait]
impl Kind for AppAutoScalingTarget {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    /// One DescribeScalableTargets per namespace and 50 resources.
    async fn read_many(&self, cx: Ctx<'_>, ids: &[String]) -> ApiResult<LiveMap> {
        let mut by_ns: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (ns, resource, _) in ids.iter().filter_map(|id| parse_target_id(id)) {
            by_ns
                .entry(ns.as_str().to_owned())
                .or_default()
                .push(resource);
        }
        let mut out = BTreeMap::new();
        for (ns, resources) in &by_ns {
            let targets: Vec<ScalableTarget> = Batch::of(DESCRIBE_CHUNK)
                .read(resources, |chunk| {
                    let call = cx.aws.appautoscaling.describe_scalable_targets();
                    let call = call.service_namespace(ns.as_str().into());
                    async move { pages!(call.set_resource_ids(Some(chunk.to_vec()))) }
                })
                .await?;
            for t in &targets {
                let a = target_attrs(t);
                if let Some(id) = a.get("id").and_then(Value::as_str)
                    && ids.iter().any(|i| i == id)
                {
                    out.insert(id.to_owned(), a);
                }
            }
        }
        Ok(out)
    }

    async fn create(&self, op: Create<'_>) -> ApiResult<String> {
        let Create { cx, desired, .. } = op;
        self.register(cx, desired).await
    }

    async fn update(&self, op: Update<'_>) -> ApiResult<()> {
        let Update { cx, desired, changed, .. } = op;
        if changed.sets("min_capacity") || changed.sets("max_capacity") {
            self.register(cx, desired).await?;
        }
        Ok(())
    }

    /// Deregistering also deletes the target's scaling policies.
    async fn delete(&self, op: Delete<'_>) -> ApiResult<()> {
        let Delete { cx, id, .. } = op;
        let Some((ns, resource, dim)) = parse_target_id(id) else {
            return Err(ApiError::msg(format!("{id:?} is not a scalable target id")));
        };
        gone_is_ok(
            cx.aws
                .appautoscaling
                .deregister_scalable_target()
                .service_namespace(ns)
                .resource_id(resource)
                .scalable_dimension(dim)
                .send()
                .await,
        )
    }

    // No `find_by_address`: targets carry no reconcile tags; a create whose answer was lost is
    // simply made again, which registers the same target (an upsert keyed
    // by namespace, resource and dimension) rather than a second one.
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::Changes;
    use aws_sdk_applicationautoscaling::types::{ScalableDimension, ServiceNamespace};

    #[test]
    fn a_described_target_reads_as_its_inputs_with_the_id_create_returns() {
        let t = ScalableTarget::builder()
            .service_namespace(ServiceNamespace::Ecs)
            .resource_id("service/app/web")
            .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
            .min_capacity(1)
            .max_capacity(4)
            .role_arn("arn:role")
            .creation_time(aws_smithy_types::DateTime::from_secs(0))
            .build()
            .unwrap();
        let a = target_attrs(&t);
        for f in SCHEMA.field_names() {
            assert!(a.contains_key(f), "read leaves out {f}");
        }
        let desired = SCHEMA.with_defaults(&Attrs::from([
            ("resource_id".to_owned(), Value::str("service/app/web")),
            ("min_capacity".to_owned(), Value::Int(1)),
            ("max_capacity".to_owned(), Value::Int(4)),
        ]));
        for f in SCHEMA.inputs() {
            assert!(
                !Changes::between(&AppAutoScalingTarget, &a, &desired).sets(f.name),
                "{}",
                f.name
            );
        }
        let (ns, r, d) = scaled(&desired);
        assert_eq!(a["id"], Value::str(target_id(&ns, &r, &d)));
    }
}
