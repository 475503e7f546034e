//! `ecs_cluster`: a logical group of ECS services and tasks.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_ecs::types::{Cluster, ClusterField, ClusterSetting, ClusterSettingName};

use super::{STRATEGY, last_segment, strategy_items, strategy_value};
use crate::aws::ApiError;
use crate::kinds::support::{
    Batch, Poll, Waiter, bool_attr, create_tags, delete_poll, find_by_address, gone_is_ok, pages,
    present, str_attr, tag_pairs, tags_value, wait_visible,
};
use crate::kinds::{
    ApiResult, Create, Ctx, Delete, Kind, LiveMap, Tagging, Timeouts, Update, default_name,
};
use crate::schema::{Default, Field, ID, Schema, TAGS, Type};
use crate::value::{Attrs, Value};

pub struct EcsCluster;

/// DescribeClusters takes at most 100 clusters per call.
const DESCRIBE_CHUNK: usize = 100;

/// The errors DeleteCluster answers while something still runs in the
/// cluster. Right after a service is deleted it drains for a while, so these
/// named conditions are retried, up to the delete timeout.
const IN_USE: [&str; 3] = [
    "ClusterContainsServicesException",
    "ClusterContainsTasksException",
    "ClusterContainsContainerInstancesException",
];

static SCHEMA: Schema = Schema {
    kind: "ecs_cluster",
    service: super::SERVICE,
    // A delete waits for just-deleted services to finish draining.
    timeouts: Timeouts::minutes(10, 10, 20),
    description: "An ECS cluster: where services and tasks run.",
    fields: &[
        Field::stack_name("name", crate::kinds::names::ECS)
            .doc("The cluster name; by default `<stack>-<resource name>`. Exported too."),
        Field::new("container_insights", Type::Bool)
            .default(Default::Bool(false))
            .doc("Whether CloudWatch Container Insights collects metrics of the cluster."),
        Field::new("capacity_providers", Type::Set(&Type::String))
            .default(Default::EmptyList)
            .doc("Capacity providers the cluster may use, e.g. [\"FARGATE\", \"FARGATE_SPOT\"]."),
        Field::new(
            "default_capacity_provider_strategy",
            Type::List(&Type::Object(STRATEGY)),
        )
        .default(Default::EmptyList)
        .doc("The strategy of services and tasks that name neither a launch type nor a strategy."),
        TAGS,
        ID,
        Field::new("arn", Type::String)
            .computed()
            .doc("The ARN of the cluster (also its id)."),
    ],
};

impl EcsCluster {
    /// The clusters named (ARNs or names), at most `DESCRIBE_CHUNK`, with
    /// their tags and settings, keyed by the id asked for. INACTIVE (deleted)
    /// clusters and clusters AWS reports as missing are absent.
    async fn describe(&self, cx: Ctx<'_>, ids: &[String]) -> ApiResult<BTreeMap<String, Attrs>> {
        let out = describe_clusters(cx, ids).await?;
        Ok(out
            .clusters()
            .iter()
            .filter(|c| c.status() != Some("INACTIVE"))
            .flat_map(|c| {
                let arn = c.cluster_arn().unwrap_or_default();
                let name = c.cluster_name().unwrap_or_default();
                ids.iter()
                    .filter(move |id| id.as_str() == arn || id.as_str() == name)
                    .map(move |id| (id.clone(), cluster_attrs(c)))
            })
            .collect())
    }

    /// Waits until the cluster is ACTIVE (it provisions capacity providers
    /// first), returning its attributes.
    async fn wait_active(&self, cx: Ctx<'_>, arn: &str) -> ApiResult<Attrs> {
        let ids = [arn.to_owned()];
        let what = format!("ECS cluster {arn} to become active");
        wait_visible(cx.timeouts(self).create, &what, || async {
            let out = describe_clusters(cx, &ids).await?;
            Ok(match out.clusters().first().map(|c| (c, c.status())) {
                None => present(None),
                Some((c, Some("ACTIVE"))) => Poll::Ready(cluster_attrs(c)),
                Some((_, Some(s @ ("FAILED" | "INACTIVE")))) => Poll::Failed(s.to_owned()),
                Some((_, s)) => Poll::Pending(format!("{s:?}")),
            })
        })
        .await
    }
}

impl EcsCluster {
    /// Deregisters every container instance of a cluster being deleted
    /// (forced: their tasks, if any, are already orphaned by the delete).
    async fn deregister_instances(&self, cx: Ctx<'_>, id: &str) -> ApiResult<()> {
        let arns = pages!(cx.aws.ecs.list_container_instances().cluster(id))?;
        for arn in arns {
            gone_is_ok(
                cx.aws
                    .ecs
                    .deregister_container_instance()
                    .cluster(id)
                    .container_instance(arn)
                    .force(true)
                    .send()
                    .await,
            )?;
        }
        Ok(())
    }
}

/// One DescribeClusters call, with the tags and settings the attributes
/// need.
async fn describe_clusters(
    cx: Ctx<'_>,
    ids: &[String],
) -> ApiResult<aws_sdk_ecs::operation::describe_clusters::DescribeClustersOutput> {
    Ok(cx
        .aws
        .ecs
        .describe_clusters()
        .set_clusters(Some(ids.to_vec()))
        .include(ClusterField::Tags)
        .include(ClusterField::Settings)
        .send()
        .await?)
}

fn cluster_attrs(c: &Cluster) -> Attrs {
    let arn = c.cluster_arn().unwrap_or_default();
    // "enhanced" observability includes what "enabled" gives.
    let insights = c
        .settings()
        .iter()
        .find(|s| s.name() == Some(&ClusterSettingName::ContainerInsights))
        .and_then(|s| s.value())
        .is_some_and(|v| v == "enabled" || v == "enhanced");
    let mut a = Attrs::new();
    a.insert("id".into(), Value::str(arn));
    a.insert("arn".into(), Value::str(arn));
    a.insert("name".into(), c.cluster_name().into());
    a.insert("container_insights".into(), Value::Bool(insights));
    a.insert(
        "capacity_providers".into(),
        Value::from(c.capacity_providers().to_vec()),
    );
    a.insert(
        "default_capacity_provider_strategy".into(),
        strategy_value(c.default_capacity_provider_strategy()),
    );
    a.insert("tags".into(), tags_value(c.tags()));
    a
}

fn insights_setting(on: bool) -> ClusterSetting {
    ClusterSetting::builder()
        .name(ClusterSettingName::ContainerInsights)
        .value(if on { "enabled" } else { "disabled" })
        .build()
}

/// What one DeleteCluster attempt means for the delete waiter.
fn in_use(e: &ApiError) -> bool {
    e.code.as_deref().is_some_and(|c| IN_USE.contains(&c))
}

#[async_trait]
impl Kind for EcsCluster {
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
        let name = str_attr(desired, "name").unwrap_or_else(|| default_name(cx.stack, address));
        let out = cx
            .aws
            .ecs
            .create_cluster()
            .cluster_name(name)
            .settings(insights_setting(
                bool_attr(desired, "container_insights").unwrap_or(false),
            ))
            .set_capacity_providers(Some(
                desired
                    .get("capacity_providers")
                    .map(Value::str_list)
                    .unwrap_or_default(),
            ))
            .set_default_capacity_provider_strategy(Some(strategy_items(
                desired.get("default_capacity_provider_strategy"),
            )?))
            .set_tags(Some(create_tags(cx, address, desired)?))
            .send()
            .await?;
        let arn = out
            .cluster()
            .and_then(Cluster::cluster_arn)
            .ok_or_else(|| ApiError::msg("CreateCluster returned no ARN"))?
            .to_owned();
        crate::kinds::created(&arn);
        self.wait_active(cx, &arn).await?;
        Ok(arn)
    }

    async fn update(&self, op: Update<'_>) -> ApiResult<()> {
        let Update { cx, id, desired, changed, .. } = op;
        if changed.sets("container_insights") {
            // UpdateCluster takes the same settings as UpdateClusterSettings
            // (which the emulator does not implement).
            cx.aws
                .ecs
                .update_cluster()
                .cluster(id)
                .settings(insights_setting(
                    bool_attr(desired, "container_insights").unwrap_or(false),
                ))
                .send()
                .await?;
        }
        if changed.sets("capacity_providers") || changed.sets("default_capacity_provider_strategy")
        {
            // The call replaces both lists: each is sent in full.
            cx.aws
                .ecs
                .put_cluster_capacity_providers()
                .cluster(id)
                .set_capacity_providers(Some(
                    desired
                        .get("capacity_providers")
                        .map(Value::str_list)
                        .unwrap_or_default(),
                ))
                .set_default_capacity_provider_strategy(Some(strategy_items(
                    desired.get("default_capacity_provider_strategy"),
                )?))
                .send()
                .await?;
            self.wait_active(cx, id).await?;
        }
        Ok(())
    }

    /// Destroy order is service → this cluster → capacity provider → Auto
    /// Scaling group (the reverse of the references). Two things would make
    /// it hang: a capacity provider cannot be deleted while a cluster lists
    /// it, so the association is removed first; and the group's instances
    /// stay registered as container instances until the group (deleted
    /// after the cluster) terminates them, so they are deregistered here
    /// rather than waited for.
    async fn delete(&self, op: Delete<'_>) -> ApiResult<()> {
        let Delete { cx, id, live } = op;
        let timeout = cx.timeouts(self).delete;
        let associated = live
            .get("capacity_providers")
            .is_none_or(|p| !p.as_list().is_empty());
        if associated {
            let detached = cx
                .aws
                .ecs
                .put_cluster_capacity_providers()
                .cluster(id)
                .set_capacity_providers(Some(Vec::new()))
                .set_default_capacity_provider_strategy(Some(Vec::new()))
                .send()
                .await;
            gone_is_ok(detached)?;
        }
        Waiter::new(timeout)
            .until(&format!("ECS cluster {id} to be deleted"), || async {
                let r = cx.aws.ecs.delete_cluster().cluster(id).send().await;
                let outcome = delete_poll(r, in_use)?;
                if matches!(&outcome, Poll::Pending(why) if why.contains(IN_USE[2])) {
                    self.deregister_instances(cx, id).await?;
                }
                Ok(outcome)
            })
            .await?;
        // A cluster with capacity providers deprovisions before it is INACTIVE.
        Waiter::new(timeout)
            .until(&format!("ECS cluster {id} to become inactive"), || async {
                let found = self.describe(cx, &[id.to_owned()]).await;
                Ok(match found {
                    Ok(m) if m.is_empty() => Poll::Ready(()),
                    Err(e) if e.is_not_found() => Poll::Ready(()),
                    Err(e) => return Err(e),
                    Ok(_) => Poll::Pending("DEPROVISIONING".into()),
                })
            })
            .await
    }

    async fn find_by_address(&self, cx: Ctx<'_>, address: &str) -> ApiResult<Option<String>> {
        // ECS has no tag filter: list every cluster, describe them with
        // their tags, keep ours.
        find_by_address(cx, address, |t| async move {
            let arns = pages!(cx.aws.ecs.list_clusters())?;
            let clusters: Vec<Cluster> = Batch::of(DESCRIBE_CHUNK)
                .read(&arns, |chunk| async move {
                    let call = cx.aws.ecs.describe_clusters();
                    let call = call.set_clusters(Some(chunk.to_vec()));
                    let out = call.include(ClusterField::Tags).send().await?;
                    Ok(out.clusters.unwrap_or_default())
                })
                .await?;
            Ok(clusters
                .into_iter()
                .filter(move |c| c.status() != Some("INACTIVE") && t.matches(tag_pairs(c.tags())))
                .filter_map(|c| c.cluster_arn))
        })
        .await
    }
}

/// The name of a cluster given by ARN or name (services and their ids name
/// clusters either way).
pub fn cluster_name(arn_or_name: &str) -> &str {
    last_segment(arn_or_name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delete_outcome(r: ApiResult<()>) -> ApiResult<Poll<()>> {
        delete_poll(r, in_use)
    }
    use aws_sdk_ecs::types::{CapacityProviderStrategyItem, Tag};

    fn err(code: &str) -> ApiError {
        ApiError {
            code: Some(code.into()),
            message: "m".into(),
            class: crate::aws::error::classify_code(code),
        }
    }

    #[test]
    fn a_described_cluster_reads_as_its_inputs() {
        let c = Cluster::builder()
            .cluster_arn("arn:aws:ecs:us-east-1:1:cluster/shop")
            .cluster_name("shop")
            .status("ACTIVE")
            .settings(insights_setting(true))
            .capacity_providers("FARGATE")
            .default_capacity_provider_strategy(
                CapacityProviderStrategyItem::builder()
                    .capacity_provider("FARGATE")
                    .weight(1)
                    .build()
                    .unwrap(),
            )
            .tags(Tag::builder().key("Env").value("prod").build())
            .tags(
                Tag::builder()
                    .key("reconcile:address")
                    .value("ecs_cluster.main")
                    .build(),
            )
            .build();
        let a = cluster_attrs(&c);
        assert_eq!(a["id"], Value::str("arn:aws:ecs:us-east-1:1:cluster/shop"));
        assert_eq!(a["container_insights"], Value::Bool(true));
        assert_eq!(a["capacity_providers"], Value::from(vec!["FARGATE".into()]));
        assert_eq!(a["tags"].str_map().len(), 1);
        let strategy = SCHEMA
            .field("default_capacity_provider_strategy")
            .unwrap()
            .ty
            .normalize(&a["default_capacity_provider_strategy"]);
        assert_eq!(
            strategy.as_list()[0].as_map().unwrap()["weight"],
            Value::Int(1)
        );
    }

    #[test]
    fn missing_or_enhanced_insights_settings_read_as_off_and_on() {
        let bare = Cluster::builder().cluster_arn("a").build();
        assert_eq!(
            cluster_attrs(&bare)["container_insights"],
            Value::Bool(false)
        );
        let enhanced = Cluster::builder()
            .settings(
                ClusterSetting::builder()
                    .name(ClusterSettingName::ContainerInsights)
                    .value("enhanced")
                    .build(),
            )
            .build();
        assert_eq!(
            cluster_attrs(&enhanced)["container_insights"],
            Value::Bool(true)
        );
    }

    #[test]
    fn delete_retries_only_while_services_or_tasks_remain() {
        assert_eq!(delete_outcome(Ok(())).unwrap(), Poll::Ready(()));
        assert_eq!(
            delete_outcome(Err(err("ClusterNotFoundException"))).unwrap(),
            Poll::Ready(())
        );
        for code in IN_USE {
            assert!(matches!(
                delete_outcome(Err(err(code))).unwrap(),
                Poll::Pending(_)
            ));
        }
        assert!(delete_outcome(Err(err("AccessDeniedException"))).is_err());
    }

    #[test]
    fn only_the_name_forces_replacement() {
        assert!(SCHEMA.field("name").unwrap().force_new);
        for f in [
            "container_insights",
            "capacity_providers",
            "default_capacity_provider_strategy",
            "tags",
        ] {
            assert!(!SCHEMA.field(f).unwrap().force_new, "{f}");
        }
        let filled = SCHEMA.with_defaults(&Attrs::new());
        assert_eq!(filled["container_insights"], Value::Bool(false));
        assert!(!filled.contains_key("name"));
    }
}
