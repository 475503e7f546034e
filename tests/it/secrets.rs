//! A sensitive value given through `--var-file` never shows: not in any
//! command's output (plan text and JSON, apply, output, state show, destroy,
//! with the SDK's and reconcile's debug logs on) and not in any file under
//! the state directory (state, backup, saved plan, lock, key).

use crate::support;

use support::{Emulator, Run, Workspace, reconcile_env};

const SECRET: &str = "Zq7-sensitive-canary-4Hk2";

const DESIRED: &str = r#"[stack]
name = "secrets"
region = "us-east-1"

[variables.api_token]
type = "string"
sensitive = true
min_length = 10

[vpc.main]
cidr_block = "10.0.0.0/16"
tags = { Name = "main", Token = "${var.api_token}" }

[outputs]
token = "${var.api_token}"
vpc_id = "${vpc.main.id}"
"#;

#[track_caller]
fn clean(run: &Run, what: &str) {
    assert!(
        !run.stdout.contains(SECRET),
        "{what}: the secret is on stdout\n{run}"
    );
    assert!(
        !run.stderr.contains(SECRET),
        "{what}: the secret is on stderr\n{run}"
    );
}

#[test]
fn a_sensitive_variable_from_a_var_file_appears_in_no_output_and_no_state_file() {
    let emu = Emulator::start();
    let ws = Workspace::new();
    ws.write("desired/main.toml", DESIRED);
    // Outside state/: the one place the secret is meant to be.
    ws.write("secrets.toml", &format!("api_token = \"{SECRET}\"\n"));
    let var_file = ws.path().join("secrets.toml").display().to_string();
    let saved = ws.path().join("state/release.plan").display().to_string();
    let env = [("RECONCILE_LOG", "debug"), ("RUST_LOG", "debug")];
    let run = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--var-file", var_file.as_str()]);
        let r = reconcile_env(Some(&emu), &ws, &all, &env);
        clean(&r, &args.join(" "));
        r
    };

    run(&["validate"]).expect_success();
    let plan = run(&["plan", "--detailed-exitcode"]);
    plan.expect_code(2);
    assert!(plan.stdout.contains("(sensitive value)"), "{plan}");
    run(&["plan", "--json"]).expect_success();
    run(&["plan", "--out", &saved]).expect_success();
    run(&["apply", &saved]).expect_success();
    run(&["plan", "--detailed-exitcode"]).expect_code(0);
    run(&["output"]).expect_success();
    run(&["output", "token"]).expect_success();
    run(&["state", "show", "vpc.main"]).expect_success();
    run(&["apply", "--auto-approve", "--refresh-only"]).expect_success();

    // The value did reach AWS: the tag is there, so the masking is real.
    let tagged = emu.data().to_string().contains(SECRET);
    assert!(tagged, "the emulator should hold the tag value");

    // A wrong value is refused without being echoed.
    let bad = reconcile_env(
        Some(&emu),
        &ws,
        &["plan", "--var", &format!("api_token={}", &SECRET[..5])],
        &env,
    );
    bad.expect_code(1);
    assert!(!bad.stderr.contains(&SECRET[..5]), "{bad}");

    let files = state_files(&ws);
    assert!(
        files.len() >= 4,
        "state, backup, lock, saved plan: {files:?}"
    );
    for f in &files {
        let bytes = std::fs::read(f).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains(SECRET), "{} holds the secret", f.display());
    }

    run(&["destroy", "--auto-approve"]).expect_success();
    for f in state_files(&ws) {
        let text = String::from_utf8_lossy(&std::fs::read(&f).unwrap()).into_owned();
        assert!(!text.contains(SECRET), "{} holds the secret", f.display());
    }
    eprintln!(
        "secrets: {} commands' output and {} state files checked",
        12,
        files.len()
    );
}

fn state_files(ws: &Workspace) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut dirs = vec![ws.path().join("state")];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}
