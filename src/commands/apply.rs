//! `reconcile apply` and `reconcile destroy`: plan, confirm, execute; or
//! execute a saved plan; or only record drift (`--refresh-only`).

use std::path::Path;

use anyhow::Context;

use crate::apply::{Executor, Report};
use crate::cli::{ApplyArgs, ApplyCmdArgs, Global};
use crate::plan::{Plan, drift, saved};
use crate::ui::Ui;

use super::{PlanOptions, Session};

/// The exit code of an apply whose every failure is an ECS deployment that
/// failed, rolled back or timed out (any other failure exits 1).
pub const EXIT_DEPLOYMENT_FAILED: i32 = 3;

pub async fn run(global: &Global, args: &ApplyCmdArgs) -> anyhow::Result<i32> {
    if let Some(file) = &args.plan_file {
        let code = run_saved(global, file, args.no_wait).await?;
        super::print_stats(args.common.stats);
        return Ok(code);
    }
    if args.refresh_only {
        let code = refresh_only(global, &args.common).await?;
        super::print_stats(args.common.stats);
        return Ok(code);
    }
    let opts = PlanOptions {
        destroy: false,
        targets: args.common.targeting.targets.clone(),
        replace: args.replace.clone(),
    };
    run_planned(global, &args.common, &opts, args.no_wait).await
}

pub async fn destroy(global: &Global, args: &ApplyArgs) -> anyhow::Result<i32> {
    let opts = PlanOptions {
        destroy: true,
        targets: args.targeting.targets.clone(),
        replace: Vec::new(),
    };
    run_planned(global, args, &opts, false).await
}

async fn run_planned(
    global: &Global,
    args: &ApplyArgs,
    opts: &PlanOptions,
    no_wait: bool,
) -> anyhow::Result<i32> {
    let ui = super::ui(global);
    // Fail before any AWS call rather than after a long refresh.
    super::can_confirm(args.auto_approve)?;
    let mut session = Session::open(global).await?;
    let plan = session.plan(opts).await?;
    ui.plan(&plan);
    if plan.has_changes() {
        let question = if opts.destroy && opts.targets.is_empty() {
            "Do you really want to destroy all resources of this stack?"
        } else if opts.destroy {
            "Do you really want to destroy these resources?"
        } else {
            "Do you want to perform these actions?"
        };
        if !super::confirm(question, args.auto_approve)? {
            ui.line(if opts.destroy {
                "Destroy cancelled."
            } else {
                "Apply cancelled."
            });
            session.close().await?;
            return Ok(1);
        }
        ui.line("");
    }
    let (code, report) = execute(&mut session, &plan, ui, global.parallelism, no_wait).await?;
    if let Some(file) = &args.summary_markdown {
        write_summary(file, &summary_markdown(&plan, Some(&report)))?;
    }
    super::print_stats(args.stats);
    session.close().await?;
    Ok(code)
}

/// The outcome of a run (or, without a report, that nothing was applied)
/// above the plan, as Markdown that fits a pull-request comment.
pub fn summary_markdown(plan: &Plan, report: Option<&Report>) -> String {
    use crate::plan::markdown::{COMMENT_LIMIT, markdown};
    let what = if plan.destroy { "Destroy" } else { "Apply" };
    let mut head = match report {
        None => "**Not applied** (drift found, `--correct` not given).\n".to_owned(),
        Some(r) if r.failures.is_empty() && !r.interrupted => format!(
            "**{what} complete:** {} added, {} changed, {} destroyed.\n",
            r.added, r.changed, r.destroyed
        ),
        Some(r) => format!(
            "**{what} incomplete:** {} added, {} changed, {} destroyed; {} failed, {} skipped{}.\n",
            r.added,
            r.changed,
            r.destroyed,
            r.failures.len(),
            r.skipped.len(),
            if r.interrupted { "; interrupted" } else { "" }
        ),
    };
    for f in report.map(|r| r.failures.as_slice()).unwrap_or_default() {
        let first = f.message.lines().next().unwrap_or_default();
        head.push_str(&format!(
            "- {} `{}`: {}\n",
            f.operation,
            f.address,
            first.replace('`', "'")
        ));
    }
    head.push('\n');
    let body = markdown(plan, COMMENT_LIMIT.saturating_sub(head.len()));
    // The plan's own heading first, then the outcome, then the rest.
    match body.split_once('\n') {
        Some((title, rest)) => format!("{title}\n\n{head}{}", rest.trim_start_matches('\n')),
        None => format!("{head}{body}"),
    }
}

/// Writes a Markdown summary, naming the file when that fails.
pub fn write_summary(file: &Path, markdown: &str) -> anyhow::Result<()> {
    std::fs::write(file, markdown)
        .with_context(|| format!("writing the Markdown summary to {}", file.display()))
}

/// Runs a plan and reports; the exit code: 0 done, 1 something failed,
/// `EXIT_DEPLOYMENT_FAILED` only deployments failed.
pub async fn execute(
    session: &mut Session,
    plan: &Plan,
    ui: Ui,
    parallelism: u16,
    no_wait: bool,
) -> anyhow::Result<(i32, Report)> {
    let executor = Executor {
        clients: session.clients.clone(),
        config: &session.config,
        store: session.store.as_ref(),
        fingerprints: &session.fingerprints,
        ui: ui.clone(),
        parallelism: usize::from(parallelism),
        no_wait,
    };
    let report = {
        let _phase = crate::aws::stats::Phase::start("apply");
        executor.run(plan, &mut session.state).await
    };
    ui.finish_progress();
    let report = report?;
    // Only an apply that succeeded, of the whole desired state, records
    // the values given to `persist` variables.
    if report.failures.is_empty() && !report.interrupted && !plan.destroy && plan.targets.is_empty()
    {
        session.record_persisted().await?;
    }
    Ok((finish(&ui, &report, plan.destroy, session), report))
}

/// `apply <file>`: exactly the saved plan, or nothing if anything it was
/// made from changed.
async fn run_saved(global: &Global, file: &Path, no_wait: bool) -> anyhow::Result<i32> {
    let ui = super::ui(global);
    let mut saved_plan = saved::load(file)?;
    let mut session = Session::open(global).await?;
    saved::check(&saved_plan, file, &session.config, &mut session.state)?;
    let lookups = crate::plan::lookups::read_all(&session.clients, &session.config.lookups).await?;
    saved::restore_lookups(&mut saved_plan, file, lookups)?;
    let plan = saved_plan.plan;
    ui.plan(&plan);
    ui.line("");
    let (code, _) = execute(&mut session, &plan, ui, global.parallelism, no_wait).await?;
    session.close().await?;
    Ok(code)
}

/// `apply --refresh-only`: records live values in the state; no AWS write.
async fn refresh_only(global: &Global, args: &ApplyArgs) -> anyhow::Result<i32> {
    let ui = super::ui(global);
    super::can_confirm(args.auto_approve)?;
    let mut session = Session::open(global).await?;
    let live = session.refresh().await?;
    let drifts = drift::drift(
        Some(&session.config),
        &session.state,
        &live,
        &session.fingerprints,
    );
    ui.line(drift::text(&drifts, ui.style).trim_end());
    if !drifts.is_empty() {
        if !super::confirm(
            "Do you want to record these live values in the state? AWS is not changed.",
            args.auto_approve,
        )? {
            ui.line("Apply cancelled.");
            session.close().await?;
            return Ok(1);
        }
        drift::record(&mut session.state, &live);
        session.save().await?;
    }
    ui.line(&ui.style.green(&format!(
        "\nApply complete! Recorded {} resource{} in the state; nothing changed in AWS.",
        drifts.len(),
        if drifts.len() == 1 { "" } else { "s" }
    )));
    session.close().await?;
    Ok(0)
}

fn finish(ui: &Ui, report: &Report, destroy: bool, session: &Session) -> i32 {
    let st = ui.style;
    if report.failures.is_empty() && !report.interrupted {
        if destroy {
            ui.line(&st.green(&format!(
                "\nDestroy complete! Resources: {} destroyed.",
                report.destroyed
            )));
        } else {
            ui.line(&st.green(&format!(
                "\nApply complete! Resources: {} added, {} changed, {} destroyed.",
                report.added, report.changed, report.destroyed
            )));
            let sensitive: Vec<String> = session
                .config
                .outputs
                .keys()
                .filter(|k| session.config.is_sensitive_output(k))
                .cloned()
                .collect();
            ui.outputs(&session.state.outputs, &sensitive);
        }
        return 0;
    }
    let mut msg = format!(
        "{} incomplete: {} added, {} changed, {} destroyed; {} failed, {} skipped.",
        if destroy { "Destroy" } else { "Apply" },
        report.added,
        report.changed,
        report.destroyed,
        report.failures.len(),
        report.skipped.len()
    );
    for f in &report.failures {
        msg.push_str(&format!("\n  {} {}: {}", f.operation, f.address, f.message));
    }
    if report.interrupted {
        msg.push_str("\n  interrupted: operations not started were left for the next run");
    }
    msg.push_str(&format!(
        "\nEverything that finished is recorded in {}; run the command again to continue.",
        session.store.location()
    ));
    ui.error(&msg);
    let only_deployments = !report.interrupted && report.failures.iter().all(|f| f.deployment);
    if only_deployments {
        EXIT_DEPLOYMENT_FAILED
    } else {
        1
    }
}
