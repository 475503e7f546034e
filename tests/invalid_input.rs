//! Every kind of bad input is refused with a message naming where it is,
//! exit code 1, before any AWS call.

mod support;

use support::{Workspace, reconcile_in};

/// (fixture, location, message)
const CASES: &[(&str, &str, &str)] = &[
    (
        "toml_syntax.toml",
        "toml_syntax.toml:7:20",
        "TOML syntax error",
    ),
    (
        "unknown_kind.toml",
        "unknown_kind.toml:5:2",
        "unknown resource kind `vpcc` (did you mean `vpc`?)",
    ),
    (
        "unknown_field.toml",
        "unknown_field.toml:7:1",
        "unknown field `enable_dns_hostname` for kind `vpc` (did you mean `enable_dns_hostnames`?)",
    ),
    (
        "wrong_type.toml",
        "wrong_type.toml:7:22",
        "`enable_dns_support`: expected bool, found string",
    ),
    (
        "missing_required.toml",
        "missing_required.toml:5:9",
        "subnet.a: missing required field `vpc_id`",
    ),
    (
        "unknown_reference.toml",
        "unknown_reference.toml:6:11",
        "reference to unknown resource `vpc.mian` (did you mean `vpc.main`?)",
    ),
    (
        "unknown_attribute.toml",
        "unknown_attribute.toml:6:11",
        "`vpc.main` has no attribute `vpc_id`",
    ),
    (
        "cycle.toml",
        "",
        "dependency cycle: security_group.a -> security_group.b -> security_group.a",
    ),
    (
        "duplicate_address",
        "desired/b.toml:2:6",
        "duplicate resource `vpc.main` (first defined at",
    ),
    (
        "invalid_cidr.toml",
        "invalid_cidr.toml:6:14",
        "invalid CIDR block \"10.0.0.300/16\"",
    ),
    (
        "variable_pattern.toml",
        "variable_pattern.toml:9:11",
        "does not match the pattern",
    ),
    (
        "undeclared_variable.toml",
        "undeclared_variable.toml:6:15",
        "reference to undeclared variable `var.cidr`",
    ),
];

#[test]
fn every_invalid_fixture_is_refused_with_its_location_and_exit_code_1() {
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/invalid");
    let listed: Vec<&str> = CASES.iter().map(|c| c.0).collect();
    let mut on_disk: Vec<String> = std::fs::read_dir(fixtures)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    for f in &on_disk {
        assert!(
            listed.contains(&f.as_str()),
            "fixture {f} has no expectation"
        );
    }
    for (fixture, loc, message) in CASES {
        // Each fixture becomes the whole desired state of a fresh workspace.
        let ws = Workspace::new();
        let path = std::path::Path::new(fixtures).join(fixture);
        if path.is_dir() {
            for f in std::fs::read_dir(&path).unwrap() {
                let f = f.unwrap();
                let name = f.file_name().to_string_lossy().into_owned();
                ws.write(
                    &format!("desired/{name}"),
                    &std::fs::read_to_string(f.path()).unwrap(),
                );
            }
        } else {
            ws.write(
                &format!("desired/{fixture}"),
                &std::fs::read_to_string(&path).unwrap(),
            );
        }
        for cmd in ["validate", "plan"] {
            let run = reconcile_in(None, &ws, &[cmd]);
            run.expect_code(1);
            assert!(
                run.stderr.contains(message),
                "{fixture}: expected {message:?}\n{run}"
            );
            assert!(
                run.stderr.contains(loc),
                "{fixture}: expected location {loc:?}\n{run}"
            );
            assert!(!run.stderr.contains("panicked"), "{run}");
        }
    }
}

#[test]
fn one_run_reports_every_problem_of_the_desired_state() {
    let ws = Workspace::new();
    ws.write(
        "desired/main.toml",
        "[stack]\nname = \"x\"\nregion = \"us-east-1\"\n\n[vpc.a]\ncidr_block = \"10.0.0.0/33\"\n\n[subnet.b]\nvpc_id = \"${vpc.a.id}\"\n",
    );
    let run = reconcile_in(None, &ws, &["validate"]);
    run.expect_code(1);
    assert!(
        run.stderr.contains("the desired state has 2 errors"),
        "{run}"
    );
    assert!(run.stderr.contains("main.toml:6:14"), "{run}");
    assert!(
        run.stderr
            .contains("subnet.b: missing required field `cidr_block`"),
        "{run}"
    );
}

#[test]
fn a_sensitive_variable_given_on_the_command_line_is_never_echoed() {
    let ws = Workspace::new();
    ws.write(
        "desired/main.toml",
        "[stack]\nname = \"x\"\nregion = \"us-east-1\"\n\n[variables.db_password]\nsensitive = true\npattern = \"^[a-zA-Z0-9]{10,41}$\"\n",
    );
    let run = reconcile_in(None, &ws, &["validate", "--var", "db_password=s3cr3t!"]);
    run.expect_code(1);
    assert!(!run.stderr.contains("s3cr3t"), "{run}");
    assert!(run.stderr.contains("variable `db_password`"), "{run}");
    reconcile_in(
        None,
        &ws,
        &["validate", "--var", "db_password=abcdefghij12"],
    )
    .expect_success();
}
