//! `reconcile plan`: refresh, diff, show; `--out` saves the plan for
//! `apply <file>`; `--refresh-only` shows only what changed outside.

use crate::cli::{Global, PlanArgs};
use crate::plan::{drift, render, saved};

use super::{PlanOptions, Session};

pub async fn run(global: &Global, args: &PlanArgs) -> anyhow::Result<i32> {
    let session = Session::open(global).await?;
    let ui = super::ui(global);
    if args.refresh_only {
        let live = session.refresh().await?;
        let drifts = drift::drift(
            Some(&session.config),
            &session.state,
            &live,
            &session.fingerprints,
        );
        if args.json {
            println!("{}", serde_json::to_string_pretty(&drift::json(&drifts))?);
        } else {
            ui.line(drift::text(&drifts, ui.style).trim_end());
        }
        session.close().await?;
        return Ok(if args.detailed_exitcode && !drifts.is_empty() {
            2
        } else {
            0
        });
    }
    let opts = PlanOptions {
        destroy: args.destroy,
        targets: args.targeting.targets.clone(),
        replace: args.replace.clone(),
    };
    let plan = session.plan(&opts).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&render::json(&plan))?);
    } else {
        ui.plan(&plan);
    }
    if let Some(out) = &args.out {
        saved::save(out, &session.config, &plan)?;
        if !args.json {
            ui.line(&format!(
                "\nSaved the plan to {}. To perform exactly these actions, run:\n  reconcile apply {}",
                out.display(),
                out.display()
            ));
        }
    }
    session.close().await?;
    Ok(if args.detailed_exitcode && plan.has_changes() {
        2
    } else {
        0
    })
}
