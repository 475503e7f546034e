//! ECS as its API has it, through the CLI against the emulator: task
//! definitions using every container and task field reconcile supports
//! (volumes of each kind, mount points, dependencies, ulimits, Linux
//! parameters, …) read back with no diff; a service placed by strategies
//! and constraints and registered in Cloud Map (a private DNS namespace and
//! a service) is applied, changed in place and destroyed; EC2 Auto Scaling
//! policies and Application Auto Scaling step scaling, run by alarms that
//! name their ARNs.

use crate::support;

use support::{Emulator, Workspace, reconcile, sdk_config};

const TASKS: &str = r#"
[stack]
name = "fields"
region = "us-east-1"

[variables.nofile]
type = "number"
default = 65536

[efs_file_system.data]
encrypted = true

[ecs_task_definition.every]
family = "every-field"
network_mode = "bridge"
requires_compatibilities = ["EC2"]
pid_mode = "task"
ipc_mode = "none"
placement_constraints = [{ expression = "attribute:ecs.instance-type =~ t3.*" }]
runtime_platform = { operating_system_family = "LINUX", cpu_architecture = "X86_64" }
proxy_configuration = { container_name = "envoy", properties = { IgnoredUID = "1337", ProxyIngressPort = "15000", ProxyEgressPort = "15001", AppPorts = "80" } }
volumes = [
  { name = "host", host_path = "/var/data" },
  { name = "scratch" },
  { name = "cache", docker_volume_configuration = { scope = "shared", autoprovision = true, driver = "local", driver_opts = { type = "tmpfs", device = "tmpfs" }, labels = { team = "ops" } } },
  { name = "shared", efs_volume_configuration = { file_system_id = "${efs_file_system.data.id}", root_directory = "/app" } },
]

[[ecs_task_definition.every.container_definitions]]
name = "app"
image = "nginx:1.27"
cpu = 128
memory = 256
memory_reservation = 128
port_mappings = [{ container_port = 80, host_port = 8080, name = "http", app_protocol = "http" }]
environment = { MODE = "all" }
command = ["nginx", "-g", "daemon off;"]
entry_point = ["/docker-entrypoint.sh"]
working_directory = "/srv"
health_check = { command = ["CMD-SHELL", "curl -f http://localhost/ || exit 1"], interval = 10, retries = 5 }
log_configuration = { log_driver = "json-file", options = { max-size = "10m" } }
mount_points = [
  { source_volume = "shared", container_path = "/shared" },
  { source_volume = "host", container_path = "/data", read_only = true },
  { source_volume = "scratch", container_path = "/scratch" },
  { source_volume = "cache", container_path = "/cache" },
]
volumes_from = [{ source_container = "logs", read_only = true }]
depends_on = [{ container_name = "logs", condition = "START" }, { container_name = "envoy", condition = "HEALTHY" }]
ulimits = [{ name = "nofile", soft_limit = "${var.nofile}", hard_limit = 65536 }, { name = "core", soft_limit = 0, hard_limit = 0 }]
linux_parameters = { capabilities = { add = ["SYS_PTRACE"], drop = ["NET_RAW", "MKNOD"] }, devices = [{ host_path = "/dev/fuse", container_path = "/dev/fuse", permissions = ["read", "write"] }], init_process_enabled = true, shared_memory_size = 64, tmpfs = [{ container_path = "/run", size = 64, mount_options = ["rw", "noexec"] }], max_swap = 512, swappiness = 10 }
extra_hosts = [{ hostname = "db.internal", ip_address = "10.0.0.5" }]
docker_labels = { team = "ops", "com.example.tier" = "web" }
system_controls = [{ namespace = "net.core.somaxconn", value = "1024" }]
repository_credentials = { credentials_parameter = "arn:aws:secretsmanager:us-east-1:123456789012:secret:registry-AbCdEf" }
resource_requirements = [{ type = "GPU", value = "1" }]
environment_files = [{ value = "arn:aws:s3:::fields-config/app.env" }]
start_timeout = 60
stop_timeout = 30
user = "1000:1000"
readonly_root_filesystem = true
interactive = true
pseudo_terminal = true
hostname = "app"
dns_servers = ["10.0.0.2", "10.0.0.3"]
dns_search_domains = ["internal.local"]
docker_security_options = ["no-new-privileges"]
links = ["logs:logs"]

[[ecs_task_definition.every.container_definitions]]
name = "logs"
image = "public.ecr.aws/aws-observability/aws-for-fluent-bit:stable"
memory = 64
essential = false
privileged = true
disable_networking = false
firelens_configuration = { type = "fluentbit", options = { enable-ecs-log-metadata = "true" } }

[[ecs_task_definition.every.container_definitions]]
name = "envoy"
image = "public.ecr.aws/appmesh/aws-appmesh-envoy:v1.29.4.0-prod"
memory = 64
user = "1337"
health_check = { command = ["CMD-SHELL", "curl -s http://localhost:9901/ready"] }

[ecs_task_definition.fargate]
family = "every-fargate"
requires_compatibilities = ["FARGATE"]
network_mode = "awsvpc"
cpu = "0.25 vCPU"
memory = "0.5 GB"
ephemeral_storage = 40
runtime_platform = { operating_system_family = "LINUX", cpu_architecture = "ARM64" }
volumes = [
  { name = "shared", efs_volume_configuration = { file_system_id = "${efs_file_system.data.id}", transit_encryption = "ENABLED", transit_encryption_port = 2999, authorization_config = { access_point_id = "fsap-0123456789abcdef0", iam = "ENABLED" } } },
]
container_definitions = [
  { name = "web", image = "nginx:1.27", port_mappings = [{ container_port = 80 }], mount_points = [{ source_volume = "shared", container_path = "/usr/share/nginx/html" }], linux_parameters = { init_process_enabled = true }, readonly_root_filesystem = true },
]
"#;

async fn task_definition(
    ecs: &aws_sdk_ecs::Client,
    arn: &str,
) -> aws_sdk_ecs::types::TaskDefinition {
    ecs.describe_task_definition()
        .task_definition(arn)
        .send()
        .await
        .unwrap()
        .task_definition
        .unwrap()
}

#[tokio::test]
async fn container_definitions_with_every_supported_field_apply_and_plan_clean() {
    let emu = Emulator::start();
    let ecs = aws_sdk_ecs::Client::new(&sdk_config(&emu).await);
    let ws = Workspace::new();
    ws.write("desired/main.toml", TASKS);

    reconcile(&emu, &ws, &["apply", "--auto-approve"]).expect_success();
    let plan = reconcile(&emu, &ws, &["plan", "--detailed-exitcode"]);
    plan.expect_code(0);

    // What AWS holds is what was written.
    let every = task_definition(&ecs, &ws.id("ecs_task_definition.every")).await;
    assert_eq!(every.volumes().len(), 4);
    let efs = every
        .volumes()
        .iter()
        .find_map(|v| v.efs_volume_configuration())
        .expect("the EFS volume");
    assert_eq!(efs.file_system_id(), ws.id("efs_file_system.data"));
    assert_eq!(efs.root_directory(), Some("/app"));
    let app = &every.container_definitions()[0];
    assert_eq!(app.name(), Some("app"));
    assert_eq!(app.mount_points().len(), 4);
    assert_eq!(app.depends_on().len(), 2);
    let nofile = |c: &aws_sdk_ecs::types::ContainerDefinition| {
        c.ulimits()
            .iter()
            .find(|u| u.name().as_str() == "nofile")
            .map(aws_sdk_ecs::types::Ulimit::soft_limit)
    };
    assert_eq!(nofile(app), Some(65536));
    let linux = app.linux_parameters().expect("linux parameters");
    let mut dropped = linux.capabilities().unwrap().drop().to_vec();
    dropped.sort();
    assert_eq!(dropped, ["MKNOD", "NET_RAW"]);
    assert_eq!(linux.tmpfs()[0].size(), 64);
    assert_eq!(app.dns_servers(), ["10.0.0.2", "10.0.0.3"]);
    assert_eq!(app.readonly_root_filesystem(), Some(true));
    assert_eq!(app.start_timeout(), Some(60));
    assert_eq!(
        every
            .proxy_configuration()
            .map(aws_sdk_ecs::types::ProxyConfiguration::container_name),
        Some("envoy")
    );
    let logs = &every.container_definitions()[1];
    assert_eq!(logs.privileged(), Some(true));
    assert!(logs.firelens_configuration().is_some());
    let fargate = task_definition(&ecs, &ws.id("ecs_task_definition.fargate")).await;
    assert_eq!(
        fargate
            .ephemeral_storage()
            .map(aws_sdk_ecs::types::EphemeralStorage::size_in_gib),
        Some(40)
    );
    let auth = fargate.volumes()[0]
        .efs_volume_configuration()
        .and_then(|e| e.authorization_config())
        .expect("the access point");
    assert_eq!(auth.access_point_id(), Some("fsap-0123456789abcdef0"));

    // A changed container field is a new revision; then nothing is left to do.
    let vars = ["--var", "nofile=4096"];
    let plan = reconcile(
        &emu,
        &ws,
        &[&["plan", "--detailed-exitcode"][..], &vars].concat(),
    );
    plan.expect_code(2);
    assert!(plan.stdout.contains("ulimits"), "{plan}");
    assert!(
        plan.stdout.contains("1 to add, 0 to change, 1 to destroy"),
        "{plan}"
    );
    reconcile(
        &emu,
        &ws,
        &[&["apply", "--auto-approve"][..], &vars].concat(),
    )
    .expect_success();
    reconcile(
        &emu,
        &ws,
        &[&["plan", "--detailed-exitcode"][..], &vars].concat(),
    )
    .expect_code(0);
    let every = task_definition(&ecs, &ws.id("ecs_task_definition.every")).await;
    assert_eq!(every.revision(), 2);
    assert_eq!(nofile(&every.container_definitions()[0]), Some(4096));

    reconcile(
        &emu,
        &ws,
        &[&["destroy", "--auto-approve"][..], &vars].concat(),
    )
    .expect_success();
    let active = ecs
        .list_task_definitions()
        .status(aws_sdk_ecs::types::TaskDefinitionStatus::Active)
        .send()
        .await
        .unwrap();
    assert!(active.task_definition_arns().is_empty(), "{active:?}");
}

const DISCOVERY: &str = r#"
[stack]
name = "sd"
region = "us-east-1"

[variables.binpack]
type = "string"
default = "memory"

[variables.ttl]
type = "number"
default = 10

[variables.about]
type = "string"
default = "internal services"

[vpc.main]
cidr_block = "10.9.0.0/16"

[service_discovery_namespace.internal]
name = "internal.local"
vpc = "${vpc.main.id}"
description = "${var.about}"
tags = { team = "ops" }

[service_discovery_service.worker]
name = "worker"
namespace_id = "${service_discovery_namespace.internal.id}"
dns_records = [{ type = "SRV", ttl = "${var.ttl}" }]
health_check_custom = true

[ecs_cluster.app]

[ecs_task_definition.worker]
family = "sd-worker"
network_mode = "bridge"
requires_compatibilities = ["EC2"]
container_definitions = [
  { name = "worker", image = "busybox:1.36", memory = 64, port_mappings = [{ container_port = 8080 }] },
]

[ecs_service.worker]
cluster = "${ecs_cluster.app.arn}"
task_definition = "${ecs_task_definition.worker.arn}"
launch_type = "EC2"
desired_count = 1
placement_strategy = [
  { type = "spread", field = "attribute:ecs.availability-zone" },
  { type = "binpack", field = "${var.binpack}" },
]
placement_constraints = [{ type = "distinctInstance" }]
service_registries = [{ registry_arn = "${service_discovery_service.worker.arn}", container_name = "worker", container_port = 8080 }]
propagate_tags = "SERVICE"
health_check_grace_period = 30
"#;

#[tokio::test]
async fn a_service_with_placement_and_a_service_registry_is_applied_changed_and_destroyed() {
    let emu = Emulator::start();
    let conf = sdk_config(&emu).await;
    let ecs = aws_sdk_ecs::Client::new(&conf);
    let sd = aws_sdk_servicediscovery::Client::new(&conf);
    let ws = Workspace::new();
    ws.write("desired/main.toml", DISCOVERY);

    let run = reconcile(&emu, &ws, &["apply", "--auto-approve"]);
    run.expect_success();
    assert!(
        run.stdout
            .contains("Apply complete! Resources: 6 added, 0 changed, 0 destroyed."),
        "{run}"
    );
    reconcile(&emu, &ws, &["plan", "--detailed-exitcode"]).expect_code(0);

    let namespace = ws.id("service_discovery_namespace.internal");
    let ns = sd.get_namespace().id(&namespace).send().await.unwrap();
    let ns = ns.namespace().unwrap();
    assert_eq!(ns.name(), Some("internal.local"));
    assert_eq!(ns.description(), Some("internal services"));
    let registry = ws.state()["resources"]["service_discovery_service.worker"]["attributes"]["arn"]
        .as_str()
        .unwrap()
        .to_owned();
    let service = ws.id("ecs_service.worker");
    let describe = |ecs: aws_sdk_ecs::Client, service: String| async move {
        ecs.describe_services()
            .cluster("sd-app")
            .services(service)
            .send()
            .await
            .unwrap()
            .services()[0]
            .clone()
    };
    let s = describe(ecs.clone(), service.clone()).await;
    assert_eq!(
        s.service_registries()[0].registry_arn(),
        Some(registry.as_str())
    );
    assert_eq!(s.service_registries()[0].container_port(), Some(8080));
    let fields: Vec<_> = s.placement_strategy().iter().map(|p| p.field()).collect();
    assert_eq!(
        fields,
        [Some("attribute:ecs.availability-zone"), Some("memory")]
    );
    assert_eq!(s.placement_constraints().len(), 1);
    assert_eq!(
        s.propagate_tags(),
        Some(&aws_sdk_ecs::types::PropagateTags::Service)
    );

    // A new strategy field, record TTL and description change in place.
    let vars = [
        "--var",
        "binpack=cpu",
        "--var",
        "ttl=30",
        "--var",
        "about=workers",
    ];
    let run = reconcile(
        &emu,
        &ws,
        &[&["apply", "--auto-approve"][..], &vars].concat(),
    );
    run.expect_success();
    assert!(
        run.stdout
            .contains("Apply complete! Resources: 0 added, 3 changed, 0 destroyed."),
        "{run}"
    );
    reconcile(
        &emu,
        &ws,
        &[&["plan", "--detailed-exitcode"][..], &vars].concat(),
    )
    .expect_code(0);
    let s = describe(ecs.clone(), service.clone()).await;
    assert_eq!(s.placement_strategy()[1].field(), Some("cpu"));
    let worker = sd
        .get_service()
        .id(ws.id("service_discovery_service.worker"))
        .send()
        .await
        .unwrap();
    let records = worker
        .service()
        .unwrap()
        .dns_config()
        .unwrap()
        .dns_records();
    assert_eq!(records[0].ttl(), 30);
    let ns = sd.get_namespace().id(&namespace).send().await.unwrap();
    assert_eq!(ns.namespace().unwrap().description(), Some("workers"));

    reconcile(
        &emu,
        &ws,
        &[&["destroy", "--auto-approve"][..], &vars].concat(),
    )
    .expect_success();
    let namespaces = sd.list_namespaces().send().await.unwrap();
    assert!(namespaces.namespaces().is_empty(), "{namespaces:?}");
    let services = sd.list_services().send().await.unwrap();
    assert!(services.services().is_empty(), "{services:?}");
    let s = describe(ecs, service).await;
    assert_ne!(s.status(), Some("ACTIVE"));
}

const SCALING: &str = r#"
[stack]
name = "scale"
region = "us-east-1"

[variables.step]
type = "number"
default = 2

[vpc.main]
cidr_block = "10.10.0.0/16"

[subnet.a]
vpc_id = "${vpc.main.id}"
cidr_block = "10.10.1.0/24"
availability_zone = "${stack.region}a"

[launch_template.node]
image_id = "ami-12c6146b"
instance_type = "t3.micro"

[autoscaling_group.nodes]
min_size = 0
max_size = 4
desired_capacity = 0
subnet_ids = ["${subnet.a.id}"]
launch_template = { id = "${launch_template.node.id}", version = "${launch_template.node.latest_version}" }

[autoscaling_policy.simple]
name = "simple-out"
autoscaling_group_name = "${autoscaling_group.nodes.name}"
adjustment_type = "ChangeInCapacity"
scaling_adjustment = 1
cooldown = 120

[autoscaling_policy.steps]
name = "step-out"
autoscaling_group_name = "${autoscaling_group.nodes.name}"
policy_type = "StepScaling"
adjustment_type = "ChangeInCapacity"
metric_aggregation_type = "Average"
estimated_instance_warmup = 90
step_adjustments = [
  { metric_interval_lower_bound = 0, metric_interval_upper_bound = 20, scaling_adjustment = 1 },
  { metric_interval_lower_bound = 20, scaling_adjustment = "${var.step}" },
]

[autoscaling_policy.cpu]
name = "cpu-50"
autoscaling_group_name = "${autoscaling_group.nodes.name}"
policy_type = "TargetTrackingScaling"
target_tracking = { predefined_metric_type = "ASGAverageCPUUtilization", target_value = 50.5 }

[ecs_cluster.app]

[ecs_task_definition.web]
family = "scale-web"
container_definitions = [{ name = "web", image = "nginx:1.27", memory = 128 }]

[ecs_service.web]
cluster = "${ecs_cluster.app.arn}"
task_definition = "${ecs_task_definition.web.arn}"
launch_type = "EC2"

[appautoscaling_target.web]
resource_id = "service/${ecs_cluster.app.name}/${ecs_service.web.name}"
min_capacity = 1
max_capacity = 4

[appautoscaling_policy.web_steps]
name = "web-steps"
resource_id = "${appautoscaling_target.web.resource_id}"
policy_type = "StepScaling"
step_scaling = { adjustment_type = "ChangeInCapacity", cooldown = 60, metric_aggregation_type = "Maximum", step_adjustments = [{ metric_interval_lower_bound = 0, scaling_adjustment = "${var.step}" }] }

[cloudwatch_metric_alarm.nodes_cpu]
namespace = "AWS/EC2"
metric_name = "CPUUtilization"
dimensions = { AutoScalingGroupName = "${autoscaling_group.nodes.name}" }
statistic = "Average"
period = 60
evaluation_periods = 2
threshold = 70
comparison_operator = "GreaterThanThreshold"
alarm_actions = ["${autoscaling_policy.steps.arn}", "${autoscaling_policy.simple.arn}"]

[cloudwatch_metric_alarm.web_cpu]
namespace = "AWS/ECS"
metric_name = "CPUUtilization"
dimensions = { ClusterName = "${ecs_cluster.app.name}", ServiceName = "${ecs_service.web.name}" }
statistic = "Maximum"
period = 60
evaluation_periods = 1
threshold = 80
comparison_operator = "GreaterThanThreshold"
alarm_actions = ["${appautoscaling_policy.web_steps.arn}"]
"#;

#[tokio::test]
async fn scaling_policies_run_by_alarms_are_applied_changed_and_destroyed() {
    let emu = Emulator::start();
    let conf = sdk_config(&emu).await;
    let asg = aws_sdk_autoscaling::Client::new(&conf);
    let aas = aws_sdk_applicationautoscaling::Client::new(&conf);
    let cw = aws_sdk_cloudwatch::Client::new(&conf);
    let ws = Workspace::new();
    ws.write("desired/main.toml", SCALING);

    reconcile(&emu, &ws, &["apply", "--auto-approve"]).expect_success();
    reconcile(&emu, &ws, &["plan", "--detailed-exitcode"]).expect_code(0);

    let policies = asg
        .describe_policies()
        .auto_scaling_group_name("scale-nodes")
        .send()
        .await
        .unwrap();
    let mut names: Vec<_> = policies
        .scaling_policies()
        .iter()
        .filter_map(|p| p.policy_name())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["cpu-50", "simple-out", "step-out"]);
    let steps = ws.id("autoscaling_policy.steps");
    let alarm = cw
        .describe_alarms()
        .alarm_names("scale-nodes_cpu")
        .send()
        .await
        .unwrap();
    let actions = alarm.metric_alarms()[0].alarm_actions();
    assert!(actions.contains(&steps), "{actions:?}");
    let web_steps = ws.id("appautoscaling_policy.web_steps");
    let alarm = cw
        .describe_alarms()
        .alarm_names("scale-web_cpu")
        .send()
        .await
        .unwrap();
    assert_eq!(alarm.metric_alarms()[0].alarm_actions(), [web_steps]);

    // A step's adjustment changes both step policies in place.
    let vars = ["--var", "step=3"];
    let run = reconcile(
        &emu,
        &ws,
        &[&["apply", "--auto-approve"][..], &vars].concat(),
    );
    run.expect_success();
    assert!(
        run.stdout
            .contains("Apply complete! Resources: 0 added, 2 changed, 0 destroyed."),
        "{run}"
    );
    // AWS keeps a policy's ARN across updates; the emulator gives the
    // Application Auto Scaling one a new ARN, which the alarm naming it
    // takes at the next apply.
    let run = reconcile(
        &emu,
        &ws,
        &[&["apply", "--auto-approve"][..], &vars].concat(),
    );
    run.expect_success();
    assert!(
        run.stdout
            .contains("Apply complete! Resources: 0 added, 1 changed, 0 destroyed."),
        "{run}"
    );
    assert!(
        run.stdout.contains("cloudwatch_metric_alarm.web_cpu"),
        "{run}"
    );
    reconcile(
        &emu,
        &ws,
        &[&["plan", "--detailed-exitcode"][..], &vars].concat(),
    )
    .expect_code(0);
    let step = asg
        .describe_policies()
        .auto_scaling_group_name("scale-nodes")
        .policy_names("step-out")
        .send()
        .await
        .unwrap();
    let adjustments = step.scaling_policies()[0].step_adjustments();
    assert!(
        adjustments
            .iter()
            .any(|a| a.scaling_adjustment() == Some(3)),
        "{adjustments:?}"
    );
    let alarm = cw
        .describe_alarms()
        .alarm_names("scale-web_cpu")
        .send()
        .await
        .unwrap();
    let web = aas
        .describe_scaling_policies()
        .service_namespace(aws_sdk_applicationautoscaling::types::ServiceNamespace::Ecs)
        .policy_names("web-steps")
        .send()
        .await
        .unwrap();
    let config = web.scaling_policies()[0]
        .step_scaling_policy_configuration()
        .expect("a step scaling policy");
    assert_eq!(config.step_adjustments()[0].scaling_adjustment(), 3);
    assert_eq!(
        alarm.metric_alarms()[0].alarm_actions(),
        [web.scaling_policies()[0].policy_arn().to_owned()]
    );

    reconcile(
        &emu,
        &ws,
        &[&["destroy", "--auto-approve"][..], &vars].concat(),
    )
    .expect_success();
    let left = asg.describe_policies().send().await.unwrap();
    assert!(left.scaling_policies().is_empty(), "{left:?}");
}
