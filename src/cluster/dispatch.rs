//! Handing a placed job to a native node: stream its input as the payload the scheduler
//! named. A node that cannot take it does not fail the job: it goes back to the queue, with
//! the attempt not counted, and the node is skipped until it shows life again.

use super::{RemoteNode, link};
use crate::job::JobState;
use crate::state::Ctx;
use crate::store::{self, Record};
use hyper::StatusCode;
use std::sync::Arc;

pub fn push(ctx: Ctx, node: Arc<RemoteNode>, rec: Record) {
    let id = rec.job.id;
    lock(&node.pushing).insert(id);
    tokio::spawn(async move {
        let res = send(&ctx, &node, &rec).await;
        lock(&node.pushing).remove(&id);
        match res {
            Ok(info) => {
                node.alive(None);
                link::on_payload(&ctx, &node, info).await;
            }
            Err(e) => {
                let why = format!("node {} could not take it: {e}", node.row.name);
                tracing::warn!("job {id}: {why}");
                match e.status() {
                    // The node read the payload and refused it: no other node will differ.
                    Some(StatusCode::BAD_REQUEST | StatusCode::PAYLOAD_TOO_LARGE) => {
                        fail(&ctx, &rec, why).await
                    }
                    _ => {
                        node.mark_unreachable();
                        undo(&ctx, &rec, &why).await;
                    }
                }
            }
        }
    });
}

pub(super) fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

async fn send(
    ctx: &Ctx,
    node: &RemoteNode,
    rec: &Record,
) -> Result<crate::protocol::PayloadInfo, super::remote::RemoteError> {
    let job = &rec.job;
    let payload = rec.payload.clone().unwrap_or_default();
    let timeout = job.timeout_secs.or_else(|| {
        ctx.config
            .service(&job.service)
            .and_then(|s| s.timeout)
            .map(|t| t.as_secs().max(1))
    });
    let mut query = format!(
        "job={}&attempt={}&kill_grace_ms={}",
        job.id,
        job.attempts,
        ctx.config.server.kill_grace.as_millis()
    );
    if let Some(t) = timeout {
        query.push_str(&format!("&timeout={t}"));
    }
    let input = ctx.data.job(job.id).input();
    // The same uuid on every try: a node that got an earlier one answers without running twice.
    super::remote::retry(3, || node.client.push(&payload, &query, input.clone())).await
}

/// Puts a dispatched job back in the queue without counting the attempt, if it is still
/// waiting for this payload.
pub async fn undo(ctx: &Ctx, rec: &Record, why: &str) {
    let why = format!("requeued: {why}");
    settle(ctx, rec, JobState::Queued, move |r| {
        r.job.attempts = r.job.attempts.saturating_sub(1);
        r.job.reason = Some(why);
    })
    .await
}

async fn fail(ctx: &Ctx, rec: &Record, why: String) {
    settle(ctx, rec, JobState::Failed, move |r| r.job.reason = Some(why)).await
}

/// Moves job `rec` on from `dispatched`, unless something else (its run, a cancel, a
/// requeue) already moved it or gave it another payload.
async fn settle(
    ctx: &Ctx,
    rec: &Record,
    to: JobState,
    patch: impl FnOnce(&mut Record) + Send + 'static,
) {
    let (id, payload) = (rec.job.id, rec.payload.clone());
    let res = ctx
        .store
        .call(move |c| {
            let tx = c.transaction()?;
            let now = store::get(&tx, id)?;
            if now.job.state != JobState::Dispatched || now.payload != payload {
                return Ok(None);
            }
            let rec = store::transition(&tx, id, to, patch)?;
            tx.commit()?;
            Ok(Some(rec))
        })
        .await;
    match res {
        Ok(Some(rec)) => ctx.events.job_changed(id, rec.job.state),
        Ok(None) => {}
        Err(e) => tracing::error!("job {id}: cannot record {to}: {e}"),
    }
}
