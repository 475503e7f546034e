//! `reconcile force-unlock <lock-id>`: breaks a lock whose holder is gone
//! (the id must match, so that a live holder's new lock is never broken).

use crate::aws::Clients;
use crate::cli::{ForceUnlockArgs, Global};
use crate::state::{local, s3};

pub async fn run(global: &Global, args: &ForceUnlockArgs) -> anyhow::Result<i32> {
    let ui = super::ui(global);
    let config = match &global.state {
        Some(_) => super::load_config(global).ok(),
        None => Some(super::load_config(global)?),
    };
    let backend = config
        .as_ref()
        .and_then(|c| c.backend.as_ref())
        .filter(|_| global.state.is_none());
    let holder = match (backend, &config) {
        (Some(b), _) => {
            let stack = config.as_ref().map_or("", |c| c.stack.as_str());
            s3::force_unlock(
                &Clients::s3_for(
                    &b.region,
                    b.assume_role.as_ref(),
                    stack,
                    global.max_attempts,
                )
                .await,
                b,
                &args.lock_id,
            )
            .await?
        }
        (None, Some(c)) => local::force_unlock(&super::state_path(global, c), &args.lock_id)?,
        (None, None) => local::force_unlock(
            global.state.as_deref().unwrap_or(std::path::Path::new("")),
            &args.lock_id,
        )?,
    };
    ui.line(&format!("Unlocked: the lock held by {holder} is broken."));
    Ok(0)
}
