//! Crash safety: `apply` of the largest example killed with SIGKILL at many
//! moments, re-run each time. Afterwards every resource exists exactly once,
//! the state is valid and the plan is clean; then `destroy`, also killed and
//! re-run, leaves nothing.
//!
//! Rounds come from `RECONCILE_CRASH_ROUNDS` (CI: 3; `scripts/crash-test.sh`
//! runs 24). Each round kills one apply and one destroy at a moment spread
//! over the measured length of an uninterrupted run.

mod support;

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::{Duration, Instant};

use support::{Emulator, Workspace, command, reconcile, sdk_config};

/// Starts `reconcile ARGS`, kills it with SIGKILL after `after` (if still
/// running). Returns whether it was killed.
fn kill_after(emu: &Emulator, ws: &Workspace, args: &[&str], after: Duration) -> bool {
    let mut cmd = command(Some(emu), ws, args, &[]);
    cmd.stdout(Stdio::null()).stderr(Stdio::null());
    let mut child = cmd.spawn().expect("starting reconcile");
    let deadline = Instant::now() + after;
    while Instant::now() < deadline {
        if child.try_wait().expect("polling reconcile").is_some() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let killed = child.kill().is_ok();
    let _ = child.wait();
    killed
}

/// Per `reconcile:address` tag value, how many live objects carry it:
/// EC2 resources, target groups and load balancers; and per task-definition
/// family, how many revisions are active.
async fn copies(emu: &Emulator) -> BTreeMap<String, usize> {
    let conf = sdk_config(emu).await;
    let mut count: BTreeMap<String, usize> = BTreeMap::new();
    let ec2 = aws_sdk_ec2::Client::new(&conf);
    // Each kind's own describe (moto keeps the tags of deleted resources in
    // DescribeTags): the tag value of every live object.
    let tagged = || {
        aws_sdk_ec2::types::Filter::builder()
            .name("tag-key")
            .values("reconcile:address")
            .build()
    };
    let address = |tags: &[aws_sdk_ec2::types::Tag]| {
        tags.iter()
            .find(|t| t.key() == Some("reconcile:address"))
            .and_then(|t| t.value())
            .unwrap_or_default()
            .to_owned()
    };
    let mut found: Vec<String> = Vec::new();
    let r = ec2.describe_vpcs().filters(tagged()).send().await.unwrap();
    found.extend(r.vpcs().iter().map(|x| address(x.tags())));
    let r = ec2
        .describe_subnets()
        .filters(tagged())
        .send()
        .await
        .unwrap();
    found.extend(r.subnets().iter().map(|x| address(x.tags())));
    let r = ec2
        .describe_security_groups()
        .filters(tagged())
        .send()
        .await
        .unwrap();
    found.extend(r.security_groups().iter().map(|x| address(x.tags())));
    let r = ec2
        .describe_internet_gateways()
        .filters(tagged())
        .send()
        .await
        .unwrap();
    found.extend(r.internet_gateways().iter().map(|x| address(x.tags())));
    let r = ec2
        .describe_route_tables()
        .filters(tagged())
        .send()
        .await
        .unwrap();
    found.extend(r.route_tables().iter().map(|x| address(x.tags())));
    let r = ec2
        .describe_addresses()
        .filters(tagged())
        .send()
        .await
        .unwrap();
    found.extend(r.addresses().iter().map(|x| address(x.tags())));
    let r = ec2
        .describe_nat_gateways()
        .filter(tagged())
        .send()
        .await
        .unwrap();
    found.extend(
        r.nat_gateways()
            .iter()
            .filter(|n| n.state() != Some(&aws_sdk_ec2::types::NatGatewayState::Deleted))
            .map(|x| address(x.tags())),
    );
    for a in found {
        *count.entry(a).or_default() += 1;
    }
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&conf);
    let mut arns: Vec<String> = elb
        .describe_target_groups()
        .send()
        .await
        .unwrap()
        .target_groups()
        .iter()
        .filter_map(|t| t.target_group_arn().map(str::to_owned))
        .collect();
    arns.extend(
        elb.describe_load_balancers()
            .send()
            .await
            .unwrap()
            .load_balancers()
            .iter()
            .filter_map(|l| l.load_balancer_arn().map(str::to_owned)),
    );
    for chunk in arns.chunks(20) {
        let tags = elb
            .describe_tags()
            .set_resource_arns(Some(chunk.to_vec()))
            .send()
            .await
            .unwrap();
        for d in tags.tag_descriptions() {
            for t in d.tags() {
                if t.key() == Some("reconcile:address") {
                    *count
                        .entry(t.value().unwrap_or_default().to_owned())
                        .or_default() += 1;
                }
            }
        }
    }
    let ecs = aws_sdk_ecs::Client::new(&conf);
    let defs = ecs
        .list_task_definitions()
        .status(aws_sdk_ecs::types::TaskDefinitionStatus::Active)
        .send()
        .await
        .unwrap();
    for arn in defs.task_definition_arns() {
        let family = arn.rsplit('/').next().unwrap_or(arn);
        let family = family.split(':').next().unwrap_or(family);
        *count
            .entry(format!("task-definition family {family}"))
            .or_default() += 1;
    }
    count
}

fn rounds() -> u32 {
    std::env::var("RECONCILE_CRASH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(3)
}

#[tokio::test]
async fn apply_and_destroy_killed_at_any_moment_converge_without_duplicates() {
    let emu = Emulator::start();
    let ws = Workspace::new();
    ws.copy_example("refarch");

    // An uninterrupted run sets the time scale of the kill points; the
    // first one warms the emulator up (its first calls are slow).
    reconcile(&emu, &ws, &["apply", "--auto-approve"]).expect_success();
    reconcile(&emu, &ws, &["destroy", "--auto-approve"]).expect_success();
    let started = Instant::now();
    reconcile(&emu, &ws, &["apply", "--auto-approve"]).expect_success();
    let apply_time = started.elapsed();
    let started = Instant::now();
    reconcile(&emu, &ws, &["destroy", "--auto-approve"]).expect_success();
    let destroy_time = started.elapsed();

    let n = rounds();
    let mut kills = 0;
    for round in 1..=n {
        // Spread over the run: 5 %, then up to 95 % of its length.
        let at = |total: Duration| total.mul_f64(0.05 + 0.9 * f64::from(round - 1) / f64::from(n));
        if kill_after(&emu, &ws, &["apply", "--auto-approve"], at(apply_time)) {
            kills += 1;
        }
        let run = reconcile(&emu, &ws, &["apply", "--auto-approve"]);
        run.expect_success();
        reconcile(&emu, &ws, &["plan", "--detailed-exitcode"]).expect_code(0);
        let dups: Vec<(String, usize)> = copies(&emu)
            .await
            .into_iter()
            .filter(|(_, c)| *c > 1)
            .collect();
        assert!(dups.is_empty(), "round {round}: duplicates {dups:?}\n{run}");
        let state: serde_json::Value =
            serde_json::from_str(&ws.read("state/test.json")).expect("a valid state");
        assert_eq!(
            state["resources"].as_object().unwrap().len(),
            30,
            "round {round}"
        );

        if kill_after(&emu, &ws, &["destroy", "--auto-approve"], at(destroy_time)) {
            kills += 1;
        }
        reconcile(&emu, &ws, &["destroy", "--auto-approve"]).expect_success();
        let left = copies(&emu).await;
        assert!(left.is_empty(), "round {round}: left behind {left:?}");
    }
    eprintln!("crash safety: {n} rounds, {kills} processes killed, 0 duplicates, 0 left behind");
    assert!(
        kills >= n,
        "most kills should land while the process runs: {kills} of {}",
        2 * n
    );
}
