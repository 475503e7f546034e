//! `reconcile state list | show | rm | mv`: the state, read or edited
//! without any AWS call.

use std::collections::BTreeSet;

use anyhow::{anyhow, bail};

use crate::cli::{Global, StateCommand};
use crate::plan::render::SENSITIVE;
use crate::schema::did_you_mean;
use crate::state::State;

use super::Session;

pub async fn run(global: &Global, cmd: &StateCommand) -> anyhow::Result<i32> {
    let ui = super::ui(global);
    match cmd {
        StateCommand::List => {
            let (_, _, state) = super::read_state(global).await?;
            for address in state.iter().flat_map(|s| s.resources.keys()) {
                ui.line(address);
            }
        }
        StateCommand::Show { address } => show(global, &ui, address).await?,
        StateCommand::Rm { address } => {
            let mut session = Session::open(global).await?;
            found(&session.state, address)?;
            session.state.resources.remove(address);
            session.state.deposed.remove(address);
            session.save().await?;
            ui.line(&format!(
                "Removed {address} from the state; it still exists in AWS."
            ));
            session.close().await?;
        }
        StateCommand::Mv { from, to } => mv(global, &ui, from, to).await?,
        StateCommand::Push { file, force } => {
            let location = file.display().to_string();
            let mut session = Session::open(global).await?;
            let pushed = std::fs::read_to_string(file)
                .map_err(|e| format!("cannot read the state {location}: {e}"))
                .and_then(|text| {
                    crate::state::parse(&location, &text, "").map_err(|e| e.to_string())
                })
                .and_then(|pushed| {
                    check_push(&session.state, &pushed, &location, *force).map(|()| pushed)
                })
                .map_err(|m| anyhow!("{m}; the state {} is unchanged", session.store.location()))?;
            session.state = pushed;
            session.save().await?;
            ui.line(&format!(
                "Pushed {location} to {}.",
                session.store.location()
            ));
            session.close().await?;
        }
    }
    Ok(0)
}

/// `state show`: one resource's attributes, sensitive ones masked, fields
/// another resource owns marked.
async fn show(global: &Global, ui: &crate::ui::Ui, address: &str) -> anyhow::Result<()> {
    let (config, location, state) = super::read_state(global).await?;
    let state = state.ok_or_else(|| anyhow!("no state at {location}"))?;
    let rs = found(&state, address)?;
    // Sensitive: the kind's sensitive fields, and whatever the
    // desired state fills from a sensitive variable.
    let mut sensitive: BTreeSet<String> = config
        .as_ref()
        .and_then(|c| c.resources.get(address))
        .map(|r| r.sensitive_attrs.clone())
        .unwrap_or_default();
    if let Some(k) = crate::kinds::lookup(&rs.kind) {
        let fields = k.schema().fields.iter();
        sensitive.extend(fields.filter(|f| f.sensitive).map(|f| f.name.to_owned()));
    }
    ui.line(&format!("# {address}"));
    ui.line(&format!("kind = {:?}", rs.kind));
    ui.line(&format!("id = {:?}", rs.id));
    ui.line(&format!(
        "status = {:?}",
        format!("{:?}", rs.status).to_lowercase()
    ));
    ui.line(&format!("dependencies = {:?}", rs.dependencies));
    // Fields another resource of the desired state owns.
    let owners: Vec<(&str, String)> = config
        .as_ref()
        .and_then(|c| crate::plan::ownership::claims(c).remove(address))
        .unwrap_or_default()
        .into_iter()
        .map(|c| {
            (
                c.rule.field,
                format!("owned by {} ({})", c.owner, c.rule.why),
            )
        })
        .collect();
    for (k, v) in &rs.attributes {
        let shown = if sensitive.contains(k) {
            SENSITIVE.to_owned()
        } else {
            v.to_string()
        };
        match owners.iter().find(|(f, _)| f == k) {
            Some((_, note)) => ui.line(&format!("{k} = {shown}  # {k} {note}")),
            None => ui.line(&format!("{k} = {shown}")),
        }
    }
    Ok(())
}

/// `state mv`: a resource (and what depends on it) under a new address.
async fn mv(global: &Global, ui: &crate::ui::Ui, from: &str, to: &str) -> anyhow::Result<()> {
    let mut session = Session::open(global).await?;
    let state = &mut session.state;
    found(state, from)?;
    if state.resources.contains_key(to) {
        bail!("{to} is already in the state: `reconcile state rm {to}` first");
    }
    if let Some(rs) = state.resources.remove(from) {
        state.resources.insert(to.to_owned(), rs);
    }
    if let Some(rs) = state.deposed.remove(from) {
        state.deposed.insert(to.to_owned(), rs);
    }
    // What depended on the old address depends on the new one.
    for rs in state
        .resources
        .values_mut()
        .chain(state.deposed.values_mut())
    {
        for d in rs.dependencies.iter_mut().filter(|d| *d == from) {
            *d = to.to_owned();
        }
    }
    session.save().await?;
    ui.line(&format!("Moved {from} to {to}."));
    session.close().await?;
    Ok(())
}

fn found<'a>(state: &'a State, address: &str) -> anyhow::Result<&'a crate::state::ResourceState> {
    state.resources.get(address).ok_or_else(|| {
        anyhow!(
            "{address} is not in the state{}",
            did_you_mean(address, state.resources.keys().map(String::as_str))
        )
    })
}

/// A pushed state must be a later version of the current one: same stack,
/// same lineage (else it belongs to another stack or copy), serial not
/// older. `force` waives lineage and serial, never the stack.
fn check_push(current: &State, pushed: &State, file: &str, force: bool) -> Result<(), String> {
    if pushed.stack != current.stack {
        return Err(format!(
            "{file} is a state of stack `{}`, not `{}`",
            pushed.stack, current.stack
        ));
    }
    // A state never written (serial 0) has nothing to protect.
    if force || current.serial == 0 {
        return Ok(());
    }
    if pushed.lineage != current.lineage {
        return Err(format!(
            "{file} has lineage {}, the state has lineage {}: it is another state, not a version of this one (--force to replace it anyway)",
            pushed.lineage, current.lineage
        ));
    }
    if pushed.serial < current.serial {
        return Err(format!(
            "{file} has serial {}, older than the state's {} (--force to roll back)",
            pushed.serial, current.serial
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_push_must_be_a_later_version_of_the_same_state() {
        let mut current = State::new("web");
        current.serial = 5;
        let mut later = current.clone();
        later.serial = 7;
        assert!(check_push(&current, &later, "f", false).is_ok());

        let foreign = State::new("web");
        let err = check_push(&current, &foreign, "f", false).unwrap_err();
        assert!(err.contains("another state"), "{err}");
        assert!(check_push(&current, &foreign, "f", true).is_ok());

        let mut older = current.clone();
        older.serial = 4;
        assert!(
            check_push(&current, &older, "f", false)
                .unwrap_err()
                .contains("older")
        );

        let other_stack = State::new("db");
        assert!(check_push(&current, &other_stack, "f", true).is_err());
        assert!(check_push(&State::new("web"), &foreign, "f", false).is_ok());
    }
}
