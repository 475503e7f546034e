//! What a resource's `lifecycle` and `timeouts` ask of a delete, a
//! replacement and the waiters. Below both the loader, which parses them, and
//! the kinds, which give defaults: neither imports the other for these.

use std::time::Duration;

use crate::schema::{Timeouts, did_you_mean};
use crate::value::Value;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lifecycle {
    pub prevent_destroy: bool,
    pub create_before_destroy: bool,
    pub ignore_changes: Vec<String>,
    /// What a delete does; unset means the kind's default.
    pub deletion_policy: Option<DeletionPolicy>,
    /// `timeouts = { create = "30m", ... }`: waiters' limits over the kind's.
    pub timeouts: TimeoutOverrides,
}

/// A resource's own time limits for its waiters; unset ones are the kind's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimeoutOverrides {
    pub create: Option<Duration>,
    pub update: Option<Duration>,
    pub delete: Option<Duration>,
}

impl TimeoutOverrides {
    /// A kind's `defaults` with these over them.
    pub fn over(&self, defaults: Timeouts) -> Timeouts {
        Timeouts {
            create: self.create.unwrap_or(defaults.create),
            update: self.update.unwrap_or(defaults.update),
            delete: self.delete.unwrap_or(defaults.delete),
        }
    }

    /// `{ create = "30m", update = "10m", delete = "1h" }` (humantime
    /// durations, from one second to one day).
    pub fn parse(v: &Value) -> Result<TimeoutOverrides, String> {
        let Value::Map(m) = v else {
            return Err("expected a table such as { create = \"30m\", delete = \"20m\" }".into());
        };
        let mut t = TimeoutOverrides::default();
        for (k, v) in m {
            let slot = match k.as_str() {
                "create" => &mut t.create,
                "update" => &mut t.update,
                "delete" => &mut t.delete,
                other => {
                    let hint = did_you_mean(other, ["create", "update", "delete"]);
                    return Err(format!("unknown operation `{other}`{hint}"));
                }
            };
            let text = v.as_str().ok_or_else(|| {
                format!(
                    "`{k}`: expected a duration such as \"30m\", found {}",
                    v.type_name()
                )
            })?;
            let d = humantime::parse_duration(text)
                .map_err(|e| format!("`{k}`: invalid duration {text:?}: {e}"))?;
            if d < Duration::from_secs(1) || d > Duration::from_hours(24) {
                return Err(format!("`{k}`: {text:?} is outside 1s to 24h"));
            }
            *slot = Some(d);
        }
        Ok(t)
    }
}

/// What deleting a resource means, as CloudFormation's `DeletionPolicy`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeletionPolicy {
    #[default]
    Delete,
    /// Forget it: dropped from the state, left running in AWS.
    Retain,
    /// Keep a final snapshot, then delete (databases, file systems).
    Snapshot,
}

impl DeletionPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            DeletionPolicy::Delete => "delete",
            DeletionPolicy::Retain => "retain",
            DeletionPolicy::Snapshot => "snapshot",
        }
    }
}

impl Lifecycle {
    /// `lifecycle = { prevent_destroy = true, ... }`; `timeouts` is set apart.
    pub fn parse(v: &Value) -> Result<Lifecycle, String> {
        let Value::Map(m) = v else {
            return Err("expected a table such as { prevent_destroy = true }".into());
        };
        let mut l = Lifecycle::default();
        for (k, v) in m {
            match (k.as_str(), v) {
                ("prevent_destroy", Value::Bool(b)) => l.prevent_destroy = *b,
                ("create_before_destroy", Value::Bool(b)) => l.create_before_destroy = *b,
                ("ignore_changes", Value::List(items)) => {
                    l.ignore_changes = v.str_list().into_iter().take(items.len()).collect();
                }
                ("deletion_policy", Value::Str(p)) => {
                    l.deletion_policy = Some(match p.as_str() {
                        "delete" => DeletionPolicy::Delete,
                        "retain" => DeletionPolicy::Retain,
                        "snapshot" => DeletionPolicy::Snapshot,
                        other => {
                            return Err(format!(
                                "deletion_policy must be \"delete\", \"retain\" or \"snapshot\", found \"{other}\""
                            ));
                        }
                    });
                }
                ("deletion_policy", other) => {
                    return Err(format!(
                        "`deletion_policy` must be a string, found {}",
                        other.type_name()
                    ));
                }
                ("prevent_destroy" | "create_before_destroy", other) => {
                    return Err(format!("`{k}` must be a bool, found {}", other.type_name()));
                }
                ("ignore_changes", other) => {
                    return Err(format!(
                        "`ignore_changes` must be a list, found {}",
                        other.type_name()
                    ));
                }
                (other, _) => {
                    let hint = did_you_mean(
                        other,
                        [
                            "prevent_destroy",
                            "create_before_destroy",
                            "ignore_changes",
                            "deletion_policy",
                        ],
                    );
                    return Err(format!("unknown setting `{other}`{hint}"));
                }
            }
        }
        Ok(l)
    }
}
