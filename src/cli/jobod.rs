//! The `jobod` command line: `serve` (the default), `worker`, `check`, `backup`,
//! `config default` and `config import-seed`.

use crate::daemon::ServeOptions;
use crate::node::WorkerOptions;
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
    /// How log lines are written to stderr: text, or one JSON object a line (for log
    /// collectors)
    #[arg(
        long,
        global = true,
        value_enum,
        default_value_t = LogFormat::Text,
        env = "JOBOD_LOG_FORMAT"
    )]
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum JobodCommand {
    /// Run the server (the default)
    Serve(ServeArgs),
    /// Run a worker node: run payloads sent by a server, serve the seed's client routes
    Worker(WorkerArgs),
    /// Check the job store and the job files; exit 1 if there are problems
    ///
    /// Runs SQLite's integrity_check on jobo.db, checks that the store belongs to this data dir,
    /// and compares job dirs with the store: dirs with no job (orphans), jobs whose dir is
    /// missing, uploads left in tmp/. Read-only, so it can run while jobod serves.
    Check(CheckArgs),
    /// Write a consistent copy of the job store to PATH, also while jobod serves
    ///
    /// The copy is checked with integrity_check; an existing PATH is never overwritten. Job
    /// files are not included: back up the data dir's jobs/ with your usual file backup.
    Backup(BackupArgs),
    /// Configuration helpers
    #[command(subcommand)]
    Config(ConfigCommand),
}

/// Which data dir a maintenance command works on: the one `jobod serve` would use.
#[derive(Debug, Clone, Args)]
pub struct DataDirArgs {
    /// System mode's data dir, /var/lib/jobo [default for root]
    #[arg(long, conflicts_with = "user")]
    pub system: bool,
    /// User mode's data dir (XDG) even when running as root
    #[arg(long)]
    pub user: bool,
    /// Data directory (job store, job files)
    #[arg(long, env = "JOBOD_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

impl DataDirArgs {
    pub fn data_dir(&self) -> crate::paths::DataDir {
        let system = self.system || (!self.user && crate::paths::system_mode_default());
        crate::paths::DataDir::new(
            self.data_dir
                .clone()
                .unwrap_or_else(|| crate::paths::default_data_dir(system)),
        )
    }
}

#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub data: DataDirArgs,
    /// Remove orphan job dirs (never a job's row). Refused while jobod runs on the data dir
    #[arg(long)]
    pub fix: bool,
}

#[derive(Debug, Clone, Args)]
pub struct BackupArgs {
    /// Where to write the copy (must not exist)
    #[arg(value_name = "PATH")]
    pub path: PathBuf,
    #[command(flatten)]
    pub data: DataDirArgs,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the built-in default configuration
    Default,
    /// Print a jobod.toml made from job-orchestrator 2.3.1's environment variables
    ///
    /// For moving from job-orchestrator 2.3.1, which is configured by environment variables
    /// only: run this with its environment (SERVICE_<NAME>_UPLOAD_URL, _DOWNLOAD_URL,
    /// _TERMINATE_URL, _RUNS_PER_USER, _MAX_RUNS, MAX_AGE, PORT). Each service gets a
    /// [services.<name>] table with its quotas and retention, each old client (the host:port of
    /// the UPLOAD_URLs) a `protocol = "seed"` node, and PORT the listen address; comments say
    /// what differs. Jobs, DB_PATH and DATA_PATH are not imported.
    ///
    /// Example: `set -a; . ./seed.env; jobod config import-seed > jobod.toml`
    ImportSeed,
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
    /// Group whose members may use the socket (it becomes mode 0660, this group) [default in
    /// system mode: jobo if that group exists, else jobod's own group; in user mode: none, 0600]
    #[arg(long, env = "JOBOD_SOCKET_GROUP", value_name = "GROUP")]
    pub socket_group: Option<String>,
    /// Also serve the API on TCP, e.g. 127.0.0.1:5000 (port 0 picks a free port)
    #[arg(long, env = "JOBOD_LISTEN", value_name = "HOST:PORT")]
    pub listen: Option<String>,
    /// Serve only the seed routes, without a token, on this TCP address (for portals written
    /// for job-orchestrator; bind it to localhost): `[server] seed_listen`
    #[arg(long, env = "JOBOD_SEED_LISTEN", value_name = "HOST:PORT")]
    pub seed_listen: Option<String>,
    /// Serve TCP (--listen) inside TLS with this certificate (PEM, the chain from the server's
    /// own first): `[server] tls_cert`
    #[arg(
        long,
        env = "JOBOD_TLS_CERT",
        value_name = "FILE",
        requires = "tls_key"
    )]
    pub tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM): `[server] tls_key`
    #[arg(
        long,
        env = "JOBOD_TLS_KEY",
        value_name = "FILE",
        requires = "tls_cert"
    )]
    pub tls_key: Option<PathBuf>,
    /// Config file [default: jobod.toml in the mode's config dir, if it exists]
    #[arg(long, env = "JOBOD_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Do not run jobs on this machine (only on worker nodes)
    #[arg(long)]
    pub no_local_worker: bool,
    /// Start over if the job store is missing, empty, damaged or another data dir's, instead
    /// of refusing to start: the store and jobs/ are renamed to *.orphaned-<time>, nothing is
    /// deleted. Does nothing when the store is sound
    #[arg(long)]
    pub reinit: bool,
}

impl ServeArgs {
    pub fn options(&self) -> ServeOptions {
        ServeOptions {
            system: self.system || (!self.user && crate::paths::system_mode_default()),
            data_dir: self.data_dir.clone(),
            socket: self.socket.clone(),
            listen: self.listen.clone(),
            seed_listen: self.seed_listen.clone(),
            config: self.config.clone(),
            no_local_worker: self.no_local_worker,
            reinit: self.reinit,
            socket_group: self.socket_group.clone(),
            tls: self.tls_cert.clone().zip(self.tls_key.clone()),
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct WorkerArgs {
    /// Address to serve on, e.g. 0.0.0.0:5001 (port 0 picks a free port; the bound address is
    /// written to jobod-worker.tcp in the data dir)
    #[arg(long, env = "JOBOD_WORKER_LISTEN", value_name = "HOST:PORT")]
    pub listen: String,
    /// File whose first line is the node token (requests need `Authorization: Bearer <token>`)
    #[arg(long, env = "JOBOD_WORKER_TOKEN_FILE", value_name = "FILE")]
    pub token_file: PathBuf,
    /// Payloads run at once [default: number of CPUs]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub slots: Option<u32>,
    /// Data directory (payload dirs, emptied at start) [default: `worker` in the default data dir]
    #[arg(long, env = "JOBOD_WORKER_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Serve the seed's client routes without a token (for the seed's server, which sends
    /// none). Only on a private network: anyone who reaches the port can run code.
    #[arg(long)]
    pub allow_seed_without_token: bool,
    /// Run payloads in cgroups where they can be made (memory, cpus and pids limits, the whole
    /// payload killed at its end, its usage measured), one per slot; `--cgroups=false`: memory
    /// by RLIMIT_AS only, and only the payload's process group killed
    #[arg(
        long,
        env = "JOBOD_WORKER_CGROUPS",
        value_name = "BOOL",
        num_args = 0..=1,
        require_equals = true,
        default_value_t = true,
        default_missing_value = "true",
        action = clap::ArgAction::Set
    )]
    pub cgroups: bool,
    /// Users a root node may run payloads as: the server names one with each payload, and
    /// payloads of the seed's /submit run as the first. A node that is not root runs them as
    /// itself and ignores this
    #[arg(
        long,
        env = "JOBOD_WORKER_RUN_AS_ALLOW",
        value_name = "USER[,USER..]",
        value_delimiter = ',',
        default_value = crate::run_as::DEFAULT_RUN_AS
    )]
    pub run_as_allow: Vec<String>,
    /// Serve inside TLS with this certificate (PEM, the chain from the node's own first)
    #[arg(
        long,
        env = "JOBOD_WORKER_TLS_CERT",
        value_name = "FILE",
        requires = "tls_key"
    )]
    pub tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM)
    #[arg(
        long,
        env = "JOBOD_WORKER_TLS_KEY",
        value_name = "FILE",
        requires = "tls_cert"
    )]
    pub tls_key: Option<PathBuf>,
    /// Take only clients that show a certificate signed by this CA (PEM): the server's
    /// `[cluster] client_cert` (needs --tls-cert)
    #[arg(
        long,
        env = "JOBOD_WORKER_TLS_CLIENT_CA",
        value_name = "FILE",
        requires = "tls_cert"
    )]
    pub tls_client_ca: Option<PathBuf>,
    /// Largest payload taken, in bytes: the tar as sent and its files unpacked (the server's
    /// `[server] max_upload_bytes` bounds what it sends; a larger job fails naming this limit)
    #[arg(
        long,
        env = "JOBOD_WORKER_MAX_UPLOAD_BYTES",
        value_name = "BYTES",
        default_value_t = crate::config::ServerConfig::default().max_upload_bytes
    )]
    pub max_upload_bytes: u64,
    /// Most files and directories one payload may create
    #[arg(
        long,
        env = "JOBOD_WORKER_MAX_UPLOAD_ENTRIES",
        value_name = "N",
        default_value_t = crate::config::ServerConfig::default().max_upload_entries
    )]
    pub max_upload_entries: u64,
    /// Where payloads run: here (local), or each as one Slurm batch job (slurm: run this on a
    /// Slurm submit host, with --data-dir on storage the compute nodes see)
    #[arg(
        long,
        env = "JOBOD_WORKER_BACKEND",
        value_enum,
        default_value_t = WorkerBackend::Local
    )]
    pub backend: WorkerBackend,
    /// Slurm partition of every job (--backend slurm)
    #[arg(long, env = "JOBOD_WORKER_PARTITION", value_name = "P")]
    pub partition: Option<String>,
    /// Slurm account of every job (--backend slurm)
    #[arg(long, env = "JOBOD_WORKER_ACCOUNT", value_name = "A")]
    pub account: Option<String>,
    /// One more sbatch argument for every job, e.g. --sbatch-arg=--qos=short (repeatable;
    /// --backend slurm)
    #[arg(long, value_name = "ARG", allow_hyphen_values = true)]
    pub sbatch_arg: Vec<String>,
    /// How often Slurm is asked about the node's jobs (one squeue for all), when none is
    /// about to end (then every 250ms) (--backend slurm)
    #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = humantime::parse_duration)]
    pub slurm_poll: std::time::Duration,
}

/// `jobod worker --backend`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum WorkerBackend {
    Local,
    Slurm,
}

impl WorkerArgs {
    /// The node's options; an error for Slurm settings without `--backend slurm`.
    pub fn options(&self) -> anyhow::Result<WorkerOptions> {
        let slurm_only = [
            ("--partition", self.partition.is_some()),
            ("--account", self.account.is_some()),
            ("--sbatch-arg", !self.sbatch_arg.is_empty()),
        ];
        if self.backend != WorkerBackend::Slurm
            && let Some((flag, _)) = slurm_only.iter().find(|(_, given)| *given)
        {
            anyhow::bail!("{flag} is for --backend slurm only");
        }
        let system = crate::paths::system_mode_default();
        Ok(WorkerOptions {
            listen: self.listen.clone(),
            token_file: self.token_file.clone(),
            slots: self.slots.map_or_else(
                || std::thread::available_parallelism().map_or(1, |n| n.get()),
                |n| n as usize,
            ),
            data_dir: self
                .data_dir
                .clone()
                .unwrap_or_else(|| crate::paths::default_data_dir(system).join("worker")),
            allow_seed_without_token: self.allow_seed_without_token,
            cgroups: self.cgroups,
            run_as_allow: self.run_as_allow.clone(),
            tls: self.tls_cert.clone().zip(self.tls_key.clone()),
            tls_client_ca: self.tls_client_ca.clone(),
            max_upload_bytes: self.max_upload_bytes,
            max_upload_entries: self.max_upload_entries,
            slurm: (self.backend == WorkerBackend::Slurm).then(|| crate::node::SlurmOptions {
                partition: self.partition.clone(),
                account: self.account.clone(),
                sbatch_args: self.sbatch_arg.clone(),
                poll: self.slurm_poll,
            }),
        })
    }
}
