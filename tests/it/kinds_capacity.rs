//! EC2 capacity for ECS through the CLI against the emulator: a launch
//! template (AMI from the public SSM parameter), an Auto Scaling group with a
//! lifecycle hook, a capacity provider associated with the cluster, an ECS
//! service on it with Application Auto Scaling. Applied, planned clean,
//! changed (a new launch-template version, made default, rolled out),
//! destroyed without hanging and without leftovers.

use crate::support;

use std::time::{Duration, Instant};

use support::{Emulator, Workspace, reconcile, sdk_config};

/// The user data names the cluster by the name the cluster is given, not by
/// a reference to it: the cluster lists the capacity provider, which needs
/// the group, which needs the launch template — a reference back would be a
/// cycle.
const STACK: &str = r#"
[stack]
name = "cap"
region = "us-east-1"

[variables.instance_type]
type = "string"
default = "t3.micro"

[lookups.ecs_ami]
type = "ssm_parameter"
name = "/aws/service/ecs/optimized-ami/amazon-linux-2/recommended/image_id"

[vpc.main]
cidr_block = "10.8.0.0/16"

[subnet.a]
vpc_id = "${vpc.main.id}"
cidr_block = "10.8.1.0/24"
availability_zone = "${stack.region}a"

[security_group.nodes]
vpc_id = "${vpc.main.id}"
description = "ECS container instances"
egress = [{ protocol = "-1", cidr_blocks = ["0.0.0.0/0"] }]

[iam_role.node]
assume_role_services = ["ec2.amazonaws.com"]
managed_policy_arns = ["arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role"]

[iam_instance_profile.node]
role = "${iam_role.node.name}"

[launch_template.node]
image_id = "${lookups.ecs_ami.value}"
instance_type = "${var.instance_type}"
iam_instance_profile = "${iam_instance_profile.node.name}"
security_group_ids = ["${security_group.nodes.id}"]
user_data = """
#!/bin/bash
echo ECS_CLUSTER=${stack.name}-app >> /etc/ecs/ecs.config
"""
metadata_options = { http_tokens = "required", http_put_response_hop_limit = 2 }
instance_market_options = { max_price = "0.05" }
tags = { Role = "ecs-node" }

[autoscaling_group.nodes]
min_size = 1
max_size = 3
desired_capacity = 1
subnet_ids = ["${subnet.a.id}"]
launch_template = { id = "${launch_template.node.id}", version = "${launch_template.node.latest_version}" }
protect_from_scale_in = true
instance_refresh = { min_healthy_percent = 50 }
lifecycle_hooks = [
  { name = "drain", lifecycle_transition = "autoscaling:EC2_INSTANCE_TERMINATING", heartbeat_timeout = 300, default_result = "CONTINUE" },
]
tags = { Name = "ecs-node" }

[ecs_capacity_provider.nodes]
auto_scaling_group_arn = "${autoscaling_group.nodes.arn}"
managed_scaling = { target_capacity = 90, maximum_scaling_step_size = 2 }
managed_termination_protection = true

[ecs_cluster.app]
name = "${stack.name}-app"
capacity_providers = ["${ecs_capacity_provider.nodes.name}"]
default_capacity_provider_strategy = [{ capacity_provider = "${ecs_capacity_provider.nodes.name}", weight = 1 }]

[ecs_task_definition.web]
family = "cap-web"
network_mode = "bridge"
requires_compatibilities = ["EC2"]
container_definitions = [
  { name = "web", image = "nginx:1.27", memory = 128, essential = true, port_mappings = [{ container_port = 80, host_port = 0, protocol = "tcp" }] },
]

[ecs_service.web]
name = "web"
cluster = "${ecs_cluster.app.arn}"
desired_count = 1
task_definition = "${ecs_task_definition.web.arn}"

[appautoscaling_target.web]
resource_id = "service/${ecs_cluster.app.name}/${ecs_service.web.name}"
min_capacity = 1
max_capacity = 4

[appautoscaling_policy.web_cpu]
name = "web-cpu"
resource_id = "${appautoscaling_target.web.resource_id}"
predefined_metric_type = "ECSServiceAverageCPUUtilization"
target_value = 60
scale_in_cooldown = 120
scale_out_cooldown = 60
"#;

const RESOURCES: usize = 13;

struct Aws {
    ec2: aws_sdk_ec2::Client,
    asg: aws_sdk_autoscaling::Client,
    ecs: aws_sdk_ecs::Client,
    aas: aws_sdk_applicationautoscaling::Client,
}

impl Aws {
    async fn new(emu: &Emulator) -> Aws {
        let conf = sdk_config(emu).await;
        Aws {
            ec2: aws_sdk_ec2::Client::new(&conf),
            asg: aws_sdk_autoscaling::Client::new(&conf),
            ecs: aws_sdk_ecs::Client::new(&conf),
            aas: aws_sdk_applicationautoscaling::Client::new(&conf),
        }
    }

    /// The default version's data of a launch template: (number, data).
    async fn default_version(
        &self,
        lt: &str,
    ) -> (i64, aws_sdk_ec2::types::ResponseLaunchTemplateData) {
        let out = self
            .ec2
            .describe_launch_template_versions()
            .launch_template_id(lt)
            .versions("$Default")
            .send()
            .await
            .unwrap();
        let v = &out.launch_template_versions()[0];
        (
            v.version_number().unwrap(),
            v.launch_template_data().unwrap().clone(),
        )
    }

    async fn group(&self, name: &str) -> Option<aws_sdk_autoscaling::types::AutoScalingGroup> {
        self.asg
            .describe_auto_scaling_groups()
            .auto_scaling_group_names(name)
            .send()
            .await
            .unwrap()
            .auto_scaling_groups()
            .first()
            .cloned()
    }
}

#[tokio::test]
async fn an_ec2_backed_cluster_is_applied_changed_and_destroyed_without_leftovers() {
    let emu = Emulator::start();
    let aws = Aws::new(&emu).await;
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

    // The launch template: the AMI from SSM, the user data base64 on the
    // wire and rendered from the desired state, spot and IMDSv2.
    let lt = ws.id("launch_template.node");
    let (version, data) = aws.default_version(&lt).await;
    assert_eq!(version, 1);
    assert!(data.image_id().unwrap().starts_with("ami-"), "{data:?}");
    let user_data =
        String::from_utf8(aws_smithy_types::base64::decode(data.user_data().unwrap()).unwrap())
            .unwrap();
    assert!(user_data.contains("ECS_CLUSTER=cap-app"), "{user_data}");
    assert_eq!(
        data.metadata_options()
            .unwrap()
            .http_put_response_hop_limit(),
        Some(2)
    );
    assert_eq!(
        data.instance_market_options()
            .unwrap()
            .spot_options()
            .unwrap()
            .max_price(),
        Some("0.05")
    );

    // The group: launched from version 1, protected from scale-in, hook on.
    let group_name = ws.id("autoscaling_group.nodes");
    let group = aws.group(&group_name).await.expect("the group exists");
    assert_eq!(group.launch_template().unwrap().version(), Some("1"));
    assert_eq!(group.new_instances_protected_from_scale_in(), Some(true));
    assert_eq!(group.instances().len(), 1, "{group:?}");
    let hooks = aws
        .asg
        .describe_lifecycle_hooks()
        .auto_scaling_group_name(&group_name)
        .send()
        .await
        .unwrap();
    let hook = &hooks.lifecycle_hooks()[0];
    assert_eq!(hook.lifecycle_hook_name(), Some("drain"));
    assert_eq!(
        hook.lifecycle_transition(),
        Some("autoscaling:EC2_INSTANCE_TERMINATING")
    );
    assert_eq!(hook.heartbeat_timeout(), Some(300));
    assert_eq!(hook.default_result(), Some("CONTINUE"));

    // The capacity provider on the group, associated with the cluster.
    let provider = aws
        .ecs
        .describe_capacity_providers()
        .capacity_providers(ws.id("ecs_capacity_provider.nodes"))
        .send()
        .await
        .unwrap()
        .capacity_providers()[0]
        .clone();
    // A create whose answer was lost finds it by its name and tags.
    let clients = reconcile::aws::Clients::from_config(&support::sdk_config(&emu).await);
    let cx = reconcile::kinds::Ctx { aws: &clients, stack: "cap" };
    let k = reconcile::kinds::lookup("ecs_capacity_provider").unwrap();
    assert_eq!(
        k.find_by_address(cx, "ecs_capacity_provider.nodes")
            .await
            .unwrap(),
        provider.capacity_provider_arn().map(str::to_owned)
    );
    assert_eq!(
        k.find_by_address(cx, "ecs_capacity_provider.other")
            .await
            .unwrap(),
        None
    );
    let asg_provider = provider.auto_scaling_group_provider().unwrap();
    assert_eq!(
        Some(asg_provider.auto_scaling_group_arn()),
        group.auto_scaling_group_arn()
    );
    assert_eq!(
        asg_provider
            .managed_termination_protection()
            .unwrap()
            .as_str(),
        "ENABLED"
    );
    assert_eq!(
        asg_provider.managed_scaling().unwrap().target_capacity(),
        Some(90)
    );
    let cluster = aws
        .ecs
        .describe_clusters()
        .clusters(ws.id("ecs_cluster.app"))
        .send()
        .await
        .unwrap()
        .clusters()[0]
        .clone();
    assert_eq!(cluster.capacity_providers(), [provider.name().unwrap()]);
    assert_eq!(
        cluster.default_capacity_provider_strategy()[0].capacity_provider(),
        provider.name().unwrap()
    );

    // The service scales between 1 and 4 on CPU.
    let targets = aws
        .aas
        .describe_scalable_targets()
        .service_namespace("ecs".into())
        .send()
        .await
        .unwrap();
    let target = &targets.scalable_targets()[0];
    assert_eq!(target.resource_id(), "service/cap-app/web");
    assert_eq!((target.min_capacity(), target.max_capacity()), (1, 4));
    let policies = aws
        .aas
        .describe_scaling_policies()
        .service_namespace("ecs".into())
        .send()
        .await
        .unwrap();
    let policy = &policies.scaling_policies()[0];
    assert_eq!(policy.policy_name(), "web-cpu");
    assert_eq!(
        policy
            .target_tracking_scaling_policy_configuration()
            .unwrap()
            .target_value(),
        60.0
    );

    // A bigger instance type: a new version of the same template, made the
    // default; the group moves to it and an instance refresh is asked for.
    let run = reconcile(&emu, &ws, &["plan", "--var", "instance_type=t3.small"]);
    assert!(
        run.stdout
            .contains("# launch_template.node will be updated in place"),
        "{run}"
    );
    assert!(
        run.stdout
            .contains("# autoscaling_group.nodes will be updated in place"),
        "{run}"
    );
    let run = reconcile(
        &emu,
        &ws,
        &["apply", "--auto-approve", "--var", "instance_type=t3.small"],
    );
    assert_eq!(ws.id("launch_template.node"), lt, "same template");
    let (version, data) = aws.default_version(&lt).await;
    assert_eq!(version, 2, "the new version is the default");
    assert_eq!(data.instance_type().unwrap().as_str(), "t3.small");
    let group = aws.group(&group_name).await.unwrap();
    assert_eq!(group.launch_template().unwrap().version(), Some("2"));
    // moto 5.2.5 has no StartInstanceRefresh: the apply gets as far as
    // asking for the refresh, which the emulator refuses. Against AWS the
    // refresh starts (DescribeInstanceRefreshes would list it).
    let refreshes = aws
        .asg
        .describe_instance_refreshes()
        .auto_scaling_group_name(&group_name)
        .send()
        .await;
    if let Ok(out) = refreshes {
        run.expect_success();
        assert_eq!(out.instance_refreshes().len(), 1, "{out:?}");
    } else {
        assert_ne!(run.code, 0, "{run}");
        assert!(
            run.stderr
                .contains("starting an instance refresh of cap-nodes"),
            "{run}"
        );
        // Said plainly, once: no five attempts of a call that cannot work.
        assert!(
            run.stderr
                .contains("StartInstanceRefresh is not implemented by the endpoint (HTTP 500"),
            "{run}"
        );
        assert_eq!(
            run.stderr
                .matches("not implemented by the endpoint")
                .count(),
            1,
            "{run}"
        );
    }
    // Clean, or (where the refresh could not start) the refresh still owed:
    // the next apply tries again rather than forget it.
    let run = reconcile(
        &emu,
        &ws,
        &[
            "plan",
            "--detailed-exitcode",
            "--var",
            "instance_type=t3.small",
        ],
    );
    if run.code == 2 {
        // A refresh still owed, not a setting lost.
        assert!(
            run.stdout
                .contains("# autoscaling_group.nodes will be updated in place")
                && run
                    .stdout
                    .lines()
                    .any(|l| l.contains("instance_refresh_owed") && l.contains("true -> false")),
            "{run}"
        );
        assert!(
            !run.stdout
                .lines()
                .any(|l| l.contains("instance_refresh ") && l.contains("null")),
            "{run}"
        );
        let again = reconcile(
            &emu,
            &ws,
            &["apply", "--auto-approve", "--var", "instance_type=t3.small"],
        );
        assert!(
            again
                .stderr
                .contains("starting an instance refresh of cap-nodes"),
            "{again}"
        );
    } else {
        run.expect_code(0);
    }

    // Destroy finishes (no hang on the capacity provider or the group) and
    // leaves nothing behind.
    let started = Instant::now();
    let run = reconcile(
        &emu,
        &ws,
        &[
            "destroy",
            "--auto-approve",
            "--var",
            "instance_type=t3.small",
        ],
    );
    run.expect_success();
    assert!(
        run.stdout.contains(&format!(
            "Destroy complete! Resources: {RESOURCES} destroyed."
        )),
        "{run}"
    );
    assert!(started.elapsed() < Duration::from_mins(2), "{run}");
    assert!(aws.group(&group_name).await.is_none());
    let templates = aws.ec2.describe_launch_templates().send().await.unwrap();
    assert!(templates.launch_templates().is_empty(), "{templates:?}");
    let providers = aws
        .ecs
        .describe_capacity_providers()
        .capacity_providers(provider.name().unwrap())
        .send()
        .await
        .unwrap();
    assert!(
        providers.capacity_providers().iter().all(|p| p
            .status()
            .map(aws_sdk_ecs::types::CapacityProviderStatus::as_str)
            == Some("INACTIVE")),
        "{providers:?}"
    );
    let clusters = aws
        .ecs
        .describe_clusters()
        .clusters("cap-app")
        .send()
        .await
        .unwrap();
    assert!(
        clusters
            .clusters()
            .iter()
            .all(|c| c.status() != Some("ACTIVE")),
        "{clusters:?}"
    );
    let targets = aws
        .aas
        .describe_scalable_targets()
        .service_namespace("ecs".into())
        .send()
        .await
        .unwrap();
    assert!(targets.scalable_targets().is_empty(), "{targets:?}");
    let policies = aws
        .aas
        .describe_scaling_policies()
        .service_namespace("ecs".into())
        .send()
        .await
        .unwrap();
    assert!(policies.scaling_policies().is_empty(), "{policies:?}");
    let instances = aws.ec2.describe_instances().send().await.unwrap();
    assert!(
        instances
            .reservations()
            .iter()
            .flat_map(aws_sdk_ec2::types::Reservation::instances)
            .all(|i| i
                .state()
                .and_then(|s| s.name())
                .map(aws_sdk_ec2::types::InstanceStateName::as_str)
                == Some("terminated")),
        "{instances:?}"
    );
}

/// Through the library: a create whose answer was lost is found again by its
/// address (issue 6's rule), a second delete of anything is a no-op, and the
/// group's delete scales in instances protected from scale-in.
#[tokio::test]
async fn launch_templates_groups_and_providers_are_found_by_address_and_deleted_twice() {
    use reconcile::aws::Clients;
    use reconcile::kinds::{self, Create, Ctx, Delete, Kind};
    use reconcile::value::{Attrs, Value};

    let emu = Emulator::start();
    let conf = sdk_config(&emu).await;
    let clients = Clients::from_config(&conf);
    let aws = Aws::new(&emu).await;
    let cx = Ctx { aws: &clients, stack: "lib" };
    let kind = |name: &str| -> &'static dyn Kind { kinds::lookup(name).unwrap() };
    let desired = |name: &str, fields: Vec<(&str, Value)>| -> Attrs {
        let given: Attrs = fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        kind(name).schema().with_defaults(&given)
    };
    let table = |pairs: Vec<(&str, Value)>| -> Value {
        Value::Map(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
    };

    let vpc = kind("vpc")
        .create(Create {
            cx,
            address: "vpc.v",
            desired: &desired("vpc", vec![("cidr_block", Value::str("10.9.0.0/16"))]),
        })
        .await
        .unwrap();
    let subnet = kind("subnet")
        .create(Create {
            cx,
            address: "subnet.s",
            desired: &desired(
                "subnet",
                vec![
                    ("vpc_id", Value::str(&vpc)),
                    ("cidr_block", Value::str("10.9.1.0/24")),
                ],
            ),
        })
        .await
        .unwrap();

    let lt_kind = kind("launch_template");
    let lt_desired = desired(
        "launch_template",
        vec![
            ("image_id", Value::str("ami-12c6146b")),
            ("instance_type", Value::str("t3.micro")),
        ],
    );
    let lt = lt_kind
        .create(Create { cx, address: "launch_template.n", desired: &lt_desired })
        .await
        .unwrap();
    assert_eq!(
        lt_kind
            .find_by_address(cx, "launch_template.n")
            .await
            .unwrap(),
        Some(lt.clone())
    );
    assert_eq!(
        lt_kind
            .find_by_address(cx, "launch_template.other")
            .await
            .unwrap(),
        None
    );
    let live = lt_kind
        .read_many(cx, std::slice::from_ref(&lt))
        .await
        .unwrap()[&lt]
        .clone();
    assert_eq!(live["latest_version"], Value::str("1"));
    assert_eq!(live["name"], Value::str("lib-n"));

    let asg_kind = kind("autoscaling_group");
    let asg_desired = desired(
        "autoscaling_group",
        vec![
            ("min_size", Value::Int(2)),
            ("max_size", Value::Int(2)),
            ("subnet_ids", Value::List(vec![Value::str(&subnet)])),
            (
                "launch_template",
                table(vec![
                    ("id", Value::str(&lt)),
                    ("version", Value::str("$Latest")),
                ]),
            ),
            ("protect_from_scale_in", Value::Bool(true)),
        ],
    );
    let group = asg_kind
        .create(Create { cx, address: "autoscaling_group.g", desired: &asg_desired })
        .await
        .unwrap();
    assert_eq!(
        asg_kind
            .find_by_address(cx, "autoscaling_group.g")
            .await
            .unwrap(),
        Some(group.clone())
    );
    assert_eq!(
        asg_kind
            .find_by_address(cx, "autoscaling_group.h")
            .await
            .unwrap(),
        None
    );
    let g = aws.group(&group).await.unwrap();
    assert_eq!(g.instances().len(), 2);
    assert!(
        g.instances()
            .iter()
            .all(|i| i.protected_from_scale_in() == Some(true))
    );

    let cp_kind = kind("ecs_capacity_provider");
    let cp = cp_kind
        .create(Create {
            cx,
            address: "ecs_capacity_provider.p",
            desired: &desired(
                "ecs_capacity_provider",
                vec![(
                    "auto_scaling_group_arn",
                    Value::str(g.auto_scaling_group_arn().unwrap()),
                )],
            ),
        })
        .await
        .unwrap();

    for (k, id) in [
        (cp_kind, cp.as_str()),
        (asg_kind, group.as_str()),
        (lt_kind, lt.as_str()),
    ] {
        k.delete(Delete { cx, id, live: &Attrs::new() })
            .await
            .unwrap();
        assert!(
            k.read_many(cx, &[id.to_owned()]).await.unwrap().is_empty(),
            "{id} after delete"
        );
        k.delete(Delete { cx, id, live: &Attrs::new() })
            .await
            .unwrap();
    }
    let instances = aws.ec2.describe_instances().send().await.unwrap();
    assert!(
        instances
            .reservations()
            .iter()
            .flat_map(aws_sdk_ec2::types::Reservation::instances)
            .all(|i| i
                .state()
                .and_then(|s| s.name())
                .map(aws_sdk_ec2::types::InstanceStateName::as_str)
                == Some("terminated")),
        "protected instances are terminated too: {instances:?}"
    );
}
