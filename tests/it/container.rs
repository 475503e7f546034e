//! The `Dockerfile` builds an image whose binary runs, when this machine
//! has a working container builder (docker or podman with their service,
//! or buildah) and can pull the base images; otherwise the test says why
//! it skipped.

use std::path::Path;
use std::process::{Command, Output};

fn run(tool: &str, args: &[&str]) -> Option<Output> {
    Command::new(tool)
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
}

fn ok(tool: &str, args: &[&str]) -> bool {
    run(tool, args).is_some_and(|o| o.status.success())
}

/// The first builder that answers: (tool, how to run the built image).
fn builder() -> Option<&'static str> {
    ["docker", "podman"]
        .into_iter()
        .find(|t| ok(t, &["info"]))
        .or_else(|| ok("buildah", &["--version"]).then_some("buildah"))
}

/// The `FROM` images of the Dockerfile.
fn base_images() -> Vec<String> {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Dockerfile"))
        .expect("the Dockerfile");
    text.lines()
        .filter_map(|l| l.strip_prefix("FROM "))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_dockerfile_builds_an_image_whose_binary_runs() {
    let images = base_images();
    assert_eq!(images.len(), 2, "a build stage and a runtime stage");
    let Some(tool) = builder() else {
        println!(
            "skipped: no container builder (docker or podman with a running service, or buildah)"
        );
        return;
    };
    for image in &images {
        if let Some(out) = run(tool, &["pull", image]).filter(|o| !o.status.success()) {
            println!(
                "skipped: {tool} cannot pull the base image {image}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
            return;
        }
    }
    let build = if tool == "buildah" { "bud" } else { "build" };
    let out = run(tool, &[build, "-t", "reconcile:test", "."]).expect("running the builder");
    assert!(
        out.status.success(),
        "{tool} {build} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let version = if tool == "buildah" {
        let ctr = run(tool, &["from", "reconcile:test"]).expect("buildah from");
        let ctr = String::from_utf8_lossy(&ctr.stdout).trim().to_owned();
        let out = run(tool, &["run", &ctr, "reconcile", "--version"]).expect("buildah run");
        let _ = run(tool, &["rm", &ctr]);
        out
    } else {
        run(tool, &["run", "--rm", "reconcile:test", "--version"]).expect("running the image")
    };
    assert!(
        String::from_utf8_lossy(&version.stdout).starts_with("reconcile "),
        "{}",
        String::from_utf8_lossy(&version.stderr)
    );
}
