//! `reconcile plan`: refresh, diff, show; `--out` saves the plan for
//! `apply <file>`; `--refresh-only` shows only what changed outside.

use crate::cli::{Global, JsonFormat, PlanArgs, PlanFormat, StatsArg};
use crate::plan::{drift, render, saved, tfjson};

use super::{PlanOptions, Session};

pub async fn run(global: &Global, args: &PlanArgs) -> anyhow::Result<i32> {
    if args.refresh_only && !args.refresh {
        anyhow::bail!("--refresh-only needs a refresh: it cannot be combined with --refresh=false");
    }
    if args.refresh_only
        && (args.format == PlanFormat::Markdown || args.json_format == JsonFormat::Terraform)
    {
        anyhow::bail!(
            "--refresh-only shows drift, not a plan: it has no Markdown or Terraform form (use --json)"
        );
    }
    let json = args.json || args.json_format == JsonFormat::Terraform;
    let mut session = Session::open(global).await?;
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
            let mut out = drift::json(&drifts);
            with_stats(&mut out, args.stats);
            crate::ui::document(format!("{}\n", serde_json::to_string_pretty(&out)?).as_bytes())?;
        } else {
            ui.line(drift::text(&drifts, ui.style).trim_end());
        }
        super::print_stats(args.stats);
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
    let plan = if args.refresh {
        session.plan(&opts).await?
    } else {
        let live = crate::plan::refresh::from_state(&mut session.state);
        session.plan_with(&opts, live).await?
    };
    if json {
        let mut out = match args.json_format {
            JsonFormat::Reconcile => render::json(&plan),
            JsonFormat::Terraform => tfjson::plan_json(&plan),
        };
        with_stats(&mut out, args.stats);
        crate::ui::document(format!("{}\n", serde_json::to_string_pretty(&out)?).as_bytes())?;
    } else if args.format == PlanFormat::Markdown {
        ui.plan_markdown(&plan);
    } else {
        ui.plan(&plan);
    }
    if let Some(out) = &args.out {
        saved::save(out, &session.config, &plan)?;
        if !json && args.format == PlanFormat::Text {
            ui.line(&format!(
                "\nSaved the plan to {}. To perform exactly these actions, run:\n  reconcile apply {}",
                out.display(),
                out.display()
            ));
        }
    }
    super::print_stats(args.stats);
    session.close().await?;
    Ok(if args.detailed_exitcode && plan.has_changes() {
        2
    } else {
        0
    })
}

/// `--json --stats`: the counts as `stats` in the output object.
fn with_stats(out: &mut serde_json::Value, arg: StatsArg) {
    if let (true, Some(map)) = (arg.enabled, out.as_object_mut()) {
        map.insert(
            "stats".into(),
            serde_json::to_value(crate::aws::stats::snapshot()).unwrap_or_default(),
        );
    }
}
