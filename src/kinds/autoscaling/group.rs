//! `autoscaling_group`: EC2 instances kept at a size, launched from a launch
//! template (the capacity of an EC2-backed ECS cluster).

use std::collections::BTreeMap;
use std::future::Future;

use async_trait::async_trait;
use aws_sdk_autoscaling::types::{
    AutoScalingGroup, Filter, InstanceRefreshStatus, LaunchTemplateSpecification, LifecycleHook,
    LifecycleHookSpecification, RefreshPreferences,
};

use super::{group_tag, group_tags, tag};
use crate::aws::ApiError;
use crate::kinds::default_name;
use crate::kinds::support::{
    Batch, Poll, Waiter, bool_attr, find_by_address, int_field, pages, str_attr, str_field, table,
    tag_pairs, tags_value, to_i32,
};
use crate::kinds::{ApiResult, Changes, Create, Ctx, Delete, Kind, LiveMap, Timeouts, Update};
use crate::schema::{Default, Field, ID, Schema, TAGS, Type};
use crate::value::{Attrs, Value};

pub struct AutoScalingGroupKind;

/// DescribeAutoScalingGroups pages hold at most 100 groups; names are sent
/// in chunks of that size.
const DESCRIBE_CHUNK: usize = 100;
/// SetInstanceProtection takes at most 50 instances per call.
const PROTECTION_CHUNK: usize = 50;
/// The tag that remembers `instance_refresh` on the group itself, so that
/// the setting reads back like any other attribute.
const REFRESH_TAG: &str = "reconcile:instance-refresh-min-healthy";
/// Set while an instance refresh is owed: from just before the group moves
/// to a new launch template until the refresh has started. While it is
/// there `instance_refresh_owed` reads as true (desired: false), so a run
/// that failed in between plans an update that says so, which starts the
/// refresh then.
const OWED_TAG: &str = "reconcile:instance-refresh-owed";

const LAUNCH_TEMPLATE: &[Field] = &[
    Field::new("id", Type::String)
        .example("\"${launch_template.example.id}\"")
        .required()
        .doc("The launch template id, e.g. `${launch_template.node.id}`."),
    Field::new("version", Type::String)
        .default(Default::Str("$Default"))
        .doc("\"$Default\", \"$Latest\" or a number, e.g. `${launch_template.node.latest_version}` (which also starts an instance refresh when it changes)."),
];

const REFRESH: &[Field] = &[Field::new("min_healthy_percent", Type::Int)
    .default(Default::Int(90))
    .doc("The share of capacity that stays in service while instances are replaced.")];

const HOOK: &[Field] = &[
    Field::new("name", Type::String).required(),
    Field::new("lifecycle_transition", Type::String)
        .required()
        .doc("\"autoscaling:EC2_INSTANCE_LAUNCHING\" or \"autoscaling:EC2_INSTANCE_TERMINATING\"."),
    Field::new("heartbeat_timeout", Type::Int)
        .default(Default::Int(3600))
        .doc("Seconds an instance waits in the hook before the default result applies."),
    Field::new("default_result", Type::String)
        .default(Default::Str("ABANDON"))
        .doc("\"CONTINUE\" or \"ABANDON\"."),
];

static SCHEMA: Schema = Schema {
    kind: "autoscaling_group",
    service: super::SERVICE,
    // Instances take minutes to launch, and to drain on delete (lifecycle
    // hooks, ECS tasks moving away).
    timeouts: Timeouts::minutes(10, 10, 20),
    description: "An EC2 Auto Scaling group launched from a launch template.",
    fields: &[
        Field::stack_name("name", crate::kinds::names::AUTO_SCALING_GROUP)
            .doc("The group name (also its id); by default `<stack>-<resource name>`."),
        Field::new("min_size", Type::Int).required(),
        Field::new("max_size", Type::Int).required(),
        Field::new("desired_capacity", Type::Int)
            .doc("The size to keep; the minimum when unset. Leave unset when an ECS capacity provider with managed scaling sizes the group: it owns the field, the live value is kept within min_size..max_size, and `validate` warns."),
        Field::new("subnet_ids", Type::Set(&Type::String))
            .required()
            .doc("The subnets instances launch in (VPCZoneIdentifier)."),
        Field::new("launch_template", Type::Object(LAUNCH_TEMPLATE)).required(),
        Field::new("target_group_arns", Type::Set(&Type::Arn)).default(Default::EmptyList),
        Field::new("health_check_type", Type::String)
            .default(Default::Str("EC2"))
            .doc("\"EC2\" or \"ELB\"."),
        Field::new("health_check_grace_period", Type::Int)
            .default(Default::Int(300))
            .doc("Seconds after launch before health checks count."),
        Field::new("protect_from_scale_in", Type::Bool)
            .default(Default::Bool(false))
            .doc("New instances are protected from scale-in (needed by an ECS capacity provider's managed termination protection)."),
        Field::new("instance_refresh", Type::Object(REFRESH))
            .unset_is_null()
            .doc("Replace instances when the launch template (or its version) changes."),
        Field::new("instance_refresh_owed", Type::Bool)
            .default(Default::Bool(false))
            .doc("Read back, not to be set: true while an instance refresh is owed (the group moved to a new launch template but the refresh could not start, e.g. on an endpoint that lacks StartInstanceRefresh). The plan then shows `instance_refresh_owed = true -> false` and the next apply starts the refresh."),
        Field::new("lifecycle_hooks", Type::Set(&Type::Object(HOOK))).default(Default::EmptyList),
        Field::new("propagate_tags_at_launch", Type::Bool)
            .default(Default::Bool(true))
            .doc("Whether the user tags are copied to the instances."),
        TAGS,
        ID,
        Field::new("arn", Type::String)
            .computed()
            .doc("The group's ARN (what an ECS capacity provider takes)."),
    ],
};

/// A group's attributes from its description and its hooks.
fn group_attrs(g: &AutoScalingGroup, hooks: &[LifecycleHook]) -> Attrs {
    let mut a = Attrs::new();
    let name = g.auto_scaling_group_name().unwrap_or_default();
    a.insert("id".into(), Value::str(name));
    a.insert("name".into(), Value::str(name));
    a.insert("arn".into(), g.auto_scaling_group_arn().into());
    a.insert("min_size".into(), g.min_size().into());
    a.insert("max_size".into(), g.max_size().into());
    a.insert("desired_capacity".into(), g.desired_capacity().into());
    let subnets: Vec<String> = g
        .vpc_zone_identifier()
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    a.insert("subnet_ids".into(), Value::from(subnets));
    a.insert(
        "launch_template".into(),
        g.launch_template().map_or(Value::Null, |t| {
            table([
                ("id", t.launch_template_id().into()),
                ("version", t.version().unwrap_or("$Default").into()),
            ])
        }),
    );
    a.insert(
        "target_group_arns".into(),
        Value::from(g.target_group_arns().to_vec()),
    );
    a.insert("health_check_type".into(), g.health_check_type().into());
    a.insert(
        "health_check_grace_period".into(),
        g.health_check_grace_period().into(),
    );
    a.insert(
        "protect_from_scale_in".into(),
        Value::Bool(g.new_instances_protected_from_scale_in().unwrap_or(false)),
    );
    a.insert(
        "instance_refresh".into(),
        tag(g.tags(), REFRESH_TAG)
            .and_then(|v| v.parse::<i64>().ok())
            .map_or(Value::Null, |p| {
                table([("min_healthy_percent", Value::Int(p))])
            }),
    );
    a.insert(
        "instance_refresh_owed".into(),
        Value::Bool(tag(g.tags(), OWED_TAG).is_some()),
    );
    a.insert("lifecycle_hooks".into(), hooks_value(hooks));
    let user: Vec<_> = g
        .tags()
        .iter()
        .filter(|t| !t.key().unwrap_or_default().starts_with("reconcile:"))
        .collect();
    a.insert(
        "propagate_tags_at_launch".into(),
        Value::Bool(user.iter().all(|t| t.propagate_at_launch() != Some(false))),
    );
    a.insert("tags".into(), tags_value(g.tags()));
    a
}

/// Lifecycle hooks as the `lifecycle_hooks` attribute.
fn hooks_value(hooks: &[LifecycleHook]) -> Value {
    Value::List(
        hooks
            .iter()
            .map(|h| {
                table([
                    ("name", h.lifecycle_hook_name().into()),
                    ("lifecycle_transition", h.lifecycle_transition().into()),
                    ("heartbeat_timeout", h.heartbeat_timeout().into()),
                    ("default_result", h.default_result().into()),
                ])
            })
            .collect(),
    )
}

/// The launch template of the desired group, as the API takes it.
fn launch_template(desired: &Attrs) -> LaunchTemplateSpecification {
    let t = desired.get("launch_template");
    LaunchTemplateSpecification::builder()
        .set_launch_template_id(str_field(t, "id"))
        .version(str_field(t, "version").unwrap_or_else(|| "$Default".into()))
        .build()
}

fn subnets(desired: &Attrs) -> Option<String> {
    desired.get("subnet_ids").map(|s| s.str_list().join(","))
}

fn int(desired: &Attrs, name: &str) -> ApiResult<Option<i32>> {
    to_i32(desired.get(name).unwrap_or(&Value::Null), name)
}

/// The desired hooks, keyed by name.
fn hooks(desired: &Attrs) -> BTreeMap<String, Value> {
    let ty = SCHEMA.field("lifecycle_hooks").map(|f| f.ty);
    desired
        .get("lifecycle_hooks")
        .map(Value::as_list)
        .unwrap_or_default()
        .iter()
        .filter_map(|h| {
            let h = match ty {
                Some(crate::schema::Type::Set(t)) => t.normalize(h),
                _ => h.clone(),
            };
            Some((str_field(Some(&h), "name")?, h))
        })
        .collect()
}

fn hook_spec(h: &Value) -> ApiResult<LifecycleHookSpecification> {
    Ok(LifecycleHookSpecification::builder()
        .set_lifecycle_hook_name(str_field(Some(h), "name"))
        .set_lifecycle_transition(str_field(Some(h), "lifecycle_transition"))
        .set_heartbeat_timeout(int_field(Some(h), "heartbeat_timeout")?)
        .set_default_result(str_field(Some(h), "default_result"))
        .build())
}

fn refresh_percent(desired: &Attrs) -> ApiResult<Option<i32>> {
    match desired.get("instance_refresh") {
        None | Some(Value::Null) => Ok(None),
        Some(r) => Ok(Some(
            int_field(Some(r), "min_healthy_percent")?.unwrap_or(90),
        )),
    }
}

/// What one look at a group being scaled to zero means for the delete.
fn drain_progress(g: Option<&AutoScalingGroup>) -> Poll<()> {
    match g {
        None => Poll::Ready(()),
        Some(g) if g.instances().is_empty() => Poll::Ready(()),
        Some(g) => {
            let states: Vec<&str> = g
                .instances()
                .iter()
                .map(|i| i.lifecycle_state().map_or("unknown", |s| s.as_str()))
                .collect();
            Poll::Pending(format!(
                "{} instance(s) left: {}",
                states.len(),
                states.join(", ")
            ))
        }
    }
}

/// What one look at a group being deleted means: gone, or still there
/// ("Delete in progress").
fn gone_progress(g: Option<&AutoScalingGroup>) -> Poll<()> {
    match g {
        None => Poll::Ready(()),
        Some(g) => Poll::Pending(g.status().unwrap_or("exists").to_owned()),
    }
}

/// Waits until `describe` shows the group with no instance left.
/// `describe` answers None once the group is gone.
async fn wait_drained<F, Fut>(waiter: Waiter, name: &str, mut describe: F) -> ApiResult<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ApiResult<Option<AutoScalingGroup>>>,
{
    waiter
        .until(
            &format!("Auto Scaling group {name} to terminate its instances"),
            || {
                let look = describe();
                async move { Ok(drain_progress(look.await?.as_ref())) }
            },
        )
        .await
}

/// What one DeleteAutoScalingGroup attempt means: done, or to try again
/// while a scaling activity (the scale-in just asked for) still runs.
fn delete_outcome(r: ApiResult<()>) -> ApiResult<Poll<()>> {
    match r {
        Ok(()) => Ok(Poll::Ready(())),
        Err(e) if e.is_not_found() || e.message.contains("not found") => Ok(Poll::Ready(())),
        Err(e)
            if matches!(
                e.code.as_deref(),
                Some("ScalingActivityInProgress" | "ResourceInUse")
            ) =>
        {
            Ok(Poll::Pending(e.to_string()))
        }
        Err(e) => Err(e),
    }
}

impl AutoScalingGroupKind {
    async fn describe(
        &self,
        cx: Ctx<'_>,
        names: Option<&[String]>,
        filters: Vec<Filter>,
    ) -> ApiResult<Vec<AutoScalingGroup>> {
        let call = cx.aws.autoscaling.describe_auto_scaling_groups();
        pages!(
            call.set_auto_scaling_group_names(names.map(<[String]>::to_vec))
                .set_filters(Some(filters).filter(|f| !f.is_empty()))
        )
    }

    /// One group, None when it does not exist.
    async fn one(&self, cx: Ctx<'_>, name: &str) -> ApiResult<Option<AutoScalingGroup>> {
        Ok(self
            .describe(cx, Some(&[name.to_owned()]), Vec::new())
            .await?
            .into_iter()
            .find(|g| g.auto_scaling_group_name() == Some(name)))
    }

    async fn hooks_of(&self, cx: Ctx<'_>, name: &str) -> ApiResult<Vec<LifecycleHook>> {
        Ok(cx
            .aws
            .autoscaling
            .describe_lifecycle_hooks()
            .auto_scaling_group_name(name)
            .send()
            .await?
            .lifecycle_hooks()
            .to_vec())
    }

    /// Puts the hooks that differ, deletes the ones no longer wanted.
    async fn sync_hooks(
        &self,
        cx: Ctx<'_>,
        name: &str,
        live: &Attrs,
        desired: &Attrs,
    ) -> ApiResult<()> {
        let before = hooks(live);
        let after = hooks(desired);
        for (hook, h) in &after {
            if before.get(hook) == Some(h) {
                continue;
            }
            cx.aws
                .autoscaling
                .put_lifecycle_hook()
                .auto_scaling_group_name(name)
                .lifecycle_hook_name(hook)
                .set_lifecycle_transition(str_field(Some(h), "lifecycle_transition"))
                .set_heartbeat_timeout(int_field(Some(h), "heartbeat_timeout")?)
                .set_default_result(str_field(Some(h), "default_result"))
                .send()
                .await?;
        }
        for hook in before.keys().filter(|h| !after.contains_key(*h)) {
            crate::aws::error::gone_is_ok(
                cx.aws
                    .autoscaling
                    .delete_lifecycle_hook()
                    .auto_scaling_group_name(name)
                    .lifecycle_hook_name(hook)
                    .send()
                    .await,
            )?;
        }
        Ok(())
    }

    /// Starts replacing the instances. A refresh still running from an
    /// earlier change is cancelled first: AWS allows one at a time, and the
    /// newest launch template is the one wanted.
    async fn start_refresh(&self, cx: Ctx<'_>, name: &str, percent: i32) -> ApiResult<()> {
        let start = || {
            cx.aws
                .autoscaling
                .start_instance_refresh()
                .auto_scaling_group_name(name)
                .preferences(
                    RefreshPreferences::builder()
                        .min_healthy_percentage(percent)
                        .build(),
                )
                .send()
        };
        match start().await.map_err(ApiError::from) {
            Ok(_) => return Ok(()),
            Err(e) if e.code.as_deref() == Some("InstanceRefreshInProgress") => {}
            Err(e) => return Err(e),
        }
        crate::aws::error::gone_is_ok(
            cx.aws
                .autoscaling
                .cancel_instance_refresh()
                .auto_scaling_group_name(name)
                .send()
                .await,
        )?;
        Waiter::new(cx.timeouts(self).update)
            .until(
                &format!("the instance refresh of {name} to be cancelled"),
                || async {
                    let out = cx
                        .aws
                        .autoscaling
                        .describe_instance_refreshes()
                        .auto_scaling_group_name(name)
                        .send()
                        .await?;
                    let running = out.instance_refreshes().iter().find(|r| {
                        matches!(
                            r.status(),
                            Some(
                                InstanceRefreshStatus::Pending
                                    | InstanceRefreshStatus::InProgress
                                    | InstanceRefreshStatus::Cancelling
                            )
                        )
                    });
                    Ok(match running.and_then(|r| r.status()) {
                        Some(s) => Poll::Pending(s.as_str().to_owned()),
                        None => Poll::Ready(()),
                    })
                },
            )
            .await?;
        start().await?;
        Ok(())
    }

    /// Brings the `reconcile:instance-refresh…` tag to the desired setting.
    async fn sync_refresh_tag(&self, cx: Ctx<'_>, name: &str, desired: &Attrs) -> ApiResult<()> {
        match refresh_percent(desired)? {
            Some(p) => {
                cx.aws
                    .autoscaling
                    .create_or_update_tags()
                    .tags(group_tag(name, REFRESH_TAG, &p.to_string(), false))
                    .send()
                    .await?;
            }
            None => {
                cx.aws
                    .autoscaling
                    .delete_tags()
                    .tags(group_tag(name, REFRESH_TAG, "", false))
                    .send()
                    .await?;
            }
        }
        Ok(())
    }
}

#[async_trait]
impl Kind for AutoScalingGroupKind {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    /// One DescribeAutoScalingGroups per 100 groups, then the lifecycle
    /// hooks of each group (the API has no batched form), concurrently.
    async fn read_many(&self, cx: Ctx<'_>, ids: &[String]) -> ApiResult<LiveMap> {
        let groups: Vec<_> = Batch::of(DESCRIBE_CHUNK)
            .read(ids, |chunk| self.describe(cx, Some(chunk), Vec::new()))
            .await?;
        let reads = groups.iter().map(|g| async move {
            let name = g.auto_scaling_group_name().unwrap_or_default();
            let hooks = self.hooks_of(cx, name).await?;
            Ok::<_, ApiError>((name.to_owned(), group_attrs(g, &hooks)))
        });
        Ok(futures::future::try_join_all(reads)
            .await?
            .into_iter()
            .collect())
    }

    async fn create(&self, op: Create<'_>) -> ApiResult<String> {
        let Create { cx, address, desired } = op;
        let name = str_attr(desired, "name").unwrap_or_else(|| default_name(cx.stack, address));
        let mut tags = group_tags(cx, &name, address, desired);
        if let Some(p) = refresh_percent(desired)? {
            tags.push(group_tag(&name, REFRESH_TAG, &p.to_string(), false));
        }
        let specs = hooks(desired)
            .values()
            .map(hook_spec)
            .collect::<Result<Vec<_>, _>>()?;
        cx.aws
            .autoscaling
            .create_auto_scaling_group()
            .auto_scaling_group_name(&name)
            .set_min_size(int(desired, "min_size")?)
            .set_max_size(int(desired, "max_size")?)
            .set_desired_capacity(int(desired, "desired_capacity")?)
            .set_vpc_zone_identifier(subnets(desired))
            .launch_template(launch_template(desired))
            .set_target_group_arns(desired.get("target_group_arns").map(Value::str_list))
            .set_health_check_type(str_attr(desired, "health_check_type"))
            .set_health_check_grace_period(int(desired, "health_check_grace_period")?)
            .new_instances_protected_from_scale_in(
                bool_attr(desired, "protect_from_scale_in").unwrap_or(false),
            )
            .set_lifecycle_hook_specification_list(Some(specs).filter(|s| !s.is_empty()))
            .set_tags(Some(tags))
            .send()
            .await?;
        crate::kinds::created(&name);
        // An API (or emulator) that ignored the hook list gets them now.
        let live = Attrs::from([(
            "lifecycle_hooks".to_owned(),
            hooks_value(&self.hooks_of(cx, &name).await?),
        )]);
        self.sync_hooks(cx, &name, &live, desired).await?;
        // Usable once the minimum is in service, as dependents (an ECS
        // capacity provider, a service) expect running capacity.
        let min = int(desired, "min_size")?.unwrap_or(0);
        let min = usize::try_from(min).unwrap_or(0);
        Waiter::new(cx.timeouts(self).create)
            .until(
                &format!("Auto Scaling group {name} to have {min} instance(s) in service"),
                || async {
                    let g = self.one(cx, &name).await?;
                    let in_service = g.as_ref().map_or(0, |g| {
                        g.instances()
                            .iter()
                            .filter(|i| {
                                i.lifecycle_state()
                                    .map(aws_sdk_autoscaling::types::LifecycleState::as_str)
                                    == Some("InService")
                            })
                            .count()
                    });
                    Ok(if in_service >= min {
                        Poll::Ready(())
                    } else {
                        Poll::Pending(format!("{in_service} in service"))
                    })
                },
            )
            .await?;
        Ok(name)
    }

    async fn update(&self, op: Update<'_>) -> ApiResult<()> {
        let Update { cx, id, live, desired, changed, .. } = op;
        let template_changed = changed.sets("launch_template");
        let refresh = refresh_percent(desired)?;
        // Whether a refresh failed to start after an earlier move.
        let owed = bool_attr(live, "instance_refresh_owed") == Some(true);
        if template_changed && refresh.is_some() {
            cx.aws
                .autoscaling
                .create_or_update_tags()
                .tags(group_tag(id, OWED_TAG, "true", false))
                .send()
                .await?;
        }
        if changed.sets_any(&GROUP_FIELDS) {
            update_group(cx, id, desired, changed).await?;
        }
        if changed.sets("target_group_arns") {
            sync_target_groups(cx, id, live, desired).await?;
        }
        if changed.sets("lifecycle_hooks") {
            self.sync_hooks(cx, id, live, desired).await?;
        }
        if changed.sets_any(&["tags", "propagate_tags_at_launch"]) {
            // A change of propagation rewrites every tag.
            let all = changed.sets("propagate_tags_at_launch");
            sync_group_tags(cx, id, live, desired, all).await?;
        }
        if changed.has("instance_refresh") {
            self.sync_refresh_tag(cx, id, desired).await?;
        }
        // New launch template (or version): replace the running instances.
        if let Some(p) = refresh.filter(|_| template_changed || owed) {
            self.start_refresh(cx, id, p).await.map_err(|e| ApiError {
                message: format!("starting an instance refresh of {id}: {}", e.message),
                ..e
            })?;
        }
        // Started, or no longer wanted: nothing is owed.
        if owed || (template_changed && refresh.is_some()) {
            cx.aws
                .autoscaling
                .delete_tags()
                .tags(group_tag(id, OWED_TAG, "", false))
                .send()
                .await?;
        }
        Ok(())
    }

    /// Scale-in protection (which an ECS capacity provider's managed
    /// termination protection sets) would keep instances forever, and a
    /// group cannot be deleted while it has instances: protection is lifted,
    /// the group scaled to zero, and the delete waits until every instance
    /// is gone. Only if they do not go within the timeout (a stuck lifecycle
    /// hook) is the group force-deleted, which terminates them without
    /// waiting for hooks.
    async fn delete(&self, op: Delete<'_>) -> ApiResult<()> {
        let Delete { cx, id, .. } = op;
        let Some(g) = self.one(cx, id).await? else {
            return Ok(());
        };
        let timeout = cx.timeouts(self).delete;
        if g.status().is_none() {
            let protected: Vec<String> = g
                .instances()
                .iter()
                .filter(|i| i.protected_from_scale_in() == Some(true))
                .filter_map(|i| i.instance_id().map(str::to_owned))
                .collect();
            // Protection first: a scale-in skips protected instances and
            // is not retried once they are unprotected.
            cx.aws
                .autoscaling
                .update_auto_scaling_group()
                .auto_scaling_group_name(id)
                .new_instances_protected_from_scale_in(false)
                .send()
                .await?;
            for chunk in protected.chunks(PROTECTION_CHUNK) {
                cx.aws
                    .autoscaling
                    .set_instance_protection()
                    .auto_scaling_group_name(id)
                    .set_instance_ids(Some(chunk.to_vec()))
                    .protected_from_scale_in(false)
                    .send()
                    .await?;
            }
            cx.aws
                .autoscaling
                .update_auto_scaling_group()
                .auto_scaling_group_name(id)
                .min_size(0)
                .max_size(0)
                .desired_capacity(0)
                .send()
                .await?;
        }
        let drained = wait_drained(Waiter::new(timeout), id, || self.one(cx, id)).await;
        let force = match drained {
            Ok(()) => false,
            Err(e) if e.message.starts_with("timed out") => {
                tracing::warn!("{e}; force-deleting the group");
                true
            }
            Err(e) => return Err(e),
        };
        Waiter::new(timeout)
            .until(
                &format!("Auto Scaling group {id} to accept its deletion"),
                || async {
                    let r = cx
                        .aws
                        .autoscaling
                        .delete_auto_scaling_group()
                        .auto_scaling_group_name(id)
                        .force_delete(force)
                        .send()
                        .await;
                    delete_outcome(r.map(drop).map_err(ApiError::from))
                },
            )
            .await?;
        Waiter::new(timeout)
            .until(
                &format!("Auto Scaling group {id} to be deleted"),
                || async { Ok(gone_progress(self.one(cx, id).await?.as_ref())) },
            )
            .await
    }

    async fn find_by_address(&self, cx: Ctx<'_>, address: &str) -> ApiResult<Option<String>> {
        find_by_address(cx, address, |t| async move {
            let filters = t.pairs().map(|(key, value)| {
                Filter::builder()
                    .name(format!("tag:{key}"))
                    .values(value)
                    .build()
            });
            let found = self.describe(cx, None, filters.to_vec()).await?;
            // A group being deleted must not be adopted; the tags are
            // checked again so that a lookup can never adopt a stranger.
            Ok(found
                .into_iter()
                .filter(move |g| g.status().is_none() && t.matches(tag_pairs(g.tags())))
                .filter_map(|g| g.auto_scaling_group_name))
        })
        .await
    }
}

/// The settings one UpdateAutoScalingGroup call changes.
const GROUP_FIELDS: [&str; 8] = [
    "min_size",
    "max_size",
    "desired_capacity",
    "subnet_ids",
    "launch_template",
    "health_check_type",
    "health_check_grace_period",
    "protect_from_scale_in",
];

/// One UpdateAutoScalingGroup with the changed settings of `GROUP_FIELDS`.
async fn update_group(cx: Ctx<'_>, id: &str, desired: &Attrs, changed: &Changes) -> ApiResult<()> {
    let mut req = cx
        .aws
        .autoscaling
        .update_auto_scaling_group()
        .auto_scaling_group_name(id);
    if changed.sets("min_size") {
        req = req.set_min_size(int(desired, "min_size")?);
    }
    if changed.sets("max_size") {
        req = req.set_max_size(int(desired, "max_size")?);
    }
    if changed.sets("desired_capacity") {
        req = req.set_desired_capacity(int(desired, "desired_capacity")?);
    }
    if changed.sets("subnet_ids") {
        req = req.set_vpc_zone_identifier(subnets(desired));
    }
    if changed.sets("launch_template") {
        req = req.launch_template(launch_template(desired));
    }
    if changed.sets("health_check_type") {
        req = req.set_health_check_type(str_attr(desired, "health_check_type"));
    }
    if changed.sets("health_check_grace_period") {
        req = req.set_health_check_grace_period(int(desired, "health_check_grace_period")?);
    }
    if changed.sets("protect_from_scale_in") {
        req = req
            .set_new_instances_protected_from_scale_in(bool_attr(desired, "protect_from_scale_in"));
    }
    req.send().await?;
    Ok(())
}

/// Attaches the target groups `desired` adds and detaches those it drops.
async fn sync_target_groups(cx: Ctx<'_>, id: &str, live: &Attrs, desired: &Attrs) -> ApiResult<()> {
    let arns = |a: &Attrs| {
        a.get("target_group_arns")
            .map(Value::str_list)
            .unwrap_or_default()
    };
    let (before, after) = (arns(live), arns(desired));
    let attach: Vec<String> = after
        .iter()
        .filter(|a| !before.contains(a))
        .cloned()
        .collect();
    let detach: Vec<String> = before
        .iter()
        .filter(|b| !after.contains(b))
        .cloned()
        .collect();
    let asg = &cx.aws.autoscaling;
    if !attach.is_empty() {
        asg.attach_load_balancer_target_groups()
            .auto_scaling_group_name(id)
            .set_target_group_arns(Some(attach))
            .send()
            .await?;
    }
    if !detach.is_empty() {
        asg.detach_load_balancer_target_groups()
            .auto_scaling_group_name(id)
            .set_target_group_arns(Some(detach))
            .send()
            .await?;
    }
    Ok(())
}

/// Brings the user tags of group `id` to `desired`; `all` rewrites every
/// tag (its propagation changed).
async fn sync_group_tags(
    cx: Ctx<'_>,
    id: &str,
    live: &Attrs,
    desired: &Attrs,
    all: bool,
) -> ApiResult<()> {
    let before = live.get("tags").map(Value::str_map).unwrap_or_default();
    let after = desired.get("tags").map(Value::str_map).unwrap_or_default();
    let propagate = bool_attr(desired, "propagate_tags_at_launch").unwrap_or(true);
    let set: Vec<_> = after
        .iter()
        .filter(|(k, v)| all || before.get(*k) != Some(*v))
        .map(|(k, v)| group_tag(id, k, v, propagate))
        .collect();
    let unset: Vec<_> = before
        .iter()
        .filter(|(k, _)| !after.contains_key(*k))
        .map(|(k, v)| group_tag(id, k, v, false))
        .collect();
    let asg = &cx.aws.autoscaling;
    if !set.is_empty() {
        asg.create_or_update_tags()
            .set_tags(Some(set))
            .send()
            .await?;
    }
    if !unset.is_empty() {
        asg.delete_tags().set_tags(Some(unset)).send().await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::Duration;

    use aws_sdk_autoscaling::types::{Instance, LifecycleState, TagDescription};

    use super::*;

    fn group(states: &[LifecycleState]) -> AutoScalingGroup {
        let mut b = AutoScalingGroup::builder()
            .auto_scaling_group_name("app-nodes")
            .min_size(0)
            .max_size(0)
            .desired_capacity(0);
        for (i, s) in states.iter().enumerate() {
            b = b.instances(
                Instance::builder()
                    .instance_id(format!("i-{i}"))
                    .lifecycle_state(s.clone())
                    .protected_from_scale_in(true)
                    .build(),
            );
        }
        b.build()
    }

    /// A DescribeAutoScalingGroups stand-in answering `script` in turn (its
    /// last answer forever), counting the calls.
    type Answer = std::future::Ready<ApiResult<Option<AutoScalingGroup>>>;

    fn scripted(
        script: Vec<Option<AutoScalingGroup>>,
    ) -> (impl FnMut() -> Answer, std::sync::Arc<Mutex<usize>>) {
        let calls = std::sync::Arc::new(Mutex::new(0));
        let seen = calls.clone();
        let f = move || {
            let mut n = seen.lock().unwrap();
            let answer = script[(*n).min(script.len() - 1)].clone();
            *n += 1;
            std::future::ready(Ok(answer))
        };
        (f, calls)
    }

    #[tokio::test(start_paused = true)]
    async fn the_delete_waits_while_instances_drain_until_none_is_left() {
        let (describe, calls) = scripted(vec![
            Some(group(&[
                LifecycleState::InService,
                LifecycleState::Terminating,
            ])),
            Some(group(&[LifecycleState::TerminatingWait])),
            Some(group(&[LifecycleState::TerminatingProceed])),
            Some(group(&[])),
        ]);
        wait_drained(Waiter::new(Duration::from_mins(10)), "app-nodes", describe)
            .await
            .unwrap();
        assert_eq!(*calls.lock().unwrap(), 4);
    }

    #[tokio::test(start_paused = true)]
    async fn a_group_already_gone_counts_as_drained() {
        let (describe, calls) = scripted(vec![None]);
        wait_drained(Waiter::new(Duration::from_mins(10)), "app-nodes", describe)
            .await
            .unwrap();
        assert_eq!(*calls.lock().unwrap(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn instances_stuck_in_a_hook_time_the_drain_out_naming_their_state() {
        let (describe, _) = scripted(vec![Some(group(&[LifecycleState::TerminatingWait]))]);
        let start = tokio::time::Instant::now();
        let err = wait_drained(Waiter::new(Duration::from_mins(2)), "app-nodes", describe)
            .await
            .unwrap_err();
        assert!(err.message.starts_with("timed out after 2m"), "{err}");
        assert!(err.message.contains("Terminating:Wait"), "{err}");
        assert!(start.elapsed() < Duration::from_secs(121));
    }

    #[test]
    fn an_owed_refresh_reads_as_owed_so_that_the_next_plan_retries_it() {
        let tagged = |owed: bool| {
            let mut b = AutoScalingGroup::builder().tags(
                TagDescription::builder()
                    .key(REFRESH_TAG)
                    .value("50")
                    .build(),
            );
            if owed {
                b = b.tags(
                    TagDescription::builder()
                        .key(OWED_TAG)
                        .value("true")
                        .build(),
                );
            }
            group_attrs(&b.build(), &[])
        };
        assert_eq!(
            tagged(false)["instance_refresh"],
            table([("min_healthy_percent", Value::Int(50))])
        );
        // The setting is not lost: only the refresh is owed.
        assert_eq!(
            tagged(true)["instance_refresh"],
            table([("min_healthy_percent", Value::Int(50))])
        );
        assert_eq!(tagged(true)["instance_refresh_owed"], Value::Bool(true));
        assert_eq!(tagged(false)["instance_refresh_owed"], Value::Bool(false));
        assert_eq!(tagged(true)["tags"].str_map().len(), 0);
        let desired = SCHEMA.with_defaults(&Attrs::new());
        let c = Changes::between(&AutoScalingGroupKind, &tagged(true), &desired);
        assert!(c.has("instance_refresh_owed"), "{c:?}");
    }

    #[test]
    fn a_group_being_deleted_is_still_there_until_it_is_not() {
        let deleting = AutoScalingGroup::builder()
            .auto_scaling_group_name("g")
            .status("Delete in progress")
            .build();
        assert_eq!(
            gone_progress(Some(&deleting)),
            Poll::Pending("Delete in progress".into())
        );
        assert_eq!(gone_progress(None), Poll::Ready(()));
    }

    #[test]
    fn the_delete_is_retried_only_while_scaling_activities_run() {
        let err = |code: &str| ApiError {
            code: Some(code.into()),
            message: "m".into(),
            class: crate::aws::error::classify_code(code),
        };
        assert_eq!(delete_outcome(Ok(())).unwrap(), Poll::Ready(()));
        assert!(matches!(
            delete_outcome(Err(err("ScalingActivityInProgress"))).unwrap(),
            Poll::Pending(_)
        ));
        assert!(matches!(
            delete_outcome(Err(err("ResourceInUse"))).unwrap(),
            Poll::Pending(_)
        ));
        assert!(delete_outcome(Err(err("AccessDenied"))).is_err());
    }

    /// A group as AWS describes it: the one `written_group` asks for.
    fn described_group() -> AutoScalingGroup {
        AutoScalingGroup::builder()
            .auto_scaling_group_name("app-nodes")
            .auto_scaling_group_arn(
                "arn:aws:autoscaling:us-east-1:1:autoScalingGroup:x:autoScalingGroupName/app-nodes",
            )
            .min_size(1)
            .max_size(3)
            .desired_capacity(2)
            .vpc_zone_identifier("subnet-b,subnet-a")
            .launch_template(
                LaunchTemplateSpecification::builder()
                    .launch_template_id("lt-1")
                    .version("4")
                    .build(),
            )
            .health_check_type("EC2")
            .health_check_grace_period(300)
            .new_instances_protected_from_scale_in(true)
            .tags(
                TagDescription::builder()
                    .key("Name")
                    .value("node")
                    .propagate_at_launch(true)
                    .build(),
            )
            .tags(
                TagDescription::builder()
                    .key(REFRESH_TAG)
                    .value("50")
                    .propagate_at_launch(false)
                    .build(),
            )
            .build()
    }

    /// The desired state of `described_group`.
    fn written_group() -> Attrs {
        SCHEMA.with_defaults(&Attrs::from([
            ("name".to_owned(), Value::str("app-nodes")),
            ("min_size".to_owned(), Value::Int(1)),
            ("max_size".to_owned(), Value::Int(3)),
            ("desired_capacity".to_owned(), Value::Int(2)),
            (
                "subnet_ids".to_owned(),
                Value::from(vec!["subnet-a".to_owned(), "subnet-b".to_owned()]),
            ),
            (
                "launch_template".to_owned(),
                table([("id", Value::str("lt-1")), ("version", Value::str("4"))]),
            ),
            ("protect_from_scale_in".to_owned(), Value::Bool(true)),
            (
                "instance_refresh".to_owned(),
                table([("min_healthy_percent", Value::Int(50))]),
            ),
            (
                "lifecycle_hooks".to_owned(),
                Value::List(vec![table([
                    ("name", Value::str("drain")),
                    (
                        "lifecycle_transition",
                        Value::str("autoscaling:EC2_INSTANCE_TERMINATING"),
                    ),
                    ("heartbeat_timeout", Value::Int(900)),
                    ("default_result", Value::str("CONTINUE")),
                ])]),
            ),
            (
                "tags".to_owned(),
                Value::from(BTreeMap::from([("Name".to_owned(), "node".to_owned())])),
            ),
        ]))
    }

    #[test]
    fn a_described_group_reads_as_its_inputs() {
        let g = described_group();
        let hook = LifecycleHook::builder()
            .lifecycle_hook_name("drain")
            .lifecycle_transition("autoscaling:EC2_INSTANCE_TERMINATING")
            .heartbeat_timeout(900)
            .default_result("CONTINUE")
            .build();
        let a = group_attrs(&g, &[hook]);
        for f in SCHEMA.field_names() {
            assert!(a.contains_key(f), "read leaves out {f}");
        }
        assert_eq!(a["id"], Value::str("app-nodes"));
        assert_eq!(a["protect_from_scale_in"], Value::Bool(true));
        assert_eq!(a["propagate_tags_at_launch"], Value::Bool(true));
        assert_eq!(a["tags"].str_map().len(), 1, "reconcile tags are hidden");
        assert_eq!(
            a["instance_refresh"],
            table([("min_healthy_percent", Value::Int(50))])
        );
        let desired = written_group();
        for f in SCHEMA.inputs() {
            assert!(
                !Changes::between(&AutoScalingGroupKind, &a, &desired).sets(f.name),
                "{} differs: {:?} vs {:?}",
                f.name,
                a.get(f.name),
                desired.get(f.name)
            );
        }
    }
}
