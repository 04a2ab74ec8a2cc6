//! `jobo`: the command-line client. All logic lives in the library; see `jobo::cli`.

use clap::Parser;

fn main() -> std::process::ExitCode {
    if let Some(code) = jobo::cli::generate::run_if_asked(std::env::args_os()) {
        return code;
    }
    // `COMPLETE=bash jobo -- …`: a shell asking for completions (jobo::cli::complete).
    jobo::cli::complete::run_if_asked();
    let cli = jobo::cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("jobo: error: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let ran = runtime.block_on(jobo::cli::run(cli));
    // Every task that matters has been awaited; idle pool threads need not be joined.
    runtime.shutdown_background();
    match ran {
        Ok(code) => std::process::ExitCode::from(code.clamp(0, 255) as u8),
        // `jobo logs ID | head`: the reader has what it wanted.
        Err(e) if e.is::<jobo::cli::output::OutputClosed>() => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("jobo: error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
