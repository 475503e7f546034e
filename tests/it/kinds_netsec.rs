//! Network security and sharing through the CLI against the emulator:
//! security groups that admit their own members and each other (standalone
//! rule resources, no dependency cycle), VPC endpoints for private subnets
//! without NAT, and a stack that reads another stack's outputs.

use crate::support;

use aws_sdk_ec2::types::{Filter, IpPermission, IpRange, SecurityGroupRule};
use support::{Emulator, Workspace, reconcile, sdk_config};

const GROUPS: &str = r#"
[stack]
name = "sgr"
region = "us-east-1"

[vpc.main]
cidr_block = "10.0.0.0/16"

# Containers that accept traffic from their own group; a private load
# balancer and its instances admitting each other.
[security_group.app]
vpc_id = "${vpc.main.id}"

[security_group.alb]
vpc_id = "${vpc.main.id}"

[security_group.instance]
vpc_id = "${vpc.main.id}"

# The same for one group, inline.
[security_group.gossip]
vpc_id = "${vpc.main.id}"
ingress = [{ from_port = 7946, to_port = 7946, self = true, description = "gossip" }]

[security_group_ingress_rule.app_self]
security_group_id = "${security_group.app.id}"
from_port = 8080
to_port = 8080
referenced_security_group_id = "${security_group.app.id}"

[security_group_ingress_rule.alb_from_instance]
security_group_id = "${security_group.alb.id}"
from_port = 80
to_port = 80
referenced_security_group_id = "${security_group.instance.id}"

[security_group_ingress_rule.instance_from_alb]
security_group_id = "${security_group.instance.id}"
from_port = 32768
to_port = 65535
referenced_security_group_id = "${security_group.alb.id}"

[security_group_egress_rule.alb_to_instance]
security_group_id = "${security_group.alb.id}"
protocol = "-1"
referenced_security_group_id = "${security_group.instance.id}"

[security_group_ingress_rule.https]
security_group_id = "${security_group.alb.id}"
from_port = 443
to_port = 443
cidr_ipv4 = "10.0.0.0/16"
description = "from the VPC"
"#;

async fn rules_of(ec2: &aws_sdk_ec2::Client, group: &str) -> Vec<SecurityGroupRule> {
    ec2.describe_security_group_rules()
        .filters(Filter::builder().name("group-id").values(group).build())
        .send()
        .await
        .unwrap()
        .security_group_rules()
        .to_vec()
}

/// (egress, protocol, from, to, source) of each rule of a group, sorted.
async fn rule_shapes(
    ec2: &aws_sdk_ec2::Client,
    group: &str,
) -> Vec<(bool, String, i32, i32, String)> {
    let mut out: Vec<_> = rules_of(ec2, group)
        .await
        .iter()
        .map(|r| {
            let source = r
                .cidr_ipv4()
                .map(str::to_owned)
                .or_else(|| {
                    r.referenced_group_info()
                        .and_then(|g| g.group_id())
                        .map(str::to_owned)
                })
                .unwrap_or_default();
            (
                r.is_egress().unwrap_or_default(),
                r.ip_protocol().unwrap_or_default().to_owned(),
                r.from_port().unwrap_or_default(),
                r.to_port().unwrap_or_default(),
                source,
            )
        })
        .collect();
    out.sort();
    out
}

fn tcp(from: i32, to: i32, cidr: &str) -> IpPermission {
    IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(from)
        .to_port(to)
        .ip_ranges(IpRange::builder().cidr_ip(cidr).build())
        .build()
}

#[tokio::test]
async fn groups_admitting_themselves_and_each_other_apply_clean_lose_hand_added_rules_and_destroy()
{
    let emu = Emulator::start();
    let ec2 = support::ec2(&emu).await;
    let ws = Workspace::new();
    ws.write("desired/main.toml", GROUPS);

    let run = reconcile(&emu, &ws, &["apply", "--auto-approve"]);
    run.expect_success();
    assert!(
        run.stdout
            .contains("Resources: 10 added, 0 changed, 0 destroyed."),
        "{run}"
    );
    reconcile(&emu, &ws, &["plan", "--detailed-exitcode"]).expect_code(0);

    let (app, alb, instance, gossip) = (
        ws.id("security_group.app"),
        ws.id("security_group.alb"),
        ws.id("security_group.instance"),
        ws.id("security_group.gossip"),
    );
    let tcp_rule = |egress: bool, from: i32, to: i32, source: &str| {
        (egress, "tcp".to_owned(), from, to, source.to_owned())
    };
    assert_eq!(
        rule_shapes(&ec2, &app).await,
        [tcp_rule(false, 8080, 8080, &app)]
    );
    assert_eq!(
        rule_shapes(&ec2, &alb).await,
        [
            tcp_rule(false, 80, 80, &instance),
            tcp_rule(false, 443, 443, "10.0.0.0/16"),
            (true, "-1".to_owned(), -1, -1, instance.clone()),
        ]
    );
    assert_eq!(
        rule_shapes(&ec2, &instance).await,
        [tcp_rule(false, 32768, 65535, &alb)]
    );
    // `self = true` is the group's own id in AWS.
    assert_eq!(
        rule_shapes(&ec2, &gossip).await,
        [tcp_rule(false, 7946, 7946, &gossip)]
    );
    // Each standalone rule is its own resource with its own id and tags.
    let https = ws.id("security_group_ingress_rule.https");
    assert!(https.starts_with("sgr-"), "{https}");
    let tagged = rules_of(&ec2, &alb).await;
    let https_rule = tagged
        .iter()
        .find(|r| r.security_group_rule_id() == Some(https.as_str()))
        .expect("the https rule");
    assert!(
        https_rule
            .tags()
            .iter()
            .any(|t| t.key() == Some("reconcile:address")
                && t.value() == Some("security_group_ingress_rule.https")),
        "{https_rule:?}"
    );

    // Rules added by hand, on a group whose rules are all standalone and on
    // one with inline rules: drift of those groups, removed by the next apply.
    ec2.authorize_security_group_ingress()
        .group_id(&alb)
        .ip_permissions(tcp(22, 22, "10.9.0.0/16"))
        .send()
        .await
        .unwrap();
    ec2.authorize_security_group_egress()
        .group_id(&instance)
        .ip_permissions(tcp(5432, 5432, "10.8.0.0/16"))
        .send()
        .await
        .unwrap();
    ec2.authorize_security_group_ingress()
        .group_id(&gossip)
        .ip_permissions(tcp(23, 23, "0.0.0.0/0"))
        .send()
        .await
        .unwrap();
    let run = reconcile(&emu, &ws, &["plan", "--detailed-exitcode"]);
    run.expect_code(2);
    for g in ["alb", "instance", "gossip"] {
        assert!(
            run.stdout
                .contains(&format!("# security_group.{g} will be updated in place")),
            "{g}\n{run}"
        );
    }
    assert!(run.stdout.contains("10.9.0.0/16"), "{run}");
    assert!(
        !run.stdout.contains("security_group_ingress_rule."),
        "{run}"
    );
    reconcile(&emu, &ws, &["apply", "--auto-approve"]).expect_success();
    assert_eq!(rule_shapes(&ec2, &alb).await.len(), 3);
    assert!(
        !rule_shapes(&ec2, &alb)
            .await
            .iter()
            .any(|r| r.4 == "10.9.0.0/16")
    );
    assert_eq!(
        rule_shapes(&ec2, &instance).await,
        [tcp_rule(false, 32768, 65535, &alb)]
    );
    assert_eq!(
        rule_shapes(&ec2, &gossip).await,
        [tcp_rule(false, 7946, 7946, &gossip)]
    );
    reconcile(&emu, &ws, &["plan", "--detailed-exitcode"]).expect_code(0);

    // A standalone rule revoked by hand is the rule's drift: made again.
    let app_self = ws.id("security_group_ingress_rule.app_self");
    ec2.revoke_security_group_ingress()
        .group_id(&app)
        .security_group_rule_ids(&app_self)
        .send()
        .await
        .unwrap();
    let run = reconcile(&emu, &ws, &["plan", "--detailed-exitcode"]);
    run.expect_code(2);
    assert!(
        run.stdout
            .contains("# security_group_ingress_rule.app_self will be created"),
        "{run}"
    );
    assert!(!run.stdout.contains("# security_group.app "), "{run}");
    reconcile(&emu, &ws, &["apply", "--auto-approve"]).expect_success();
    assert_eq!(
        rule_shapes(&ec2, &app).await,
        [tcp_rule(false, 8080, 8080, &app)]
    );
    reconcile(&emu, &ws, &["plan", "--detailed-exitcode"]).expect_code(0);

    // A rule's description changes in place: the same rule id.
    ws.write(
        "desired/main.toml",
        &GROUPS.replace("\"from the VPC\"", "\"HTTPS from the VPC\""),
    );
    let run = reconcile(&emu, &ws, &["plan", "--detailed-exitcode"]);
    run.expect_code(2);
    assert!(
        run.stdout
            .contains("# security_group_ingress_rule.https will be updated in place"),
        "{run}"
    );
    reconcile(&emu, &ws, &["apply", "--auto-approve"]).expect_success();
    assert_eq!(ws.id("security_group_ingress_rule.https"), https);
    let described = rules_of(&ec2, &alb).await;
    let rule = described
        .iter()
        .find(|r| r.security_group_rule_id() == Some(https.as_str()))
        .expect("the https rule");
    assert_eq!(rule.description(), Some("HTTPS from the VPC"));
    reconcile(&emu, &ws, &["plan", "--detailed-exitcode"]).expect_code(0);

    let run = reconcile(&emu, &ws, &["destroy", "--auto-approve"]);
    run.expect_success();
    let groups = ec2
        .describe_security_groups()
        .filters(
            Filter::builder()
                .name("tag:reconcile:stack")
                .values("sgr")
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert!(groups.security_groups().is_empty(), "{groups:?}");
    for g in [&app, &alb, &instance, &gossip] {
        assert!(rules_of(&ec2, g).await.is_empty(), "{g}");
    }
    let vpcs = ec2.describe_vpcs().send().await.unwrap();
    assert!(
        vpcs.vpcs().iter().all(|v| v.is_default() == Some(true)),
        "{vpcs:?}"
    );
}

#[test]
fn groups_whose_inline_rules_name_each_other_are_refused_with_the_way_out() {
    let ws = Workspace::new();
    ws.write(
        "desired/main.toml",
        r#"
[stack]
name = "cyc"
region = "us-east-1"

[vpc.main]
cidr_block = "10.0.0.0/16"

[security_group.alb]
vpc_id = "${vpc.main.id}"
egress = [{ from_port = 80, to_port = 80, source_security_group_ids = ["${security_group.instance.id}"] }]

[security_group.instance]
vpc_id = "${vpc.main.id}"
ingress = [{ from_port = 80, to_port = 80, source_security_group_ids = ["${security_group.alb.id}"] }]
"#,
    );
    let run = support::reconcile_in(None, &ws, &["validate"]);
    run.expect_code(1);
    assert!(
        run.stderr.contains(
            "dependency cycle: security_group.alb -> security_group.instance -> security_group.alb"
        ),
        "{run}"
    );
    assert!(
        run.stderr
            .contains("move those rules to `security_group_ingress_rule`"),
        "{run}"
    );
    assert!(!run.stderr.contains("panicked"), "{run}");
}

#[test]
fn a_rule_with_two_sources_or_none_is_refused_at_its_place() {
    let ws = Workspace::new();
    ws.write(
        "desired/main.toml",
        r#"[stack]
name = "two"
region = "us-east-1"

[security_group_ingress_rule.both]
security_group_id = "sg-1"
cidr_ipv4 = "10.0.0.0/8"
prefix_list_id = "pl-1"

[security_group_egress_rule.none]
security_group_id = "sg-1"
"#,
    );
    let run = support::reconcile_in(None, &ws, &["validate"]);
    run.expect_code(1);
    assert!(
        run.stderr.contains("main.toml:8:1")
            && run
                .stderr
                .contains("security_group_ingress_rule.both: `prefix_list_id` cannot be set together with `cidr_ipv4`"),
        "{run}"
    );
    assert!(
        run.stderr
            .contains("security_group_egress_rule.none: `cidr_ipv4` (or another of"),
        "{run}"
    );
}

const ENDPOINTS: &str = r#"
[stack]
name = "vpce"
region = "us-east-1"

[vpc.main]
cidr_block = "10.1.0.0/16"
enable_dns_support = true
enable_dns_hostnames = true

[subnet.a]
vpc_id = "${vpc.main.id}"
cidr_block = "10.1.1.0/24"
availability_zone = "us-east-1a"

[subnet.b]
vpc_id = "${vpc.main.id}"
cidr_block = "10.1.2.0/24"
availability_zone = "us-east-1b"

[route_table.private]
vpc_id = "${vpc.main.id}"

[route_table.other]
vpc_id = "${vpc.main.id}"

[security_group.endpoints]
vpc_id = "${vpc.main.id}"
ingress = [{ from_port = 443, to_port = 443, cidr_blocks = ["10.1.0.0/16"] }]

[security_group.extra]
vpc_id = "${vpc.main.id}"

[vpc_endpoint.s3]
vpc_id = "${vpc.main.id}"
service_name = "com.amazonaws.${stack.region}.s3"
route_table_ids = ROUTE_TABLES

[vpc_endpoint.logs]
vpc_id = "${vpc.main.id}"
type = "Interface"
service_name = "com.amazonaws.${stack.region}.logs"
subnet_ids = SUBNETS
security_group_ids = GROUPS
private_dns_enabled = true
tags = { Name = "NAME" }
"#;

fn endpoints(route_tables: &str, subnets: &str, groups: &str, name: &str) -> String {
    ENDPOINTS
        .replace("ROUTE_TABLES", route_tables)
        .replace("SUBNETS", subnets)
        .replace("GROUPS", groups)
        .replace("NAME", name)
}

async fn endpoint(ec2: &aws_sdk_ec2::Client, id: &str) -> aws_sdk_ec2::types::VpcEndpoint {
    ec2.describe_vpc_endpoints()
        .vpc_endpoint_ids(id)
        .send()
        .await
        .unwrap()
        .vpc_endpoints()[0]
        .clone()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[tokio::test]
async fn vpc_endpoints_are_created_read_back_changed_in_place_and_deleted() {
    let emu = Emulator::start();
    let ec2 = support::ec2(&emu).await;
    let ws = Workspace::new();
    ws.write(
        "desired/main.toml",
        &endpoints(
            r#"["${route_table.private.id}"]"#,
            r#"["${subnet.a.id}"]"#,
            r#"["${security_group.endpoints.id}"]"#,
            "logs",
        ),
    );
    let run = reconcile(&emu, &ws, &["apply", "--auto-approve"]);
    run.expect_success();
    assert!(
        run.stdout
            .contains("Resources: 9 added, 0 changed, 0 destroyed."),
        "{run}"
    );
    reconcile(&emu, &ws, &["plan", "--detailed-exitcode"]).expect_code(0);

    let (s3, logs) = (ws.id("vpc_endpoint.s3"), ws.id("vpc_endpoint.logs"));
    let e = endpoint(&ec2, &s3).await;
    assert_eq!(e.service_name(), Some("com.amazonaws.us-east-1.s3"));
    assert_eq!(e.route_table_ids(), [ws.id("route_table.private")]);
    let e = endpoint(&ec2, &logs).await;
    assert_eq!(
        e.vpc_endpoint_type()
            .map(aws_sdk_ec2::types::VpcEndpointType::as_str),
        Some("Interface")
    );
    assert_eq!(e.subnet_ids(), [ws.id("subnet.a")]);
    assert_eq!(
        e.groups()
            .iter()
            .filter_map(|g| g.group_id())
            .collect::<Vec<_>>(),
        [ws.id("security_group.endpoints")]
    );
    assert_eq!(e.private_dns_enabled(), Some(true));
    assert!(
        e.tags().iter().any(|t| t.key() == Some("reconcile:address")
            && t.value() == Some("vpc_endpoint.logs")),
        "{e:?}"
    );
    let state = ws.state();
    let dns = &state["resources"]["vpc_endpoint.logs"]["attributes"]["dns_names"];
    assert!(dns.as_array().is_some_and(|d| !d.is_empty()), "{dns}");

    // Another route table, a second subnet, another group, a new tag: all
    // in place, the same endpoints.
    ws.write(
        "desired/main.toml",
        &endpoints(
            r#"["${route_table.private.id}", "${route_table.other.id}"]"#,
            r#"["${subnet.a.id}", "${subnet.b.id}"]"#,
            r#"["${security_group.extra.id}"]"#,
            "logs-2",
        ),
    );
    let run = reconcile(&emu, &ws, &["plan", "--detailed-exitcode"]);
    run.expect_code(2);
    for e in ["s3", "logs"] {
        assert!(
            run.stdout
                .contains(&format!("# vpc_endpoint.{e} will be updated in place")),
            "{run}"
        );
    }
    let run = reconcile(&emu, &ws, &["apply", "--auto-approve"]);
    run.expect_success();
    assert!(
        run.stdout
            .contains("Resources: 0 added, 2 changed, 0 destroyed."),
        "{run}"
    );
    assert_eq!(ws.id("vpc_endpoint.s3"), s3);
    assert_eq!(ws.id("vpc_endpoint.logs"), logs);
    let e = endpoint(&ec2, &s3).await;
    assert_eq!(
        sorted(e.route_table_ids().to_vec()),
        sorted(vec![
            ws.id("route_table.private"),
            ws.id("route_table.other")
        ])
    );
    let e = endpoint(&ec2, &logs).await;
    assert_eq!(
        sorted(e.subnet_ids().to_vec()),
        sorted(vec![ws.id("subnet.a"), ws.id("subnet.b")])
    );
    assert_eq!(
        e.groups()
            .iter()
            .filter_map(|g| g.group_id())
            .collect::<Vec<_>>(),
        [ws.id("security_group.extra")]
    );
    assert!(
        e.tags()
            .iter()
            .any(|t| t.key() == Some("Name") && t.value() == Some("logs-2")),
        "{e:?}"
    );
    reconcile(&emu, &ws, &["plan", "--detailed-exitcode"]).expect_code(0);

    // Import: forget the gateway endpoint, adopt it again by id.
    reconcile(&emu, &ws, &["state", "rm", "vpc_endpoint.s3"]).expect_success();
    reconcile(&emu, &ws, &["import", "vpc_endpoint.s3", &s3]).expect_success();
    reconcile(&emu, &ws, &["plan", "--detailed-exitcode"]).expect_code(0);

    reconcile(&emu, &ws, &["destroy", "--auto-approve"]).expect_success();
    let left = ec2.describe_vpc_endpoints().send().await.unwrap();
    assert!(
        left.vpc_endpoints()
            .iter()
            .all(|e| e.state().map(aws_sdk_ec2::types::State::as_str) == Some("deleted")),
        "{left:?}"
    );
}

const NETWORK: &str = r#"
[stack]
name = "network"
region = "us-east-1"

[vpc.shared]
cidr_block = "10.2.0.0/16"

[subnet.private]
vpc_id = "${vpc.shared.id}"
cidr_block = "10.2.1.0/24"
availability_zone = "us-east-1a"

[outputs]
vpc_id = "${vpc.shared.id}"
private_subnet_id = "${subnet.private.id}"
"#;

fn app(source: &str, output: &str) -> String {
    format!(
        r#"
[stack]
name = "app"
region = "us-east-1"

[lookups.network]
type = "stack_outputs"
{source}

[security_group.web]
vpc_id = "${{lookups.network.outputs.{output}}}"
"#
    )
}

#[tokio::test]
async fn a_stack_reads_another_stacks_outputs_from_its_state_file_or_its_s3_backend() {
    let emu = Emulator::start();
    let ec2 = support::ec2(&emu).await;

    // The shared network, its state in a local file.
    let net = Workspace::new();
    net.write("desired/main.toml", NETWORK);
    reconcile(&emu, &net, &["apply", "--auto-approve"]).expect_success();
    let vpc = net.id("vpc.shared");
    let path = net.state_path().display().to_string();

    let ws = Workspace::new();
    // Before the network exists in that place: an error naming the lookup.
    ws.write(
        "desired/main.toml",
        &app(&format!("path = \"{path}.missing\""), "vpc_id"),
    );
    let run = reconcile(&emu, &ws, &["plan"]);
    run.expect_code(1);
    assert!(
        run.stderr.contains("main.toml:6:")
            && run.stderr.contains(": lookup `network`: no state at ")
            && run.stderr.contains("apply that stack first"),
        "{run}"
    );
    // An output the network does not publish: named with what it has.
    ws.write(
        "desired/main.toml",
        &app(&format!("path = \"{path}\""), "vpc"),
    );
    let run = reconcile(&emu, &ws, &["plan"]);
    run.expect_code(1);
    assert!(
        run.stderr.contains("security_group.web")
            && run.stderr.contains("no key \"vpc\"")
            && run.stderr.contains("lookups.network.outputs.vpc")
            && run.stderr.contains("vpc_id"),
        "{run}"
    );

    ws.write(
        "desired/main.toml",
        &app(&format!("path = \"{path}\""), "vpc_id"),
    );
    reconcile(&emu, &ws, &["apply", "--auto-approve"]).expect_success();
    reconcile(&emu, &ws, &["plan", "--detailed-exitcode"]).expect_code(0);
    let web = ws.id("security_group.web");
    let groups = ec2
        .describe_security_groups()
        .group_ids(&web)
        .send()
        .await
        .unwrap();
    assert_eq!(groups.security_groups()[0].vpc_id(), Some(vpc.as_str()));
    reconcile(&emu, &ws, &["destroy", "--auto-approve"]).expect_success();

    // The same network with its state in S3.
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk_config(&emu).await)
            .force_path_style(true)
            .build(),
    );
    s3.create_bucket()
        .bucket("shared-state")
        .send()
        .await
        .unwrap();
    let net_s3 = Workspace::new();
    net_s3.write(
        "desired/main.toml",
        &format!(
            "{}\n[backend]\ntype = \"s3\"\nbucket = \"shared-state\"\nkey = \"stacks/network2.json\"\nregion = \"us-east-1\"\n",
            NETWORK
                .replace("name = \"network\"", "name = \"network2\"")
                .replace("10.2.", "10.3.")
        ),
    );
    let args = ["apply", "--auto-approve"];
    support::run_command(
        support::command_without_state(Some(&emu), &net_s3, &args),
        &args,
    )
    .expect_success();
    let ws = Workspace::new();
    ws.write(
        "desired/main.toml",
        &app(
            "bucket = \"shared-state\"\nkey = \"stacks/network2.json\"",
            "vpc_id",
        ),
    );
    reconcile(&emu, &ws, &["apply", "--auto-approve"]).expect_success();
    reconcile(&emu, &ws, &["plan", "--detailed-exitcode"]).expect_code(0);
    let web = ws.id("security_group.web");
    let groups = ec2
        .describe_security_groups()
        .group_ids(&web)
        .send()
        .await
        .unwrap();
    let vpc_id = groups.security_groups()[0].vpc_id().unwrap().to_owned();
    let vpcs = ec2.describe_vpcs().vpc_ids(&vpc_id).send().await.unwrap();
    assert_eq!(vpcs.vpcs()[0].cidr_block(), Some("10.3.0.0/16"));
    reconcile(&emu, &ws, &["destroy", "--auto-approve"]).expect_success();
}
