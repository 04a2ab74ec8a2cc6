//! One payload's life as a Slurm job: a slot (as a local run takes one: `slots` caps the jobs
//! this node keeps in Slurm), the script validator, `sbatch`, then what the poller sees of the
//! job until it is over. A cancel (or fencing) is `scancel`. Each step is kept in the payload's
//! record first, so a node restarted at any point finds its job again ([`Attached`]).

use super::record::{self, Ended, Record};
use super::state::{self, Mapped};
use super::{Slurm, submit};
use crate::executor::RunSpec;
use crate::limits::output;
use crate::node::lease::Lease;
use crate::node::run::{Fence, Reporter, refused};
use crate::protocol::{PayloadState, SlurmJob};
use crate::validator::Validator;
use std::io;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

/// How long after `scancel` the run waits for Slurm to say the job is over.
const CANCEL_WAIT: Duration = Duration::from_secs(30);

/// A payload a restarted node found in its data dir with a Slurm job.
pub struct Attached {
    pub slurm_id: u64,
    pub ended: Option<Ended>,
}

/// Everything one run needs.
pub struct SlurmRun {
    pub slurm: Arc<Slurm>,
    pub spec: RunSpec,
    pub cancel: CancellationToken,
    pub report: Reporter,
    /// Native payloads: fenced when the node's lease runs out.
    pub fence: Option<(Arc<Fence>, Arc<Lease>)>,
    pub validator: Option<Arc<Validator>>,
    pub record: Record,
}

pub async fn run(slots: Arc<Semaphore>, mut r: SlurmRun, attached: Option<Attached>) {
    let payload = r.record.id;
    let (id, _permit) = match attached {
        Some(Attached {
            ended: Some(ended), ..
        }) => {
            // Over before the restart: as it was.
            if let Some(job) = ended.slurm {
                r.report.slurm(job);
            }
            r.report.set(ended.state, ended.exit_code, ended.reason);
            return;
        }
        // Already in Slurm: it holds a slot if one is free (a node restarted with fewer slots
        // keeps its jobs all the same).
        Some(a) => (a.slurm_id, slots.try_acquire_owned().ok()),
        None => {
            let permit = tokio::select! {
                biased;
                _ = r.cancel.cancelled() => None,
                p = slots.acquire_owned() => p.ok(),
            };
            if let (Some(_), Some((fence, lease))) = (&permit, &r.fence)
                && !lease.valid()
            {
                fence.fence(&lease.why());
            }
            let outcome = match permit {
                Some(_) if r.fence.as_ref().is_some_and(|(f, _)| f.is_fenced()) => {
                    Err((PayloadState::Killed, None))
                }
                Some(_) => match refused(&r.spec, r.validator.as_deref()).await {
                    Some(why) => Err((PayloadState::Failed, Some(why))),
                    None => submit(&mut r).await.map_err(|why| {
                        tracing::error!("payload {payload}: {why}");
                        (PayloadState::Failed, Some(why))
                    }),
                },
                None => Err((
                    PayloadState::Killed,
                    Some("cancelled before it started".to_string()),
                )),
            };
            match outcome {
                Ok(id) => (id, permit),
                Err((state, why)) => return finish(&mut r, state, None, why, None).await,
            }
        }
    };
    let (state, code, why, job) = follow(&r, id).await;
    r.slurm.poller.forget(id);
    finish(&mut r, state, code, why, job).await;
}

/// Submits the payload, its record written before (so a crash in between is cleaned up) and
/// after (with the id).
async fn submit(r: &mut SlurmRun) -> Result<u64, String> {
    let keep = |e: io::Error| format!("cannot write the payload's record: {e}");
    record::save(&r.spec.dir, &r.record).await.map_err(keep)?;
    let id = submit::sbatch(&r.spec, &r.record.name, &r.slurm.opts).await?;
    let enforced = enforced(&r.spec);
    r.report.note(|i| i.enforced = Some(enforced));
    r.record.slurm_id = Some(id);
    if let Err(e) = record::save(&r.spec.dir, &r.record).await {
        // The job runs all the same; only a restart would not find it.
        tracing::error!("payload {}: {}", r.record.id, keep(e));
    }
    tracing::info!("payload {} is Slurm job {id}", r.record.id);
    Ok(id)
}

/// What a Slurm job is held to, as far as this node knows: slurmctld always ends a job at its
/// `--time`; whether `--mem` and `--cpus-per-task` bind depends on the cluster's task and
/// accounting plugins, which the node cannot see, so they are not claimed. The job runs on
/// whatever network its compute node has: `network = "none"` is not applied.
fn enforced(spec: &crate::executor::RunSpec) -> crate::api::Enforced {
    crate::api::Enforced {
        timeout: spec.timeout.is_some(),
        network: (spec.network == crate::api::Network::Off)
            .then_some(crate::api::NetworkIsolation::NotApplied),
        ..Default::default()
    }
}

/// Follows Slurm job `id` until it is over; `scancel` on a cancel or a fence.
async fn follow(
    r: &SlurmRun,
    id: u64,
) -> (PayloadState, Option<i32>, Option<String>, Option<SlurmJob>) {
    let mut seen = r.slurm.poller.watch(id);
    r.report.slurm(SlurmJob {
        id,
        state: "SUBMITTED".into(),
        reason: None,
    });
    let mut cancelled_at = None;
    let mut running = false;
    let mut last_job = None;
    loop {
        let give_up = async {
            match cancelled_at {
                Some(at) => tokio::time::sleep_until(at + CANCEL_WAIT).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = r.cancel.cancelled(), if cancelled_at.is_none() => {
                cancelled_at = Some(tokio::time::Instant::now());
                match submit::scancel(id).await {
                    Ok(()) => tracing::info!("payload {}: scancel {id}", r.record.id),
                    Err(e) => tracing::error!("payload {}: {e}", r.record.id),
                }
                r.slurm.poller.hurry(id);
            }
            changed = seen.changed() => {
                if changed.is_err() {
                    return (PayloadState::Failed, None, Some("stopped watching Slurm".into()), last_job);
                }
                let Some(now) = seen.borrow_and_update().clone() else { continue };
                let job = now.job(id);
                r.report.slurm(job.clone());
                last_job = Some(job);
                match state::map(id, &now, r.spec.timeout) {
                    Mapped::Waiting => {}
                    Mapped::Running => {
                        if !running {
                            running = true;
                            r.report.set(PayloadState::Running, None, None);
                            tracing::info!("payload {} running (Slurm job {id})", r.record.id);
                        }
                    }
                    Mapped::Done(state, code, why) => return (state, code, why, last_job),
                }
            }
            _ = give_up => {
                let why = format!("cancelled; Slurm did not confirm the end of job {id} in time");
                return (PayloadState::Killed, None, Some(why), last_job);
            }
        }
    }
}

/// Reports the end (fenced if it was), after the output check and the removal of `tmp/`,
/// and keeps it in the record.
async fn finish(
    r: &mut SlurmRun,
    mut state: PayloadState,
    mut code: Option<i32>,
    mut why: Option<String>,
    slurm: Option<SlurmJob>,
) {
    if let Some(n) = code
        && matches!(state, PayloadState::Completed | PayloadState::Failed)
        && let Some(over) = output::check(&r.spec.dir, r.spec.max_output).await
    {
        state = PayloadState::Failed;
        code = Some(n);
        why = Some(over);
    }
    if let Some((fence, _)) = &r.fence
        && fence.is_fenced()
    {
        state = PayloadState::Fenced;
        code = None;
        why = Some(fence.why());
    }
    submit::take_back_logs(&r.spec);
    if let Err(e) = tokio::fs::remove_dir_all(r.spec.dir.scratch()).await
        && e.kind() != io::ErrorKind::NotFound
    {
        tracing::warn!("payload {}: cannot remove its tmp dir: {e}", r.record.id);
    }
    if r.record.slurm_id.is_some() {
        r.record.ended = Some(Ended {
            state,
            exit_code: code,
            reason: why.clone(),
            slurm,
        });
        if let Err(e) = record::save(&r.spec.dir, &r.record).await {
            tracing::warn!("payload {}: cannot record its end: {e}", r.record.id);
        }
    }
    tracing::info!(
        "payload {} {state:?}{}",
        r.record.id,
        why.as_deref().map(|w| format!(": {w}")).unwrap_or_default()
    );
    r.report.set(state, code, why);
}
