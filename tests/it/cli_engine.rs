//! Engine behaviour beyond the basics: create-before-destroy replacements,
//! lookups, outputs.

use crate::support;

use support::{Emulator, Workspace, ec2, reconcile, sdk_config};

const CBD: &str = r#"
[stack]
name = "cbd"
region = "us-east-1"

[vpc.main]
cidr_block = "10.0.0.0/16"

[subnet.a]
vpc_id = "${vpc.main.id}"
cidr_block = "10.0.1.0/24"
lifecycle = { create_before_destroy = true }

[route_table.main]
vpc_id = "${vpc.main.id}"
subnet_ids = ["${subnet.a.id}"]
"#;

fn position(haystack: &str, needle: &str) -> usize {
    haystack
        .find(needle)
        .unwrap_or_else(|| panic!("{needle:?} not in output:\n{haystack}"))
}

#[tokio::test]
async fn a_create_before_destroy_replacement_repoints_dependents_before_deleting_the_old_object() {
    let emu = Emulator::start();
    let ws = Workspace::new();
    ws.write("desired/main.toml", CBD);
    reconcile(&emu, &ws, &["apply", "--auto-approve"]).expect_success();
    let state: serde_json::Value = serde_json::from_str(&ws.read("state/test.json")).unwrap();
    let old = state["resources"]["subnet.a"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    ws.write(
        "desired/main.toml",
        &CBD.replace("10.0.1.0/24", "10.0.2.0/24"),
    );
    let run = reconcile(&emu, &ws, &["plan"]);
    run.expect_success();
    assert!(
        run.stdout
            .contains("# subnet.a must be replaced (the new one is created first)"),
        "{run}"
    );
    assert!(run.stdout.contains("+/- subnet.a"), "{run}");
    assert!(
        run.stdout
            .contains("# route_table.main will be updated in place"),
        "{run}"
    );

    let run = reconcile(&emu, &ws, &["apply", "--auto-approve"]);
    run.expect_success();
    let created = position(&run.stdout, "subnet.a: Creation complete");
    let repointed = position(&run.stdout, "route_table.main: Modifications complete");
    let destroyed = position(&run.stdout, "subnet.a: Destruction complete");
    assert!(created < repointed && repointed < destroyed, "{run}");

    let state: serde_json::Value = serde_json::from_str(&ws.read("state/test.json")).unwrap();
    let new = state["resources"]["subnet.a"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(new, old);
    assert!(
        state.get("deposed").is_none(),
        "nothing left deposed: {state}"
    );
    let c = ec2(&emu).await;
    let gone = c
        .describe_subnets()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("subnet-id")
                .values(&old)
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert!(gone.subnets().is_empty(), "the old subnet is deleted");
    let rt = c
        .describe_route_tables()
        .route_table_ids(
            state["resources"]["route_table.main"]["id"]
                .as_str()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let associated: Vec<&str> = rt.route_tables()[0]
        .associations()
        .iter()
        .filter_map(|a| a.subnet_id())
        .collect();
    assert_eq!(associated, vec![new.as_str()]);
    reconcile(&emu, &ws, &["plan", "--detailed-exitcode"]).expect_code(0);
}

const LOOKUPS: &str = r#"
[stack]
name = "lk"
region = "us-east-1"

[lookups.me]
type = "caller_identity"

[lookups.zones]
type = "availability_zones"

[lookups.ami]
type = "ssm_parameter"
name = "/test/ecs/ami"

[vpc.main]
cidr_block = "10.0.0.0/16"
tags = { Account = "${lookups.me.account_id}", Ami = "${lookups.ami.value}" }

[subnet.second_zone]
vpc_id = "${vpc.main.id}"
cidr_block = "10.0.1.0/24"
availability_zone = "${lookups.zones.names[1]}"

[outputs]
account = "${lookups.me.account_id}"
zone = "${subnet.second_zone.availability_zone}"
"#;

#[tokio::test]
async fn lookups_are_read_at_plan_time_and_usable_like_attributes() {
    let emu = Emulator::start();
    let ssm = aws_sdk_ssm::Client::new(&sdk_config(&emu).await);
    ssm.put_parameter()
        .name("/test/ecs/ami")
        .value("ami-0abc")
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .send()
        .await
        .unwrap();
    let ws = Workspace::new();
    ws.write("desired/main.toml", LOOKUPS);
    let run = reconcile(&emu, &ws, &["apply", "--auto-approve"]);
    run.expect_success();
    // Tags print as a block, one aligned line each.
    assert!(
        run.stdout.lines().any(|l| {
            let l = l.trim();
            l.starts_with("+ Ami ") && l.ends_with("= \"ami-0abc\"")
        }),
        "{run}"
    );
    assert!(
        run.stdout
            .contains("availability_zone       = \"us-east-1b\""),
        "{run}"
    );
    reconcile(&emu, &ws, &["plan", "--detailed-exitcode"]).expect_code(0);

    let run = reconcile(&emu, &ws, &["output", "zone"]);
    run.expect_success();
    assert_eq!(run.stdout, "us-east-1b\n");
    let run = reconcile(&emu, &ws, &["output", "account"]);
    assert_eq!(run.stdout, "123456789012\n", "{run}");
    let run = reconcile(&emu, &ws, &["output", "acount"]);
    run.expect_code(1);
    assert!(run.stderr.contains("did you mean `account`"), "{run}");
}

#[test]
fn a_reference_to_an_unknown_lookup_or_attribute_is_refused() {
    let ws = Workspace::new();
    ws.write(
        "desired/main.toml",
        &LOOKUPS.replace(
            "${lookups.me.account_id}\", Ami",
            "${lookups.me.acount_id}\", Ami",
        ),
    );
    let run = support::reconcile_in(None, &ws, &["validate"]);
    run.expect_code(1);
    assert!(
        run.stderr
            .contains("lookup `me` has no attribute `acount_id` (did you mean `account_id`?)"),
        "{run}"
    );
}

/// A table key written as a template is evaluated like any value: the
/// inline policy is named for the region and stack, not `${stack.region}…`,
/// and a key naming a resource attribute waits for it (a graph edge).
#[tokio::test]
async fn a_templated_table_key_is_evaluated() {
    let emu = Emulator::start();
    let ws = Workspace::new();
    ws.write(
        "desired/main.toml",
        r#"
[stack]
name = "keys"
region = "us-east-1"

[log_group.app]
name = "keys-app"

[iam_role.task]
name = "keys-task"
assume_role_services = ["ecs-tasks.amazonaws.com"]

[iam_role.task.inline_policies."${stack.region}-${stack.name}-taskrole"]
Version = "2012-10-17"
Statement = [{ Effect = "Allow", Action = ["logs:PutLogEvents"], Resource = "*" }]

[iam_role.task.inline_policies."${log_group.app.name}-write"]
Version = "2012-10-17"
Statement = [{ Effect = "Allow", Action = ["logs:CreateLogStream"], Resource = "*" }]
"#,
    );
    let plan = reconcile(&emu, &ws, &["plan"]);
    plan.expect_success();
    // The second key is known after the log group exists.
    assert!(plan.stdout.contains("us-east-1-keys-taskrole"), "{plan}");
    assert!(!plan.stdout.contains("${stack.region}"), "{plan}");
    reconcile(&emu, &ws, &["apply", "--auto-approve"]).expect_success();
    let iam = aws_sdk_iam::Client::new(&sdk_config(&emu).await);
    let mut names = iam
        .list_role_policies()
        .role_name("keys-task")
        .send()
        .await
        .unwrap()
        .policy_names()
        .to_vec();
    names.sort();
    assert_eq!(names, ["keys-app-write", "us-east-1-keys-taskrole"]);
    reconcile(&emu, &ws, &["plan", "--detailed-exitcode"]).expect_code(0);
}
