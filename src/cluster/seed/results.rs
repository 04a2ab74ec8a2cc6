//! Taking a seed run's files: its zip spooled to disk and unpacked as `work/`, its exit code
//! read from the trap's file, and the outcome recorded with them like any remote run's.

use super::outcome::{Ended, held, outcome};
use crate::archive::{self, ArchiveError};
use crate::cluster::attempt;
use crate::cluster::collect::{self, Outcome};
use crate::cluster::node::Node;
use crate::cluster::seed_client::{SEED_EXIT_FILE, SeedZip};
use crate::core::Core;
use crate::job::JobState;
use crate::store::Record;
use hyper::body::Incoming;
use std::path::Path;
use std::time::Duration;
use tokio::io::AsyncWriteExt;

/// Records the outcome with the staged files (if any could be staged): `Ok(true)` once the
/// run is dealt with, whether or not it was still the job's current attempt.
pub async fn finish(
    core: &Core,
    rec: &Record,
    staged: std::io::Result<tempfile::TempDir>,
    outcome: Outcome,
) -> Result<bool, String> {
    let staged = staged.map_err(|e| format!("cannot stage its results: {e}"))?;
    collect::finish(core, rec, staged, outcome)
        .await
        .map(|_| true)
        .map_err(|e| format!("cannot record its end: {e}"))
}

fn staging(core: &Core) -> std::io::Result<tempfile::TempDir> {
    tempfile::Builder::new()
        .prefix("seed-")
        .tempdir_in(core.data.tmp())
}

pub async fn empty_results(core: &Core) -> std::io::Result<tempfile::TempDir> {
    let staged = staging(core)?;
    tokio::fs::create_dir(staged.path().join("work")).await?;
    Ok(staged)
}

/// Takes a zip of the run's files and records how the run ended: `word` is the status the node
/// reported (none: completed, as a `/retrieve` zip says); `ran`: the node recorded a pid.
pub async fn take(
    core: &Core,
    node: &Node,
    rec: &Record,
    zip: SeedZip,
    word: Option<String>,
    ended: Option<Ended>,
    ran: bool,
) -> Result<bool, String> {
    let word = zip.status.or(word);
    match take_zip(core, node, zip.body).await {
        Ok(staged) => {
            let exit_code = match zip.exit_code {
                Some(code) => Some(code),
                None => exit_file(staged.path()).await,
            };
            if exit_code.is_none() && ended.is_none() && ran && word.as_deref() == Some("Lost") {
                // The seed's client also says `Lost` of runs whose pid it read too early,
                // which go on: follow it until it writes its exit code (or its timeout, a
                // cancel or the node's loss ends it).
                if rec.job.state == JobState::Dispatched {
                    attempt::started(core, rec, held()).await;
                }
                return Ok(false);
            }
            let outcome = outcome(word.as_deref(), exit_code, ended);
            finish(core, rec, Ok(staged), outcome).await
        }
        Err(Taken::Unusable(e)) => {
            let outcome = Outcome {
                state: JobState::Failed,
                exit_code: zip.exit_code,
                reason: Some(format!("its results from {} are unusable: {e}", node.name)),
                enforced: held(),
                usage: None,
                run_ms: None,
            };
            finish(core, rec, empty_results(core).await, outcome).await
        }
        Err(Taken::Retry(e)) => Err(e),
    }
}

/// The exit code the seed's `run.sh` trap left in the staged results, if any.
async fn exit_file(staged: &Path) -> Option<i32> {
    let text = tokio::fs::read_to_string(staged.join("work").join(SEED_EXIT_FILE))
        .await
        .ok()?;
    text.trim().parse().ok()
}

/// Why results could not be taken: worth another download, or not.
enum Taken {
    Retry(String),
    Unusable(String),
}

/// Downloads the zip to a file in a staging dir and unpacks it as `<staged>/work`.
async fn take_zip(core: &Core, node: &Node, body: Incoming) -> Result<tempfile::TempDir, Taken> {
    let staged = staging(core).map_err(|e| Taken::Retry(format!("cannot stage results: {e}")))?;
    let zip = staged.path().join("results.zip");
    spool(body, &zip, node.client.timeout())
        .await
        .map_err(Taken::Retry)?;
    let work = staged.path().join("work");
    let unpacked = tokio::task::spawn_blocking(move || {
        std::fs::create_dir(&work)?;
        let file = std::io::BufReader::new(std::fs::File::open(&zip)?);
        archive::unpack_zip(file, &work, archive::Limits::NONE)?;
        std::fs::remove_file(&zip)?;
        Ok(())
    })
    .await
    .map_err(|e| Taken::Retry(e.to_string()))?;
    match unpacked {
        Ok(()) => Ok(staged),
        Err(ArchiveError::Io(e)) => Err(Taken::Retry(e.to_string())),
        // The whole body came and is not an acceptable zip: the next one would be the same.
        Err(e) => Err(Taken::Unusable(e.to_string())),
    }
}

/// Writes a body to `to`, each read bounded by `timeout` so a stalled node cannot hang us.
async fn spool(body: Incoming, to: &Path, timeout: Duration) -> Result<(), String> {
    let io = |e: std::io::Error| format!("cannot take the results: {e}");
    let mut file = tokio::fs::File::create(to).await.map_err(io)?;
    let mut chunks = crate::cluster::remote::frames(body, timeout);
    while let Some(chunk) = futures_util::StreamExt::next(&mut chunks).await {
        file.write_all(&chunk.map_err(io)?).await.map_err(io)?;
    }
    file.flush().await.map_err(io)
}
