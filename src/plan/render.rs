//! The plan for people (Terraform's conventions: `+` create, `~` update,
//! `-/+` replace, `-` destroy) and for machines (JSON).

use std::collections::BTreeMap;
use std::fmt::Write;

use serde_json::json;

use super::nested::{self, Sign};
use super::{Action, AttrDiff, Change, Plan};
use crate::config::DeletionPolicy;
use crate::schema::Type;

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

pub(crate) fn change_text(
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
                let label = format!("{k:<width$} = ");
                if c.sensitive.contains(k) {
                    let _ = writeln!(out, "      {} {label}{SENSITIVE}", st.red("-"));
                } else {
                    let ty = field_type_of(&c.kind, k);
                    nested::value_block(out, st, 6, Sign::Remove, &label, v, ty, "", "");
                }
            }
        }
        Action::Create => {
            for d in &c.diffs {
                let label = format!("{:<width$} = ", d.name);
                if d.sensitive {
                    let _ = writeln!(out, "      {} {label}{SENSITIVE}", st.green("+"));
                } else {
                    let ty = field_type_of(&c.kind, &d.name);
                    nested::value_block(out, st, 6, Sign::Add, &label, &d.after, ty, "", "");
                }
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
                diff_text(out, d, field_type_of(&c.kind, &d.name), width, st);
            }
        }
    }
    let _ = writeln!(out, "    }}");
}

/// The schema type of a kind's field, which tells JSON documents and
/// ordered lists apart.
fn field_type_of(kind: &str, field: &str) -> Option<&'static Type> {
    crate::kinds::lookup(kind)
        .and_then(|k| k.schema().field(field))
        .map(|f| &f.ty)
}

/// One changed attribute: tables and lists show only what changed (see
/// `nested`), JSON documents and multi-line strings as line diffs.
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
    nested::value_diff(out, st, 6, &label, &d.before, &d.after, ty, &note, "");
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
                            "written": o.written.as_ref().map(crate::value::Value::to_json),
                            "live": o.live.as_ref().map(crate::value::Value::to_json),
                            "planned": o.planned.as_ref().map(crate::value::Value::to_json),
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
    use crate::value::{Attrs, Value};

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
        Change { diffs, ..super::super::testing::change(address, action) }
    }

    fn plan(changes: Vec<Change>) -> Plan {
        Plan { stack: "test".into(), ..super::super::testing::plan(changes) }
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
    fn policy_documents_are_diffed_by_structure() {
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

    /// A plan's lines that mark a change (`+`, `-`, `~` after the indent).
    fn marked(t: &str) -> Vec<&str> {
        t.lines()
            .filter(|l| {
                let l = l.trim_start();
                ["+ ", "- ", "~ "].iter().any(|m| l.starts_with(m))
            })
            .collect()
    }

    #[test]
    fn one_environment_variable_changed_in_one_of_two_containers() {
        let c = |name: &str, image: &str, env: serde_json::Value| {
            json!({"name": name, "image": image, "cpu": 256, "memory": 512, "essential": true,
                   "environment": env,
                   "port_mappings": [{"container_port": 80, "protocol": "tcp"}],
                   "log_configuration": {"log_driver": "awslogs", "options": {"awslogs-group": "app"}}})
        };
        let before = json!([
            c(
                "web",
                "nginx:1.27",
                json!({"MODE": "a", "DEBUG": "0", "PORT": "80"})
            ),
            c("worker", "app:1", json!({"MODE": "a"}))
        ]);
        let after = json!([
            c(
                "web",
                "nginx:1.27",
                json!({"MODE": "a", "DEBUG": "1", "PORT": "80"})
            ),
            c("worker", "app:1", json!({"MODE": "a"}))
        ]);
        let mut td = change(
            "ecs_task_definition.app",
            Action::Replace,
            vec![diff("container_definitions", before, after)],
        );
        td.diffs[0].forces_replacement = true;
        let t = text(&plan(vec![td]), PLAIN);
        let marked = marked(&t);
        // The attribute, the container, its environment, the variable.
        assert_eq!(marked.len(), 4, "{t}");
        assert!(marked[3].contains(r#"~ DEBUG = "0" -> "1""#), "{t}");
        assert!(t.contains(r#"name        = "web""#), "{t}");
        assert!(!t.contains("worker") && !t.contains("nginx"), "{t}");
        assert!(t.contains("# (2 unchanged attributes hidden)"), "{t}");
        assert!(t.contains("# (1 unchanged element hidden)"), "{t}");
        insta::assert_snapshot!(t);
    }

    #[test]
    fn a_security_group_rule_added_among_five() {
        let rule = |port: i64, cidr: &str| {
            json!({"protocol": "tcp", "from_port": port, "to_port": port, "cidr_blocks": [cidr],
                   "ipv6_cidr_blocks": [], "source_security_group_ids": [], "description": ""})
        };
        let five: Vec<serde_json::Value> = [80, 443, 8080, 8443, 9000]
            .iter()
            .map(|p| rule(*p, "10.0.0.0/8"))
            .collect();
        let mut six = five.clone();
        six.insert(2, rule(22, "0.0.0.0/0"));
        let sg = change(
            "security_group.web",
            Action::Update,
            vec![diff("ingress", json!(five), json!(six))],
        );
        let t = text(&plan(vec![sg]), PLAIN);
        let marked = marked(&t);
        assert_eq!(
            marked.iter().filter(|l| l.trim_start() == "+ {").count(),
            1,
            "{t}"
        );
        assert!(
            !marked.iter().any(|l| l.trim_start().starts_with("- ")),
            "{t}"
        );
        assert!(t.contains("+ from_port                 = 22"), "{t}");
        assert!(t.contains("# (5 unchanged elements hidden)"), "{t}");
        insta::assert_snapshot!(t);
    }

    #[test]
    fn a_security_group_rule_whose_description_changes_is_one_changed_element() {
        let rule = |port: i64, description: &str| {
            json!({"protocol": "tcp", "from_port": port, "to_port": port, "cidr_blocks": ["0.0.0.0/0"],
                   "ipv6_cidr_blocks": [], "source_security_group_ids": [], "description": description})
        };
        let sg = change(
            "security_group.web",
            Action::Update,
            vec![diff(
                "ingress",
                json!([rule(80, "web"), rule(443, "tls")]),
                json!([rule(80, "web"), rule(443, "https")]),
            )],
        );
        let t = text(&plan(vec![sg]), PLAIN);
        assert!(t.contains(r#"~ description = "tls" -> "https""#), "{t}");
        assert!(
            t.contains(r#"cidr_blocks = ["0.0.0.0/0"]"#),
            "the rule is named: {t}"
        );
        assert!(!t.contains("ipv6_cidr_blocks"), "{t}");
    }

    #[test]
    fn user_data_with_one_line_changed() {
        let script = |cluster: &str| {
            format!(
                "#!/bin/bash\nset -euo pipefail\necho ECS_CLUSTER={cluster} >> /etc/ecs/ecs.config\necho ECS_ENABLE_TASK_IAM_ROLE=true >> /etc/ecs/ecs.config\nyum install -y amazon-ssm-agent\nsystemctl enable --now amazon-ssm-agent\n"
            )
        };
        let lt = change(
            "launch_template.nodes",
            Action::Update,
            vec![diff(
                "user_data",
                json!(script("app-a")),
                json!(script("app-b")),
            )],
        );
        let t = text(&plan(vec![lt]), PLAIN);
        let marked = marked(&t);
        // The resource, the attribute, the line before and after.
        assert_eq!(marked.len(), 4, "{t}");
        assert!(
            marked[2]
                .trim_start()
                .starts_with("- echo ECS_CLUSTER=app-a"),
            "{t}"
        );
        assert!(
            marked[3]
                .trim_start()
                .starts_with("+ echo ECS_CLUSTER=app-b"),
            "{t}"
        );
        assert!(!t.contains("systemctl"), "only two lines of context: {t}");
        insta::assert_snapshot!(t);
    }

    #[test]
    fn a_policy_document_with_one_action_added() {
        let doc = |actions: serde_json::Value| {
            json!({"Version": "2012-10-17", "Statement": [
                {"Sid": "Read", "Effect": "Allow", "Action": actions, "Resource": "arn:aws:s3:::assets/*"},
                {"Sid": "List", "Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": "arn:aws:s3:::assets"}
            ]})
        };
        // Before as the JSON string AWS answers, after as a TOML table.
        let before = json!(doc(json!(["s3:GetObject"])).to_string());
        let after = doc(json!(["s3:GetObject", "s3:GetObjectVersion"]));
        let bucket = change(
            "s3_bucket.assets",
            Action::Update,
            vec![diff("policy", before, after)],
        );
        let t = text(&plan(vec![bucket]), PLAIN);
        let marked = marked(&t);
        let added: Vec<&&str> = marked
            .iter()
            .filter(|l| l.trim_start().starts_with("+ "))
            .collect();
        assert_eq!(added.len(), 1, "{t}");
        assert!(added[0].contains(r#"+ "s3:GetObjectVersion","#), "{t}");
        assert!(
            !marked.iter().any(|l| l.trim_start().starts_with("- ")),
            "{t}"
        );
        assert!(
            t.contains(r#"Sid    = "Read""#),
            "the statement is named: {t}"
        );
        assert!(!t.contains("s3:ListBucket"), "{t}");
        insta::assert_snapshot!(t);
    }

    #[test]
    fn created_containers_are_blocks_not_one_long_line() {
        let containers = json!([{"name": "web", "image": "nginx:1.27", "cpu": 256, "memory": 512,
            "essential": true, "environment": {"MODE": "prod", "LOG_LEVEL": "info"},
            "port_mappings": [{"container_port": 80, "protocol": "tcp"}],
            "log_configuration": {"log_driver": "awslogs",
                "options": {"awslogs-group": "/ecs/web", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "web"}}}]);
        let policy = json!({"rules": [{"rulePriority": 1, "selection": {"tagStatus": "untagged",
            "countType": "imageCountMoreThan", "countNumber": 10}, "action": {"type": "expire"}}]});
        let td = change(
            "ecs_task_definition.app",
            Action::Create,
            vec![diff("container_definitions", json!(null), containers)],
        );
        let repo = change(
            "ecr_repository.app",
            Action::Create,
            vec![diff("lifecycle_policy", json!(null), policy)],
        );
        let t = text(&plan(vec![td, repo]), PLAIN);
        assert!(t.lines().all(|l| l.len() < 100), "{t}");
        assert!(t.contains(r#"+ MODE      = "prod""#), "{t}");
        assert!(
            t.lines()
                .any(|l| l.contains("+ countType") && l.ends_with(r#"= "imageCountMoreThan""#)),
            "{t}"
        );
        insta::assert_snapshot!(t);
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
