//! `scheduler_schedule`: an EventBridge Scheduler schedule that invokes a
//! target (an ECS task, …) at fixed times or rates. Its id is
//! `<group>/<name>`.
//!
//! Schedules take no tags (only schedule groups do): a lost create is
//! recognised by its name and its role, which is the stack's (see
//! `find_created`).

use async_trait::async_trait;
use aws_sdk_scheduler::operation::get_schedule::GetScheduleOutput;
use aws_sdk_scheduler::types::{
    AssignPublicIp, AwsVpcConfiguration, EcsParameters, FlexibleTimeWindow, FlexibleTimeWindowMode,
    LaunchType, NetworkConfiguration, PropagateTags, RetryPolicy, ScheduleState, Target,
};

use crate::aws::ApiError;
use crate::kinds::support::{found, gone_is_ok, int_field, read_each, str_attr, str_field, table};
use crate::kinds::{ApiResult, Create, Ctx, Delete, Kind, LiveMap, Timeouts, Update};
use crate::schema::{Default, Field, Schema, Type};
use crate::value::{Attrs, Value};

pub struct SchedulerSchedule;

const FLEXIBLE_TIME_WINDOW: &[Field] = &[
    Field::new("mode", Type::String)
        .required()
        .one_of(&["OFF", "FLEXIBLE"])
        .doc("\"OFF\": invoke at the exact time; \"FLEXIBLE\": within a window after it."),
    Field::new("maximum_window_in_minutes", Type::Range(1, 1440))
        .doc("The window, with mode \"FLEXIBLE\"."),
];

const RETRY_POLICY: &[Field] = &[
    Field::new("maximum_retry_attempts", Type::Range(0, 185))
        .default(Default::Int(185))
        .doc("How many times a failed invocation is retried."),
    Field::new("maximum_event_age_in_seconds", Type::Range(60, 86_400))
        .default(Default::Int(86_400))
        .doc("How long an invocation is retried."),
];

const NETWORK_CONFIGURATION: &[Field] = &[
    Field::new("subnets", Type::Set(&Type::String))
        .required()
        .min_items(1)
        .max_items(16)
        .doc("The subnets of the task's network interface."),
    Field::new("security_groups", Type::Set(&Type::String))
        .default(Default::EmptyList)
        .max_items(5)
        .doc("Its security groups; by default the VPC's default group."),
    Field::new("assign_public_ip", Type::Bool)
        .default(Default::Bool(false))
        .doc("Whether it gets a public IP (Fargate only): needed in a public subnet without NAT to pull images."),
];

const ECS_PARAMETERS: &[Field] = &[
    Field::new("task_definition_arn", Type::Arn)
        .example("\"${ecs_task_definition.example.arn}\"")
        .required()
        .doc("The task definition revision (or family ARN without revision: the latest) to run."),
    Field::new("launch_type", Type::String)
        .one_of(&["EC2", "FARGATE", "EXTERNAL"])
        .doc("Where the task runs."),
    Field::new("task_count", Type::Range(1, 10))
        .default(Default::Int(1))
        .doc("How many tasks each invocation starts."),
    Field::new("platform_version", Type::String)
        .doc("The Fargate platform version, e.g. \"LATEST\"."),
    Field::new("group", Type::String).doc("The task group of the tasks."),
    Field::new("network_configuration", Type::Object(NETWORK_CONFIGURATION))
        .doc("The awsvpc network of the task (required by Fargate)."),
    Field::new("enable_ecs_managed_tags", Type::Bool)
        .default(Default::Bool(false))
        .doc("Whether ECS tags the task with its cluster and service names."),
    Field::new("enable_execute_command", Type::Bool)
        .default(Default::Bool(false))
        .doc("Whether ECS Exec is turned on for the task."),
    Field::new("propagate_tags", Type::String)
        .one_of(&["TASK_DEFINITION"])
        .doc("Copy the task definition's tags to the task."),
];

const TARGET: &[Field] = &[
    Field::new("arn", Type::Arn)
        .example("\"${ecs_cluster.example.arn}\"")
        .required()
        .doc("What is invoked: for an ECS task, the cluster's ARN."),
    Field::new("role_arn", Type::Arn)
        .example("\"${iam_role.example.arn}\"")
        .required()
        .doc("The role Scheduler assumes to invoke it (for ECS: ecs:RunTask, and iam:PassRole on the task's roles)."),
    Field::new("input", Type::String)
        .doc("The text passed to the target (for ECS: task overrides as JSON)."),
    Field::new("retry_policy", Type::Object(RETRY_POLICY))
        .doc("How failed invocations are retried; by default 185 times within a day."),
    Field::new("ecs_parameters", Type::Object(ECS_PARAMETERS))
        .doc("The task to run, when the target is an ECS cluster."),
];

static SCHEMA: Schema = Schema {
    kind: "scheduler_schedule",
    service: super::SERVICE,
    timeouts: Timeouts::DEFAULT,
    description: "An EventBridge Scheduler schedule: invokes a target, such as an ECS task, at a rate, at cron times or once.",
    fields: &[
        Field::stack_name("name", crate::kinds::names::SCHEDULE)
            .doc("The schedule name; by default `<stack>-<resource name>`."),
        Field::new("group_name", Type::String)
            .naming(crate::kinds::names::SCHEDULE)
            .default(Default::Str("default"))
            .force_new()
            .doc("The schedule group (it must exist)."),
        Field::new("schedule_expression", Type::String)
            .example("\"rate(10 minutes)\"")
            .required()
            .doc("When: `rate(10 minutes)`, `cron(0 3 * * ? *)` or `at(2030-01-01T00:00:00)`."),
        Field::new("schedule_expression_timezone", Type::String)
            .default(Default::Str("UTC"))
            .doc("The time zone of cron and at expressions, e.g. \"Europe/Paris\"."),
        Field::new("flexible_time_window", Type::Object(FLEXIBLE_TIME_WINDOW))
            .doc("How far after the time an invocation may start; by default exactly at it (mode \"OFF\")."),
        Field::new("state", Type::String)
            .default(Default::Str("ENABLED"))
            .one_of(&["ENABLED", "DISABLED"])
            .doc("Whether the schedule invokes its target."),
        Field::new("description", Type::String)
            .unset_is_null()
            .doc("A description (at most 512 characters)."),
        Field::new("target", Type::Object(TARGET))
            .required()
            .doc("What the schedule invokes."),
        Field::new("id", Type::String)
            .computed()
            .doc("`<group>/<name>` (what `reconcile import` takes, e.g. `default/nightly`)."),
        Field::new("arn", Type::String)
            .computed()
            .doc("The ARN of the schedule."),
    ],
};

/// The retry policy AWS gives a target that sets none.
fn default_retry_policy() -> Value {
    table([
        ("maximum_retry_attempts", Value::Int(185)),
        ("maximum_event_age_in_seconds", Value::Int(86_400)),
    ])
}

/// `<group>/<name>` ↔ (group, name).
fn split_id(id: &str) -> (&str, &str) {
    id.split_once('/').unwrap_or(("default", id))
}

/// A schedule expression AWS takes: `rate(…)`, `cron(…)` or `at(…)`.
fn check_expression(address: &str, e: &str) -> ApiResult<()> {
    let ok = ["rate(", "cron(", "at("]
        .iter()
        .any(|p| e.starts_with(p) && e.ends_with(')') && e.len() > p.len() + 1);
    if ok {
        Ok(())
    } else {
        Err(ApiError::msg(format!(
            "{address}: schedule_expression {e:?} is not one Scheduler takes: \
             rate(10 minutes), cron(0 3 * * ? *) or at(2030-01-01T00:00:00)"
        )))
    }
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.map(Value::str_list).unwrap_or_default()
}

fn ecs_parameters(v: &Value) -> ApiResult<EcsParameters> {
    let m = Some(v);
    let field = |name: &str| v.as_map().and_then(|m| m.get(name));
    let network = field("network_configuration")
        .filter(|n| !n.is_null())
        .map(|n| {
            let public = n
                .as_map()
                .and_then(|m| m.get("assign_public_ip"))
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let vpc = AwsVpcConfiguration::builder()
                .set_subnets(Some(strings(n.as_map().and_then(|m| m.get("subnets")))))
                .set_security_groups(
                    Some(strings(n.as_map().and_then(|m| m.get("security_groups"))))
                        .filter(|g| !g.is_empty()),
                )
                .assign_public_ip(if public {
                    AssignPublicIp::Enabled
                } else {
                    AssignPublicIp::Disabled
                })
                .build()
                .map_err(|e| ApiError::msg(format!("network_configuration: {e}")))?;
            Ok::<_, ApiError>(
                NetworkConfiguration::builder()
                    .awsvpc_configuration(vpc)
                    .build(),
            )
        })
        .transpose()?;
    EcsParameters::builder()
        .set_task_definition_arn(str_field(m, "task_definition_arn"))
        .set_launch_type(str_field(m, "launch_type").map(|l| LaunchType::from(l.as_str())))
        // The schema's default, sent: the emulator keeps none where AWS has 1.
        .set_task_count(int_field(m, "task_count")?.or(Some(1)))
        .set_platform_version(str_field(m, "platform_version"))
        .set_group(str_field(m, "group"))
        .set_network_configuration(network)
        .set_enable_ecs_managed_tags(field("enable_ecs_managed_tags").and_then(Value::as_bool))
        .set_enable_execute_command(field("enable_execute_command").and_then(Value::as_bool))
        .set_propagate_tags(str_field(m, "propagate_tags").map(|p| PropagateTags::from(p.as_str())))
        .build()
        .map_err(|e| ApiError::msg(format!("ecs_parameters: {e}")))
}

/// The SDK's target of a `target` value.
fn target(v: &Value) -> ApiResult<Target> {
    let m = Some(v);
    let field = |name: &str| {
        v.as_map()
            .and_then(|m| m.get(name))
            .filter(|f| !f.is_null())
    };
    let retry = field("retry_policy")
        .map(|r| {
            Ok::<_, ApiError>(
                RetryPolicy::builder()
                    .set_maximum_retry_attempts(int_field(Some(r), "maximum_retry_attempts")?)
                    .set_maximum_event_age_in_seconds(int_field(
                        Some(r),
                        "maximum_event_age_in_seconds",
                    )?)
                    .build(),
            )
        })
        .transpose()?;
    Target::builder()
        .set_arn(str_field(m, "arn"))
        .set_role_arn(str_field(m, "role_arn"))
        .set_input(str_field(m, "input"))
        .set_retry_policy(retry)
        .set_ecs_parameters(field("ecs_parameters").map(ecs_parameters).transpose()?)
        .build()
        .map_err(|e| ApiError::msg(format!("target: {e}")))
}

fn time_window(v: Option<&Value>) -> ApiResult<FlexibleTimeWindow> {
    let mode = str_field(v, "mode").unwrap_or_else(|| "OFF".to_owned());
    FlexibleTimeWindow::builder()
        .mode(FlexibleTimeWindowMode::from(mode.as_str()))
        .set_maximum_window_in_minutes(int_field(v, "maximum_window_in_minutes")?)
        .build()
        .map_err(|e| ApiError::msg(format!("flexible_time_window: {e}")))
}

/// A target as the schema writes it.
fn target_value(t: &Target) -> Value {
    let ecs = t.ecs_parameters().map_or(Value::Null, |e| {
        let network = e
            .network_configuration()
            .and_then(NetworkConfiguration::awsvpc_configuration)
            .map_or(Value::Null, |n| {
                let list = |l: &[String]| Value::List(l.iter().map(Value::str).collect());
                table([
                    ("subnets", list(n.subnets())),
                    ("security_groups", list(n.security_groups())),
                    (
                        "assign_public_ip",
                        Value::Bool(n.assign_public_ip() == Some(&AssignPublicIp::Enabled)),
                    ),
                ])
            });
        let opt_bool = |b: Option<bool>| b.map_or(Value::Null, Value::Bool);
        table([
            ("task_definition_arn", Value::str(e.task_definition_arn())),
            (
                "launch_type",
                e.launch_type().map(LaunchType::as_str).into(),
            ),
            (
                "task_count",
                e.task_count()
                    .map_or(Value::Null, |c| Value::Int(i64::from(c))),
            ),
            ("platform_version", e.platform_version().into()),
            ("group", e.group().into()),
            ("network_configuration", network),
            (
                "enable_ecs_managed_tags",
                opt_bool(e.enable_ecs_managed_tags()),
            ),
            (
                "enable_execute_command",
                opt_bool(e.enable_execute_command()),
            ),
            (
                "propagate_tags",
                e.propagate_tags().map(PropagateTags::as_str).into(),
            ),
        ])
    });
    let retry = t.retry_policy().map_or_else(default_retry_policy, |r| {
        let int = |i: Option<i32>| i.map_or(Value::Null, |i| Value::Int(i64::from(i)));
        table([
            ("maximum_retry_attempts", int(r.maximum_retry_attempts())),
            (
                "maximum_event_age_in_seconds",
                int(r.maximum_event_age_in_seconds()),
            ),
        ])
    });
    table([
        ("arn", Value::str(t.arn())),
        ("role_arn", Value::str(t.role_arn())),
        ("input", t.input().into()),
        ("retry_policy", retry),
        ("ecs_parameters", ecs),
    ])
}

fn schedule_attrs(id: &str, s: &GetScheduleOutput) -> Attrs {
    let mut a = Attrs::new();
    a.insert("id".into(), Value::str(id));
    a.insert("arn".into(), s.arn().into());
    a.insert("name".into(), s.name().into());
    a.insert("group_name".into(), s.group_name().into());
    a.insert("schedule_expression".into(), s.schedule_expression().into());
    // Left out of the answer when not set: AWS's default, UTC.
    a.insert(
        "schedule_expression_timezone".into(),
        Value::str(s.schedule_expression_timezone().unwrap_or("UTC")),
    );
    a.insert(
        "flexible_time_window".into(),
        s.flexible_time_window().map_or(Value::Null, |w| {
            table([
                ("mode", Value::str(w.mode().as_str())),
                (
                    "maximum_window_in_minutes",
                    w.maximum_window_in_minutes()
                        .map_or(Value::Null, |m| Value::Int(i64::from(m))),
                ),
            ])
        }),
    );
    a.insert("state".into(), s.state().map(ScheduleState::as_str).into());
    a.insert("description".into(), s.description().into());
    a.insert(
        "target".into(),
        s.target().map_or(Value::Null, target_value),
    );
    a
}

/// One schedule, `None` when it is gone.
async fn get(cx: Ctx<'_>, id: &str) -> ApiResult<Option<GetScheduleOutput>> {
    let (group, name) = split_id(id);
    let r = cx
        .aws
        .scheduler
        .get_schedule()
        .group_name(group)
        .name(name)
        .send()
        .await
        .map_err(ApiError::from);
    found(r)
}

/// What UpdateSchedule writes: it replaces the whole schedule, so what the
/// desired state leaves unset keeps its live value.
fn merged(live: &Attrs, desired: &Attrs) -> Attrs {
    let mut out = live.clone();
    for (k, v) in desired.iter().filter(|(_, v)| !v.is_null()) {
        out.insert(k.clone(), v.clone());
    }
    out
}

#[async_trait]
impl Kind for SchedulerSchedule {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    /// A target without a retry policy gets AWS's (185 attempts within a
    /// day), and a schedule without a window runs at the exact time: both
    /// sides compare with those filled in.
    fn canonicalize(&self, attrs: &mut Attrs) {
        if let Some(Value::Map(t)) = attrs.get_mut("target")
            && t.get("retry_policy").is_none_or(Value::is_null)
        {
            t.insert("retry_policy".into(), default_retry_policy());
        }
        if attrs.get("flexible_time_window").is_none_or(Value::is_null)
            && attrs.contains_key("target")
        {
            attrs.insert(
                "flexible_time_window".into(),
                table([("mode", Value::str("OFF"))]),
            );
        }
    }

    /// Scheduler has no batched describe (ListSchedules answers names and
    /// states only): one GetSchedule per schedule, a few at a time.
    async fn read_many(&self, cx: Ctx<'_>, ids: &[String]) -> ApiResult<LiveMap> {
        let reads: Vec<_> = ids
            .iter()
            .map(|id| async move {
                Ok(get(cx, id)
                    .await?
                    .map(|s| (id.clone(), schedule_attrs(id, &s))))
            })
            .collect();
        read_each(reads).await
    }

    async fn create(&self, op: Create<'_>) -> ApiResult<String> {
        let Create { cx, address, desired } = op;
        let name = str_attr(desired, "name")
            .unwrap_or_else(|| crate::kinds::default_name(cx.stack, address));
        let group = str_attr(desired, "group_name").unwrap_or_else(|| "default".to_owned());
        let expression = str_attr(desired, "schedule_expression").unwrap_or_default();
        check_expression(address, &expression)?;
        let target = target(desired.get("target").unwrap_or(&Value::Null))
            .map_err(|e| ApiError::msg(format!("{address}: {e}")))?;
        cx.aws
            .scheduler
            .create_schedule()
            .name(&name)
            .group_name(&group)
            .schedule_expression(expression)
            .set_schedule_expression_timezone(str_attr(desired, "schedule_expression_timezone"))
            .flexible_time_window(time_window(desired.get("flexible_time_window"))?)
            .set_state(str_attr(desired, "state").map(|s| ScheduleState::from(s.as_str())))
            .set_description(str_attr(desired, "description"))
            .target(target)
            .send()
            .await?;
        let id = format!("{group}/{name}");
        crate::kinds::created(&id);
        Ok(id)
    }

    async fn update(&self, op: Update<'_>) -> ApiResult<()> {
        let Update { cx, address, id, live, desired, .. } = op;
        let (group, name) = split_id(id);
        let a = merged(live, desired);
        let expression = str_attr(&a, "schedule_expression").unwrap_or_default();
        check_expression(address, &expression)?;
        let target = target(a.get("target").unwrap_or(&Value::Null))
            .map_err(|e| ApiError::msg(format!("{address}: {e}")))?;
        cx.aws
            .scheduler
            .update_schedule()
            .name(name)
            .group_name(group)
            .schedule_expression(expression)
            .set_schedule_expression_timezone(str_attr(&a, "schedule_expression_timezone"))
            .flexible_time_window(time_window(a.get("flexible_time_window"))?)
            .set_state(str_attr(&a, "state").map(|s| ScheduleState::from(s.as_str())))
            .set_description(str_attr(&a, "description"))
            .target(target)
            .send()
            .await?;
        Ok(())
    }

    async fn delete(&self, op: Delete<'_>) -> ApiResult<()> {
        let Delete { cx, id, .. } = op;
        let (group, name) = split_id(id);
        let r = cx
            .aws
            .scheduler
            .delete_schedule()
            .group_name(group)
            .name(name)
            .send()
            .await;
        gone_is_ok(r.map(drop).map_err(ApiError::from))
    }

    /// Schedules carry no tags.
    async fn find_by_address(&self, _cx: Ctx<'_>, _address: &str) -> ApiResult<Option<String>> {
        Ok(None)
    }

    /// The schedule of the desired name and group whose target has the
    /// desired role: that role is this stack's, so the schedule is what an
    /// earlier create made (a name taken by someone else's schedule stays
    /// theirs, and the create fails with ConflictException).
    async fn find_created(&self, op: Create<'_>) -> ApiResult<Option<String>> {
        let Create { cx, address, desired } = op;
        let name = str_attr(desired, "name")
            .unwrap_or_else(|| crate::kinds::default_name(cx.stack, address));
        let group = str_attr(desired, "group_name").unwrap_or_else(|| "default".to_owned());
        let id = format!("{group}/{name}");
        let role = str_field(desired.get("target"), "role_arn");
        let Some(live) = get(cx, &id).await? else {
            return Ok(None);
        };
        let live_role = live.target().map(Target::role_arn);
        Ok((role.is_some() && live_role == role.as_deref()).then_some(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ecs_target() -> Value {
        table([
            (
                "arn",
                Value::str("arn:aws:ecs:us-east-1:123456789012:cluster/runner"),
            ),
            (
                "role_arn",
                Value::str("arn:aws:iam::123456789012:role/ops-scheduler"),
            ),
            (
                "ecs_parameters",
                table([
                    (
                        "task_definition_arn",
                        Value::str("arn:aws:ecs:us-east-1:123456789012:task-definition/drift:3"),
                    ),
                    ("launch_type", Value::str("FARGATE")),
                    (
                        "network_configuration",
                        table([
                            ("subnets", Value::List(vec![Value::str("subnet-1")])),
                            ("assign_public_ip", Value::Bool(true)),
                        ]),
                    ),
                ]),
            ),
        ])
    }

    #[test]
    fn a_target_goes_to_the_sdk_and_reads_back_the_same() {
        let t = target(&ecs_target()).unwrap();
        let ecs = t.ecs_parameters().unwrap();
        assert_eq!(ecs.launch_type(), Some(&LaunchType::Fargate));
        let vpc = ecs
            .network_configuration()
            .and_then(NetworkConfiguration::awsvpc_configuration)
            .unwrap();
        assert_eq!(vpc.assign_public_ip(), Some(&AssignPublicIp::Enabled));
        assert!(vpc.security_groups().is_empty());
        let back = target_value(&t);
        let ty = Type::Object(TARGET);
        let mut desired = Attrs::from([("target".to_owned(), ecs_target())]);
        SchedulerSchedule.canonicalize(&mut desired);
        assert_eq!(ty.normalize(&back), ty.normalize(&desired["target"]));
    }

    #[test]
    fn a_target_without_a_role_is_refused_and_expressions_are_checked() {
        let mut t = ecs_target().as_map().unwrap().clone();
        t.remove("role_arn");
        assert!(target(&Value::Map(t)).is_err());
        assert!(check_expression("s", "rate(10 minutes)").is_ok());
        assert!(check_expression("s", "cron(0 3 * * ? *)").is_ok());
        let e = check_expression("scheduler_schedule.s", "every 10 minutes").unwrap_err();
        assert!(e.message.starts_with("scheduler_schedule.s: "), "{e}");
        assert!(check_expression("s", "rate()").is_err());
    }

    #[test]
    fn ids_name_the_group_and_the_schedule() {
        assert_eq!(split_id("ops/drift"), ("ops", "drift"));
        assert_eq!(split_id("drift"), ("default", "drift"));
    }
}
