//! `reconcile apply` and `reconcile destroy`: plan, confirm, execute.

use crate::apply::{Executor, Report};
use crate::cli::{ApplyArgs, Global};

use super::Session;

pub async fn run(global: &Global, args: &ApplyArgs, destroy: bool) -> anyhow::Result<i32> {
    let ui = super::ui(global);
    // Fail before any AWS call rather than after a long refresh.
    super::can_confirm(args.auto_approve)?;
    let mut session = Session::open(global).await?;
    let plan = session.plan(destroy).await?;
    ui.plan(&plan);
    if plan.has_changes() {
        let question = if destroy {
            "Do you really want to destroy all resources of this stack?"
        } else {
            "Do you want to perform these actions?"
        };
        if !super::confirm(question, args.auto_approve)? {
            ui.line(if destroy {
                "Destroy cancelled."
            } else {
                "Apply cancelled."
            });
            return Ok(1);
        }
        ui.line("");
    }
    let executor = Executor {
        clients: session.clients.clone(),
        config: &session.config,
        store: &session.store,
        fingerprints: &session.fingerprints,
        ui,
        parallelism: usize::from(global.parallelism),
    };
    let report = executor.run(&plan, &mut session.state).await?;
    Ok(finish(&ui, &report, destroy, &session))
}

fn finish(ui: &crate::ui::Ui, report: &Report, destroy: bool, session: &Session) -> i32 {
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
                .iter()
                .filter(|(_, t)| {
                    crate::config::template::refs(t).iter().any(|r| {
                        matches!(r, crate::config::template::Ref::Var(v) if session.config.is_sensitive_var(v))
                    })
                })
                .map(|(k, _)| k.clone())
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
        session.store.path().display()
    ));
    ui.error(&msg);
    1
}
