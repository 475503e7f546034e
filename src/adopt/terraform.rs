//! A Terraform state file (format version 4) as adopt's source: its managed
//! `aws_*` resources, with the ids the mapping says to take. Nothing else of
//! Terraform's attributes is trusted: the resources are read live.

use std::path::Path;

use super::{Found, NotAdopted, mapping};

/// The resources of a Terraform state, and those not adopted (data
/// sources are not resources; types without a row have no kind).
pub fn load(path: &Path) -> Result<(Vec<Found>, Vec<NotAdopted>), String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    parse(&text).map_err(|e| format!("{}:{e}", path.display()))
}

/// `parse` errors start with `line:col: ` where the JSON is at fault.
pub fn parse(text: &str) -> Result<(Vec<Found>, Vec<NotAdopted>), String> {
    let doc: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| format!("{}:{}: not a Terraform state: {e}", e.line(), e.column()))?;
    let version = doc.get("version").and_then(serde_json::Value::as_u64);
    if version != Some(4) {
        return Err(format!(
            "1:1: a Terraform state of format version 4 is expected, this one is {}",
            version.map_or_else(|| "unversioned".to_owned(), |v| v.to_string())
        ));
    }
    let mut found = Vec::new();
    let mut skipped = Vec::new();
    let empty = Vec::new();
    let resources = doc
        .get("resources")
        .and_then(serde_json::Value::as_array)
        .unwrap_or(&empty);
    for r in resources {
        let s = |k: &str| {
            r.get(k)
                .and_then(serde_json::Value::as_str)
                .unwrap_or_default()
        };
        if s("mode") != "managed" {
            continue;
        }
        let (ty, name, module) = (s("type"), s("name"), s("module"));
        let base = if module.is_empty() {
            format!("{ty}.{name}")
        } else {
            format!("{module}.{ty}.{name}")
        };
        let row = mapping::terraform(ty);
        for inst in r
            .get("instances")
            .and_then(serde_json::Value::as_array)
            .unwrap_or(&empty)
        {
            let key = match inst.get("index_key") {
                Some(serde_json::Value::String(k)) => Some(format!("[{k:?}]")),
                Some(serde_json::Value::Number(n)) => Some(format!("[{n}]")),
                _ => None,
            };
            let logical_id = format!("{base}{}", key.clone().unwrap_or_default());
            let Some(row) = row else {
                skipped.push(NotAdopted {
                    logical_id,
                    ty: ty.to_owned(),
                    reason: "no reconcile kind for this type".to_owned(),
                });
                continue;
            };
            let physical_id = physical_id(inst, row.terraform_id);
            let raw = resource_name(module, name, key.as_deref());
            found.push(Found {
                name: mapping::snake_case(&raw),
                logical_id,
                ty: ty.to_owned(),
                physical_id,
                row: Some(row),
            });
        }
    }
    Ok((found, skipped))
}

/// The id the mapping names among an instance's attributes, else its `id`.
fn physical_id(inst: &serde_json::Value, field: &str) -> String {
    let attr = |k: &str| {
        inst.get("attributes")
            .and_then(|a| a.get(k))
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let id = attr(field);
    if id.is_empty() { attr("id") } else { id }
}

/// `module.vpc` + `main` + `["a"]` → `vpc_main_a`.
fn resource_name(module: &str, name: &str, key: Option<&str>) -> String {
    let module_part = module
        .split('.')
        .filter(|p| *p != "module")
        .collect::<Vec<_>>()
        .join("_");
    [module_part.as_str(), name, key.unwrap_or_default()]
        .iter()
        .filter(|p| !p.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join("_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn managed_resources_map_through_the_table_with_their_ids() {
        let state = r#"{
          "version": 4, "terraform_version": "1.9.0", "serial": 3, "lineage": "x",
          "resources": [
            {"mode": "managed", "type": "aws_vpc", "name": "main", "provider": "p",
             "instances": [{"attributes": {"id": "vpc-1", "arn": "arn:aws:ec2:::vpc/vpc-1"}}]},
            {"mode": "managed", "type": "aws_subnet", "name": "public", "module": "module.net",
             "instances": [{"index_key": "a", "attributes": {"id": "subnet-1"}},
                           {"index_key": 1, "attributes": {"id": "subnet-2"}}]},
            {"mode": "managed", "type": "aws_ecs_task_definition", "name": "app",
             "instances": [{"attributes": {"id": "app", "arn": "arn:aws:ecs:us-east-1:1:task-definition/app:3"}}]},
            {"mode": "managed", "type": "aws_sqs_queue", "name": "jobs",
             "instances": [{"attributes": {"id": "https://q"}}]},
            {"mode": "data", "type": "aws_ami", "name": "ecs", "instances": [{"attributes": {"id": "ami-1"}}]}
          ]
        }"#;
        let (found, skipped) = parse(state).unwrap();
        let got: Vec<(&str, &str, &str)> = found
            .iter()
            .map(|f| {
                (
                    f.logical_id.as_str(),
                    f.name.as_str(),
                    f.physical_id.as_str(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("aws_vpc.main", "main", "vpc-1"),
                (
                    "module.net.aws_subnet.public[\"a\"]",
                    "net_public_a",
                    "subnet-1"
                ),
                (
                    "module.net.aws_subnet.public[1]",
                    "net_public_1",
                    "subnet-2"
                ),
                (
                    "aws_ecs_task_definition.app",
                    "app",
                    "arn:aws:ecs:us-east-1:1:task-definition/app:3"
                ),
            ]
        );
        assert_eq!(skipped.len(), 1);
        assert_eq!(skipped[0].logical_id, "aws_sqs_queue.jobs");
    }

    #[test]
    fn other_versions_and_bad_json_are_refused_with_a_position() {
        assert!(
            parse(r#"{"version": 3}"#)
                .unwrap_err()
                .contains("version 4")
        );
        let e = parse("{\n  \"version\": 4,\n  oops\n}").unwrap_err();
        assert!(e.starts_with("3:3:"), "{e}");
    }
}
