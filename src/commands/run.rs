//! `reconcile run TASK_DEFINITION_ADDRESS [--container NAME] -- COMMAND...`:
//! a one-off task (a migration, a management command) of a task definition
//! of the state, on the cluster, launch type and network of the service
//! that runs it (or as the flags say), with the command overridden. Streams
//! its logs and exits with the container's exit code.

use std::collections::HashSet;
use std::time::Duration;

use anyhow::{anyhow, bail};

use crate::cli::{Global, RunArgs};
use crate::kinds::Ctx;
use crate::kinds::ecs::deployment::{
    OneOff, describe_task, essential_container, log_lines, log_sources, run_task, same_revision,
};
use crate::kinds::ecs::service::network_configuration;
use crate::kinds::ecs::{last_segment, strategy_items};
use crate::kinds::str_attr;
use crate::state::State;
use crate::value::{Attrs, Value};

/// How often the task is looked at while it runs.
const POLL: Duration = Duration::from_secs(2);

pub async fn run(global: &Global, args: &RunArgs) -> anyhow::Result<i32> {
    let (config, path, state) = super::read_state(global).await?;
    let state = state.ok_or_else(|| anyhow!("no state at {path}: run `reconcile apply` first"))?;
    let config = config.ok_or_else(|| anyhow!("run needs the desired state (--desired)"))?;
    let spec = one_off(&state, args)?;
    let clients = super::clients_of(global, &config).await;
    let cx = Ctx { aws: &clients, stack: &config.stack };
    let ui = super::ui(global);
    let container = match &spec.container {
        Some(c) => c.clone(),
        None => essential_container(cx, &spec.task_definition).await?,
    };
    let arn = run_task(cx, &spec, &container)
        .await
        .map_err(|e| anyhow!("{}: {e}", args.address))?;
    let id = last_segment(&arn).to_owned();
    ui.line(&format!(
        "Started task {id} of {} on cluster {} running {:?} in container {container}",
        last_segment(&spec.task_definition),
        last_segment(&spec.cluster),
        spec.command.join(" ")
    ));
    let sources: Vec<_> = log_sources(cx, &spec.task_definition)
        .await?
        .into_iter()
        .filter(|s| s.container == container)
        .collect();
    let mut seen = HashSet::new();
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
        - 60_000;
    loop {
        let task = describe_task(cx, &spec.cluster, &arn).await?;
        // Logs so far, then whether it ended (its last lines are read
        // after it stopped).
        for line in log_lines(cx, &sources, started).await.unwrap_or_default() {
            if line.task == id && seen.insert(line.id.clone()) {
                ui.line(&format!(
                    "[{} {}] {}",
                    line.container, line.task, line.message
                ));
            }
        }
        let Some(task) = task else {
            bail!("task {id} is gone from cluster {}", spec.cluster);
        };
        if task.last_status() == Some("STOPPED") {
            let code = task
                .containers()
                .iter()
                .find(|c| c.name() == Some(container.as_str()))
                .and_then(aws_sdk_ecs::types::Container::exit_code);
            let reason = task.stopped_reason().unwrap_or("no reason given");
            return match code {
                Some(code) => {
                    ui.line(&format!(
                        "Task {id} stopped ({reason}); container {container} exit code {code}"
                    ));
                    Ok(code.clamp(0, 255))
                }
                None => bail!(
                    "task {id} stopped without an exit code of container {container}: {reason}"
                ),
            };
        }
        tokio::select! {
            () = tokio::time::sleep(POLL) => {}
            () = crate::apply::shutdown::wait() => {
                bail!("interrupted; task {id} keeps running (aws ecs stop-task --cluster {} --task {id})", spec.cluster);
            }
        }
    }
}

/// Where and how the task runs: the flags, over the settings of the
/// service of the state that runs this task definition.
fn one_off(state: &State, args: &RunArgs) -> anyhow::Result<OneOff> {
    let Some(r) = state.resources.get(&args.address) else {
        let hint =
            crate::schema::did_you_mean(&args.address, state.resources.keys().map(String::as_str));
        bail!("`{}` is not in the state{hint}", args.address);
    };
    if r.kind != "ecs_task_definition" {
        bail!(
            "`{}` is a {}: run takes an ecs_task_definition",
            args.address,
            r.kind
        );
    }
    // The service of the state that runs this revision.
    let service: Option<&Attrs> = state
        .resources
        .values()
        .filter(|s| s.kind == "ecs_service")
        .map(|s| &s.attributes)
        .find(|s| str_attr(s, "task_definition").is_some_and(|td| same_revision(&td, &r.id)));
    let cluster = args
        .cluster
        .clone()
        .or_else(|| service.and_then(|s| str_attr(s, "cluster")))
        .ok_or_else(|| {
            anyhow!(
                "no ecs_service of the state runs {}: say where with --cluster (and --launch-type, --subnet, --security-group)",
                args.address
            )
        })?;
    let from_service = |name: &str| service.and_then(|s| s.get(name)).filter(|v| !v.is_null());
    let network = if args.subnets.is_empty() {
        network_configuration(from_service("network_configuration"))?
    } else {
        let flags = crate::kinds::support::table([
            ("subnets", Value::from(args.subnets.clone())),
            ("security_groups", Value::from(args.security_groups.clone())),
            ("assign_public_ip", Value::Bool(args.assign_public_ip)),
        ]);
        network_configuration(Some(&flags))?
    };
    let launch_type = args
        .launch_type
        .clone()
        .or_else(|| service.and_then(|s| str_attr(s, "launch_type")));
    let strategy = if launch_type.is_some() {
        Vec::new()
    } else {
        strategy_items(from_service("capacity_provider_strategy"))?
    };
    Ok(OneOff {
        cluster,
        task_definition: r.id.clone(),
        launch_type,
        capacity_provider_strategy: strategy,
        network,
        container: args.container.clone(),
        command: args.command.clone(),
    })
}
