//! The full stacks of seeds 000 (`desired/django`) and 002 + 003
//! (`desired/ec2-cluster`) against the emulator: apply, a clean plan,
//! destroy that leaves nothing but what is meant to stay.

use crate::support;

use std::path::Path;

use support::{Emulator, Run, Workspace, reconcile, reconcile_in, sdk_config, tagged_copies};

fn with(args: &[&str], vars: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
    for v in vars {
        out.push("--var".into());
        out.push((*v).to_owned());
    }
    out
}

fn run(emu: &Emulator, ws: &Workspace, args: &[&str], vars: &[&str]) -> Run {
    let args = with(args, vars);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    reconcile(emu, ws, &args)
}

/// Every file under `dir`, recursively, as text (lossy).
fn files_under(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
            out.push((path.display().to_string(), text));
        }
    }
    out
}

const PASSWORD: &str = "Sup3rS3cretPassw0rd";
const SECRET_KEY: &str = "s3cr3t-k3y-0f-dj4ng0";
const SECRET_KEY_VAR: &str = "secret_key=s3cr3t-k3y-0f-dj4ng0";
const REGISTRY_AUTH: &str = r#"{"registry.example.com":{"auth":"c2VjcmV0OnBhc3M="}}"#;

#[tokio::test]
async fn the_django_stack_of_seed_000_runs_keeps_its_secrets_snapshots_and_retains() {
    let emu = Emulator::start();
    let ws = Workspace::new();
    ws.copy_example("django");
    let base = [SECRET_KEY_VAR, "domain_name=shop.example.com"];
    let password = format!("db_password={PASSWORD}");

    // Variable rules are checked before any AWS call (no emulator here).
    for (bad, rule) in [
        ("db_user=1app", "pattern"),
        ("db_password=Tiny9", "minimum length 10"),
        ("db_class=db.m5.large", "allowed"),
    ] {
        let mut vars = vec![bad];
        vars.extend(base);
        if !bad.starts_with("db_password") {
            vars.push(&password);
        }
        let args = with(&["validate"], &vars);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let r = reconcile_in(None, &ws, &args);
        r.expect_code(1);
        let name = bad.split('=').next().unwrap();
        assert!(
            r.stderr.contains(name) && r.stderr.contains(rule),
            "{bad}: {r}"
        );
        assert!(
            !r.stderr.contains("Tiny9") || !bad.starts_with("db_password"),
            "the value is shown: {r}"
        );
    }

    let mut vars = base.to_vec();
    vars.push(&password);
    // Without an app revision, no task definition and no service.
    let plan = run(&emu, &ws, &["plan", "--json"], &vars);
    plan.expect_success();
    assert!(!plan.stdout.contains("ecs_service.web"), "{plan}");
    vars.push("app_revision=v1");
    let apply = run(&emu, &ws, &["apply", "--auto-approve"], &vars);
    apply.expect_success();
    let plan_text = run(&emu, &ws, &["plan", "--detailed-exitcode"], &vars);
    plan_text.expect_code(0);
    let plan_json = run(&emu, &ws, &["plan", "--json"], &vars);
    plan_json.expect_success();
    let resources = ws.state()["resources"].as_object().unwrap().len();
    eprintln!("django: {resources} resources");
    // Each exists once, found by its tag in every service.
    let copies = tagged_copies(&emu).await;
    for address in [
        "autoscaling_group.container_instances",
        "cloudfront_distribution.assets",
        "db_instance.postgres",
        "iam_role.container_instance",
        "launch_template.container_instance",
        "log_group.web",
        "s3_bucket.assets",
        "vpc.main",
    ] {
        assert_eq!(copies.get(address), Some(&1), "{address}: {copies:?}");
    }

    // The password and the secret key are nowhere: outputs, plans, the
    // state directory, the task definition ECS describes to anyone allowed
    // ecs:DescribeTaskDefinition. They are in Secrets Manager, which the
    // container's `secrets` name.
    for secret in [PASSWORD, SECRET_KEY] {
        for r in [&apply, &plan_text, &plan_json] {
            assert!(
                !r.stdout.contains(secret) && !r.stderr.contains(secret),
                "{r}"
            );
        }
        for (path, text) in files_under(&ws.path().join("state")) {
            assert!(!text.contains(secret), "{path} holds a secret");
        }
    }
    let conf = sdk_config(&emu).await;
    let ecs = aws_sdk_ecs::Client::new(&conf);
    let task = ecs
        .describe_task_definition()
        .task_definition(ws.id("ecs_task_definition.web"))
        .send()
        .await
        .unwrap();
    let described = format!("{task:?}");
    assert!(
        !described.contains(PASSWORD) && !described.contains(SECRET_KEY),
        "{described}"
    );
    let td = task.task_definition().unwrap();
    let container = &td.container_definitions()[0];
    let named: std::collections::BTreeMap<&str, &str> = container
        .secrets()
        .iter()
        .map(|s| (s.name(), s.value_from()))
        .collect();
    let database_url = ws.id("secretsmanager_secret.database_url");
    assert_eq!(
        named.get("DATABASE_URL"),
        Some(&database_url.as_str()),
        "{named:?}"
    );
    assert_eq!(
        named.get("SECRET_KEY"),
        Some(&ws.id("secretsmanager_secret.secret_key").as_str())
    );
    assert!(
        container
            .environment()
            .iter()
            .all(|e| e.name() != Some("DATABASE_URL"))
    );
    let role = ws.state()["resources"]["iam_role.task_execution"]["attributes"]["arn"].clone();
    assert_eq!(td.execution_role_arn(), role.as_str());
    let sm = aws_sdk_secretsmanager::Client::new(&conf);
    let url = sm
        .get_secret_value()
        .secret_id(&database_url)
        .send()
        .await
        .unwrap();
    let url = url.secret_string().unwrap_or_default();
    assert!(
        url.starts_with("postgres://app:") && url.contains(PASSWORD),
        "the URL is not in the secret"
    );

    // HTTPS on the domain: an issued certificate on the listener, an alias
    // record to the load balancer in the stack's zone.
    let cert = ws.id("acm_certificate.web");
    let acm = aws_sdk_acm::Client::new(&conf);
    let d = acm
        .describe_certificate()
        .certificate_arn(&cert)
        .send()
        .await
        .unwrap();
    assert_eq!(
        d.certificate().unwrap().status(),
        Some(&aws_sdk_acm::types::CertificateStatus::Issued)
    );
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&conf);
    let listener = elb
        .describe_listeners()
        .listener_arns(ws.id("listener.https"))
        .send()
        .await
        .unwrap();
    let certs = listener.listeners()[0].certificates();
    assert_eq!(certs[0].certificate_arn(), Some(cert.as_str()));
    let r53 = aws_sdk_route53::Client::new(&conf);
    let zone = ws.id("route53_zone.main");
    let sets = r53
        .list_resource_record_sets()
        .hosted_zone_id(&zone)
        .send()
        .await
        .unwrap();
    let alias = sets
        .resource_record_sets()
        .iter()
        .find(|s| s.name() == "shop.example.com." && s.r#type().as_str() == "A")
        .and_then(|s| s.alias_target())
        .unwrap_or_else(|| panic!("no alias record: {sets:?}"));
    let lb = ws.state()["resources"]["load_balancer.web"]["attributes"]["dns_name"]
        .as_str()
        .unwrap()
        .to_ascii_lowercase();
    assert_eq!(alias.dns_name().trim_end_matches('.'), lb);

    // A new password is an update of the database (and of the task
    // definition whose DATABASE_URL holds it), shown masked.
    let mut changed = base.to_vec();
    changed.extend(["db_password=An0therPassw0rd12", "app_revision=v1"]);
    let plan = run(&emu, &ws, &["plan", "--json"], &changed);
    plan.expect_success();
    let json: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap();
    let db = json["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["address"] == "db_instance.postgres")
        .unwrap();
    assert_eq!(db["action"], "update", "{db}");
    // The secret holding the URL changes; the task definition, which only
    // names it, does not.
    let action = |address: &str| {
        json["changes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["address"] == address)
            .map(|c| c["action"].clone())
    };
    assert_eq!(
        action("secretsmanager_secret.database_url"),
        Some("update".into())
    );
    assert_eq!(action("ecs_task_definition.web"), Some("no-op".into()));
    assert!(!plan.stdout.contains("An0therPassw0rd12"), "{plan}");

    // Destroy: a final snapshot of the database, the bucket retained.
    let bucket = ws.id("s3_bucket.assets");
    let destroy = run(&emu, &ws, &["destroy", "--auto-approve"], &vars);
    destroy.expect_success();
    // The task definition read back from AWS holds the password in its
    // DATABASE_URL: the destroy plan must still mask it.
    assert!(
        !destroy.stdout.contains(PASSWORD) && !destroy.stderr.contains(PASSWORD),
        "{destroy}"
    );
    let rds = aws_sdk_rds::Client::new(&conf);
    let snapshots = rds.describe_db_snapshots().send().await.unwrap();
    assert!(
        snapshots
            .db_snapshots()
            .iter()
            .any(|s| s.db_instance_identifier() == Some("django")),
        "{snapshots:?}"
    );
    let instances = rds.describe_db_instances().send().await.unwrap();
    assert!(instances.db_instances().is_empty(), "{instances:?}");
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&conf)
            .force_path_style(true)
            .build(),
    );
    s3.head_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("the bucket is retained");
    let left = tagged_copies(&emu).await;
    assert_eq!(
        left,
        [("s3_bucket.assets".to_owned(), 1)].into(),
        "only the retained bucket is left"
    );
    assert!(ws.state()["resources"].as_object().unwrap().is_empty());
}

#[tokio::test]
async fn the_ec2_cluster_of_seeds_002_and_003_runs_with_and_without_efs() {
    let emu = Emulator::start();
    let ws = Workspace::new();
    ws.copy_example("ec2-cluster");
    // Private-registry credentials: sensitive, written into the user data.
    let auth = format!("docker_auth_data={REGISTRY_AUTH}");
    let vars = [
        "efs_enabled=true",
        "spot_price=0.05",
        "docker_auth_type=dockercfg",
        &auth,
    ];
    let apply = run(&emu, &ws, &["apply", "--auto-approve"], &vars);
    apply.expect_success();
    let plan = run(&emu, &ws, &["plan", "--detailed-exitcode"], &vars);
    plan.expect_code(0);
    let resources = ws.state()["resources"].as_object().unwrap().len();
    eprintln!("ec2-cluster with EFS: {resources} resources");

    let ec2 = aws_sdk_ec2::Client::new(&sdk_config(&emu).await);
    let versions = ec2
        .describe_launch_template_versions()
        .launch_template_id(ws.id("launch_template.instance"))
        .versions("$Default")
        .send()
        .await
        .unwrap();
    let data = versions.launch_template_versions()[0]
        .launch_template_data()
        .and_then(|d| d.user_data())
        .expect("user data");
    let data = String::from_utf8(aws_smithy_types::base64::decode(data).unwrap()).unwrap();
    assert!(
        data.contains("ECS_CLUSTER=ecs-ec2-cluster")
            && data.contains("ECS_ENGINE_AUTH_TYPE=dockercfg")
            && data.contains(REGISTRY_AUTH),
        "{data}"
    );
    for r in [&apply, &plan] {
        assert!(
            !r.stdout.contains(REGISTRY_AUTH) && !r.stderr.contains(REGISTRY_AUTH),
            "{r}"
        );
    }
    for (path, text) in files_under(&ws.path().join("state")) {
        assert!(
            !text.contains(REGISTRY_AUTH),
            "{path} holds the credentials"
        );
    }
    let efs = aws_sdk_efs::Client::new(&sdk_config(&emu).await);
    let fs = ws.id("efs_file_system.volume");
    let targets = efs
        .describe_mount_targets()
        .file_system_id(&fs)
        .send()
        .await
        .unwrap();
    assert_eq!(
        targets.mount_targets().len(),
        2,
        "one mount target per zone"
    );
    // The file system is mounted into the tasks of the `files` service.
    let ecs = aws_sdk_ecs::Client::new(&sdk_config(&emu).await);
    let td = ecs
        .describe_task_definition()
        .task_definition(ws.id("ecs_task_definition.files"))
        .send()
        .await
        .unwrap();
    let td = td.task_definition().unwrap();
    let volume = td.volumes()[0]
        .efs_volume_configuration()
        .expect("an EFS volume");
    assert_eq!(volume.file_system_id(), fs);
    assert_eq!(
        td.container_definitions()[0].mount_points()[0].source_volume(),
        Some("files")
    );
    let asg = aws_sdk_autoscaling::Client::new(&sdk_config(&emu).await);
    let hooks = asg
        .describe_lifecycle_hooks()
        .auto_scaling_group_name(ws.id("autoscaling_group.instances"))
        .send()
        .await
        .unwrap();
    assert_eq!(hooks.lifecycle_hooks().len(), 1, "{hooks:?}");

    // EFS turned off: exactly its resources go.
    let plan = run(&emu, &ws, &["plan", "--json"], &vars[1..]);
    plan.expect_success();
    let json: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap();
    let mut deletes: Vec<&str> = json["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] == "delete")
        .map(|c| c["address"].as_str().unwrap())
        .collect();
    deletes.sort_unstable();
    assert_eq!(
        deletes,
        vec![
            "ecs_service.files",
            "ecs_task_definition.files",
            "efs_file_system.volume",
            "efs_mount_target.volume[\"a\"]",
            "efs_mount_target.volume[\"b\"]",
            "kms_key.efs",
            "security_group.efs",
        ]
    );

    let destroy = run(&emu, &ws, &["destroy", "--auto-approve"], &vars);
    destroy.expect_success();
    assert!(!destroy.stdout.contains(REGISTRY_AUTH), "{destroy}");
    let left = tagged_copies(&emu).await;
    assert!(left.is_empty(), "left behind: {left:?}");
    let systems = efs.describe_file_systems().send().await.unwrap();
    assert!(systems.file_systems().is_empty(), "{systems:?}");
}

#[test]
fn the_markdown_plan_of_the_django_stack_fits_a_pull_request_comment_and_masks_the_password() {
    let emu = Emulator::start();
    let ws = Workspace::new();
    ws.copy_example("django");
    let password = format!("db_password={PASSWORD}");
    let vars = ["secret_key=s3cr3t-k3y", "app_revision=v1", &password];
    let run = run(
        &emu,
        &ws,
        &["plan", "--format", "markdown", "--detailed-exitcode"],
        &vars,
    );
    run.expect_code(2);
    let md = &run.stdout;
    assert!(md.len() < 65_536, "{} characters", md.len());
    assert!(!md.contains(PASSWORD) && !md.contains("s3cr3t-k3y"), "{md}");
    assert!(
        md.contains("(sensitive value)"),
        "the password is masked: {md}"
    );
    assert!(
        md.contains("| Address | Action | Changed attributes |"),
        "{md}"
    );
    assert!(md.contains("| `db_instance.postgres` | create |"), "{md}");
    assert!(md.contains("<details><summary>Full plan</summary>"), "{md}");
    assert!(md.contains("\n+   db_instance.postgres {\n"), "{md}");
    assert!(!md.contains('\x1b'), "no colours in Markdown");
    // Whole, or cut with a note that counts what was left out.
    let cut = md.contains("cut to fit a pull-request comment");
    let blocks = md.matches("\n+ ").count();
    eprintln!(
        "django Markdown plan: {} characters, cut: {cut}, {blocks} create blocks",
        md.len()
    );
    assert!(md.trim_end().ends_with("</details>") || cut, "{md}");
}

const DB_PASSWORD: &str = "Pr0dDatabasePassw0rd";

/// `reconcile ARGS --desired <ws>/desired/production/<stack>` with the state
/// where the stack keeps it by default (`state/<stack name>.json` under the
/// workspace, the directory reconcile runs in), which is also where the app
/// stack's `stack_outputs` lookup reads the network's.
fn production(emu: &Emulator, ws: &Workspace, stack: &str, args: &[&str]) -> Run {
    let mut cmd = support::command_bare(Some(emu), ws, args);
    cmd.arg("--desired")
        .arg(ws.desired_path().join(stack))
        .env("RECONCILE_VAR_db_password", DB_PASSWORD);
    support::run_command(cmd, args)
}

fn production_state(ws: &Workspace, stack: &str) -> serde_json::Value {
    serde_json::from_str(&ws.read(&format!("state/production-{stack}.json"))).unwrap()
}

fn production_id(ws: &Workspace, stack: &str, address: &str) -> String {
    production_state(ws, stack)["resources"][address]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{address} is not in the {stack} state"))
        .to_owned()
}

#[tokio::test]
async fn the_production_example_runs_an_app_stack_on_a_network_stack_without_nat() {
    let emu = Emulator::start();
    let ws = Workspace::new();
    ws.copy_example("production");

    // Before the network exists, the app stack says what to apply first.
    let early = production(&emu, &ws, "app", &["plan"]);
    early.expect_code(1);
    assert!(
        early.stderr.contains("lookup `network`")
            && early.stderr.contains("state/production-network.json"),
        "{early}"
    );

    let net = production(&emu, &ws, "network", &["apply", "--auto-approve"]);
    net.expect_success();
    production(&emu, &ws, "network", &["plan", "--detailed-exitcode"]).expect_code(0);
    let app = production(&emu, &ws, "app", &["apply", "--auto-approve"]);
    app.expect_success();
    let app_plan = production(&emu, &ws, "app", &["plan", "--detailed-exitcode"]);
    app_plan.expect_code(0);
    production(&emu, &ws, "network", &["plan", "--detailed-exitcode"]).expect_code(0);
    let net_state = production_state(&ws, "network");
    let app_state = production_state(&ws, "app");
    eprintln!(
        "production: network {} resources, app {} resources",
        net_state["resources"].as_object().unwrap().len(),
        app_state["resources"].as_object().unwrap().len()
    );

    // The app read the network's VPC: its output and its groups in AWS.
    let vpc = production_id(&ws, "network", "vpc.main");
    assert_eq!(app_state["outputs"]["vpc_id"], vpc.as_str(), "{app_state}");
    let conf = sdk_config(&emu).await;
    let ec2 = aws_sdk_ec2::Client::new(&conf);
    let web_group = production_id(&ws, "app", "security_group.web");
    let groups = ec2
        .describe_security_groups()
        .group_ids(&web_group)
        .send()
        .await
        .unwrap();
    assert_eq!(
        groups.security_groups()[0].vpc_id(),
        Some(vpc.as_str()),
        "{groups:?}"
    );

    // No NAT gateway; the endpoints: S3 on the private route tables, the
    // interface ones with private DNS and the endpoints' group.
    let nats = ec2.describe_nat_gateways().send().await.unwrap();
    assert!(
        nats.nat_gateways()
            .iter()
            .all(|n| n.vpc_id() != Some(vpc.as_str())),
        "{nats:?}"
    );
    let endpoints = ec2
        .describe_vpc_endpoints()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("vpc-id")
                .values(&vpc)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let mut services: Vec<&str> = endpoints
        .vpc_endpoints()
        .iter()
        .filter_map(|e| e.service_name())
        .collect();
    services.sort_unstable();
    assert_eq!(
        services,
        [
            "com.amazonaws.us-east-1.ecr.api",
            "com.amazonaws.us-east-1.ecr.dkr",
            "com.amazonaws.us-east-1.logs",
            "com.amazonaws.us-east-1.s3",
            "com.amazonaws.us-east-1.secretsmanager",
        ]
    );
    let mut private_tables: Vec<String> = ["a", "b"]
        .iter()
        .map(|z| production_id(&ws, "network", &format!("route_table.private[\"{z}\"]")))
        .collect();
    private_tables.sort_unstable();
    let endpoint_group = production_id(&ws, "network", "security_group.endpoints");
    for e in endpoints.vpc_endpoints() {
        if e.service_name() == Some("com.amazonaws.us-east-1.s3") {
            let mut tables = e.route_table_ids().to_vec();
            tables.sort_unstable();
            assert_eq!(tables, private_tables, "{e:?}");
        } else {
            assert_eq!(e.private_dns_enabled(), Some(true), "{e:?}");
            assert!(
                e.groups()
                    .iter()
                    .any(|g| g.group_id() == Some(endpoint_group.as_str())),
                "{e:?}"
            );
            assert_eq!(e.subnet_ids().len(), 2, "{e:?}");
        }
    }

    // The web containers mount the EFS volume; the task definition holds
    // no secret value.
    let ecs = aws_sdk_ecs::Client::new(&conf);
    let td = ecs
        .describe_task_definition()
        .task_definition(production_id(&ws, "app", "ecs_task_definition.web"))
        .send()
        .await
        .unwrap();
    assert!(
        !format!("{td:?}").contains(DB_PASSWORD),
        "DescribeTaskDefinition shows the password: {td:?}"
    );
    let td = td.task_definition().unwrap();
    let volume = td.volumes()[0]
        .efs_volume_configuration()
        .expect("an EFS volume");
    assert_eq!(
        volume.file_system_id(),
        production_id(&ws, "app", "efs_file_system.uploads")
    );
    let web = &td.container_definitions()[0];
    assert_eq!(web.mount_points()[0].source_volume(), Some("uploads"));
    // The credentials come from the secret, one JSON key each; the secret
    // holds the password.
    let secret = production_id(&ws, "app", "secretsmanager_secret.database");
    let named: std::collections::BTreeMap<&str, &str> = web
        .secrets()
        .iter()
        .map(|s| (s.name(), s.value_from()))
        .collect();
    assert_eq!(
        named.get("DATABASE_PASSWORD"),
        Some(&format!("{secret}:password::").as_str()),
        "{named:?}"
    );
    let sm = aws_sdk_secretsmanager::Client::new(&conf);
    let value = sm
        .get_secret_value()
        .secret_id(&secret)
        .send()
        .await
        .unwrap();
    let value: serde_json::Value =
        serde_json::from_str(value.secret_string().unwrap_or_default()).unwrap();
    assert!(
        value["password"] == DB_PASSWORD && value["username"] == "app",
        "the credentials are not in the secret"
    );

    // HTTPS on the domain: an issued certificate on the 443 listener, port
    // 80 redirecting to it, an alias record to the load balancer.
    let cert = production_id(&ws, "app", "acm_certificate.web");
    let acm = aws_sdk_acm::Client::new(&conf);
    let d = acm
        .describe_certificate()
        .certificate_arn(&cert)
        .send()
        .await
        .unwrap();
    assert_eq!(
        d.certificate().unwrap().status(),
        Some(&aws_sdk_acm::types::CertificateStatus::Issued)
    );
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&conf);
    let listeners = elb
        .describe_listeners()
        .listener_arns(production_id(&ws, "app", "listener.https"))
        .listener_arns(production_id(&ws, "app", "listener.http"))
        .send()
        .await
        .unwrap();
    for l in listeners.listeners() {
        if l.port() == Some(443) {
            assert_eq!(l.certificates()[0].certificate_arn(), Some(cert.as_str()));
        } else {
            let redirect = l.default_actions()[0]
                .redirect_config()
                .unwrap_or_else(|| panic!("port 80 does not redirect: {l:?}"));
            assert_eq!(redirect.protocol(), Some("HTTPS"));
        }
    }
    let r53 = aws_sdk_route53::Client::new(&conf);
    let sets = r53
        .list_resource_record_sets()
        .hosted_zone_id(production_id(&ws, "app", "route53_zone.main"))
        .send()
        .await
        .unwrap();
    let alias = sets
        .resource_record_sets()
        .iter()
        .find(|s| s.name() == "production.example.com." && s.r#type().as_str() == "A")
        .and_then(|s| s.alias_target())
        .unwrap_or_else(|| panic!("no alias record: {sets:?}"));
    let lb = app_state["resources"]["load_balancer.web"]["attributes"]["dns_name"]
        .as_str()
        .unwrap()
        .to_ascii_lowercase();
    assert_eq!(alias.dns_name().trim_end_matches('.'), lb);

    // The worker registers in the Cloud Map service.
    let cluster_id = production_id(&ws, "app", "ecs_cluster.main");
    let services = ecs
        .describe_services()
        .cluster(&cluster_id)
        .services(production_id(&ws, "app", "ecs_service.worker"))
        .send()
        .await
        .unwrap();
    let registries = services.services()[0].service_registries();
    assert_eq!(
        registries[0].registry_arn(),
        app_state["resources"]["service_discovery_service.worker"]["attributes"]["arn"].as_str(),
        "{registries:?}"
    );

    // The alarms report to the topic.
    let cw = aws_sdk_cloudwatch::Client::new(&conf);
    let topic = production_id(&ws, "app", "sns_topic.alerts");
    let alarms = cw
        .describe_alarms()
        .alarm_names(production_id(&ws, "app", "cloudwatch_metric_alarm.alb_5xx"))
        .alarm_names(production_id(&ws, "app", "cloudwatch_metric_alarm.web_cpu"))
        .send()
        .await
        .unwrap();
    assert_eq!(alarms.metric_alarms().len(), 2, "{alarms:?}");
    for alarm in alarms.metric_alarms() {
        assert_eq!(
            alarm.alarm_actions(),
            std::slice::from_ref(&topic),
            "{alarm:?}"
        );
    }

    // The password is nowhere: outputs, plans, the state directory.
    for r in [&net, &app, &app_plan] {
        assert!(
            !r.stdout.contains(DB_PASSWORD) && !r.stderr.contains(DB_PASSWORD),
            "{r}"
        );
    }
    for (path, text) in files_under(&ws.path().join("state")) {
        assert!(!text.contains(DB_PASSWORD), "{path} holds the password");
    }

    // Destroy the app, then the network: nothing left in either state, no
    // tagged object left in AWS (the database's final snapshot stays, as it
    // is meant to).
    production(&emu, &ws, "app", &["destroy", "--auto-approve"]).expect_success();
    production(&emu, &ws, "network", &["destroy", "--auto-approve"]).expect_success();
    for stack in ["app", "network"] {
        let state = production_state(&ws, stack);
        assert!(
            state["resources"].as_object().unwrap().is_empty(),
            "{stack}: {state}"
        );
    }
    let left = tagged_copies(&emu).await;
    assert!(left.is_empty(), "left behind: {left:?}");
    // What `tagged_copies` does not look at.
    // The emulator keeps the private zone it made for the Cloud Map
    // namespace after deleting the namespace (AWS deletes both): only the
    // stack's own zone must be gone.
    let zones = r53.list_hosted_zones().send().await.unwrap();
    assert!(
        zones
            .hosted_zones()
            .iter()
            .all(|z| z.name() != "production.example.com."),
        "{zones:?}"
    );
    let certs = acm.list_certificates().send().await.unwrap();
    assert!(certs.certificate_summary_list().is_empty(), "{certs:?}");
    // A deleted cluster stays listed, INACTIVE (the emulator's ListClusters
    // keeps it).
    let cluster = ecs
        .describe_clusters()
        .clusters(&cluster_id)
        .send()
        .await
        .unwrap();
    assert!(
        cluster
            .clusters()
            .iter()
            .all(|c| c.status() == Some("INACTIVE")),
        "{cluster:?}"
    );
    let topics = aws_sdk_sns::Client::new(&conf)
        .list_topics()
        .send()
        .await
        .unwrap();
    assert!(topics.topics().is_empty(), "{topics:?}");
    let alarms = cw.describe_alarms().send().await.unwrap();
    assert!(alarms.metric_alarms().is_empty(), "{alarms:?}");
    let namespaces = aws_sdk_servicediscovery::Client::new(&conf)
        .list_namespaces()
        .send()
        .await
        .unwrap();
    assert!(namespaces.namespaces().is_empty(), "{namespaces:?}");
    // The secret waits out its recovery window, deleted.
    let described = sm.describe_secret().secret_id(&secret).send().await;
    assert!(
        described
            .as_ref()
            .map_or(true, |d| d.deleted_date().is_some()),
        "{described:?}"
    );
    // Endpoints stay listed a while, deleted (the emulator answers
    // "deleted" in lower case).
    let endpoints = ec2.describe_vpc_endpoints().send().await.unwrap();
    assert!(
        endpoints.vpc_endpoints().iter().all(|e| e
            .state()
            .is_some_and(|s| s.as_str().eq_ignore_ascii_case("deleted"))),
        "{endpoints:?}"
    );
}
