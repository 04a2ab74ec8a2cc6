//! Handing a placed job to a native node: stream its input as the payload the scheduler
//! named. A node that cannot take it does not fail the job: it goes back to the queue, with
//! the attempt not counted, and the node is skipped until it shows life again.

use super::{RemoteNode, attempt, link};
use crate::core::Core;
use crate::job::JobState;
use crate::protocol::PushQuery;
use crate::store::{self, Record};
use hyper::StatusCode;
use std::sync::Arc;

pub fn push(core: Arc<Core>, node: Arc<RemoteNode>, rec: Record) {
    let id = rec.job.id;
    lock(&node.pushing).insert(id);
    tokio::spawn(async move {
        let res = send(&core, &node, &rec).await;
        lock(&node.pushing).remove(&id);
        match res {
            Ok(info) => {
                node.alive(None);
                link::on_payload(&core, &node, info).await;
            }
            Err(e) => {
                let why = format!("node {} could not take it: {e}", node.row.name);
                tracing::warn!("job {id}: {why}");
                match e.status() {
                    // The node read the payload and refused it: no other node will differ.
                    Some(StatusCode::BAD_REQUEST | StatusCode::PAYLOAD_TOO_LARGE) => {
                        fail(&core, &rec, why).await
                    }
                    _ => {
                        node.mark_unreachable();
                        attempt::undo(&core, &rec, &why).await;
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
    core: &Arc<Core>,
    node: &RemoteNode,
    rec: &Record,
) -> Result<crate::protocol::PayloadInfo, super::remote::RemoteError> {
    let job = &rec.job;
    let payload = rec.payload.clone().unwrap_or_default();
    let timeout = job.timeout_secs.or_else(|| {
        core.config
            .service(&job.service)
            .and_then(|s| s.timeout)
            .map(|t| t.as_secs().max(1))
    });
    let query = PushQuery {
        job: job.id,
        attempt: job.attempts,
        timeout,
        kill_grace_ms: u64::try_from(core.config.server.kill_grace.as_millis()).ok(),
    };
    let input = core.data.job(job.id).input();
    // The same uuid on every try: a node that got an earlier one answers without running twice.
    let bytes = job.input_bytes;
    super::remote::retry(3, || {
        node.client.push(&payload, &query, input.clone(), bytes)
    })
    .await
}

pub(super) async fn fail(core: &Arc<Core>, rec: &Record, why: String) {
    attempt::if_current(core, rec, true, move |tx, now| {
        store::transition(tx, now.job.id, JobState::Failed, |r| {
            r.job.reason = Some(why)
        })
    })
    .await
}
