//! `reconcile logs ADDRESS [--since 10m] [--follow]`: the CloudWatch Logs of
//! a service's (or task definition's) containers, as their awslogs
//! configuration says, interleaved by time, each line prefixed by its
//! container and task id. `--follow` keeps reading until interrupted.

use std::collections::HashSet;
use std::time::Duration;

use anyhow::{anyhow, bail};

use crate::cli::{Global, LogsArgs};
use crate::kinds::Ctx;
use crate::kinds::ecs::deployment::{LogLine, log_lines, log_sources};
use crate::value::Value;

/// How often `--follow` reads again.
const FOLLOW_EVERY: Duration = Duration::from_secs(2);

pub async fn run(global: &Global, args: &LogsArgs) -> anyhow::Result<i32> {
    let (config, path, state) = super::read_state(global).await?;
    let state = state.ok_or_else(|| anyhow!("no state at {path}: run `reconcile apply` first"))?;
    let config = config.ok_or_else(|| anyhow!("logs needs the desired state (--desired)"))?;
    let Some(r) = state.resources.get(&args.address) else {
        let hint =
            crate::schema::did_you_mean(&args.address, state.resources.keys().map(String::as_str));
        bail!("`{}` is not in the state{hint}", args.address);
    };
    let task_definition = match r.kind.as_str() {
        "ecs_task_definition" => r.id.clone(),
        "ecs_service" => match r.attributes.get("task_definition") {
            Some(Value::Str(td)) => td.clone(),
            _ => bail!("{}: the state records no task definition", args.address),
        },
        other => bail!(
            "`{}` is a {other}: logs shows ecs_service and ecs_task_definition resources",
            args.address
        ),
    };
    let clients = super::clients_of(global, &config).await;
    let cx = Ctx { aws: &clients, stack: &config.stack };
    let sources = log_sources(cx, &task_definition).await?;
    if sources.is_empty() {
        bail!(
            "{}: no container of {task_definition} logs with the awslogs driver",
            args.address
        );
    }
    let ui = super::ui(global);
    let now_ms = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64)
    };
    let mut start = now_ms() - args.since.as_millis() as i64;
    let mut seen: HashSet<String> = HashSet::new();
    loop {
        for line in log_lines(cx, &sources, start).await? {
            if !line.id.is_empty() && !seen.insert(line.id.clone()) {
                continue;
            }
            start = start.max(line.timestamp);
            ui.line(&format_line(&line));
        }
        if !args.follow {
            return Ok(0);
        }
        tokio::select! {
            () = tokio::time::sleep(FOLLOW_EVERY) => {}
            () = crate::apply::shutdown::wait() => return Ok(0),
        }
    }
}

/// `2026-12-07T20:00:01.123Z [app 0f1e2d3c] message`.
fn format_line(l: &LogLine) -> String {
    let at = aws_smithy_types::DateTime::from_millis(l.timestamp)
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_default();
    format!("{at} [{} {}] {}", l.container, l.task, l.message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_names_its_time_container_and_task() {
        let l = LogLine {
            timestamp: 1_765_000_000_123,
            container: "app".into(),
            task: "0f1e".into(),
            message: "ready".into(),
            id: "1".into(),
        };
        assert_eq!(format_line(&l), "2025-12-06T05:46:40.123Z [app 0f1e] ready");
    }
}
