//! The plan for people (Terraform's conventions: `+` create, `~` update,
//! `-/+` replace, `-` destroy) and for machines (JSON).

use std::collections::BTreeMap;
use std::fmt::Write;

use serde_json::json;

use super::{Action, AttrDiff, Change, Plan};
use crate::config::DeletionPolicy;
use crate::schema::Type;
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
    let forced: Vec<String> = c
        .diffs
        .iter()
        .filter(|d| d.forces_replacement)
        .map(|d| format!("`{}`", d.name))
        .collect();
    match &c.reason {
        Some(r) => format!("# {} {what} ({r})", c.address),
        None if c.action == Action::Replace && !forced.is_empty() => {
            let verb = if forced.len() == 1 {
                "changes"
            } else {
                "change"
            };
            format!(
                "# {} {what}: {} {verb}, which cannot be done in place",
                c.address,
                forced.join(", ")
            )
        }
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
    // Differences kept because another resource owns the field: said once,
    // so that nobody wonders why they are not corrected.
    for c in plan.changes.iter().filter(|c| c.action == Action::NoOp) {
        for o in plan.owned.get(&c.address).into_iter().flatten() {
            if o.keeps_a_difference() {
                let _ = writeln!(
                    out,
                    "Note: {}: {} is {} in AWS ({} written), kept: {} ({}).\n",
                    c.address,
                    o.field,
                    o.live.clone().unwrap_or_default(),
                    o.written.clone().unwrap_or_default(),
                    o.describe(),
                    o.why
                );
            }
        }
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
        change_text(&mut out, c, st, plan.owned.get(&c.address));
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

fn change_text(
    out: &mut String,
    c: &Change,
    st: Style,
    owned: Option<&Vec<super::ownership::Owned>>,
) {
    let _ = writeln!(out, "  {}", st.bold(&headline(c)));
    for o in owned.into_iter().flatten() {
        let what = match (&o.planned, &o.live) {
            (Some(p), Some(l)) if p == l => format!("kept at {p}"),
            (Some(p), Some(l)) => format!("{l} is out of range: brought to {p}"),
            (Some(p), None) => format!("created with {p}, within range"),
            _ => "created with the written value".to_owned(),
        };
        let _ = writeln!(out, "  # {} ({what})", o.describe());
    }
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
                let ty = crate::kinds::lookup(&c.kind)
                    .and_then(|k| k.schema().field(&d.name))
                    .map(|f| &f.ty);
                diff_text(out, d, ty, width, st);
            }
        }
    }
    let _ = writeln!(out, "    }}");
}

/// One changed attribute: tables and lists show only what changed, JSON
/// documents as a line diff of their pretty form.
fn diff_text(out: &mut String, d: &AttrDiff, ty: Option<&Type>, width: usize, st: Style) {
    let note = if d.forces_replacement {
        st.magenta(" # forces replacement")
    } else {
        String::new()
    };
    if d.sensitive {
        let tilde = st.yellow("~");
        let _ = writeln!(out, "      {tilde} {:<width$} = {SENSITIVE}{note}", d.name);
        return;
    }
    let label = format!("{:<width$} = ", d.name);
    value_diff(out, st, 6, &label, &d.before, &d.after, ty, &note);
}

/// Unchanged keys shown anyway inside a changed table, so that the reader
/// knows which rule or container it is.
const IDENTITY_KEYS: &[&str] = &["name", "container_name", "priority", "port"];

fn field_type<'t>(ty: Option<&'t Type>, key: &str) -> Option<&'t Type> {
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

#[allow(clippy::too_many_arguments)]
fn value_diff(
    out: &mut String,
    st: Style,
    indent: usize,
    label: &str,
    before: &Value,
    after: &Value,
    ty: Option<&Type>,
    note: &str,
) {
    let pad = " ".repeat(indent);
    let tilde = st.yellow("~");
    if matches!(ty, Some(Type::Json)) && !after.has_unknown() {
        let (b, a) = (pretty_json(before), pretty_json(after));
        let _ = writeln!(out, "{pad}{tilde} {label}jsonencode({note}");
        json_line_diff(out, st, indent + 4, &b, &a);
        let _ = writeln!(out, "{pad}  )");
        return;
    }
    match (before, after) {
        (Value::Map(b), Value::Map(a)) => {
            let _ = writeln!(out, "{pad}{tilde} {label}{{{note}");
            let inner = " ".repeat(indent + 4);
            let keys: std::collections::BTreeSet<&String> = b.keys().chain(a.keys()).collect();
            let mut hidden = 0;
            for k in keys {
                let kty = field_type(ty, k);
                match (b.get(k), a.get(k)) {
                    (Some(x), Some(y)) if x != y => {
                        value_diff(out, st, indent + 4, &format!("{k} = "), x, y, kty, "");
                    }
                    (Some(x), Some(_)) if IDENTITY_KEYS.contains(&k.as_str()) => {
                        let _ = writeln!(out, "{inner}  {k} = {x}");
                    }
                    (Some(_), Some(_)) => hidden += 1,
                    (None, Some(y)) => {
                        let _ = writeln!(out, "{inner}{} {k} = {y}", st.green("+"));
                    }
                    (Some(x), None) => {
                        let _ = writeln!(out, "{inner}{} {k} = {x}", st.red("-"));
                    }
                    (None, None) => {}
                }
            }
            hidden_note(out, &inner, hidden, "attribute");
            let _ = writeln!(out, "{pad}  }}");
        }
        (Value::List(b), Value::List(a)) => {
            let _ = writeln!(out, "{pad}{tilde} {label}[{note}");
            let inner = " ".repeat(indent + 4);
            let ety = element_type(ty);
            let hidden = b.iter().filter(|x| a.contains(x)).count();
            let removed: Vec<&Value> = b.iter().filter(|x| !a.contains(x)).collect();
            let added: Vec<&Value> = a.iter().filter(|y| !b.contains(y)).collect();
            // Pair a removed and an added table that are the same thing
            // (same name), or, in an ordered list, the same position.
            let positional = matches!(ty, Some(Type::List(_))) && removed.len() == added.len();
            let mut partner: Vec<Option<usize>> = vec![None; removed.len()];
            for (i, x) in removed.iter().enumerate() {
                partner[i] = (0..added.len()).find(|&j| {
                    !partner.contains(&Some(j))
                        && x.as_map().is_some()
                        && added[j].as_map().is_some()
                        && (same_identity(x, added[j]) || positional && i == j)
                });
            }
            for (i, x) in removed.iter().enumerate() {
                match partner[i] {
                    Some(j) => value_diff(out, st, indent + 4, "", x, added[j], ety, ""),
                    None => {
                        let _ = writeln!(out, "{inner}{} {x},", st.red("-"));
                    }
                }
            }
            for (j, y) in added.iter().enumerate() {
                if !partner.contains(&Some(j)) {
                    let _ = writeln!(out, "{inner}{} {y},", st.green("+"));
                }
            }
            hidden_note(out, &inner, hidden, "element");
            let _ = writeln!(out, "{pad}  ]");
        }
        (b, a) => {
            let _ = writeln!(out, "{pad}{tilde} {label}{b} -> {a}{note}");
        }
    }
}

/// Two tables that describe the same thing (same `name`): shown as one
/// changed element rather than a removal and an addition.
fn same_identity(x: &Value, y: &Value) -> bool {
    let (Some(x), Some(y)) = (x.as_map(), y.as_map()) else {
        return false;
    };
    ["name", "container_name"]
        .iter()
        .any(|k| x.get(*k).is_some_and(|v| Some(v) == y.get(*k)))
}

fn hidden_note(out: &mut String, pad: &str, n: usize, what: &str) {
    if n > 0 {
        let _ = writeln!(
            out,
            "{pad}  # ({n} unchanged {what}{} hidden)",
            if n == 1 { "" } else { "s" }
        );
    }
}

/// A JSON document (a table or a JSON string) as indented text.
fn pretty_json(v: &Value) -> String {
    let j = match v {
        Value::Str(s) => serde_json::from_str(s).unwrap_or_else(|_| v.to_json()),
        Value::Null => return String::new(),
        other => other.to_json(),
    };
    serde_json::to_string_pretty(&j).unwrap_or_default()
}

/// Changed lines of two texts with two lines of context around each change.
fn json_line_diff(out: &mut String, st: Style, indent: usize, before: &str, after: &str) {
    let pad = " ".repeat(indent);
    let diff = similar::TextDiff::from_lines(before, after);
    for (i, group) in diff.grouped_ops(2).iter().enumerate() {
        if i > 0 {
            let _ = writeln!(out, "{pad}  ...");
        }
        for op in group {
            for change in diff.iter_changes(op) {
                let line = change.value().trim_end_matches('\n');
                let _ = match change.tag() {
                    similar::ChangeTag::Equal => writeln!(out, "{pad}  {line}"),
                    similar::ChangeTag::Delete => writeln!(out, "{pad}{} {line}", st.red("-")),
                    similar::ChangeTag::Insert => writeln!(out, "{pad}{} {line}", st.green("+")),
                };
            }
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
            let mut change = json!({
                "address": c.address,
                "kind": c.kind,
                "action": c.action.as_str(),
                "id": c.id,
                "reason": c.reason,
                "deletion_policy": c.deletion_policy.as_str(),
                "attributes": attributes,
            });
            if let (Some(owned), Some(map)) = (plan.owned.get(&c.address), change.as_object_mut()) {
                let owned: Vec<serde_json::Value> = owned
                    .iter()
                    .map(|o| {
                        json!({
                            "field": o.field,
                            "owner": o.owner,
                            "why": o.why,
                            "min": o.min,
                            "max": o.max,
                            "written": o.written.as_ref().map(Value::to_json),
                            "live": o.live.as_ref().map(Value::to_json),
                            "planned": o.planned.as_ref().map(Value::to_json),
                        })
                    })
                    .collect();
                map.insert("owned".into(), json!(owned));
            }
            change
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Attrs;

    fn v(j: serde_json::Value) -> Value {
        Value::from_json(&j)
    }

    fn attrs(j: serde_json::Value) -> Attrs {
        v(j).as_map().cloned().unwrap_or_default()
    }

    fn diff(name: &str, before: serde_json::Value, after: serde_json::Value) -> AttrDiff {
        AttrDiff {
            name: name.into(),
            before: v(before),
            after: v(after),
            forces_replacement: false,
            sensitive: false,
        }
    }

    fn change(address: &str, action: Action, diffs: Vec<AttrDiff>) -> Change {
        let kind = address.split('.').next().unwrap_or_default().to_owned();
        Change {
            address: address.into(),
            kind,
            action,
            id: (action != Action::Create).then(|| "id-0123".to_owned()),
            before: None,
            after: None,
            config: None,
            diffs,
            deps: vec![],
            state_deps: vec![],
            sensitive: vec![],
            reason: None,
            create_before_destroy: false,
            deposed: false,
            deletion_policy: DeletionPolicy::Delete,
        }
    }

    fn plan(changes: Vec<Change>) -> Plan {
        Plan {
            stack: "test".into(),
            region: "us-east-1".into(),
            lineage: "l".into(),
            serial: 1,
            destroy: false,
            changes,
            forget: vec![],
            outputs: BTreeMap::new(),
            lookups: BTreeMap::new(),
            targets: vec![],
            owned: BTreeMap::new(),
        }
    }

    const PLAIN: Style = Style { color: false };

    #[test]
    fn every_action() {
        let create = change(
            "vpc.new",
            Action::Create,
            vec![
                diff("cidr_block", json!(null), json!("10.1.0.0/16")),
                diff("id", json!(null), Value::Unknown.to_json()),
            ],
        );
        let mut create = create;
        create.diffs[1].after = Value::Unknown;
        let update = change(
            "vpc.main",
            Action::Update,
            vec![
                diff("enable_dns_hostnames", json!(false), json!(true)),
                diff(
                    "tags",
                    json!({"Name": "a", "Team": "x"}),
                    json!({"Name": "b", "Env": "prod", "Team": "x"}),
                ),
            ],
        );
        let mut replace = change(
            "subnet.a",
            Action::Replace,
            vec![
                diff("cidr_block", json!("10.0.1.0/24"), json!("10.0.9.0/24")),
                diff(
                    "availability_zone",
                    json!("us-east-1a"),
                    json!("us-east-1b"),
                ),
            ],
        );
        replace.diffs[0].forces_replacement = true;
        replace.diffs[1].forces_replacement = true;
        let mut delete = change("internet_gateway.old", Action::Delete, vec![]);
        delete.before = Some(attrs(json!({"id": "igw-1", "vpc_id": "vpc-1", "tags": {}})));
        let text = text(&plan(vec![create, update, replace, delete]), PLAIN);
        insta::assert_snapshot!(text);
    }

    #[test]
    fn colours_by_action() {
        let c = change(
            "vpc.new",
            Action::Create,
            vec![diff("cidr_block", json!(null), json!("10.1.0.0/16"))],
        );
        let mut r = change(
            "subnet.a",
            Action::Replace,
            vec![diff(
                "cidr_block",
                json!("10.0.1.0/24"),
                json!("10.0.2.0/24"),
            )],
        );
        r.diffs[0].forces_replacement = true;
        let u = change(
            "vpc.main",
            Action::Update,
            vec![diff("enable_dns_hostnames", json!(false), json!(true))],
        );
        let mut d = change("vpc.old", Action::Delete, vec![]);
        d.before = Some(attrs(json!({"id": "vpc-1"})));
        let t = text(&plan(vec![c, u, r, d]), Style { color: true });
        assert!(t.contains("\x1b[32m  +\x1b[0m vpc.new"), "{t}");
        assert!(t.contains("\x1b[33m  ~\x1b[0m vpc.main"), "{t}");
        assert!(t.contains("\x1b[35m-/+\x1b[0m subnet.a"), "{t}");
        assert!(t.contains("\x1b[31m  -\x1b[0m vpc.old"), "{t}");
    }

    #[test]
    fn nested_rules_show_only_what_changed() {
        let rule = |port: i64, cidrs: serde_json::Value| {
            json!({"protocol": "tcp", "from_port": port, "to_port": port, "cidr_blocks": cidrs,
                   "ipv6_cidr_blocks": [], "source_security_group_ids": [], "description": ""})
        };
        let before = json!([
            rule(22, json!(["10.0.0.0/8"])),
            rule(80, json!(["0.0.0.0/0"])),
            rule(443, json!(["0.0.0.0/0"]))
        ]);
        let after = json!([
            rule(80, json!(["0.0.0.0/0"])),
            rule(443, json!(["0.0.0.0/0"])),
            rule(8080, json!(["10.0.0.0/8"]))
        ]);
        let sg = change(
            "security_group.web",
            Action::Update,
            vec![diff("ingress", before, after)],
        );
        insta::assert_snapshot!(text(&plan(vec![sg]), PLAIN));
    }

    #[test]
    fn container_definitions_are_diffed_by_name() {
        let c = |name: &str, image: &str, env: serde_json::Value| {
            json!({"name": name, "image": image, "cpu": 256, "memory": 512, "essential": true,
                   "environment": env, "port_mappings": [{"container_port": 80, "protocol": "tcp"}]})
        };
        let before = json!([
            c("web", "nginx:1.26", json!({"MODE": "a"})),
            c("sidecar", "envoy:1", json!({}))
        ]);
        let after = json!([
            c("web", "nginx:1.27", json!({"MODE": "b", "DEBUG": "1"})),
            c("sidecar", "envoy:1", json!({}))
        ]);
        let mut td = change(
            "ecs_task_definition.app",
            Action::Replace,
            vec![diff("container_definitions", before, after)],
        );
        td.diffs[0].forces_replacement = true;
        insta::assert_snapshot!(text(&plan(vec![td]), PLAIN));
    }

    #[test]
    fn policy_documents_are_pretty_json_line_diffs() {
        let before = json!(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#
        );
        let after = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"Service": ["ecs-tasks.amazonaws.com", "lambda.amazonaws.com"]}, "Action": "sts:AssumeRole"}]});
        let inline_before = json!({"logs": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["logs:PutLogEvents"], "Resource": "*"}]}});
        let inline_after = json!({"logs": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"], "Resource": "*"}]}});
        let role = change(
            "iam_role.task",
            Action::Update,
            vec![
                diff("assume_role_policy", before, after),
                diff("inline_policies", inline_before, inline_after),
            ],
        );
        insta::assert_snapshot!(text(&plan(vec![role]), PLAIN));
    }

    #[test]
    fn sensitive_values_are_masked_everywhere() {
        let mut create = change(
            "ecs_task_definition.db",
            Action::Create,
            vec![diff("secret", json!(null), json!("hunter2-create"))],
        );
        create.diffs[0].sensitive = true;
        let mut update = change(
            "iam_role.r",
            Action::Update,
            vec![diff(
                "description",
                json!("hunter2-old"),
                json!("hunter2-new"),
            )],
        );
        update.diffs[0].sensitive = true;
        let mut delete = change("vpc.gone", Action::Delete, vec![]);
        delete.before = Some(attrs(json!({"id": "vpc-1", "password": "hunter2-gone"})));
        delete.sensitive = vec!["password".into()];
        let p = plan(vec![create, update, delete]);
        let t = text(&p, PLAIN);
        let j = json(&p).to_string();
        assert!(!t.contains("hunter2") && !j.contains("hunter2"), "{t}\n{j}");
        insta::assert_snapshot!(t);
    }
}
