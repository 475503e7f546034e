//! Modules, `for_each`, `count` and `enabled`: the reference architecture
//! built from modules, run against the emulator; and the errors of the
//! module language, located.

use crate::support;

use std::collections::BTreeSet;

use support::{Emulator, Workspace, reconcile, reconcile_in, sdk_config};

/// (action, address) of every change of `plan --json` that is not a no-op.
fn changes(ws: &Workspace, emu: &Emulator, extra: &[&str]) -> BTreeSet<(String, String)> {
    let mut args = vec!["plan", "--json"];
    args.extend_from_slice(extra);
    let run = reconcile(emu, ws, &args);
    run.expect_success();
    let plan: serde_json::Value = serde_json::from_str(&run.stdout).expect("plan --json");
    plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] != "no-op")
        .map(|c| {
            (
                c["action"].as_str().unwrap().to_owned(),
                c["address"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn set(items: &[(&str, &str)]) -> BTreeSet<(String, String)> {
    items
        .iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

#[tokio::test]
async fn the_reference_architecture_as_modules_applies_plans_clean_grows_and_destroys() {
    let emu = Emulator::start();
    let ws = Workspace::new();
    ws.copy_example("refarch");
    let run = reconcile(&emu, &ws, &["apply", "--auto-approve"]);
    run.expect_success();
    assert!(
        run.stdout
            .contains("Apply complete! Resources: 37 added, 0 changed, 0 destroyed."),
        "{run}"
    );
    reconcile(&emu, &ws, &["plan", "--detailed-exitcode"]).expect_code(0);

    // Both service instances route by path on the one listener.
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&sdk_config(&emu).await);
    let rules = elb
        .describe_rules()
        .listener_arn(ws.id("module.alb.listener.http"))
        .send()
        .await
        .unwrap();
    let mut paths: Vec<String> = rules
        .rules()
        .iter()
        .flat_map(aws_sdk_elasticloadbalancingv2::types::Rule::conditions)
        .flat_map(|c| {
            c.values().iter().cloned().chain(
                c.path_pattern_config()
                    .map(|p| p.values().to_vec())
                    .unwrap_or_default(),
            )
        })
        .collect();
    paths.sort();
    paths.dedup();
    assert_eq!(paths, vec!["/", "/products", "/products/*"]);
    // One NAT gateway per zone, each in its zone's public subnet.
    let ec2 = aws_sdk_ec2::Client::new(&sdk_config(&emu).await);
    for zone in ["a", "b"] {
        let nat = ws.id(&format!("module.vpc.nat_gateway.nat[\"{zone}\"]"));
        let found = ec2
            .describe_nat_gateways()
            .nat_gateway_ids(&nat)
            .send()
            .await
            .unwrap();
        assert_eq!(
            found.nat_gateways()[0].subnet_id(),
            Some(
                ws.id(&format!("module.vpc.subnet.public[\"{zone}\"]"))
                    .as_str()
            )
        );
    }

    // The services run on the cluster's auto-scaling group through its
    // capacity provider; the website scales between 2 and 4 tasks.
    let ecs = aws_sdk_ecs::Client::new(&sdk_config(&emu).await);
    let clusters = ecs
        .describe_clusters()
        .clusters(ws.id("module.cluster.ecs_cluster.main"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        clusters.clusters()[0].capacity_providers(),
        ["refarch-cluster-hosts"],
        "{clusters:?}"
    );
    let scaling = aws_sdk_applicationautoscaling::Client::new(&sdk_config(&emu).await);
    let targets = scaling
        .describe_scalable_targets()
        .service_namespace(aws_sdk_applicationautoscaling::types::ServiceNamespace::Ecs)
        .send()
        .await
        .unwrap();
    let bounds: Vec<_> = targets
        .scalable_targets()
        .iter()
        .map(|t| (t.resource_id(), t.min_capacity(), t.max_capacity()))
        .collect();
    assert_eq!(
        bounds,
        [("service/refarch/website-service", 2, 4)],
        "{targets:?}"
    );

    // A third instance of the service module plans exactly its resources.
    let main = ws.read("desired/main.toml");
    let third = format!(
        "{main}\n[modules.admin]\nsource = \"modules/service\"\nname = \"admin-service\"\nimage = \"nginx:1.27\"\ncontainer_port = 8002\npath_patterns = [\"/admin\"]\nhealth_check_path = \"/admin\"\npriority = 3\nvpc_id = \"${{module.vpc.vpc_id}}\"\nlistener_arn = \"${{module.alb.listener_arn}}\"\ncluster_arn = \"${{module.cluster.cluster_arn}}\"\ncluster_name = \"${{module.cluster.cluster_name}}\"\nexecution_role_arn = \"${{module.cluster.execution_role_arn}}\"\n"
    );
    ws.write("desired/main.toml", &third);
    assert_eq!(
        changes(&ws, &emu, &[]),
        set(&[
            ("create", "module.admin.ecs_service.main"),
            ("create", "module.admin.ecs_task_definition.main"),
            ("create", "module.admin.listener_rule.main"),
            ("create", "module.admin.log_group.main"),
            ("create", "module.admin.target_group.main"),
        ])
    );
    ws.write("desired/main.toml", &main);

    // A zone more: one more of each per-zone resource, nothing replaced
    // or deleted (the subnet lists of their users are updated in place).
    let grown = changes(&ws, &emu, &["--var", "zones=[\"a\",\"b\",\"c\"]"]);
    let creates: BTreeSet<&str> = grown
        .iter()
        .filter(|(a, _)| a == "create")
        .map(|(_, addr)| addr.as_str())
        .collect();
    assert_eq!(
        creates,
        BTreeSet::from([
            "module.vpc.eip.nat[\"c\"]",
            "module.vpc.nat_gateway.nat[\"c\"]",
            "module.vpc.route_table.private[\"c\"]",
            "module.vpc.subnet.private[\"c\"]",
            "module.vpc.subnet.public[\"c\"]",
        ]),
        "{grown:?}"
    );
    assert!(
        grown.iter().all(|(a, _)| a == "create" || a == "update"),
        "{grown:?}"
    );
    // Reordering the zones plans nothing.
    reconcile(
        &emu,
        &ws,
        &[
            "plan",
            "--detailed-exitcode",
            "--var",
            "zones=[\"b\",\"a\"]",
        ],
    )
    .expect_code(0);

    // A condition turned off plans exactly the deletes of what it guards.
    ws.write(
        "desired/main.toml",
        &main.replace(
            "[modules.website]\n",
            "[modules.website]\nenabled = false\n",
        ),
    );
    assert_eq!(
        changes(&ws, &emu, &[]),
        set(&[
            ("delete", "module.website.appautoscaling_policy.cpu"),
            ("delete", "module.website.appautoscaling_target.main"),
            ("delete", "module.website.ecs_service.main"),
            ("delete", "module.website.ecs_task_definition.main"),
            ("delete", "module.website.listener_rule.main"),
            ("delete", "module.website.log_group.main"),
            ("delete", "module.website.target_group.main"),
        ])
    );
    ws.write("desired/main.toml", &main);

    let run = reconcile(&emu, &ws, &["destroy", "--auto-approve"]);
    run.expect_success();
    assert!(
        run.stdout
            .contains("Destroy complete! Resources: 37 destroyed."),
        "{run}"
    );
    let vpcs = ec2.describe_vpcs().send().await.unwrap();
    assert!(
        vpcs.vpcs()
            .iter()
            .all(|v| v.cidr_block() != Some("10.180.0.0/16")),
        "{vpcs:?}"
    );
    assert!(
        elb.describe_load_balancers()
            .send()
            .await
            .unwrap()
            .load_balancers()
            .is_empty()
    );
}

const STACK: &str = "[stack]\nname = \"m\"\nregion = \"us-east-1\"\n\n";

/// Runs `validate` on a workspace of files and expects exit 1 with `needle`
/// (and its location) in stderr.
#[track_caller]
fn refused(files: &[(&str, &str)], location: &str, needle: &str) {
    let ws = Workspace::new();
    for (path, text) in files {
        ws.write(path, text);
    }
    let run = reconcile_in(None, &ws, &["validate"]);
    run.expect_code(1);
    assert!(run.stderr.contains(location), "expected {location}\n{run}");
    assert!(run.stderr.contains(needle), "expected {needle}\n{run}");
    assert!(!run.stderr.contains("panicked"), "{run}");
}

const NET: &str = "[variables.cidr]\ntype = \"string\"\n\n[vpc.main]\ncidr_block = \"${var.cidr}\"\n\n[outputs]\nvpc_id = \"${vpc.main.id}\"\n";

#[test]
fn module_errors_are_located_and_exit_1() {
    refused(
        &[(
            "desired/main.toml",
            &format!("{STACK}[modules.net]\nsource = \"modules/nope\"\ncidr = \"10.0.0.0/16\"\n"),
        )],
        "main.toml:5:10",
        "source \"modules/nope\" is not a directory",
    );
    refused(
        &[
            (
                "desired/main.toml",
                &format!("{STACK}[modules.net]\nsource = \"modules/net\"\n"),
            ),
            ("desired/modules/net/main.toml", NET),
        ],
        "main.toml:5:10",
        "missing variable `cidr`",
    );
    refused(
        &[
            (
                "desired/main.toml",
                &format!(
                    "{STACK}[modules.net]\nsource = \"modules/net\"\ncidr = \"10.0.0.0/16\"\n\n[subnet.a]\nvpc_id = \"${{module.net.vpc}}\"\ncidr_block = \"10.0.1.0/24\"\n"
                ),
            ),
            ("desired/modules/net/main.toml", NET),
        ],
        "main.toml:10:11",
        "module `net` has no output `vpc` (did you mean `vpc_id`?)",
    );
    refused(
        &[
            (
                "desired/main.toml",
                &format!(
                    "{STACK}[modules.a]\nsource = \"modules/net\"\ncidr = \"${{module.b.vpc_id}}\"\n\n[modules.b]\nsource = \"modules/net\"\ncidr = \"${{module.a.vpc_id}}\"\n"
                ),
            ),
            ("desired/modules/net/main.toml", NET),
        ],
        "main.toml:5:10",
        "dependency cycle through modules: module.a -> module.b -> module.a",
    );
    refused(
        &[(
            "desired/main.toml",
            &format!("{STACK}[vpc.main]\ncount = \"${{2 +}}\"\ncidr_block = \"10.0.0.0/16\"\n"),
        )],
        "main.toml:6:",
        "vpc.main: `count`",
    );
    refused(
        &[
            (
                "desired/main.toml",
                &format!(
                    "{STACK}[modules.net]\nsource = \"modules/net\"\ncidr = \"10.0.0.0/16\"\n"
                ),
            ),
            (
                "desired/modules/net/main.toml",
                "[variables.cidr]\ntype = \"string\"\n\n[vpc.main]\ncidr_block = \"${lenght(var.cidr)}\"\n",
            ),
        ],
        "modules/net/main.toml:5:15",
        "unknown function `lenght` (did you mean `length`?)",
    );
    refused(
        &[(
            "desired/main.toml",
            &format!(
                "{STACK}[vpc.main]\nfor_each = [\"a\", \"b\"]\ncidr_block = \"10.0.0.0/16\"\n\n[subnet.x]\nvpc_id = \"${{vpc.main.id}}\"\ncidr_block = \"10.0.1.0/24\"\n"
            ),
        )],
        "main.toml:10:11",
        "`vpc.main` has `count` or `for_each`: pick an instance",
    );
}

#[test]
fn count_for_each_and_enabled_expand_to_indexed_addresses() {
    let ws = Workspace::new();
    ws.write(
        "desired/main.toml",
        &format!(
            "{STACK}[variables.zones]\ntype = \"list\"\ndefault = [\"a\", \"b\"]\n\n[variables.extra]\ntype = \"bool\"\ndefault = false\n\n[vpc.main]\ncidr_block = \"10.0.0.0/16\"\n\n[subnet.pub]\nfor_each = \"${{var.zones}}\"\nvpc_id = \"${{vpc.main.id}}\"\ncidr_block = \"${{cidrsubnet(\\\"10.0.0.0/16\\\", 8, index(var.zones, each.key))}}\"\n\n[eip.nat]\ncount = \"${{length(var.zones)}}\"\n\n[security_group.extra]\nenabled = \"${{var.extra}}\"\nvpc_id = \"${{vpc.main.id}}\"\ndescription = \"x\"\n"
        ),
    );
    let run = reconcile_in(None, &ws, &["validate"]);
    run.expect_success();
    assert!(run.stdout.contains("5 resources"), "{run}");
    let run = reconcile_in(
        None,
        &ws,
        &[
            "validate",
            "--var",
            "extra=true",
            "--var",
            "zones=[\"a\",\"b\",\"c\"]",
        ],
    );
    run.expect_success();
    assert!(run.stdout.contains("8 resources"), "{run}");
}

#[tokio::test]
async fn state_mv_moves_a_resource_into_a_module_and_the_next_plan_is_clean() {
    let emu = Emulator::start();
    let ws = Workspace::new();
    let vpc = "cidr_block = \"10.42.0.0/16\"\ntags = { Name = \"moved\" }\n";
    ws.write("desired/main.toml", &format!("{STACK}[vpc.main]\n{vpc}"));
    reconcile(&emu, &ws, &["apply", "--auto-approve"]).expect_success();
    let before = ws.id("vpc.main");

    // The same VPC, now declared by a module.
    ws.write(
        "desired/main.toml",
        &format!("{STACK}[modules.net]\nsource = \"modules/net\"\n"),
    );
    ws.write(
        "desired/modules/net/main.toml",
        &format!("[vpc.main]\n{vpc}"),
    );
    let plan = changes(&ws, &emu, &[]);
    assert_eq!(
        plan,
        set(&[("create", "module.net.vpc.main"), ("delete", "vpc.main")]),
        "without the move, the plan replaces it"
    );
    reconcile(
        &emu,
        &ws,
        &["state", "mv", "vpc.main", "module.net.vpc.main"],
    )
    .expect_success();
    reconcile(&emu, &ws, &["plan", "--detailed-exitcode"]).expect_code(0);
    assert_eq!(ws.id("module.net.vpc.main"), before);
    reconcile(&emu, &ws, &["destroy", "--auto-approve"]).expect_success();
}
