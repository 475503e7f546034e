//! Crash safety: `apply` of the largest example killed with SIGKILL at many
//! moments, re-run each time. Afterwards every resource exists exactly once,
//! the state is valid and the plan is clean; then `destroy`, also killed and
//! re-run, leaves nothing.
//!
//! Rounds come from `RECONCILE_CRASH_ROUNDS` (default 3). Each round kills
//! one apply and one destroy at a moment spread over the measured length of
//! an uninterrupted run. Not part of `cargo test`: `scripts/crash-test.sh`
//! runs it (24 rounds by default) — it still fails now and then on one known
//! problem (a subnet left in the VPC after a killed destroy, see the README).

use crate::support;

use std::process::Stdio;
use std::time::{Duration, Instant};

use support::{Emulator, Workspace, command, reconcile, tagged_copies};

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

/// What EC2 still holds (for a failure message).
async fn ec2_leftovers(emu: &Emulator) -> String {
    let ec2 = aws_sdk_ec2::Client::new(&support::sdk_config(emu).await);
    let subnets = ec2
        .describe_subnets()
        .send()
        .await
        .map(|r| r.subnets().len());
    let sgs = ec2.describe_security_groups().send().await.map(|r| {
        r.security_groups()
            .iter()
            .map(|g| format!("{:?} {:?}", g.group_id(), g.tags()))
            .collect::<Vec<_>>()
    });
    let rts = ec2.describe_route_tables().send().await.map(|r| {
        r.route_tables()
            .iter()
            .map(|t| {
                format!(
                    "{:?} {:?} {:?}",
                    t.route_table_id(),
                    t.associations(),
                    t.tags()
                )
            })
            .collect::<Vec<_>>()
    });
    let igws = ec2
        .describe_internet_gateways()
        .send()
        .await
        .map(|r| format!("{:?}", r.internet_gateways()));
    let enis = ec2
        .describe_network_interfaces()
        .send()
        .await
        .map(|r| format!("{:?}", r.network_interfaces()));
    let nats = ec2
        .describe_nat_gateways()
        .send()
        .await
        .map(|r| format!("{:?}", r.nat_gateways()));
    format!(
        "subnets {subnets:?}\nsgs {sgs:?}\nrts {rts:?}\nigws {igws:?}\nenis {enis:?}\nnats {nats:?}"
    )
}

/// How many resources the state records (it must parse).
fn resources_in_state(ws: &Workspace) -> usize {
    let state: serde_json::Value =
        serde_json::from_str(&ws.read("state/test.json")).expect("a valid state");
    state["resources"]
        .as_object()
        .map_or(0, serde_json::Map::len)
}

fn rounds() -> u32 {
    std::env::var("RECONCILE_CRASH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(3)
}

#[tokio::test]
#[ignore = "long and not yet reliable: run scripts/crash-test.sh"]
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
    let resources = resources_in_state(&ws);
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
        let dups: Vec<(String, usize)> = tagged_copies(&emu)
            .await
            .into_iter()
            .filter(|(_, c)| *c > 1)
            .collect();
        assert!(dups.is_empty(), "round {round}: duplicates {dups:?}\n{run}");
        assert_eq!(resources_in_state(&ws), resources, "round {round}");

        if kill_after(&emu, &ws, &["destroy", "--auto-approve"], at(destroy_time)) {
            kills += 1;
        }
        let run = reconcile(&emu, &ws, &["destroy", "--auto-approve"]);
        assert!(
            run.code == 0,
            "round {round}: destroy failed; in the emulator: {}\n{run}",
            ec2_leftovers(&emu).await
        );
        let left = tagged_copies(&emu).await;
        assert!(left.is_empty(), "round {round}: left behind {left:?}");
    }
    eprintln!("crash safety: {n} rounds, {kills} processes killed, 0 duplicates, 0 left behind");
    assert!(
        kills >= n,
        "most kills should land while the process runs: {kills} of {}",
        2 * n
    );
}
