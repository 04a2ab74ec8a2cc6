//! The wire types of the native `/v1` API, shared by the daemon and the CLI.

use crate::job::{JobId, JobState};
use serde::{Deserialize, Serialize};

/// Header a native TCP client uses to declare its user (until tokens exist).
pub const USER_HEADER: &str = "x-jobo-user";
/// Header that makes a submit idempotent: a repeated key returns the first job.
pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";

/// One job as the API shows it. Times are Unix milliseconds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Job {
    pub id: JobId,
    pub user: String,
    pub service: String,
    pub state: JobState,
    pub priority: i64,
    pub node: Option<String>,
    pub attempts: u32,
    pub exit_code: Option<i32>,
    pub reason: Option<String>,
    pub submitted_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub input_bytes: u64,
    pub output_bytes: Option<u64>,
    pub timeout_secs: Option<u64>,
}

/// A service as `GET /v1/services` lists it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Service {
    pub name: String,
    pub max_running: Option<u32>,
    pub max_running_per_user: Option<u32>,
    pub timeout_secs: Option<u64>,
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

/// The answer shape of the seed-compatible routes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SeedStatus {
    pub id: Option<JobId>,
    pub status: String,
    pub message: String,
}

/// Query of `GET /v1/jobs`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ListQuery {
    pub state: Option<JobState>,
    pub service: Option<String>,
    pub user: Option<String>,
    pub limit: Option<u32>,
}
