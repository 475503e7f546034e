//! What reconcile knows it manages: per address the kind, the AWS id, the
//! attributes last read and the dependencies. Stored Terraform-style with a
//! lineage that never changes and a serial that grows with every write.

pub mod fingerprint;
pub mod local;
pub mod s3;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::config::{Config, DeletionPolicy};
use crate::value::{Attrs, Value};
use fingerprint::Fingerprinter;

pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct State {
    pub version: u32,
    /// Fixed when the state is first created; a saved plan or a second copy
    /// of the state with another lineage belongs to another stack.
    pub lineage: String,
    /// +1 at every write.
    pub serial: u64,
    pub stack: String,
    #[serde(default)]
    pub resources: BTreeMap<String, ResourceState>,
    #[serde(default)]
    pub outputs: BTreeMap<String, Value>,
    /// Old objects of create-before-destroy replacements whose new object
    /// exists but that are not deleted yet (per address).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub deposed: BTreeMap<String, ResourceState>,
    /// Creates started but not known to have finished (per address), saved
    /// before the call: if the process dies, the next run reads the id the
    /// create answered, or without one looks the resource up by its tags,
    /// and adopts it instead of creating another.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub pending: BTreeMap<String, Pending>,
    /// Values of `persist = true` variables as the last successful apply
    /// that was given one used them (never a sensitive variable).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub variables: BTreeMap<String, PersistedVar>,
}

/// A persisted variable: its value, where it came from and when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PersistedVar {
    pub value: Value,
    /// `--var` or `RECONCILE_VAR_`.
    pub source: String,
    /// RFC 3339, when the apply that recorded it finished.
    pub recorded_at: String,
    /// The value it replaced: what `reconcile rollback` applies again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    pub kind: String,
    /// Unix seconds when the create started.
    pub since: u64,
    /// The id the create answered, saved at once: what fails after it (a
    /// wait, tags, a setting) cannot lose the resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Created,
    /// A create or update failed half-way: the next apply replaces it.
    Tainted,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceState {
    pub kind: String,
    pub id: String,
    pub attributes: Attrs,
    #[serde(default)]
    pub dependencies: Vec<String>,
    pub status: Status,
    /// `lifecycle.deletion_policy` as last applied, so that a resource
    /// removed from the desired state is still retained or snapshotted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_policy: Option<DeletionPolicy>,
    /// Keyed fingerprints of write-only fields as last applied (field name →
    /// `hmac-sha256:…`); never the values.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fingerprints: BTreeMap<String, String>,
    /// The region the resource lives in when it is not the stack's (its
    /// `region`): where it is read and deleted, even once gone from the
    /// desired state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

impl State {
    pub fn new(stack: &str) -> State {
        State {
            version: FORMAT_VERSION,
            lineage: uuid::Uuid::new_v4().to_string(),
            serial: 0,
            stack: stack.to_owned(),
            resources: BTreeMap::new(),
            outputs: BTreeMap::new(),
            deposed: BTreeMap::new(),
            pending: BTreeMap::new(),
            variables: BTreeMap::new(),
        }
    }

    /// The persisted variable values, as the loader takes them.
    pub fn persisted_values(&self) -> BTreeMap<String, Value> {
        self.variables
            .iter()
            .map(|(k, v)| (k.clone(), v.value.clone()))
            .collect()
    }

    /// Records the values of `persist` variables given on this run (after
    /// an apply that succeeded). Returns whether anything changed.
    pub fn record_persisted(&mut self, config: &Config, now: &str) -> bool {
        let mut changed = false;
        for (name, decl) in &config.variables {
            if !decl.persist || decl.sensitive {
                continue;
            }
            let (Some(value), Some(source)) =
                (config.var_values.get(name), config.var_sources.get(name))
            else {
                continue;
            };
            if !source.is_given() {
                continue;
            }
            if self.variables.get(name).is_some_and(|p| p.value == *value) {
                continue;
            }
            let previous = self.variables.get(name).map(|p| p.value.clone());
            self.variables.insert(
                name.clone(),
                PersistedVar {
                    value: value.clone(),
                    source: source.as_str().to_owned(),
                    recorded_at: now.to_owned(),
                    previous,
                },
            );
            changed = true;
        }
        changed
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error(
        "the state {location} is locked by another reconcile: {holder}\n  if that reconcile is no longer running, break the lock with `reconcile force-unlock {lock_id}`"
    )]
    Locked {
        location: String,
        holder: String,
        lock_id: String,
    },
    #[error("cannot read the state {location}: {reason}")]
    Unreadable { location: String, reason: String },
    #[error("cannot write the state {location}: {reason}")]
    Unwritable { location: String, reason: String },
    #[error("cannot unlock the state {location}: {reason}")]
    Unlock { location: String, reason: String },
}

/// Who holds a state's lock: written into the lock (file or object) and
/// shown to whoever finds it taken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockInfo {
    pub id: String,
    pub pid: u32,
    pub host: String,
    pub since: String,
    pub command: String,
}

/// The command line for a lock's holder note, without variable values: a
/// `--var db_password=…` must not land in a lock.
pub fn redacted_command(args: impl IntoIterator<Item = String>) -> String {
    let redact = |name_value: &str| match name_value.split_once('=') {
        Some((name, _)) => format!("{name}=***"),
        None => "***".to_owned(),
    };
    let mut out = Vec::new();
    let mut value_next = false;
    for a in args {
        let shown = if value_next {
            redact(&a)
        } else if let Some(v) = a.strip_prefix("--var=") {
            format!("--var={}", redact(v))
        } else {
            a.clone()
        };
        value_next = a == "--var";
        out.push(shown);
    }
    out.join(" ")
}

impl LockInfo {
    /// A new lock held by this process.
    pub fn mine() -> LockInfo {
        LockInfo {
            id: uuid::Uuid::new_v4().to_string(),
            pid: std::process::id(),
            host: gethostname::gethostname().to_string_lossy().into_owned(),
            since: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
            command: redacted_command(std::env::args()),
        }
    }

    /// The holder as written in a lock, or what was there when unreadable.
    pub fn parse(text: &str) -> Result<LockInfo, String> {
        serde_json::from_str(text).map_err(|_| {
            if text.trim().is_empty() {
                "unknown holder".to_owned()
            } else {
                text.trim().to_owned()
            }
        })
    }

    pub fn locked_error(location: String, text: &str) -> StateError {
        match LockInfo::parse(text) {
            Ok(info) => StateError::Locked { location, holder: info.to_string(), lock_id: info.id },
            Err(holder) => StateError::Locked { location, holder, lock_id: "<lock-id>".into() },
        }
    }
}

impl fmt::Display for LockInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "pid {} on host {} since {} ({}), lock id {}",
            self.pid, self.host, self.since, self.command, self.id
        )
    }
}

/// Where the state is kept, locked for as long as it is open: the local
/// file or an S3 object. The executor saves through this one interface.
#[async_trait]
pub trait Store: Send + Sync {
    /// The file or `s3://bucket/key`, for messages.
    fn location(&self) -> String;

    /// The stored state, or `None` when there is none yet. A state that
    /// exists but cannot be parsed is an error, never an empty state.
    async fn load(&self) -> Result<Option<State>, StateError>;

    /// Writes the state with its serial advanced by one; never overwrites a
    /// version this store has not read.
    async fn save(&self, state: &mut State) -> Result<(), StateError>;

    /// Releases the lock (also released when the process ends, for the
    /// local file; an S3 lock left by a killed process needs force-unlock).
    async fn unlock(&self) -> Result<(), StateError>;
}

/// Parses a stored state, refusing a format newer than this build reads.
pub fn parse(location: &str, text: &str, hint: &str) -> Result<State, StateError> {
    let unreadable =
        |reason: String| StateError::Unreadable { location: location.to_owned(), reason };
    if text.trim().is_empty() {
        return Err(unreadable(format!(
            "the file is empty (a state holds at least its version, lineage and serial){hint}"
        )));
    }
    let state: State = serde_json::from_str(text).map_err(|e| unreadable(format!("{e}{hint}")))?;
    if state.version > FORMAT_VERSION {
        return Err(unreadable(format!(
            "format version {} is newer than this reconcile understands ({FORMAT_VERSION})",
            state.version
        )));
    }
    Ok(state)
}

/// The prefix of what the state records instead of a sensitive value.
const FINGERPRINT_PREFIX: &str = "(sensitive) ";

/// What the state records for a sensitive value: its keyed fingerprint
/// (see `fingerprint`), enough to notice a change, never the value, and no
/// help to a dictionary attack by whoever can read the state.
pub fn fingerprint(fp: &Fingerprinter, v: &Value) -> Value {
    Value::str(format!("{FINGERPRINT_PREFIX}{}", fp.of(v)))
}

pub fn is_fingerprint(v: &Value) -> bool {
    v.as_str()
        .is_some_and(|s| s.starts_with(FINGERPRINT_PREFIX))
}

impl ResourceState {
    /// The attributes recorded as fingerprints: sensitive when last written,
    /// so still sensitive once the resource has left the desired state.
    pub fn masked_fields(&self) -> BTreeSet<String> {
        self.attributes
            .iter()
            .filter(|(_, v)| is_fingerprint(v))
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// Records live attributes, keeping the fingerprints of masked ones: the
    /// live value of a masked field is as secret as the one it replaces.
    /// Returns whether anything changed.
    pub fn set_live(&mut self, live: &Attrs) -> bool {
        let mut next = live.clone();
        for name in self.masked_fields() {
            if let (Some(v), Some(old)) = (next.get_mut(&name), self.attributes.get(&name)) {
                *v = old.clone();
            }
        }
        let changed = next != self.attributes;
        self.attributes = next;
        changed
    }
}

/// Replaces every sensitive value by its fingerprint before the state is
/// written: the kinds' sensitive fields, attributes filled from sensitive
/// variables, and outputs of sensitive variables.
pub fn mask(state: &mut State, config: &Config, fp: &Fingerprinter) {
    let hide = |v: &mut Value| {
        if !is_fingerprint(v) && !v.is_null() {
            *v = fingerprint(fp, v);
        }
    };
    for (address, rs) in state.resources.iter_mut().chain(state.deposed.iter_mut()) {
        let from_vars = config.resources.get(address).map(|r| &r.sensitive_attrs);
        let kind = crate::kinds::lookup(&rs.kind);
        for (name, v) in &mut rs.attributes {
            let by_kind = kind
                .and_then(|k| k.schema().field(name))
                .is_some_and(|f| f.sensitive);
            if by_kind || from_vars.is_some_and(|s| s.contains(name)) {
                hide(v);
            }
        }
    }
    for (name, v) in &mut state.outputs {
        if config.is_sensitive_output(name) {
            hide(v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_values_of_masked_fields_stay_masked() {
        let fp = Fingerprinter::with_key("k");
        let secret = Value::str("postgres://app:hunter2hunter2@db/app");
        let mut rs = ResourceState {
            kind: "ecs_task_definition".into(),
            id: "td".into(),
            attributes: Attrs::from([
                ("family".to_owned(), Value::str("web")),
                ("url".to_owned(), fingerprint(&fp, &secret)),
            ]),
            dependencies: Vec::new(),
            status: Status::Created,
            deletion_policy: None,
            fingerprints: BTreeMap::new(),
            region: None,
        };
        assert_eq!(rs.masked_fields(), BTreeSet::from(["url".to_owned()]));
        let live = Attrs::from([
            ("family".to_owned(), Value::str("web2")),
            ("url".to_owned(), secret.clone()),
        ]);
        assert!(rs.set_live(&live));
        assert_eq!(rs.attributes["family"], Value::str("web2"));
        assert!(is_fingerprint(&rs.attributes["url"]));
        assert!(!rs.attributes["url"].to_string().contains("hunter2"));
        assert!(!rs.set_live(&live), "nothing changed the second time");
    }
}
