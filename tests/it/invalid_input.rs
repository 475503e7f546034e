//! Every kind of bad input is refused with a message naming where it is,
//! exit code 1, before any AWS call.

use crate::support;

use std::path::{Path, PathBuf};

use support::{Run, Workspace, copy_dir, reconcile_in};

/// Every fixture under tests/fixtures/invalid/ (a file, or a directory
/// holding a desired state with its modules) states what reconcile must say
/// in one or more `# expect: <text>` lines; the text names the file:line:col
/// or the resource address wherever there is one.
fn expectations(path: &Path) -> Vec<String> {
    let files: Vec<PathBuf> = if path.is_dir() {
        let mut all = Vec::new();
        let mut dirs = vec![path.to_owned()];
        while let Some(d) = dirs.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    dirs.push(p);
                } else {
                    all.push(p);
                }
            }
        }
        all
    } else {
        vec![path.to_owned()]
    };
    files
        .iter()
        .flat_map(|f| {
            // Lossy: one fixture is deliberately not UTF-8 after its header.
            let text = String::from_utf8_lossy(&std::fs::read(f).unwrap()).into_owned();
            text.lines()
                .filter_map(|l| l.strip_prefix("# expect: ").map(str::to_owned))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Refused with exit code 1, never a panic (101), and every expected text
/// on stderr (paths relative to the workspace).
#[track_caller]
fn expect_refused(ws: &Workspace, run: &Run, what: &str, expected: &[String]) {
    assert!(!run.stderr.contains("panicked"), "{what}: panicked\n{run}");
    assert_eq!(run.code, 1, "{what}: expected exit code 1\n{run}");
    let stderr = run.stderr.replace(&format!("{}/", ws.path().display()), "");
    for e in expected {
        assert!(stderr.contains(e.as_str()), "{what}: expected {e:?}\n{run}");
    }
}

#[test]
fn every_invalid_fixture_is_refused_with_its_message_and_exit_code_1() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/invalid");
    let mut names: Vec<String> = std::fs::read_dir(&fixtures)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(names.len() >= 40, "only {} fixtures", names.len());
    for name in &names {
        let path = fixtures.join(name);
        let expected = expectations(&path);
        assert!(
            !expected.is_empty(),
            "fixture {name} has no `# expect:` line"
        );
        // Each fixture becomes the whole desired state of a fresh workspace.
        let ws = Workspace::new();
        if path.is_dir() {
            copy_dir(&path, &ws.desired_path());
        } else {
            std::fs::copy(&path, ws.desired_path().join(name)).unwrap();
        }
        for cmd in ["validate", "plan"] {
            let run = reconcile_in(None, &ws, &[cmd]);
            expect_refused(&ws, &run, &format!("{name} ({cmd})"), &expected);
        }
    }
}

const STACK: &str = "[stack]\nname = \"bad\"\nregion = \"us-east-1\"\n\n";

/// Inputs too big to keep as fixtures: a 5 MB file and 10 000 levels of
/// nesting (the parser's recursion limit, not the stack, must stop it).
#[test]
fn huge_and_deeply_nested_files_are_refused_without_a_crash() {
    let filler: String = (0..100_000)
        .map(|i| format!("# filler line {i:06} of a very large desired-state file\n"))
        .collect();
    assert!(filler.len() > 5_000_000);
    let huge_line = STACK.lines().count() + 100_000 + 3;
    let depth = 10_000;
    let cases: Vec<(&str, String, Vec<String>)> = vec![
        (
            "huge.toml",
            format!("{STACK}{filler}[vpc.main]\ncidr_block = \"10.0.0.0/16\"\nbogus = 1\n"),
            vec![format!(
                "desired/huge.toml:{huge_line}:1: vpc.main: unknown field `bogus` for kind `vpc`"
            )],
        ),
        (
            "deep_arrays.toml",
            format!(
                "{STACK}[vpc.main]\ncidr_block = \"10.0.0.0/16\"\ntags = {{ Deep = {}{} }}\n",
                "[".repeat(depth),
                "]".repeat(depth)
            ),
            vec![
                "desired/deep_arrays.toml:7:".into(),
                "TOML syntax error".into(),
            ],
        ),
        (
            "deep_tables.toml",
            format!(
                "{STACK}[vpc.main]\ncidr_block = \"10.0.0.0/16\"\ntags = {}1{}\n",
                "{ a = ".repeat(depth),
                " }".repeat(depth)
            ),
            vec![
                "desired/deep_tables.toml:7:".into(),
                "TOML syntax error".into(),
            ],
        ),
        (
            "deep_headers.toml",
            format!("{STACK}[{}]\nx = 1\n", vec!["a"; depth].join(".")),
            vec![
                "desired/deep_headers.toml:".into(),
                "TOML syntax error".into(),
            ],
        ),
    ];
    for (name, text, expected) in cases {
        let ws = Workspace::new();
        ws.write(&format!("desired/{name}"), &text);
        let started = std::time::Instant::now();
        let run = reconcile_in(None, &ws, &["validate"]);
        expect_refused(&ws, &run, name, &expected);
        assert!(
            started.elapsed().as_secs() < 30,
            "{name}: took {:?}",
            started.elapsed()
        );
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
