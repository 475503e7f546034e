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
    /// A TOML file of variable values (`name = value`; repeatable, the later
    /// file wins; --var wins over files). On a terminal, a sensitive variable
    /// given no value at all is asked for, without echo.
    #[arg(long = "var-file", global = true, value_name = "FILE")]
    pub var_files: Vec<PathBuf>,
    /// At most this many AWS operations in flight.
    #[arg(long, global = true, default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..))]
    pub parallelism: u16,
    /// Tries per AWS call, the first included, with adaptive backoff on
    /// throttling and transient errors.
    #[arg(
        long,
        global = true,
        env = "RECONCILE_MAX_ATTEMPTS",
        default_value_t = crate::aws::MAX_ATTEMPTS,
        value_parser = clap::value_parser!(u32).range(1..=50)
    )]
    pub max_attempts: u32,
    /// No colours in the output (also NO_COLOR).
    #[arg(long, global = true)]
    pub no_color: bool,
    /// Marks every human line of this stack (`[dir] `) when one process
    /// runs many (`watch --stacks`).
    #[arg(skip)]
    pub label: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Parse and check the desired state; touches no AWS.
    #[command(after_help = "Example:\n  reconcile validate --desired desired/network.toml")]
    Validate,
    /// Refresh live state and show what apply would change.
    #[command(
        after_help = "Examples:\n  reconcile plan --detailed-exitcode   # exit 0: no changes, 2: changes, 1: error\n  reconcile plan --format markdown > plan.md   # for a pull-request comment\n  reconcile plan --json-format terraform | conftest test -   # Terraform's plan JSON for policy checks"
    )]
    Plan(PlanArgs),
    /// Make live infrastructure match the desired state.
    #[command(
        after_help = "Examples:\n  reconcile apply --auto-approve\n  reconcile plan --out tf.plan && reconcile apply tf.plan\n  reconcile apply --target subnet.a --replace instance.web --auto-approve\n  reconcile apply --refresh-only --auto-approve"
    )]
    Apply(ApplyCmdArgs),
    /// Delete everything in the state, in reverse dependency order.
    #[command(after_help = "Example:\n  reconcile destroy --auto-approve")]
    Destroy(ApplyArgs),
    /// Repeatedly refresh and plan; report drift as one JSON line per cycle,
    /// and correct it with --correct.
    #[command(
        after_help = "Examples:\n  reconcile watch --interval 5m --correct\n  reconcile watch --once   # exit 0: no drift, 2: drift found (corrected or not), 1: error\n  reconcile watch --once --correct --stacks stacks/network-prod stacks/web-prod --stack-parallelism 2\n  reconcile watch --once --correct --fleet fleet.toml"
    )]
    Watch(WatchArgs),
    /// Adopt an existing AWS resource under an address of the desired state.
    #[command(after_help = "Example:\n  reconcile import vpc.main vpc-0abc123")]
    Import(ImportArgs),
    /// Take over a live CloudFormation stack, or the resources of a
    /// Terraform state, without recreating anything: writes the desired
    /// state (read live) and the state, so that the first plan is clean.
    #[command(
        after_help = "Examples:\n  reconcile adopt --from-cloudformation web-prod --out stacks/web-prod\n  reconcile adopt --from-terraform terraform.tfstate --out stacks/legacy --stack-name legacy\n  reconcile adopt --from-cloudformation web-prod --out stacks/web-prod --retire-stack --auto-approve"
    )]
    Adopt(AdoptArgs),
    /// Inspect or edit the state without touching AWS.
    #[command(
        subcommand,
        after_help = "Example:\n  reconcile state list\n  reconcile state show vpc.main"
    )]
    State(StateCommand),
    /// Print the dependency graph (DOT, or SVG/PNG through Graphviz).
    #[command(
        after_help = "Example:\n  reconcile graph | dot -Tsvg > graph.svg\n  reconcile graph --format png > graph.png"
    )]
    Graph(GraphArgs),
    /// Break the lock of a state whose holder is gone.
    #[command(
        after_help = "Example:\n  reconcile force-unlock 4f6c2d1e-...   # the id printed with the lock error"
    )]
    ForceUnlock(ForceUnlockArgs),
    /// Print the outputs recorded by the last apply.
    #[command(
        after_help = "Example:\n  reconcile output app_url   # prints only the value, for scripts"
    )]
    Output(OutputArgs),
    /// List every variable's value and where it comes from: given (--var,
    /// RECONCILE_VAR_), persisted (recorded by the last successful apply of
    /// a `persist = true` variable) or default. Sensitive values are masked.
    #[command(
        after_help = "Example:\n  reconcile vars --desired desired/refarch\n  reconcile vars --json"
    )]
    Vars(VarsArgs),
    /// How the ECS services and target groups of the state are doing:
    /// counts, deployments with rollout state and age, the latest events,
    /// target health with reasons.
    #[command(
        after_help = "Examples:\n  reconcile status\n  reconcile status ecs_service.web --json"
    )]
    Status(StatusArgs),
    /// The CloudWatch Logs of a service's or task definition's containers
    /// (from their awslogs configuration), interleaved by time, each line
    /// prefixed by container and task id.
    #[command(
        after_help = "Examples:\n  reconcile logs ecs_service.web --since 1h\n  reconcile logs ecs_service.web --follow"
    )]
    Logs(LogsArgs),
    /// Run a one-off task of a task definition (a migration, a management
    /// command) where the service that uses it runs, with the command
    /// overridden; streams its logs and exits with the container's exit
    /// code.
    #[command(
        after_help = "Examples:\n  reconcile run ecs_task_definition.web -- python manage.py migrate\n  reconcile run ecs_task_definition.web --container worker -- echo hi"
    )]
    Run(RunArgs),
    /// Apply again the values the `persist = true` variables had before the
    /// last successful apply changed them (the previous image tag, say), so
    /// that services return to their previous revisions; waits like apply.
    #[command(after_help = "Example:\n  reconcile rollback --auto-approve")]
    Rollback(RollbackArgs),
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

#[derive(Debug, Subcommand)]
pub enum StateCommand {
    /// Every address in the state.
    #[command(after_help = "Example:\n  reconcile state list")]
    List,
    /// One resource as recorded (sensitive values masked).
    #[command(after_help = "Example:\n  reconcile state show vpc.main")]
    Show { address: String },
    /// Forget a resource without deleting it from AWS.
    #[command(after_help = "Example:\n  reconcile state rm subnet.old")]
    Rm { address: String },
    /// Rename a resource without re-creating it.
    #[command(after_help = "Example:\n  reconcile state mv subnet.a subnet.public_a")]
    Mv { from: String, to: String },
    /// Replace the state by a state file (a restored backup, a copy): only a
    /// later version of the same state (same stack and lineage, serial not
    /// older) unless --force.
    #[command(after_help = "Example:\n  reconcile state push state/web.json.backup --force")]
    Push {
        file: PathBuf,
        /// Accept another lineage or an older serial.
        #[arg(long)]
        force: bool,
    },
}

/// Limits a run to some resources.
#[derive(Debug, Clone, Default, Args)]
pub struct Targeting {
    /// Only this resource and what it depends on (for destroy: and what
    /// depends on it). Repeatable.
    #[arg(long = "target", value_name = "ADDRESS")]
    pub targets: Vec<String>,
}

#[derive(Debug, Clone, Args)]
pub struct WatchArgs {
    /// Time between the start of two cycles, e.g. 30s, 5m, 1h.
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    pub interval: std::time::Duration,
    /// Apply the plan of each cycle that finds drift.
    #[arg(long)]
    pub correct: bool,
    /// Run one cycle and exit: 0 no drift, 2 drift found, 1 error.
    #[arg(long)]
    pub once: bool,
    /// After each cycle that finds drift, write what it found (and with
    /// --correct, what it corrected) as Markdown to FILE.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["stacks", "fleet"])]
    pub summary_markdown: Option<PathBuf>,
    /// Watch many stacks: each DIR is a desired state with its own
    /// [backend] (and [stack] assume_role). One JSON line per stack per
    /// cycle; one stack failing or locked never stops the others; --once
    /// exits with the worst code of all (1, then 2, then 0).
    #[arg(long, num_args = 1.., value_name = "DIR", conflicts_with_all = ["desired", "state", "vars", "var_files"])]
    pub stacks: Vec<PathBuf>,
    /// Watch the stacks a fleet file lists: TOML, `stacks = ["dir", ...]`,
    /// directories relative to the file.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["stacks", "desired", "state", "vars", "var_files"])]
    pub fleet: Option<PathBuf>,
    /// With many stacks: at most this many are refreshed or corrected at
    /// once (each with up to --parallelism AWS operations in flight).
    #[arg(long, default_value_t = 4, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub stack_parallelism: u16,
}

#[derive(Debug, Clone, Args)]
pub struct ImportArgs {
    /// The address in the desired state, e.g. vpc.main.
    pub address: String,
    /// The AWS id (or name/ARN, whatever the kind's id is).
    pub id: String,
}

#[derive(Debug, Clone, Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["from_cloudformation", "from_terraform"])))]
pub struct AdoptArgs {
    /// The CloudFormation stack (name or id) to adopt; its nested stacks are followed.
    #[arg(long, value_name = "STACK")]
    pub from_cloudformation: Option<String>,
    /// The Terraform state file (format version 4) whose resources to adopt.
    #[arg(long, value_name = "FILE")]
    pub from_terraform: Option<PathBuf>,
    /// The directory to write the desired state (*.toml) into.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// The name of the new stack [default: the CloudFormation stack's name,
    /// or the Terraform state file's name].
    #[arg(long, value_name = "NAME")]
    pub stack_name: Option<String>,
    /// The region the resources live in [default: the standard chain, e.g. AWS_REGION].
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// Overwrite an existing DIR and state.
    #[arg(long)]
    pub force: bool,
    /// Once the adopted state plans clean: retain every adopted resource in
    /// the CloudFormation stack, delete the stack, and check that every
    /// adopted resource still exists. Resources not adopted are deleted
    /// with the stack: they are listed first.
    #[arg(long, requires = "from_cloudformation")]
    pub retire_stack: bool,
    /// Retire the stack without asking for confirmation.
    #[arg(long, requires = "retire_stack")]
    pub auto_approve: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GraphFormat {
    Dot,
    Svg,
    Png,
}

#[derive(Debug, Clone, Args)]
pub struct GraphArgs {
    #[arg(long, value_enum, default_value = "dot")]
    pub format: GraphFormat,
}

#[derive(Debug, Clone, Args)]
pub struct ForceUnlockArgs {
    /// The lock id shown by the lock error.
    pub lock_id: String,
}

#[derive(Debug, Clone, Args)]
pub struct VarsArgs {
    /// Print as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Args)]
pub struct RollbackArgs {
    #[command(flatten)]
    pub common: ApplyArgs,
    /// Do not wait for the ECS deployments it starts.
    #[arg(long)]
    pub no_wait: bool,
}

#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// An ecs_task_definition of the state.
    pub address: String,
    /// The container whose command is overridden [default: the first essential one].
    #[arg(long)]
    pub container: Option<String>,
    /// The cluster [default: that of the service running this task definition].
    #[arg(long)]
    pub cluster: Option<String>,
    /// EC2, FARGATE or EXTERNAL [default: the service's].
    #[arg(long, value_name = "TYPE")]
    pub launch_type: Option<String>,
    /// A subnet of the task's network interface (repeatable) [default: the service's network].
    #[arg(long = "subnet", value_name = "ID")]
    pub subnets: Vec<String>,
    /// A security group of the task (repeatable; with --subnet).
    #[arg(long = "security-group", value_name = "ID")]
    pub security_groups: Vec<String>,
    /// Give the task a public IP address (with --subnet).
    #[arg(long)]
    pub assign_public_ip: bool,
    /// The command, after `--`.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

#[derive(Debug, Clone, Args)]
pub struct LogsArgs {
    /// An ecs_service or ecs_task_definition of the state.
    pub address: String,
    /// How far back to start, e.g. 30s, 10m, 2h.
    #[arg(long, default_value = "10m", value_parser = parse_duration)]
    pub since: std::time::Duration,
    /// Keep reading new events until interrupted.
    #[arg(long)]
    pub follow: bool,
}

#[derive(Debug, Clone, Args)]
pub struct StatusArgs {
    /// Services or target groups to show (default: all of the state's).
    #[arg(value_name = "ADDRESS")]
    pub addresses: Vec<String>,
    /// Print as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Args)]
pub struct OutputArgs {
    /// One output to print, bare (strings without quotes).
    pub name: Option<String>,
    /// Print as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PlanFormat {
    Text,
    Markdown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum JsonFormat {
    Reconcile,
    Terraform,
}

#[derive(Debug, Clone, Args)]
pub struct PlanArgs {
    /// Exit 0 when there are no changes, 2 when there are, 1 on error.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Print the plan as JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// The shape of the JSON: reconcile's own, or Terraform's plan JSON
    /// (as `terraform show -json` prints it) for policy tools such as
    /// OPA/conftest and checkov. `terraform` implies --json.
    #[arg(long, value_enum, default_value = "reconcile", value_name = "SHAPE")]
    pub json_format: JsonFormat,
    /// The plan as text for a terminal, or as Markdown for a pull-request
    /// comment (a summary table and the full plan, cut to fit GitHub's
    /// 65,536-character limit).
    #[arg(long, value_enum, default_value = "text", conflicts_with = "json")]
    pub format: PlanFormat,
    /// Only show what changed outside reconcile (changed or deleted).
    #[arg(long, conflicts_with_all = ["replace", "destroy"])]
    pub refresh_only: bool,
    /// Save the plan to this file for `reconcile apply <file>`.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Plan a destroy.
    #[arg(long)]
    pub destroy: bool,
    #[command(flatten)]
    pub targeting: Targeting,
    /// Force the replacement of this resource. Repeatable.
    #[arg(long = "replace", value_name = "ADDRESS")]
    pub replace: Vec<String>,
    /// `--refresh=false`: plan from the attributes recorded in the state,
    /// without reading AWS (lookups are still read).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub refresh: bool,
    #[command(flatten)]
    pub stats: StatsArg,
}

/// `--stats`, shared by plan, apply and destroy.
#[derive(Debug, Clone, Copy, Default, Args)]
pub struct StatsArg {
    /// Print the API calls made (per service and operation, every attempt)
    /// and the wall time of refresh, plan and apply to stderr; with --json,
    /// also as `stats` in the output.
    #[arg(long = "stats")]
    pub enabled: bool,
}

#[derive(Debug, Clone, Args)]
pub struct ApplyArgs {
    /// Apply without asking for confirmation.
    #[arg(long)]
    pub auto_approve: bool,
    /// Also write the outcome and the plan applied as Markdown to FILE
    /// (for a pull-request comment or `$GITHUB_STEP_SUMMARY`).
    #[arg(long, value_name = "FILE")]
    pub summary_markdown: Option<PathBuf>,
    #[command(flatten)]
    pub targeting: Targeting,
    #[command(flatten)]
    pub stats: StatsArg,
}

#[derive(Debug, Clone, Args)]
pub struct ApplyCmdArgs {
    /// A plan saved by `reconcile plan --out`: applied exactly, without
    /// asking (it was reviewed when saved).
    pub plan_file: Option<PathBuf>,
    #[command(flatten)]
    pub common: ApplyArgs,
    /// Only record live values in the state; change nothing in AWS.
    #[arg(long, conflicts_with_all = ["plan_file", "replace"])]
    pub refresh_only: bool,
    /// Force the replacement of this resource. Repeatable.
    #[arg(long = "replace", value_name = "ADDRESS", conflicts_with = "plan_file")]
    pub replace: Vec<String>,
    /// Do not wait for the ECS deployments this run starts (each
    /// `ecs_service` waits by default: `wait_for_steady_state`).
    #[arg(long)]
    pub no_wait: bool,
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

/// `30s`, `5m`, `1h30m`, or plain seconds.
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    if let Ok(secs) = s.parse::<u64>() {
        return Ok(std::time::Duration::from_secs(secs));
    }
    let d = humantime::parse_duration(s).map_err(|e| format!("{s:?}: {e} (e.g. 30s, 5m, 1h)"))?;
    if d.is_zero() {
        return Err("the interval must be longer than zero".into());
    }
    Ok(d)
}
