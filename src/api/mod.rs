//! The wire types of the native `/v1` API, shared by the daemon and the CLI; its routes and
//! their queries are in `routes.rs`.

pub mod meta;
pub mod openapi;
pub mod routes;
pub mod time;

pub use meta::{JobMeta, Labels, Pruned};
pub use routes::{ListQuery, LogQuery, Route};

use crate::job::{JobId, JobState};
use crate::placement::Placement;
use serde::{Deserialize, Serialize};

/// The header TCP clients once declared their user in. No longer trusted: a request that
/// sends it is refused in words that point at tokens.
pub const USER_HEADER: &str = "x-jobo-user";
/// Header that makes a submit idempotent: a repeated key returns the first job.
pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";
/// Header of a results download: the bytes of file content the archive holds, unpacked (the
/// archive streams as it is packed, so its own length is not known), for a progress bar.
pub const CONTENT_BYTES_HEADER: &str = "x-jobo-content-bytes";
/// Header of a submit with an idempotency key: the [`crate::archive::tree_digest`] of the
/// directory, so a key reused for other content is refused (409) rather than answered with
/// the first job.
pub const INPUT_DIGEST_HEADER: &str = "x-jobo-input-digest";

/// One job as the API shows it. Times are Unix milliseconds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Job {
    pub id: JobId,
    pub user: String,
    pub service: String,
    pub state: JobState,
    pub priority: i64,
    /// Where it runs or ran: `"local"` or a node's name (none while queued).
    pub node: Option<Placement>,
    pub attempts: u32,
    pub exit_code: Option<i32>,
    pub reason: Option<String>,
    pub submitted_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub input_bytes: u64,
    pub output_bytes: Option<u64>,
    /// What the job asked for, or got by default from its service, within its maxima.
    pub requested_limits: Limits,
    /// Which of them its last run was held to, and how (src/cgroup/): none claimed that was
    /// not applied.
    #[serde(default)]
    pub enforced: Enforced,
    /// What its last run used.
    #[serde(default)]
    pub usage: Usage,
    /// The job's own environment variables (`jobo submit -e KEY=VALUE`).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub env: crate::jobenv::Vars,
    /// The Unix user it runs as (none: a job from before jobo recorded it, which runs as its
    /// service's `run_as`).
    #[serde(default)]
    pub run_as: Option<String>,
    /// Its Slurm job, when it runs or ran on a Slurm node (`jobod worker --backend slurm`), as
    /// the node last reported it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slurm: Option<crate::protocol::SlurmJob>,
    /// Its name, labels, links to other jobs and, while queued, its place in the queue.
    #[serde(flatten)]
    pub meta: JobMeta,
}

/// Limits of one run (src/limits/): a job's requested ones, or a service's defaults or maxima.
/// `None`: no limit.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Limits {
    pub timeout_secs: Option<u64>,
    pub memory_bytes: Option<u64>,
    pub cpus: Option<f64>,
    pub pids: Option<u64>,
    /// The output cap: work dir and logs at the end of the run (the service's `max_output`).
    pub output_bytes: Option<u64>,
}

/// How a limit was enforced on a run.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Mechanism {
    /// The job's cgroup in a v1 hierarchy (`memory.limit_in_bytes`, `cpu.cfs_quota_us`,
    /// `pids.max`; the kill: every process in it).
    CgroupV1,
    /// The job's cgroup in the v2 hierarchy (the kill: `cgroup.kill`, or every process in it).
    CgroupV2,
    /// `RLIMIT_AS` of `run.sh` and what it starts.
    Rlimit,
}

impl std::fmt::Display for Mechanism {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Mechanism::CgroupV1 => "cgroup v1",
            Mechanism::CgroupV2 => "cgroup v2",
            Mechanism::Rlimit => "rlimit",
        })
    }
}

/// The limits a run was held to, each with its mechanism (`None`: not enforced).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Enforced {
    /// The wall-clock timeout (jobo's own timer); false before the job ran.
    #[serde(default)]
    pub timeout: bool,
    pub memory: Option<Mechanism>,
    pub cpus: Option<Mechanism>,
    pub pids: Option<Mechanism>,
    /// What ends the whole job at cancel, timeout and its end; `None`: its process group only
    /// (a `setsid` child can escape that).
    pub kill: Option<Mechanism>,
    /// Whether a run of a service with `network = "none"` was cut off the network (none: its
    /// service does not ask for that).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<NetworkIsolation>,
}

/// A service's network for its jobs (`network` in `jobod.toml`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Network {
    /// The host's network, as any process of the run's user has.
    #[default]
    Host,
    /// No network: a network namespace of the run's own, loopback only (src/netns.rs).
    #[serde(rename = "none")]
    Off,
}

/// What became of `network = "none"` for one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NetworkIsolation {
    /// It ran in a fresh network namespace of its own, with only a loopback interface.
    Namespace,
    /// Where it ran, no network namespace could be made (jobod not root): it had the host's
    /// network.
    NotApplied,
}

/// What a run used: from its cgroup (every process of the job), else from the kernel's
/// rusage of `run.sh` and what it waited for (src/spawn.rs). `None`: not measured.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Usage {
    pub peak_memory_bytes: Option<u64>,
    pub cpu_ms: Option<u64>,
}

impl Usage {
    /// Each measure of `self`, else of `other` (a cgroup's, else the rusage of run.sh).
    pub fn or(self, other: Usage) -> Usage {
        Usage {
            peak_memory_bytes: self.peak_memory_bytes.or(other.peak_memory_bytes),
            cpu_ms: self.cpu_ms.or(other.cpu_ms),
        }
    }
}

/// A service as `GET /v1/services` lists it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Service {
    pub name: String,
    pub max_running: Option<u32>,
    pub max_running_per_user: Option<u32>,
    pub timeout_secs: Option<u64>,
    /// What a job gets when it asks for nothing.
    pub default_limits: Limits,
    /// The most a job may ask for.
    pub max_limits: Limits,
    pub retention_secs: u64,
    pub max_attempts: u32,
    pub queued: u64,
    pub running: u64,
}

/// The body of every native 4xx/5xx answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: String,
}

/// The answer shape of the seed-compatible routes (the seed's `StatusBody`): `id` is 0 and
/// `status` is `Unknown` when an error has no job to name.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SeedStatus {
    pub id: JobId,
    pub status: String,
    pub message: String,
}

/// How the server talks to a node.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeProtocol {
    /// `jobod worker`'s own protocol: pushed payloads, an event feed, heartbeats.
    #[default]
    Native,
    /// Only the seed's client routes (`/submit`, `/retrieve`, `/kill`): polled with backoff.
    Seed,
}

impl NodeProtocol {
    pub fn as_str(self) -> &'static str {
        match self {
            NodeProtocol::Native => "native",
            NodeProtocol::Seed => "seed",
        }
    }
}

impl std::str::FromStr for NodeProtocol {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "native" => Ok(NodeProtocol::Native),
            "seed" => Ok(NodeProtocol::Seed),
            _ => Err(format!("unknown node protocol '{s}' (native or seed)")),
        }
    }
}

/// The body of `POST /v1/nodes`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NewNode {
    /// `http://host:port` of the node.
    pub url: String,
    /// Defaults to the URL's `host:port`.
    #[serde(default)]
    pub name: Option<String>,
    pub services: Vec<String>,
    #[serde(default = "default_node_slots")]
    pub slots: usize,
    /// The node token (read from a file by the CLI); never shown back.
    #[serde(default)]
    pub token: Option<String>,
    #[serde(default)]
    pub protocol: NodeProtocol,
}

pub fn default_node_slots() -> usize {
    4
}

/// Whether the server can use a node now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeState {
    Healthy,
    /// Its lease ran out (or it was never reached); its jobs went elsewhere.
    Unreachable,
    /// Takes no new jobs; running ones finish.
    Draining,
}

impl NodeState {
    pub fn as_str(self) -> &'static str {
        match self {
            NodeState::Healthy => "healthy",
            NodeState::Unreachable => "unreachable",
            NodeState::Draining => "draining",
        }
    }
}

/// A node as `GET /v1/nodes` shows it (never with its token).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Node {
    /// 0 for the worker embedded in the server.
    pub id: i64,
    pub name: String,
    pub url: String,
    /// Empty: every service (the embedded worker).
    pub services: Vec<String>,
    pub slots: usize,
    /// Slots taken by jobs placed there (dispatched or running).
    pub used: usize,
    /// Slots free for more jobs: `slots - used`.
    #[serde(default)]
    pub free_slots: usize,
    /// Its host's CPU use in percent, as the node last reported it (`host.cpu_percent`).
    pub load: Option<f32>,
    /// Its host's CPU and memory use, as the node last reported them: the host's, whatever
    /// runs there besides the node (src/node/load.rs).
    #[serde(default)]
    pub host: Option<HostLoad>,
    pub state: NodeState,
    /// Takes no new jobs (also while unreachable, when `state` says that).
    pub draining: bool,
    pub protocol: NodeProtocol,
    /// Where it runs its jobs (`local`, `slurm`), as it last said (local until it said).
    #[serde(default)]
    pub backend: crate::protocol::NodeBackend,
    /// Unix milliseconds of the last sign of life.
    pub last_heartbeat: Option<i64>,
    pub jobs_done: u64,
    /// Declared in `jobod.toml` (change it there, not with `jobo node rm`).
    pub from_config: bool,
}

/// A node's host: CPU use over the node's last sampling window, and memory in use.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct HostLoad {
    pub cpu_percent: f32,
    /// Memory in use (total less what is available).
    pub memory_used_bytes: u64,
    pub memory_total_bytes: u64,
}

/// `GET /v1/system`: what `jobo system info` shows.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SystemInfo {
    pub version: String,
    /// `system` or `user`.
    pub mode: String,
    pub pid: u32,
    /// Unix milliseconds.
    pub started_at: i64,
    pub data_dir: String,
    /// The config file loaded; `None`: none existed, the built-in default is in use.
    pub config_file: Option<String>,
    pub socket: String,
    pub listen: Option<String>,
    pub seed_listen: Option<String>,
    /// Who jobs run as, in words.
    pub jobs_run_as: String,
    /// The limits jobod enforces on jobs here, each with its mechanism.
    pub enforces: Vec<String>,
    pub local_slots: usize,
    /// Worker nodes, and how many of them are healthy.
    pub nodes: usize,
    pub healthy_nodes: usize,
    pub services: Vec<String>,
    /// Who asked, and whether they are an administrator.
    pub caller: String,
    pub admin: bool,
}

/// What an API token may do.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Their own jobs only.
    #[default]
    User,
    /// Every job, nodes and tokens.
    Admin,
    /// A web portal: the seed routes, for the jobs it submitted on behalf of its users.
    Portal,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Admin => "admin",
            Role::Portal => "portal",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "user" => Ok(Role::User),
            "admin" => Ok(Role::Admin),
            "portal" => Ok(Role::Portal),
            _ => Err(format!("unknown role '{s}' (user, admin or portal)")),
        }
    }
}

/// The body of `POST /v1/tokens`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NewToken {
    /// The user the token speaks for.
    pub user: String,
    #[serde(default)]
    pub role: Role,
    /// A duration as `humantime` reads it ("30d", "12h"); none: the token does not expire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
}

/// An API token as `GET /v1/tokens` shows it: never its secret, nor the secret's hash.
/// Times are Unix milliseconds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Token {
    pub id: i64,
    pub user: String,
    pub role: Role,
    pub created: i64,
    pub expires: Option<i64>,
    pub revoked: Option<i64>,
}

/// The answer of `POST /v1/tokens`: the only time the secret is ever shown.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CreatedToken {
    #[serde(flatten)]
    pub token: Token,
    pub secret: String,
}
