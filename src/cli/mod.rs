//! The `jobo` command line: one clap definition (it also feeds the completions) and a
//! dispatcher to one module per group of commands.

pub mod complete;
mod connect;
mod control;
mod fetch;
pub mod generate;
mod interrupt;
mod lazy;
mod logs;
mod manage;
mod node;
pub mod output;
mod progress;
mod show;
mod submit;
mod system;
mod table;
mod template;
mod token;
mod watch;

pub mod jobod;

use clap::{Args, Parser, Subcommand};
pub use lazy::Lazy;
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
    #[arg(long, short, add = complete::services())]
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
    /// A name to find the job by (`jobo list --name N`)
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// A label, KEY=VALUE, to find the job by (repeatable)
    #[arg(long = "label", short = 'l', value_name = "KEY=VALUE")]
    pub labels: Vec<String>,
    /// Run only once these jobs succeeded; if one of them does not, this job fails as
    /// "dependency failed" (comma-separated or repeated)
    #[arg(long, value_delimiter = ',', value_name = "ID[,ID...]", add = complete::jobs())]
    pub after: Vec<String>,
    /// Submit one job per index, e.g. 1-100; each sees its index as JOBO_ARRAY_INDEX
    #[arg(long, value_name = "FIRST-LAST")]
    pub array: Option<String>,
}

// Which jobs `status`, `list` and `wait --all` are about, and how to print them. (Not a doc
// comment: clap would make it the help of the commands that flatten it.)
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only jobs in these states (comma-separated or repeated)
    #[arg(long, value_delimiter = ',', value_name = "STATE[,STATE...]",
          value_parser = clap::builder::PossibleValuesParser::new(crate::job::JobState::ALL.map(|s| s.as_str())))]
    pub state: Vec<String>,
    /// Only jobs of this service
    #[arg(long, short, add = complete::services())]
    pub service: Option<String>,
    /// Only this user's jobs (administrators; everyone else sees only their own)
    #[arg(long, short)]
    pub user: Option<String>,
    /// Only jobs of this name (`jobo submit --name`)
    #[arg(long)]
    pub name: Option<String>,
    /// Only jobs with this label, KEY=VALUE (repeatable: all must match)
    #[arg(long = "label", short = 'l', value_name = "KEY=VALUE")]
    pub labels: Vec<String>,
    /// Show at most this many jobs, newest first [default: 20 for status, 50 for list]
    #[arg(long, short = 'n')]
    pub limit: Option<u32>,
    /// Print only the job ids, one a line
    #[arg(long, short, conflicts_with = "format")]
    pub quiet: bool,
    /// Print each job through TEMPLATE: `{field}` is a field of the job's JSON (`{labels.k}`
    /// a label; `{{.field}}` works too), `\t` a tab. Example: '{id}\t{state}\t{name}'
    #[arg(long, value_name = "TEMPLATE")]
    pub format: Option<String>,
}

// What `jobo logs` prints, and how (not a doc comment, as for `ListArgs`).
#[derive(Debug, Args)]
pub struct LogsArgs {
    /// The jobs; several are printed side by side, each line prefixed with its job id
    #[arg(required = true, value_name = "ID", add = complete::jobs())]
    pub ids: Vec<String>,
    /// Keep printing as the jobs write, until they end
    #[arg(long, short)]
    pub follow: bool,
    /// Only the last N lines of each stream (then, with -f, what follows)
    #[arg(long, value_name = "N")]
    pub tail: Option<usize>,
    /// Only the lines written since then: a time ago (10m, 1h30m) or an RFC 3339 time
    /// (2026-12-01T15:04:05Z); by when jobod read them from the job
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,
    /// Each line after its time (RFC 3339, UTC, nanoseconds) and a space
    #[arg(long, short)]
    pub timestamps: bool,
    /// Only the job's stdout
    #[arg(long, conflicts_with = "stderr")]
    pub stdout: bool,
    /// Only the job's stderr
    #[arg(long)]
    pub stderr: bool,
}

/// `jobo`'s commands. Each command's arguments, and each group's subcommands, are defined
/// only when that command is chosen ([`Lazy`]); the structs below hold the arguments.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Upload a job directory and print the job id
    Submit(Lazy<SubmitCmd>),
    /// Submit, stream the output, fetch the results into ./jobo-ID, exit with the job's code
    Run(Lazy<RunCmd>),
    /// Show recent jobs (an array as one row), or the details of the given ones
    Status(Lazy<StatusCmd>),
    /// List jobs, newest first, one row each
    List(Lazy<ListArgs>),
    /// Wait until the jobs end; exit non-zero unless all succeeded
    Wait(Lazy<WaitCmd>),
    /// Print jobs' output (stdout to stdout, stderr to stderr)
    Logs(Lazy<LogsArgs>),
    /// Run finished jobs again: each becomes a new job from its directory as its run left
    /// it, with the same service, limits, variables, name and labels
    Restart(Lazy<RestartCmd>),
    /// Delete finished jobs, their history and their files: lists them unless --yes
    Prune(Lazy<PruneCmd>),

    /// Download and unpack a finished job's results
    Fetch(Lazy<FetchCmd>),
    /// Cancel queued or running jobs
    Cancel(Lazy<CancelCmd>),
    /// Remove finished jobs' files (their history stays)
    Rm(Lazy<RmCmd>),
    /// Services this server runs
    #[command(subcommand)]
    Service(Lazy<ServiceCommand>),
    /// Worker nodes this server sends jobs to (admins only)
    #[command(subcommand)]
    Node(Lazy<NodeCommand>),
    /// API tokens for TCP clients and portals (admins only)
    #[command(subcommand)]
    Token(Lazy<TokenCommand>),
    /// The server: what it is and runs with, and stopping it
    #[command(subcommand)]
    System(Lazy<SystemCommand>),
    /// Print a shell completion script
    Completions(Lazy<CompletionsCmd>),
}

// Each command's arguments (see `Command`). No doc comments on these structs: the variant's
// is the command's help.

#[derive(Debug, Args)]
pub struct SubmitCmd {
    #[command(flatten)]
    pub args: SubmitArgs,
    /// Wait for the job to end and print its final state
    #[arg(long, short, conflicts_with = "array")]
    pub wait: bool,
}

#[derive(Debug, Args)]
pub struct RunCmd {
    #[command(flatten)]
    pub args: SubmitArgs,
    /// Where to put the results [default: ./jobo-ID]
    #[arg(long, short)]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct StatusCmd {
    /// Jobs to show in detail, with why a queued one waits
    #[arg(value_name = "ID", add = complete::jobs())]
    pub ids: Vec<String>,
    #[command(flatten)]
    pub list: ListArgs,
}

#[derive(Debug, Args)]
pub struct WaitCmd {
    /// Jobs to wait for
    #[arg(required_unless_present = "all", value_name = "ID", add = complete::jobs())]
    pub ids: Vec<String>,
    /// Every queued or running job of yours (of everyone, for an administrator)
    #[arg(long, conflicts_with = "ids")]
    pub all: bool,
    /// With --all: only this service's jobs
    #[arg(long, short, requires = "all", add = complete::services())]
    pub service: Option<String>,
    /// Give up after this long, e.g. 90s, 2h (exit 124, like timeout(1))
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<String>,
}

#[derive(Debug, Args)]
pub struct PruneCmd {
    /// Jobs that finished longer ago than this, e.g. 7d, 12h
    #[arg(long, required = true, value_name = "DURATION")]
    pub older_than: String,
    /// Only jobs in these final states (comma-separated or repeated)
    #[arg(long, value_delimiter = ',', value_name = "STATE[,STATE...]",
          value_parser = clap::builder::PossibleValuesParser::new(crate::job::JobState::ALL.map(|s| s.as_str())))]
    pub state: Vec<String>,
    /// Only this user's jobs (administrators; everyone else prunes only their own)
    #[arg(long, short)]
    pub user: Option<String>,
    /// Delete them; without it, only list what would go
    #[arg(long, short, alias = "force")]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct RestartCmd {
    /// Jobs to run again
    #[arg(required = true, value_name = "ID", add = complete::jobs())]
    pub ids: Vec<String>,
}

#[derive(Debug, Args)]
pub struct FetchCmd {
    /// The job
    #[arg(add = complete::jobs())]
    pub id: String,
    /// Directory to unpack into [default: ./jobo-ID]
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// Unpack into a directory that already exists
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct CancelCmd {
    /// Jobs to cancel
    #[arg(required = true, add = complete::jobs())]
    pub ids: Vec<String>,
}

#[derive(Debug, Args)]
pub struct RmCmd {
    /// Jobs whose files to remove
    #[arg(required = true, add = complete::jobs())]
    pub ids: Vec<String>,
}

#[derive(Debug, Args)]
pub struct CompletionsCmd {
    /// The shell to complete in
    pub shell: clap_complete::Shell,
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
        #[arg(required = true, value_name = "ID|NAME", add = complete::nodes())]
        keys: Vec<String>,
        /// Remove even if jobs run there; they go back to the queue
        #[arg(long)]
        force: bool,
    },
    /// Stop sending new jobs to nodes; running ones finish
    Drain {
        /// Nodes to drain
        #[arg(required = true, value_name = "ID|NAME", add = complete::nodes())]
        keys: Vec<String>,
    },
    /// Send new jobs to drained nodes again
    Undrain {
        /// Nodes to send jobs to again
        #[arg(required = true, value_name = "ID|NAME", add = complete::nodes())]
        keys: Vec<String>,
    },
}

/// Runs the parsed command; returns the process exit code.
pub async fn run(cli: Cli) -> anyhow::Result<i32> {
    if let Command::Completions(c) = &cli.command {
        let script = complete::registration(&c.shell.to_string())?;
        output::write_stdout(&String::from_utf8_lossy(&script));
        return Ok(0);
    }
    if matches!(&cli.command, Command::System(Lazy(SystemCommand::Stop))) && cli.host.is_none() {
        // Starting a jobod only to stop it helps nobody.
        system::ensure_running().await?;
    }
    // Pooled: `submit --wait`, `run` and `wait` ask again on the connection they submitted on.
    let client = connect::client(cli.host.as_deref(), cli.token, cli.ca_cert.as_deref())
        .await?
        .pooled();
    let json = cli.json;
    match cli.command {
        Command::Submit(c) => submit::submit(&client, &c.args, c.wait, json).await,
        Command::Run(Lazy(c)) => submit::run(&client, &c.args, c.output, json).await,
        Command::Status(c) => show::status(&client, &c.ids, &c.list, json).await,
        Command::List(list) => show::list(&client, &list, 50, json).await,
        Command::Wait(Lazy(c)) => {
            control::wait(
                &client,
                &c.ids,
                c.all,
                c.service,
                c.timeout.as_deref(),
                json,
            )
            .await
        }
        Command::Logs(args) => logs::logs(&client, &args, json).await,
        Command::Restart(c) => control::restart(&client, &c.ids, json).await,
        Command::Prune(Lazy(c)) => {
            control::prune(&client, c.older_than, c.state, c.user, c.yes, json).await
        }

        Command::Fetch(Lazy(c)) => fetch::fetch(&client, &c.id, c.output, c.force, json).await,
        Command::Cancel(c) => manage::cancel(&client, &c.ids, json).await,
        Command::Rm(c) => manage::remove(&client, &c.ids, json).await,
        Command::Service(Lazy(ServiceCommand::Ls)) => show::services(&client, json).await,
        Command::Node(Lazy(cmd)) => node::run(&client, cmd, json).await,
        Command::Token(Lazy(cmd)) => token::run(&client, cmd, json).await,
        Command::System(Lazy(cmd)) => system::run(&client, cmd, json).await,
        Command::Completions(_) => Ok(0),
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
    use clap::CommandFactory;

    /// No command's arguments (or group's subcommands) are defined before the command is
    /// chosen: each is `Lazy` (src/cli/lazy.rs). Built, they are all there.
    #[test]
    fn commands_are_defined_when_chosen() {
        let cmd = Cli::command();
        for sub in cmd.get_subcommands() {
            let name = sub.get_name();
            assert!(sub.get_arguments().next().is_none(), "{name}'s arguments");
            assert!(
                sub.get_subcommands().next().is_none(),
                "{name}'s subcommands"
            );
        }
        let mut built = cmd;
        built.build();
        let submit = built.find_subcommand("submit").expect("submit");
        assert!(submit.get_arguments().any(|a| a.get_id() == "wait"));
        assert!(submit.get_arguments().any(|a| a.get_id() == "service"));
        let node = built.find_subcommand("node").expect("node");
        assert!(node.find_subcommand("add").is_some());
    }

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
