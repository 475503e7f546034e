use std::process::ExitCode;

use clap::Parser;

use reconcile::cli::{Cli, Command};
use reconcile::commands;

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
        match &cli.command {
            Command::Validate => commands::validate::run(&cli.global),
            Command::Plan(args) => commands::plan::run(&cli.global, args).await,
            Command::Apply(args) => commands::apply::run(&cli.global, args, false).await,
            Command::Destroy(args) => commands::apply::run(&cli.global, args, true).await,
            Command::Output(args) => commands::output::run(&cli.global, args),
            Command::Schema => commands::reference::schema(),
            Command::Docs(args) => commands::reference::docs(&cli.global, args),
            Command::Completions(args) => commands::reference::completions(args),
            Command::Man => commands::reference::man(),
        }
    });
    match result {
        Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        Err(e) => {
            ui.error(&format!("{e:#}"));
            ExitCode::FAILURE
        }
    }
}
