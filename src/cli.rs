//! Every subcommand and flag (clap derive).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "reconcile",
    version,
    about = "Keeps AWS infrastructure equal to a desired state written in TOML.",
    after_help = "Example:\n  reconcile plan --desired desired/ --var db_password=...\n  reconcile apply --auto-approve"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    #[command(flatten)]
    pub global: Global,
}

#[derive(Debug, Clone, Args)]
pub struct Global {
    /// The desired state: a TOML file, or a directory whose *.toml files are merged.
    #[arg(
        long,
        global = true,
        default_value = "desired",
        value_name = "FILE|DIR"
    )]
    pub desired: PathBuf,
    /// The state file [default: state/<stack>.json].
    #[arg(long, global = true, value_name = "FILE", overrides_with = "state")]
    pub state: Option<PathBuf>,
    /// A variable's value (repeatable); also RECONCILE_VAR_<name> in the environment.
    #[arg(long = "var", global = true, value_name = "NAME=VALUE", value_parser = parse_var)]
    pub vars: Vec<(String, String)>,
    /// At most this many AWS operations in flight.
    #[arg(long, global = true, default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..))]
    pub parallelism: u16,
    /// No colours in the output (also NO_COLOR).
    #[arg(long, global = true)]
    pub no_color: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Parse and check the desired state; touches no AWS.
    #[command(after_help = "Example:\n  reconcile validate --desired desired/network.toml")]
    Validate,
    /// Refresh live state and show what apply would change.
    #[command(
        after_help = "Example:\n  reconcile plan --detailed-exitcode   # exit 0: no changes, 2: changes, 1: error"
    )]
    Plan(PlanArgs),
    /// Make live infrastructure match the desired state.
    #[command(after_help = "Example:\n  reconcile apply --auto-approve")]
    Apply(ApplyArgs),
    /// Delete everything in the state, in reverse dependency order.
    #[command(after_help = "Example:\n  reconcile destroy --auto-approve")]
    Destroy(ApplyArgs),
    /// Print the outputs recorded by the last apply.
    #[command(
        after_help = "Example:\n  reconcile output app_url   # prints only the value, for scripts"
    )]
    Output(OutputArgs),
    /// Print a JSON Schema of the desired-state format, for editors (taplo, Even Better TOML).
    #[command(
        after_help = "Example:\n  reconcile schema > reconcile.schema.json\n  # then, first line of a desired-state file: #:schema ../reconcile.schema.json"
    )]
    Schema,
    /// Write the reference page of every resource kind (Markdown).
    #[command(after_help = "Example:\n  reconcile docs --out docs/kinds")]
    Docs(DocsArgs),
    /// Print a shell completion script.
    #[command(
        after_help = "Example:\n  reconcile completions bash > ~/.local/share/bash-completion/completions/reconcile\n  reconcile completions zsh > \"${fpath[1]}/_reconcile\"\n  reconcile completions fish > ~/.config/fish/completions/reconcile.fish"
    )]
    Completions(CompletionsArgs),
    /// Print the man page (roff).
    #[command(after_help = "Example:\n  reconcile man > reconcile.1 && man ./reconcile.1")]
    Man,
}

#[derive(Debug, Clone, Args)]
pub struct DocsArgs {
    /// The directory to write <kind>.md files into.
    #[arg(long, default_value = "docs/kinds", value_name = "DIR")]
    pub out: PathBuf,
}

#[derive(Debug, Clone, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Clone, Args)]
pub struct OutputArgs {
    /// One output to print, bare (strings without quotes).
    pub name: Option<String>,
    /// Print as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Args)]
pub struct PlanArgs {
    /// Exit 0 when there are no changes, 2 when there are, 1 on error.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Print the plan as JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Args)]
pub struct ApplyArgs {
    /// Apply without asking for confirmation.
    #[arg(long)]
    pub auto_approve: bool,
}

fn parse_var(s: &str) -> Result<(String, String), String> {
    let (k, v) = s
        .split_once('=')
        .ok_or_else(|| format!("expected NAME=VALUE, got {s:?}"))?;
    if k.is_empty() {
        return Err(format!("expected NAME=VALUE, got {s:?}"));
    }
    Ok((k.to_owned(), v.to_owned()))
}
