//! `--target`: a plan limited to some resources and what they depend on
//! (for a destroy: and what depends on them), and `--replace`.

use std::collections::BTreeSet;

use super::{Action, Plan};
use crate::config::Config;
use crate::schema::did_you_mean;
use crate::state::{State, Status};

/// Every address reachable from `start` by `next`.
fn closure<'a>(start: &'a [String], next: impl Fn(&str) -> Vec<&'a str>) -> BTreeSet<&'a str> {
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    let mut todo: Vec<&str> = start.iter().map(String::as_str).collect();
    while let Some(a) = todo.pop() {
        if seen.insert(a) {
            todo.extend(next(a));
        }
    }
    seen
}

/// Fails unless every address names a resource of the desired state or the
/// state.
pub fn check_addresses(
    addresses: &[String],
    config: &Config,
    state: &State,
    flag: &str,
) -> Result<(), String> {
    let known = || {
        config
            .resources
            .keys()
            .chain(state.resources.keys())
            .map(String::as_str)
    };
    for a in addresses {
        if !known().any(|k| k == a) {
            return Err(format!(
                "{flag} {a}: no such resource in the desired state or the state{}",
                did_you_mean(a, known())
            ));
        }
    }
    Ok(())
}

/// Keeps only the targets and what they depend on (a destroy: what depends
/// on them); everything else is left alone.
pub fn restrict(plan: &mut Plan, config: &Config, state: &State, targets: &[String]) {
    if targets.is_empty() {
        return;
    }
    let keep = if plan.destroy {
        closure(targets, |a| {
            state
                .resources
                .iter()
                .filter(|(_, rs)| rs.dependencies.iter().any(|d| d == a))
                .map(|(x, _)| x.as_str())
                .collect()
        })
    } else {
        closure(targets, |a| {
            config
                .resources
                .get(a)
                .map(|r| r.deps.iter().map(String::as_str).collect())
                .unwrap_or_default()
        })
    };
    plan.changes.retain(|c| keep.contains(c.address.as_str()));
    plan.forget.retain(|a| keep.contains(a.as_str()));
    plan.targets = targets.to_vec();
}

/// The state as `--replace` wants it planned: those resources tainted, so
/// that the planner replaces them.
pub fn mark_for_replacement(state: &State, replace: &[String]) -> Result<State, String> {
    let mut s = state.clone();
    for a in replace {
        let rs = s.resources.get_mut(a).ok_or_else(|| {
            format!(
                "--replace {a}: not in the state (only an existing resource can be replaced){}",
                did_you_mean(a, state.resources.keys().map(String::as_str))
            )
        })?;
        rs.status = Status::Tainted;
    }
    Ok(s)
}

/// Says why the replacements were planned.
pub fn explain_replacements(plan: &mut Plan, replace: &[String]) {
    for c in &mut plan.changes {
        if replace.contains(&c.address) && c.action == Action::Replace {
            c.reason = Some("replacement requested with --replace".into());
        }
    }
}
