//! Values as indented blocks, Terraform's way: one attribute per line,
//! `+`/`-`/`~` on what changes, unchanged siblings folded into a
//! `# (N unchanged … hidden)` line, list elements matched by what they are
//! (a container by its name, a rule by its source and ports) rather than by
//! their position, JSON documents (tables or strings) by their structure,
//! and multi-line strings (user data) as line diffs.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use super::render::Style;
use crate::schema::Type;
use crate::value::Value;

/// The mark of a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sign {
    Add,
    Remove,
    /// Unchanged, shown for context.
    Keep,
}

impl Sign {
    fn mark(self, st: Style) -> String {
        match self {
            Sign::Add => st.green("+"),
            Sign::Remove => st.red("-"),
            Sign::Keep => " ".into(),
        }
    }
}

/// A list of scalars at most this long is written on one line.
const INLINE_LIST: usize = 72;

/// What identifies an element of a list, tried in order: the first group
/// whose keys are all present in a table is that table's identity. Two
/// elements with the same identity are one element that changed.
const IDENTITIES: &[&[&str]] = &[
    // containers, lifecycle hooks, most named things
    &["name"],
    // a service's load balancers
    &["target_group_arn", "container_name", "container_port"],
    // port mappings
    &["container_port", "protocol"],
    // listener rules, ECR lifecycle rules
    &["priority"],
    &["rulePriority"],
    // tags given as a list
    &["key"],
    &["Key"],
    // security-group rules (one source each once canonical)
    &[
        "protocol",
        "from_port",
        "to_port",
        "cidr_blocks",
        "ipv6_cidr_blocks",
        "source_security_group_ids",
    ],
    // routes
    &["cidr_block"],
    // CloudFront origins
    &["id"],
    // policy statements
    &["Sid"],
];

/// The identity of a list element: (group, its values as text).
fn identity(v: &Value) -> Option<(usize, String)> {
    let m = v.as_map()?;
    IDENTITIES.iter().enumerate().find_map(|(i, keys)| {
        let vals: Option<Vec<String>> = keys
            .iter()
            .map(|k| m.get(*k).map(ToString::to_string))
            .collect();
        vals.map(|v| (i, v.join("\u{1f}")))
    })
}

/// The keys shown unchanged inside a changed element, so that the reader
/// knows which one it is (empty source lists of a rule left out).
fn identity_keys(v: &Value) -> Vec<&'static str> {
    let Some(m) = v.as_map() else {
        return vec![];
    };
    match identity(v) {
        Some((i, _)) => IDENTITIES[i]
            .iter()
            .copied()
            .filter(|k| match m.get(*k) {
                Some(Value::List(l)) => !l.is_empty(),
                Some(_) => true,
                None => false,
            })
            .collect(),
        None => vec![],
    }
}

pub fn field_type<'t>(ty: Option<&'t Type>, key: &str) -> Option<&'t Type> {
    match ty? {
        Type::Object(fields) => fields.iter().find(|f| f.name == key).map(|f| &f.ty),
        Type::Map(t) => Some(t),
        _ => None,
    }
}

fn element_type(ty: Option<&Type>) -> Option<&Type> {
    match ty? {
        Type::List(t) | Type::Set(t) => Some(t),
        _ => None,
    }
}

/// A JSON document: a `Json` field, or a string holding a JSON table or list.
fn json_doc(v: &Value, ty: Option<&Type>) -> Option<serde_json::Value> {
    match v {
        Value::Str(s) => {
            let t = s.trim_start();
            if !(t.starts_with('{') || t.starts_with('[')) {
                return None;
            }
            serde_json::from_str::<serde_json::Value>(s)
                .ok()
                .filter(|j| j.is_object() || j.is_array())
        }
        Value::Map(_) | Value::List(_) if matches!(ty, Some(Type::Json)) && !v.has_unknown() => {
            Some(v.to_json())
        }
        _ => None,
    }
}

fn pad(n: usize) -> String {
    " ".repeat(n)
}

/// Width that aligns the `=` of these keys.
fn key_width<'a>(keys: impl Iterator<Item = &'a String>) -> usize {
    keys.map(String::len).max().unwrap_or(0)
}

/// A whole value under one sign (created or destroyed, or shown for
/// context): scalars on the line, tables and long lists as blocks,
/// multi-line strings as heredocs, JSON documents as `jsonencode(…)` blocks.
/// `label` is `"name = "` (already aligned) or empty for a list element;
/// `trailer` ends the value (`,` in a list); `note` follows the opening.
#[allow(clippy::too_many_arguments)]
pub fn value_block(
    out: &mut String,
    st: Style,
    indent: usize,
    sign: Sign,
    label: &str,
    v: &Value,
    ty: Option<&Type>,
    note: &str,
    trailer: &str,
) {
    let p = pad(indent);
    let s = sign.mark(st);
    if let Some(doc) = json_doc(v, ty) {
        let _ = writeln!(out, "{p}{s} {label}jsonencode({note}");
        let doc = Value::from_json(&doc);
        value_block(out, st, indent + 4, sign, "", &doc, None, "", "");
        let _ = writeln!(out, "{p}  ){trailer}");
        return;
    }
    match v {
        Value::Str(text) if text.contains('\n') => {
            let _ = writeln!(out, "{p}{s} {label}<<-EOT{note}");
            for line in text.lines() {
                let _ = writeln!(out, "{p}      {line}");
            }
            let _ = writeln!(out, "{p}  EOT{trailer}");
        }
        Value::Map(m) if !m.is_empty() => {
            let _ = writeln!(out, "{p}{s} {label}{{{note}");
            let w = key_width(m.keys());
            for (k, x) in m {
                let label = format!("{k:<w$} = ");
                value_block(
                    out,
                    st,
                    indent + 4,
                    sign,
                    &label,
                    x,
                    field_type(ty, k),
                    "",
                    "",
                );
            }
            let _ = writeln!(out, "{p}  }}{trailer}");
        }
        Value::List(l) if !fits_inline(l) => {
            let _ = writeln!(out, "{p}{s} {label}[{note}");
            let ety = element_type(ty);
            for x in l {
                value_block(out, st, indent + 4, sign, "", x, ety, "", ",");
            }
            let _ = writeln!(out, "{p}  ]{trailer}");
        }
        other => {
            let _ = writeln!(out, "{p}{s} {label}{other}{trailer}{note}");
        }
    }
}

fn fits_inline(l: &[Value]) -> bool {
    l.iter()
        .all(|x| !matches!(x, Value::Map(_) | Value::List(_)))
        && Value::List(l.to_vec()).to_string().len() <= INLINE_LIST
}

/// One value that changes, marked `~`, showing only what changed inside.
#[allow(clippy::too_many_arguments)]
pub fn value_diff(
    out: &mut String,
    st: Style,
    indent: usize,
    label: &str,
    before: &Value,
    after: &Value,
    ty: Option<&Type>,
    note: &str,
    trailer: &str,
) {
    let p = pad(indent);
    let tilde = st.yellow("~");
    if before.is_null() && !after.is_null() {
        return value_block(out, st, indent, Sign::Add, label, after, ty, note, trailer);
    }
    if after.is_null() && !before.is_null() {
        return value_block(
            out,
            st,
            indent,
            Sign::Remove,
            label,
            before,
            ty,
            note,
            trailer,
        );
    }
    if !after.has_unknown()
        && let (Some(b), Some(a)) = (json_doc(before, ty), json_doc(after, ty))
    {
        let _ = writeln!(out, "{p}{tilde} {label}jsonencode({note}");
        let (b, a) = (Value::from_json(&b), Value::from_json(&a));
        value_diff(out, st, indent + 4, "", &b, &a, None, "", "");
        let _ = writeln!(out, "{p}  ){trailer}");
        return;
    }
    match (before, after) {
        (Value::Str(b), Value::Str(a)) if b.contains('\n') || a.contains('\n') => {
            let _ = writeln!(out, "{p}{tilde} {label}<<-EOT{note}");
            line_diff(out, st, indent + 4, b, a);
            let _ = writeln!(out, "{p}  EOT{trailer}");
        }
        (Value::Map(b), Value::Map(a)) => {
            let _ = writeln!(out, "{p}{tilde} {label}{{{note}");
            map_diff(out, st, indent + 4, (b, a), ty, &identity_keys(before));
            let _ = writeln!(out, "{p}  }}{trailer}");
        }
        (Value::List(b), Value::List(a)) => {
            let _ = writeln!(out, "{p}{tilde} {label}[{note}");
            list_diff(out, st, indent + 4, b, a, ty);
            let _ = writeln!(out, "{p}  ]{trailer}");
        }
        (b, a) => {
            let _ = writeln!(out, "{p}{tilde} {label}{b} -> {a}{trailer}{note}");
        }
    }
}

/// The keys of two tables: changed, added and removed ones shown, identity
/// keys always, the others counted.
fn map_diff(
    out: &mut String,
    st: Style,
    indent: usize,
    (b, a): (&BTreeMap<String, Value>, &BTreeMap<String, Value>),
    ty: Option<&Type>,
    shown_always: &[&str],
) {
    let keys: BTreeSet<&String> = b.keys().chain(a.keys()).collect();
    let shown = |k: &String| b.get(k) != a.get(k) || shown_always.contains(&k.as_str());
    let w = key_width(keys.iter().copied().filter(|k| shown(k)));
    let mut hidden = 0;
    for k in keys {
        let kty = field_type(ty, k);
        let label = format!("{k:<w$} = ");
        match (b.get(k), a.get(k)) {
            (Some(x), Some(y)) if x != y => value_diff(out, st, indent, &label, x, y, kty, "", ""),
            (Some(x), Some(_)) if shown_always.contains(&k.as_str()) => {
                value_block(out, st, indent, Sign::Keep, &label, x, kty, "", "");
            }
            (Some(_), Some(_)) => hidden += 1,
            (None, Some(y)) => value_block(out, st, indent, Sign::Add, &label, y, kty, "", ""),
            (Some(x), None) => value_block(out, st, indent, Sign::Remove, &label, x, kty, "", ""),
            (None, None) => {}
        }
    }
    hidden_note(out, indent, hidden, "attribute");
}

/// The elements of two lists, paired by identity, then by equality, then
/// (an ordered list of tables, as many on each side) by position.
fn list_diff(
    out: &mut String,
    st: Style,
    indent: usize,
    b: &[Value],
    a: &[Value],
    ty: Option<&Type>,
) {
    let ety = element_type(ty);
    let ids_b: Vec<Option<(usize, String)>> = b.iter().map(identity).collect();
    let ids_a: Vec<Option<(usize, String)>> = a.iter().map(identity).collect();
    let unique = |ids: &[Option<(usize, String)>], id: &(usize, String)| {
        ids.iter().filter(|x| x.as_ref() == Some(id)).count() == 1
    };
    // partner[j] = the index in `b` of a[j]'s earlier self.
    let mut partner: Vec<Option<usize>> = vec![None; a.len()];
    let mut taken = vec![false; b.len()];
    for (j, id) in ids_a.iter().enumerate() {
        let Some(id) = id else { continue };
        if !unique(&ids_a, id) || !unique(&ids_b, id) {
            continue;
        }
        if let Some(i) = ids_b.iter().position(|x| x.as_ref() == Some(id)) {
            partner[j] = Some(i);
            taken[i] = true;
        }
    }
    for j in 0..a.len() {
        if partner[j].is_none()
            && let Some(i) = (0..b.len()).find(|&i| !taken[i] && b[i] == a[j])
        {
            partner[j] = Some(i);
            taken[i] = true;
        }
    }
    let removed: Vec<usize> = (0..b.len()).filter(|&i| !taken[i]).collect();
    let added: Vec<usize> = (0..a.len()).filter(|&j| partner[j].is_none()).collect();
    // A set has no order to pair by.
    let positional = !matches!(ty, Some(Type::Set(_)))
        && removed.len() == added.len()
        && removed.iter().all(|&i| b[i].as_map().is_some())
        && added.iter().all(|&j| a[j].as_map().is_some());
    if positional {
        for (&i, &j) in removed.iter().zip(&added) {
            partner[j] = Some(i);
            taken[i] = true;
        }
    }
    for (i, x) in b.iter().enumerate() {
        if !taken[i] {
            value_block(out, st, indent, Sign::Remove, "", x, ety, "", ",");
        }
    }
    let mut hidden = 0;
    for (j, y) in a.iter().enumerate() {
        match partner[j] {
            Some(i) if b[i] == *y => hidden += 1,
            Some(i) => value_diff(out, st, indent, "", &b[i], y, ety, "", ","),
            None => value_block(out, st, indent, Sign::Add, "", y, ety, "", ","),
        }
    }
    hidden_note(out, indent, hidden, "element");
}

pub fn hidden_note(out: &mut String, indent: usize, n: usize, what: &str) {
    if n > 0 {
        let _ = writeln!(
            out,
            "{}  # ({n} unchanged {what}{} hidden)",
            pad(indent),
            if n == 1 { "" } else { "s" }
        );
    }
}

/// Changed lines of two texts with two lines of context around each change.
pub fn line_diff(out: &mut String, st: Style, indent: usize, before: &str, after: &str) {
    let p = pad(indent);
    let diff = similar::TextDiff::from_lines(before, after);
    for (i, group) in diff.grouped_ops(2).iter().enumerate() {
        if i > 0 {
            let _ = writeln!(out, "{p}  ...");
        }
        for op in group {
            for change in diff.iter_changes(op) {
                let line = change.value().trim_end_matches(['\n', '\r']);
                let _ = match change.tag() {
                    similar::ChangeTag::Equal => writeln!(out, "{p}  {line}"),
                    similar::ChangeTag::Delete => writeln!(out, "{p}{} {line}", st.red("-")),
                    similar::ChangeTag::Insert => writeln!(out, "{p}{} {line}", st.green("+")),
                };
            }
        }
    }
}
