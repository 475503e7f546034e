//! The data kinds (RDS, S3, KMS, EFS, CloudFront) driven through the CLI
//! against the emulator: apply, a clean no-change plan, drift restored,
//! destroy leaving nothing behind.

use crate::support;

use std::path::Path;

use support::{Emulator, Run, Workspace, reconcile, sdk_config};

const PASSWORD: &str = "Sup3r-S3cret-Passw0rd";
const PASSWORD_2: &str = "An0ther-S3cret-Passw0rd";

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[track_caller]
fn assert_secret_absent(run: &Run, secret: &str) {
    assert!(
        !run.stdout.contains(secret),
        "the secret leaked to stdout\n{run}"
    );
    assert!(
        !run.stderr.contains(secret),
        "the secret leaked to stderr\n{run}"
    );
}

#[track_caller]
fn assert_secret_not_in_files(ws: &Workspace, secret: &str) {
    for f in files_under(&ws.path().join("state")) {
        let bytes = std::fs::read(&f).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains(secret), "the secret is in {}", f.display());
    }
}

const DB_STACK: &str = r#"
[stack]
name = "test"
region = "us-east-1"

[variables.db_password]
sensitive = true

[vpc.main]
cidr_block = "10.0.0.0/16"

[subnet.a]
vpc_id = "${vpc.main.id}"
cidr_block = "10.0.1.0/24"
availability_zone = "us-east-1a"

[subnet.b]
vpc_id = "${vpc.main.id}"
cidr_block = "10.0.2.0/24"
availability_zone = "us-east-1b"

[db_subnet_group.main]
name = "test-db"
description = "database subnets"
subnet_ids = ["${subnet.a.id}", "${subnet.b.id}"]
tags = { Team = "data" }

[db_instance.main]
identifier = "test-db"
engine = "postgres"
engine_version = "16.3"
instance_class = "db.t3.micro"
allocated_storage = 20
db_name = "app"
master_username = "app"
master_password = "${var.db_password}"
db_subnet_group_name = "${db_subnet_group.main.name}"
backup_retention_period = 7
tags = { Team = "data" }
__LIFECYCLE__
"#;

async fn rds(emu: &Emulator) -> aws_sdk_rds::Client {
    aws_sdk_rds::Client::new(&sdk_config(emu).await)
}

async fn db_instances(emu: &Emulator) -> Vec<String> {
    rds(emu)
        .await
        .describe_db_instances()
        .send()
        .await
        .unwrap()
        .db_instances()
        .iter()
        .filter_map(|d| d.db_instance_identifier().map(str::to_owned))
        .collect()
}

async fn snapshots(emu: &Emulator) -> Vec<String> {
    rds(emu)
        .await
        .describe_db_snapshots()
        .send()
        .await
        .unwrap()
        .db_snapshots()
        .iter()
        // Automated backups (`rds:…`) are not final snapshots.
        .filter(|s| s.snapshot_type() == Some("manual"))
        .filter_map(|s| s.db_snapshot_identifier().map(str::to_owned))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn db_instance_lifecycle_keeps_the_password_secret_and_snapshots_on_destroy() {
    let emu = Emulator::start();
    let ws = Workspace::new();
    ws.write("desired/main.toml", &DB_STACK.replace("__LIFECYCLE__", ""));
    let var = format!("db_password={PASSWORD}");
    let with = |args: &[&str]| {
        let mut a = args.to_vec();
        a.extend(["--var", var.as_str()]);
        reconcile(&emu, &ws, &a)
    };

    let plan = with(&["plan"]);
    plan.expect_success();
    assert!(plan.stdout.contains("master_password"), "{plan}");
    assert!(plan.stdout.contains("(sensitive value)"), "{plan}");
    assert_secret_absent(&plan, PASSWORD);

    let apply = with(&["apply", "--auto-approve"]);
    apply.expect_success();
    assert_secret_absent(&apply, PASSWORD);
    assert_eq!(db_instances(&emu).await, ["test-db"]);
    let st = ws.state();
    let db = &st["resources"]["db_instance.main"];
    assert_eq!(db["id"], "test-db");
    assert!(
        db["attributes"]["address"]
            .as_str()
            .is_some_and(|a| !a.is_empty()),
        "{db}"
    );
    assert!(
        db["fingerprints"]["master_password"]
            .as_str()
            .is_some_and(|f| f.starts_with("hmac-sha256:")),
        "{db}"
    );
    assert_secret_not_in_files(&ws, PASSWORD);
    let key = ws.path().join("state/.reconcile-key");
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&key).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);

    // No change: exit 0, in text and JSON.
    let again = with(&["plan", "--detailed-exitcode"]);
    again.expect_code(0);
    let json = with(&["plan", "--json"]);
    json.expect_success();
    assert_secret_absent(&json, PASSWORD);

    // A new password plans an update that shows no value, and applies.
    let var2 = format!("db_password={PASSWORD_2}");
    let changed = reconcile(&emu, &ws, &["plan", "--detailed-exitcode", "--var", &var2]);
    changed.expect_code(2);
    assert!(changed.stdout.contains("~ master_password"), "{changed}");
    assert!(changed.stdout.contains("1 to change"), "{changed}");
    assert_secret_absent(&changed, PASSWORD_2);
    assert_secret_absent(&changed, PASSWORD);
    let changed_json = reconcile(&emu, &ws, &["plan", "--json", "--var", &var2]);
    assert_secret_absent(&changed_json, PASSWORD_2);
    let applied = reconcile(&emu, &ws, &["apply", "--auto-approve", "--var", &var2]);
    applied.expect_success();
    assert_secret_absent(&applied, PASSWORD_2);
    assert_secret_not_in_files(&ws, PASSWORD_2);
    assert_secret_not_in_files(&ws, PASSWORD);
    reconcile(&emu, &ws, &["plan", "--detailed-exitcode", "--var", &var2]).expect_code(0);

    // Drift: backup retention changed out of band is planned and restored.
    rds(&emu)
        .await
        .modify_db_instance()
        .db_instance_identifier("test-db")
        .backup_retention_period(1)
        .apply_immediately(true)
        .send()
        .await
        .unwrap();
    let drift = reconcile(&emu, &ws, &["plan", "--detailed-exitcode", "--var", &var2]);
    drift.expect_code(2);
    assert!(drift.stdout.contains("backup_retention_period"), "{drift}");
    reconcile(&emu, &ws, &["apply", "--auto-approve", "--var", &var2]).expect_success();
    reconcile(&emu, &ws, &["plan", "--detailed-exitcode", "--var", &var2]).expect_code(0);

    // Destroy keeps a final snapshot by default.
    let destroy = reconcile(&emu, &ws, &["destroy", "--auto-approve", "--var", &var2]);
    destroy.expect_success();
    assert!(
        destroy.stdout.contains("final snapshot") || destroy.stdout.contains("destroyed"),
        "{destroy}"
    );
    assert!(db_instances(&emu).await.is_empty());
    let snaps = snapshots(&emu).await;
    assert_eq!(snaps.len(), 1, "{snaps:?}");
    assert!(
        snaps[0].starts_with("test-db-final-") && snaps[0].len() == "test-db-final-".len() + 14,
        "{snaps:?}"
    );
    let groups = rds(&emu)
        .await
        .describe_db_subnet_groups()
        .send()
        .await
        .unwrap();
    assert!(groups.db_subnet_groups().is_empty(), "{groups:?}");
    assert_secret_not_in_files(&ws, PASSWORD_2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_retained_db_instance_is_forgotten_and_left_running() {
    let emu = Emulator::start();
    let ws = Workspace::new();
    ws.write(
        "desired/main.toml",
        &DB_STACK.replace(
            "__LIFECYCLE__",
            "lifecycle = { deletion_policy = \"retain\" }",
        ),
    );
    let var = format!("db_password={PASSWORD}");
    reconcile(&emu, &ws, &["apply", "--auto-approve", "--var", &var]).expect_success();
    let destroy = reconcile(&emu, &ws, &["destroy", "--auto-approve", "--var", &var]);
    // The subnet group cannot go while the retained instance uses it.
    assert_eq!(db_instances(&emu).await, ["test-db"], "{destroy}");
    assert!(snapshots(&emu).await.is_empty());
    assert!(
        ws.state()["resources"].get("db_instance.main").is_none(),
        "{destroy}"
    );
}

const BUCKET_STACK: &str = r#"
[stack]
name = "test"
region = "us-east-1"

[s3_bucket.assets]
bucket = "test-assets-bucket"
versioning = true
cors_rules = [{ allowed_methods = ["GET", "HEAD"], allowed_origins = ["https://example.com"], max_age_seconds = 3000 }]
public_access_block = { block_public_acls = true, block_public_policy = false, ignore_public_acls = true, restrict_public_buckets = false }
policy = { Version = "2012-10-17", Statement = [{ Sid = "Read", Effect = "Allow", Principal = "*", Action = "s3:GetObject", Resource = "arn:aws:s3:::test-assets-bucket/*" }] }
server_side_encryption = { sse_algorithm = "AES256" }
lifecycle_rules = [{ id = "old-versions", noncurrent_version_expiration_days = 30 }]
ownership_controls = "BucketOwnerEnforced"
force_destroy = true
tags = { Team = "web" }

[s3_bucket.plain]
bucket_prefix = "test-plain-"
"#;

/// Requests the emulator has answered so far (one log line each).
fn requests(emu: &Emulator) -> usize {
    std::fs::read_to_string(emu.log_path())
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(" HTTP/1.1"))
        .count()
}

async fn s3(emu: &Emulator) -> aws_sdk_s3::Client {
    let conf = sdk_config(emu).await;
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&conf)
            .force_path_style(true)
            .build(),
    )
}

async fn bucket_names(emu: &Emulator) -> Vec<String> {
    s3(emu)
        .await
        .list_buckets()
        .send()
        .await
        .unwrap()
        .buckets()
        .iter()
        .filter_map(|b| b.name().map(str::to_owned))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn s3_bucket_lifecycle_restores_cors_and_force_destroys() {
    let emu = Emulator::start();
    let ws = Workspace::new();
    ws.write("desired/main.toml", BUCKET_STACK);
    reconcile(&emu, &ws, &["apply", "--auto-approve"]).expect_success();
    let names = bucket_names(&emu).await;
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(
        names.iter().any(|n| n.starts_with("test-plain-")),
        "{names:?}"
    );
    let st = ws.state();
    assert_eq!(
        st["resources"]["s3_bucket.assets"]["attributes"]["bucket_regional_domain_name"],
        "test-assets-bucket.s3.us-east-1.amazonaws.com"
    );
    let client = s3(&emu).await;
    // moto answers GetBucketVersioning with a root element the SDK refuses
    // to parse; the raw answer says it all the same.
    let v = client
        .get_bucket_versioning()
        .bucket("test-assets-bucket")
        .send()
        .await;
    let body = match &v {
        Ok(o) => format!("<Status>{}</Status>", o.status().map_or("", |s| s.as_str())),
        Err(e) => {
            String::from_utf8_lossy(e.raw_response().unwrap().body().bytes().unwrap()).into_owned()
        }
    };
    assert!(body.contains("<Status>Enabled</Status>"), "{body}");

    // No change; and what a no-change plan costs.
    let before = requests(&emu);
    reconcile(&emu, &ws, &["plan", "--detailed-exitcode"]).expect_code(0);
    let calls = requests(&emu) - before;
    println!("no-change plan of 2 buckets (7 + 0 sub-resources managed): {calls} requests");
    // 1 tagging read per bucket + 7 managed sub-resources of `assets`.
    assert_eq!(calls, 2 + 7, "requests of a no-change plan");

    // A CORS rule edited out of band is planned and restored.
    let rule = aws_sdk_s3::types::CorsRule::builder()
        .allowed_methods("PUT")
        .allowed_origins("*")
        .build()
        .unwrap();
    client
        .put_bucket_cors()
        .bucket("test-assets-bucket")
        .cors_configuration(
            aws_sdk_s3::types::CorsConfiguration::builder()
                .cors_rules(rule)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let drift = reconcile(&emu, &ws, &["plan", "--detailed-exitcode"]);
    drift.expect_code(2);
    assert!(drift.stdout.contains("cors_rules"), "{drift}");
    assert!(drift.stdout.contains("1 to change"), "{drift}");
    reconcile(&emu, &ws, &["apply", "--auto-approve"]).expect_success();
    let cors = client
        .get_bucket_cors()
        .bucket("test-assets-bucket")
        .send()
        .await
        .unwrap();
    assert_eq!(cors.cors_rules()[0].allowed_methods(), ["GET", "HEAD"]);
    reconcile(&emu, &ws, &["plan", "--detailed-exitcode"]).expect_code(0);

    // Versions and delete markers in the versioned bucket; an object in the
    // other one, which has no force_destroy.
    for body in ["one", "two"] {
        client
            .put_object()
            .bucket("test-assets-bucket")
            .key("a.txt")
            .body(body.as_bytes().to_vec().into())
            .send()
            .await
            .unwrap();
    }
    client
        .delete_object()
        .bucket("test-assets-bucket")
        .key("a.txt")
        .send()
        .await
        .unwrap();
    let plain = names
        .iter()
        .find(|n| n.starts_with("test-plain-"))
        .unwrap()
        .clone();
    client
        .put_object()
        .bucket(&plain)
        .key("b.txt")
        .body(b"x".to_vec().into())
        .send()
        .await
        .unwrap();
    let destroy = reconcile(&emu, &ws, &["destroy", "--auto-approve"]);
    destroy.expect_code(1);
    assert!(
        destroy.stderr.contains("is not empty") || destroy.stdout.contains("is not empty"),
        "{destroy}"
    );
    assert!(destroy.to_string().contains("force_destroy"), "{destroy}");
    assert_eq!(bucket_names(&emu).await, vec![plain.clone()]);

    client
        .delete_object()
        .bucket(&plain)
        .key("b.txt")
        .send()
        .await
        .unwrap();
    reconcile(&emu, &ws, &["destroy", "--auto-approve"]).expect_success();
    assert!(bucket_names(&emu).await.is_empty());
}

const KMS_STACK: &str = r#"
[stack]
name = "test"
region = "us-east-1"

[kms_key.main]
description = "data at rest"
enable_key_rotation = true
deletion_window_in_days = 7
tags = { Team = "data" }

[kms_alias.main]
name = "alias/test-data"
target_key_id = "${kms_key.main.arn}"
"#;

#[tokio::test(flavor = "multi_thread")]
async fn kms_key_and_alias_lifecycle() {
    let emu = Emulator::start();
    let ws = Workspace::new();
    ws.write("desired/main.toml", KMS_STACK);
    reconcile(&emu, &ws, &["apply", "--auto-approve"]).expect_success();
    reconcile(&emu, &ws, &["plan", "--detailed-exitcode"]).expect_code(0);
    let kms = aws_sdk_kms::Client::new(&sdk_config(&emu).await);
    let key = ws.state()["resources"]["kms_key.main"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let rotation = kms
        .get_key_rotation_status()
        .key_id(&key)
        .send()
        .await
        .unwrap();
    assert!(rotation.key_rotation_enabled());
    let aliases = kms.list_aliases().send().await.unwrap();
    let alias = aliases
        .aliases()
        .iter()
        .find(|a| a.alias_name() == Some("alias/test-data"))
        .unwrap();
    assert_eq!(alias.target_key_id(), Some(key.as_str()));

    // Out-of-band change of the description is restored.
    kms.update_key_description()
        .key_id(&key)
        .description("changed")
        .send()
        .await
        .unwrap();
    let drift = reconcile(&emu, &ws, &["plan", "--detailed-exitcode"]);
    drift.expect_code(2);
    assert!(drift.stdout.contains("description"), "{drift}");
    reconcile(&emu, &ws, &["apply", "--auto-approve"]).expect_success();
    reconcile(&emu, &ws, &["plan", "--detailed-exitcode"]).expect_code(0);

    reconcile(&emu, &ws, &["destroy", "--auto-approve"]).expect_success();
    let meta = kms.describe_key().key_id(&key).send().await.unwrap();
    assert_eq!(
        meta.key_metadata()
            .unwrap()
            .key_state()
            .map(aws_sdk_kms::types::KeyState::as_str),
        Some("PendingDeletion")
    );
    let aliases = kms.list_aliases().send().await.unwrap();
    assert!(
        aliases
            .aliases()
            .iter()
            .all(|a| a.alias_name() != Some("alias/test-data"))
    );
}
