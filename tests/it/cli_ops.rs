//! Operating commands end to end against the emulator: drift correction
//! with `watch`, `--refresh-only`, saved plans, `--target`/`--replace`,
//! import, `state` commands, lifecycle rules, the graph, and the S3 state
//! backend with its lock.

use crate::support;

use std::io::{BufRead, BufReader};
use std::time::{Duration, Instant};

use aws_sdk_ec2::types::{IpPermission, IpRange, Tag};
use support::{
    Emulator, Run, Workspace, command, command_without_state, ec2, reconcile, reconcile_in,
    run_command, sdk_config, wait_child,
};

fn strings(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_owned())
        .collect()
}

/// Requests the emulator has logged so far.
fn requests(emu: &Emulator) -> usize {
    std::fs::read_to_string(emu.log_path())
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(" HTTP/1.1\""))
        .count()
}

const DRIFT: &str = r#"
[stack]
name = "drift"
region = "us-east-1"

[vpc.main]
cidr_block = "10.20.0.0/16"
tags = { Name = "main", Team = "ops" }

[subnet.a]
vpc_id = "${vpc.main.id}"
cidr_block = "10.20.1.0/24"
availability_zone = "us-east-1a"

[subnet.b]
vpc_id = "${vpc.main.id}"
cidr_block = "10.20.2.0/24"
availability_zone = "us-east-1b"

[security_group.web]
vpc_id = "${vpc.main.id}"
description = "web"
ingress = [{ protocol = "tcp", from_port = 80, to_port = 80, cidr_blocks = ["0.0.0.0/0"] }]
egress = [{ protocol = "-1", cidr_blocks = ["0.0.0.0/0"] }]

[ecs_cluster.app]

[ecs_task_definition.app]
family = "drift-app"
cpu = "256"
memory = "512"
network_mode = "awsvpc"
requires_compatibilities = ["FARGATE"]
container_definitions = [{ name = "app", image = "nginx:latest", memory = 512, essential = true }]

[ecs_service.app]
cluster = "${ecs_cluster.app.arn}"
desired_count = 1
launch_type = "FARGATE"
task_definition = "${ecs_task_definition.app.arn}"
network_configuration = { subnets = ["${subnet.a.id}"], security_groups = ["${security_group.web.id}"] }
"#;

#[tokio::test]
async fn watch_once_reports_out_of_band_changes_corrects_them_and_then_reports_none() {
    let emu = Emulator::start();
    let ws = Workspace::new();
    ws.write("desired/main.toml", DRIFT);
    reconcile(&emu, &ws, &["apply", "--auto-approve"]).expect_success();
    let first = support::watch_cycle(reconcile(&emu, &ws, &["watch", "--once"]).expect_success());
    assert_eq!(first["stack"], "drift");
    assert!(strings(&first["drifted"]).is_empty(), "{first}");

    // Out of band: an SG rule added, a tag changed, a subnet deleted, the
    // service scaled.
    let conf = sdk_config(&emu).await;
    let c = ec2(&emu).await;
    let sg = ws.id("security_group.web");
    c.authorize_security_group_ingress()
        .group_id(&sg)
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(22)
                .to_port(22)
                .ip_ranges(IpRange::builder().cidr_ip("10.0.0.0/8").build())
                .build(),
        )
        .send()
        .await
        .unwrap();
    c.create_tags()
        .resources(ws.id("vpc.main"))
        .tags(Tag::builder().key("Team").value("someone-else").build())
        .send()
        .await
        .unwrap();
    c.delete_subnet()
        .subnet_id(ws.id("subnet.b"))
        .send()
        .await
        .unwrap();
    let ecs = aws_sdk_ecs::Client::new(&conf);
    ecs.update_service()
        .cluster(ws.id("ecs_cluster.app"))
        .service(ws.id("ecs_service.app"))
        .desired_count(3)
        .send()
        .await
        .unwrap();

    // --refresh-only shows what changed per resource, and records it
    // without writing to AWS.
    let run = reconcile(
        &emu,
        &ws,
        &["plan", "--refresh-only", "--detailed-exitcode"],
    );
    run.expect_code(2);
    for expected in [
        "# subnet.b has been deleted",
        "# vpc.main has changed",
        "# security_group.web has changed",
        "# ecs_service.app has changed",
        "desired_count: 1 -> 3",
    ] {
        assert!(run.stdout.contains(expected), "{expected}\n{run}");
    }
    let serial = ws.state()["serial"].as_u64().unwrap();
    reconcile(&emu, &ws, &["apply", "--refresh-only", "--auto-approve"]).expect_success();
    let recorded = ws.state();
    assert!(recorded["serial"].as_u64().unwrap() > serial);
    assert!(recorded["resources"].get("subnet.b").is_none());
    assert_eq!(
        recorded["resources"]["vpc.main"]["attributes"]["tags"]["Team"],
        "someone-else"
    );
    assert_eq!(
        recorded["resources"]["ecs_service.app"]["attributes"]["desired_count"],
        3
    );
    reconcile(
        &emu,
        &ws,
        &["plan", "--refresh-only", "--detailed-exitcode"],
    )
    .expect_code(0);

    // watch reports each drifted resource and exits 2...
    let run = reconcile(&emu, &ws, &["watch", "--once"]);
    run.expect_code(2);
    let report = support::watch_cycle(&run);
    let drifted = strings(&report["drifted"]);
    for a in [
        "ecs_service.app",
        "security_group.web",
        "subnet.b",
        "vpc.main",
    ] {
        assert!(drifted.contains(&a.to_owned()), "{a} missing\n{run}");
    }
    assert!(report["actions"].as_array().unwrap().is_empty(), "{run}");
    assert!(report["duration_ms"].as_u64().is_some(), "{run}");

    // ...corrects them with --correct (still 2: drift was found)...
    let run = reconcile(&emu, &ws, &["watch", "--once", "--correct"]);
    run.expect_code(2);
    println!("watch --once --correct: {}", run.stdout.trim());
    let report = support::watch_cycle(&run);
    assert_eq!(report["errors"].as_array().unwrap().len(), 0, "{run}");
    let acted: Vec<String> = report["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["address"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(acted, drifted, "{run}");

    // ...and the next cycle finds nothing.
    let run = reconcile(&emu, &ws, &["watch", "--once"]);
    run.expect_code(0);
    assert!(
        strings(&support::watch_cycle(&run)["drifted"]).is_empty(),
        "{run}"
    );
    let group = c
        .describe_security_groups()
        .group_ids(&sg)
        .send()
        .await
        .unwrap();
    let ports: Vec<i32> = group.security_groups()[0]
        .ip_permissions()
        .iter()
        .filter_map(aws_sdk_ec2::types::IpPermission::from_port)
        .collect();
    assert_eq!(ports, vec![80]);
    let svc = ecs
        .describe_services()
        .cluster(ws.id("ecs_cluster.app"))
        .services(ws.id("ecs_service.app"))
        .send()
        .await
        .unwrap();
    assert_eq!(svc.services()[0].desired_count(), 1);
    let subnets = c
        .describe_subnets()
        .subnet_ids(ws.id("subnet.b"))
        .send()
        .await
        .unwrap();
    assert_eq!(subnets.subnets().len(), 1);
}

const ONE_VPC: &str = r#"
[stack]
name = "ops"
region = "us-east-1"

[variables.owner]
type = "string"
sensitive = true

[vpc.main]
cidr_block = "10.30.0.0/16"
tags = { Name = "main", Owner = "${var.owner}" }
"#;

const SECRET: &str = "hunter2-do-not-leak";

#[tokio::test]
async fn watch_with_an_interval_runs_cycles_until_sigterm() {
    let emu = Emulator::start();
    let ws = Workspace::new();
    ws.write("desired/main.toml", ONE_VPC);
    let owner = format!("owner={SECRET}");
    reconcile(&emu, &ws, &["apply", "--auto-approve", "--var", &owner]).expect_success();
    let env = [("RECONCILE_VAR_owner", SECRET)];
    let mut child = command(Some(&emu), &ws, &["watch", "--interval", "1s"], &env)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let started = Instant::now();
    let mut cycles = Vec::new();
    while cycles.len() < 2 {
        assert!(started.elapsed() < Duration::from_secs(90), "too slow");
        let line = lines.next().expect("a line per cycle").unwrap();
        cycles.push(serde_json::from_str::<serde_json::Value>(&line).unwrap());
    }
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "exits cleanly on SIGTERM");
    for c in &cycles {
        assert_eq!(c["stack"], "ops");
        assert!(strings(&c["drifted"]).is_empty(), "{c}");
        assert!(c["errors"].as_array().unwrap().is_empty(), "{c}");
        assert!(c["time"].as_str().is_some() && c["duration_ms"].is_u64());
    }
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    for line in rest {
        serde_json::from_str::<serde_json::Value>(&line).unwrap();
    }
}

#[test]
fn a_failing_watch_cycle_is_reported_and_the_loop_goes_on_until_sigterm() {
    let ws = Workspace::new();
    ws.write("desired/main.toml", "[stack]\nname = \"broken\"\n");
    let mut child = command(None, &ws, &["watch", "--interval", "1s"], &[])
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let started = Instant::now();
    for _ in 0..2 {
        let line = lines.next().expect("a line per cycle").unwrap();
        let c: serde_json::Value = serde_json::from_str(&line).unwrap();
        let errors = strings(&c["errors"]);
        assert!(errors[0].contains("missing required field `region`"), "{c}");
    }
    // The second cycle waited twice the interval: backoff.
    assert!(started.elapsed() >= Duration::from_secs(2));
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

#[tokio::test]
async fn a_saved_plan_applies_and_is_refused_once_the_state_or_the_files_changed() {
    let emu = Emulator::start();
    let ws = Workspace::new();
    ws.write("desired/main.toml", ONE_VPC);
    let owner = format!("owner={SECRET}");
    let with = |args: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
        v.extend(["--var".to_owned(), owner.clone()]);
        v
    };
    let run_with = |args: &[&str]| {
        let v = with(args);
        let refs: Vec<&str> = v.iter().map(String::as_str).collect();
        reconcile(&emu, &ws, &refs)
    };

    let run = run_with(&["plan", "--out", "first.plan"]);
    run.expect_success();
    let saved = ws.read("first.plan");
    assert!(!saved.contains(SECRET), "the saved plan leaks the secret");
    assert!(!run.stdout.contains(SECRET));
    let run = run_with(&["apply", "first.plan"]);
    run.expect_success();
    assert!(
        run.stdout.contains("Apply complete! Resources: 1 added"),
        "{run}"
    );
    let vpc = ws.id("vpc.main");
    let found = ec2(&emu)
        .await
        .describe_vpcs()
        .vpc_ids(&vpc)
        .send()
        .await
        .unwrap();
    assert_eq!(found.vpcs()[0].cidr_block(), Some("10.30.0.0/16"));
    // Applied once; applying it again is refused: the state moved on.
    run_with(&["apply", "first.plan"]).expect_code(1);

    // Someone else applies after the plan was saved: refused, nothing done.
    ws.write(
        "desired/main.toml",
        &ONE_VPC.replace("Name = \"main\"", "Name = \"v2\""),
    );
    run_with(&["plan", "--out", "second.plan"]).expect_success();
    run_with(&["apply", "--auto-approve"]).expect_success();
    let serial = ws.state()["serial"].clone();
    let run = run_with(&["apply", "second.plan"]);
    run.expect_code(1);
    assert!(run.stderr.contains("stale"), "{run}");
    assert!(run.stderr.contains("someone else applied"), "{run}");
    assert_eq!(ws.state()["serial"], serial, "nothing written");

    // The desired files change after the plan was saved: refused too.
    ws.write(
        "desired/main.toml",
        &ONE_VPC.replace("Name = \"main\"", "Name = \"v3\""),
    );
    run_with(&["plan", "--out", "third.plan"]).expect_success();
    ws.write(
        "desired/main.toml",
        &ONE_VPC.replace("Name = \"main\"", "Name = \"v4\""),
    );
    let run = run_with(&["apply", "third.plan"]);
    run.expect_code(1);
    assert!(
        run.stderr
            .contains("desired files or variable values changed"),
        "{run}"
    );
    // Another variable value is another input as well.
    ws.write(
        "desired/main.toml",
        &ONE_VPC.replace("Name = \"main\"", "Name = \"v3\""),
    );
    let run = reconcile(&emu, &ws, &["apply", "third.plan", "--var", "owner=other"]);
    run.expect_code(1);
    assert!(run.stderr.contains("changed since it was made"), "{run}");
    run_with(&["apply", "third.plan"]).expect_success();
    for f in ["state/test.json", "state/test.json.backup"] {
        assert!(!ws.read(f).contains(SECRET), "{f} leaks the secret");
    }
    // The state holds a fingerprint: drift in it is still noticed, and
    // `state show` masks it.
    run_with(&["plan", "--refresh-only", "--detailed-exitcode"]).expect_code(0);
    let run = run_with(&["state", "show", "vpc.main"]);
    run.expect_success();
    assert!(run.stdout.contains("tags = (sensitive value)"), "{run}");
    assert!(!run.stdout.contains(SECRET), "{run}");
    ec2(&emu)
        .await
        .create_tags()
        .resources(&vpc)
        .tags(Tag::builder().key("Owner").value("intruder").build())
        .send()
        .await
        .unwrap();
    let run = run_with(&["plan", "--refresh-only", "--detailed-exitcode"]);
    run.expect_code(2);
    assert!(run.stdout.contains("# vpc.main has changed"), "{run}");
    assert!(
        !run.stdout.contains("intruder") && !run.stdout.contains(SECRET),
        "{run}"
    );
}

#[tokio::test]
async fn a_saved_plan_stores_no_lookups_reads_them_again_and_is_refused_once_one_changed() {
    let emu = Emulator::start();
    let ws = Workspace::new();
    let ssm = aws_sdk_ssm::Client::new(&sdk_config(&emu).await);
    let put = |value: &'static str| {
        ssm.put_parameter()
            .name("/app/token")
            .value(value)
            .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
            .overwrite(true)
            .send()
    };
    put("lookup-secret-1").await.unwrap();
    ws.write(
        "desired/main.toml",
        r#"
[stack]
name = "look"
region = "us-east-1"

[lookups.token]
type = "ssm_parameter"
name = "/app/token"

[vpc.main]
cidr_block = "10.35.0.0/16"
tags = { Token = "${lookups.token.value}" }
"#,
    );
    reconcile(&emu, &ws, &["plan", "--out", "a.plan"]).expect_success();
    // The lookups themselves are not stored (attributes resolved from them
    // are, like any value not marked sensitive).
    let saved: serde_json::Value = serde_json::from_str(&ws.read("a.plan")).unwrap();
    assert_eq!(saved["plan"]["lookups"], serde_json::json!({}));
    assert!(saved["lookups_fingerprint"].as_str().unwrap().len() == 64);
    reconcile(&emu, &ws, &["plan", "--out", "b.plan"]).expect_success();
    let run = reconcile(&emu, &ws, &["apply", "a.plan"]);
    run.expect_success();
    let vpc = ws.id("vpc.main");
    let found = ec2(&emu).await.describe_vpcs().vpc_ids(&vpc).send().await;
    let tags = found.unwrap().vpcs()[0].tags().to_vec();
    assert!(
        tags.iter()
            .any(|t| t.key() == Some("Token") && t.value() == Some("lookup-secret-1")),
        "the lookup was read again at apply: {tags:?}"
    );
    // A plan made before the value changed is refused afterwards.
    std::fs::remove_file(ws.state_path()).unwrap();
    put("lookup-secret-2").await.unwrap();
    let run = reconcile(&emu, &ws, &["apply", "b.plan"]);
    run.expect_code(1);
    assert!(run.stderr.contains("a lookup's value changed"), "{run}");
}

const TWO_SUBNETS: &str = r#"
[stack]
name = "tgt"
region = "us-east-1"

[vpc.main]
cidr_block = "10.40.0.0/16"

[subnet.a]
vpc_id = "${vpc.main.id}"
cidr_block = "10.40.1.0/24"

[subnet.b]
vpc_id = "${vpc.main.id}"
cidr_block = "10.40.2.0/24"
"#;

#[tokio::test]
async fn target_limits_a_run_to_a_resource_and_its_dependencies_and_replace_forces_a_new_one() {
    let emu = Emulator::start();
    let ws = Workspace::new();
    ws.write("desired/main.toml", TWO_SUBNETS);
    let run = reconcile(
        &emu,
        &ws,
        &["apply", "--auto-approve", "--target", "subnet.a"],
    );
    run.expect_success();
    assert!(run.stdout.contains("Plan: 2 to add"), "{run}");
    let s = ws.state();
    assert!(s["resources"].get("subnet.b").is_none(), "{run}");
    assert!(s["resources"].get("vpc.main").is_some());
    reconcile(&emu, &ws, &["plan", "--target", "subnet.x"]).expect_code(1);
    reconcile(&emu, &ws, &["apply", "--auto-approve"]).expect_success();

    let old = ws.id("subnet.b");
    let run = reconcile(
        &emu,
        &ws,
        &["apply", "--auto-approve", "--replace", "subnet.b"],
    );
    run.expect_success();
    assert!(
        run.stdout.contains("replacement requested with --replace"),
        "{run}"
    );
    assert!(
        run.stdout
            .contains("Plan: 1 to add, 0 to change, 1 to destroy."),
        "{run}"
    );
    assert_ne!(ws.id("subnet.b"), old);

    // Destroying the VPC takes what depends on it along, and nothing else
    // is left behind by accident: here that is everything.
    let run = reconcile(
        &emu,
        &ws,
        &["destroy", "--auto-approve", "--target", "subnet.a"],
    );
    run.expect_success();
    assert!(
        run.stdout
            .contains("Plan: 0 to add, 0 to change, 1 to destroy."),
        "{run}"
    );
    let run = reconcile(
        &emu,
        &ws,
        &["destroy", "--auto-approve", "--target", "vpc.main"],
    );
    run.expect_success();
    assert!(
        run.stdout
            .contains("Plan: 0 to add, 0 to change, 2 to destroy."),
        "{run}"
    );
    assert!(ws.state()["resources"].as_object().unwrap().is_empty());
}

#[tokio::test]
async fn import_adopts_sdk_made_resources_and_state_rm_mv_round_trip_without_api_writes() {
    let emu = Emulator::start();
    let ws = Workspace::new();
    let c = ec2(&emu).await;
    let vpc = c
        .create_vpc()
        .cidr_block("10.50.0.0/16")
        .send()
        .await
        .unwrap()
        .vpc
        .unwrap()
        .vpc_id
        .unwrap();
    c.create_tags()
        .resources(&vpc)
        .tags(Tag::builder().key("Name").value("legacy").build())
        .send()
        .await
        .unwrap();
    let sg = c
        .create_security_group()
        .group_name("legacy-web")
        .description("web")
        .vpc_id(&vpc)
        .send()
        .await
        .unwrap()
        .group_id
        .unwrap();
    c.authorize_security_group_ingress()
        .group_id(&sg)
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(443)
                .to_port(443)
                .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
                .build(),
        )
        .send()
        .await
        .unwrap();
    // The desired state differs from what exists in one field only: a tag.
    let desired = r#"
[stack]
name = "imp"
region = "us-east-1"

[vpc.main]
cidr_block = "10.50.0.0/16"
tags = { Name = "legacy", Env = "prod" }

[security_group.web]
name = "legacy-web"
vpc_id = "${vpc.main.id}"
description = "web"
ingress = [{ protocol = "tcp", from_port = 443, to_port = 443, cidr_blocks = ["0.0.0.0/0"] }]
egress = [{ protocol = "-1", cidr_blocks = ["0.0.0.0/0"] }]
"#;
    ws.write("desired/main.toml", desired);
    let run = reconcile(&emu, &ws, &["import", "vpc.other", &vpc]);
    run.expect_code(1);
    assert!(run.stderr.contains("not in the desired state"), "{run}");
    let run = reconcile(&emu, &ws, &["import", "vpc.main", "vpc-00000000000000000"]);
    run.expect_code(1);
    assert!(run.stderr.contains("no vpc with id"), "{run}");
    reconcile(&emu, &ws, &["import", "vpc.main", &vpc]).expect_success();
    reconcile(&emu, &ws, &["import", "security_group.web", &sg]).expect_success();
    let run = reconcile(&emu, &ws, &["import", "vpc.main", &vpc]);
    run.expect_code(1);
    assert!(run.stderr.contains("already managed"), "{run}");

    let run = reconcile(&emu, &ws, &["plan", "--detailed-exitcode"]);
    run.expect_code(2);
    assert!(
        run.stdout
            .contains("Plan: 0 to add, 1 to change, 0 to destroy."),
        "{run}"
    );
    assert!(
        run.stdout.contains("# vpc.main will be updated in place"),
        "{run}"
    );
    assert!(run.stdout.contains("Env"), "{run}");
    assert!(!run.stdout.contains("# security_group.web"), "{run}");
    reconcile(&emu, &ws, &["apply", "--auto-approve"]).expect_success();
    reconcile(&emu, &ws, &["plan", "--detailed-exitcode"]).expect_code(0);

    let run = reconcile(&emu, &ws, &["state", "list"]);
    run.expect_success();
    assert_eq!(run.stdout, "security_group.web\nvpc.main\n");
    let run = reconcile(&emu, &ws, &["state", "show", "security_group.web"]);
    run.expect_success();
    assert!(run.stdout.contains(&format!("id = \"{sg}\"")), "{run}");

    // rm forgets without deleting; import brings it back as it was.
    let before = ws.state()["resources"]["security_group.web"].clone();
    reconcile(&emu, &ws, &["state", "rm", "security_group.web"]).expect_success();
    assert!(ws.state()["resources"].get("security_group.web").is_none());
    let still = c.describe_security_groups().group_ids(&sg).send().await;
    assert_eq!(still.unwrap().security_groups().len(), 1);
    reconcile(&emu, &ws, &["import", "security_group.web", &sg]).expect_success();
    let after = ws.state()["resources"]["security_group.web"].clone();
    assert_eq!(after["id"], before["id"]);
    assert_eq!(after["attributes"], before["attributes"]);
    reconcile(&emu, &ws, &["plan", "--detailed-exitcode"]).expect_code(0);

    // mv renames with no request at all to AWS, and the renamed desired
    // state then plans clean.
    let served = requests(&emu);
    reconcile(&emu, &ws, &["state", "mv", "vpc.main", "vpc.core"]).expect_success();
    assert_eq!(requests(&emu), served, "state mv made API requests");
    assert_eq!(
        ws.state()["resources"]["security_group.web"]["dependencies"],
        serde_json::json!(["vpc.core"])
    );
    ws.write(
        "desired/main.toml",
        &desired.replace("vpc.main", "vpc.core"),
    );
    let run = reconcile(&emu, &ws, &["plan", "--detailed-exitcode"]);
    run.expect_code(0);
    assert!(requests(&emu) > served, "the request count is observable");
}

#[tokio::test]
async fn lifecycle_prevent_destroy_ignore_changes_and_retain_against_the_emulator() {
    let emu = Emulator::start();
    let ws = Workspace::new();
    let desired = r#"
[stack]
name = "life"
region = "us-east-1"

[vpc.main]
cidr_block = "10.60.0.0/16"
enable_dns_support = true
tags = { Name = "main" }
lifecycle = { prevent_destroy = true, ignore_changes = ["tags"] }

[subnet.kept]
vpc_id = "${vpc.main.id}"
cidr_block = "10.60.1.0/24"
lifecycle = { deletion_policy = "retain" }
"#;
    ws.write("desired/main.toml", desired);
    reconcile(&emu, &ws, &["apply", "--auto-approve"]).expect_success();
    let c = ec2(&emu).await;
    let vpc = ws.id("vpc.main");

    // prevent_destroy: neither destroy nor a replacement may touch it.
    let run = reconcile(&emu, &ws, &["destroy", "--auto-approve"]);
    run.expect_code(1);
    assert!(run.stderr.contains("prevent_destroy"), "{run}");
    ws.write(
        "desired/main.toml",
        &desired.replace("10.60.0.0/16", "10.61.0.0/16"),
    );
    let run = reconcile(&emu, &ws, &["plan"]);
    run.expect_code(1);
    assert!(run.stderr.contains("would replace it"), "{run}");
    ws.write("desired/main.toml", desired);

    // ignore_changes: drift in tags is hidden, drift elsewhere is not.
    c.create_tags()
        .resources(&vpc)
        .tags(Tag::builder().key("Name").value("renamed").build())
        .send()
        .await
        .unwrap();
    reconcile(&emu, &ws, &["plan", "--detailed-exitcode"]).expect_code(0);
    c.modify_vpc_attribute()
        .vpc_id(&vpc)
        .enable_dns_support(
            aws_sdk_ec2::types::AttributeBooleanValue::builder()
                .value(false)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let run = reconcile(&emu, &ws, &["plan", "--detailed-exitcode"]);
    run.expect_code(2);
    assert!(run.stdout.contains("enable_dns_support"), "{run}");
    assert!(!run.stdout.contains("renamed"), "{run}");

    // retain: removed from the desired state, it leaves the state and
    // stays in AWS.
    let subnet = ws.id("subnet.kept");
    let without = desired.split("[subnet.kept]").next().unwrap().to_owned();
    ws.write("desired/main.toml", &without);
    let run = reconcile(&emu, &ws, &["apply", "--auto-approve"]);
    run.expect_success();
    assert!(run.stdout.contains("left in AWS"), "{run}");
    assert!(ws.state()["resources"].get("subnet.kept").is_none());
    let found = c
        .describe_subnets()
        .subnet_ids(&subnet)
        .send()
        .await
        .unwrap();
    assert_eq!(found.subnets().len(), 1);
}

#[test]
fn graph_prints_dot_and_asks_for_graphviz_only_when_rendering() {
    let ws = Workspace::new();
    ws.write("desired/main.toml", TWO_SUBNETS);
    let run = reconcile_in(None, &ws, &["graph"]);
    run.expect_success();
    assert!(run.stdout.starts_with("digraph {"), "{run}");
    for a in ["vpc.main", "subnet.a", "subnet.b"] {
        assert!(run.stdout.contains(&format!("label = \"{a}\"")), "{run}");
    }
    assert_eq!(run.stdout.matches(" -> ").count(), 2, "{run}");
    let has_dot = std::process::Command::new("dot").arg("-V").output().is_ok();
    let run = reconcile_in(None, &ws, &["graph", "--format", "svg"]);
    if has_dot {
        run.expect_success();
        assert!(run.stdout.contains("<svg"), "{run}");
    } else {
        run.expect_code(1);
        assert!(run.stderr.contains("Graphviz"), "{run}");
    }
}

const BACKEND: &str = r#"
[backend]
type = "s3"
bucket = "team-state"
key = "stacks/tgt.json"
region = "us-east-1"
"#;

#[tokio::test]
async fn s3_backend_lets_one_of_two_simultaneous_applies_run_keeps_every_serial_and_force_unlock_breaks_a_stale_lock()
 {
    use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};
    let emu = Emulator::start();
    let ws = Workspace::new();
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk_config(&emu).await)
            .force_path_style(true)
            .build(),
    );
    s3.create_bucket()
        .bucket("team-state")
        .send()
        .await
        .unwrap();
    s3.put_bucket_versioning()
        .bucket("team-state")
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .unwrap();
    ws.write("desired/main.toml", &format!("{TWO_SUBNETS}{BACKEND}"));

    // Two hosts run the same cron job at the same moment.
    let args = ["apply", "--auto-approve"];
    let first = command_without_state(Some(&emu), &ws, &args)
        .spawn()
        .unwrap();
    let second = command_without_state(Some(&emu), &ws, &args)
        .spawn()
        .unwrap();
    let runs = [wait_child(first, &args), wait_child(second, &args)];
    let won: Vec<&Run> = runs.iter().filter(|r| r.code == 0).collect();
    let lost: Vec<&Run> = runs.iter().filter(|r| r.code != 0).collect();
    assert_eq!((won.len(), lost.len()), (1, 1), "{}\n{}", runs[0], runs[1]);
    assert_eq!(lost[0].code, 1, "{}", lost[0]);
    println!("the apply that lost the lock: {}", lost[0].stderr.trim());
    assert!(
        lost[0]
            .stderr
            .contains("s3://team-state/stacks/tgt.json is locked by another reconcile: pid"),
        "{}",
        lost[0]
    );
    assert!(
        won[0].stdout.contains("Apply complete! Resources: 3 added"),
        "{}",
        won[0]
    );
    assert!(
        !ws.state_path().exists(),
        "no local state with an S3 backend"
    );
    let plan = ["plan", "--detailed-exitcode"];
    run_command(command_without_state(Some(&emu), &ws, &plan), &plan).expect_code(0);

    // Every write is a version; serials strictly increase.
    let versions = s3
        .list_object_versions()
        .bucket("team-state")
        .prefix("stacks/tgt.json")
        .send()
        .await
        .unwrap();
    let mut serials = Vec::new();
    let mut latest = None;
    for v in versions.versions() {
        if v.key() != Some("stacks/tgt.json") {
            continue;
        }
        let body = s3
            .get_object()
            .bucket("team-state")
            .key("stacks/tgt.json")
            .version_id(v.version_id().unwrap())
            .send()
            .await
            .unwrap()
            .body
            .collect()
            .await
            .unwrap()
            .into_bytes();
        let st: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let serial = st["serial"].as_u64().unwrap();
        if v.is_latest() == Some(true) {
            latest = Some(serial);
        }
        serials.push(serial);
    }
    // Listed newest first.
    serials.reverse();
    assert!(serials.len() >= 4, "{serials:?}");
    assert!(serials.windows(2).all(|w| w[0] < w[1]), "{serials:?}");
    assert_eq!(latest, serials.last().copied());

    // A lock left by a host that died: reported with its holder, broken
    // only with its id.
    let holder = r#"{"id":"stale-lock-1","pid":4242,"host":"gone-host","since":"2026-01-01T00:00:00Z","command":"reconcile apply"}"#;
    s3.put_object()
        .bucket("team-state")
        .key("stacks/tgt.json.lock")
        .body(holder.as_bytes().to_vec().into())
        .send()
        .await
        .unwrap();
    let run = run_command(command_without_state(Some(&emu), &ws, &plan), &plan);
    run.expect_code(1);
    assert!(run.stderr.contains("pid 4242 on host gone-host"), "{run}");
    assert!(
        run.stderr.contains("reconcile force-unlock stale-lock-1"),
        "{run}"
    );
    let wrong = ["force-unlock", "another-id"];
    let run = run_command(command_without_state(Some(&emu), &ws, &wrong), &wrong);
    run.expect_code(1);
    assert!(run.stderr.contains("does not match"), "{run}");
    let unlock = ["force-unlock", "stale-lock-1"];
    run_command(command_without_state(Some(&emu), &ws, &unlock), &unlock).expect_success();
    run_command(command_without_state(Some(&emu), &ws, &plan), &plan).expect_code(0);
    let lock = s3
        .head_object()
        .bucket("team-state")
        .key("stacks/tgt.json.lock")
        .send()
        .await;
    assert!(lock.is_err(), "the lock is released after each run");

    // A writer that bypassed the lock changed the object: a save over it
    // is refused (If-Match on the ETag read), and nothing is overwritten.
    use reconcile::state::Store;
    let backend = reconcile::config::Backend {
        bucket: "team-state".into(),
        key: "stacks/tgt.json".into(),
        region: "us-east-1".into(),
        assume_role: None,
    };
    let store = reconcile::state::s3::S3Store::open(s3.clone(), &backend)
        .await
        .unwrap();
    let mut mine = store.load().await.unwrap().unwrap();
    let mut theirs = mine.clone();
    theirs.serial += 1;
    theirs
        .outputs
        .insert("by".into(), reconcile::value::Value::str("other"));
    s3.put_object()
        .bucket("team-state")
        .key("stacks/tgt.json")
        .body(serde_json::to_vec(&theirs).unwrap().into())
        .send()
        .await
        .unwrap();
    let err = store.save(&mut mine).await.unwrap_err().to_string();
    assert!(err.contains("someone else wrote it"), "{err}");
    let now = reconcile::state::s3::read(&s3, &backend)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(now, theirs);
    store.unlock().await.unwrap();
}
