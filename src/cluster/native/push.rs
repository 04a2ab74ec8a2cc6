//! Pushing a placed job to its native node: its input streamed as tar.gz to
//! `PUT /v1/payloads/{uuid}`, the uuid the scheduler named the attempt by.

use crate::cluster::node::Node;
use crate::cluster::remote::{RemoteError, retry};
use crate::protocol::{PayloadInfo, PushQuery};
use crate::store::Record;

/// Sends job `rec`'s input, trying again while the node may be only briefly unwell. The same
/// uuid on every try: a node that got an earlier one answers without running it twice.
pub async fn send(node: &Node, rec: &Record) -> Result<PayloadInfo, RemoteError> {
    let core = &node.core;
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
        run_as: Some(
            job.run_as
                .clone()
                .unwrap_or_else(|| core.config.run_as(&job.service).to_string()),
        ),
    };
    let input = core.data.job(job.id).input();
    let bytes = job.input_bytes;
    retry(3, || {
        node.client.push(&payload, &query, input.clone(), bytes)
    })
    .await
}
