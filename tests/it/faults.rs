//! Fault injection: every example stack applied and destroyed through a
//! proxy that fails 10 % of requests (500, 503, throttling in each
//! protocol's format, reset connections; seeded). Retries and re-runs
//! converge: no duplicates, a clean plan, nothing left behind. Then faults
//! after forwarding: the emulator did the work, the answer is lost.

use crate::support;

use support::proxy::{Faults, Proxy};
use support::{Emulator, Run, Workspace, reconcile_env, tagged_copies};

/// Runs a command through the proxy until it succeeds (at most 3 times):
/// a run may fail when one call exhausts its retries; the next converges.
/// Returns the runs it took, or the last failed run.
fn converge(
    emu: &Emulator,
    ws: &Workspace,
    proxy: &Proxy,
    vars: &[(&str, &str)],
    args: &[&str],
) -> Result<usize, Run> {
    let mut env = vec![("AWS_ENDPOINT_URL", proxy.endpoint.as_str())];
    env.extend_from_slice(vars);
    let mut last = None;
    for runs in 1..=3 {
        let run = reconcile_env(Some(emu), ws, args, &env);
        assert!(!run.stderr.contains("panicked"), "{run}");
        if run.code == 0 {
            return Ok(runs);
        }
        // What made this run fail, for the figures of a many-seed run.
        for line in run.stderr.lines().filter(|l| l.starts_with("  ")) {
            eprintln!("    {args:?} run {runs}: {}", line.trim());
        }
        last = Some(run);
    }
    Err(last.expect("a run"))
}

/// The seeds to run: `RECONCILE_FAULT_SEEDS` (`1-20` or `3,7,9`), else
/// `default`. CI runs the default; convergence is measured over many.
fn seeds(default: &[u64]) -> Vec<u64> {
    let Ok(spec) = std::env::var("RECONCILE_FAULT_SEEDS") else {
        return default.to_vec();
    };
    spec.split(',')
        .flat_map(|part| match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (u64, u64) = (a.trim().parse().unwrap(), b.trim().parse().unwrap());
                (a..=b).collect::<Vec<_>>()
            }
            None => vec![part.trim().parse().unwrap()],
        })
        .collect()
}

/// The examples to run: `RECONCILE_FAULT_EXAMPLES` (comma-separated), else all.
fn examples() -> Vec<&'static str> {
    match std::env::var("RECONCILE_FAULT_EXAMPLES") {
        Ok(only) => EXAMPLES
            .iter()
            .copied()
            .filter(|e| only.split(',').any(|o| o.trim() == *e))
            .collect(),
        Err(_) => EXAMPLES.to_vec(),
    }
}

/// Applies, plans and destroys every example through a proxy faulting with
/// `faults(seed)`, for every seed, each seed on a fresh emulator. Prints
/// one line per seed and example (runs needed, duplicates, leftovers) and
/// fails at the end if any did not converge or left anything wrong.
async fn converge_all(what: &str, default_seeds: &[u64], faults: impl Fn(u64) -> Faults) {
    let (mut total, mut faulted) = (0, 0);
    let mut failures = Vec::new();
    for seed in seeds(default_seeds) {
        let emu = Emulator::start();
        let proxy = Proxy::start(&emu.endpoint, faults(seed));
        for name in examples() {
            let (ws, vars) = example(name);
            let mut runs = Vec::new();
            let mut failed = None;
            for args in [
                &["apply", "--auto-approve"][..],
                &["plan", "--detailed-exitcode"],
            ] {
                match converge(&emu, &ws, &proxy, vars, args) {
                    Ok(n) => runs.push(n),
                    Err(run) => {
                        failed = Some(run);
                        break;
                    }
                }
            }
            let dups = duplicates(&emu).await;
            if failed.is_none() {
                match converge(&emu, &ws, &proxy, vars, &["destroy", "--auto-approve"]) {
                    Ok(n) => runs.push(n),
                    Err(run) => failed = Some(run),
                }
            }
            let left = tagged_copies(&emu).await;
            let stats = proxy.stats();
            let wrong_left = failed.is_none() && left != retained(name);
            eprintln!(
                "{what} seed {seed} {name}: runs (apply, plan, destroy) {runs:?}, {} requests, {} faulted, duplicates {dups:?}, left {left:?}{}",
                stats.total(),
                stats.faulted(),
                if failed.is_some() {
                    ", DID NOT CONVERGE"
                } else {
                    ""
                }
            );
            if let Some(run) = failed {
                failures.push(format!(
                    "seed {seed} {name}: did not converge in 3 runs\n{run}"
                ));
            }
            if !dups.is_empty() {
                failures.push(format!("seed {seed} {name}: duplicates {dups:?}"));
            }
            if wrong_left {
                failures.push(format!("seed {seed} {name}: left behind {left:?}"));
            }
            total += stats.total();
            faulted += stats.faulted();
            proxy.reset_stats();
        }
    }
    eprintln!(
        "{what}: {faulted} of {total} requests faulted; {} failures",
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(
        faulted * 20 >= total,
        "about 10 % should fail: {faulted} of {total}"
    );
}

const EXAMPLES: &[&str] = &["network", "fargate", "refarch", "ec2-cluster", "django"];

/// A workspace holding `example` and the variables it needs.
fn example(example: &str) -> (Workspace, &'static [(&'static str, &'static str)]) {
    let vars: &[(&str, &str)] = match example {
        "ec2-cluster" => &[("RECONCILE_VAR_efs_enabled", "true")],
        "django" => &[
            ("RECONCILE_VAR_db_password", "Sup3rS3cretPassw0rd"),
            ("RECONCILE_VAR_secret_key", "k3y"),
            ("RECONCILE_VAR_secret_recovery_days", "0"),
            ("RECONCILE_VAR_app_revision", "v1"),
        ],
        _ => &[],
    };
    let ws = Workspace::new();
    if example == "network" {
        ws.write(
            "desired/main.toml",
            &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/desired/network.toml"))
                .unwrap(),
        );
    } else {
        ws.copy_example(example);
    }
    (ws, vars)
}

/// What a destroy of `example` leaves on purpose: django retains its
/// assets bucket (and comes last, so the bucket is in no one else's count).
fn retained(example: &str) -> std::collections::BTreeMap<String, usize> {
    match example {
        "django" => [("s3_bucket.assets".to_owned(), 1)].into(),
        _ => Default::default(),
    }
}

/// Addresses tagged in the emulator more than once.
async fn duplicates(emu: &Emulator) -> Vec<(String, usize)> {
    tagged_copies(emu)
        .await
        .into_iter()
        .filter(|(_, n)| *n > 1)
        .collect()
}

#[tokio::test]
async fn every_example_converges_with_ten_percent_of_requests_faulted() {
    converge_all("faults", &[42], |seed| Faults::all(0.10, seed)).await;
}

/// 10 % of requests reach the emulator and then lose their answer (a 500 or
/// a reset): creates that happened without reconcile knowing. The SDK does
/// not repeat such a create (`aws::once`); reconcile looks it up by its tags
/// and adopts it, or tries again when it was not made.
#[tokio::test]
async fn a_lost_answer_to_a_create_makes_no_duplicate() {
    converge_all("lost answers", &[7], |seed| {
        Faults::after_forwarding(0.10, seed)
    })
    .await;
}
