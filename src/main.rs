use std::process::ExitCode;

use clap::Parser;

use reconcile::cli::{Cli, Command};
use reconcile::commands;

// Planning a large stack is mostly allocation (attribute trees, the graph):
// mimalloc makes that markedly cheaper than the system allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // Usage errors exit 1, like every other failure: 2 means "changes" to
    // `plan --detailed-exitcode`.
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("RECONCILE_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("error")),
        )
        .with_writer(std::io::stderr)
        .init();
    let ui = commands::ui(&cli.global);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            ui.error(&format!("cannot start the async runtime: {e}"));
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        reconcile::apply::shutdown::install();
        let g = &cli.global;
        let result = match &cli.command {
            Command::Validate => commands::validate::run(g),
            Command::Plan(args) => commands::plan::run(g, args).await,
            Command::Apply(args) => commands::apply::run(g, args).await,
            Command::Destroy(args) => commands::apply::destroy(g, args).await,
            Command::Watch(args) => commands::watch::run(g, args).await,
            Command::Import(args) => commands::import::run(g, args).await,
            Command::Adopt(args) => commands::adopt::run(g, args).await,
            Command::State(cmd) => commands::state::run(g, cmd).await,
            Command::Graph(args) => commands::graph::run(g, args),
            Command::ForceUnlock(args) => commands::unlock::run(g, args).await,
            Command::Output(args) => commands::output::run(g, args).await,
            Command::Vars(args) => commands::vars::run(g, args).await,
            Command::Status(args) => commands::status::run(g, args).await,
            Command::Logs(args) => commands::logs::run(g, args).await,
            Command::Run(args) => commands::run::run(g, args).await,
            Command::Rollback(args) => commands::rollback::run(g, args).await,
            Command::Schema => commands::reference::schema(),
            Command::Docs(args) => commands::reference::docs(g, args),
            Command::Completions(args) => commands::reference::completions(args),
            Command::Man => commands::reference::man(),
        };
        // However the command ended, an S3 lock it took is released.
        reconcile::state::s3::release_held().await;
        result
    });
    match result {
        Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        Err(e) => {
            ui.error(&format!("{e:#}"));
            ExitCode::FAILURE
        }
    }
}
