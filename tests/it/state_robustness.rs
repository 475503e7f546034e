//! A state file that cannot be trusted (corrupt, truncated, empty, from a
//! newer reconcile, of another stack, another lineage pushed over it) is
//! refused with an error naming the file, exit code 1, and the file and its
//! backup are left byte for byte as they were. None of this needs AWS.

use crate::support;

use support::{Run, Workspace, reconcile_in};

const DESIRED: &str = "[stack]\nname = \"robust\"\nregion = \"us-east-1\"\n\n[vpc.main]\ncidr_block = \"10.0.0.0/16\"\n";

const LINEAGE: &str = "0b6c6f3e-5a8e-4c1e-9d47-2f1f7a0c9e11";

fn state(version: u32, stack: &str, lineage: &str, serial: u64) -> String {
    serde_json::to_string_pretty(&serde_json::json!({
        "version": version,
        "lineage": lineage,
        "serial": serial,
        "stack": stack,
        "resources": {
            "vpc.main": {
                "kind": "vpc",
                "id": "vpc-0123456789abcdef0",
                "attributes": { "cidr_block": "10.0.0.0/16", "id": "vpc-0123456789abcdef0" },
                "dependencies": [],
                "status": "created"
            }
        },
        "outputs": {}
    }))
    .unwrap()
}

/// The workspace with `text` as its state and a valid backup beside it.
fn workspace(text: &[u8]) -> Workspace {
    let ws = Workspace::new();
    ws.write("desired/main.toml", DESIRED);
    std::fs::write(ws.state_path(), text).unwrap();
    std::fs::write(backup(&ws), state(1, "robust", LINEAGE, 2)).unwrap();
    ws
}

fn backup(ws: &Workspace) -> std::path::PathBuf {
    ws.path().join("state/test.json.backup")
}

#[track_caller]
fn expect_refused_untouched(
    ws: &Workspace,
    run: &Run,
    before: &[u8],
    backup_before: &[u8],
    what: &str,
) {
    assert_eq!(run.code, 1, "{what}: expected exit code 1\n{run}");
    assert!(!run.stderr.contains("panicked"), "{what}\n{run}");
    let file = ws.state_path().display().to_string();
    assert!(
        run.stderr.contains(&file),
        "{what}: the error must name {file}\n{run}"
    );
    assert_eq!(
        std::fs::read(ws.state_path()).unwrap(),
        before,
        "{what}: the state changed"
    );
    assert_eq!(
        std::fs::read(backup(ws)).unwrap(),
        backup_before,
        "{what}: the backup changed"
    );
    assert!(
        !ws.path().join("state/test.json.tmp").exists(),
        "{what}: a temporary state was left"
    );
}

#[test]
fn an_untrustworthy_state_is_refused_by_plan_and_apply_and_left_unchanged() {
    let valid = state(1, "robust", LINEAGE, 3);
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "corrupt JSON",
            b"{ \"version\": 1, \"lineage\": ]".to_vec(),
            "cannot read the state",
        ),
        (
            "truncated",
            valid.as_bytes()[..valid.len() / 2].to_vec(),
            "EOF while parsing",
        ),
        ("empty", Vec::new(), "the file is empty"),
        ("blank", b"\n  \n".to_vec(), "the file is empty"),
        ("not an object", b"[]".to_vec(), "cannot read the state"),
        (
            "future format version",
            state(99, "robust", LINEAGE, 3).into_bytes(),
            "format version 99 is newer than this reconcile understands (1)",
        ),
        (
            "another stack",
            state(1, "payments", LINEAGE, 3).into_bytes(),
            "belongs to stack `payments`, but the desired state is stack `robust`",
        ),
        (
            "not UTF-8",
            [
                &valid.as_bytes()[..40],
                b"\xff\xfe",
                &valid.as_bytes()[40..],
            ]
            .concat(),
            "cannot read the state",
        ),
    ];
    for (what, text, message) in &cases {
        let ws = workspace(text);
        let backup_before = std::fs::read(backup(&ws)).unwrap();
        for args in [
            &["plan"][..],
            &["apply", "--auto-approve"][..],
            &["destroy", "--auto-approve"][..],
        ] {
            let run = reconcile_in(None, &ws, args);
            let what = format!("{what} ({})", args[0]);
            expect_refused_untouched(&ws, &run, text, &backup_before, &what);
            assert!(
                run.stderr.contains(message),
                "{what}: expected {message:?}\n{run}"
            );
        }
    }
}

#[test]
fn state_push_refuses_another_lineage_or_an_older_serial_and_accepts_a_later_version() {
    let current = state(1, "robust", LINEAGE, 3);
    let ws = workspace(current.as_bytes());
    let backup_before = std::fs::read(backup(&ws)).unwrap();
    let refused = [
        (
            "foreign lineage",
            state(1, "robust", "7d1f0c4a-0000-4000-8000-000000000000", 9),
            "it is another state, not a version of this one",
        ),
        (
            "older serial",
            state(1, "robust", LINEAGE, 2),
            "older than the state's 3",
        ),
        (
            "another stack",
            state(1, "payments", LINEAGE, 9),
            "is a state of stack `payments`, not `robust`",
        ),
        ("corrupt", "{ nope".to_owned(), "cannot read the state"),
    ];
    for (what, pushed, message) in refused {
        ws.write("pushed.json", &pushed);
        let pushed_path = ws.path().join("pushed.json").display().to_string();
        let run = reconcile_in(None, &ws, &["state", "push", &pushed_path]);
        expect_refused_untouched(&ws, &run, current.as_bytes(), &backup_before, what);
        assert!(
            run.stderr.contains(message),
            "{what}: expected {message:?}\n{run}"
        );
        assert!(
            run.stderr.contains(&pushed_path),
            "{what}: name the pushed file\n{run}"
        );
    }

    // --force takes another lineage, never another stack.
    ws.write(
        "pushed.json",
        &state(1, "robust", "7d1f0c4a-0000-4000-8000-000000000000", 1),
    );
    let pushed_path = ws.path().join("pushed.json").display().to_string();
    reconcile_in(None, &ws, &["state", "push", &pushed_path, "--force"]).expect_success();
    let now: serde_json::Value = serde_json::from_str(&ws.read("state/test.json")).unwrap();
    assert_eq!(now["lineage"], "7d1f0c4a-0000-4000-8000-000000000000");
    assert_eq!(std::fs::read(backup(&ws)).unwrap(), current.as_bytes());

    // A later version of the same lineage is taken without --force.
    let ws = workspace(current.as_bytes());
    ws.write("pushed.json", &state(1, "robust", LINEAGE, 7));
    let pushed_path = ws.path().join("pushed.json").display().to_string();
    let run = reconcile_in(None, &ws, &["state", "push", &pushed_path]);
    run.expect_success();
    let now: serde_json::Value = serde_json::from_str(&ws.read("state/test.json")).unwrap();
    assert_eq!(now["lineage"], LINEAGE);
    assert_eq!(now["serial"], 8);
    assert_eq!(now["resources"]["vpc.main"]["id"], "vpc-0123456789abcdef0");
}
