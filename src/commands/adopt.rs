//! `reconcile adopt --from-cloudformation STACK | --from-terraform FILE
//! --out DIR`: lists the source's resources, reads them live, writes the
//! desired state and the state (`crate::adopt`), checks that what it wrote
//! loads, and with `--retire-stack` retires the CloudFormation stack.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use crate::adopt::{self, Adoption, cloudformation, terraform, write};
use crate::aws::Clients;
use crate::cli::{AdoptArgs, Global};
use crate::kinds::Ctx;
use crate::plan::Action;
use crate::state::Store;
use crate::state::fingerprint::Fingerprinter;
use crate::state::local::LocalStore;
use crate::ui::Ui;

use super::{PlanOptions, Session};

pub async fn run(global: &Global, args: &AdoptArgs) -> anyhow::Result<i32> {
    let ui = super::ui(global);
    let region = region(args).await?;
    let (source, default_stack) = match (&args.from_cloudformation, &args.from_terraform) {
        (Some(stack), _) => (format!("CloudFormation stack {stack}"), stack.clone()),
        (None, Some(path)) => (
            format!("Terraform state {}", path.display()),
            path.file_stem().map_or_else(
                || "adopted".to_owned(),
                |s| s.to_string_lossy().into_owned(),
            ),
        ),
        (None, None) => bail!("pass --from-cloudformation STACK or --from-terraform FILE"),
    };
    let stack = stack_name(args.stack_name.as_deref().unwrap_or(&default_stack));
    let state_path = global
        .state
        .clone()
        .unwrap_or_else(|| PathBuf::from("state").join(format!("{stack}.json")));
    refuse_to_overwrite(&args.out, &state_path, args.force)?;

    let clients = Clients::load(&region, None, &stack, global.max_attempts).await;
    let (found, skipped, nested) = match (&args.from_cloudformation, &args.from_terraform) {
        (Some(name), _) => cloudformation::list(&clients.cloudformation, name).await?,
        (None, Some(path)) => {
            let (f, s) = terraform::load(path).map_err(anyhow::Error::msg)?;
            (f, s, false)
        }
        (None, None) => unreachable!("checked above"),
    };
    if args.retire_stack && nested {
        bail!(
            "--retire-stack: {source} has nested stacks; retire them one by one (adopt each nested stack by its own name)"
        );
    }
    let cx = Ctx { aws: &clients, stack: &stack };
    let adoption = adopt::read_live(cx, found, skipped).await?;
    let (tool, _) = source.split_once(' ').unwrap_or(("", ""));
    let written = write::render(
        &adoption,
        &write::Origin { source: &source, tool, stack: &stack, region: &region },
    );
    write_files(&args.out, &written.files, args.force)?;
    save_state(global, &args.out, &state_path, written.state).await?;
    report(&ui, &adoption, &args.out, &state_path);

    if !args.retire_stack {
        return Ok(0);
    }
    let Some(name) = &args.from_cloudformation else {
        return Ok(0);
    };
    let cx = Ctx { aws: &clients, stack: &stack };
    retire(global, args, &ui, cx, name, &adoption, &state_path).await
}

/// `--region`, else the standard chain (AWS_REGION, the profile).
async fn region(args: &AdoptArgs) -> anyhow::Result<String> {
    if let Some(r) = &args.region {
        return Ok(r.clone());
    }
    aws_config::meta::region::RegionProviderChain::default_provider()
        .region()
        .await
        .map(|r| r.to_string())
        .context("no region: pass --region or set AWS_REGION")
}

/// A stack name of letters, digits, `-` and `_`.
fn stack_name(raw: &str) -> String {
    let name: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let name = name.trim_matches('-').to_owned();
    if name.is_empty() {
        "adopted".into()
    } else {
        name
    }
}

fn refuse_to_overwrite(out: &Path, state: &Path, force: bool) -> anyhow::Result<()> {
    if force {
        return Ok(());
    }
    let non_empty = std::fs::read_dir(out).is_ok_and(|mut d| d.next().is_some());
    if non_empty {
        bail!(
            "{} already exists and is not empty; pass --force to overwrite it",
            out.display()
        );
    }
    if state.exists() {
        bail!(
            "the state {} already exists; pass --force to overwrite it (the old one is kept as .backup), or --state to write another",
            state.display()
        );
    }
    Ok(())
}

/// Writes the files; with `--force`, the directory's other `*.toml` files
/// go first (they would be merged into the adopted stack).
fn write_files(out: &Path, files: &[(String, String)], force: bool) -> anyhow::Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    if force {
        for entry in std::fs::read_dir(out)?.flatten() {
            let p = entry.path();
            if p.extension().is_some_and(|e| e == "toml") {
                std::fs::remove_file(&p).with_context(|| format!("removing {}", p.display()))?;
            }
        }
    }
    for (name, text) in files {
        let p = out.join(name);
        std::fs::write(&p, text).with_context(|| format!("writing {}", p.display()))?;
    }
    Ok(())
}

/// Saves the state, once the written desired state loads (a desired state
/// that does not validate is adopt's own bug, reported as such).
async fn save_state(
    global: &Global,
    out: &Path,
    path: &Path,
    mut state: crate::state::State,
) -> anyhow::Result<()> {
    let mut g = global.clone();
    g.desired = out.to_owned();
    let config = super::load_config_with(&g, &Default::default()).with_context(|| {
        format!(
            "the desired state written to {} does not load (please report this)",
            out.display()
        )
    })?;
    let fingerprints = Fingerprinter::for_state(path)
        .map_err(|e| anyhow::anyhow!("the key of write-only fingerprints: {e}"))?;
    crate::state::mask(&mut state, &config, &fingerprints);
    let store = LocalStore::open(path)?;
    store.save(&mut state).await?;
    store.unlock().await?;
    Ok(())
}

/// The table logical id → address, then what was folded and what was not
/// adopted.
fn report(ui: &Ui, adoption: &Adoption, out: &Path, state: &Path) {
    let width = adoption
        .adopted
        .iter()
        .map(|a| a.logical_id.len())
        .chain(adoption.folded.iter().map(|f| f.logical_id.len()))
        .chain(adoption.not_adopted.iter().map(|n| n.logical_id.len()))
        .max()
        .unwrap_or(0);
    ui.line(&format!("Adopted {} resources:", adoption.adopted.len()));
    for a in &adoption.adopted {
        ui.line(&format!(
            "  {:width$}  -> {}  ({})",
            a.logical_id, a.address, a.id
        ));
    }
    if !adoption.folded.is_empty() {
        ui.line("Held by an adopted resource:");
        for f in &adoption.folded {
            ui.line(&format!(
                "  {:width$}  -> {}  ({})",
                f.logical_id, f.into, f.ty
            ));
        }
    }
    if !adoption.not_adopted.is_empty() {
        ui.warning(&format!(
            "{} resources not adopted (named in {}):",
            adoption.not_adopted.len(),
            out.join("stack.toml").display()
        ));
        for n in &adoption.not_adopted {
            ui.line(&format!(
                "  {:width$}  {} : {}",
                n.logical_id, n.ty, n.reason
            ));
        }
    }
    ui.line(&ui.style.green(&format!(
        "Wrote {} and {}. Run `reconcile plan --desired {}` to check that nothing differs.",
        out.display(),
        state.display(),
        out.display()
    )));
}

/// `--retire-stack`: only from a clean plan; lists what the stack's
/// deletion takes with it, asks, retains and deletes, then checks that every
/// adopted resource is still there.
async fn retire(
    global: &Global,
    args: &AdoptArgs,
    ui: &Ui,
    cx: Ctx<'_>,
    stack: &str,
    adoption: &Adoption,
    state_path: &Path,
) -> anyhow::Result<i32> {
    let mut g = global.clone();
    g.desired = args.out.clone();
    g.state = Some(state_path.to_owned());
    let session = Session::open(&g).await?;
    let plan = session.plan(&PlanOptions::default()).await;
    session.close().await?;
    let differ: Vec<String> = plan?
        .changes
        .iter()
        .filter(|c| c.action != Action::NoOp)
        .map(|c| c.address.clone())
        .collect();
    if !differ.is_empty() {
        bail!(
            "not retiring {stack}: the plan of the adopted state is not clean ({}); run `reconcile plan --desired {}` and fix the desired state first",
            differ.join(", "),
            args.out.display()
        );
    }
    if adoption.not_adopted.is_empty() {
        ui.line(&format!("Every resource of {stack} is adopted."));
    } else {
        ui.warning(&format!(
            "deleting {stack} deletes these resources, which were not adopted:"
        ));
        for n in &adoption.not_adopted {
            ui.line(&format!("  {} ({}): {}", n.logical_id, n.ty, n.reason));
        }
    }
    let question = format!(
        "Retain the {} adopted resources in CloudFormation stack {stack}, then delete the stack?",
        adoption.adopted.len()
    );
    if !super::confirm(&question, args.auto_approve)? {
        ui.line("Not retired.");
        return Ok(1);
    }
    let keep: BTreeSet<String> = adoption
        .adopted
        .iter()
        .map(|a| a.logical_id.clone())
        .chain(adoption.folded.iter().map(|f| f.logical_id.clone()))
        .collect();
    cloudformation::retire(&cx.aws.cloudformation, stack, &keep).await?;
    ui.line(&format!("Deleted CloudFormation stack {stack}."));
    let mut missing = Vec::new();
    for a in &adoption.adopted {
        let live = a.kind.read_many(cx, std::slice::from_ref(&a.id)).await;
        match live {
            Ok(l) if l.contains_key(&a.id) => {
                ui.line(&format!("  {} still exists ({})", a.address, a.id));
            }
            Ok(_) => missing.push(a.address.clone()),
            Err(e) if e.is_not_found() => missing.push(a.address.clone()),
            Err(e) => bail!("checking {} ({}): {e}", a.address, a.id),
        }
    }
    if !missing.is_empty() {
        bail!(
            "after deleting {stack}, these adopted resources are gone: {}",
            missing.join(", ")
        );
    }
    ui.line(&ui.style.green(&format!(
        "Retired {stack}: every adopted resource still exists and is managed by reconcile."
    )));
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stack_names_keep_to_letters_digits_and_dashes() {
        assert_eq!(stack_name("web-prod"), "web-prod");
        assert_eq!(
            stack_name("arn:aws:cloudformation/x"),
            "arn-aws-cloudformation-x"
        );
        assert_eq!(stack_name("///"), "adopted");
    }

    #[test]
    fn an_existing_directory_or_state_is_kept_without_force() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let state = dir.path().join("s.json");
        refuse_to_overwrite(&out, &state, false).unwrap();
        std::fs::create_dir(&out).unwrap();
        refuse_to_overwrite(&out, &state, false).unwrap(); // empty is fine
        std::fs::write(out.join("a.toml"), "").unwrap();
        assert!(
            refuse_to_overwrite(&out, &state, false)
                .unwrap_err()
                .to_string()
                .contains("--force")
        );
        refuse_to_overwrite(&out, &state, true).unwrap();
        std::fs::remove_file(out.join("a.toml")).unwrap();
        std::fs::write(&state, "{}").unwrap();
        assert!(
            refuse_to_overwrite(&out, &state, false)
                .unwrap_err()
                .to_string()
                .contains("state")
        );
    }
}
