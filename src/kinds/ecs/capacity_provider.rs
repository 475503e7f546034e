//! `ecs_capacity_provider`: an Auto Scaling group as ECS capacity, scaled by
//! ECS (managed scaling) to fit the tasks placed on it. A cluster lists it in
//! `capacity_providers`, so the graph orders group → capacity provider →
//! cluster on create, and the reverse on destroy.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_ecs::types::{
    AutoScalingGroupProvider, AutoScalingGroupProviderUpdate, CapacityProvider,
    CapacityProviderField, CapacityProviderStatus, CapacityProviderUpdateStatus, ManagedScaling,
    ManagedScalingStatus, ManagedTerminationProtection,
};

use crate::aws::ApiError;
use crate::kinds::support::{
    Batch, Poll, Waiter, bool_attr, create_tags, delete_poll, int_field, is_ours, str_attr,
    str_field, table, tags_value,
};
use crate::kinds::{ApiResult, Create, Ctx, Delete, Kind, LiveMap, Tagging, Timeouts, Update};
use crate::schema::{Default, Field, ID, Schema, TAGS, Type};
use crate::value::{Attrs, Value};

pub struct EcsCapacityProvider;

/// DescribeCapacityProviders takes at most 100 providers per call.
const DESCRIBE_CHUNK: usize = 100;

const MANAGED_SCALING: &[Field] = &[
    Field::new("status", Type::String)
        .default(Default::Str("ENABLED"))
        .doc("\"ENABLED\": ECS sets the group's desired capacity."),
    Field::new("target_capacity", Type::Int)
        .default(Default::Int(100))
        .doc("The utilization (percent) ECS keeps the group at."),
    Field::new("minimum_scaling_step_size", Type::Int).default(Default::Int(1)),
    Field::new("maximum_scaling_step_size", Type::Int).default(Default::Int(10000)),
    Field::new("instance_warmup_period", Type::Int)
        .default(Default::Int(300))
        .doc("Seconds before a new instance counts in the group's metrics."),
];

static SCHEMA: Schema = Schema {
    kind: "ecs_capacity_provider",
    service: super::SERVICE,
    timeouts: Timeouts::minutes(10, 10, 20),
    description: "An ECS capacity provider backed by an Auto Scaling group.",
    fields: &[
        Field::stack_name("name", crate::kinds::names::ECS)
            .doc("The provider name (what clusters and strategies name); by default `<stack>-<resource name>`. Exported too."),
        Field::new("auto_scaling_group_arn", Type::Arn)
            .example("\"${autoscaling_group.example.arn}\"")
            .required()
            .force_new()
            .doc("The group, e.g. `${autoscaling_group.nodes.arn}`."),
        Field::new("managed_scaling", Type::Object(MANAGED_SCALING))
            .doc("Let ECS scale the group to the tasks placed on it."),
        Field::new("managed_termination_protection", Type::Bool)
            .default(Default::Bool(false))
            .doc("ECS keeps instances running tasks from being scaled in; the group needs `protect_from_scale_in = true`."),
        TAGS,
        ID,
        Field::new("arn", Type::String)
            .computed()
            .doc("The ARN of the provider (also its id)."),
    ],
};

fn provider_attrs(p: &CapacityProvider) -> Attrs {
    let asg = p.auto_scaling_group_provider();
    let arn = p.capacity_provider_arn().unwrap_or_default();
    let mut a = Attrs::new();
    a.insert("id".into(), Value::str(arn));
    a.insert("arn".into(), Value::str(arn));
    a.insert("name".into(), p.name().into());
    a.insert(
        "auto_scaling_group_arn".into(),
        asg.map(AutoScalingGroupProvider::auto_scaling_group_arn)
            .into(),
    );
    a.insert(
        "managed_scaling".into(),
        asg.and_then(AutoScalingGroupProvider::managed_scaling)
            .map_or(Value::Null, |m| {
                table([
                    (
                        "status",
                        m.status()
                            .map(aws_sdk_ecs::types::ManagedScalingStatus::as_str)
                            .into(),
                    ),
                    ("target_capacity", m.target_capacity().into()),
                    (
                        "minimum_scaling_step_size",
                        m.minimum_scaling_step_size().into(),
                    ),
                    (
                        "maximum_scaling_step_size",
                        m.maximum_scaling_step_size().into(),
                    ),
                    ("instance_warmup_period", m.instance_warmup_period().into()),
                ])
            }),
    );
    a.insert(
        "managed_termination_protection".into(),
        Value::Bool(
            asg.and_then(AutoScalingGroupProvider::managed_termination_protection)
                == Some(&ManagedTerminationProtection::Enabled),
        ),
    );
    a.insert("tags".into(), tags_value(p.tags()));
    a
}

fn managed_scaling(desired: &Attrs) -> ApiResult<Option<ManagedScaling>> {
    let Some(m) = desired.get("managed_scaling").filter(|m| !m.is_null()) else {
        return Ok(None);
    };
    // Send the schema's defaults too: AWS's own differ (status DISABLED).
    let m = &Type::Object(MANAGED_SCALING).normalize(m);
    Ok(Some(
        ManagedScaling::builder()
            .set_status(
                str_field(Some(m), "status").map(|s| ManagedScalingStatus::from(s.as_str())),
            )
            .set_target_capacity(int_field(Some(m), "target_capacity")?)
            .set_minimum_scaling_step_size(int_field(Some(m), "minimum_scaling_step_size")?)
            .set_maximum_scaling_step_size(int_field(Some(m), "maximum_scaling_step_size")?)
            .set_instance_warmup_period(int_field(Some(m), "instance_warmup_period")?)
            .build(),
    ))
}

fn termination_protection(desired: &Attrs) -> ManagedTerminationProtection {
    if bool_attr(desired, "managed_termination_protection").unwrap_or(false) {
        ManagedTerminationProtection::Enabled
    } else {
        ManagedTerminationProtection::Disabled
    }
}

/// A provider that is INACTIVE (deleted) or whose delete completed is gone.
fn is_gone(p: &CapacityProvider) -> bool {
    p.status() == Some(&CapacityProviderStatus::Inactive)
        || p.update_status() == Some(&CapacityProviderUpdateStatus::DeleteComplete)
}

/// What one look at a provider being deleted means for the wait.
fn deletion_progress(p: Option<&CapacityProvider>) -> Poll<()> {
    match p {
        None => Poll::Ready(()),
        Some(p) if is_gone(p) => Poll::Ready(()),
        Some(p) if p.update_status() == Some(&CapacityProviderUpdateStatus::DeleteFailed) => {
            Poll::Failed(format!(
                "DELETE_FAILED: {}",
                p.update_status_reason().unwrap_or("AWS gave no reason")
            ))
        }
        Some(p) => Poll::Pending(
            p.update_status()
                .map_or("ACTIVE", CapacityProviderUpdateStatus::as_str)
                .to_owned(),
        ),
    }
}

/// What one DeleteCapacityProvider attempt means: a provider still
/// associated with a cluster (whose update or delete is finishing) is tried
/// again; anything else is final.
fn in_use(e: &ApiError) -> bool {
    e.code.as_deref() == Some("ResourceInUseException") || e.message.contains("in use")
}

impl EcsCapacityProvider {
    /// The providers named (ARNs or names), INACTIVE ones left out, keyed
    /// by the id asked for.
    async fn describe(&self, cx: Ctx<'_>, ids: &[String]) -> ApiResult<BTreeMap<String, Attrs>> {
        Ok(self
            .describe_raw(cx, ids)
            .await?
            .iter()
            .filter(|p| !is_gone(p))
            .flat_map(|p| {
                let arn = p.capacity_provider_arn().unwrap_or_default();
                let name = p.name().unwrap_or_default();
                ids.iter()
                    .filter(move |id| id.as_str() == arn || id.as_str() == name)
                    .map(move |id| (id.clone(), provider_attrs(p)))
            })
            .collect())
    }

    async fn describe_raw(&self, cx: Ctx<'_>, ids: &[String]) -> ApiResult<Vec<CapacityProvider>> {
        let out = cx
            .aws
            .ecs
            .describe_capacity_providers()
            .set_capacity_providers(Some(ids.to_vec()))
            .include(CapacityProviderField::Tags)
            .send()
            .await?;
        Ok(out.capacity_providers().to_vec())
    }

    /// The provider called `name`, when it is this address's.
    async fn find_named(
        &self,
        cx: Ctx<'_>,
        address: &str,
        name: &str,
    ) -> ApiResult<Option<String>> {
        Ok(self
            .describe_raw(cx, &[name.to_owned()])
            .await?
            .iter()
            .filter(|p| !is_gone(p))
            .find(|p| is_ours(cx, address, p.tags()))
            .and_then(CapacityProvider::capacity_provider_arn)
            .map(str::to_owned))
    }
}

#[async_trait]
impl Kind for EcsCapacityProvider {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    fn tagging(&self) -> Option<Tagging> {
        Some(Tagging::by_id(&super::EcsTags))
    }

    async fn read_many(&self, cx: Ctx<'_>, ids: &[String]) -> ApiResult<LiveMap> {
        Batch::of(DESCRIBE_CHUNK)
            .read(ids, |chunk| self.describe(cx, chunk))
            .await
    }

    async fn create(&self, op: Create<'_>) -> ApiResult<String> {
        let Create { cx, address, desired } = op;
        let name = str_attr(desired, "name")
            .unwrap_or_else(|| crate::kinds::default_name(cx.stack, address));
        let provider = AutoScalingGroupProvider::builder()
            .auto_scaling_group_arn(str_attr(desired, "auto_scaling_group_arn").unwrap_or_default())
            .set_managed_scaling(managed_scaling(desired)?)
            .managed_termination_protection(termination_protection(desired))
            .build()
            .map_err(|e| ApiError::msg(e.to_string()))?;
        let out = cx
            .aws
            .ecs
            .create_capacity_provider()
            .name(&name)
            .auto_scaling_group_provider(provider)
            .set_tags(Some(create_tags(cx, address, desired)?))
            .send()
            .await?;
        out.capacity_provider()
            .and_then(CapacityProvider::capacity_provider_arn)
            .map(str::to_owned)
            .ok_or_else(|| ApiError::msg("CreateCapacityProvider returned no ARN"))
    }

    async fn update(&self, op: Update<'_>) -> ApiResult<()> {
        let Update { cx, id, desired, changed, .. } = op;
        if changed.sets("managed_scaling") || changed.sets("managed_termination_protection") {
            cx.aws
                .ecs
                .update_capacity_provider()
                .name(super::last_segment(id))
                .auto_scaling_group_provider(
                    AutoScalingGroupProviderUpdate::builder()
                        .set_managed_scaling(managed_scaling(desired)?)
                        .managed_termination_protection(termination_protection(desired))
                        .build(),
                )
                .send()
                .await?;
            Waiter::new(cx.timeouts(self).update)
                .until(
                    &format!("ECS capacity provider {id} to be updated"),
                    || async {
                        let found = self.describe_raw(cx, &[id.to_owned()]).await?;
                        Ok(match found.first().and_then(|p| p.update_status()) {
                            Some(CapacityProviderUpdateStatus::UpdateFailed) => {
                                Poll::Failed("UPDATE_FAILED".into())
                            }
                            Some(CapacityProviderUpdateStatus::UpdateInProgress) => {
                                Poll::Pending("UPDATE_IN_PROGRESS".into())
                            }
                            _ => Poll::Ready(()),
                        })
                    },
                )
                .await?;
        }
        Ok(())
    }

    /// The cluster that listed this provider was deleted (or updated)
    /// before, as it depends on it, so the provider is free. The delete
    /// waits until the provider is really gone (INACTIVE): while it is
    /// DELETE_IN_PROGRESS, ECS still manages its group — scales it and
    /// protects its instances — and the group's delete that follows would
    /// fight it, the hang known from other tools.
    async fn delete(&self, op: Delete<'_>) -> ApiResult<()> {
        let Delete { cx, id, .. } = op;
        let timeout = cx.timeouts(self).delete;
        // Look first: the emulator answers HTTP 500 for an unknown provider.
        let present = self.describe_raw(cx, &[id.to_owned()]).await?;
        if present.first().is_none_or(is_gone) {
            return Ok(());
        }
        Waiter::new(timeout)
            .until(
                &format!("ECS capacity provider {id} to accept its deletion"),
                || async {
                    let r = cx
                        .aws
                        .ecs
                        .delete_capacity_provider()
                        .capacity_provider(id)
                        .send()
                        .await;
                    delete_poll(r, in_use)
                },
            )
            .await?;
        Waiter::new(timeout)
            .until(
                &format!("ECS capacity provider {id} to become inactive"),
                || async {
                    let found = self.describe_raw(cx, &[id.to_owned()]).await?;
                    Ok(deletion_progress(found.first()))
                },
            )
            .await
    }

    async fn find_by_address(&self, cx: Ctx<'_>, address: &str) -> ApiResult<Option<String>> {
        // Names are unique in the account: a provider named in the desired
        // state cannot be made twice (the second create fails and
        // `find_created` adopts the first). One made under the default
        // name is found by it; no listing of every provider is needed.
        self.find_named(cx, address, &crate::kinds::default_name(cx.stack, address))
            .await
    }

    async fn find_created(&self, op: Create<'_>) -> ApiResult<Option<String>> {
        let Create { cx, address, desired } = op;
        match str_attr(desired, "name") {
            Some(name) => self.find_named(cx, address, &name).await,
            None => self.find_by_address(cx, address).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delete_outcome(r: ApiResult<()>) -> ApiResult<Poll<()>> {
        delete_poll(r, in_use)
    }
    use crate::kinds::Changes;

    fn provider(update: Option<CapacityProviderUpdateStatus>) -> CapacityProvider {
        CapacityProvider::builder()
            .capacity_provider_arn("arn:aws:ecs:us-east-1:1:capacity-provider/app")
            .name("app")
            .status(CapacityProviderStatus::Active)
            .set_update_status(update)
            .auto_scaling_group_provider(
                AutoScalingGroupProvider::builder()
                    .auto_scaling_group_arn("arn:asg")
                    .managed_scaling(
                        ManagedScaling::builder()
                            .status(ManagedScalingStatus::Enabled)
                            .target_capacity(80)
                            .minimum_scaling_step_size(1)
                            .maximum_scaling_step_size(10000)
                            .instance_warmup_period(300)
                            .build(),
                    )
                    .managed_termination_protection(ManagedTerminationProtection::Enabled)
                    .build()
                    .unwrap(),
            )
            .build()
    }

    #[test]
    fn a_described_provider_reads_as_its_inputs() {
        let a = provider_attrs(&provider(None));
        for f in SCHEMA.field_names() {
            assert!(a.contains_key(f), "read leaves out {f}");
        }
        let desired = SCHEMA.with_defaults(&Attrs::from([
            ("name".to_owned(), Value::str("app")),
            ("auto_scaling_group_arn".to_owned(), Value::str("arn:asg")),
            (
                "managed_scaling".to_owned(),
                table([("target_capacity", Value::Int(80))]),
            ),
            (
                "managed_termination_protection".to_owned(),
                Value::Bool(true),
            ),
        ]));
        for f in SCHEMA.inputs() {
            assert!(
                !Changes::between(&EcsCapacityProvider, &a, &desired).sets(f.name),
                "{}",
                f.name
            );
        }
    }

    #[test]
    fn the_delete_waits_until_the_provider_is_inactive() {
        assert!(matches!(
            deletion_progress(Some(&provider(Some(
                CapacityProviderUpdateStatus::DeleteInProgress
            )))),
            Poll::Pending(s) if s == "DELETE_IN_PROGRESS"
        ));
        assert_eq!(
            deletion_progress(Some(&provider(Some(
                CapacityProviderUpdateStatus::DeleteComplete
            )))),
            Poll::Ready(())
        );
        let inactive = CapacityProvider::builder()
            .status(CapacityProviderStatus::Inactive)
            .build();
        assert_eq!(deletion_progress(Some(&inactive)), Poll::Ready(()));
        assert_eq!(deletion_progress(None), Poll::Ready(()));
        assert!(matches!(
            deletion_progress(Some(&provider(Some(
                CapacityProviderUpdateStatus::DeleteFailed
            )))),
            Poll::Failed(_)
        ));
    }

    #[test]
    fn a_provider_still_in_use_is_deleted_again_later() {
        let in_use = ApiError {
            code: Some("ResourceInUseException".into()),
            message: "The specified capacity provider is in use and cannot be removed.".into(),
            class: crate::aws::ErrorClass::Other,
        };
        assert!(matches!(delete_outcome(Err(in_use)), Ok(Poll::Pending(_))));
        assert!(delete_outcome(Err(ApiError::msg("AccessDenied"))).is_err());
        assert_eq!(delete_outcome(Ok(())).unwrap(), Poll::Ready(()));
    }
}
