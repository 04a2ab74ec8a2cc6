//! `jobod`: the jobo server. All logic lives in the library; see `jobo::daemon`.

use clap::Parser;
use jobo::cli::jobod::{ConfigCommand, Jobod, JobodCommand};
use std::io::IsTerminal;

fn main() -> std::process::ExitCode {
    let args = Jobod::parse();
    let serve = match args.command {
        Some(JobodCommand::Config(ConfigCommand::Default)) => {
            print!("{}", jobo::config::DEFAULT_CONFIG);
            return std::process::ExitCode::SUCCESS;
        }
        Some(JobodCommand::Serve(serve)) => serve,
        None => args.serve,
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("JOBOD_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("jobod: error: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(jobo::daemon::serve(serve.options())) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("jobod: error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
