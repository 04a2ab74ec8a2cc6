//! The native worker protocol between the server (`jobod serve`) and a node (`jobod worker`).
//! Every route is on the node and needs `Authorization: Bearer <node token>`; both ends build
//! and match them with [`routes::NodeRoute`], which also names the seed's client routes a node
//! serves.
//!
//! - `PUT /v1/payloads/{uuid}?job=ID&attempt=N[&timeout=SECS][&kill_grace_ms=MS]`, body: the
//!   job's input dir as tar.gz → `201` [`PayloadInfo`]. The server names the payload (it records
//!   the uuid before sending), so a retried push of the same uuid is answered `200` with the
//!   payload as it is, and never runs twice.
//! - `GET /v1/payloads` → `[PayloadInfo]`.
//! - `GET /v1/feed?beat_ms=N` → `application/x-ndjson`, one [`FeedEvent`] per line: first
//!   `hello` (every native payload the node has), then `change` on every status change and
//!   `beat` every `beat_ms`. The server learns of completions from it without polling, and a
//!   feed silent for a lease means the node is gone.
//! - `GET /v1/payloads/{uuid}/results` → tar.gz of the payload once it is done: `work/…` (the
//!   files of the run) plus `stdout.log` and `stderr.log`, and their time indexes
//!   `stdout.idx`/`stderr.idx` where the node keeps them (src/logtime.rs); `409` while it runs.
//! - `GET /v1/payloads/{uuid}/logs/{stdout|stderr}?offset=N&follow=true&timestamps=true` → the
//!   log from `offset`, following until the run ends; with `timestamps`, each line after its
//!   time (or `-`) and a space, which the server reads back when relaying it.
//! - `POST /v1/payloads/{uuid}/cancel` → kills the run's process group (SIGTERM, SIGKILL after
//!   the grace) and answers the [`PayloadInfo`] once it is over; its files stay.
//! - `DELETE /v1/payloads/{uuid}` → kills it if it runs and removes its files: "collected,
//!   delete your copy", and how a stale run is discarded. `204`; `404` if unknown.
//! - `POST /v1/lease?sent_ms=T&lease_ms=L` → `204`: the server renews the node's lease
//!   ([`LeaseRenewal`]). `T` echoes the `sent_ms` of a feed line the server has read, `L` is
//!   the server's lease. A node whose lease runs out kills its native payloads (fencing,
//!   [`PayloadState::Fenced`]) and answers `PUT /v1/payloads/…` with `503` until renewed.

pub mod routes;

pub use routes::{FeedQuery, NodeRoute, PushQuery};

use serde::{Deserialize, Serialize};

/// Where a payload is on its node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PayloadState {
    /// Received, waiting for a free slot.
    Prepared,
    Running,
    /// `run.sh` exited 0.
    Completed,
    /// `run.sh` exited non-zero, or could not be started.
    Failed,
    /// Cancelled (or discarded) before or while it ran.
    Killed,
    /// Killed by the node after its timeout.
    TimedOut,
    /// Killed (SIGKILL, no grace) by the node itself, or never started, because its server
    /// stopped renewing its lease: the server may be running the job elsewhere by now. The run
    /// is lost, never a result: the server requeues the job and discards this copy.
    Fenced,
}

impl PayloadState {
    /// The run is over: its files are final.
    pub fn is_done(self) -> bool {
        !matches!(self, PayloadState::Prepared | PayloadState::Running)
    }

    /// The seed's status word (its client routes speak these).
    pub fn seed_word(self) -> &'static str {
        match self {
            PayloadState::Prepared => "Prepared",
            PayloadState::Running => "Running",
            PayloadState::Completed => "Completed",
            PayloadState::Failed => "Failed",
            PayloadState::Killed | PayloadState::TimedOut | PayloadState::Fenced => "Killed",
        }
    }
}

/// One payload as the node reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayloadInfo {
    pub id: uuid::Uuid,
    /// The server's job id and attempt (absent for payloads from the seed's `/submit`).
    pub job: Option<i64>,
    pub attempt: Option<u32>,
    pub state: PayloadState,
    /// `run.sh`'s exit code once it exited (128 + N for a death by signal N).
    pub exit_code: Option<i32>,
    /// Why it failed or was killed, in a few words.
    pub reason: Option<String>,
    /// How the run is held, once it started (none from nodes older than this field).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enforced: Option<crate::api::Enforced>,
    /// What the run used, once it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<crate::api::Usage>,
    /// How long it ran, from its start to its end on the node's clock, once it ended: a
    /// server that did not hear of the start dates it from this (none from older nodes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_ms: Option<u64>,
    /// Its Slurm batch job, on a node with the Slurm backend (`jobod worker --backend slurm`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slurm: Option<SlurmJob>,
}

/// A payload's Slurm batch job as its node last saw it: what `jobo status` shows of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlurmJob {
    /// Slurm's job id (`sbatch --parsable`).
    pub id: u64,
    /// Slurm's state word (`PENDING`, `RUNNING`, `COMPLETED`, `TIMEOUT`, …).
    pub state: String,
    /// Slurm's reason (why it pends, why it failed), when it gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Which kind of place a worker node hands its payloads to (`jobod worker --backend`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeBackend {
    /// The node runs them itself (the same executor as the server's own worker).
    #[default]
    Local,
    /// Each payload becomes a Slurm batch job.
    Slurm,
}

impl NodeBackend {
    pub fn as_str(self) -> &'static str {
        match self {
            NodeBackend::Local => "local",
            NodeBackend::Slurm => "slurm",
        }
    }
}

/// The payload record of the seed's client routes (`/submit`, and `/retrieve/{id}` while the
/// run is not completed): the seed's server reads the numeric `id` from it and keeps it as the
/// job's `dest_id`, and reads `status` on every poll.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeedPayload {
    pub id: u32,
    /// Older seeds echoed every input file here and their servers require the field; it is
    /// always empty.
    #[serde(default)]
    pub input: std::collections::BTreeMap<String, Vec<u8>>,
    pub status: String,
    pub loc: String,
    pub pid: u32,
    pub killed: bool,
}

impl SeedPayload {
    /// What the seed answers with its errors (`404`, `500`): an empty record.
    pub fn empty() -> SeedPayload {
        SeedPayload {
            id: 0,
            input: Default::default(),
            status: "Unknown".into(),
            loc: String::new(),
            pid: 0,
            killed: false,
        }
    }
}

/// One line of `GET /v1/feed`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FeedEvent {
    /// The first line: the node and every payload of the native protocol it holds (payloads
    /// from the seed's `/submit` are not the server's and are left out, so the line stays
    /// small however many of those a node keeps).
    Hello {
        slots: usize,
        /// The host's CPU use in percent (also in `host`, for servers that know it).
        load: f32,
        /// The host's CPU and memory use (none from older nodes, and before the first sample).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        host: Option<crate::api::HostLoad>,
        payloads: Vec<PayloadInfo>,
        /// Where the node runs its payloads (absent from older nodes: local).
        #[serde(default)]
        backend: NodeBackend,
        /// The node's clock when it wrote the line (see [`LeaseRenewal::sent_ms`]).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sent_ms: Option<u64>,
    },
    /// A payload changed state.
    Change { payload: PayloadInfo },
    /// Still alive; sent every `beat_ms`.
    Beat {
        load: f32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        host: Option<crate::api::HostLoad>,
        running: usize,
        /// The node's clock when it wrote the line (see [`LeaseRenewal::sent_ms`]).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sent_ms: Option<u64>,
    },
}

impl FeedEvent {
    /// The node's clock when it wrote this line, if the line carries it.
    pub fn sent_ms(&self) -> Option<u64> {
        match self {
            FeedEvent::Hello { sent_ms, .. } | FeedEvent::Beat { sent_ms, .. } => *sent_ms,
            FeedEvent::Change { .. } => None,
        }
    }
}

/// The query of `POST /v1/lease`: the server's proof of life to a node (fencing).
///
/// The node cannot tell a live server from a frozen or cut-off one by writing its feed (the
/// kernel buffers the lines), so the server answers the feed: for the newest `hello` or `beat`
/// it has read, it sends back that line's `sent_ms`. The server set the node's last-seen time
/// when it read that line, i.e. no earlier than `sent_ms`, and requeues the node's jobs no
/// earlier than a lease after its last-seen time: so the node knows the server cannot requeue
/// before `sent_ms + lease_ms`, whatever the network delays were.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseRenewal {
    /// Milliseconds on the node's clock (`CLOCK_BOOTTIME`), as the node wrote them in a feed
    /// line; a value later than the node's now is refused (`400`).
    pub sent_ms: u64,
    /// The server's `[cluster] lease`, in milliseconds (at least 1).
    pub lease_ms: u64,
}

/// The content type of the feed.
pub const FEED_CONTENT_TYPE: &str = "application/x-ndjson";
