//! The Slurm backend of a worker node (`jobod worker --backend slurm`): instead of running each
//! payload itself, the node hands it to Slurm as one batch job (`submit.rs`), watches all its
//! jobs with one query per poll cycle (`poll.rs`), maps Slurm's states to the payload's
//! (`state.rs`), and keeps each payload's Slurm job in its payload dir (`record.rs`), so a
//! restarted node re-attaches to its jobs instead of emptying its payloads.
//!
//! Everything else is the node's as with the local backend: the protocol, the payload table,
//! the slots (here: how many jobs the node keeps in Slurm at once), fencing (a fenced payload
//! is `scancel`led), results and logs (Slurm writes them into the payload dir, which the
//! compute nodes must see).

mod command;
mod poll;
pub mod record;
mod run;
mod state;
mod submit;

pub use run::{Attached, SlurmRun, run};
pub use submit::job_name;

use crate::paths::DataDir;
use anyhow::Context;
use poll::Poller;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// `jobod worker --backend slurm`'s settings.
#[derive(Debug, Clone)]
pub struct SlurmOptions {
    /// `--partition` of every job.
    pub partition: Option<String>,
    /// `--account` of every job.
    pub account: Option<String>,
    /// More `sbatch` arguments, as given.
    pub sbatch_args: Vec<String>,
    /// The poll cycle when no job is about to end.
    pub poll: Duration,
}

/// A node's link to Slurm: its settings and its poller.
pub struct Slurm {
    opts: SlurmOptions,
    poller: Poller,
}

impl Slurm {
    /// Checks that Slurm answers and the data dir is writable (a clear error otherwise), then
    /// starts polling until `shutdown`.
    pub async fn start(
        opts: SlurmOptions,
        data: &DataDir,
        shutdown: CancellationToken,
    ) -> anyhow::Result<Arc<Slurm>> {
        check(data).await?;
        let slurm = Arc::new(Slurm {
            poller: Poller::new(opts.poll),
            opts,
        });
        let polling = slurm.clone();
        tokio::spawn(async move { polling.poller.run(shutdown).await });
        Ok(slurm)
    }
}

/// The start-up checks of `--backend slurm`.
async fn check(data: &DataDir) -> anyhow::Result<()> {
    let probe = data.root().join(".slurm-write-check");
    std::fs::write(&probe, b"jobo")
        .and_then(|()| std::fs::remove_file(&probe))
        .with_context(|| {
            format!(
                "--backend slurm: cannot write in the data dir {} (it must be on storage the \
                 compute nodes see, and writable here)",
                data.root().display()
            )
        })?;
    for program in ["sbatch", "scancel"] {
        command::output(program, command::new(program).arg("--version"))
            .await
            .map_err(|e| {
                anyhow::anyhow!("--backend slurm: {e} (is Slurm's client installed here?)")
            })?;
    }
    // A real query: slurmctld must answer.
    command::output(
        "squeue",
        command::new("squeue").args(["--noheader", "--me", "--format=%i"]),
    )
    .await
    .map_err(|e| anyhow::anyhow!("--backend slurm: {e} (does slurmctld answer?)"))?;
    Ok(())
}

/// At start: what a previous node left in `payloads/`. Payloads with a Slurm job are kept, to
/// be re-attached; the rest (never submitted, or their submission cut short: any job of theirs
/// is cancelled by name) are removed. Returns the records to re-attach.
pub async fn leftovers(data: &DataDir) -> anyhow::Result<Vec<record::Record>> {
    let dir = data.payloads();
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    // Payload accounts pass through it to their own dirs.
    crate::perms::set_mode(&dir, crate::perms::data_dir_mode())?;
    let mut kept = Vec::new();
    let entries =
        std::fs::read_dir(&dir).with_context(|| format!("cannot read {}", dir.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot read {}", dir.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let payload = data.payload(&name);
        match record::load(&payload) {
            Ok(Some(rec)) if rec.slurm_id.is_some() && rec.id.to_string() == name => {
                kept.push(rec);
                continue;
            }
            Ok(Some(rec)) => {
                if let Err(e) = submit::scancel_name(&rec.name).await {
                    tracing::warn!("payload {name}: {e}");
                }
            }
            Ok(None) => {}
            Err(e) => tracing::warn!("payload {name}: unreadable record, removing it: {e}"),
        }
        let path = entry.path();
        let removed = if path.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        removed.with_context(|| format!("cannot remove {}", path.display()))?;
    }
    Ok(kept)
}
