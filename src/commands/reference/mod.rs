//! Commands that describe reconcile itself and touch neither the desired
//! state nor AWS: `schema`, `docs`, `completions`, `man`.

pub mod docs;
pub mod schema_json;

use anyhow::Context;
use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs, DocsArgs, Global};

pub fn schema() -> anyhow::Result<i32> {
    let text = serde_json::to_string_pretty(&schema_json::generate())?;
    print_bare(format!("{text}\n").as_bytes())
}

pub fn docs(global: &Global, args: &DocsArgs) -> anyhow::Result<i32> {
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let pages = docs::generate();
    for (name, text) in &pages {
        let path = args.out.join(name);
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    super::ui(global).line(&format!(
        "Wrote {} pages to {}.",
        pages.len(),
        args.out.display()
    ));
    Ok(0)
}

pub fn completions(args: &CompletionsArgs) -> anyhow::Result<i32> {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "reconcile", &mut out);
    print_bare(&out)
}

pub fn man() -> anyhow::Result<i32> {
    let mut out = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut out)
        .context("rendering the man page")?;
    print_bare(&out)
}

/// Writes to stdout; a reader that stops early (`| head`) is no error.
fn print_bare(bytes: &[u8]) -> anyhow::Result<i32> {
    crate::ui::document(bytes)?;
    Ok(0)
}
