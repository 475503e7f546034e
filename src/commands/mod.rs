//! One file per subcommand: orchestration only. Each returns the process
//! exit code; errors carry their context up to main.

pub mod adopt;
pub mod apply;
mod fleet;
pub mod graph;
pub mod import;
pub mod logs;
pub mod output;
pub mod plan;
pub mod reference;
pub mod rollback;
pub mod run;
pub mod state;
pub mod status;
pub mod unlock;
pub mod validate;
pub mod vars;
pub mod watch;

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};

use crate::aws::{Clients, stats};
use crate::cli::Global;
use crate::config::{self, Config};
use crate::plan::Plan;
use crate::plan::diff::{self, Live};
use crate::plan::targets;
use crate::state::fingerprint::Fingerprinter;
use crate::state::local::LocalStore;
use crate::state::s3::S3Store;
use crate::state::{State, Store};
use crate::ui::Ui;

/// The AWS clients of the stack `config` describes: its region, its role,
/// the run's retry limit.
pub async fn clients_of(global: &Global, config: &Config) -> Clients {
    Clients::load(
        &config.region,
        config.assume_role.as_ref(),
        &config.stack,
        global.max_attempts,
    )
    .await
}

pub fn ui(global: &Global) -> Ui {
    let terminal = std::io::stdout().is_terminal();
    let color = !global.no_color && std::env::var_os("NO_COLOR").is_none() && terminal;
    let mut ui = Ui::new(color, color);
    ui.prefix = global.label.as_ref().map(|l| format!("[{l}] "));
    ui
}

/// The desired state, loaded and checked (no AWS call). Variables come from
/// `--var`, then `--var-file`s (the later file wins), then the environment;
/// on a terminal, a sensitive variable with no value at all is asked for.
///
/// A `persist = true` variable given no value takes the value recorded in
/// the state by the last successful apply (read here without a lock, from a
/// local state; commands that lock the state use `load_config_with`).
pub fn load_config(global: &Global) -> anyhow::Result<Config> {
    let persisted = match config::locate(&global.desired) {
        Some(l) if l.persist && (global.state.is_some() || l.backend.is_none()) => {
            let path = state_path_of(global, &l.stack);
            crate::state::local::read(&path)?
                .map(|s| s.persisted_values())
                .unwrap_or_default()
        }
        _ => BTreeMap::new(),
    };
    load_config_with(global, &persisted)
}

/// `load_config` with the persisted variable values given.
pub fn load_config_with(
    global: &Global,
    persisted: &BTreeMap<String, crate::value::Value>,
) -> anyhow::Result<Config> {
    let mut vars: BTreeMap<String, String> = BTreeMap::new();
    for file in &global.var_files {
        vars.extend(read_var_file(file)?);
    }
    vars.extend(global.vars.iter().cloned());
    let prompt = |name: &str| ask_hidden(&format!("Value of the sensitive variable `{name}`: "));
    let no_prompt = |_: &str| None;
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    Ok(config::load_with(
        &global.desired,
        &vars,
        &config::env_vars(),
        persisted,
        if interactive { &prompt } else { &no_prompt },
    )?)
}

/// A `--var-file`: TOML `name = value` lines, each value as `--var` would
/// give it (strings as they are, lists and maps as TOML). Never echoes a
/// value in its errors: the file may hold secrets.
fn read_var_file(path: &std::path::Path) -> anyhow::Result<BTreeMap<String, String>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("cannot read --var-file {}: {e}", path.display()))?;
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        let at = e.span().map_or(String::new(), |s| {
            let before = &text[..s.start.min(text.len())];
            format!(
                ":{}:{}",
                before.matches('\n').count() + 1,
                before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1
            )
        });
        anyhow::anyhow!(
            "--var-file {}{at}: TOML syntax error: {}",
            path.display(),
            e.message()
        )
    })?;
    Ok(table
        .into_iter()
        .map(|(k, v)| {
            let text = match v {
                toml::Value::String(s) => s,
                other => other.to_string(),
            };
            (k, text)
        })
        .collect())
}

/// Reads one line from the terminal with echo off (a password prompt).
fn ask_hidden(question: &str) -> Option<String> {
    use std::os::fd::AsRawFd;
    let stdin = std::io::stdin();
    let fd = stdin.as_raw_fd();
    let _ = crate::ui::prompt(question, true);
    // SAFETY: termios calls on the process's own stdin descriptor, with a
    // zeroed struct filled by tcgetattr before use.
    let saved = unsafe {
        let mut t: libc::termios = std::mem::zeroed();
        if libc::tcgetattr(fd, &raw mut t) != 0 {
            return None;
        }
        let saved = t;
        t.c_lflag &= !libc::ECHO;
        t.c_lflag |= libc::ECHONL;
        libc::tcsetattr(fd, libc::TCSANOW, &raw const t);
        saved
    };
    let mut line = String::new();
    let read = stdin.lock().read_line(&mut line);
    // SAFETY: restores the settings read above.
    unsafe {
        libc::tcsetattr(fd, libc::TCSANOW, &raw const saved);
    }
    read.ok().filter(|n| *n > 0)?;
    Some(line.trim_end_matches(['\n', '\r']).to_owned())
}

/// `--state`, or `state/<stack>.json`.
pub fn state_path(global: &Global, config: &Config) -> PathBuf {
    state_path_of(global, &config.stack)
}

fn state_path_of(global: &Global, stack: &str) -> PathBuf {
    global
        .state
        .clone()
        .unwrap_or_else(|| PathBuf::from("state").join(format!("{stack}.json")))
}

/// What to plan: everything, a destroy, only drift, some targets.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    pub destroy: bool,
    pub targets: Vec<String>,
    pub replace: Vec<String>,
}

/// The S3 backend, unless `--state` names a local file.
fn backend<'a>(global: &Global, config: &'a Config) -> Option<&'a config::Backend> {
    config.backend.as_ref().filter(|_| global.state.is_none())
}

/// Opens (and locks) the state where the desired state says it lives.
pub async fn open_store(global: &Global, config: &Config) -> anyhow::Result<Box<dyn Store>> {
    open_store_of(global, &config.stack, config.backend.as_ref()).await
}

async fn open_store_of(
    global: &Global,
    stack: &str,
    backend: Option<&config::Backend>,
) -> anyhow::Result<Box<dyn Store>> {
    Ok(match backend.filter(|_| global.state.is_none()) {
        Some(b) => Box::new(
            S3Store::open(
                Clients::s3_for(
                    &b.region,
                    b.assume_role.as_ref(),
                    stack,
                    global.max_attempts,
                )
                .await,
                b,
            )
            .await?,
        ),
        None => Box::new(LocalStore::open(&state_path_of(global, stack))?),
    })
}

/// The state without locking it (read-only commands), the desired state
/// when it could be loaded, and where the state lives.
pub async fn read_state(
    global: &Global,
) -> anyhow::Result<(Option<Config>, String, Option<State>)> {
    // `--state` alone is enough to read a local state.
    let config = match &global.state {
        Some(_) => load_config(global).ok(),
        None => Some(load_config(global)?),
    };
    if let Some(b) = config.as_ref().and_then(|c| backend(global, c)).cloned() {
        let stack = config.as_ref().map_or("", |c| c.stack.as_str());
        let client = Clients::s3_for(
            &b.region,
            b.assume_role.as_ref(),
            stack,
            global.max_attempts,
        )
        .await;
        let state = crate::state::s3::read(&client, &b).await?;
        // The persisted values of a remote state.
        let config = match (&state, config) {
            (Some(s), Some(_)) if !s.variables.is_empty() => {
                Some(load_config_with(global, &s.persisted_values())?)
            }
            (_, c) => c,
        };
        return Ok((config, format!("s3://{}/{}", b.bucket, b.key), state));
    }
    let path = match (&global.state, &config) {
        (Some(p), _) => p.clone(),
        (None, Some(c)) => state_path(global, c),
        (None, None) => bail!("no state: pass --state or --desired"),
    };
    let state = crate::state::local::read(&path)?;
    Ok((config, path.display().to_string(), state))
}

/// Everything a command that talks to AWS needs: the desired state, the
/// locked state store, the state and the clients.
pub struct Session {
    pub config: Config,
    pub store: Box<dyn Store>,
    pub state: State,
    pub clients: Arc<Clients>,
    /// Fingerprints write-only values (see `state::fingerprint`).
    pub fingerprints: Fingerprinter,
}

impl Session {
    pub async fn open(global: &Global) -> anyhow::Result<Session> {
        // The state is opened (and locked) first when the desired state
        // persists variables: their values come from it.
        let (config, store, loaded) =
            if let Some(l) = config::locate(&global.desired).filter(|l| l.persist) {
                let store = open_store_of(global, &l.stack, l.backend.as_ref()).await?;
                let loaded = store.load().await?;
                let persisted = loaded
                    .as_ref()
                    .filter(|s| s.stack == l.stack)
                    .map(State::persisted_values)
                    .unwrap_or_default();
                let config = match load_config_with(global, &persisted) {
                    Ok(c) => c,
                    Err(e) => {
                        store.unlock().await?;
                        return Err(e);
                    }
                };
                (config, store, loaded)
            } else {
                let config = load_config_with(global, &BTreeMap::new())?;
                let store = open_store(global, &config).await?;
                let loaded = store.load().await?;
                (config, store, loaded)
            };
        let state = match loaded {
            Some(s) if s.stack != config.stack => bail!(
                "the state {} belongs to stack `{}`, but the desired state is stack `{}`",
                store.location(),
                s.stack,
                config.stack
            ),
            Some(s) => s,
            None => State::new(&config.stack),
        };
        // With a remote state the key file sits where a local state would;
        // hosts sharing a state set RECONCILE_FINGERPRINT_KEY instead.
        let fingerprints = Fingerprinter::for_state(&state_path(global, &config))
            .map_err(|e| anyhow::anyhow!("the key of write-only fingerprints: {e}"))?;
        let clients = Arc::new(clients_of(global, &config).await);
        let mut state = state;
        for address in crate::plan::refresh::adopt_pending(&clients, &mut state).await? {
            ui(global).note(&format!(
                "{address} was being created when a run stopped; found it in AWS and adopted it"
            ));
        }
        Ok(Session { config, store, state, clients, fingerprints })
    }

    /// After an apply that succeeded: records the values given to
    /// `persist` variables, and saves the state if that changed it.
    pub async fn record_persisted(&mut self) -> anyhow::Result<()> {
        let now = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
        if self.state.record_persisted(&self.config, &now) {
            self.save().await?;
        }
        Ok(())
    }

    /// Writes the state, sensitive values fingerprinted.
    pub async fn save(&mut self) -> anyhow::Result<()> {
        crate::state::mask(&mut self.state, &self.config, &self.fingerprints);
        Ok(self.store.save(&mut self.state).await?)
    }

    /// Releases the state's lock.
    pub async fn close(self) -> anyhow::Result<()> {
        Ok(self.store.unlock().await?)
    }

    pub async fn refresh(&self) -> anyhow::Result<Live> {
        let _phase = stats::Phase::start("refresh");
        Ok(crate::plan::refresh::refresh(&self.clients, &self.state).await?)
    }

    pub async fn plan(&self, opts: &PlanOptions) -> anyhow::Result<Plan> {
        let live = self.refresh().await?;
        self.plan_with(opts, live).await
    }

    /// Plans from live attributes already read.
    pub async fn plan_with(&self, opts: &PlanOptions, live: Live) -> anyhow::Result<Plan> {
        let _phase = stats::Phase::start("plan");
        let check = |addresses: &[String], flag: &str| {
            targets::check_addresses(addresses, &self.config, &self.state, flag)
                .map_err(anyhow::Error::msg)
        };
        check(&opts.targets, "--target")?;
        check(&opts.replace, "--replace")?;
        let mut plan = if opts.destroy {
            diff::plan_destroy(&self.config, &self.state, &live)
        } else {
            let state = targets::mark_for_replacement(&self.state, &opts.replace)
                .map_err(anyhow::Error::msg)?;
            let lookups =
                crate::plan::lookups::read_all(&self.clients, &self.config.lookups).await?;
            let mut plan = diff::plan(&self.config, &state, live, &lookups, &self.fingerprints)
                .map_err(|errors| anyhow::anyhow!("cannot plan:\n  {}", errors.join("\n  ")))?;
            targets::explain_replacements(&mut plan, &opts.replace);
            plan
        };
        targets::restrict(&mut plan, &self.config, &self.state, &opts.targets);
        check_prevent_destroy(&self.config, &plan)?;
        Ok(plan)
    }
}

/// `--stats`: the table to stderr.
pub fn print_stats(arg: crate::cli::StatsArg) {
    if arg.enabled {
        crate::ui::diagnostics(&stats::snapshot().table());
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
    let prompt =
        format!("\n{question}\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: ");
    crate::ui::prompt(&prompt, false).context("writing the prompt")?;
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .context("reading the answer")?;
    Ok(answer.trim() == "yes")
}
