//! `reconcile watch`: refresh and plan in a loop, report drift as one JSON
//! line per cycle on stdout (human progress goes to stderr), and correct it
//! with `--correct`. A failing cycle is reported and the loop backs off;
//! SIGTERM/SIGINT end the loop after the cycle in flight.
//!
//! `--once` exit codes, like `plan --detailed-exitcode`: 0 no drift, 2 drift
//! found (whether or not `--correct` fixed it, so that monitoring sees it),
//! 1 the cycle failed (including a correction that did not complete).

//!
//! `--stacks DIR...` or `--fleet FILE` watch many stacks from one process:
//! each stack runs the same loop with its own backoff, at most
//! `--stack-parallelism` cycles run at once, each line names its stack,
//! account and region, and `--once` exits with the worst code of all.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::sync::Semaphore;

use crate::apply::shutdown;
use crate::cli::{Global, WatchArgs};
use crate::plan::Action;
use crate::state::StateError;
use crate::ui::Ui;

use super::{PlanOptions, Session};

/// The longest pause after repeated failures.
const MAX_BACKOFF: Duration = Duration::from_hours(1);

#[derive(Default)]
struct Cycle {
    stack: Option<String>,
    account: Option<String>,
    region: Option<String>,
    /// Who holds the state's lock when the cycle found it taken.
    locked: Option<String>,
    drifted: Vec<String>,
    actions: Vec<serde_json::Value>,
    errors: Vec<String>,
}

impl Cycle {
    /// The `--once` exit code: 1 the cycle failed, 2 drift, 0 none.
    fn code(&self) -> i32 {
        match (self.errors.is_empty(), self.drifted.is_empty()) {
            (false, _) => 1,
            (true, true) => 0,
            (true, false) => 2,
        }
    }
}

/// The worst of several `--once` codes: an error, then drift, then none.
fn worst(codes: impl IntoIterator<Item = i32>) -> i32 {
    codes
        .into_iter()
        .max_by_key(|c| match c {
            0 => 0,
            2 => 1,
            _ => 2,
        })
        .unwrap_or(0)
}

pub async fn run(global: &Global, args: &WatchArgs) -> anyhow::Result<i32> {
    let _graceful = shutdown::graceful();
    let dirs = super::fleet::stacks(args)?;
    if dirs.is_empty() {
        return Ok(watch_stack(global, args, &Semaphore::new(1)).await);
    }
    // Given before the subcommand, these escape clap's conflicts.
    if global.desired != Path::new("desired") {
        anyhow::bail!("--desired names one stack; --stacks and --fleet name each of theirs");
    }
    if global.state.is_some() || !global.vars.is_empty() || !global.var_files.is_empty() {
        anyhow::bail!(
            "--state, --var and --var-file belong to one stack; with --stacks or --fleet each stack has its own backend, and variables come from RECONCILE_VAR_* or each state's persisted values"
        );
    }
    // The one cap on stacks in flight; each stack's own operations are
    // capped by --parallelism inside its cycle.
    let permits = Semaphore::new(usize::from(args.stack_parallelism));
    let globals: Vec<Global> = dirs
        .iter()
        .map(|dir| {
            let mut g = global.clone();
            g.desired.clone_from(dir);
            g.label = Some(stack_label(dir));
            g
        })
        .collect();
    let codes =
        futures::future::join_all(globals.iter().map(|g| watch_stack(g, args, &permits))).await;
    Ok(worst(codes))
}

/// How a stack's human lines are marked: its directory's name.
fn stack_label(dir: &Path) -> String {
    dir.file_name().map_or_else(
        || dir.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// One stack's loop (one cycle with `--once`, whose code it returns).
async fn watch_stack(global: &Global, args: &WatchArgs, permits: &Semaphore) -> i32 {
    let mut ui = super::ui(global);
    ui.to_stderr = true;
    let mut failures: u32 = 0;
    loop {
        let mut cycle = Cycle::default();
        let started;
        {
            // Closed by the runtime only at exit: a permit is always had.
            let _permit = permits.acquire().await;
            started = Instant::now();
            if let Err(e) = run_cycle(global, args, &ui, &mut cycle).await {
                if let Some(StateError::Locked { holder, .. }) = e.downcast_ref::<StateError>() {
                    cycle.locked = Some(holder.clone());
                }
                cycle.errors.push(format!("{e:#}"));
            }
        }
        ui.record(&report(global, &cycle, started.elapsed()));
        if args.once {
            return cycle.code();
        }
        failures = if cycle.errors.is_empty() {
            0
        } else {
            failures.saturating_add(1)
        };
        if shutdown::requested() {
            return 0;
        }
        let pause = pause(args.interval, failures, started.elapsed());
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            () = shutdown::wait() => return 0,
        }
    }
}

/// A cycle's JSON line.
fn report(global: &Global, cycle: &Cycle, took: Duration) -> serde_json::Value {
    json!({
        "time": humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string(),
        "stack": cycle.stack,
        "desired": PathBuf::from(&global.desired).display().to_string(),
        "account": cycle.account,
        "region": cycle.region,
        "locked": cycle.locked,
        "drifted": cycle.drifted,
        "actions": cycle.actions,
        "errors": cycle.errors,
        "duration_ms": u64::try_from(took.as_millis()).unwrap_or(u64::MAX),
    })
}

/// The wait before the next cycle: the rest of the interval, or after
/// `failures` failing cycles in a row 2, 4, 8... intervals, up to an hour
/// (never less than one interval).
fn pause(interval: Duration, failures: u32, elapsed: Duration) -> Duration {
    if failures == 0 {
        return interval.saturating_sub(elapsed);
    }
    let factor = 2u32.saturating_pow(failures.min(16));
    interval
        .saturating_mul(factor)
        .min(MAX_BACKOFF.max(interval))
}

async fn run_cycle(
    global: &Global,
    args: &WatchArgs,
    ui: &Ui,
    cycle: &mut Cycle,
) -> anyhow::Result<()> {
    // Named even when its state cannot be opened (locked, unreadable).
    if let Some(l) = crate::config::locate(&global.desired) {
        cycle.stack = Some(l.stack);
        cycle.region = Some(l.region);
        cycle.account = l.account;
    }
    let mut session = Session::open(global).await?;
    cycle.stack = Some(session.config.stack.clone());
    cycle.region = Some(session.config.region.clone());
    let result = async {
        cycle.account = Some(account(&session).await?);
        let plan = session.plan(&PlanOptions::default()).await?;
        cycle.drifted = plan
            .changes
            .iter()
            .filter(|c| c.action != Action::NoOp)
            .map(|c| c.address.clone())
            .collect();
        if !args.correct || !plan.has_changes() {
            if plan.has_changes() {
                ui.plan(&plan);
                if let Some(file) = &args.summary_markdown {
                    super::apply::write_summary(
                        file,
                        &super::apply::summary_markdown(&plan, None),
                    )?;
                }
            }
            return Ok(());
        }
        correct(global, args, ui, &mut session, &plan, cycle).await
    }
    .await;
    session.close().await?;
    result
}

/// Applies the plan of a cycle that found drift, and records what it did.
async fn correct(
    global: &Global,
    args: &WatchArgs,
    ui: &Ui,
    session: &mut Session,
    plan: &crate::plan::Plan,
    cycle: &mut Cycle,
) -> anyhow::Result<()> {
    ui.plan(plan);
    let executor = crate::apply::Executor {
        clients: session.clients.clone(),
        config: &session.config,
        store: session.store.as_ref(),
        fingerprints: &session.fingerprints,
        ui: ui.clone(),
        parallelism: usize::from(global.parallelism),
        no_wait: false,
    };
    let report = executor.run(plan, &mut session.state).await?;
    if let Some(file) = &args.summary_markdown {
        super::apply::write_summary(file, &super::apply::summary_markdown(plan, Some(&report)))?;
    }
    let not_done: Vec<&String> = report
        .failures
        .iter()
        .map(|f| &f.address)
        .chain(&report.skipped)
        .collect();
    cycle.actions = plan
        .changes
        .iter()
        .filter(|c| c.action != Action::NoOp && !not_done.contains(&&c.address))
        .map(|c| json!({ "address": c.address, "action": c.action.as_str() }))
        .collect();
    cycle.errors.extend(
        report
            .failures
            .iter()
            .map(|f| format!("{} {}: {}", f.operation, f.address, f.message)),
    );
    if report.interrupted {
        cycle
            .errors
            .push("interrupted: operations not started were left for the next cycle".into());
    } else if report.failures.is_empty() {
        session.record_persisted().await?;
    }
    Ok(())
}

/// The account the stack's calls run in, as STS sees the credentials (so
/// a role that cannot be assumed fails the cycle before any read).
async fn account(session: &Session) -> anyhow::Result<String> {
    let role = session.config.assume_role.as_ref();
    let who = session
        .clients
        .sts
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| {
            let e = crate::aws::ApiError::from(e);
            match role {
                Some(r) => anyhow::anyhow!(
                    "stack `{}`: cannot act as {} (its [stack] assume_role): {e}",
                    session.config.stack,
                    r.role_arn
                ),
                None => anyhow::anyhow!(
                    "stack `{}`: the credentials are refused: {e}",
                    session.config.stack
                ),
            }
        })?;
    Ok(who.account().unwrap_or_default().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_code_of_many_stacks_is_the_worst_of_theirs() {
        assert_eq!(worst([0, 0]), 0);
        assert_eq!(worst([0, 2, 0]), 2);
        assert_eq!(worst([2, 1, 0]), 1);
        assert_eq!(worst([1, 2]), 1);
        assert_eq!(worst(Vec::new()), 0);
    }

    #[test]
    fn failing_cycles_back_off_exponentially_up_to_an_hour() {
        let s = Duration::from_secs;
        assert_eq!(pause(s(60), 0, s(10)), s(50));
        assert_eq!(pause(s(60), 0, s(90)), s(0));
        assert_eq!(pause(s(60), 1, s(10)), s(120));
        assert_eq!(pause(s(60), 3, s(10)), s(480));
        assert_eq!(pause(s(60), 30, s(10)), s(3600));
        // An interval longer than the cap is never shortened.
        assert_eq!(pause(s(7200), 2, s(0)), s(7200));
    }
}
