//! What a Slurm node keeps of each payload in its payload dir (`slurm.json`), so a restarted
//! node re-attaches to its Slurm jobs instead of losing them: the payload's order, its Slurm
//! job id once `sbatch` gave one, and how it ended once it did.

use crate::paths::JobDir;
use crate::protocol::{PayloadState, SlurmJob};
use serde::{Deserialize, Serialize};
use std::io;
use uuid::Uuid;

const FILE: &str = "slurm.json";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    pub id: Uuid,
    pub job: Option<i64>,
    pub attempt: Option<u32>,
    pub seed_id: Option<u32>,
    pub timeout_secs: Option<u64>,
    pub run_as: String,
    pub service: String,
    pub user: String,
    pub max_output: Option<u64>,
    /// The Slurm job's name (how a job submitted just before a crash is found again).
    pub name: String,
    /// Set once `sbatch` answered.
    pub slurm_id: Option<u64>,
    /// Set once it is over.
    pub ended: Option<Ended>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Ended {
    pub state: PayloadState,
    pub exit_code: Option<i32>,
    pub reason: Option<String>,
    pub slurm: Option<SlurmJob>,
}

/// Writes the record of the payload in `dir` (through a rename: never half of it).
pub async fn save(dir: &JobDir, record: &Record) -> io::Result<()> {
    let text = serde_json::to_vec_pretty(record).map_err(io::Error::other)?;
    let path = dir.path().join(FILE);
    let tmp = dir.path().join(format!("{FILE}.tmp"));
    tokio::fs::write(&tmp, text).await?;
    tokio::fs::rename(&tmp, &path).await
}

/// The record in `dir`: `None` when it has none (a payload that never reached `sbatch`).
pub fn load(dir: &JobDir) -> io::Result<Option<Record>> {
    match std::fs::read(dir.path().join(FILE)) {
        Ok(text) => serde_json::from_slice(&text)
            .map(Some)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}
