//! `--target`: a plan limited to some resources and what they depend on
//! (for a destroy: and what depends on them), and `--replace`.

use std::borrow::Cow;
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
pub fn mark_for_replacement<'a>(
    state: &'a State,
    replace: &[String],
) -> Result<Cow<'a, State>, String> {
    // The usual plan replaces nothing: no copy of a large state.
    if replace.is_empty() {
        return Ok(Cow::Borrowed(state));
    }
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
    Ok(Cow::Owned(s))
}

/// Says why the replacements were planned.
pub fn explain_replacements(plan: &mut Plan, replace: &[String]) {
    for c in &mut plan.changes {
        if replace.contains(&c.address) && c.action == Action::Replace {
            c.reason = Some("replacement requested with --replace".into());
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::plan::diff::{self, Live};
    use crate::state::ResourceState;

    const STACK: &str = r#"
[stack]
name = "t"
region = "us-east-1"

[vpc.main]
cidr_block = "10.0.0.0/16"

[subnet.a]
vpc_id = "${vpc.main.id}"
cidr_block = "10.0.1.0/24"

[subnet.b]
vpc_id = "${vpc.main.id}"
cidr_block = "10.0.2.0/24"
"#;

    fn config() -> Config {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("main.toml");
        std::fs::write(&p, STACK).unwrap();
        crate::config::load(&p, &BTreeMap::new(), &BTreeMap::new()).unwrap()
    }

    fn addresses(plan: &Plan) -> Vec<&str> {
        plan.changes.iter().map(|c| c.address.as_str()).collect()
    }

    fn existing(deps: &[&str]) -> ResourceState {
        ResourceState {
            kind: "vpc".into(),
            id: "x".into(),
            attributes: Default::default(),
            dependencies: deps.iter().map(|d| (*d).to_owned()).collect(),
            status: Status::Created,
            deletion_policy: None,
            fingerprints: Default::default(),
            region: None,
        }
    }

    #[test]
    fn a_target_brings_what_it_depends_on_and_nothing_else() {
        let c = config();
        let s = State::new("t");
        let mut p = diff::plan(
            &c,
            &s,
            Live::new(),
            &BTreeMap::new(),
            &crate::state::fingerprint::Fingerprinter::with_key("test"),
        )
        .unwrap();
        restrict(&mut p, &c, &s, &["subnet.a".to_owned()]);
        assert_eq!(addresses(&p), ["subnet.a", "vpc.main"]);
        assert_eq!(p.targets, ["subnet.a"]);
    }

    #[test]
    fn a_destroy_target_brings_what_depends_on_it() {
        let c = config();
        let mut s = State::new("t");
        s.resources.insert("vpc.main".into(), existing(&[]));
        s.resources
            .insert("subnet.a".into(), existing(&["vpc.main"]));
        s.resources
            .insert("subnet.b".into(), existing(&["vpc.main"]));
        let live: Live = s
            .resources
            .keys()
            .map(|a| (a.clone(), Some(Default::default())))
            .collect();
        let all = diff::plan_destroy(&c, &s, &live);
        let mut p = all.clone();
        restrict(&mut p, &c, &s, &["subnet.a".to_owned()]);
        assert_eq!(addresses(&p), ["subnet.a"]);
        let mut p = all;
        restrict(&mut p, &c, &s, &["vpc.main".to_owned()]);
        assert_eq!(p.changes.len(), 3);
    }

    #[test]
    fn unknown_targets_and_replacements_are_refused_with_a_suggestion() {
        let c = config();
        let s = State::new("t");
        let err = check_addresses(&["subnet.c".into()], &c, &s, "--target").unwrap_err();
        assert!(err.contains("did you mean"), "{err}");
        let err = mark_for_replacement(&s, &["subnet.a".into()]).unwrap_err();
        assert!(err.contains("not in the state"), "{err}");
    }
}
