//! The plan in Terraform's documented plan JSON shape (what
//! `terraform show -json <planfile>` prints), so that policy tools written
//! for Terraform plans (OPA/conftest, checkov) read reconcile plans:
//! `format_version`, `planned_values`, and `resource_changes[]` with
//! `address`, `type`, `name`, `change.actions`, `before`, `after`,
//! `after_unknown`, `before_sensitive` and `after_sensitive`.
//!
//! Each kind maps to one `aws_*` type ([`TYPES`]); attribute names are
//! reconcile's, which follow the AWS provider's where they correspond, with
//! the few renames and reshapes of [`reshape`]. Sensitive values are never
//! written: they are `null`, marked `true` in `*_sensitive`.

use serde_json::{Map, Value as J, json};

use super::{Action, Change, Plan};
use crate::config::DeletionPolicy;
use crate::schema::Type;
use crate::value::{Attrs, Value};

/// The plan JSON format version this output follows.
pub const FORMAT_VERSION: &str = "1.2";

/// reconcile kind → Terraform AWS provider resource type.
pub const TYPES: &[(&str, &str)] = &[
    ("acm_certificate", "aws_acm_certificate"),
    ("appautoscaling_policy", "aws_appautoscaling_policy"),
    ("appautoscaling_target", "aws_appautoscaling_target"),
    ("autoscaling_group", "aws_autoscaling_group"),
    ("autoscaling_policy", "aws_autoscaling_policy"),
    ("cloudfront_distribution", "aws_cloudfront_distribution"),
    ("cloudwatch_metric_alarm", "aws_cloudwatch_metric_alarm"),
    ("db_instance", "aws_db_instance"),
    ("db_subnet_group", "aws_db_subnet_group"),
    ("ecr_repository", "aws_ecr_repository"),
    ("ecs_capacity_provider", "aws_ecs_capacity_provider"),
    ("ecs_cluster", "aws_ecs_cluster"),
    ("ecs_service", "aws_ecs_service"),
    ("ecs_task_definition", "aws_ecs_task_definition"),
    ("efs_file_system", "aws_efs_file_system"),
    ("efs_mount_target", "aws_efs_mount_target"),
    ("eip", "aws_eip"),
    ("iam_instance_profile", "aws_iam_instance_profile"),
    ("iam_role", "aws_iam_role"),
    ("internet_gateway", "aws_internet_gateway"),
    ("kms_alias", "aws_kms_alias"),
    ("kms_key", "aws_kms_key"),
    ("launch_template", "aws_launch_template"),
    ("listener", "aws_lb_listener"),
    ("listener_rule", "aws_lb_listener_rule"),
    ("load_balancer", "aws_lb"),
    ("log_group", "aws_cloudwatch_log_group"),
    ("logs_metric_filter", "aws_cloudwatch_log_metric_filter"),
    ("nat_gateway", "aws_nat_gateway"),
    ("route53_record", "aws_route53_record"),
    ("route53_zone", "aws_route53_zone"),
    ("route_table", "aws_route_table"),
    ("s3_bucket", "aws_s3_bucket"),
    ("scheduler_schedule", "aws_scheduler_schedule"),
    ("secretsmanager_secret", "aws_secretsmanager_secret"),
    ("security_group", "aws_security_group"),
    (
        "security_group_egress_rule",
        "aws_vpc_security_group_egress_rule",
    ),
    (
        "security_group_ingress_rule",
        "aws_vpc_security_group_ingress_rule",
    ),
    (
        "service_discovery_namespace",
        "aws_service_discovery_private_dns_namespace",
    ),
    ("service_discovery_service", "aws_service_discovery_service"),
    ("sns_topic", "aws_sns_topic"),
    ("sns_topic_subscription", "aws_sns_topic_subscription"),
    ("ssm_parameter", "aws_ssm_parameter"),
    ("subnet", "aws_subnet"),
    ("target_group", "aws_lb_target_group"),
    ("vpc", "aws_vpc"),
    ("vpc_endpoint", "aws_vpc_endpoint"),
];

/// Top-level attributes whose name differs in the provider:
/// (kind, reconcile's name, the provider's name).
pub const RENAMES: &[(&str, &str, &str)] = &[
    ("autoscaling_group", "subnet_ids", "vpc_zone_identifier"),
    ("cloudwatch_metric_alarm", "name", "alarm_name"),
    ("db_instance", "master_password", "password"),
    ("db_instance", "master_username", "username"),
    ("load_balancer", "security_group_ids", "security_groups"),
    ("load_balancer", "subnet_ids", "subnets"),
    ("load_balancer", "type", "load_balancer_type"),
    ("security_group_egress_rule", "protocol", "ip_protocol"),
    ("security_group_ingress_rule", "protocol", "ip_protocol"),
    ("vpc_endpoint", "type", "vpc_endpoint_type"),
];

/// The Terraform type of a kind (`reconcile_<kind>` for one not in the table).
pub fn tf_type(kind: &str) -> String {
    TYPES
        .iter()
        .find(|(k, _)| *k == kind)
        .map_or_else(|| format!("reconcile_{kind}"), |(_, t)| (*t).to_owned())
}

fn actions(c: &Change) -> Vec<&'static str> {
    match c.action {
        Action::NoOp => vec!["no-op"],
        Action::Create => vec!["create"],
        Action::Update => vec!["update"],
        Action::Replace if c.create_before_destroy => vec!["create", "delete"],
        Action::Replace => vec!["delete", "create"],
        // Terraform 1.7's `removed { destroy = false }`.
        Action::Delete if c.deletion_policy == DeletionPolicy::Retain => vec!["forget"],
        Action::Delete => vec!["delete"],
    }
}

/// One side of a change: values (sensitive ones `null`), which are unknown,
/// which are sensitive.
struct Side {
    values: J,
    unknown: J,
    sensitive: J,
}

fn rename(kind: &str, map: &mut Map<String, J>) {
    for (_, from, to) in RENAMES.iter().filter(|(k, _, _)| *k == kind) {
        if let Some(v) = map.remove(*from) {
            map.insert((*to).to_owned(), v);
        }
    }
}

fn side(kind: &str, attrs: Option<&Attrs>, sensitive: &[String]) -> Side {
    let Some(attrs) = attrs else {
        return Side { values: J::Null, unknown: json!({}), sensitive: json!({}) };
    };
    let mut values = Map::new();
    let mut unknown = Map::new();
    let mut masked = Map::new();
    for (k, v) in attrs {
        if sensitive.contains(k) {
            values.insert(k.clone(), J::Null);
            masked.insert(k.clone(), J::Bool(true));
            continue;
        }
        let (val, unk) = split_unknown(v);
        values.insert(k.clone(), val);
        if let Some(u) = unk {
            unknown.insert(k.clone(), u);
        }
    }
    reshape(kind, &mut values, &mut unknown);
    rename(kind, &mut values);
    rename(kind, &mut unknown);
    rename(kind, &mut masked);
    Side {
        values: J::Object(values),
        unknown: J::Object(unknown),
        sensitive: J::Object(masked),
    }
}

/// A value with its unknown parts as `null`, and the mirror structure of
/// `true`s Terraform puts in `after_unknown` (None: nothing unknown).
fn split_unknown(v: &Value) -> (J, Option<J>) {
    match v {
        Value::Unknown => (J::Null, Some(J::Bool(true))),
        Value::List(l) if v.has_unknown() => {
            let (vals, unks): (Vec<J>, Vec<Option<J>>) = l.iter().map(split_unknown).unzip();
            let unks = unks
                .into_iter()
                .map(|u| u.unwrap_or(J::Bool(false)))
                .collect();
            (J::Array(vals), Some(J::Array(unks)))
        }
        Value::Map(m) if v.has_unknown() => {
            let mut vals = Map::new();
            let mut unks = Map::new();
            for (k, x) in m {
                let (val, unk) = split_unknown(x);
                vals.insert(k.clone(), val);
                if let Some(u) = unk {
                    unks.insert(k.clone(), u);
                }
            }
            (J::Object(vals), Some(J::Object(unks)))
        }
        other => (other.to_json(), None),
    }
}

/// Where reconcile's shape differs from the provider's and the difference
/// is mechanical: JSON documents are strings there, a security-group rule's
/// groups are `security_groups`, inline policies are `inline_policy`
/// blocks of `name` and `policy`, a load balancer's scheme is `internal`.
fn reshape(kind: &str, values: &mut Map<String, J>, unknown: &mut Map<String, J>) {
    let schema = crate::kinds::lookup(kind).map(super::super::kinds::Kind::schema);
    for (name, v) in values.iter_mut() {
        let ty = schema.and_then(|s| s.field(name)).map(|f| &f.ty);
        if matches!(ty, Some(Type::Json)) && !unknown.contains_key(name) && !v.is_null() {
            *v = J::String(v.to_string());
        }
    }
    match kind {
        "security_group" => {
            for field in ["ingress", "egress"] {
                if let Some(J::Array(rules)) = values.get_mut(field) {
                    for rule in rules.iter_mut().filter_map(J::as_object_mut) {
                        if let Some(groups) = rule.remove("source_security_group_ids") {
                            rule.insert("security_groups".into(), groups);
                        }
                    }
                }
            }
        }
        "load_balancer" => {
            if let Some(J::String(scheme)) = values.get("scheme") {
                let internal = J::Bool(scheme == "internal");
                values.insert("internal".into(), internal);
            }
        }
        "iam_role" => {
            if let Some(J::Object(policies)) = values.remove("inline_policies") {
                let blocks: Vec<J> = policies
                    .into_iter()
                    .map(|(name, doc)| {
                        let policy = match doc {
                            J::String(s) => s,
                            other => other.to_string(),
                        };
                        json!({ "name": name, "policy": policy })
                    })
                    .collect();
                values.insert("inline_policy".into(), J::Array(blocks));
            }
        }
        _ => {}
    }
}

/// `address` is `<aws type>.<name>`, as Terraform writes it; the name is
/// the reconcile resource's.
fn resource_change(c: &Change) -> J {
    let ty = tf_type(&c.kind);
    let name = c
        .address
        .split_once('.')
        .map_or(c.address.as_str(), |(_, n)| n);
    let before = match c.action {
        Action::Create => side(&c.kind, None, &c.sensitive),
        _ => side(&c.kind, c.before.as_ref(), &c.sensitive),
    };
    let after_attrs = match c.action {
        Action::Delete => None,
        Action::NoOp => c.after.as_ref().or(c.before.as_ref()),
        _ => c.after.as_ref(),
    };
    let sensitive_after: Vec<String> = c
        .sensitive
        .iter()
        .cloned()
        .chain(
            c.diffs
                .iter()
                .filter(|d| d.sensitive)
                .map(|d| d.name.clone()),
        )
        .collect();
    let after = side(&c.kind, after_attrs, &sensitive_after);
    let mut change = json!({
        "actions": actions(c),
        "before": before.values,
        "after": after.values,
        "after_unknown": after.unknown,
        "before_sensitive": if c.action == Action::Create { J::Bool(false) } else { before.sensitive },
        "after_sensitive": if after_attrs.is_none() { J::Bool(false) } else { after.sensitive },
    });
    let forced: Vec<J> = c
        .diffs
        .iter()
        .filter(|d| d.forces_replacement)
        .map(|d| json!([d.name]))
        .collect();
    if c.action == Action::Replace
        && let Some(m) = change.as_object_mut()
    {
        m.insert("replace_paths".into(), J::Array(forced));
    }
    let mut rc = json!({
        "address": format!("{ty}.{name}"),
        "mode": "managed",
        "type": ty,
        "name": name,
        "provider_name": "registry.terraform.io/hashicorp/aws",
        "change": change,
    });
    if let (Some(reason), Some(m)) = (&c.reason, rc.as_object_mut()) {
        let r = if reason.contains("tainted") {
            "replace_because_tainted"
        } else if reason.contains("replace") {
            "replace_by_request"
        } else {
            "delete_because_no_resource_config"
        };
        if matches!(c.action, Action::Replace | Action::Delete) {
            m.insert("action_reason".into(), json!(r));
        }
    }
    rc
}

/// The whole plan.
pub fn plan_json(plan: &Plan) -> J {
    let resource_changes: Vec<J> = plan.changes.iter().map(resource_change).collect();
    let planned: Vec<J> = resource_changes
        .iter()
        .filter(|rc| rc["change"]["after"].is_object())
        .map(|rc| {
            json!({
                "address": rc["address"],
                "mode": "managed",
                "type": rc["type"],
                "name": rc["name"],
                "provider_name": rc["provider_name"],
                "values": rc["change"]["after"],
                "sensitive_values": rc["change"]["after_sensitive"],
            })
        })
        .collect();
    json!({
        "format_version": FORMAT_VERSION,
        "terraform_version": format!("reconcile {}", env!("CARGO_PKG_VERSION")),
        "planned_values": { "root_module": { "resources": planned } },
        "resource_changes": resource_changes,
        "errored": false,
        "applyable": plan.has_changes(),
        "complete": true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::AttrDiff;

    fn attrs(j: J) -> Attrs {
        Value::from_json(&j).as_map().cloned().unwrap_or_default()
    }

    fn change(address: &str, action: Action, before: Option<J>, after: Option<J>) -> Change {
        Change {
            id: before.as_ref().map(|_| "id-1".to_owned()),
            before: before.map(attrs),
            after: after.map(attrs),
            ..crate::plan::testing::change(address, action)
        }
    }

    fn plan(changes: Vec<Change>) -> Plan {
        crate::plan::testing::plan(changes)
    }

    #[test]
    fn every_kind_maps_to_an_aws_type() {
        for kind in crate::kinds::KINDS.iter().map(|k| k.schema().kind) {
            assert!(
                tf_type(kind).starts_with("aws_"),
                "{kind} has no aws_* type"
            );
        }
    }

    #[test]
    fn shape_of_a_create_with_unknowns_and_secrets() {
        let mut c = change(
            "db_instance.main",
            Action::Create,
            None,
            Some(json!({"engine": "postgres", "password": "hunter2-pw", "id": {"$unknown": true}})),
        );
        c.diffs.push(AttrDiff {
            name: "password".into(),
            before: Value::Null,
            after: Value::str("hunter2-pw"),
            forces_replacement: false,
            sensitive: true,
        });
        let j = plan_json(&plan(vec![c]));
        assert!(!j.to_string().contains("hunter2"), "{j}");
        assert_eq!(j["format_version"], FORMAT_VERSION);
        let rc = &j["resource_changes"][0];
        assert_eq!(rc["address"], "aws_db_instance.main");
        assert_eq!(rc["type"], "aws_db_instance");
        assert_eq!(rc["change"]["actions"], json!(["create"]));
        assert_eq!(rc["change"]["before"], J::Null);
        assert_eq!(rc["change"]["after"]["engine"], "postgres");
        assert_eq!(rc["change"]["after"]["password"], J::Null);
        assert_eq!(rc["change"]["after_unknown"], json!({"id": true}));
        assert_eq!(rc["change"]["after_sensitive"], json!({"password": true}));
        assert_eq!(rc["change"]["before_sensitive"], json!(false));
    }

    #[test]
    fn replacements_deletes_and_provider_shapes() {
        let rule = json!({"protocol": "tcp", "from_port": 22, "to_port": 22, "cidr_blocks": [],
            "ipv6_cidr_blocks": [], "source_security_group_ids": ["sg-1"], "description": ""});
        let sg = change(
            "security_group.web",
            Action::Update,
            Some(json!({"ingress": []})),
            Some(json!({"ingress": [rule]})),
        );
        let mut cbd = change(
            "ecs_task_definition.app",
            Action::Replace,
            Some(json!({})),
            Some(json!({})),
        );
        cbd.create_before_destroy = true;
        let role = change(
            "iam_role.r",
            Action::Delete,
            Some(json!({"assume_role_policy": {"Version": "2012-10-17"},
                        "inline_policies": {"logs": {"Version": "2012-10-17"}}})),
            None,
        );
        let lb = change(
            "load_balancer.web",
            Action::Create,
            None,
            Some(json!({"subnet_ids": ["subnet-1"], "scheme": "internal", "type": "application"})),
        );
        let j = plan_json(&plan(vec![sg, cbd, role, lb]));
        let rcs = &j["resource_changes"];
        assert_eq!(
            rcs[0]["change"]["after"]["ingress"][0]["security_groups"],
            json!(["sg-1"])
        );
        assert_eq!(rcs[1]["change"]["actions"], json!(["create", "delete"]));
        assert_eq!(rcs[2]["change"]["actions"], json!(["delete"]));
        assert_eq!(rcs[2]["change"]["after"], J::Null);
        assert_eq!(
            rcs[2]["change"]["before"]["assume_role_policy"],
            json!(r#"{"Version":"2012-10-17"}"#)
        );
        assert_eq!(
            rcs[2]["change"]["before"]["inline_policy"],
            json!([{"name": "logs", "policy": r#"{"Version":"2012-10-17"}"#}])
        );
        // Only what exists after the plan is in planned_values.
        let planned = j["planned_values"]["root_module"]["resources"]
            .as_array()
            .cloned();
        assert_eq!(planned.map(|p| p.len()), Some(3));
        let lb = &rcs[3]["change"]["after"];
        assert_eq!(lb["subnets"], json!(["subnet-1"]));
        assert_eq!(lb["internal"], json!(true));
        assert_eq!(lb["load_balancer_type"], "application");
        assert!(lb.get("subnet_ids").is_none(), "{lb}");
    }
}
