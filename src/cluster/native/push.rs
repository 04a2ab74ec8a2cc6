//! Pushing a placed job to its native node: its input streamed as tar.gz to
//! `PUT /v1/payloads/{uuid}`, the uuid the scheduler named the attempt by.

use crate::cluster::node::Node;
use crate::cluster::remote::{RemoteError, retry};
use crate::jobenv::{RunEnv, Vars};
use crate::limits;
use crate::protocol::{PayloadInfo, PushQuery};
use crate::store::Record;

/// Sends job `rec`'s input, trying again while the node may be only briefly unwell. The same
/// uuid on every try: a node that got an earlier one answers without running it twice.
pub async fn send(node: &Node, rec: &Record) -> Result<PayloadInfo, RemoteError> {
    let core = &node.core;
    let job = &rec.job;
    let payload = rec.payload.clone().unwrap_or_default();
    let config = core.config();
    let service = config.service(&job.service);
    let timeout = limits::run_timeout(&job.requested_limits, service).map(|t| t.as_secs().max(1));
    // The node runs it as the local worker would: same variables, same validator.
    let env = RunEnv::of(service, &job.env);
    let vars: Vars = env.vars.into_iter().collect();
    let validator = service.map(|s| s.validator_settings()).unwrap_or_default();
    let query = PushQuery {
        job: job.id,
        attempt: job.attempts,
        timeout,
        kill_grace_ms: u64::try_from(core.config().server.kill_grace.as_millis()).ok(),
        service: Some(job.service.clone()),
        user: Some(job.user.clone()),
        path: Some(env.path),
        env: serde_json::to_string(&vars).ok(),
        max_output: job.requested_limits.output_bytes,
        memory: job.requested_limits.memory_bytes,
        cpus: job.requested_limits.cpus,
        pids: job.requested_limits.pids,
        network: service
            .map(|s| s.network)
            .filter(|n| *n != crate::api::Network::Host),
        validator: serde_json::to_string(&validator).ok(),
        run_as: Some(
            job.run_as
                .clone()
                .unwrap_or_else(|| core.config().run_as(&job.service).to_string()),
        ),
    };
    let input = core.data.job(job.id).input();
    let bytes = job.input_bytes;
    retry(3, || {
        node.client.push(&payload, &query, input.clone(), bytes)
    })
    .await
}
