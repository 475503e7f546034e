//! A create that happened is never lost or repeated: its id is recorded the
//! moment AWS answers, whatever fails after it, and an "already exists"
//! answer is resolved by looking the resource up — adopted when it is this
//! address's, a clear error when it is not.

use crate::support;

use support::proxy::{Fault, Proxy, Rule};
use support::{Emulator, Workspace, reconcile, reconcile_env, sdk_config, tagged_copies};

const EFS: &str = r#"
[stack]
name = "conv"
region = "us-east-1"

[vpc.main]
cidr_block = "10.7.0.0/16"

[subnet.a]
vpc_id = "${vpc.main.id}"
cidr_block = "10.7.1.0/24"
availability_zone = "us-east-1a"

[security_group.nfs]
vpc_id = "${vpc.main.id}"
description = "NFS"

[efs_file_system.volume]
tags = { Name = "conv" }

[efs_mount_target.volume]
file_system_id = "${efs_file_system.volume.id}"
subnet_id = "${subnet.a.id}"
security_groups = ["${security_group.nfs.id}"]
"#;

async fn mount_targets(emu: &Emulator, fs: &str) -> Vec<String> {
    aws_sdk_efs::Client::new(&sdk_config(emu).await)
        .describe_mount_targets()
        .file_system_id(fs)
        .send()
        .await
        .expect("listing mount targets")
        .mount_targets()
        .iter()
        .map(|m| m.mount_target_id().to_owned())
        .collect()
}

/// The mount target is created, then every read of it fails: the wait and
/// the read-back give up. The id AWS answered is in the state at once, so
/// the next run adopts it: no second create, no MountTargetConflict.
#[tokio::test]
async fn a_mount_target_whose_wait_fails_is_adopted_by_the_next_run() {
    let emu = Emulator::start();
    let ws = Workspace::new();
    ws.write("desired/main.toml", EFS);
    let proxy = Proxy::start(
        &emu.endpoint,
        support::proxy::Faults::rules(vec![Rule {
            operation: "elasticfilesystem GET /2015-02-01/mount-targets".into(),
            skip: 0,
            count: 10_000,
            fault: Fault::InternalError,
        }]),
    );
    let first = reconcile_env(
        Some(&emu),
        &ws,
        &["apply", "--auto-approve"],
        &[
            ("AWS_ENDPOINT_URL", proxy.endpoint.as_str()),
            ("RECONCILE_MAX_ATTEMPTS", "1"),
        ],
    );
    first.expect_code(1);
    assert!(
        first.stdout.contains("efs_mount_target.volume")
            || first.stderr.contains("efs_mount_target.volume"),
        "{first}"
    );
    let s = ws.state();
    let fs = s["resources"]["efs_file_system.volume"]["id"]
        .as_str()
        .expect("the file system is in the state")
        .to_owned();
    let live = mount_targets(&emu, &fs).await;
    assert_eq!(live.len(), 1, "{live:?}");
    // Recorded while the wait was failing: pending, with the id AWS gave.
    assert_eq!(
        s["pending"]["efs_mount_target.volume"]["id"].as_str(),
        Some(live[0].as_str()),
        "{s:#}"
    );

    let second = reconcile(&emu, &ws, &["apply", "--auto-approve"]);
    second.expect_success();
    let out = format!("{}{}", second.stdout, second.stderr);
    assert!(!out.contains("MountTargetConflict"), "{second}");
    assert!(
        out.contains("efs_mount_target.volume was being created"),
        "{second}"
    );
    assert_eq!(mount_targets(&emu, &fs).await, live);
    let s = ws.state();
    assert_eq!(
        s["resources"]["efs_mount_target.volume"]["id"].as_str(),
        Some(live[0].as_str())
    );
    assert!(s.get("pending").is_none(), "{s:#}");
    reconcile(&emu, &ws, &["plan", "--detailed-exitcode"]).expect_code(0);
}

/// Every kind whose create AWS (and the emulator) refuses with "already
/// exists" when the name or place is taken, each with a fixed name.
const NAMED: &str = r#"
[stack]
name = "STACK"
region = "us-east-1"

[vpc.main]
cidr_block = "10.8.0.0/16"

[subnet.a]
vpc_id = "${vpc.main.id}"
cidr_block = "10.8.1.0/24"
availability_zone = "us-east-1a"

[security_group.web]
name = "conv-web"
vpc_id = "${vpc.main.id}"
description = "web"

[launch_template.node]
name = "conv-node"
image_id = "ami-12c6146b"
instance_type = "t3.micro"

[iam_role.task]
name = "conv-task"
assume_role_services = ["ecs-tasks.amazonaws.com"]

[iam_instance_profile.node]
name = "conv-node"

[ecr_repository.app]
name = "conv-app"

[log_group.app]
name = "/conv/app"

[target_group.web]
name = "conv-web"
vpc_id = "${vpc.main.id}"
port = 80
protocol = "HTTP"

[kms_key.data]
description = "conv"
deletion_window_in_days = 7

[kms_alias.data]
name = "alias/conv-data"
target_key_id = "${kms_key.data.id}"

[db_instance.db]
identifier = "conv-db"
engine = "postgres"
instance_class = "db.t3.micro"
allocated_storage = 20
master_username = "app"
master_password = "not-a-secret-in-a-test"
lifecycle = { deletion_policy = "delete" }

[efs_file_system.volume]

[efs_mount_target.volume]
file_system_id = "${efs_file_system.volume.id}"
subnet_id = "${subnet.a.id}"
security_groups = ["${security_group.web.id}"]
"#;

/// The addresses of `NAMED` that a taken name or place makes AWS refuse.
const CONFLICTING: &[&str] = &[
    "subnet.a",
    "security_group.web",
    "launch_template.node",
    "iam_role.task",
    "iam_instance_profile.node",
    "ecr_repository.app",
    "log_group.app",
    "target_group.web",
    "kms_alias.data",
    "db_instance.db",
    "efs_mount_target.volume",
];

/// Forgotten by the state (as a lost answer would leave them), each
/// resource is created again, refused as existing, found as this address's
/// and adopted: nothing duplicated, the plan clean.
#[tokio::test]
async fn an_already_exists_answer_adopts_what_is_ours() {
    let emu = Emulator::start();
    let ws = Workspace::new();
    ws.write("desired/main.toml", &NAMED.replace("STACK", "conv"));
    reconcile(&emu, &ws, &["apply", "--auto-approve"]).expect_success();
    let before = ws.state();
    for address in CONFLICTING {
        reconcile(&emu, &ws, &["state", "rm", address]).expect_success();
    }
    let again = reconcile(&emu, &ws, &["apply", "--auto-approve"]);
    again.expect_success();
    let after = ws.state();
    for address in CONFLICTING {
        assert_eq!(
            after["resources"][address]["id"], before["resources"][address]["id"],
            "{address} was not adopted\n{again}"
        );
    }
    let copies = tagged_copies(&emu).await;
    assert!(copies.values().all(|n| *n == 1), "duplicates: {copies:?}");
    reconcile(&emu, &ws, &["plan", "--detailed-exitcode"]).expect_code(0);
    reconcile(&emu, &ws, &["destroy", "--auto-approve"]).expect_success();
}

/// Another stack holds the names: each create fails with AWS's error and
/// a line saying it is not this stack's resource; nothing of the other
/// stack is taken over or changed.
#[tokio::test]
async fn an_already_exists_answer_for_what_is_not_ours_is_a_clear_error() {
    let emu = Emulator::start();
    let theirs = Workspace::new();
    theirs.write("desired/main.toml", &NAMED.replace("STACK", "theirs"));
    reconcile(&emu, &theirs, &["apply", "--auto-approve"]).expect_success();
    let ours = Workspace::new();
    // Our own network, so that only the names collide.
    ours.write(
        "desired/main.toml",
        &NAMED
            .replace("STACK", "ours")
            .replace("10.8.", "10.9.")
            .replace(
                "[efs_mount_target.volume]",
                "[efs_mount_target.volume]\nenabled = false",
            ),
    );
    let run = reconcile(&emu, &ours, &["apply", "--auto-approve"]);
    run.expect_code(1);
    let out = format!("{}{}", run.stdout, run.stderr);
    // Subnets and security groups are per VPC, and the mount target is
    // left out: in a network of our own their places are free.
    for address in CONFLICTING
        .iter()
        .filter(|a| !["subnet.a", "security_group.web", "efs_mount_target.volume"].contains(a))
    {
        assert!(
            out.contains(&format!("it is not {address} of stack `ours`")),
            "{address}: no clear error\n{run}"
        );
    }
    let s = ours.state();
    let theirs_state = theirs.state();
    for address in CONFLICTING {
        let (mine, other) = (
            &s["resources"][address]["id"],
            &theirs_state["resources"][address]["id"],
        );
        assert!(
            mine.is_null() || mine != other,
            "{address} taken over\n{s:#}"
        );
    }
    // Theirs is untouched.
    reconcile(&emu, &theirs, &["plan", "--detailed-exitcode"]).expect_code(0);
}

/// A create-before-destroy replacement killed after its new object's create
/// answered: the pending record holds the new id while the address still
/// names the old object. The next run gives the address to the new object
/// and deletes the old one; nothing is left untracked.
#[tokio::test]
async fn a_replacement_killed_after_its_create_answered_keeps_the_new_object() {
    let emu = Emulator::start();
    let ws = Workspace::new();
    ws.write(
        "desired/main.toml",
        r#"
[stack]
name = "cbd"
region = "us-east-1"

[vpc.main]
cidr_block = "10.6.0.0/16"

[target_group.web]
vpc_id = "${vpc.main.id}"
port = 80
"#,
    );
    reconcile(&emu, &ws, &["apply", "--auto-approve"]).expect_success();
    let old = ws.id("target_group.web");
    // What the killed run's create made, and its trace in the state.
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&sdk_config(&emu).await);
    let new = elb
        .create_target_group()
        .name("cbd-web-new")
        .protocol(aws_sdk_elasticloadbalancingv2::types::ProtocolEnum::Http)
        .port(80)
        .vpc_id(ws.id("vpc.main"))
        .send()
        .await
        .unwrap()
        .target_groups()[0]
        .target_group_arn()
        .unwrap()
        .to_owned();
    let mut s = ws.state();
    s["pending"] = serde_json::json!({
        "target_group.web": { "kind": "target_group", "since": 0, "id": new }
    });
    ws.write("state/test.json", &s.to_string());

    let run = reconcile(&emu, &ws, &["apply", "--auto-approve"]);
    run.expect_success();
    assert!(
        run.stderr
            .contains("target_group.web was being created when a run stopped")
            || run
                .stdout
                .contains("target_group.web was being created when a run stopped"),
        "{run}"
    );
    assert_eq!(ws.id("target_group.web"), new);
    let live: Vec<String> = elb
        .describe_target_groups()
        .send()
        .await
        .unwrap()
        .target_groups()
        .iter()
        .filter_map(|g| g.target_group_arn().map(str::to_owned))
        .collect();
    assert_eq!(live, [new], "the old one ({old}) is deleted");
    assert!(ws.state().get("deposed").is_none());
    reconcile(&emu, &ws, &["plan", "--detailed-exitcode"]).expect_code(0);
}
