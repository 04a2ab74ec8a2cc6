//! `jobod`: the jobo server, or a worker node. All logic lives in the library; see
//! `jobo::daemon` and `jobo::node`.

use clap::Parser;
use jobo::cli::jobod::{ConfigCommand, Jobod, JobodCommand, LogFormat};
use std::io::IsTerminal;

fn main() -> std::process::ExitCode {
    // Fault injection for the durability tests; nothing unless built with `failpoints`.
    let _failpoints = jobo::failpoints::setup();
    let args = Jobod::parse();
    let log_format = args.log_format;
    let command = match args.command {
        Some(JobodCommand::Config(ConfigCommand::Default)) => {
            print!("{}", jobo::config::DEFAULT_CONFIG);
            return std::process::ExitCode::SUCCESS;
        }
        Some(JobodCommand::Config(ConfigCommand::ImportSeed)) => {
            // Lossy, so that one non-UTF-8 variable elsewhere in the environment cannot abort it.
            let vars = std::env::vars_os().map(|(k, v)| {
                (
                    k.to_string_lossy().into_owned(),
                    v.to_string_lossy().into_owned(),
                )
            });
            return match jobo::seed_import::import(vars) {
                Ok(toml) => {
                    print!("{toml}");
                    std::process::ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("jobod: error: {e}");
                    std::process::ExitCode::FAILURE
                }
            };
        }
        // Maintenance commands: synchronous, no runtime, no log lines; their report on stdout.
        Some(JobodCommand::Check(check)) => {
            let data = check.data.data_dir();
            return match jobo::store::check::check(&data, check.fix, &mut std::io::stdout()) {
                Ok(true) => std::process::ExitCode::SUCCESS,
                Ok(false) => std::process::ExitCode::FAILURE,
                Err(e) => {
                    eprintln!("jobod: error: {e:#}");
                    std::process::ExitCode::FAILURE
                }
            };
        }
        Some(JobodCommand::Backup(backup)) => {
            let data = backup.data.data_dir();
            return match jobo::store::backup(&data, &backup.path, &mut std::io::stdout()) {
                Ok(()) => std::process::ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("jobod: error: {e:#}");
                    std::process::ExitCode::FAILURE
                }
            };
        }
        Some(command) => command,
        None => JobodCommand::Serve(args.serve),
    };
    let log = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("JOBOD_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr);
    match log_format {
        LogFormat::Json => log.json().init(),
        LogFormat::Text => log
            .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
            .init(),
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("jobod: error: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match command {
            JobodCommand::Worker(worker) => match worker.options() {
                Ok(opts) => jobo::node::serve(opts).await,
                Err(e) => Err(e),
            },
            JobodCommand::Serve(serve) => jobo::daemon::serve(serve.options()).await,
            JobodCommand::Config(_) | JobodCommand::Check(_) | JobodCommand::Backup(_) => Ok(()),
        }
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("jobod: error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
