//! `--refresh-only`: what changed outside reconcile since the state was
//! written (per resource: changed attributes, or deleted), and recording
//! the live values in the state without touching AWS.

use std::fmt::Write;

use serde_json::json;

use super::diff::Live;
use super::render::{SENSITIVE, Style};
use crate::config::Config;
use crate::kinds;
use crate::state::State;
use crate::value::{Attrs, Value};

#[derive(Debug, Clone, PartialEq)]
pub struct FieldDrift {
    pub name: String,
    pub recorded: Value,
    pub live: Value,
    pub sensitive: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Drift {
    pub address: String,
    pub kind: String,
    /// Gone from AWS.
    pub deleted: bool,
    pub fields: Vec<FieldDrift>,
}

/// Compares what the state recorded with what AWS has now, field by field
/// in each field's canonical form.
pub fn drift(
    config: Option<&Config>,
    state: &State,
    live: &Live,
    fp: &crate::state::fingerprint::Fingerprinter,
) -> Vec<Drift> {
    let mut out = Vec::new();
    for (address, rs) in &state.resources {
        let Some(kind) = kinds::lookup(&rs.kind) else {
            continue;
        };
        let schema = kind.schema();
        let mut drift = Drift {
            address: address.clone(),
            kind: rs.kind.clone(),
            deleted: false,
            fields: Vec::new(),
        };
        let Some(Some(now)) = live.get(address) else {
            drift.deleted = true;
            out.push(drift);
            continue;
        };
        let canon = |a: &Attrs| {
            let mut a = a.clone();
            kind.canonicalize(&mut a);
            a
        };
        let now_raw = now;
        let (before, now) = (canon(&rs.attributes), canon(now));
        let from_vars = config
            .and_then(|c| c.resources.get(address))
            .map(|r| r.sensitive_attrs.clone())
            .unwrap_or_default();
        for f in schema.fields.iter().filter(|f| !f.client_only) {
            // Sensitive values are recorded as fingerprints: compare those.
            if let Some(recorded) = rs
                .attributes
                .get(f.name)
                .filter(|v| crate::state::is_fingerprint(v))
            {
                let live_value = now_raw.get(f.name).cloned().unwrap_or_default();
                if crate::state::fingerprint(fp, &live_value) != *recorded {
                    drift.fields.push(FieldDrift {
                        name: f.name.to_owned(),
                        recorded: recorded.clone(),
                        live: live_value,
                        sensitive: true,
                    });
                }
                continue;
            }
            let norm = |a: &Attrs| a.get(f.name).map(|v| f.ty.normalize(v)).unwrap_or_default();
            let (b, l) = (norm(&before), norm(&now));
            if b != l {
                drift.fields.push(FieldDrift {
                    name: f.name.to_owned(),
                    recorded: b,
                    live: l,
                    sensitive: f.sensitive || from_vars.contains(f.name),
                });
            }
        }
        if !drift.fields.is_empty() {
            out.push(drift);
        }
    }
    out
}

/// Records the live values in the state: attributes refreshed, deleted
/// resources forgotten. Returns how many changed.
pub fn record(state: &mut State, live: &Live) -> usize {
    let mut n = 0;
    state.resources.retain(|address, rs| {
        if let Some(Some(now)) = live.get(address) {
            if rs.set_live(now) {
                n += 1;
            }
            true
        } else {
            n += 1;
            false
        }
    });
    n
}

fn shown(v: &Value, sensitive: bool) -> String {
    if sensitive {
        SENSITIVE.to_owned()
    } else {
        v.to_string()
    }
}

pub fn text(drifts: &[Drift], st: Style) -> String {
    if drifts.is_empty() {
        return st.bold("No changes. Nothing changed outside reconcile since the last apply.\n");
    }
    let mut out = String::from("Changes outside reconcile since the last apply:\n\n");
    for d in drifts {
        if d.deleted {
            let _ = writeln!(out, "  {} # {} has been deleted\n", st.red("-"), d.address);
            continue;
        }
        let _ = writeln!(out, "  {} # {} has changed", st.yellow("~"), d.address);
        for f in &d.fields {
            let _ = writeln!(
                out,
                "      {}: {} -> {}",
                f.name,
                shown(&f.recorded, f.sensitive),
                shown(&f.live, f.sensitive)
            );
        }
        out.push('\n');
    }
    let deleted = drifts.iter().filter(|d| d.deleted).count();
    let _ = writeln!(
        out,
        "{}",
        st.bold(&format!(
            "Refresh: {} changed, {} deleted.",
            drifts.len() - deleted,
            deleted
        ))
    );
    out
}

pub fn json(drifts: &[Drift]) -> serde_json::Value {
    let masked = |v: &Value, s: bool| {
        if s { json!(SENSITIVE) } else { v.to_json() }
    };
    json!({
        "refresh_only": true,
        "resources": drifts.iter().map(|d| json!({
            "address": d.address,
            "kind": d.kind,
            "change": if d.deleted { "deleted" } else { "changed" },
            "attributes": d.fields.iter().map(|f| json!({
                "name": f.name,
                "recorded": masked(&f.recorded, f.sensitive),
                "live": masked(&f.live, f.sensitive),
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}
