//! The `jobod` command line: `serve` (the default) and `config default`.

use crate::daemon::ServeOptions;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "jobod",
    version,
    about = "The jobo server: queue, scheduler, workers and API"
)]
pub struct Jobod {
    #[command(subcommand)]
    pub command: Option<JobodCommand>,
    #[command(flatten)]
    pub serve: ServeArgs,
}

#[derive(Debug, Subcommand)]
pub enum JobodCommand {
    /// Run the server (the default)
    Serve(ServeArgs),
    /// Configuration helpers
    #[command(subcommand)]
    Config(ConfigCommand),
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the built-in default configuration
    Default,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// System mode: /var/lib/jobo, /run/jobo/jobod.sock, /etc/jobo/jobod.toml [default for root]
    #[arg(long, conflicts_with = "user")]
    pub system: bool,
    /// User mode (XDG paths) even when running as root
    #[arg(long)]
    pub user: bool,
    /// Data directory (job store, job files)
    #[arg(long, env = "JOBOD_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Unix socket to serve the API on
    #[arg(long, env = "JOBOD_SOCKET", value_name = "PATH")]
    pub socket: Option<PathBuf>,
    /// Also serve the API on TCP, e.g. 127.0.0.1:5000 (port 0 picks a free port)
    #[arg(long, env = "JOBOD_LISTEN", value_name = "HOST:PORT")]
    pub listen: Option<String>,
    /// Config file [default: jobod.toml in the mode's config dir, if it exists]
    #[arg(long, env = "JOBOD_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Do not run jobs on this machine (only on worker nodes)
    #[arg(long)]
    pub no_local_worker: bool,
}

impl ServeArgs {
    pub fn options(&self) -> ServeOptions {
        ServeOptions {
            system: self.system || (!self.user && crate::paths::system_mode_default()),
            data_dir: self.data_dir.clone(),
            socket: self.socket.clone(),
            listen: self.listen.clone(),
            config: self.config.clone(),
            no_local_worker: self.no_local_worker,
        }
    }
}
