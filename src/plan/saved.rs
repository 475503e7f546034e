//! Saved plans (`plan --out`, `apply <file>`): the plan as JSON with a
//! fingerprint of the desired files and variable values, so that apply can
//! refuse a plan made from other inputs. Sensitive values are masked; the
//! fingerprint is a salted SHA-256, never a value.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::Plan;
use super::render::SENSITIVE;
use crate::config::Config;
use crate::state::State;
use crate::value::{Attrs, Value};

const FORMAT: u32 = 1;

#[derive(Debug, Serialize, Deserialize)]
pub struct SavedPlan {
    pub format: u32,
    /// Random per plan; salts the fingerprint.
    pub salt: String,
    /// SHA-256 of the salt, each desired file's name and bytes, and each
    /// variable's value.
    pub fingerprint: String,
    /// SHA-256 of the salt and the lookups' values as planned: they may be
    /// secrets (SSM SecureString), so apply reads them again and compares.
    #[serde(default)]
    pub lookups_fingerprint: String,
    /// The plan, without sensitive values and without lookup values.
    pub plan: Plan,
}

/// The fingerprint of lookup values.
pub fn lookups_fingerprint(lookups: &BTreeMap<String, Attrs>, salt: &str) -> String {
    let mut h = Sha256::new();
    h.update(salt.as_bytes());
    for (name, attrs) in lookups {
        h.update(name.as_bytes());
        for (k, v) in attrs {
            let text = v.to_json().to_string();
            h.update(k.as_bytes());
            h.update((text.len() as u64).to_le_bytes());
            h.update(text.as_bytes());
        }
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// The fingerprint of the inputs a plan was made from.
pub fn fingerprint(config: &Config, salt: &str) -> anyhow::Result<String> {
    let mut h = Sha256::new();
    h.update(salt.as_bytes());
    for f in &config.files {
        let bytes = std::fs::read(f).with_context(|| format!("reading {}", f.display()))?;
        let name = f.file_name().map(|n| n.to_string_lossy().into_owned());
        h.update(name.unwrap_or_default().as_bytes());
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(&bytes);
    }
    for (name, v) in &config.var_values {
        h.update(name.as_bytes());
        let text = v.to_json().to_string();
        h.update((text.len() as u64).to_le_bytes());
        h.update(text.as_bytes());
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// The plan with every sensitive attribute replaced by the mask.
fn masked(plan: &Plan) -> Plan {
    let mut plan = plan.clone();
    let mask = Value::str(SENSITIVE);
    for c in &mut plan.changes {
        let hide = |attrs: &mut Option<Attrs>| {
            for (k, v) in attrs.iter_mut().flatten() {
                if c.sensitive.contains(k) {
                    *v = mask.clone();
                }
            }
        };
        hide(&mut c.before);
        hide(&mut c.after);
        for d in c.diffs.iter_mut().filter(|d| d.sensitive) {
            d.before = mask.clone();
            d.after = mask.clone();
        }
    }
    plan
}

/// Writes the plan, readable by its owner only.
pub fn save(path: &Path, config: &Config, plan: &Plan) -> anyhow::Result<()> {
    let salt = uuid::Uuid::new_v4().to_string();
    let mut plan = masked(plan);
    let lookups = std::mem::take(&mut plan.lookups);
    let saved = SavedPlan {
        format: FORMAT,
        fingerprint: fingerprint(config, &salt)?,
        lookups_fingerprint: lookups_fingerprint(&lookups, &salt),
        salt,
        plan,
    };
    let text = serde_json::to_string_pretty(&saved)?;
    let mut f = {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(path)
            .with_context(|| format!("writing the plan to {}", path.display()))?
    };
    f.write_all(text.as_bytes())
        .and_then(|()| f.write_all(b"\n"))
        .with_context(|| format!("writing the plan to {}", path.display()))?;
    Ok(())
}

pub fn load(path: &Path) -> anyhow::Result<SavedPlan> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the saved plan {}", path.display()))?;
    let saved: SavedPlan = serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not a plan saved by `reconcile plan --out`",
            path.display()
        )
    })?;
    if saved.format > FORMAT {
        bail!(
            "the saved plan {} has format {}, newer than this reconcile understands ({FORMAT})",
            path.display(),
            saved.format
        );
    }
    Ok(saved)
}

/// Puts back the lookups read again at apply time, refusing the plan if
/// they no longer have the values it was made with.
pub fn restore_lookups(
    saved: &mut SavedPlan,
    path: &Path,
    lookups: BTreeMap<String, Attrs>,
) -> anyhow::Result<()> {
    if lookups_fingerprint(&lookups, &saved.salt) != saved.lookups_fingerprint {
        bail!(
            "the saved plan {} is stale: a lookup's value changed since it was made; nothing was changed. Run `reconcile plan --out` again",
            path.display()
        );
    }
    saved.plan.lookups = lookups;
    Ok(())
}

/// Refuses a plan made from other inputs or against another state.
pub fn check(
    saved: &SavedPlan,
    path: &Path,
    config: &Config,
    state: &mut State,
) -> anyhow::Result<()> {
    let p = &saved.plan;
    let stale = |why: String| {
        anyhow::anyhow!(
            "the saved plan {} is stale: {why}; nothing was changed. Run `reconcile plan --out` again",
            path.display()
        )
    };
    if p.stack != config.stack {
        return Err(stale(format!(
            "it is for stack `{}`, the desired state is stack `{}`",
            p.stack, config.stack
        )));
    }
    if fingerprint(config, &saved.salt)? != saved.fingerprint {
        return Err(stale(
            "the desired files or variable values changed since it was made".into(),
        ));
    }
    // No state yet, then and now: the plan's lineage becomes the state's.
    if state.serial == 0 && p.serial == 0 && state.resources.is_empty() {
        state.lineage = p.lineage.clone();
    }
    if p.lineage != state.lineage {
        return Err(stale(format!(
            "it was made against state lineage {}, the state's lineage is {}",
            p.lineage, state.lineage
        )));
    }
    if p.serial != state.serial {
        return Err(stale(format!(
            "the state changed since it was made (serial {} then, {} now): someone else applied",
            p.serial, state.serial
        )));
    }
    Ok(())
}
