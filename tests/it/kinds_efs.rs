//! EFS through the CLI against the emulator: an encrypted file system (with
//! a KMS key and a lifecycle policy) and one mount target per subnet.
//! Applied, planned clean, a mount target's security groups changed out of
//! band and put back, destroyed without leftovers.

use crate::support;

use support::{Emulator, Workspace, reconcile, sdk_config};

const STACK: &str = r#"
[stack]
name = "efs"
region = "us-east-1"

[variables.zones]
type = "list"
default = ["a", "b"]

[vpc.main]
cidr_block = "10.9.0.0/16"

[subnet.x]
for_each = ["a", "b"]
vpc_id = "${vpc.main.id}"
cidr_block = "${cidrsubnet(\"10.9.0.0/16\", 8, index(var.zones, each.key))}"
availability_zone = "${stack.region}${each.key}"

[security_group.nfs]
vpc_id = "${vpc.main.id}"
description = "NFS from the VPC"
ingress = [{ protocol = "tcp", from_port = 2049, to_port = 2049, cidr_blocks = ["10.9.0.0/16"] }]

[security_group.other]
vpc_id = "${vpc.main.id}"
description = "Not for NFS"

[kms_key.efs]
description = "EFS data"
deletion_window_in_days = 7

[efs_file_system.data]
encrypted = true
kms_key_id = "${kms_key.efs.arn}"
lifecycle_policy = { transition_to_ia = "AFTER_30_DAYS" }
tags = { Name = "efs-data" }

[efs_mount_target.x]
for_each = ["a", "b"]
file_system_id = "${efs_file_system.data.id}"
subnet_id = "${subnet.x[each.key].id}"
security_groups = ["${security_group.nfs.id}"]
"#;

const RESOURCES: usize = 9;

async fn security_groups(efs: &aws_sdk_efs::Client, mt: &str) -> Vec<String> {
    efs.describe_mount_target_security_groups()
        .mount_target_id(mt)
        .send()
        .await
        .unwrap()
        .security_groups()
        .to_vec()
}

#[tokio::test]
async fn an_encrypted_file_system_with_mount_targets_is_applied_changed_and_destroyed() {
    let emu = Emulator::start();
    let efs = aws_sdk_efs::Client::new(&sdk_config(&emu).await);
    let ws = Workspace::new();
    ws.write("desired/main.toml", STACK);

    let run = reconcile(&emu, &ws, &["apply", "--auto-approve"]);
    run.expect_success();
    assert!(
        run.stdout.contains(&format!(
            "Apply complete! Resources: {RESOURCES} added, 0 changed, 0 destroyed."
        )),
        "{run}"
    );
    reconcile(&emu, &ws, &["plan", "--detailed-exitcode"]).expect_code(0);

    // The file system: encrypted with the stack's key, files to IA after 30
    // days, found by its reconcile tags.
    let fs_id = ws.id("efs_file_system.data");
    let key_arn = ws.state()["resources"]["kms_key.efs"]["attributes"]["arn"]
        .as_str()
        .map(str::to_owned);
    let fss = efs.describe_file_systems().send().await.unwrap();
    assert_eq!(fss.file_systems().len(), 1, "{fss:?}");
    let fs = &fss.file_systems()[0];
    assert_eq!(fs.file_system_id(), fs_id);
    assert_eq!(fs.encrypted(), Some(true));
    assert_eq!(fs.kms_key_id().map(str::to_owned), key_arn);
    assert!(
        fs.tags()
            .iter()
            .any(|t| t.key() == "reconcile:address" && t.value() == "efs_file_system.data"),
        "{fs:?}"
    );
    let lifecycle = efs
        .describe_lifecycle_configuration()
        .file_system_id(&fs_id)
        .send()
        .await
        .unwrap();
    assert_eq!(
        lifecycle.lifecycle_policies()[0]
            .transition_to_ia()
            .map(aws_sdk_efs::types::TransitionToIaRules::as_str),
        Some("AFTER_30_DAYS")
    );
    let dns = ws.state()["resources"]["efs_file_system.data"]["attributes"]["dns_name"].clone();
    assert_eq!(dns, format!("{fs_id}.efs.us-east-1.amazonaws.com"));

    // One mount target per subnet, each behind the NFS group.
    let nfs = ws.id("security_group.nfs");
    let mts = efs
        .describe_mount_targets()
        .file_system_id(&fs_id)
        .send()
        .await
        .unwrap();
    assert_eq!(mts.mount_targets().len(), 2, "{mts:?}");
    for key in ["a", "b"] {
        let mt = ws.id(&format!("efs_mount_target.x[\"{key}\"]"));
        let subnet = ws.id(&format!("subnet.x[\"{key}\"]"));
        let found = mts
            .mount_targets()
            .iter()
            .find(|m| m.mount_target_id() == mt)
            .unwrap_or_else(|| panic!("{mt} is not in {mts:?}"));
        assert_eq!(found.subnet_id(), subnet);
        assert_eq!(
            found.availability_zone_name(),
            Some(format!("us-east-1{key}").as_str())
        );
        assert_eq!(security_groups(&efs, &mt).await, std::slice::from_ref(&nfs));
    }

    // Someone swaps a mount target's group: the plan says so, the apply
    // puts it back in place (same mount target).
    let mt_a = ws.id("efs_mount_target.x[\"a\"]");
    efs.modify_mount_target_security_groups()
        .mount_target_id(&mt_a)
        .security_groups(ws.id("security_group.other"))
        .send()
        .await
        .unwrap();
    let run = reconcile(&emu, &ws, &["plan", "--detailed-exitcode"]);
    run.expect_code(2);
    assert!(
        run.stdout
            .contains("# efs_mount_target.x[\"a\"] will be updated in place"),
        "{run}"
    );
    assert!(!run.stdout.contains("efs_mount_target.x[\"b\"]"), "{run}");
    let run = reconcile(&emu, &ws, &["apply", "--auto-approve"]);
    run.expect_success();
    assert!(
        run.stdout
            .contains("Apply complete! Resources: 0 added, 1 changed, 0 destroyed."),
        "{run}"
    );
    assert_eq!(ws.id("efs_mount_target.x[\"a\"]"), mt_a);
    assert_eq!(
        security_groups(&efs, &mt_a).await,
        std::slice::from_ref(&nfs)
    );
    reconcile(&emu, &ws, &["plan", "--detailed-exitcode"]).expect_code(0);

    // Destroy deletes the mount targets before the file system.
    let run = reconcile(&emu, &ws, &["destroy", "--auto-approve"]);
    run.expect_success();
    assert!(
        run.stdout.contains(&format!(
            "Destroy complete! Resources: {RESOURCES} destroyed."
        )),
        "{run}"
    );
    let fss = efs.describe_file_systems().send().await.unwrap();
    assert!(fss.file_systems().is_empty(), "{fss:?}");
}
