//! `reconcile adopt` against the emulator's CloudFormation and against a
//! Terraform state: stacks modeled on the seeds (tests/fixtures/adopt/),
//! each deployed as a single-level stack with its parameters, then adopted:
//! the desired state written validates, holds references, and plans clean
//! at once; every physical id of the stack's main resources is in the state.

use crate::support;

use std::collections::BTreeSet;
use std::path::Path;

use support::{Emulator, Workspace, reconcile, sdk_config};

async fn cloudformation(emu: &Emulator) -> aws_sdk_cloudformation::Client {
    aws_sdk_cloudformation::Client::new(&sdk_config(emu).await)
}

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/adopt")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Deploys a template as a stack (the emulator creates it at once) and
/// returns its resources as (logical id, type, physical id).
async fn deploy(
    cf: &aws_sdk_cloudformation::Client,
    stack: &str,
    template: &str,
    params: &[(&str, &str)],
) -> Vec<(String, String, String)> {
    use aws_sdk_cloudformation::types::{Capability, Parameter};
    cf.create_stack()
        .stack_name(stack)
        .template_body(fixture(template))
        .set_parameters(Some(
            params
                .iter()
                .map(|(k, v)| {
                    Parameter::builder()
                        .parameter_key(*k)
                        .parameter_value(*v)
                        .build()
                })
                .collect(),
        ))
        .capabilities(Capability::CapabilityNamedIam)
        .send()
        .await
        .unwrap_or_else(|e| panic!("creating stack {stack}: {e:?}"));
    let status = cf
        .describe_stacks()
        .stack_name(stack)
        .send()
        .await
        .unwrap()
        .stacks()[0]
        .stack_status()
        .map(|s| s.as_str().to_owned());
    assert_eq!(status.as_deref(), Some("CREATE_COMPLETE"), "stack {stack}");
    resources(cf, stack).await
}

async fn resources(
    cf: &aws_sdk_cloudformation::Client,
    stack: &str,
) -> Vec<(String, String, String)> {
    cf.list_stack_resources()
        .stack_name(stack)
        .send()
        .await
        .unwrap()
        .stack_resource_summaries()
        .iter()
        .map(|r| {
            (
                r.logical_resource_id().unwrap_or_default().to_owned(),
                r.resource_type().unwrap_or_default().to_owned(),
                r.physical_resource_id().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn physical(res: &[(String, String, String)], logical: &str) -> String {
    res.iter()
        .find(|r| r.0 == logical)
        .unwrap_or_else(|| panic!("{logical} is not in the stack"))
        .2
        .clone()
}

/// Every desired-state file adopt wrote, concatenated.
fn desired_text(ws: &Workspace) -> String {
    let mut files: Vec<_> = std::fs::read_dir(ws.desired_path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect()
}

/// The ids the state records, and what each is recorded as.
fn state_ids(ws: &Workspace) -> BTreeSet<String> {
    ws.state()["resources"]
        .as_object()
        .unwrap()
        .values()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

/// The types whose every physical id must be in the state (the issue's list).
const MAIN_TYPES: &[&str] = &[
    "AWS::EC2::VPC",
    "AWS::EC2::Subnet",
    "AWS::EC2::SecurityGroup",
    "AWS::ElasticLoadBalancingV2::LoadBalancer",
    "AWS::ECS::Cluster",
    "AWS::IAM::Role",
    "AWS::AutoScaling::AutoScalingGroup",
    "AWS::EC2::LaunchTemplate",
];

/// Adopts `stack` into the workspace's desired/ and state, then checks what
/// every adoption must give: it validates, holds references, plans clean,
/// and the state holds every main physical id (an ECS cluster by the ARN
/// that ends with its name).
fn adopt_and_check(
    emu: &Emulator,
    ws: &Workspace,
    stack: &str,
    res: &[(String, String, String)],
) -> String {
    let run = reconcile(
        emu,
        ws,
        &["adopt", "--from-cloudformation", stack, "--out", "desired"],
    );
    run.expect_success();
    reconcile(emu, ws, &["validate"]).expect_success();
    let text = desired_text(ws);
    assert!(
        text.contains("\"${"),
        "no reference in the adopted desired state:\n{text}"
    );
    reconcile(emu, ws, &["plan", "--detailed-exitcode"]).expect_code(0);
    let ids = state_ids(ws);
    for (logical, ty, pid) in res {
        if !MAIN_TYPES.contains(&ty.as_str()) {
            continue;
        }
        let held = ids.contains(pid) || ids.iter().any(|id| id.ends_with(&format!("/{pid}")));
        assert!(
            held,
            "{logical} ({ty}, {pid}) is not in the state: {ids:?}\n{run}"
        );
        assert!(
            run.stdout.contains(logical.as_str()),
            "{logical} not in the table:\n{run}"
        );
        assert!(
            text.contains(&format!("# CloudFormation: {logical} ({ty})")),
            "{text}"
        );
    }
    text
}

#[tokio::test]
async fn seed_001s_network_stack_is_adopted_with_references_and_plans_clean() {
    let emu = Emulator::start();
    let cf = cloudformation(&emu).await;
    let res = deploy(&cf, "refarch-vpc", "network.yaml", &[]).await;
    let ws = Workspace::new();
    let text = adopt_and_check(&emu, &ws, "refarch-vpc", &res);
    // The graph is the stack's graph.
    assert!(text.contains("vpc_id = \"${vpc.vpc.id}\""), "{text}");
    assert!(text.contains("\"${subnet.public_subnet1.id}\""), "{text}");
    assert!(
        text.contains("\"${security_group.load_balancer_security_group.id}\""),
        "{text}"
    );
    // Folded: the attachment is the gateway's vpc_id, the route and the
    // associations the route table's fields, the ingress the group's rule.
    assert!(
        text.contains("# also holds DefaultPublicRoute (AWS::EC2::Route) as `routes`"),
        "{text}"
    );
    assert!(
        text.contains(
            "# also holds InternetGatewayAttachment (AWS::EC2::VPCGatewayAttachment) as `vpc_id`"
        ),
        "{text}"
    );
    assert!(
        text.contains("gateway_id = \"${internet_gateway.internet_gateway.id}\""),
        "{text}"
    );
    assert!(!text.contains("aws:cloudformation"), "{text}");
    let stack = ws.read("desired/stack.toml");
    assert!(
        stack.contains("name = \"refarch-vpc\"") && stack.contains("region = \"us-east-1\""),
        "{stack}"
    );
    // The emulator's CloudFormation makes no subnet association (it
    // reports one with the route table's id): read live, there is none, so
    // none is written; the associations are still reported as the table's.
    assert!(text.contains("# also holds PublicSubnet1RouteTableAssociation (AWS::EC2::SubnetRouteTableAssociation) as `subnet_ids`"), "{text}");

    // A second adopt keeps what exists unless forced.
    let again = reconcile(
        &emu,
        &ws,
        &[
            "adopt",
            "--from-cloudformation",
            "refarch-vpc",
            "--out",
            "desired",
        ],
    );
    again.expect_code(1);
    assert!(again.stderr.contains("--force"), "{again}");
    reconcile(
        &emu,
        &ws,
        &[
            "adopt",
            "--from-cloudformation",
            "refarch-vpc",
            "--out",
            "desired",
            "--force",
        ],
    )
    .expect_success();
    reconcile(&emu, &ws, &["plan", "--detailed-exitcode"]).expect_code(0);
}

#[tokio::test]
async fn seed_002s_cluster_and_001s_service_stacks_are_adopted_and_plan_clean() {
    let emu = Emulator::start();
    let cf = cloudformation(&emu).await;
    let net = deploy(&cf, "refarch-vpc", "network.yaml", &[]).await;
    let subnets = format!(
        "{},{}",
        physical(&net, "PublicSubnet1"),
        physical(&net, "PublicSubnet2")
    );
    let cluster = deploy(
        &cf,
        "refarch-cluster",
        "cluster.yaml",
        &[
            ("VPC", &physical(&net, "VPC")),
            ("Subnets", &subnets),
            (
                "LoadBalancerSecurityGroup",
                &physical(&net, "LoadBalancerSecurityGroup"),
            ),
        ],
    )
    .await;
    let ws = Workspace::new();
    let text = adopt_and_check(&emu, &ws, "refarch-cluster", &cluster);
    // The profile names the role, the launch template the profile and the
    // host group, the group the template.
    assert!(text.contains("\"${iam_role.ecs_role.name}\""), "{text}");
    assert!(
        text.contains("\"${iam_instance_profile.ecs_instance_profile.name}\""),
        "{text}"
    );
    assert!(
        text.contains("\"${security_group.ecs_host_security_group.id}\""),
        "{text}"
    );
    assert!(
        text.contains("\"${launch_template.ecs_launch_template.id}\""),
        "{text}"
    );

    let service = deploy(
        &cf,
        "refarch-product",
        "service.yaml",
        &[
            ("VPC", &physical(&net, "VPC")),
            ("Cluster", "refarch"),
            ("Listener", &physical(&net, "LoadBalancerListener")),
        ],
    )
    .await;
    let ws = Workspace::new();
    let text = adopt_and_check(&emu, &ws, "refarch-product", &service);
    assert!(
        text.contains("\"${target_group.target_group.arn}\""),
        "{text}"
    );
    assert!(
        text.contains("\"${ecs_task_definition.task_definition.arn}\""),
        "{text}"
    );
    let ids = state_ids(&ws);
    assert!(ids.contains(&physical(&service, "Service")), "{ids:?}");
    assert!(ids.contains(&physical(&service, "ListenerRule")), "{ids:?}");
}

#[tokio::test]
async fn seed_004s_fargate_stack_is_adopted_and_plans_clean() {
    let emu = Emulator::start();
    let cf = cloudformation(&emu).await;
    let res = deploy(&cf, "fargate", "fargate.yaml", &[]).await;
    let ws = Workspace::new();
    let text = adopt_and_check(&emu, &ws, "fargate", &res);
    // The emulator drops the task definition's role ARNs: the listener,
    // the load balancer and the service carry the references here.
    assert!(
        text.contains("target_group_arn = \"${target_group.target_group.arn}\""),
        "{text}"
    );
    assert!(
        text.contains("load_balancer_arn = \"${load_balancer.load_balancer.arn}\""),
        "{text}"
    );
    assert!(
        text.contains("cluster = \"${ecs_cluster.cluster.arn}\""),
        "{text}"
    );
    // Names alike are not references: the service, the family and the
    // container are called `app` like the repository.
    assert!(
        !text.contains("${ecr_repository.repository.name}"),
        "{text}"
    );
    let ids = state_ids(&ws);
    for logical in [
        "Repository",
        "TaskDefinition",
        "Service",
        "TargetGroup",
        "Listener",
    ] {
        assert!(ids.contains(&physical(&res, logical)), "{logical}: {ids:?}");
    }
}

#[tokio::test]
async fn types_without_a_kind_are_reported_and_the_rest_adopted() {
    let emu = Emulator::start();
    let cf = cloudformation(&emu).await;
    let res = deploy(&cf, "mixed", "unsupported.yaml", &[]).await;
    let ws = Workspace::new();
    let run = reconcile(
        &emu,
        &ws,
        &[
            "adopt",
            "--from-cloudformation",
            "mixed",
            "--out",
            "desired",
        ],
    );
    run.expect_success();
    let out = format!("{}{}", run.stdout, run.stderr);
    for (logical, ty) in [("Queue", "AWS::SQS::Queue"), ("Topic", "AWS::SNS::Topic")] {
        let reported = out.lines().any(|l| {
            l.trim_start().starts_with(logical)
                && l.contains(ty)
                && l.contains("no reconcile kind for this type")
        });
        assert!(reported, "{logical} is not reported:\n{run}");
        let stack = ws.read("desired/stack.toml");
        assert!(
            stack.contains(&format!(
                "#   {logical} ({ty}): no reconcile kind for this type"
            )),
            "{stack}"
        );
    }
    let ids = state_ids(&ws);
    assert_eq!(
        ids,
        [physical(&res, "Vpc"), physical(&res, "Subnet")]
            .into_iter()
            .collect()
    );
    reconcile(&emu, &ws, &["plan", "--detailed-exitcode"]).expect_code(0);
}

#[tokio::test]
async fn a_terraform_state_is_adopted_and_plans_clean() {
    let emu = Emulator::start();
    let config = sdk_config(&emu).await;
    let ec2 = aws_sdk_ec2::Client::new(&config);
    let iam = aws_sdk_iam::Client::new(&config);
    let logs = aws_sdk_cloudwatchlogs::Client::new(&config);
    let vpc = ec2
        .create_vpc()
        .cidr_block("10.70.0.0/16")
        .send()
        .await
        .unwrap();
    let vpc = vpc.vpc().unwrap().vpc_id().unwrap().to_owned();
    let subnet = ec2
        .create_subnet()
        .vpc_id(&vpc)
        .cidr_block("10.70.1.0/24")
        .availability_zone("us-east-1a")
        .send()
        .await
        .unwrap();
    let subnet = subnet.subnet().unwrap().subnet_id().unwrap().to_owned();
    let sg = ec2
        .create_security_group()
        .group_name("web")
        .description("web")
        .vpc_id(&vpc)
        .send()
        .await
        .unwrap()
        .group_id()
        .unwrap()
        .to_owned();
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    let role = iam
        .create_role()
        .role_name("app-task")
        .assume_role_policy_document(trust)
        .send()
        .await
        .unwrap();
    let role_arn = role.role().unwrap().arn().to_owned();
    logs.create_log_group()
        .log_group_name("/ecs/app")
        .send()
        .await
        .unwrap();
    // The shape `terraform show` reads (format version 4), as Terraform
    // writes it for these resources, with a data source and a type
    // reconcile has no kind for.
    let tfstate = serde_json::json!({
        "version": 4,
        "terraform_version": "1.9.8",
        "serial": 12,
        "lineage": "0b6a4a2e-6d0b-4c55-9d3c-2f1c0f4b9a11",
        "outputs": {},
        "resources": [
            {"mode": "data", "type": "aws_availability_zones", "name": "all", "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
             "instances": [{"schema_version": 0, "attributes": {"id": "us-east-1"}}]},
            {"mode": "managed", "type": "aws_vpc", "name": "main", "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
             "instances": [{"schema_version": 1, "attributes": {"id": vpc, "cidr_block": "10.70.0.0/16"}}]},
            {"mode": "managed", "type": "aws_subnet", "name": "public", "module": "module.network", "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
             "instances": [{"index_key": "a", "schema_version": 1, "attributes": {"id": subnet, "vpc_id": vpc}}]},
            {"mode": "managed", "type": "aws_security_group", "name": "web", "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
             "instances": [{"schema_version": 1, "attributes": {"id": sg, "vpc_id": vpc}}]},
            {"mode": "managed", "type": "aws_iam_role", "name": "task", "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
             "instances": [{"schema_version": 0, "attributes": {"id": "app-task", "arn": role_arn}}]},
            {"mode": "managed", "type": "aws_cloudwatch_log_group", "name": "app", "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
             "instances": [{"schema_version": 0, "attributes": {"id": "/ecs/app", "name": "/ecs/app"}}]},
            {"mode": "managed", "type": "aws_sqs_queue", "name": "jobs", "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
             "instances": [{"schema_version": 0, "attributes": {"id": "https://sqs.us-east-1.amazonaws.com/123456789012/jobs"}}]}
        ]
    });
    let ws = Workspace::new();
    ws.write(
        "terraform.tfstate",
        &serde_json::to_string_pretty(&tfstate).unwrap(),
    );
    let run = reconcile(
        &emu,
        &ws,
        &[
            "adopt",
            "--from-terraform",
            "terraform.tfstate",
            "--out",
            "desired",
            "--stack-name",
            "legacy",
        ],
    );
    run.expect_success();
    assert!(
        run.stdout.contains("aws_vpc.main") && run.stdout.contains("-> vpc.main"),
        "{run}"
    );
    assert!(
        format!("{}{}", run.stdout, run.stderr).contains("aws_sqs_queue.jobs"),
        "{run}"
    );
    reconcile(&emu, &ws, &["validate"]).expect_success();
    let text = desired_text(&ws);
    assert!(text.contains("[subnet.network_public_a]"), "{text}");
    assert!(text.contains("vpc_id = \"${vpc.main.id}\""), "{text}");
    assert!(
        text.contains("# Terraform: aws_iam_role.task (aws_iam_role)"),
        "{text}"
    );
    assert!(ws.read("desired/stack.toml").contains("name = \"legacy\""));
    let ids = state_ids(&ws);
    let want: BTreeSet<String> = [
        vpc,
        subnet,
        sg,
        "app-task".to_owned(),
        "/ecs/app".to_owned(),
    ]
    .into_iter()
    .collect();
    assert_eq!(ids, want);
    reconcile(&emu, &ws, &["plan", "--detailed-exitcode"]).expect_code(0);

    // A state of another format version is refused, naming the file.
    ws.write("old.tfstate", r#"{"version": 3, "modules": []}"#);
    let old = reconcile(
        &emu,
        &ws,
        &[
            "adopt",
            "--from-terraform",
            "old.tfstate",
            "--out",
            "other",
            "--force",
        ],
    );
    old.expect_code(1);
    assert!(
        old.stderr.contains("old.tfstate:1:1") && old.stderr.contains("version 4"),
        "{old}"
    );
}

#[tokio::test]
async fn retiring_a_stack_keeps_every_adopted_resource_and_destroy_then_removes_them() {
    let emu = Emulator::start();
    let cf = cloudformation(&emu).await;
    let res = deploy(&cf, "legacy", "retire.yaml", &[]).await;
    let ws = Workspace::new();
    let run = reconcile(
        &emu,
        &ws,
        &[
            "adopt",
            "--from-cloudformation",
            "legacy",
            "--out",
            "desired",
            "--retire-stack",
            "--auto-approve",
        ],
    );
    run.expect_success();
    let out = format!("{}{}", run.stdout, run.stderr);
    // The queue was not adopted: named before the stack is deleted.
    assert!(out.contains("Queue (AWS::SQS::Queue)"), "{run}");
    let gone = cf.describe_stacks().stack_name("legacy").send().await;
    assert!(gone.is_err(), "the stack still exists: {gone:?}");

    let config = sdk_config(&emu).await;
    let logs = aws_sdk_cloudwatchlogs::Client::new(&config);
    let iam = aws_sdk_iam::Client::new(&config);
    let group = physical(&res, "Logs");
    let role = physical(&res, "Role");
    let listed = |groups: aws_sdk_cloudwatchlogs::operation::describe_log_groups::DescribeLogGroupsOutput| {
        groups.log_groups().iter().any(|g| g.log_group_name() == Some(group.as_str()))
    };
    assert!(listed(logs.describe_log_groups().send().await.unwrap()));
    iam.get_role()
        .role_name(&role)
        .send()
        .await
        .expect("the role still exists");
    reconcile(&emu, &ws, &["plan", "--detailed-exitcode"]).expect_code(0);

    reconcile(&emu, &ws, &["destroy", "--auto-approve"]).expect_success();
    assert!(!listed(logs.describe_log_groups().send().await.unwrap()));
    assert!(iam.get_role().role_name(&role).send().await.is_err());
}

#[tokio::test]
async fn nested_stacks_are_followed_and_a_missing_stack_is_a_clear_error() {
    let emu = Emulator::start();
    let config = sdk_config(&emu).await;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(true)
            .build(),
    );
    s3.create_bucket().bucket("templates").send().await.unwrap();
    s3.put_object()
        .bucket("templates")
        .key("child.yaml")
        .body(fixture("unsupported.yaml").into_bytes().into())
        .send()
        .await
        .unwrap();
    // The emulator reads a nested stack's template from its own S3; the
    // parent reads no `Outputs` of the child (that fails there).
    let parent = "Resources:\n  Logs:\n    Type: AWS::Logs::LogGroup\n    Properties:\n      LogGroupName: /parent/app\n  Network:\n    Type: AWS::CloudFormation::Stack\n    Properties:\n      TemplateURL: https://s3.amazonaws.com/templates/child.yaml\n";
    let cf = cloudformation(&emu).await;
    cf.create_stack()
        .stack_name("parent")
        .template_body(parent)
        .send()
        .await
        .unwrap();
    let ws = Workspace::new();
    let run = reconcile(
        &emu,
        &ws,
        &[
            "adopt",
            "--from-cloudformation",
            "parent",
            "--out",
            "desired",
        ],
    );
    run.expect_success();
    for line in [
        "Network.Vpc",
        "-> vpc.network_vpc",
        "Network.Subnet",
        "-> log_group.logs",
    ] {
        assert!(run.stdout.contains(line), "{line}:\n{run}");
    }
    let text = desired_text(&ws);
    assert!(
        text.contains("vpc_id = \"${vpc.network_vpc.id}\""),
        "{text}"
    );
    assert!(
        text.contains("#   Network.Queue (AWS::SQS::Queue)"),
        "{text}"
    );
    reconcile(&emu, &ws, &["plan", "--detailed-exitcode"]).expect_code(0);

    // Retiring works stack by stack, not through a parent.
    let retire = reconcile(
        &emu,
        &ws,
        &[
            "adopt",
            "--from-cloudformation",
            "parent",
            "--out",
            "desired",
            "--force",
            "--retire-stack",
            "--auto-approve",
        ],
    );
    retire.expect_code(1);
    assert!(retire.stderr.contains("nested stacks"), "{retire}");
    assert!(
        cf.describe_stacks()
            .stack_name("parent")
            .send()
            .await
            .is_ok()
    );

    let ws = Workspace::new();
    let missing = reconcile(
        &emu,
        &ws,
        &["adopt", "--from-cloudformation", "nope", "--out", "desired"],
    );
    missing.expect_code(1);
    assert!(
        missing
            .stderr
            .contains("no CloudFormation stack named nope"),
        "{missing}"
    );
    assert!(!missing.stderr.contains("panicked"), "{missing}");
    assert!(!ws.state_path().exists());
}

/// CloudFormation's answers as AWS shapes them, for what the emulator does
/// not do: several pages, nested stacks named by ARN, stacks that take
/// time to update and delete.
mod scripted_cloudformation {
    use crate::support::scripted::{Answer, Scripted, clients, ok};

    const NS: &str = "http://cloudformation.amazonaws.com/doc/2010-05-15/";

    fn page(members: &[(&str, &str, &str)], next: Option<&str>) -> Answer {
        let members: String = members
            .iter()
            .map(|(l, t, p)| {
                format!(
                    "<member><LogicalResourceId>{l}</LogicalResourceId><PhysicalResourceId>{p}</PhysicalResourceId><ResourceType>{t}</ResourceType><LastUpdatedTimestamp>2026-11-01T10:00:00Z</LastUpdatedTimestamp><ResourceStatus>CREATE_COMPLETE</ResourceStatus></member>"
                )
            })
            .collect();
        let next = next.map_or(String::new(), |n| format!("<NextToken>{n}</NextToken>"));
        ok(format!(
            "<ListStackResourcesResponse xmlns=\"{NS}\"><ListStackResourcesResult><StackResourceSummaries>{members}</StackResourceSummaries>{next}</ListStackResourcesResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></ListStackResourcesResponse>"
        ))
    }

    fn stack(status: &str) -> Answer {
        ok(format!(
            "<DescribeStacksResponse xmlns=\"{NS}\"><DescribeStacksResult><Stacks><member><StackId>arn:aws:cloudformation:us-east-1:123456789012:stack/web/1</StackId><StackName>web</StackName><CreationTime>2026-11-01T10:00:00Z</CreationTime><StackStatus>{status}</StackStatus><Parameters><member><ParameterKey>Env</ParameterKey><ParameterValue>prod</ParameterValue></member></Parameters></member></Stacks></DescribeStacksResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></DescribeStacksResponse>"
        ))
    }

    fn validation_error(message: &str) -> Answer {
        Answer {
            status: 400,
            body: format!(
                "<ErrorResponse xmlns=\"{NS}\"><Error><Type>Sender</Type><Code>ValidationError</Code><Message>{message}</Message></Error><RequestId>r</RequestId></ErrorResponse>"
            ),
        }
    }

    fn template() -> Answer {
        ok(format!(
            "<GetTemplateResponse xmlns=\"{NS}\"><GetTemplateResult><TemplateBody>Resources:\n  Vpc:\n    Type: AWS::EC2::VPC\n    Properties:\n      CidrBlock: 10.0.0.0/16\n  Queue:\n    Type: AWS::SQS::Queue\n</TemplateBody></GetTemplateResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></GetTemplateResponse>"
        ))
    }

    fn empty(op: &str) -> Answer {
        ok(format!(
            "<{op}Response xmlns=\"{NS}\"><{op}Result><StackId>arn:aws:cloudformation:us-east-1:123456789012:stack/web/1</StackId></{op}Result><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></{op}Response>"
        ))
    }

    #[tokio::test]
    async fn every_page_is_listed_and_nested_stacks_are_followed_by_arn() {
        let nested = "arn:aws:cloudformation:us-east-1:123456789012:stack/web-Network-1ABC/2";
        let s = Scripted::start(vec![(
            "ListStackResources",
            vec![
                page(
                    &[
                        ("Network", "AWS::CloudFormation::Stack", nested),
                        ("Hook", "Custom::Seeder", "seed-1"),
                    ],
                    Some("page-2"),
                ),
                page(&[("AppLogs", "AWS::Logs::LogGroup", "/web/app")], None),
                page(&[("VPC", "AWS::EC2::VPC", "vpc-0123456789abcdef0")], None),
            ],
        )]);
        let aws = clients(&s, aws_config::retry::RetryConfig::disabled()).await;
        let (found, skipped, nested_seen) =
            reconcile::adopt::cloudformation::list(&aws.cloudformation, "web")
                .await
                .unwrap();
        assert_eq!(s.count("ListStackResources"), 3);
        assert!(nested_seen);
        let got: Vec<(&str, &str, &str)> = found
            .iter()
            .map(|f| {
                (
                    f.logical_id.as_str(),
                    f.name.as_str(),
                    f.physical_id.as_str(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("AppLogs", "app_logs", "/web/app"),
                ("Network.VPC", "network_vpc", "vpc-0123456789abcdef0"),
            ]
        );
        assert_eq!(skipped.len(), 1);
        assert_eq!(skipped[0].logical_id, "Hook");
        assert!(
            skipped[0].reason.starts_with("custom resource"),
            "{:?}",
            skipped[0]
        );
    }

    #[tokio::test]
    async fn retiring_waits_for_the_update_and_the_delete_to_finish() {
        let s = Scripted::start(vec![
            (
                "DescribeStacks",
                vec![
                    stack("CREATE_COMPLETE"),
                    stack("UPDATE_IN_PROGRESS"),
                    stack("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"),
                    stack("UPDATE_COMPLETE"),
                    stack("DELETE_IN_PROGRESS"),
                    validation_error(
                        "Stack with id arn:aws:cloudformation:us-east-1:123456789012:stack/web/1 does not exist",
                    ),
                ],
            ),
            ("GetTemplate", vec![template()]),
            ("UpdateStack", vec![empty("UpdateStack")]),
            (
                "DeleteStack",
                vec![ok(format!(
                    "<DeleteStackResponse xmlns=\"{NS}\"><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></DeleteStackResponse>"
                ))],
            ),
        ]);
        let aws = clients(&s, aws_config::retry::RetryConfig::disabled()).await;
        let keep = ["Vpc".to_owned()].into_iter().collect();
        reconcile::adopt::cloudformation::retire(&aws.cloudformation, "web", &keep)
            .await
            .unwrap();
        assert_eq!(
            s.calls(),
            vec![
                "DescribeStacks",
                "GetTemplate",
                "UpdateStack",
                "DescribeStacks",
                "DescribeStacks",
                "DescribeStacks",
                "DeleteStack",
                "DescribeStacks",
                "DescribeStacks",
            ]
        );
    }

    #[tokio::test]
    async fn a_rolled_back_update_stops_before_the_delete() {
        let s = Scripted::start(vec![
            (
                "DescribeStacks",
                vec![stack("CREATE_COMPLETE"), stack("UPDATE_ROLLBACK_COMPLETE")],
            ),
            ("GetTemplate", vec![template()]),
            ("UpdateStack", vec![empty("UpdateStack")]),
        ]);
        let aws = clients(&s, aws_config::retry::RetryConfig::disabled()).await;
        let keep = ["Vpc".to_owned()].into_iter().collect();
        let e = reconcile::adopt::cloudformation::retire(&aws.cloudformation, "web", &keep)
            .await
            .unwrap_err();
        assert!(e.to_string().contains("UPDATE_ROLLBACK_COMPLETE"), "{e}");
        assert_eq!(s.count("DeleteStack"), 0);
    }
}
