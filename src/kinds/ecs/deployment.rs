//! Waiting for an ECS deployment and telling the truth about it: a live
//! progress line while it rolls out, and when it fails (circuit breaker,
//! rollback, tasks that keep stopping, timeout) an error that says why: the
//! latest stopped tasks of the new revision with their stop reasons and
//! exit codes, failing target-group health checks, and the last log lines
//! of the failing container.
//!
//! Used by `ecs_service`'s create and update; the service kind decides
//! when to wait, this module how.

use std::time::Duration;

use aws_sdk_ecs::types::{
    ContainerDefinition, Deployment, DeploymentRolloutState, DesiredStatus, LogDriver, Service,
    ServiceDeploymentStatus, Task,
};

use super::last_segment;
use crate::aws::error::DEPLOYMENT_FAILED;
use crate::aws::{ApiError, ErrorClass};
use crate::kinds::support::{Poll, Waiter};
use crate::kinds::{ApiResult, Ctx, progress};

/// How many log lines of the failing container the error shows.
pub const LOG_LINES: i32 = 20;
/// How many stopped tasks of the new revision the error names.
const STOPPED_SHOWN: usize = 3;

/// `arn:aws:ecs:…:task-definition/web:3` → `web:3`; anything else as is.
pub fn short_revision(s: &str) -> &str {
    s.split_once(":task-definition/")
        .map_or(s, |(_, rest)| rest)
}

/// Whether two task definitions name the same revision (ARN or
/// `family:revision`); a bare family matches any of its revisions.
pub fn same_revision(a: &str, b: &str) -> bool {
    let (a, b) = (short_revision(a), short_revision(b));
    if a.contains(':') && b.contains(':') {
        a == b
    } else {
        a.split(':').next() == b.split(':').next()
    }
}

/// The circuit breaker's own threshold of failed tasks (AWS: half the
/// desired count, at least 3, at most 200): beyond it, tasks of the new
/// revision keep stopping and waiting longer will not help.
fn failed_task_threshold(desired: i32) -> i32 {
    ((desired + 1) / 2).clamp(3, 200)
}

/// Where a deployment stands after one DescribeServices.
#[derive(Debug, PartialEq)]
pub enum Verdict {
    Steady,
    Rolling,
    Failed(String),
}

/// Judges one described service against the revision that was deployed.
pub fn judge(s: &Service, revision: &str) -> Verdict {
    if s.status() != Some("ACTIVE") {
        return Verdict::Failed(format!(
            "the service is {}",
            s.status().unwrap_or("unknown")
        ));
    }
    let ours = |d: &&Deployment| {
        d.task_definition()
            .is_some_and(|td| same_revision(td, revision))
    };
    if let Some(failed) = s
        .deployments()
        .iter()
        .find(|d| d.rollout_state() == Some(&DeploymentRolloutState::Failed))
    {
        return Verdict::Failed(format!(
            "the deployment of {} failed: {}",
            failed
                .task_definition()
                .map_or("the new revision", short_revision),
            failed.rollout_state_reason().unwrap_or("no reason given")
        ));
    }
    // A circuit breaker that rolled back leaves the service steady on the
    // old revision: that is a failure, whatever the counts say.
    if let Some(td) = s.task_definition()
        && !same_revision(td, revision)
    {
        return Verdict::Failed(format!(
            "the service was rolled back to {} (it runs {} instead of {})",
            short_revision(td),
            short_revision(td),
            short_revision(revision)
        ));
    }
    if let Some(d) = s.deployments().iter().find(ours)
        && d.failed_tasks() >= failed_task_threshold(d.desired_count())
    {
        return Verdict::Failed(format!(
            "{} tasks of {} failed to start or stopped",
            d.failed_tasks(),
            short_revision(revision)
        ));
    }
    let primary: Vec<&Deployment> = s.deployments().iter().collect();
    let done = match primary.as_slice() {
        [] => s.running_count() == s.desired_count(),
        [only] => match only.rollout_state() {
            Some(state) => state == &DeploymentRolloutState::Completed,
            None => only.running_count() == only.desired_count(),
        },
        _ => false,
    };
    if done {
        Verdict::Steady
    } else {
        Verdict::Rolling
    }
}

/// The live line of a deployment: rollout state, tasks of the new and old
/// deployments, the latest service event.
pub fn progress_line(s: &Service) -> String {
    let mut parts = Vec::new();
    for d in s.deployments() {
        let which = if d.status() == Some("PRIMARY") {
            "new"
        } else {
            "old"
        };
        let state = d.rollout_state().map_or_else(
            || d.status().unwrap_or("?").to_owned(),
            |r| r.as_str().to_owned(),
        );
        parts.push(format!(
            "{which} {} {state} running {}/{} pending {}",
            d.task_definition().map_or("?", short_revision),
            d.running_count(),
            d.desired_count(),
            d.pending_count().max(0),
        ));
    }
    if parts.is_empty() {
        parts.push(format!(
            "running {}/{} pending {}",
            s.running_count(),
            s.desired_count(),
            s.pending_count().max(0)
        ));
    }
    let mut line = format!("deployment: {}", parts.join("; "));
    if let Some(event) = s.events().first().and_then(|e| e.message()) {
        line.push_str(&format!(" | {event}"));
    }
    line
}

/// One service as DescribeServices reports it, whatever its status.
pub async fn describe(cx: Ctx<'_>, cluster: &str, id: &str) -> ApiResult<Option<Service>> {
    let out = cx
        .aws
        .ecs
        .describe_services()
        .cluster(cluster)
        .services(id)
        .send()
        .await
        .map_err(ApiError::from);
    match out {
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
        Ok(o) => Ok(o.services.and_then(|s| s.into_iter().next())),
    }
}

/// A rollback that DescribeServiceDeployments reports (where AWS has it:
/// the service names its current service deployment).
async fn service_deployment_failure(cx: Ctx<'_>, s: &Service) -> Option<String> {
    let arn = s.current_service_deployment()?;
    let out = cx
        .aws
        .ecs
        .describe_service_deployments()
        .service_deployment_arns(arn)
        .send()
        .await
        .ok()?;
    let d = out.service_deployments().first()?;
    let status = d.status()?;
    let failed = matches!(
        status,
        ServiceDeploymentStatus::RollbackRequested
            | ServiceDeploymentStatus::RollbackInProgress
            | ServiceDeploymentStatus::RollbackSuccessful
            | ServiceDeploymentStatus::RollbackFailed
            | ServiceDeploymentStatus::Stopped
            | ServiceDeploymentStatus::StopRequested
    );
    failed.then(|| {
        format!(
            "the service deployment is {}: {}",
            status.as_str(),
            d.status_reason().unwrap_or("no reason given")
        )
    })
}

/// Waits until the service runs `revision` steadily, reporting progress.
/// A failure is an error with the code `DeploymentFailed` and the
/// explanation (`explain`) in its message.
pub async fn wait(
    cx: Ctx<'_>,
    cluster: &str,
    id: &str,
    revision: &str,
    timeout: Duration,
) -> ApiResult<()> {
    let last = std::sync::Mutex::new(String::new());
    let what = format!(
        "ECS service {} to run {}",
        last_segment(id),
        short_revision(revision)
    );
    let outcome = Waiter::new(timeout)
        .until(&what, || async {
            let Some(s) = describe(cx, cluster, id).await? else {
                return Ok(Poll::Ready(Err("the service is gone".to_owned())));
            };
            let line = progress_line(&s);
            if let Ok(mut last) = last.lock()
                && *last != line
            {
                progress(&line);
                *last = line;
            }
            Ok(match judge(&s, revision) {
                Verdict::Failed(why) => Poll::Ready(Err(why)),
                Verdict::Steady => match service_deployment_failure(cx, &s).await {
                    Some(why) => Poll::Ready(Err(why)),
                    None => Poll::Ready(Ok(())),
                },
                Verdict::Rolling => {
                    Poll::Pending(last.lock().map(|l| l.clone()).unwrap_or_default())
                }
            })
        })
        .await;
    let why = match outcome {
        Ok(Ok(())) => return Ok(()),
        Ok(Err(why)) => why,
        Err(e) if e.class == ErrorClass::Timeout => {
            format!("not steady after {}", humantime::format_duration(timeout))
        }
        Err(e) => return Err(e),
    };
    let details = explain(cx, cluster, id, revision).await;
    Err(ApiError {
        code: Some(DEPLOYMENT_FAILED.to_owned()),
        message: format!(
            "the deployment of {} to ECS service {} failed: {why}{details}",
            short_revision(revision),
            last_segment(id)
        ),
        class: ErrorClass::Failed,
    })
}

/// Why a deployment failed, as indented lines: the latest stopped tasks
/// of `revision`, unhealthy targets, the failing container's last log
/// lines. What cannot be read is said, not fatal.
pub async fn explain(cx: Ctx<'_>, cluster: &str, id: &str, revision: &str) -> String {
    let mut out = String::new();
    let containers = match cx
        .aws
        .ecs
        .describe_task_definition()
        .task_definition(short_revision(revision))
        .send()
        .await
    {
        Ok(o) => o
            .task_definition
            .map(|t| t.container_definitions.unwrap_or_default())
            .unwrap_or_default(),
        Err(e) => {
            out.push_str(&format!(
                "\n  (could not read {}: {})",
                short_revision(revision),
                ApiError::from(e)
            ));
            Vec::new()
        }
    };
    let stopped = match stopped_tasks(cx, cluster, id, revision).await {
        Ok(t) => t,
        Err(e) => {
            out.push_str(&format!("\n  (could not read the stopped tasks: {e})"));
            Vec::new()
        }
    };
    if !stopped.is_empty() {
        out.push_str(&format!(
            "\n  latest stopped tasks of {}:",
            short_revision(revision)
        ));
        for t in &stopped {
            out.push_str(&format!("\n    {}", task_line(t, &containers)));
        }
    }
    out.push_str(&target_health(cx, cluster, id).await);
    if let Some(t) = stopped.first()
        && let Some(c) = failing_container(t, &containers)
    {
        out.push_str(&container_logs(cx, t, c).await);
    }
    out
}

/// The stopped tasks of `revision` in the service, latest first.
async fn stopped_tasks(
    cx: Ctx<'_>,
    cluster: &str,
    id: &str,
    revision: &str,
) -> ApiResult<Vec<Task>> {
    let listed = cx
        .aws
        .ecs
        .list_tasks()
        .cluster(cluster)
        .service_name(last_segment(id))
        .desired_status(DesiredStatus::Stopped)
        .send()
        .await?;
    let arns = listed.task_arns().to_vec();
    if arns.is_empty() {
        return Ok(Vec::new());
    }
    let mut tasks: Vec<Task> = cx
        .aws
        .ecs
        .describe_tasks()
        .cluster(cluster)
        .set_tasks(Some(arns.into_iter().take(100).collect()))
        .send()
        .await?
        .tasks
        .unwrap_or_default()
        .into_iter()
        .filter(|t| {
            t.task_definition_arn()
                .is_some_and(|td| same_revision(td, revision))
        })
        .collect();
    tasks.sort_by_key(|t| std::cmp::Reverse(t.stopped_at().map(|d| (d.secs(), d.subsec_nanos()))));
    tasks.truncate(STOPPED_SHOWN);
    Ok(tasks)
}

/// Whether a container is essential (the default) in its task definition.
fn essential(name: &str, containers: &[ContainerDefinition]) -> bool {
    containers
        .iter()
        .find(|c| c.name() == Some(name))
        .is_none_or(|c| c.essential().unwrap_or(true))
}

/// The essential container that made the task stop: one that exited with
/// a non-zero code, else the first essential one.
fn failing_container<'t>(
    t: &'t Task,
    containers: &[ContainerDefinition],
) -> Option<&'t aws_sdk_ecs::types::Container> {
    let all: Vec<_> = t
        .containers()
        .iter()
        .filter(|c| essential(c.name().unwrap_or_default(), containers))
        .collect();
    all.iter()
        .find(|c| c.exit_code().is_some_and(|e| e != 0))
        .or_else(|| all.first())
        .copied()
}

/// `task 1a2b: Essential container in task exited; container app exit code 1 (reason)`.
fn task_line(t: &Task, containers: &[ContainerDefinition]) -> String {
    let mut line = format!(
        "task {}: {}",
        last_segment(t.task_arn().unwrap_or("?")),
        t.stopped_reason().unwrap_or("stopped, no reason given")
    );
    if let Some(c) = failing_container(t, containers) {
        line.push_str(&format!(
            "; essential container {} exit code {}",
            c.name().unwrap_or("?"),
            c.exit_code()
                .map_or_else(|| "none".to_owned(), |e| e.to_string())
        ));
        if let Some(r) = c.reason() {
            line.push_str(&format!(" ({r})"));
        }
    }
    line
}

/// The unhealthy targets of the service's target groups, with reasons.
async fn target_health(cx: Ctx<'_>, cluster: &str, id: &str) -> String {
    let Ok(Some(s)) = describe(cx, cluster, id).await else {
        return String::new();
    };
    let mut out = String::new();
    for tg in s
        .load_balancers()
        .iter()
        .filter_map(|lb| lb.target_group_arn())
    {
        let health = match cx
            .aws
            .elb
            .describe_target_health()
            .target_group_arn(tg)
            .send()
            .await
        {
            Ok(h) => h,
            Err(e) => {
                out.push_str(&format!(
                    "\n  (could not read the health of {tg}: {})",
                    ApiError::from(e)
                ));
                continue;
            }
        };
        for d in health.target_health_descriptions() {
            let Some(h) = d.target_health() else { continue };
            let state = h.state().map(|s| s.as_str().to_owned()).unwrap_or_default();
            if state == "healthy" {
                continue;
            }
            let target = d.target().map_or("?".to_owned(), |t| {
                format!("{}:{}", t.id().unwrap_or("?"), t.port().unwrap_or_default())
            });
            out.push_str(&format!(
                "\n  target group {}: target {target} {state}: {} {}",
                last_segment(tg),
                h.reason()
                    .map(aws_sdk_elasticloadbalancingv2::types::TargetHealthReasonEnum::as_str)
                    .unwrap_or_default(),
                h.description().unwrap_or_default()
            ));
        }
    }
    out
}

/// Where a container's awslogs driver writes: group and stream prefix.
pub fn awslogs_of(c: &ContainerDefinition) -> Option<(String, Option<String>)> {
    let l = c.log_configuration()?;
    if l.log_driver() != &LogDriver::Awslogs {
        return None;
    }
    let options = l.options()?;
    let group = options.get("awslogs-group")?.clone();
    Some((group, options.get("awslogs-stream-prefix").cloned()))
}

/// The stream of one container of one task: `prefix/container/task-id`.
pub fn stream_name(prefix: &str, container: &str, task_id: &str) -> String {
    format!("{prefix}/{container}/{task_id}")
}

/// The last `LOG_LINES` lines of a container of a stopped task.
async fn container_logs(cx: Ctx<'_>, t: &Task, c: &aws_sdk_ecs::types::Container) -> String {
    let name = c.name().unwrap_or_default();
    let Some(td) = t.task_definition_arn() else {
        return String::new();
    };
    let Ok(def) = cx
        .aws
        .ecs
        .describe_task_definition()
        .task_definition(td)
        .send()
        .await
    else {
        return String::new();
    };
    let Some((group, Some(prefix))) = def
        .task_definition()
        .and_then(|d| {
            d.container_definitions()
                .iter()
                .find(|d| d.name() == Some(name))
        })
        .and_then(awslogs_of)
    else {
        return format!("\n  (container {name} has no awslogs stream prefix: no logs to show)");
    };
    let stream = stream_name(
        &prefix,
        name,
        last_segment(t.task_arn().unwrap_or_default()),
    );
    match cx
        .aws
        .logs
        .get_log_events()
        .log_group_name(&group)
        .log_stream_name(&stream)
        .limit(LOG_LINES)
        .start_from_head(false)
        .send()
        .await
    {
        Ok(o) => {
            let mut out = format!(
                "\n  last {} log lines of container {name} ({group} {stream}):",
                o.events().len()
            );
            for e in o.events() {
                out.push_str(&format!("\n    {}", e.message().unwrap_or_default()));
            }
            out
        }
        Err(e) => format!(
            "\n  (could not read the logs {group} {stream}: {})",
            ApiError::from(e)
        ),
    }
}

/// How many service events `status` shows.
pub const STATUS_EVENTS: usize = 5;

/// Seconds since `t`, for ages.
fn age(t: Option<&aws_smithy_types::DateTime>, now: i64) -> serde_json::Value {
    t.map_or(serde_json::Value::Null, |t| {
        serde_json::json!((now - t.secs()).max(0))
    })
}

fn time(t: Option<&aws_smithy_types::DateTime>) -> serde_json::Value {
    t.and_then(|t| t.fmt(aws_smithy_types::date_time::Format::DateTime).ok())
        .map_or(serde_json::Value::Null, serde_json::Value::String)
}

/// A service as `reconcile status` shows it: counts, deployments with
/// rollout state and age, the latest events.
pub fn service_status(s: &Service, now: i64) -> serde_json::Value {
    let deployments: Vec<serde_json::Value> = s
        .deployments()
        .iter()
        .map(|d| {
            serde_json::json!({
                "id": d.id(),
                "status": d.status(),
                "task_definition": d.task_definition().map(short_revision),
                "rollout_state": d.rollout_state().map(DeploymentRolloutState::as_str),
                "rollout_state_reason": d.rollout_state_reason(),
                "desired": d.desired_count(),
                "running": d.running_count(),
                "pending": d.pending_count().max(0),
                "failed_tasks": d.failed_tasks(),
                "created_at": time(d.created_at()),
                "age_seconds": age(d.created_at(), now),
            })
        })
        .collect();
    let events: Vec<serde_json::Value> = s
        .events()
        .iter()
        .take(STATUS_EVENTS)
        .map(|e| serde_json::json!({ "created_at": time(e.created_at()), "message": e.message() }))
        .collect();
    serde_json::json!({
        "name": s.service_name(),
        "arn": s.service_arn(),
        "status": s.status(),
        "task_definition": s.task_definition().map(short_revision),
        "desired": s.desired_count(),
        "running": s.running_count(),
        "pending": s.pending_count().max(0),
        "deployments": deployments,
        "events": events,
    })
}

/// Services of one cluster (by ARN or name, at most 10), as DescribeServices
/// reports them; those it does not know are absent.
pub async fn describe_services(
    cx: Ctx<'_>,
    cluster: &str,
    ids: &[String],
) -> ApiResult<Vec<Service>> {
    match cx
        .aws
        .ecs
        .describe_services()
        .cluster(cluster)
        .set_services(Some(ids.to_vec()))
        .send()
        .await
        .map_err(ApiError::from)
    {
        Err(e) if e.is_not_found() => Ok(Vec::new()),
        Err(e) => Err(e),
        Ok(o) => Ok(o.services.unwrap_or_default()),
    }
}

/// The targets of a target group with their health, as `reconcile status`
/// shows them.
pub async fn target_group_status(cx: Ctx<'_>, arn: &str) -> ApiResult<serde_json::Value> {
    let out = cx
        .aws
        .elb
        .describe_target_health()
        .target_group_arn(arn)
        .send()
        .await
        .map_err(ApiError::from)?;
    let targets: Vec<serde_json::Value> = out
        .target_health_descriptions()
        .iter()
        .map(|d| {
            let h = d.target_health();
            serde_json::json!({
                "id": d.target().and_then(|t| t.id()),
                "port": d.target().and_then(aws_sdk_elasticloadbalancingv2::types::TargetDescription::port),
                "state": h.and_then(|h| h.state()).map(aws_sdk_elasticloadbalancingv2::types::TargetHealthStateEnum::as_str),
                "reason": h.and_then(|h| h.reason()).map(aws_sdk_elasticloadbalancingv2::types::TargetHealthReasonEnum::as_str),
                "description": h.and_then(|h| h.description()),
            })
        })
        .collect();
    let healthy = targets.iter().filter(|t| t["state"] == "healthy").count();
    Ok(serde_json::json!({
        "arn": arn,
        "healthy": healthy,
        "unhealthy": targets.len() - healthy,
        "targets": targets,
    }))
}

/// Where a container's logs are: the group and stream prefix of its
/// awslogs configuration.
#[derive(Debug, Clone)]
pub struct LogSource {
    pub container: String,
    pub group: String,
    pub prefix: Option<String>,
}

/// The containers of a task definition that log with awslogs.
pub async fn log_sources(cx: Ctx<'_>, task_definition: &str) -> ApiResult<Vec<LogSource>> {
    let out = cx
        .aws
        .ecs
        .describe_task_definition()
        .task_definition(task_definition)
        .send()
        .await?;
    Ok(out
        .task_definition()
        .map(aws_sdk_ecs::types::TaskDefinition::container_definitions)
        .unwrap_or_default()
        .iter()
        .filter_map(|c| {
            let (group, prefix) = awslogs_of(c)?;
            Some(LogSource { container: c.name().unwrap_or_default().to_owned(), group, prefix })
        })
        .collect())
}

/// One log event of a container of a task.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct LogLine {
    pub timestamp: i64,
    pub container: String,
    pub task: String,
    pub message: String,
    pub id: String,
}

/// At most this many events per container and read.
const LOG_EVENTS_MAX: usize = 10_000;

/// The events of every source since `start_ms`, interleaved by time.
pub async fn log_lines(
    cx: Ctx<'_>,
    sources: &[LogSource],
    start_ms: i64,
) -> ApiResult<Vec<LogLine>> {
    let mut lines = Vec::new();
    for src in sources {
        // Streams are `prefix/container/task-id`; without a prefix the
        // group is shared and every stream is read.
        let prefix = src
            .prefix
            .as_ref()
            .map(|p| format!("{p}/{}/", src.container));
        let mut token: Option<String> = None;
        let mut read = 0;
        loop {
            let out = cx
                .aws
                .logs
                .filter_log_events()
                .log_group_name(&src.group)
                .set_log_stream_name_prefix(prefix.clone())
                .start_time(start_ms)
                .set_next_token(token.take())
                .send()
                .await?;
            for e in out.events() {
                let stream = e.log_stream_name().unwrap_or_default();
                // The prefix is checked here too: not every endpoint
                // honours it (the emulator does not).
                if prefix
                    .as_ref()
                    .is_some_and(|p| !stream.starts_with(p.as_str()))
                {
                    continue;
                }
                lines.push(LogLine {
                    timestamp: e.timestamp().unwrap_or_default(),
                    container: src.container.clone(),
                    task: last_segment(stream).to_owned(),
                    message: e.message().unwrap_or_default().trim_end().to_owned(),
                    id: e.event_id().unwrap_or_default().to_owned(),
                });
            }
            read += out.events().len();
            match out.next_token() {
                Some(t) if read < LOG_EVENTS_MAX && !out.events().is_empty() => {
                    token = Some(t.to_owned());
                }
                _ => break,
            }
        }
    }
    lines.sort();
    Ok(lines)
}

/// A one-off task: where and how it runs, and the command override.
#[derive(Debug, Clone, Default)]
pub struct OneOff {
    pub cluster: String,
    pub task_definition: String,
    pub launch_type: Option<String>,
    pub capacity_provider_strategy: Vec<aws_sdk_ecs::types::CapacityProviderStrategyItem>,
    pub network: Option<aws_sdk_ecs::types::NetworkConfiguration>,
    /// The container whose command is overridden (default: the first
    /// essential one).
    pub container: Option<String>,
    pub command: Vec<String>,
}

/// The first essential container of a task definition.
pub async fn essential_container(cx: Ctx<'_>, task_definition: &str) -> ApiResult<String> {
    let out = cx
        .aws
        .ecs
        .describe_task_definition()
        .task_definition(task_definition)
        .send()
        .await?;
    let containers = out
        .task_definition()
        .map(aws_sdk_ecs::types::TaskDefinition::container_definitions)
        .unwrap_or_default();
    containers
        .iter()
        .find(|c| c.essential().unwrap_or(true))
        .or_else(|| containers.first())
        .and_then(|c| c.name().map(str::to_owned))
        .ok_or_else(|| ApiError::msg(format!("{task_definition} has no container")))
}

/// Starts a one-off task; its ARN, or why it could not start.
pub async fn run_task(cx: Ctx<'_>, spec: &OneOff, container: &str) -> ApiResult<String> {
    let overrides = aws_sdk_ecs::types::TaskOverride::builder()
        .container_overrides(
            aws_sdk_ecs::types::ContainerOverride::builder()
                .name(container)
                .set_command(Some(spec.command.clone()))
                .build(),
        )
        .build();
    let out = cx
        .aws
        .ecs
        .run_task()
        .cluster(&spec.cluster)
        .task_definition(&spec.task_definition)
        .set_launch_type(
            spec.launch_type
                .as_deref()
                .map(aws_sdk_ecs::types::LaunchType::from),
        )
        .set_capacity_provider_strategy(
            (!spec.capacity_provider_strategy.is_empty())
                .then(|| spec.capacity_provider_strategy.clone()),
        )
        .set_network_configuration(spec.network.clone())
        .overrides(overrides)
        .started_by("reconcile run")
        .send()
        .await?;
    if let Some(f) = out.failures().first() {
        return Err(ApiError::msg(format!(
            "the task could not start: {}{}",
            f.reason().unwrap_or("no reason given"),
            f.detail().map(|d| format!(" ({d})")).unwrap_or_default()
        )));
    }
    out.tasks()
        .first()
        .and_then(Task::task_arn)
        .map(str::to_owned)
        .ok_or_else(|| ApiError::msg("RunTask started no task and named no failure"))
}

/// A task as DescribeTasks reports it.
pub async fn describe_task(cx: Ctx<'_>, cluster: &str, arn: &str) -> ApiResult<Option<Task>> {
    let out = cx
        .aws
        .ecs
        .describe_tasks()
        .cluster(cluster)
        .tasks(arn)
        .send()
        .await?;
    Ok(out.tasks.and_then(|t| t.into_iter().next()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ecs::types::{Container, ServiceEvent};

    fn deployment(td: &str, state: DeploymentRolloutState, status: &str) -> Deployment {
        Deployment::builder()
            .status(status)
            .task_definition(format!("arn:aws:ecs:us-east-1:1:task-definition/{td}"))
            .rollout_state(state)
            .desired_count(2)
            .running_count(1)
            .pending_count(1)
            .build()
    }

    fn service(td: &str, deployments: Vec<Deployment>) -> Service {
        Service::builder()
            .status("ACTIVE")
            .task_definition(format!("arn:aws:ecs:us-east-1:1:task-definition/{td}"))
            .desired_count(2)
            .running_count(2)
            .set_deployments(Some(deployments))
            .events(
                ServiceEvent::builder()
                    .message("(service web) has reached a steady state.")
                    .build(),
            )
            .build()
    }

    #[test]
    fn a_deployment_is_steady_only_when_its_revision_completed_alone() {
        let done = service(
            "web:2",
            vec![deployment(
                "web:2",
                DeploymentRolloutState::Completed,
                "PRIMARY",
            )],
        );
        assert_eq!(judge(&done, "web:2"), Verdict::Steady);
        let rolling = service(
            "web:2",
            vec![
                deployment("web:2", DeploymentRolloutState::InProgress, "PRIMARY"),
                deployment("web:1", DeploymentRolloutState::Completed, "ACTIVE"),
            ],
        );
        assert_eq!(judge(&rolling, "web:2"), Verdict::Rolling);
        let line = progress_line(&rolling);
        assert!(
            line.contains("new web:2 IN_PROGRESS running 1/2 pending 1"),
            "{line}"
        );
        assert!(line.contains("old web:1 COMPLETED"), "{line}");
        assert!(line.contains("steady state"), "{line}");
    }

    #[test]
    fn a_rollback_is_a_failure_even_when_the_old_revision_is_steady() {
        let failed = service(
            "web:2",
            vec![deployment(
                "web:2",
                DeploymentRolloutState::Failed,
                "PRIMARY",
            )],
        );
        assert!(
            matches!(judge(&failed, "web:2"), Verdict::Failed(w) if w.contains("web:2 failed"))
        );
        let rolled_back = service(
            "web:1",
            vec![deployment(
                "web:1",
                DeploymentRolloutState::Completed,
                "PRIMARY",
            )],
        );
        assert!(
            matches!(judge(&rolled_back, "web:2"), Verdict::Failed(w) if w.contains("rolled back to web:1"))
        );
    }

    #[test]
    fn tasks_that_keep_stopping_fail_the_deployment_at_the_circuit_breakers_threshold() {
        let mut d = deployment("web:2", DeploymentRolloutState::InProgress, "PRIMARY");
        d.failed_tasks = 2;
        assert_eq!(
            judge(&service("web:2", vec![d.clone()]), "web:2"),
            Verdict::Rolling
        );
        d.failed_tasks = 3;
        assert!(matches!(
            judge(&service("web:2", vec![d]), "web:2"),
            Verdict::Failed(_)
        ));
        assert_eq!(failed_task_threshold(10), 5);
        assert_eq!(failed_task_threshold(1000), 200);
    }

    #[test]
    fn revisions_compare_by_family_and_number_whether_arns_or_not() {
        assert!(same_revision(
            "arn:aws:ecs:us-east-1:1:task-definition/web:3",
            "web:3"
        ));
        assert!(!same_revision("web:3", "web:2"));
        assert!(same_revision(
            "web",
            "arn:aws:ecs:us-east-1:1:task-definition/web:9"
        ));
    }

    #[test]
    fn a_stopped_task_names_its_reason_and_the_essential_containers_exit_code() {
        let t = Task::builder()
            .task_arn("arn:aws:ecs:us-east-1:1:task/shop/abc123")
            .stopped_reason("Essential container in task exited")
            .containers(Container::builder().name("sidecar").exit_code(0).build())
            .containers(
                Container::builder()
                    .name("app")
                    .exit_code(137)
                    .reason("OutOfMemoryError")
                    .build(),
            )
            .build();
        let line = task_line(&t, &[]);
        assert_eq!(
            line,
            "task abc123: Essential container in task exited; essential container app exit code 137 (OutOfMemoryError)"
        );
        assert_eq!(stream_name("web", "app", "abc123"), "web/app/abc123");
    }
}
