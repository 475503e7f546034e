//! The terminal and editor experience: the transcript of a non-terminal
//! apply and destroy, the JSON Schema for editors, the generated reference
//! docs, completions, the man page and --help examples.

use crate::support;

use std::path::{Path, PathBuf};

use clap::CommandFactory;
use support::{Emulator, Workspace, reconcile, reconcile_in};

const CHAIN: &str = r#"
[stack]
name = "ux"
region = "us-east-1"

[vpc.main]
cidr_block = "10.0.0.0/16"
tags = { Name = "ux" }

[subnet.a]
vpc_id = "${vpc.main.id}"
cidr_block = "10.0.1.0/24"

[route_table.main]
vpc_id = "${vpc.main.id}"
subnet_ids = ["${subnet.a.id}"]

[outputs]
vpc_id = "${vpc.main.id}"
"#;

/// Ids and durations change from run to run, and so do the `Still
/// creating...` lines of a slow emulator; the rest must not.
fn filtered(text: &str) -> String {
    let ids = regex::Regex::new(r"\b(vpc|subnet|rtb|rtbassoc)-[0-9a-f]+\b").unwrap();
    let secs = regex::Regex::new(r"after \d+s").unwrap();
    let still = regex::Regex::new(
        r"^[a-z_.]+: Still (creating|modifying|destroying)\.\.\. \[\d+s elapsed\]$",
    )
    .unwrap();
    let text: Vec<&str> = text.lines().filter(|l| !still.is_match(l)).collect();
    let text = ids.replace_all(&text.join("\n"), "$1-[ID]").into_owned();
    let text = secs.replace_all(&text, "after [N]s").into_owned();
    // The emulator picks a zone at random.
    let zones = regex::Regex::new(r"us-east-1[a-f]\b|use1-az\d").unwrap();
    zones.replace_all(&text, "[ZONE]").into_owned()
}

#[test]
fn apply_and_destroy_transcripts_outside_a_terminal() {
    let emu = Emulator::start();
    let ws = Workspace::new();
    ws.write("desired/main.toml", CHAIN);
    // One operation at a time: the order of the lines is then fixed.
    let apply = reconcile(
        &emu,
        &ws,
        &["apply", "--auto-approve", "--parallelism", "1"],
    );
    apply.expect_success();
    assert!(
        !apply.stdout.contains('\x1b'),
        "no escape codes in a pipe:\n{apply}"
    );
    insta::assert_snapshot!("apply_transcript", filtered(&apply.stdout));

    let destroy = reconcile(
        &emu,
        &ws,
        &["destroy", "--auto-approve", "--parallelism", "1"],
    );
    destroy.expect_success();
    insta::assert_snapshot!("destroy_transcript", filtered(&destroy.stdout));
}

fn toml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            toml_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "toml") {
            out.push(path);
        }
    }
}

fn as_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap();
    let doc: toml::Table =
        toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::to_value(doc).unwrap()
}

fn validator() -> jsonschema::Validator {
    let ws = Workspace::new();
    // The schema as the command prints it, not as the library builds it.
    let run = reconcile_in(None, &ws, &["schema"]);
    run.expect_success();
    let schema: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    jsonschema::draft7::new(&schema).expect("the schema is a valid draft-07 schema")
}

#[test]
fn the_schema_accepts_every_example() {
    let v = validator();
    let mut files = Vec::new();
    toml_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("desired"),
        &mut files,
    );
    assert!(files.len() >= 3, "{files:?}");
    for f in &files {
        let errors: Vec<String> = v
            .iter_errors(&as_json(f))
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{}: {errors:#?}", f.display());
    }
}

#[test]
fn the_schema_rejects_the_invalid_fixtures_it_can() {
    let v = validator();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/invalid");
    // Fixture → the instance path the error must point at.
    for (fixture, path) in [
        ("invalid_cidr.toml", "/vpc/main/cidr_block"),
        ("missing_required.toml", "/subnet/a"),
        ("unknown_field.toml", "/vpc/main"),
        ("unknown_kind.toml", ""),
        ("wrong_type.toml", "/vpc/main/enable_dns_support"),
    ] {
        let doc = as_json(&dir.join(fixture));
        let paths: Vec<String> = v
            .iter_errors(&doc)
            .map(|e| e.instance_path().to_string())
            .collect();
        assert!(
            paths.iter().any(|p| p == path),
            "{fixture}: expected an error at {path:?}, got {paths:?}"
        );
    }
}

#[test]
fn the_committed_docs_equal_the_generated_docs() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/kinds");
    let generated = reconcile::commands::reference::docs::generate();
    for kind in reconcile::kinds::names() {
        assert!(generated.contains_key(&format!("{kind}.md")), "{kind}");
    }
    let mut stale = Vec::new();
    for (name, text) in &generated {
        if std::fs::read_to_string(dir.join(name)).ok().as_deref() != Some(text.as_str()) {
            stale.push(name.clone());
        }
    }
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if !generated.contains_key(&name) {
            stale.push(format!("{name} (not generated)"));
        }
    }
    assert!(
        stale.is_empty(),
        "docs/kinds is out of date ({stale:?}): run `reconcile docs --out docs/kinds`"
    );
}

#[test]
fn docs_command_writes_every_page() {
    let ws = Workspace::new();
    reconcile_in(None, &ws, &["docs", "--out", "out"]).expect_success();
    let vpc = ws.read("out/vpc.md");
    assert!(
        vpc.contains("| `cidr_block` | CIDR string | yes |"),
        "{vpc}"
    );
    assert!(vpc.contains("## Exported attributes"), "{vpc}");
    assert!(vpc.contains("[vpc.example]"), "{vpc}");
    assert!(ws.read("out/README.md").contains("[`subnet`](subnet.md)"));
}

#[test]
fn completions_and_man_page() {
    let ws = Workspace::new();
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef reconcile"),
        ("fish", "complete -c reconcile"),
    ] {
        let run = reconcile_in(None, &ws, &["completions", shell]);
        run.expect_success();
        assert!(run.stdout.contains(marker), "{shell}: {run}");
        assert!(run.stdout.contains("destroy"), "{shell}: {run}");
    }
    let man = reconcile_in(None, &ws, &["man"]);
    man.expect_success();
    assert!(
        man.stdout.starts_with(".ie") || man.stdout.contains(".TH reconcile"),
        "{man}"
    );
    reconcile_in(None, &ws, &["completions", "powershell-ish"]).expect_code(1);
}

#[test]
fn every_subcommand_help_has_an_example() {
    let cli = reconcile::cli::Cli::command();
    for sub in cli.get_subcommands() {
        let after = sub
            .get_after_help()
            .map(std::string::ToString::to_string)
            .unwrap_or_default();
        assert!(
            after.contains("Example"),
            "`reconcile {}` --help has no example",
            sub.get_name()
        );
    }
}

#[test]
fn an_aws_error_names_address_operation_code_and_a_hint() {
    let emu = Emulator::start();
    let ws = Workspace::new();
    ws.write(
        "desired/main.toml",
        r#"
[stack]
name = "ux"
region = "us-east-1"

[vpc.main]
cidr_block = "10.0.0.0/16"

[subnet.outside]
vpc_id = "${vpc.main.id}"
cidr_block = "10.1.0.0/24"
"#,
    );
    let run = reconcile(&emu, &ws, &["apply", "--auto-approve"]);
    run.expect_code(1);
    let line = run
        .stdout
        .lines()
        .find(|l| l.starts_with("subnet.outside: Error: creating: "))
        .unwrap_or_else(|| panic!("no error line:\n{run}"));
    assert!(
        line.contains("InvalidSubnet.Range") && line.contains("[CreateSubnet]"),
        "{line}"
    );
    let vpc_id = regex::Regex::new(r"vpc-[0-9a-f]+").unwrap();
    let hint = run
        .stdout
        .lines()
        .find(|l| l.trim_start().starts_with("Hint:"))
        .unwrap_or_else(|| panic!("no hint:\n{run}"));
    assert!(
        hint.contains("cidr_block 10.1.0.0/24 must lie inside the VPC vpc-")
            && hint.contains("which covers 10.0.0.0/16")
            && vpc_id.is_match(hint),
        "{hint}"
    );
}

#[tokio::test]
async fn a_security_group_in_use_is_explained_by_its_network_interfaces() {
    let emu = Emulator::start();
    let ec2 = support::ec2(&emu).await;
    let vpc = ec2
        .create_vpc()
        .cidr_block("10.0.0.0/16")
        .send()
        .await
        .unwrap();
    let vpc_id = vpc.vpc().unwrap().vpc_id().unwrap().to_owned();
    let subnet = ec2
        .create_subnet()
        .vpc_id(&vpc_id)
        .cidr_block("10.0.1.0/24")
        .send()
        .await
        .unwrap();
    let sg = ec2
        .create_security_group()
        .group_name("web")
        .description("web")
        .vpc_id(&vpc_id)
        .send()
        .await
        .unwrap();
    let sg_id = sg.group_id().unwrap().to_owned();
    let eni = ec2
        .create_network_interface()
        .subnet_id(subnet.subnet().unwrap().subnet_id().unwrap())
        .groups(&sg_id)
        .description("ELB app/web")
        .send()
        .await
        .unwrap();
    let eni_id = eni
        .network_interface()
        .unwrap()
        .network_interface_id()
        .unwrap()
        .to_owned();

    let clients = reconcile::aws::Clients::from_config(&support::sdk_config(&emu).await);
    let error = reconcile::aws::ApiError {
        code: Some("DependencyViolation".into()),
        message: "resource has a dependent object [DeleteSecurityGroup]".into(),
        class: reconcile::aws::ErrorClass::DependencyViolation,
    };
    let attrs = reconcile::value::Attrs::new();
    let failed = reconcile::apply::hints::Failed {
        kind: "security_group",
        id: Some(&sg_id),
        attrs: &attrs,
        error: &error,
    };
    let hint = reconcile::apply::hints::explain(&clients, &failed)
        .await
        .unwrap();
    assert_eq!(
        hint,
        format!(
            "this security_group is still used by 1 network interface: {eni_id} (\"ELB app/web\"); delete or detach it (or what owns it) first, then run again"
        )
    );
}

const OPEN_SSH: &str = r#"
[stack]
name = "ux"
region = "us-east-1"

[vpc.main]
cidr_block = "10.0.0.0/16"

[security_group.web]
vpc_id = "${vpc.main.id}"
ingress = [
  { protocol = "tcp", from_port = 443, to_port = 443, cidr_blocks = ["0.0.0.0/0"] },
  { protocol = "tcp", from_port = 80, to_port = 80, cidr_blocks = ["0.0.0.0/0"] },
]
"#;

/// What a conftest policy such as "no security group open to 0.0.0.0/0 on
/// port 22" reads (`input.resource_changes[_]`, `change.actions`,
/// `change.after.ingress[_]`), the Rego of which would be:
///
/// ```rego
/// deny[msg] {
///   rc := input.resource_changes[_]
///   rc.type == "aws_security_group"
///   rc.change.actions[_] != "delete"
///   rule := rc.change.after.ingress[_]
///   rule.from_port <= 22; rule.to_port >= 22
///   rule.cidr_blocks[_] == "0.0.0.0/0"
///   msg := sprintf("%s opens port 22 to the world", [rc.address])
/// }
/// ```
fn ssh_open_to_the_world(plan: &serde_json::Value) -> Vec<String> {
    let mut found = Vec::new();
    for rc in plan["resource_changes"].as_array().unwrap() {
        let actions = rc["change"]["actions"].as_array().unwrap();
        if rc["type"] != "aws_security_group" || actions.iter().all(|a| a == "delete") {
            continue;
        }
        for rule in rc["change"]["after"]["ingress"].as_array().unwrap() {
            let (from, to) = (
                rule["from_port"].as_i64().unwrap(),
                rule["to_port"].as_i64().unwrap(),
            );
            let world = rule["cidr_blocks"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c == "0.0.0.0/0");
            if from <= 22 && 22 <= to && world {
                found.push(rc["address"].as_str().unwrap().to_owned());
            }
        }
    }
    found
}

#[test]
fn a_terraform_shaped_plan_shows_policy_tools_port_22_opened_to_the_world() {
    let emu = Emulator::start();
    let ws = Workspace::new();
    ws.write("desired/main.toml", OPEN_SSH);
    reconcile(&emu, &ws, &["apply", "--auto-approve"]).expect_success();
    let clean = reconcile(&emu, &ws, &["plan", "--json-format", "terraform"]);
    clean.expect_success();
    let clean: serde_json::Value = serde_json::from_str(&clean.stdout).unwrap();
    assert_eq!(clean["format_version"], "1.2");
    assert!(ssh_open_to_the_world(&clean).is_empty(), "{clean:#}");
    assert!(
        clean["resource_changes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|rc| rc["change"]["actions"] == serde_json::json!(["no-op"])),
        "{clean:#}"
    );

    ws.write(
        "desired/main.toml",
        &OPEN_SSH.replace(
            "ingress = [\n",
            "ingress = [\n  { protocol = \"tcp\", from_port = 22, to_port = 22, cidr_blocks = [\"0.0.0.0/0\"], description = \"ssh\" },\n",
        ),
    );
    let run = reconcile(
        &emu,
        &ws,
        &[
            "plan",
            "--json",
            "--json-format",
            "terraform",
            "--detailed-exitcode",
        ],
    );
    run.expect_code(2);
    let plan: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        ssh_open_to_the_world(&plan),
        ["aws_security_group.web"],
        "{plan:#}"
    );
    let rc = plan["resource_changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|rc| rc["address"] == "aws_security_group.web")
        .unwrap();
    assert_eq!(rc["type"], "aws_security_group");
    assert_eq!(rc["name"], "web");
    assert_eq!(rc["change"]["actions"], serde_json::json!(["update"]));
    let ports = |side: &str| -> Vec<i64> {
        let mut p: Vec<i64> = rc["change"][side]["ingress"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["from_port"].as_i64().unwrap())
            .collect();
        p.sort_unstable();
        p
    };
    assert_eq!(ports("before"), [80, 443]);
    assert_eq!(ports("after"), [22, 80, 443]);
    assert!(rc["change"]["after_unknown"].is_object(), "{rc:#}");
    assert!(rc["change"]["before_sensitive"].is_object(), "{rc:#}");
    assert!(rc["change"]["after_sensitive"].is_object(), "{rc:#}");
    // The rule's groups under the provider's name.
    assert!(
        rc["change"]["after"]["ingress"][0]["security_groups"].is_array(),
        "{rc:#}"
    );

    // The same plan as text: the new rule is one marked block.
    let text = reconcile(&emu, &ws, &["plan"]);
    text.expect_success();
    assert!(text.stdout.contains("+ from_port"), "{text}");
    assert!(
        text.stdout.contains("# (2 unchanged elements hidden)"),
        "{text}"
    );
}

/// `apply`, `destroy` and `watch` write their outcome above the plan as
/// Markdown when asked (`--summary-markdown`): complete, incomplete with
/// each failure, or drift found and corrected.
#[tokio::test]
async fn apply_and_watch_write_a_markdown_summary_of_their_outcome() {
    let emu = support::Emulator::start();
    let ws = support::Workspace::new();
    let stack = r#"
[stack]
name = "sum"
region = "us-east-1"

[vpc.main]
cidr_block = "10.4.0.0/16"
tags = { Name = "sum" }
"#;
    ws.write("desired/main.toml", stack);
    let md = ws.path().join("summary.md");
    let md_arg = md.to_str().unwrap();
    support::reconcile(
        &emu,
        &ws,
        &["apply", "--auto-approve", "--summary-markdown", md_arg],
    )
    .expect_success();
    let text = std::fs::read_to_string(&md).unwrap();
    assert!(
        text.starts_with(
            "### reconcile plan: `sum`\n\n**Apply complete:** 1 added, 0 changed, 0 destroyed.\n"
        ),
        "{text}"
    );
    assert!(text.contains("| `vpc.main` | create | "), "{text}");

    // Drift found by watch: only reported without --correct, corrected with it.
    let ec2 = support::ec2(&emu).await;
    let state: serde_json::Value = serde_json::from_str(&ws.read("state/test.json")).unwrap();
    let vpc = state["resources"]["vpc.main"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    ec2.create_tags()
        .resources(&vpc)
        .tags(
            aws_sdk_ec2::types::Tag::builder()
                .key("Name")
                .value("changed")
                .build(),
        )
        .send()
        .await
        .unwrap();
    support::reconcile(
        &emu,
        &ws,
        &["watch", "--once", "--summary-markdown", md_arg],
    )
    .expect_code(2);
    let text = std::fs::read_to_string(&md).unwrap();
    assert!(text.contains("**Not applied** (drift found"), "{text}");
    assert!(text.contains("| `vpc.main` | update | `tags` |"), "{text}");
    support::reconcile(
        &emu,
        &ws,
        &["watch", "--once", "--correct", "--summary-markdown", md_arg],
    )
    .expect_code(2);
    let text = std::fs::read_to_string(&md).unwrap();
    assert!(
        text.contains("**Apply complete:** 0 added, 1 changed, 0 destroyed."),
        "{text}"
    );

    // A failure is listed under the outcome.
    ws.write(
        "desired/main.toml",
        &format!("{stack}\n[subnet.outside]\nvpc_id = \"${{vpc.main.id}}\"\ncidr_block = \"10.99.1.0/24\"\n"),
    );
    support::reconcile(
        &emu,
        &ws,
        &["apply", "--auto-approve", "--summary-markdown", md_arg],
    )
    .expect_code(1);
    let text = std::fs::read_to_string(&md).unwrap();
    assert!(
        text.contains(
            "**Apply incomplete:** 0 added, 0 changed, 0 destroyed; 1 failed, 0 skipped."
        ),
        "{text}"
    );
    assert!(text.contains("- creating `subnet.outside`: "), "{text}");
}
