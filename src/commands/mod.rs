//! One file per subcommand: orchestration only. Each returns the process
//! exit code; errors carry their context up to main.

pub mod apply;
pub mod output;
pub mod plan;
pub mod validate;

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};

use crate::aws::Clients;
use crate::cli::Global;
use crate::config::{self, Config};
use crate::plan::Plan;
use crate::plan::diff::{self, Live};
use crate::state::State;
use crate::state::fingerprint::Fingerprinter;
use crate::state::local::LocalStore;
use crate::ui::Ui;

pub fn ui(global: &Global) -> Ui {
    let color = !global.no_color
        && std::env::var_os("NO_COLOR").is_none()
        && std::io::stdout().is_terminal();
    Ui::new(color)
}

/// The desired state, loaded and checked (no AWS call).
pub fn load_config(global: &Global) -> anyhow::Result<Config> {
    let cli_vars: BTreeMap<String, String> = global.vars.iter().cloned().collect();
    Ok(config::load(
        &global.desired,
        &cli_vars,
        &config::env_vars(),
    )?)
}

/// `--state`, or `state/<stack>.json`.
pub fn state_path(global: &Global, config: &Config) -> PathBuf {
    global
        .state
        .clone()
        .unwrap_or_else(|| PathBuf::from("state").join(format!("{}.json", config.stack)))
}

/// Everything a command that talks to AWS needs: the desired state, the
/// locked state store, the state and the clients.
pub struct Session {
    pub config: Config,
    pub store: LocalStore,
    pub state: State,
    pub clients: Arc<Clients>,
    /// Fingerprints write-only values (see `state::fingerprint`).
    pub fingerprints: Fingerprinter,
}

impl Session {
    pub async fn open(global: &Global) -> anyhow::Result<Session> {
        let config = load_config(global)?;
        let path = state_path(global, &config);
        let store = LocalStore::open(&path)?;
        let state = match store.load()? {
            Some(s) if s.stack != config.stack => bail!(
                "the state {} belongs to stack `{}`, but the desired state is stack `{}`",
                path.display(),
                s.stack,
                config.stack
            ),
            Some(s) => s,
            None => State::new(&config.stack),
        };
        let fingerprints = Fingerprinter::for_state(&path)
            .map_err(|e| anyhow::anyhow!("the key of write-only fingerprints: {e}"))?;
        let clients = Arc::new(Clients::load(&config.region).await);
        let mut state = state;
        for address in crate::refresh::adopt_pending(&clients, &mut state).await? {
            ui(global).note(&format!(
                "{address} was being created when a run stopped; found it in AWS by its tags and adopted it"
            ));
        }
        Ok(Session {
            config,
            store,
            state,
            clients,
            fingerprints,
        })
    }

    pub async fn refresh(&self) -> anyhow::Result<Live> {
        Ok(crate::refresh::refresh(&self.clients, &self.state).await?)
    }

    pub async fn plan(&self, destroy: bool) -> anyhow::Result<Plan> {
        let live = self.refresh().await?;
        let plan = if destroy {
            diff::plan_destroy(&self.config, &self.state, &live)
        } else {
            let lookups = crate::lookups::read_all(&self.clients, &self.config.lookups).await?;
            diff::plan(
                &self.config,
                &self.state,
                &live,
                &lookups,
                &self.fingerprints,
            )
            .map_err(|errors| anyhow::anyhow!("cannot plan:\n  {}", errors.join("\n  ")))?
        };
        check_prevent_destroy(&self.config, &plan)?;
        Ok(plan)
    }
}

/// `lifecycle.prevent_destroy`: any plan that would delete or replace the
/// resource fails.
fn check_prevent_destroy(config: &Config, plan: &Plan) -> anyhow::Result<()> {
    use crate::plan::Action;
    for c in &plan.changes {
        let protected = config
            .resources
            .get(&c.address)
            .is_some_and(|r| r.lifecycle.prevent_destroy);
        if protected && matches!(c.action, Action::Delete | Action::Replace) {
            bail!(
                "{} has lifecycle.prevent_destroy = true, but this plan would {} it; change the desired state or remove the protection",
                c.address,
                if c.action == Action::Delete {
                    "destroy"
                } else {
                    "replace"
                }
            );
        }
    }
    Ok(())
}

/// Fails unless a confirmation can be asked for (or is not needed).
pub fn can_confirm(auto_approve: bool) -> anyhow::Result<()> {
    if !auto_approve && !std::io::stdin().is_terminal() {
        bail!(
            "refusing to continue without confirmation: standard input is not a terminal; pass --auto-approve to run non-interactively"
        );
    }
    Ok(())
}

/// Asks for `yes` on a terminal; refuses without one.
pub fn confirm(question: &str, auto_approve: bool) -> anyhow::Result<bool> {
    if auto_approve {
        return Ok(true);
    }
    can_confirm(false)?;
    print!("\n{question}\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: ");
    std::io::stdout().flush().context("writing the prompt")?;
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .context("reading the answer")?;
    Ok(answer.trim() == "yes")
}
