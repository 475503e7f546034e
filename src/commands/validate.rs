//! `reconcile validate`: parse and check the desired state; no AWS call.

use crate::cli::Global;

pub fn run(global: &Global) -> anyhow::Result<i32> {
    let config = super::load_config(global)?;
    let ui = super::ui(global);
    ui.line(&format!(
        "The desired state is valid: stack `{}` in {}, {} resource{}.",
        config.stack,
        config.region,
        config.resources.len(),
        if config.resources.len() == 1 { "" } else { "s" }
    ));
    Ok(0)
}
