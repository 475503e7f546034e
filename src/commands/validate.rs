//! `reconcile validate`: parse and check the desired state; no AWS call.
//! Warnings (a field set that another resource owns) do not fail it.

use crate::cli::Global;
use crate::plan::ownership;

pub fn run(global: &Global) -> anyhow::Result<i32> {
    let config = super::load_config(global)?;
    let ui = super::ui(global);
    for w in ownership::warnings(&config) {
        ui.warning(&format!("{}: {}", w.loc, w.message));
    }
    ui.line(&format!(
        "The desired state is valid: stack `{}` in {}, {} resource{}.",
        config.stack,
        config.region,
        config.resources.len(),
        if config.resources.len() == 1 { "" } else { "s" }
    ));
    Ok(0)
}
