//! The plan: what apply will do, as pure data. Rendered for people and as
//! JSON; apply executes it and never re-decides an action.

pub mod diff;
pub mod drift;
pub mod lookups;
pub mod markdown;
pub mod nested;
pub mod ownership;
pub mod refresh;
pub mod render;
pub mod saved;
pub mod targets;
pub mod tfjson;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::config::DeletionPolicy;
use crate::value::{Attrs, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    NoOp,
    Create,
    Update,
    /// Delete, then create (a force-new field changed, or tainted).
    Replace,
    Delete,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::NoOp => "no-op",
            Action::Create => "create",
            Action::Update => "update",
            Action::Replace => "replace",
            Action::Delete => "delete",
        }
    }
}

/// One attribute that changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttrDiff {
    pub name: String,
    pub before: Value,
    pub after: Value,
    pub forces_replacement: bool,
    pub sensitive: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub address: String,
    pub kind: String,
    pub action: Action,
    /// The AWS id of the existing resource (update, replace, delete, no-op).
    pub id: Option<String>,
    /// Live attributes, when the resource exists.
    pub before: Option<Attrs>,
    /// Planned attributes; `Unknown` where only apply can tell.
    pub after: Option<Attrs>,
    /// The desired attributes as written, evaluated again at apply time once
    /// what they reference exists.
    pub config: Option<Attrs>,
    pub diffs: Vec<AttrDiff>,
    /// What it waits for when created or updated (desired references).
    pub deps: Vec<String>,
    /// What it depended on when last applied (orders deletes).
    pub state_deps: Vec<String>,
    /// Attributes never to show.
    pub sensitive: Vec<String>,
    /// Why, when it is not obvious: "deleted outside reconcile", "tainted".
    pub reason: Option<String>,
    /// A replacement that creates the new object first, repoints what
    /// depends on it, then deletes the old one.
    #[serde(default)]
    pub create_before_destroy: bool,
    /// The delete of an old object left by an interrupted
    /// create-before-destroy replacement.
    #[serde(default)]
    pub deposed: bool,
    /// What the delete step does: delete, keep a final snapshot, or only
    /// forget (retain).
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,
    /// The region the resource lives in, when not the stack's: the
    /// desired one for a create or update, the recorded one for a delete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub stack: String,
    pub region: String,
    /// The state this plan was made against.
    pub lineage: String,
    pub serial: u64,
    pub destroy: bool,
    /// Every resource of the desired state and the state, sorted by address;
    /// no-ops included so that apply records their refreshed attributes.
    pub changes: Vec<Change>,
    /// In the state, gone from AWS and from the desired state: dropped from
    /// the state without any call.
    pub forget: Vec<String>,
    /// Output name → template, evaluated after apply.
    pub outputs: BTreeMap<String, Value>,
    /// Values of the lookups as read at plan time (`lookups.<name>`), so
    /// that apply uses what the plan showed.
    #[serde(default)]
    pub lookups: BTreeMap<String, Attrs>,
    /// `--target` addresses the plan was limited to (empty: everything);
    /// a targeted apply leaves the outputs as they were.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<String>,
    /// Fields another resource of the desired state owns (per address):
    /// kept as they are live while within the owner's bounds.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub owned: BTreeMap<String, Vec<ownership::Owned>>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub add: usize,
    pub change: usize,
    pub destroy: usize,
}

impl Plan {
    /// Replacements count as one add and one destroy, as in Terraform.
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for c in &self.changes {
            match c.action {
                Action::Create => s.add += 1,
                Action::Update => s.change += 1,
                Action::Replace => {
                    s.add += 1;
                    s.destroy += 1;
                }
                // Retained: only forgotten, nothing destroyed.
                Action::Delete if c.deletion_policy == DeletionPolicy::Retain => {}
                Action::Delete => s.destroy += 1,
                Action::NoOp => {}
            }
        }
        s
    }

    pub fn has_changes(&self) -> bool {
        self.changes.iter().any(|c| c.action != Action::NoOp)
    }
}

/// Plans and changes for unit tests: everything empty but what a test sets.
#[cfg(test)]
pub(crate) mod testing {
    use super::{Action, Change, Plan};
    use crate::config::DeletionPolicy;

    /// A change of `address` (its kind from the address), with an id unless
    /// it is a create.
    pub fn change(address: &str, action: Action) -> Change {
        Change {
            address: address.into(),
            kind: address.split('.').next().unwrap_or_default().to_owned(),
            action,
            id: (action != Action::Create).then(|| "id-0123".to_owned()),
            before: None,
            after: None,
            config: None,
            diffs: vec![],
            deps: vec![],
            state_deps: vec![],
            sensitive: vec![],
            reason: None,
            create_before_destroy: false,
            deposed: false,
            deletion_policy: DeletionPolicy::Delete,
            region: None,
        }
    }

    /// The desired state of one TOML file.
    pub fn config(toml: &str) -> crate::config::Config {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("main.toml");
        std::fs::write(&p, toml).unwrap();
        crate::config::load(&p, &Default::default(), &Default::default()).unwrap()
    }

    /// A plan of stack `t` in us-east-1 holding `changes`.
    pub fn plan(changes: Vec<Change>) -> Plan {
        Plan {
            stack: "t".into(),
            region: "us-east-1".into(),
            lineage: "l".into(),
            serial: 1,
            destroy: false,
            changes,
            forget: vec![],
            outputs: Default::default(),
            lookups: Default::default(),
            targets: vec![],
            owned: Default::default(),
        }
    }
}
