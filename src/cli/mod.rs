//! The `jobo` command line: one clap definition (it also feeds the completions) and a
//! dispatcher to one module per group of commands.

mod connect;
mod fetch;
pub mod generate;
mod interrupt;
mod logs;
mod manage;
mod node;
pub mod output;
mod progress;
mod show;
mod submit;
mod system;
mod token;
mod watch;

pub mod jobod;

use clap::{Args, CommandFactory, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "jobo",
    version,
    about = "Submit batch jobs to jobod and fetch their results"
)]
pub struct Cli {
    /// The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or
    /// tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user
    /// jobod if none answers]
    #[arg(
        long,
        short = 'H',
        global = true,
        env = "JOBO_HOST",
        value_name = "URL"
    )]
    pub host: Option<String>,
    /// API token for http(s):// hosts (`jobo token create`) [default: JOBO_TOKEN, then the
    /// first line of $XDG_CONFIG_HOME/jobo/token]; never sent over the socket. Prefer JOBO_TOKEN
    /// or the file: other users can read a command line
    #[arg(
        long,
        global = true,
        env = "JOBO_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    pub token: Option<String>,
    /// For https:// hosts: trust only the CA certificate in FILE (PEM) [default: the system's
    /// trusted CAs]
    #[arg(long, global = true, env = "JOBO_CA_CERT", value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
    /// Print machine-readable JSON instead of tables and text
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct SubmitArgs {
    /// Directory holding run.sh and its input files
    pub dir: PathBuf,
    /// Service to run the job in (see `jobo service ls`)
    #[arg(long, short)]
    pub service: String,
    /// Order among your own queued jobs (higher runs first)
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    pub priority: i64,
    /// Wall-clock limit of the run, e.g. 90s, 15m, 2h (at most the service's maximum)
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<String>,
    /// Memory to request, e.g. 512M, 2G (held by the job's cgroup, else by RLIMIT_AS)
    #[arg(long, value_name = "SIZE")]
    pub memory: Option<String>,
    /// CPUs to request, e.g. 1.5 (held by the job's cgroup, where it has one)
    #[arg(long, value_name = "N")]
    pub cpus: Option<String>,
    /// Processes to request (held by the job's cgroup, where it has one)
    #[arg(long, value_name = "N")]
    pub pids: Option<String>,
    /// An environment variable for the job, KEY=VALUE (repeatable; the service must allow KEY)
    #[arg(long = "env", short = 'e', value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// Makes the submit safe to retry: the same key returns the same job
    #[arg(long, value_name = "KEY")]
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Upload a job directory and print the job id
    Submit {
        #[command(flatten)]
        args: SubmitArgs,
        /// Wait for the job to end and print its final state
        #[arg(long, short)]
        wait: bool,
    },
    /// Submit, stream the output, fetch the results into ./jobo-ID, exit with the job's code
    Run {
        #[command(flatten)]
        args: SubmitArgs,
        /// Where to put the results [default: ./jobo-ID]
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Show recent jobs, or the details of the given ones
    Status {
        /// Jobs to show in detail [default: a table of your recent jobs]
        #[arg(value_name = "ID")]
        ids: Vec<String>,
    },
    /// List jobs, newest first
    List {
        /// Only jobs in this state: queued, dispatched, running, succeeded, failed, cancelled,
        /// timed_out, lost or expired
        #[arg(long)]
        state: Option<String>,
        /// Only jobs of this service
        #[arg(long)]
        service: Option<String>,
        /// Only this user's jobs (others' only for admins)
        #[arg(long)]
        user: Option<String>,
        /// At most this many jobs
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Wait until the jobs end; exit non-zero unless all succeeded
    Wait {
        /// Jobs to wait for
        #[arg(required = true, value_name = "ID")]
        ids: Vec<String>,
    },
    /// Print a job's output (stdout to stdout, stderr to stderr)
    Logs {
        /// The job
        id: String,
        /// Keep printing as the job writes, until it ends
        #[arg(long, short)]
        follow: bool,
    },
    /// Download and unpack a finished job's results
    Fetch {
        /// The job
        id: String,
        /// Directory to unpack into [default: ./jobo-ID]
        #[arg(long, short)]
        output: Option<PathBuf>,
        /// Unpack into a directory that already exists
        #[arg(long)]
        force: bool,
    },
    /// Cancel queued or running jobs
    Cancel {
        /// Jobs to cancel
        #[arg(required = true, value_name = "ID")]
        ids: Vec<String>,
    },
    /// Remove finished jobs' files (their history stays)
    Rm {
        /// Jobs whose files to remove
        #[arg(required = true, value_name = "ID")]
        ids: Vec<String>,
    },
    /// Services this server runs
    #[command(subcommand)]
    Service(ServiceCommand),
    /// Worker nodes this server sends jobs to (admins only)
    #[command(subcommand)]
    Node(NodeCommand),
    /// API tokens for TCP clients and portals (admins only)
    #[command(subcommand)]
    Token(TokenCommand),
    /// The server: what it is and runs with, and stopping it
    #[command(subcommand)]
    System(SystemCommand),
    /// Print a shell completion script
    Completions {
        /// The shell to complete in
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Subcommand)]
pub enum SystemCommand {
    /// Version, mode, data dir, config file, what it enforces, nodes
    Info,
    /// Stop jobod as SIGTERM does, and wait until it is gone (admins only)
    Stop,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Make a token and print its secret, once, to stdout
    Create {
        /// The user the token speaks for
        #[arg(long, short)]
        user: String,
        /// What the token may do
        #[arg(long, default_value = "user", value_parser = ["user", "admin", "portal"])]
        role: String,
        /// Lifetime, e.g. 12h, 30d [default: never expires]
        #[arg(long, value_name = "DURATION")]
        expires: Option<String>,
    },
    /// List tokens (never their secrets)
    Ls,
    /// Revoke tokens by id: they stop working at once
    Revoke {
        /// Tokens to revoke (see `jobo token ls`)
        #[arg(required = true, value_name = "ID")]
        ids: Vec<i64>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ServiceCommand {
    /// List services with their quotas and current load
    Ls,
}

#[derive(Debug, Subcommand)]
pub enum NodeCommand {
    /// Add a worker node (`jobod worker`, or a seed node with --protocol seed)
    Add {
        /// The node's address: http://host:port, or https://host:port for a node with --tls-cert
        url: String,
        /// Services the node runs, comma-separated or repeated
        #[arg(
            long,
            short,
            required = true,
            value_delimiter = ',',
            value_name = "S[,S...]"
        )]
        service: Vec<String>,
        /// Jobs the node runs at once
        #[arg(long, default_value_t = crate::api::default_node_slots())]
        slots: usize,
        /// File whose first line is the node's token (needed for `jobod worker` nodes)
        #[arg(long, value_name = "FILE")]
        token_file: Option<PathBuf>,
        /// Name to show and to refer to the node by [default: its host:port]
        #[arg(long)]
        name: Option<String>,
        /// How the server talks to the node
        #[arg(long, default_value = "native", value_parser = ["native", "seed"])]
        protocol: String,
    },
    /// List nodes with their slots, load and health
    Ls,
    /// Remove nodes (by id or name)
    Rm {
        /// Nodes to remove
        #[arg(required = true, value_name = "ID|NAME")]
        keys: Vec<String>,
        /// Remove even if jobs run there; they go back to the queue
        #[arg(long)]
        force: bool,
    },
    /// Stop sending new jobs to nodes; running ones finish
    Drain {
        /// Nodes to drain
        #[arg(required = true, value_name = "ID|NAME")]
        keys: Vec<String>,
    },
    /// Send new jobs to drained nodes again
    Undrain {
        /// Nodes to send jobs to again
        #[arg(required = true, value_name = "ID|NAME")]
        keys: Vec<String>,
    },
}

/// Runs the parsed command; returns the process exit code.
pub async fn run(cli: Cli) -> anyhow::Result<i32> {
    if let Command::Completions { shell } = cli.command {
        let mut cmd = Cli::command();
        let mut script = Vec::new();
        clap_complete::generate(shell, &mut cmd, "jobo", &mut script);
        output::write_stdout(&String::from_utf8_lossy(&script));
        return Ok(0);
    }
    if matches!(cli.command, Command::System(SystemCommand::Stop)) && cli.host.is_none() {
        // Starting a jobod only to stop it helps nobody.
        system::ensure_running().await?;
    }
    let client = connect::client(cli.host.as_deref(), cli.token, cli.ca_cert.as_deref()).await?;
    let json = cli.json;
    match cli.command {
        Command::Submit { args, wait } => submit::submit(&client, &args, wait, json).await,
        Command::Run { args, output } => submit::run(&client, &args, output, json).await,
        Command::Status { ids } => show::status(&client, &ids, json).await,
        Command::List {
            state,
            service,
            user,
            limit,
        } => show::list(&client, state, service, user, limit, json).await,
        Command::Wait { ids } => show::wait(&client, &ids, json).await,
        Command::Logs { id, follow } => logs::logs(&client, &id, follow).await,
        Command::Fetch { id, output, force } => {
            fetch::fetch(&client, &id, output, force, json).await
        }
        Command::Cancel { ids } => manage::cancel(&client, &ids, json).await,
        Command::Rm { ids } => manage::remove(&client, &ids, json).await,
        Command::Service(ServiceCommand::Ls) => show::services(&client, json).await,
        Command::Node(cmd) => node::run(&client, cmd, json).await,
        Command::Token(cmd) => token::run(&client, cmd, json).await,
        Command::System(cmd) => system::run(&client, cmd, json).await,
        Command::Completions { .. } => Ok(0),
    }
}

/// Parses a job id given on the command line.
pub fn parse_id(s: &str) -> anyhow::Result<i64> {
    match s.trim().parse::<i64>() {
        Ok(id) if id > 0 => Ok(id),
        _ => anyhow::bail!("invalid job id '{s}': job ids are positive integers (see `jobo list`)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every argument of every command says what it is for in `--help` (and so in the man
    /// pages and completions).
    #[test]
    fn every_argument_has_help() {
        fn check(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for arg in cmd.get_arguments() {
                let id = arg.get_id().as_str();
                if id != "help" && id != "version" && arg.get_help().is_none() {
                    missing.push(format!("{path} {id}"));
                }
            }
            for sub in cmd.get_subcommands() {
                check(sub, &format!("{path} {}", sub.get_name()), missing);
            }
        }
        let mut missing = Vec::new();
        let mut cmd = Cli::command();
        cmd.build();
        check(&cmd, "jobo", &mut missing);
        let mut jobod = jobod::Jobod::command();
        jobod.build();
        check(&jobod, "jobod", &mut missing);
        assert!(missing.is_empty(), "arguments without help: {missing:?}");
    }
}
