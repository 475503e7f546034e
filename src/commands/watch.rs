//! `reconcile watch`: refresh and plan in a loop, report drift as one JSON
//! line per cycle on stdout (human progress goes to stderr), and correct it
//! with `--correct`. A failing cycle is reported and the loop backs off;
//! SIGTERM/SIGINT end the loop after the cycle in flight.
//!
//! `--once` exit codes, like `plan --detailed-exitcode`: 0 no drift, 2 drift
//! found (whether or not `--correct` fixed it, so that monitoring sees it),
//! 1 the cycle failed (including a correction that did not complete).

use std::time::{Duration, Instant};

use serde_json::json;

use crate::cli::{Global, WatchArgs};
use crate::plan::Action;
use crate::shutdown;

use super::{PlanOptions, Session};

/// The longest pause after repeated failures.
const MAX_BACKOFF: Duration = Duration::from_secs(3600);

struct Cycle {
    stack: Option<String>,
    drifted: Vec<String>,
    actions: Vec<serde_json::Value>,
    errors: Vec<String>,
}

pub async fn run(global: &Global, args: &WatchArgs) -> anyhow::Result<i32> {
    let _graceful = shutdown::graceful();
    let mut failures: u32 = 0;
    loop {
        let started = Instant::now();
        let mut cycle = Cycle {
            stack: None,
            drifted: Vec::new(),
            actions: Vec::new(),
            errors: Vec::new(),
        };
        if let Err(e) = run_cycle(global, args, &mut cycle).await {
            cycle.errors.push(format!("{e:#}"));
        }
        let line = json!({
            "time": humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string(),
            "stack": cycle.stack,
            "drifted": cycle.drifted,
            "actions": cycle.actions,
            "errors": cycle.errors,
            "duration_ms": u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        });
        println!("{line}");
        if args.once {
            return Ok(match (cycle.errors.is_empty(), cycle.drifted.is_empty()) {
                (false, _) => 1,
                (true, true) => 0,
                (true, false) => 2,
            });
        }
        failures = if cycle.errors.is_empty() {
            0
        } else {
            failures.saturating_add(1)
        };
        if shutdown::requested() {
            return Ok(0);
        }
        let pause = pause(args.interval, failures, started.elapsed());
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = shutdown::wait() => return Ok(0),
        }
    }
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

async fn run_cycle(global: &Global, args: &WatchArgs, cycle: &mut Cycle) -> anyhow::Result<()> {
    let mut ui = super::ui(global);
    ui.to_stderr = true;
    let mut session = Session::open(global).await?;
    cycle.stack = Some(session.config.stack.clone());
    let result = async {
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
        ui.plan(&plan);
        let executor = crate::apply::Executor {
            clients: session.clients.clone(),
            config: &session.config,
            store: session.store.as_ref(),
            fingerprints: &session.fingerprints,
            ui,
            parallelism: usize::from(global.parallelism),
        };
        let report = executor.run(&plan, &mut session.state).await?;
        if let Some(file) = &args.summary_markdown {
            super::apply::write_summary(
                file,
                &super::apply::summary_markdown(&plan, Some(&report)),
            )?;
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
        anyhow::Ok(())
    }
    .await;
    session.close().await?;
    result
}

#[cfg(test)]
mod tests {
    use super::*;

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
