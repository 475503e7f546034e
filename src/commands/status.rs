//! `reconcile status [ADDRESS...]`: how the stack's ECS services and target
//! groups are doing right now: per service desired / running / pending, its
//! deployments with rollout state and age, the latest events; per target
//! group healthy / unhealthy targets with reasons. Reads the state without
//! locking it; only describe calls.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use anyhow::{anyhow, bail};
use serde_json::{Value as Json, json};

use crate::cli::{Global, StatusArgs};
use crate::kinds::Ctx;
use crate::kinds::ecs::deployment::{describe_services, service_status, target_group_status};
use crate::kinds::ecs::service::cluster_of;
use crate::state::State;
use crate::value::Attrs;

/// The kinds `status` reports on.
const KINDS: &[&str] = &["ecs_service", "target_group"];

pub async fn run(global: &Global, args: &StatusArgs) -> anyhow::Result<i32> {
    let (config, path, state) = super::read_state(global).await?;
    let state = state.ok_or_else(|| anyhow!("no state at {path}: run `reconcile apply` first"))?;
    let config = config.ok_or_else(|| anyhow!("status needs the desired state (--desired)"))?;
    let addresses = chosen(&state, &args.addresses)?;
    let clients = super::clients_of(global, &config).await;
    let cx = Ctx { aws: &clients, stack: &config.stack };
    let report = read(cx, &state, &addresses).await?;
    let ui = super::ui(global);
    if args.json {
        crate::ui::document(format!("{report}\n").as_bytes())?;
    } else {
        ui.line(text(&report).trim_end());
    }
    Ok(0)
}

/// The addresses asked for (each must be a service or target group of the
/// state), or every service and target group of the state.
fn chosen(state: &State, asked: &[String]) -> anyhow::Result<Vec<String>> {
    let ours = |a: &&String| {
        state
            .resources
            .get(*a)
            .is_some_and(|r| KINDS.contains(&r.kind.as_str()))
    };
    if asked.is_empty() {
        return Ok(state.resources.keys().filter(ours).cloned().collect());
    }
    for a in asked {
        match state.resources.get(a) {
            None => {
                let hint =
                    crate::schema::did_you_mean(a, state.resources.keys().map(String::as_str));
                bail!("`{a}` is not in the state{hint}");
            }
            Some(r) if !KINDS.contains(&r.kind.as_str()) => {
                bail!(
                    "`{a}` is a {}: status shows ecs_service and target_group resources",
                    r.kind
                );
            }
            Some(_) => {}
        }
    }
    Ok(asked.to_vec())
}

/// Describes every chosen resource: services in one call per cluster (10
/// at a time), target groups one call each.
async fn read(cx: Ctx<'_>, state: &State, addresses: &[String]) -> anyhow::Result<Json> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let mut by_cluster: BTreeMap<String, Vec<(&str, String)>> = BTreeMap::new();
    let mut groups = Vec::new();
    for a in addresses {
        let r = &state.resources[a];
        if r.kind == "ecs_service" {
            by_cluster
                .entry(cluster_of(&r.id, &Attrs::new()))
                .or_default()
                .push((a.as_str(), r.id.clone()));
        } else {
            groups.push((a.as_str(), r.id.clone()));
        }
    }
    let mut services = Vec::new();
    for (cluster, wanted) in &by_cluster {
        for chunk in wanted.chunks(10) {
            let ids: Vec<String> = chunk.iter().map(|(_, id)| id.clone()).collect();
            let found = describe_services(cx, cluster, &ids).await?;
            for (address, id) in chunk {
                let live = found.iter().find(|s| {
                    s.service_arn() == Some(id.as_str()) || s.service_name() == Some(id.as_str())
                });
                let mut v = live.map_or_else(
                    || json!({ "status": "MISSING", "arn": id }),
                    |s| service_status(s, now),
                );
                v["address"] = json!(address);
                services.push(v);
            }
        }
    }
    services.sort_by(|a, b| a["address"].as_str().cmp(&b["address"].as_str()));
    let mut target_groups = Vec::new();
    for (address, arn) in groups {
        let mut v = match target_group_status(cx, &arn).await {
            Ok(v) => v,
            Err(e) if e.is_not_found() => json!({ "arn": arn, "missing": true }),
            Err(e) => return Err(anyhow!("reading the health of {address}: {e}")),
        };
        v["address"] = json!(address);
        target_groups.push(v);
    }
    Ok(json!({ "services": services, "target_groups": target_groups }))
}

/// A JSON value as a cell of the text report.
fn cell(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        Json::Null => "-".to_owned(),
        other => other.to_string(),
    }
}

fn items(v: &Json) -> Vec<Json> {
    v.as_array().cloned().unwrap_or_default()
}

/// The report for people.
fn text(report: &Json) -> String {
    let mut out = String::new();
    for svc in items(&report["services"]) {
        service_text(&mut out, &svc);
    }
    for tg in items(&report["target_groups"]) {
        target_group_text(&mut out, &tg);
    }
    if out.is_empty() {
        out.push_str("No ECS services or target groups in the state.\n");
    }
    out
}

fn service_text(out: &mut String, svc: &Json) {
    let s = cell;
    if svc["status"] == "MISSING" {
        let _ = writeln!(
            out,
            "{}: not found in AWS ({})\n",
            s(&svc["address"]),
            s(&svc["arn"])
        );
        return;
    }
    let _ = writeln!(
        out,
        "{} ({}, {}): {} desired, {} running, {} pending, on {}",
        s(&svc["address"]),
        s(&svc["name"]),
        s(&svc["status"]),
        s(&svc["desired"]),
        s(&svc["running"]),
        s(&svc["pending"]),
        s(&svc["task_definition"]),
    );
    for d in items(&svc["deployments"]) {
        let _ = writeln!(
            out,
            "  deployment {} {} {} {}: {}/{} running, {} pending, {} failed, {}s old{}",
            s(&d["id"]),
            s(&d["status"]),
            s(&d["task_definition"]),
            s(&d["rollout_state"]),
            s(&d["running"]),
            s(&d["desired"]),
            s(&d["pending"]),
            s(&d["failed_tasks"]),
            s(&d["age_seconds"]),
            d["rollout_state_reason"]
                .as_str()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default(),
        );
    }
    for e in items(&svc["events"]) {
        let _ = writeln!(out, "  {} {}", s(&e["created_at"]), s(&e["message"]));
    }
    out.push('\n');
}

fn target_group_text(out: &mut String, tg: &Json) {
    let s = cell;
    if tg["missing"] == true {
        let _ = writeln!(out, "{}: not found in AWS\n", s(&tg["address"]));
        return;
    }
    let _ = writeln!(
        out,
        "{}: {} healthy, {} unhealthy",
        s(&tg["address"]),
        s(&tg["healthy"]),
        s(&tg["unhealthy"])
    );
    for t in items(&tg["targets"])
        .iter()
        .filter(|t| t["state"] != "healthy")
    {
        let _ = writeln!(
            out,
            "  {}:{} {}: {} {}",
            s(&t["id"]),
            s(&t["port"]),
            s(&t["state"]),
            s(&t["reason"]),
            s(&t["description"])
        );
    }
    out.push('\n');
}
