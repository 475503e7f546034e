//! The plan for people (Terraform's conventions: `+` create, `~` update,
//! `-/+` replace, `-` destroy) and for machines (JSON).

use std::collections::BTreeMap;
use std::fmt::Write;

use serde_json::json;

use super::{Action, AttrDiff, Change, Plan};
use crate::config::DeletionPolicy;
use crate::value::Value;

pub const SENSITIVE: &str = "(sensitive value)";

/// ANSI styles, or nothing with `--no-color`.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
}

impl Style {
    fn paint(&self, code: &str, s: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_owned()
        }
    }
    pub fn green(&self, s: &str) -> String {
        self.paint("32", s)
    }
    pub fn yellow(&self, s: &str) -> String {
        self.paint("33", s)
    }
    pub fn red(&self, s: &str) -> String {
        self.paint("31", s)
    }
    pub fn magenta(&self, s: &str) -> String {
        self.paint("35", s)
    }
    pub fn bold(&self, s: &str) -> String {
        self.paint("1", s)
    }
}

fn symbol(c: &Change, st: Style) -> String {
    match c.action {
        Action::Replace if c.create_before_destroy => st.magenta("+/-"),
        Action::Create => st.green("  +"),
        Action::Update => st.yellow("  ~"),
        Action::Replace => st.magenta("-/+"),
        Action::Delete => st.red("  -"),
        Action::NoOp => "   ".into(),
    }
}

fn headline(c: &Change) -> String {
    let what = match c.action {
        Action::Create => "will be created",
        Action::Update => "will be updated in place",
        Action::Replace if c.create_before_destroy => {
            "must be replaced (the new one is created first)"
        }
        Action::Replace => "must be replaced",
        Action::Delete if c.deletion_policy == DeletionPolicy::Retain => {
            "will be removed from the state and left in AWS (deletion_policy = retain)"
        }
        Action::Delete if c.deletion_policy == DeletionPolicy::Snapshot => {
            "will be destroyed after a final snapshot"
        }
        Action::Delete => "will be destroyed",
        Action::NoOp => "is up to date",
    };
    match &c.reason {
        Some(r) => format!("# {} {what} ({r})", c.address),
        None => format!("# {} {what}", c.address),
    }
}

fn shown(v: &Value, sensitive: bool) -> String {
    if sensitive {
        SENSITIVE.to_owned()
    } else {
        v.to_string()
    }
}

/// The whole plan as text, ending with the summary line.
pub fn text(plan: &Plan, st: Style) -> String {
    let mut out = String::new();
    for address in &plan.forget {
        let _ = writeln!(
            out,
            "Note: {address} was deleted outside reconcile and is no longer desired; it will be dropped from the state.\n"
        );
    }
    let changes: Vec<&Change> = plan
        .changes
        .iter()
        .filter(|c| c.action != Action::NoOp)
        .collect();
    if changes.is_empty() {
        out.push_str(&st.bold("No changes. Live infrastructure matches the desired state."));
        out.push('\n');
        return out;
    }
    out.push_str("reconcile will perform the following actions:\n\n");
    for c in changes {
        change_text(&mut out, c, st);
        out.push('\n');
    }
    let s = plan.summary();
    let _ = writeln!(
        out,
        "{}",
        st.bold(&format!(
            "Plan: {} to add, {} to change, {} to destroy.",
            s.add, s.change, s.destroy
        ))
    );
    out
}

fn change_text(out: &mut String, c: &Change, st: Style) {
    let _ = writeln!(out, "  {}", st.bold(&headline(c)));
    let _ = writeln!(out, "{} {} {{", symbol(c, st), c.address);
    let width = c
        .diffs
        .iter()
        .map(|d| d.name.len())
        .max()
        .unwrap_or(0)
        .max(2);
    match c.action {
        Action::Delete => {
            let before = c.before.clone().unwrap_or_default();
            let width = before.keys().map(String::len).max().unwrap_or(2);
            for (k, v) in before.iter().filter(|(_, v)| !v.is_null()) {
                let sensitive = c.sensitive.contains(k);
                let _ = writeln!(
                    out,
                    "      {} {k:<width$} = {}",
                    st.red("-"),
                    shown(v, sensitive)
                );
            }
        }
        Action::Create => {
            for d in &c.diffs {
                let _ = writeln!(
                    out,
                    "      {} {:<width$} = {}",
                    st.green("+"),
                    d.name,
                    shown(&d.after, d.sensitive)
                );
            }
        }
        _ => {
            if let (Some(id), Action::Update) = (&c.id, c.action) {
                let _ = writeln!(out, "        {:<width$} = {:?}", "id", id);
            }
            for d in c
                .diffs
                .iter()
                .filter(|d| !(d.name == "id" && c.action == Action::Update))
            {
                diff_text(out, d, width, st);
            }
        }
    }
    let _ = writeln!(out, "    }}");
}

/// One changed attribute: tables and lists show only what changed.
fn diff_text(out: &mut String, d: &AttrDiff, width: usize, st: Style) {
    let tilde = st.yellow("~");
    let note = if d.forces_replacement {
        st.magenta(" # forces replacement")
    } else {
        String::new()
    };
    if d.sensitive {
        let _ = writeln!(out, "      {tilde} {:<width$} = {SENSITIVE}{note}", d.name);
        return;
    }
    match (&d.before, &d.after) {
        (Value::Map(b), Value::Map(a)) => {
            let _ = writeln!(out, "      {tilde} {:<width$} = {{{note}", d.name);
            let keys: std::collections::BTreeSet<&String> = b.keys().chain(a.keys()).collect();
            for k in keys {
                match (b.get(k), a.get(k)) {
                    (Some(x), Some(y)) if x != y => {
                        let _ = writeln!(out, "          {tilde} {k} = {x} -> {y}");
                    }
                    (None, Some(y)) => {
                        let _ = writeln!(out, "          {} {k} = {y}", st.green("+"));
                    }
                    (Some(x), None) => {
                        let _ = writeln!(out, "          {} {k} = {x}", st.red("-"));
                    }
                    _ => {}
                }
            }
            let _ = writeln!(out, "        }}");
        }
        (Value::List(b), Value::List(a)) => {
            let _ = writeln!(out, "      {tilde} {:<width$} = [{note}", d.name);
            for x in b.iter().filter(|x| !a.contains(x)) {
                let _ = writeln!(out, "          {} {x},", st.red("-"));
            }
            for y in a.iter().filter(|y| !b.contains(y)) {
                let _ = writeln!(out, "          {} {y},", st.green("+"));
            }
            let _ = writeln!(out, "        ]");
        }
        (b, a) => {
            let _ = writeln!(out, "      {tilde} {:<width$} = {b} -> {a}{note}", d.name);
        }
    }
}

/// The plan as JSON: `{"changes":[{address, action, attributes}], "summary"}`.
pub fn json(plan: &Plan) -> serde_json::Value {
    let changes: Vec<serde_json::Value> = plan
        .changes
        .iter()
        .map(|c| {
            let attributes: BTreeMap<&str, serde_json::Value> = match c.action {
                Action::Delete => c
                    .before
                    .iter()
                    .flatten()
                    .map(|(k, v)| {
                        let v = if c.sensitive.contains(k) { json!(SENSITIVE) } else { v.to_json() };
                        (k.as_str(), json!({ "before": v, "after": null }))
                    })
                    .collect(),
                _ => c
                    .diffs
                    .iter()
                    .map(|d| {
                        let (b, a) = if d.sensitive {
                            (json!(SENSITIVE), json!(SENSITIVE))
                        } else {
                            (d.before.to_json(), d.after.to_json())
                        };
                        (d.name.as_str(), json!({ "before": b, "after": a, "forces_replacement": d.forces_replacement }))
                    })
                    .collect(),
            };
            json!({
                "address": c.address,
                "kind": c.kind,
                "action": c.action.as_str(),
                "id": c.id,
                "reason": c.reason,
                "deletion_policy": c.deletion_policy.as_str(),
                "attributes": attributes,
            })
        })
        .collect();
    let s = plan.summary();
    json!({
        "stack": plan.stack,
        "changes": changes,
        "forget": plan.forget,
        "summary": { "add": s.add, "change": s.change, "destroy": s.destroy },
        "has_changes": plan.has_changes(),
    })
}
