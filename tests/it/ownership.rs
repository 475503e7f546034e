//! Drift correction that shares ownership: what an autoscaler, ECS managed
//! scaling or a CI deploy (a persisted variable) changes is not drift;
//! what a person changes by hand still is.

use crate::support;

use aws_sdk_ec2::types::{IpPermission, IpRange};
use support::{Emulator, Run, Workspace, ec2, reconcile, reconcile_env, reconcile_in, sdk_config};

fn plan_json(run: &Run) -> serde_json::Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("not JSON ({e})\n{run}"))
}

fn change<'a>(plan: &'a serde_json::Value, address: &str) -> &'a serde_json::Value {
    plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["address"] == address)
        .unwrap_or_else(|| panic!("{address} not in the plan: {plan}"))
}

async fn service_count(emu: &Emulator, cluster: &str, service: &str) -> i32 {
    let ecs = aws_sdk_ecs::Client::new(&sdk_config(emu).await);
    let found = ecs
        .describe_services()
        .cluster(cluster)
        .services(service)
        .send()
        .await
        .unwrap();
    found.services()[0].desired_count()
}

async fn set_service_count(emu: &Emulator, cluster: &str, service: &str, count: i32) {
    let ecs = aws_sdk_ecs::Client::new(&sdk_config(emu).await);
    ecs.update_service()
        .cluster(cluster)
        .service(service)
        .desired_count(count)
        .send()
        .await
        .unwrap();
}

const WEBSITE: &str = "module.website.ecs_service.main";
const WEBSITE_TARGET: &str = "module.website.appautoscaling_target.main";
const HOSTS: &str = "module.cluster.autoscaling_group.hosts";
const HOSTS_SG: &str = "module.security_groups.security_group.ecs_hosts";

#[tokio::test]
async fn watch_correct_keeps_scale_outs_and_a_ci_deploy_and_closes_a_port_opened_by_hand() {
    let emu = Emulator::start();
    let ws = Workspace::new();
    ws.copy_example("refarch");
    reconcile(&emu, &ws, &["apply", "--auto-approve"]).expect_success();
    let conf = sdk_config(&emu).await;
    let (cluster, website) = ("refarch", ws.id(WEBSITE));
    assert_eq!(service_count(&emu, cluster, &website).await, 2);

    // The autoscaler scales the website out (its range is 2..4), and ECS
    // managed scaling grows the host group to its maximum.
    set_service_count(&emu, cluster, &website, 3).await;
    let asg = aws_sdk_autoscaling::Client::new(&conf);
    let group = ws.id(HOSTS);
    let described = asg
        .describe_auto_scaling_groups()
        .auto_scaling_group_names(&group)
        .send()
        .await
        .unwrap();
    let max = described.auto_scaling_groups()[0].max_size().unwrap();
    assert_eq!(max, 4);
    asg.set_desired_capacity()
        .auto_scaling_group_name(&group)
        .desired_capacity(max)
        .send()
        .await
        .unwrap();

    // CI deploys a new image; the deploy leaves the scaled count alone.
    let run = reconcile(
        &emu,
        &ws,
        &[
            "apply",
            "--auto-approve",
            "--var",
            "website_image=nginx:1.28",
        ],
    );
    run.expect_success();
    assert!(
        run.stdout.contains(&format!(
            "# desired_count owned by {WEBSITE_TARGET}, range 2..4 (kept at 3)"
        )),
        "{run}"
    );
    assert_eq!(service_count(&emu, cluster, &website).await, 3);
    let recorded = &ws.state()["variables"]["website_image"];
    assert_eq!(recorded["value"], "nginx:1.28", "{recorded}");
    assert_eq!(recorded["source"], "--var", "{recorded}");
    assert!(recorded["recorded_at"].as_str().is_some(), "{recorded}");
    assert!(ws.state()["variables"].get("product_image").is_none());

    // Someone opens a port by hand.
    let c = ec2(&emu).await;
    let sg = ws.id(HOSTS_SG);
    c.authorize_security_group_ingress()
        .group_id(&sg)
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

    // Cron, with no variables: only the port is drift, and it is closed.
    let run = reconcile(&emu, &ws, &["watch", "--once", "--correct"]);
    run.expect_code(2);
    let report = support::watch_cycle(&run);
    assert_eq!(report["drifted"], serde_json::json!([HOSTS_SG]), "{run}");
    assert_eq!(report["errors"], serde_json::json!([]), "{run}");
    let groups = c
        .describe_security_groups()
        .group_ids(&sg)
        .send()
        .await
        .unwrap();
    let ports: Vec<Option<i32>> = groups.security_groups()[0]
        .ip_permissions()
        .iter()
        .map(aws_sdk_ec2::types::IpPermission::from_port)
        .collect();
    assert!(!ports.contains(&Some(22)), "{ports:?}");
    assert_eq!(service_count(&emu, cluster, &website).await, 3);
    let described = asg
        .describe_auto_scaling_groups()
        .auto_scaling_group_names(&group)
        .send()
        .await
        .unwrap();
    assert_eq!(
        described.auto_scaling_groups()[0].desired_capacity(),
        Some(max)
    );
    let ecs = aws_sdk_ecs::Client::new(&conf);
    let svc = ecs
        .describe_services()
        .cluster(cluster)
        .services(&website)
        .send()
        .await
        .unwrap();
    let task = ecs
        .describe_task_definition()
        .task_definition(svc.services()[0].task_definition().unwrap())
        .send()
        .await
        .unwrap();
    let images: Vec<&str> = task
        .task_definition()
        .unwrap()
        .container_definitions()
        .iter()
        .filter_map(|c| c.image())
        .collect();
    assert_eq!(images, ["nginx:1.28"]);

    // Nothing left to do, and the plan says why the count differs.
    let run = reconcile(&emu, &ws, &["plan", "--detailed-exitcode"]);
    run.expect_code(0);
    assert!(
        run.stdout.contains(&format!(
            "Note: {WEBSITE}: desired_count is 3 in AWS (2 written), kept: desired_count owned by {WEBSITE_TARGET}, range 2..4"
        )),
        "{run}"
    );
    let plan = plan_json(reconcile(&emu, &ws, &["plan", "--json"]).expect_success());
    let owned = &change(&plan, WEBSITE)["owned"][0];
    assert_eq!(owned["field"], "desired_count", "{owned}");
    assert_eq!(owned["owner"], WEBSITE_TARGET, "{owned}");
    assert_eq!(
        (
            &owned["min"],
            &owned["max"],
            &owned["live"],
            &owned["planned"]
        ),
        (
            &serde_json::json!(2),
            &serde_json::json!(4),
            &serde_json::json!(3),
            &serde_json::json!(3)
        ),
        "{owned}"
    );
    let hosts = &change(&plan, HOSTS)["owned"][0];
    assert_eq!(hosts["field"], "desired_capacity", "{hosts}");
    assert_eq!(hosts["owner"], "module.cluster.ecs_capacity_provider.hosts");
    assert_eq!(hosts["planned"], max, "{hosts}");

    // `state show` says who owns the field.
    let run = reconcile(&emu, &ws, &["state", "show", WEBSITE]);
    run.expect_success();
    assert!(
        run.stdout.contains(&format!(
            "desired_count = 3  # desired_count owned by {WEBSITE_TARGET}"
        )),
        "{run}"
    );
    // `vars`: the deploy is persisted, the other image is the default.
    let run = reconcile(&emu, &ws, &["vars"]);
    run.expect_success();
    assert!(
        run.stdout.lines().any(|l| l.starts_with("website_image")
            && l.contains("\"nginx:1.28\"")
            && l.contains("(persisted: --var at ")),
        "{run}"
    );
    assert!(
        run.stdout
            .lines()
            .any(|l| l.starts_with("product_image") && l.contains("(default, persist)")),
        "{run}"
    );
}

/// A small stack: a Fargate service, with or without a scalable target.
fn service_stack(target: bool, desired_count: i64) -> String {
    let mut s = format!(
        r#"
[stack]
name = "owned"
region = "us-east-1"

[vpc.main]
cidr_block = "10.40.0.0/16"

[subnet.a]
vpc_id = "${{vpc.main.id}}"
cidr_block = "10.40.1.0/24"
availability_zone = "us-east-1a"

[security_group.web]
vpc_id = "${{vpc.main.id}}"
description = "web"
egress = [{{ protocol = "-1", cidr_blocks = ["0.0.0.0/0"] }}]

[ecs_cluster.app]

[ecs_task_definition.app]
family = "owned-app"
cpu = "256"
memory = "512"
network_mode = "awsvpc"
requires_compatibilities = ["FARGATE"]
container_definitions = [{{ name = "app", image = "nginx:latest", memory = 512, essential = true }}]

[ecs_service.app]
cluster = "${{ecs_cluster.app.arn}}"
desired_count = {desired_count}
launch_type = "FARGATE"
task_definition = "${{ecs_task_definition.app.arn}}"
network_configuration = {{ subnets = ["${{subnet.a.id}}"], security_groups = ["${{security_group.web.id}}"] }}
"#
    );
    if target {
        s.push_str(
            r#"
[appautoscaling_target.app]
resource_id = "service/${ecs_cluster.app.name}/${ecs_service.app.name}"
min_capacity = 2
max_capacity = 4
"#,
        );
    }
    s
}

#[tokio::test]
async fn a_count_outside_the_scalable_targets_range_is_brought_into_it_and_without_a_target_it_is_drift()
 {
    let emu = Emulator::start();
    let ws = Workspace::new();
    ws.write("desired/main.toml", &service_stack(true, 6));
    // Written outside the range: validate warns (exit 0, one located line).
    let run = reconcile_in(None, &ws, &["validate"]);
    run.expect_success();
    let warnings: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("Warning:"))
        .collect();
    assert_eq!(warnings.len(), 1, "{run}");
    assert!(
        warnings[0].contains("main.toml:31:17: ecs_service.app: `desired_count` = 6 is outside min_capacity..max_capacity (2..4) of appautoscaling_target.app"),
        "{run}"
    );
    // ...and the service is created within it.
    let run = reconcile(&emu, &ws, &["apply", "--auto-approve"]);
    run.expect_success();
    assert!(
        run.stdout
            .contains("# desired_count owned by appautoscaling_target.app, range 2..4 (created with 4, within range)"),
        "{run}"
    );
    let (cluster, service) = (ws.id("ecs_cluster.app"), ws.id("ecs_service.app"));
    assert_eq!(service_count(&emu, &cluster, &service).await, 4);
    ws.write("desired/main.toml", &service_stack(true, 2));
    reconcile(&emu, &ws, &["plan", "--detailed-exitcode"]).expect_code(0);

    // Scaled beyond the maximum by hand: planned back to the maximum.
    set_service_count(&emu, &cluster, &service, 7).await;
    let plan =
        plan_json(reconcile(&emu, &ws, &["plan", "--json", "--detailed-exitcode"]).expect_code(2));
    let c = change(&plan, "ecs_service.app");
    assert_eq!(c["action"], "update", "{c}");
    assert_eq!(
        c["attributes"]["desired_count"],
        serde_json::json!({ "before": 7, "after": 4, "forces_replacement": false }),
        "{c}"
    );
    assert_eq!(plan["summary"]["change"], 1, "{plan}");
    let run = reconcile(&emu, &ws, &["watch", "--once", "--correct"]);
    run.expect_code(2);
    assert_eq!(
        support::watch_cycle(&run)["drifted"],
        serde_json::json!(["ecs_service.app"])
    );
    assert_eq!(service_count(&emu, &cluster, &service).await, 4);
    // Below the minimum: up to the minimum.
    set_service_count(&emu, &cluster, &service, 1).await;
    reconcile(&emu, &ws, &["watch", "--once", "--correct"]).expect_code(2);
    assert_eq!(service_count(&emu, &cluster, &service).await, 2);
    // Within the range: kept.
    set_service_count(&emu, &cluster, &service, 3).await;
    reconcile(&emu, &ws, &["watch", "--once", "--correct"]).expect_code(0);
    assert_eq!(service_count(&emu, &cluster, &service).await, 3);

    // lifecycle.ignore_changes still wins: nothing is planned at all.
    set_service_count(&emu, &cluster, &service, 9).await;
    let ignoring = service_stack(true, 2).replace(
        "network_configuration = {",
        "lifecycle = { ignore_changes = [\"desired_count\"] }\nnetwork_configuration = {",
    );
    ws.write("desired/main.toml", &ignoring);
    reconcile(&emu, &ws, &["plan", "--detailed-exitcode"]).expect_code(0);

    // Without the scalable target the count is the desired state's again:
    // a change by hand is drift, and corrected.
    ws.write("desired/main.toml", &service_stack(false, 2));
    let run = reconcile(&emu, &ws, &["watch", "--once", "--correct"]);
    run.expect_code(2);
    let report = support::watch_cycle(&run);
    let drifted: Vec<&str> = report["drifted"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert!(drifted.contains(&"ecs_service.app"), "{run}");
    assert_eq!(service_count(&emu, &cluster, &service).await, 2);
    reconcile(&emu, &ws, &["plan", "--detailed-exitcode"]).expect_code(0);
}

const PERSISTED: &str = r#"
[stack]
name = "persisted"
region = "us-east-1"

[variables.subnet_cidr]
default = "10.30.1.0/24"
persist = true

[variables.api_token]
sensitive = true
default = "not-shown-0000"

[vpc.main]
cidr_block = "10.30.0.0/16"

[subnet.app]
vpc_id = "${vpc.main.id}"
cidr_block = "${var.subnet_cidr}"
availability_zone = "us-east-1a"
"#;

fn vars_json(emu: &Emulator, ws: &Workspace) -> serde_json::Value {
    let run = reconcile(emu, ws, &["vars", "--json"]);
    run.expect_success();
    let out = plan_json(&run);
    assert!(!run.stdout.contains("not-shown-0000"), "{run}");
    out
}

fn var<'a>(vars: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    vars["variables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == name)
        .unwrap_or_else(|| panic!("{name} not listed: {vars}"))
}

async fn subnet_cidr(emu: &Emulator, ws: &Workspace) -> Option<String> {
    let state = ws.state();
    let subnet = state["resources"]["subnet.app"]["id"].as_str()?;
    let found = ec2(emu)
        .await
        .describe_subnets()
        .subnet_ids(subnet)
        .send()
        .await
        .ok()?;
    found.subnets().first()?.cidr_block().map(str::to_owned)
}

#[tokio::test]
async fn a_persisted_variable_keeps_the_last_successful_apply_and_vars_shows_where_values_come_from()
 {
    let ws = Workspace::new();
    // persist + sensitive: refused, located at `persist`.
    ws.write(
        "desired/main.toml",
        &PERSISTED.replace("sensitive = true\n", "sensitive = true\npersist = true\n"),
    );
    let run = reconcile_in(None, &ws, &["validate"]);
    run.expect_code(1);
    assert!(
        run.stderr.contains("main.toml:12:11: variable `api_token`: `persist = true` cannot be combined with `sensitive = true`"),
        "{run}"
    );

    let emu = Emulator::start();
    ws.write("desired/main.toml", PERSISTED);
    let token = [("RECONCILE_VAR_api_token", "not-shown-1111")];
    reconcile(&emu, &ws, &["apply", "--auto-approve"]).expect_success();
    // A default is not recorded: a later change of the default applies.
    assert!(ws.state().get("variables").is_none(), "{}", ws.state());
    let vars = vars_json(&emu, &ws);
    assert_eq!(var(&vars, "subnet_cidr")["source"], "default", "{vars}");
    assert_eq!(var(&vars, "subnet_cidr")["value"], "10.30.1.0/24");
    assert_eq!(var(&vars, "api_token")["value"], "(sensitive value)");

    // A deploy with a value: recorded after the apply succeeded.
    reconcile(
        &emu,
        &ws,
        &[
            "apply",
            "--auto-approve",
            "--var",
            "subnet_cidr=10.30.2.0/24",
        ],
    )
    .expect_success();
    assert_eq!(
        subnet_cidr(&emu, &ws).await.as_deref(),
        Some("10.30.2.0/24")
    );
    assert_eq!(
        ws.state()["variables"]["subnet_cidr"]["value"],
        "10.30.2.0/24"
    );
    // Later runs without a value use it.
    reconcile(&emu, &ws, &["plan", "--detailed-exitcode"]).expect_code(0);
    let run = reconcile_env(Some(&emu), &ws, &["vars"], &token);
    run.expect_success();
    assert!(!run.stdout.contains("not-shown"), "{run}");
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(
        lines.iter().any(|l| l.starts_with("api_token")
            && l.contains("(sensitive value)  (given: RECONCILE_VAR_)")),
        "{run}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("subnet_cidr")
            && l.contains("\"10.30.2.0/24\"  (persisted: --var at ")),
        "{run}"
    );

    // A saved plan made before the persisted value changes is stale.
    reconcile(&emu, &ws, &["plan", "--out", "before.plan"]).expect_success();
    reconcile(
        &emu,
        &ws,
        &[
            "apply",
            "--auto-approve",
            "--var",
            "subnet_cidr=10.30.3.0/24",
        ],
    )
    .expect_success();
    let run = reconcile(&emu, &ws, &["apply", "before.plan"]);
    run.expect_code(1);
    assert!(
        run.stderr.contains("stale") || run.stderr.contains("changed since"),
        "{run}"
    );
    assert_eq!(
        subnet_cidr(&emu, &ws).await.as_deref(),
        Some("10.30.3.0/24")
    );

    // A failed apply (a subnet outside its VPC) records nothing new.
    let run = reconcile(
        &emu,
        &ws,
        &[
            "apply",
            "--auto-approve",
            "--var",
            "subnet_cidr=192.168.9.0/24",
        ],
    );
    run.expect_code(1);
    assert_eq!(
        ws.state()["variables"]["subnet_cidr"]["value"],
        "10.30.3.0/24",
        "{run}"
    );
    let vars = vars_json(&emu, &ws);
    assert_eq!(var(&vars, "subnet_cidr")["value"], "10.30.3.0/24", "{vars}");
    assert_eq!(var(&vars, "subnet_cidr")["source"], "persisted", "{vars}");
    // The next run without a value restores the last successful deploy.
    reconcile(&emu, &ws, &["watch", "--once", "--correct"]).expect_code(2);
    assert_eq!(
        subnet_cidr(&emu, &ws).await.as_deref(),
        Some("10.30.3.0/24")
    );
    reconcile(&emu, &ws, &["plan", "--detailed-exitcode"]).expect_code(0);
    // Nothing secret in the state.
    assert!(!ws.read("state/test.json").contains("not-shown"));
}
