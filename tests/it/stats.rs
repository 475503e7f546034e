//! `--stats` counts what really goes over the wire: the per-operation
//! counts of a no-change plan equal those of the proxy in front of the
//! emulator, retries included; `plan --refresh=false` makes no call.

use crate::support;

use std::collections::BTreeMap;

use support::proxy::{Faults, Proxy};
use support::{Emulator, Workspace, reconcile_env};

fn network(ws: &Workspace) {
    ws.write(
        "desired/main.toml",
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/desired/network.toml"))
            .unwrap(),
    );
}

/// operation → count, from `--json --stats` output.
fn reported(stdout: &str) -> (u64, BTreeMap<String, u64>) {
    let v: serde_json::Value = serde_json::from_str(stdout).expect("JSON output");
    let stats = &v["stats"];
    let calls = stats["calls"]
        .as_array()
        .expect("stats.calls")
        .iter()
        .map(|c| {
            (
                c["operation"].as_str().unwrap().to_owned(),
                c["count"].as_u64().unwrap(),
            )
        })
        .collect();
    (stats["api_calls"].as_u64().expect("stats.api_calls"), calls)
}

fn proxied(proxy: &Proxy) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for ((_, op), n) in proxy.stats().requests {
        *out.entry(op).or_default() += n;
    }
    out
}

#[test]
fn stats_of_a_no_change_plan_match_the_requests_the_proxy_saw() {
    let emu = Emulator::start();
    let ws = Workspace::new();
    network(&ws);
    let clean = Proxy::start(&emu.endpoint, Faults::none());
    let env = [("AWS_ENDPOINT_URL", clean.endpoint.as_str())];

    let run = reconcile_env(
        Some(&emu),
        &ws,
        &["apply", "--auto-approve", "--stats"],
        &env,
    );
    run.expect_success();
    assert!(run.stderr.contains("ec2 CreateVpc"), "{run}");
    assert!(run.stderr.contains("Critical path: "), "{run}");
    assert!(run.stderr.contains("Wall time: apply "), "{run}");

    // One batched describe per kind (8 EC2 kinds and sub-reads, the
    // security groups' rules among them), nothing per resource beyond the
    // VPC's two attributes.
    clean.reset_stats();
    let run = reconcile_env(
        Some(&emu),
        &ws,
        &["plan", "--json", "--stats", "--detailed-exitcode"],
        &env,
    );
    run.expect_success();
    let (total, calls) = reported(&run.stdout);
    assert_eq!(calls, proxied(&clean), "{run}");
    assert_eq!(total, 10, "{run}");
    assert_eq!(calls["DescribeSubnets"], 1, "{run}");
    assert_eq!(calls["DescribeSecurityGroupRules"], 1, "{run}");
    assert!(run.stderr.contains("  total"), "{run}");

    // Retries count: every attempt the proxy answered with a fault is
    // counted too.
    let faulty = Proxy::start(
        &emu.endpoint,
        Faults { latency: std::time::Duration::ZERO, ..Faults::all(0.25, 7) },
    );
    let env = [("AWS_ENDPOINT_URL", faulty.endpoint.as_str())];
    let run = reconcile_env(
        Some(&emu),
        &ws,
        &["plan", "--json", "--stats", "--detailed-exitcode"],
        &env,
    );
    run.expect_success();
    let (total, calls) = reported(&run.stdout);
    assert!(faulty.stats().faulted() > 0, "no fault injected");
    assert_eq!(calls, proxied(&faulty), "{run}");
    assert_eq!(total, faulty.stats().total(), "{run}");
    assert!(total > 9, "{run}");

    // Offline: the state stands for AWS, no request at all.
    clean.reset_stats();
    let env = [("AWS_ENDPOINT_URL", clean.endpoint.as_str())];
    let run = reconcile_env(
        Some(&emu),
        &ws,
        &[
            "plan",
            "--refresh=false",
            "--json",
            "--stats",
            "--detailed-exitcode",
        ],
        &env,
    );
    run.expect_success();
    assert_eq!(reported(&run.stdout).0, 0, "{run}");
    assert_eq!(clean.stats().total(), 0, "{run}");
    let plan: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert!(
        plan["changes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["action"] == "no-op"),
        "{run}"
    );

    // Offline planning still sees desired-state changes.
    let edited = ws
        .read("desired/main.toml")
        .replace("10.0.0.0/16", "10.1.0.0/16");
    ws.write("desired/main.toml", &edited);
    let run = reconcile_env(
        Some(&emu),
        &ws,
        &["plan", "--refresh=false", "--detailed-exitcode"],
        &env,
    );
    run.expect_code(2);
    assert!(run.stdout.contains("vpc.main must be replaced"), "{run}");
    assert_eq!(clean.stats().total(), 0, "{run}");
}

/// Attributes with no batched read (a VPC's DNS settings, a target group's
/// deregistration delay) are read only when the desired state sets them,
/// and then drift in them is seen.
#[test]
fn per_resource_attribute_reads_are_made_only_for_managed_fields() {
    let emu = Emulator::start();
    let ws = Workspace::new();
    let proxy = Proxy::start(&emu.endpoint, Faults::none());
    let env = [("AWS_ENDPOINT_URL", proxy.endpoint.as_str())];
    let stack = |dns: &str, delay: &str| {
        format!(
            "[stack]\nname = \"attrs\"\nregion = \"us-east-1\"\n\n[vpc.main]\ncidr_block = \"10.0.0.0/16\"\n{dns}\n\n[target_group.web]\nport = 80\nprotocol = \"HTTP\"\nvpc_id = \"${{vpc.main.id}}\"\n{delay}\n"
        )
    };
    let plan_calls = || {
        proxy.reset_stats();
        let run = reconcile_env(Some(&emu), &ws, &["plan", "--json", "--stats"], &env);
        let (_, calls) = reported(&run.stdout);
        (run, calls)
    };
    ws.write("desired/main.toml", &stack("", ""));
    reconcile_env(Some(&emu), &ws, &["apply", "--auto-approve"], &env).expect_success();
    let (run, calls) = plan_calls();
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(calls.get("DescribeVpcAttribute"), None, "{run}");
    assert_eq!(calls.get("DescribeTargetGroupAttributes"), None, "{run}");

    // Set: applied, then read on every plan (one call per VPC attribute).
    ws.write(
        "desired/main.toml",
        &stack("enable_dns_hostnames = true", "deregistration_delay = 30"),
    );
    reconcile_env(Some(&emu), &ws, &["apply", "--auto-approve"], &env).expect_success();
    let (run, calls) = plan_calls();
    assert_eq!(calls["DescribeVpcAttribute"], 1, "{run}");
    assert_eq!(calls["DescribeTargetGroupAttributes"], 1, "{run}");
    reconcile_env(Some(&emu), &ws, &["plan", "--detailed-exitcode"], &env).expect_code(0);

    // Changed outside reconcile: the plan corrects it.
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ws.state_path()).unwrap()).unwrap();
    let vpc = state["resources"]["vpc.main"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        support::ec2(&emu)
            .await
            .modify_vpc_attribute()
            .vpc_id(&vpc)
            .enable_dns_hostnames(
                aws_sdk_ec2::types::AttributeBooleanValue::builder()
                    .value(false)
                    .build(),
            )
            .send()
            .await
            .unwrap();
    });
    let run = reconcile_env(Some(&emu), &ws, &["plan", "--detailed-exitcode"], &env);
    run.expect_code(2);
    assert!(
        run.stdout
            .contains("~ enable_dns_hostnames = false -> true"),
        "{run}"
    );

    // The correction, and a new VPC with the setting: one call per setting,
    // and the manages tag written only by the create (nothing tagged again).
    let second = "[vpc.second]\ncidr_block = \"10.1.0.0/16\"\nenable_dns_hostnames = true\n";
    let both = stack("enable_dns_hostnames = true", "deregistration_delay = 30") + second;
    ws.write("desired/main.toml", &both);
    proxy.reset_stats();
    reconcile_env(Some(&emu), &ws, &["apply", "--auto-approve"], &env).expect_success();
    let ec2 = |op: &str| {
        proxy
            .stats()
            .requests
            .get(&("ec2".into(), op.into()))
            .copied()
    };
    assert_eq!(ec2("CreateVpc"), Some(1));
    assert_eq!(ec2("ModifyVpcAttribute"), Some(2));
    assert_eq!(ec2("CreateTags"), None);
    let (run, calls) = plan_calls();
    assert_eq!(calls["DescribeVpcAttribute"], 2, "{run}");
    reconcile_env(Some(&emu), &ws, &["plan", "--detailed-exitcode"], &env).expect_code(0);
}
