//! What reconcile knows it manages: per address the kind, the AWS id, the
//! attributes last read and the dependencies. Stored Terraform-style with a
//! lineage that never changes and a serial that grows with every write.

pub mod fingerprint;
pub mod local;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::config::DeletionPolicy;
use crate::value::{Attrs, Value};

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
    /// before the call: if the process dies, the next run looks the
    /// resource up by its tags and adopts it instead of creating another.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub pending: BTreeMap<String, Pending>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    pub kind: String,
    /// Unix seconds when the create started.
    pub since: u64,
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
        }
    }
}
