//! The core promises, end to end: the binary against the emulator, checked
//! with the SDK, the plan text, the state file and the exit code.

use crate::support;

use std::collections::BTreeSet;

use aws_sdk_ec2::types::Filter;
use support::{Emulator, Workspace, ec2, reconcile, reconcile_in};

fn stack_filter(stack: &str) -> Filter {
    Filter::builder()
        .name("tag:reconcile:stack")
        .values(stack)
        .build()
}

/// Counts of what the emulator holds with the stack's tag, per kind.
async fn tagged(emu: &Emulator, stack: &str) -> Vec<(&'static str, usize)> {
    let c = ec2(emu).await;
    let f = || Some(vec![stack_filter(stack)]);
    let vpcs = c
        .describe_vpcs()
        .set_filters(f())
        .send()
        .await
        .unwrap()
        .vpcs()
        .len();
    let subnets = c
        .describe_subnets()
        .set_filters(f())
        .send()
        .await
        .unwrap()
        .subnets()
        .len();
    let igws = c
        .describe_internet_gateways()
        .set_filters(f())
        .send()
        .await
        .unwrap()
        .internet_gateways()
        .len();
    let nats = c
        .describe_nat_gateways()
        .set_filter(f())
        .send()
        .await
        .unwrap()
        .nat_gateways()
        .iter()
        .filter(|n| n.state().is_some_and(|s| s.as_str() == "available"))
        .count();
    let rts = c
        .describe_route_tables()
        .set_filters(f())
        .send()
        .await
        .unwrap()
        .route_tables()
        .len();
    let sgs = c
        .describe_security_groups()
        .set_filters(f())
        .send()
        .await
        .unwrap()
        .security_groups()
        .len();
    let eips = c
        .describe_addresses()
        .set_filters(f())
        .send()
        .await
        .unwrap()
        .addresses()
        .len();
    vec![
        ("vpc", vpcs),
        ("subnet", subnets),
        ("internet_gateway", igws),
        ("nat_gateway", nats),
        ("route_table", rts),
        ("security_group", sgs),
        ("eip", eips),
    ]
}

fn state_addresses(ws: &Workspace) -> BTreeSet<String> {
    let state: serde_json::Value = serde_json::from_str(&ws.read("state/test.json")).unwrap();
    state["resources"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect()
}

fn example(stack: &str) -> String {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/desired/network.toml"))
            .unwrap();
    text.replace("name = \"demo\"", &format!("name = \"{stack}\""))
}

#[tokio::test]
async fn the_example_stack_is_created_then_planned_clean_then_destroyed_without_a_trace() {
    let emu = Emulator::start();
    let ws = Workspace::new();
    ws.write("desired/network.toml", &example("ex"));

    let run = reconcile(&emu, &ws, &["apply", "--auto-approve"]);
    run.expect_success();
    assert!(
        run.stdout
            .contains("Plan: 12 to add, 0 to change, 0 to destroy."),
        "{run}"
    );
    assert!(
        run.stdout
            .contains("Apply complete! Resources: 12 added, 0 changed, 0 destroyed."),
        "{run}"
    );
    assert!(
        run.stdout.contains("vpc_id = \"vpc-"),
        "outputs are printed\n{run}"
    );
    assert_eq!(
        tagged(&emu, "ex").await,
        vec![
            ("vpc", 1),
            ("subnet", 4),
            ("internet_gateway", 1),
            ("nat_gateway", 1),
            ("route_table", 2),
            ("security_group", 2),
            ("eip", 1)
        ]
    );
    assert_eq!(state_addresses(&ws).len(), 12);

    let run = reconcile(&emu, &ws, &["plan", "--detailed-exitcode"]);
    run.expect_code(0);
    assert!(
        run.stdout
            .contains("No changes. Live infrastructure matches the desired state."),
        "{run}"
    );

    let run = reconcile(&emu, &ws, &["destroy", "--auto-approve"]);
    run.expect_success();
    assert!(
        run.stdout
            .contains("Destroy complete! Resources: 12 destroyed."),
        "{run}"
    );
    assert!(
        tagged(&emu, "ex").await.iter().all(|(_, n)| *n == 0),
        "{:?}",
        tagged(&emu, "ex").await
    );
    assert!(state_addresses(&ws).is_empty());
}

const SMALL: &str = r#"
[stack]
name = "small"
region = "us-east-1"

[vpc.main]
cidr_block = "10.0.0.0/16"
tags = { Name = "main" }

[subnet.a]
vpc_id = "${vpc.main.id}"
cidr_block = "10.0.1.0/24"
availability_zone = "us-east-1a"

[subnet.b]
vpc_id = "${vpc.main.id}"
cidr_block = "10.0.2.0/24"
availability_zone = "us-east-1b"

[security_group.web]
vpc_id = "${vpc.main.id}"
description = "web"
ingress = [{ protocol = "tcp", from_port = 443, to_port = 443, cidr_blocks = ["0.0.0.0/0"] }]
"#;

async fn subnet_cidrs(emu: &Emulator, stack: &str) -> BTreeSet<String> {
    let c = ec2(emu).await;
    let out = c
        .describe_subnets()
        .filters(stack_filter(stack))
        .send()
        .await
        .unwrap();
    out.subnets()
        .iter()
        .filter_map(|s| s.cidr_block().map(str::to_owned))
        .collect()
}

async fn ingress_ports(emu: &Emulator, group_id: &str) -> BTreeSet<i32> {
    let c = ec2(emu).await;
    let out = c
        .describe_security_groups()
        .group_ids(group_id)
        .send()
        .await
        .unwrap();
    out.security_groups()[0]
        .ip_permissions()
        .iter()
        .filter_map(aws_sdk_ec2::types::IpPermission::from_port)
        .collect()
}

fn state_id(ws: &Workspace, address: &str) -> String {
    let state: serde_json::Value = serde_json::from_str(&ws.read("state/test.json")).unwrap();
    state["resources"][address]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn updates_in_place_replacements_and_removals_are_planned_and_applied() {
    let emu = Emulator::start();
    let ws = Workspace::new();
    ws.write("desired/main.toml", SMALL);
    reconcile(&emu, &ws, &["apply", "--auto-approve"]).expect_success();
    let sg = state_id(&ws, "security_group.web");
    let vpc = state_id(&ws, "vpc.main");

    // A tag and a security-group rule: both in place.
    let changed = SMALL
        .replace(
            "tags = { Name = \"main\" }",
            "tags = { Name = \"main\", Team = \"web\" }",
        )
        .replace(
            "from_port = 443, to_port = 443",
            "from_port = 8443, to_port = 8443",
        );
    ws.write("desired/main.toml", &changed);
    let run = reconcile(&emu, &ws, &["plan", "--detailed-exitcode"]);
    run.expect_code(2);
    assert!(
        run.stdout.contains("# vpc.main will be updated in place"),
        "{run}"
    );
    assert!(
        run.stdout
            .contains("# security_group.web will be updated in place"),
        "{run}"
    );
    assert!(run.stdout.contains("+ Team = \"web\""), "{run}");
    assert!(
        run.stdout
            .contains("Plan: 0 to add, 2 to change, 0 to destroy."),
        "{run}"
    );
    reconcile(&emu, &ws, &["apply", "--auto-approve"]).expect_success();
    assert_eq!(
        state_id(&ws, "security_group.web"),
        sg,
        "the group is changed, not replaced"
    );
    assert_eq!(state_id(&ws, "vpc.main"), vpc);
    assert_eq!(ingress_ports(&emu, &sg).await, BTreeSet::from([8443]));
    let c = ec2(&emu).await;
    let v = c.describe_vpcs().vpc_ids(&vpc).send().await.unwrap();
    assert!(
        v.vpcs()[0]
            .tags()
            .iter()
            .any(|t| t.key() == Some("Team") && t.value() == Some("web"))
    );
    reconcile(&emu, &ws, &["plan", "--detailed-exitcode"]).expect_code(0);

    // A subnet's CIDR cannot change in place: replaced.
    let old_subnet = state_id(&ws, "subnet.a");
    let replaced = changed.replace("10.0.1.0/24", "10.0.9.0/24");
    ws.write("desired/main.toml", &replaced);
    let run = reconcile(&emu, &ws, &["plan", "--detailed-exitcode"]);
    run.expect_code(2);
    assert!(run.stdout.contains("# subnet.a must be replaced"), "{run}");
    assert!(
        run.stdout
            .contains("\"10.0.1.0/24\" -> \"10.0.9.0/24\" # forces replacement"),
        "{run}"
    );
    assert!(
        run.stdout
            .contains("Plan: 1 to add, 0 to change, 1 to destroy."),
        "{run}"
    );
    reconcile(&emu, &ws, &["apply", "--auto-approve"]).expect_success();
    assert_ne!(state_id(&ws, "subnet.a"), old_subnet);
    assert_eq!(
        subnet_cidrs(&emu, "small").await,
        BTreeSet::from(["10.0.2.0/24".to_owned(), "10.0.9.0/24".to_owned()])
    );

    // Removed from the desired state: deleted.
    let removed = replaced.replace(
        "[subnet.b]\nvpc_id = \"${vpc.main.id}\"\ncidr_block = \"10.0.2.0/24\"\navailability_zone = \"us-east-1b\"\n",
        "",
    );
    ws.write("desired/main.toml", &removed);
    let run = reconcile(&emu, &ws, &["plan"]);
    run.expect_success();
    assert!(run.stdout.contains("# subnet.b will be destroyed"), "{run}");
    assert!(
        run.stdout
            .contains("Plan: 0 to add, 0 to change, 1 to destroy."),
        "{run}"
    );
    reconcile(&emu, &ws, &["apply", "--auto-approve"]).expect_success();
    assert_eq!(
        subnet_cidrs(&emu, "small").await,
        BTreeSet::from(["10.0.9.0/24".to_owned()])
    );
    assert!(!state_addresses(&ws).contains("subnet.b"));
    reconcile(&emu, &ws, &["plan", "--detailed-exitcode"]).expect_code(0);
}

#[tokio::test]
async fn drift_made_out_of_band_shows_in_the_plan_and_apply_restores_the_desired_state() {
    let emu = Emulator::start();
    let ws = Workspace::new();
    ws.write("desired/main.toml", SMALL);
    reconcile(&emu, &ws, &["apply", "--auto-approve"]).expect_success();
    let sg = state_id(&ws, "security_group.web");
    let c = ec2(&emu).await;
    c.delete_subnet()
        .subnet_id(state_id(&ws, "subnet.b"))
        .send()
        .await
        .unwrap();
    c.authorize_security_group_ingress()
        .group_id(&sg)
        .ip_protocol("tcp")
        .from_port(22)
        .to_port(22)
        .cidr_ip("0.0.0.0/0")
        .send()
        .await
        .unwrap();

    let run = reconcile(&emu, &ws, &["plan", "--detailed-exitcode"]);
    run.expect_code(2);
    assert!(
        run.stdout
            .contains("# subnet.b will be created (deleted outside reconcile)"),
        "{run}"
    );
    assert!(
        run.stdout
            .contains("# security_group.web will be updated in place"),
        "{run}"
    );
    assert!(
        run.stdout.lines().any(|l| {
            let l = l.trim();
            l.starts_with("- from_port") && l.ends_with("= 22")
        }),
        "the stray rule is shown\n{run}"
    );
    assert!(
        run.stdout
            .contains("Plan: 1 to add, 1 to change, 0 to destroy."),
        "{run}"
    );

    reconcile(&emu, &ws, &["apply", "--auto-approve"]).expect_success();
    assert_eq!(subnet_cidrs(&emu, "small").await.len(), 2);
    assert_eq!(ingress_ports(&emu, &sg).await, BTreeSet::from([443]));
    reconcile(&emu, &ws, &["plan", "--detailed-exitcode"]).expect_code(0);
}

#[tokio::test]
async fn a_second_apply_fails_at_once_while_the_state_is_locked_and_the_state_stays_intact() {
    let emu = Emulator::start();
    let ws = Workspace::new();
    ws.write("desired/main.toml", SMALL);
    reconcile(&emu, &ws, &["apply", "--auto-approve"]).expect_success();
    let before = ws.read("state/test.json");

    let held = reconcile::state::local::LocalStore::open(&ws.state_path()).unwrap();
    let started = std::time::Instant::now();
    let run = reconcile(&emu, &ws, &["apply", "--auto-approve"]);
    run.expect_code(1);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "it fails at once"
    );
    assert!(
        run.stderr.contains("is locked by another reconcile"),
        "{run}"
    );
    assert!(
        run.stderr.contains(&format!("pid {}", std::process::id())),
        "names the holder\n{run}"
    );
    assert_eq!(ws.read("state/test.json"), before);
    drop(held);
    reconcile(&emu, &ws, &["plan", "--detailed-exitcode"]).expect_code(0);
}

#[tokio::test]
async fn a_failed_create_stops_only_its_dependents_and_a_rerun_after_the_fix_converges() {
    let emu = Emulator::start();
    let ws = Workspace::new();
    // 10.9.0.0/24 lies outside the VPC: AWS rejects the subnet.
    let broken = format!(
        "{SMALL}\n[route_table.b]\nvpc_id = \"${{vpc.main.id}}\"\nsubnet_ids = [\"${{subnet.b.id}}\"]\n"
    )
    .replace("10.0.2.0/24", "10.9.0.0/24");
    ws.write("desired/main.toml", &broken);
    let run = reconcile(&emu, &ws, &["apply", "--auto-approve"]);
    run.expect_code(1);
    assert!(run.stderr.contains("creating subnet.b"), "{run}");
    assert!(
        run.stdout
            .contains("route_table.b: skipped, because subnet.b failed"),
        "{run}"
    );
    assert_eq!(
        state_addresses(&ws),
        ["security_group.web", "subnet.a", "vpc.main"]
            .into_iter()
            .map(String::from)
            .collect()
    );
    assert_eq!(
        subnet_cidrs(&emu, "small").await,
        BTreeSet::from(["10.0.1.0/24".to_owned()])
    );

    ws.write(
        "desired/main.toml",
        &broken.replace("10.9.0.0/24", "10.0.2.0/24"),
    );
    let run = reconcile(&emu, &ws, &["apply", "--auto-approve"]);
    run.expect_success();
    assert!(
        run.stdout
            .contains("Plan: 2 to add, 0 to change, 0 to destroy."),
        "{run}"
    );
    assert_eq!(state_addresses(&ws).len(), 5);
    reconcile(&emu, &ws, &["plan", "--detailed-exitcode"]).expect_code(0);
}

#[tokio::test]
async fn plan_json_lists_each_change_with_its_attributes_and_a_summary() {
    let emu = Emulator::start();
    let ws = Workspace::new();
    ws.write("desired/main.toml", SMALL);
    let run = reconcile(&emu, &ws, &["plan", "--json"]);
    run.expect_success();
    let plan: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        plan["summary"],
        serde_json::json!({"add": 4, "change": 0, "destroy": 0})
    );
    let vpc = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["address"] == "vpc.main")
        .unwrap();
    assert_eq!(vpc["action"], "create");
    assert_eq!(vpc["attributes"]["cidr_block"]["after"], "10.0.0.0/16");
    assert_eq!(
        vpc["attributes"]["id"]["after"],
        serde_json::json!({"$unknown": true})
    );
}

#[test]
fn apply_and_destroy_refuse_without_a_terminal_or_auto_approve() {
    let ws = Workspace::new();
    ws.write("desired/main.toml", SMALL);
    for cmd in ["apply", "destroy"] {
        let run = reconcile_in(None, &ws, &[cmd]);
        run.expect_code(1);
        assert!(run.stderr.contains("pass --auto-approve"), "{run}");
    }
}
