//! `reconcile rollback`: applies again the variable values of the
//! successful apply before the last one — the `persist = true` variables a
//! deploy gives (an image tag, a revision) — so that services return to
//! their previous revisions, waiting for the deployments like any apply.
//! The values it applies are recorded as given, so a second rollback goes
//! forward again.

use anyhow::{anyhow, bail};

use crate::cli::{ApplyCmdArgs, Global, RollbackArgs};
use crate::value::Value;

pub async fn run(global: &Global, args: &RollbackArgs) -> anyhow::Result<i32> {
    let (_, path, state) = super::read_state(global).await?;
    let state = state.ok_or_else(|| anyhow!("no state at {path}: run `reconcile apply` first"))?;
    let previous: Vec<(String, Value, Value)> = state
        .variables
        .iter()
        .filter_map(|(name, v)| {
            v.previous
                .clone()
                .map(|p| (name.clone(), v.value.clone(), p))
        })
        .collect();
    if previous.is_empty() {
        bail!(
            "nothing to roll back to in {path}: no persisted variable has a previous value (a `persist = true` variable records one when a successful apply changes it)"
        );
    }
    let ui = super::ui(global);
    for (name, now, before) in &previous {
        ui.line(&format!(
            "Rolling back {name}: {} -> {}",
            text(now),
            text(before)
        ));
    }
    // Given like --var (the user's own --var still wins).
    let mut g = global.clone();
    g.vars = previous
        .into_iter()
        .map(|(name, _, before)| (name, text(&before)))
        .chain(global.vars.iter().cloned())
        .collect();
    let apply = ApplyCmdArgs {
        plan_file: None,
        common: args.common.clone(),
        refresh_only: false,
        replace: Vec::new(),
        no_wait: args.no_wait,
    };
    super::apply::run(&g, &apply).await
}

/// A value as `--var` takes it: strings as they are, the rest as TOML.
fn text(v: &Value) -> String {
    match v {
        Value::Str(s) => s.clone(),
        other => other.to_string(),
    }
}
