//! A fleet watched from one process: stacks in two accounts (roles assumed
//! through the emulator's STS, which keys what a role creates by the role's
//! account) and two regions, their states in one bucket of a third account.
//!
//! What moto 5.2.5's STS does, checked with boto3 against its server:
//! AssumeRole succeeds for any well-formed role ARN (no IAM role or trust
//! policy needed; the external id is not checked), and the credentials it
//! returns act in the ARN's account (GetCallerIdentity, EC2, IAM and
//! ListBuckets are per account and region). Signatures are not verified,
//! and GetObject reaches a bucket of another account (bucket names are
//! global), so a test here cannot show which role the state was read with.

use crate::support;

use std::collections::BTreeMap;

use aws_sdk_ec2::types::{IpPermission, IpRange};
use support::{Emulator, Run, Workspace, command_bare, run_command, sdk_config};

/// The emulator's own account: the one the test's keys act in, and where
/// the state bucket lives.
const STATE_ACCOUNT: &str = "123456789012";

/// A stack of one VPC and one security group in `region`, acting as
/// `account`'s fleet role, its state in the shared bucket through the
/// state role.
fn stack(name: &str, region: &str, account: Option<&str>, cidr: &str) -> String {
    let role = account.map_or(String::new(), |a| {
        format!(
            "assume_role = {{ role_arn = \"arn:aws:iam::{a}:role/reconcile-fleet\", external_id = \"fleet-{name}\" }}\n"
        )
    });
    format!(
        r#"[stack]
name = "{name}"
region = "{region}"
{role}
[backend]
type = "s3"
bucket = "fleet-states"
key = "stacks/{name}.json"
region = "us-east-1"
assume_role = {{ role_arn = "arn:aws:iam::{STATE_ACCOUNT}:role/reconcile-state", session_name = "fleet-state" }}

[vpc.main]
cidr_block = "{cidr}"
tags = {{ Name = "{name}" }}

[security_group.web]
vpc_id = "${{vpc.main.id}}"
description = "web"
ingress = [{{ protocol = "tcp", from_port = 443, to_port = 443, cidr_blocks = ["0.0.0.0/0"] }}]
egress = [{{ protocol = "-1", cidr_blocks = ["0.0.0.0/0"] }}]
"#
    )
}

/// An EC2 client acting in `account` (through the emulator's STS) in
/// `region`.
async fn ec2_as(emu: &Emulator, account: &str, region: &str) -> aws_sdk_ec2::Client {
    let base = sdk_config(emu).await;
    let assumed = aws_sdk_sts::Client::new(&base)
        .assume_role()
        .role_arn(format!("arn:aws:iam::{account}:role/test-inspector"))
        .role_session_name("fleet-test")
        .send()
        .await
        .unwrap();
    let c = assumed.credentials().unwrap();
    let creds = aws_sdk_ec2::config::Credentials::new(
        c.access_key_id(),
        c.secret_access_key(),
        Some(c.session_token().to_owned()),
        None,
        "assumed",
    );
    let conf = base
        .into_builder()
        .credentials_provider(aws_sdk_ec2::config::SharedCredentialsProvider::new(creds))
        .region(aws_config::Region::new(region.to_owned()))
        .build();
    aws_sdk_ec2::Client::new(&conf)
}

/// The VPC ids tagged as stack `name`'s.
async fn vpcs_of(ec2: &aws_sdk_ec2::Client, name: &str) -> Vec<String> {
    let filter = aws_sdk_ec2::types::Filter::builder()
        .name("tag:reconcile:stack")
        .values(name)
        .build();
    ec2.describe_vpcs()
        .filters(filter)
        .send()
        .await
        .unwrap()
        .vpcs()
        .iter()
        .filter_map(|v| v.vpc_id().map(str::to_owned))
        .collect()
}

/// The ports open to the world on a security group.
async fn open_ports(ec2: &aws_sdk_ec2::Client, group: &str) -> Vec<i32> {
    let groups = ec2
        .describe_security_groups()
        .group_ids(group)
        .send()
        .await
        .unwrap();
    let mut ports: Vec<i32> = groups.security_groups()[0]
        .ip_permissions()
        .iter()
        .filter_map(IpPermission::from_port)
        .collect();
    ports.sort_unstable();
    ports
}

/// One JSON line per stack, keyed by stack name.
fn lines_by_stack(run: &Run) -> BTreeMap<String, serde_json::Value> {
    let lines: Vec<serde_json::Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e})\n{run}")))
        .collect();
    let by: BTreeMap<String, serde_json::Value> = lines
        .iter()
        .map(|l| (l["stack"].as_str().unwrap_or("?").to_owned(), l.clone()))
        .collect();
    assert_eq!(by.len(), lines.len(), "one line per stack\n{run}");
    by
}

fn watch(emu: &Emulator, ws: &Workspace, args: &[&str]) -> Run {
    run_command(command_bare(Some(emu), ws, args), args)
}

#[tokio::test]
async fn a_fleet_in_two_accounts_and_regions_is_corrected_together_and_a_locked_stack_stops_nothing()
 {
    let emu = Emulator::start();
    let ws = Workspace::new();
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk_config(&emu).await)
            .force_path_style(true)
            .build(),
    );
    s3.create_bucket()
        .bucket("fleet-states")
        .send()
        .await
        .unwrap();
    ws.write(
        "stacks/net-a/main.toml",
        &stack("net-a", "eu-west-1", Some("111111111111"), "10.1.0.0/16"),
    );
    ws.write(
        "stacks/web-b/main.toml",
        &stack("web-b", "us-west-2", Some("222222222222"), "10.2.0.0/16"),
    );
    ws.write(
        "stacks/held-c/main.toml",
        &stack("held-c", "us-east-1", None, "10.3.0.0/16"),
    );
    for dir in ["stacks/net-a", "stacks/web-b"] {
        let args = ["apply", "--auto-approve", "--desired", dir];
        run_command(command_bare(Some(&emu), &ws, &args), &args).expect_success();
    }

    // Each stack lives in its role's account and its own region, nowhere else.
    let a = ec2_as(&emu, "111111111111", "eu-west-1").await;
    let b = ec2_as(&emu, "222222222222", "us-west-2").await;
    assert_eq!(vpcs_of(&a, "net-a").await.len(), 1);
    assert_eq!(vpcs_of(&b, "web-b").await.len(), 1);
    let elsewhere = [
        (STATE_ACCOUNT, "eu-west-1", "net-a"),
        ("111111111111", "us-east-1", "net-a"),
        ("222222222222", "eu-west-1", "web-b"),
        (STATE_ACCOUNT, "us-west-2", "web-b"),
    ];
    for (account, region, name) in elsewhere {
        let ec2 = ec2_as(&emu, account, region).await;
        assert!(
            vpcs_of(&ec2, name).await.is_empty(),
            "{name} found in {account} {region}"
        );
    }

    // Out of band: port 22 opened on net-a's group; another run holds held-c.
    let state: serde_json::Value = {
        let o = s3
            .get_object()
            .bucket("fleet-states")
            .key("stacks/net-a.json")
            .send()
            .await
            .unwrap();
        serde_json::from_slice(&o.body.collect().await.unwrap().into_bytes()).unwrap()
    };
    let group = state["resources"]["security_group.web"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    a.authorize_security_group_ingress()
        .group_id(&group)
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(22)
                .to_port(22)
                .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(open_ports(&a, &group).await, [22, 443]);
    let holder = r#"{"id":"held-by-ci","pid":77,"host":"ci-runner","since":"2026-12-07T10:00:00Z","command":"reconcile apply"}"#;
    s3.put_object()
        .bucket("fleet-states")
        .key("stacks/held-c.json.lock")
        .body(holder.as_bytes().to_vec().into())
        .send()
        .await
        .unwrap();

    let args = [
        "watch",
        "--once",
        "--correct",
        "--stack-parallelism",
        "2",
        "--stacks",
        "stacks/net-a",
        "stacks/web-b",
        "stacks/held-c",
    ];
    let run = watch(&emu, &ws, &args);
    println!("{run}");
    // The worst of drift (2), clean (0) and locked (1).
    run.expect_code(1);
    let by = lines_by_stack(&run);
    assert_eq!(by.len(), 3, "{run}");
    let (net, web, held) = (&by["net-a"], &by["web-b"], &by["held-c"]);
    assert_eq!(net["account"], "111111111111");
    assert_eq!(net["region"], "eu-west-1");
    assert_eq!(net["drifted"], serde_json::json!(["security_group.web"]));
    assert_eq!(
        net["actions"],
        serde_json::json!([{ "address": "security_group.web", "action": "update" }])
    );
    assert_eq!(net["errors"], serde_json::json!([]), "{run}");
    assert_eq!(web["account"], "222222222222");
    assert_eq!(web["region"], "us-west-2");
    assert_eq!(web["drifted"], serde_json::json!([]));
    assert_eq!(web["errors"], serde_json::json!([]), "{run}");
    // A locked stack is still placed: its region from the desired state
    // (its account only when a role names it: none here).
    assert_eq!(held["region"], "us-east-1", "{run}");
    assert!(
        held["locked"]
            .as_str()
            .unwrap()
            .contains("pid 77 on host ci-runner"),
        "{run}"
    );
    assert!(
        held["errors"][0]
            .as_str()
            .unwrap()
            .contains("s3://fleet-states/stacks/held-c.json is locked by another reconcile"),
        "{run}"
    );
    // Human lines say which stack they are about.
    assert!(
        run.stderr
            .contains("[net-a] security_group.web: Modifying..."),
        "{run}"
    );
    assert_eq!(open_ports(&a, &group).await, [443], "port 22 closed");

    // A fleet file names the same stacks: both are clean now, held-c is
    // still reported locked, and its lock is left to its holder.
    ws.write(
        "fleet.toml",
        "stacks = [\"stacks/net-a\", \"stacks/web-b\", \"stacks/held-c\"]\n",
    );
    let args = ["watch", "--once", "--fleet", "fleet.toml"];
    let run = watch(&emu, &ws, &args);
    run.expect_code(1);
    let by = lines_by_stack(&run);
    for name in ["net-a", "web-b"] {
        assert_eq!(by[name]["drifted"], serde_json::json!([]), "{run}");
        assert_eq!(by[name]["errors"], serde_json::json!([]), "{run}");
    }
    assert!(by["held-c"]["locked"].is_string(), "{run}");
    let args = [
        "watch",
        "--once",
        "--stacks",
        "stacks/net-a",
        "stacks/web-b",
    ];
    watch(&emu, &ws, &args).expect_code(0);
    let lock = |key: &'static str| s3.head_object().bucket("fleet-states").key(key).send();
    assert!(lock("stacks/held-c.json.lock").await.is_ok());
    assert!(lock("stacks/net-a.json.lock").await.is_err(), "released");
}
