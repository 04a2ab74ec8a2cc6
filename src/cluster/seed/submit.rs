//! Handing a placed job to a seed node: `POST /submit` of its input files as multipart, and
//! the payload id the node answers with, which replaces the server-made one in the job row
//! (a seed node names payloads itself; a restarted server re-attaches by that row).

use crate::archive;
use crate::cluster::node::Node;
use crate::cluster::remote::retry;
use crate::job::JobState;
use crate::store::{self, Record, StoreError};
use hyper::StatusCode;
use std::sync::Arc;

/// How a submit went, for the node's task to act on.
pub enum Submitted {
    /// The node took it under this id.
    Accepted(String),
    /// Its files can never go to this node (or any other): the job fails, saying why.
    Refused(String),
    /// It did not reach the node for a reason of this side: back to the queue.
    NotSent(String),
    /// The node did not take it: back to the queue, and the node is skipped for now.
    Unreachable(String),
}

/// Sends job `rec`'s input files to the node.
pub async fn submit(node: &Node, rec: &Record) -> Submitted {
    let input = node.core.data.job(rec.job.id).input();
    let names = {
        let input = input.clone();
        tokio::task::spawn_blocking(move || archive::multipart_names(&input)).await
    };
    let names = match names {
        Ok(Ok(names)) => Arc::new(names),
        Ok(Err(e)) => {
            let why = format!("its input cannot go to seed node {}: {e}", node.name);
            return Submitted::Refused(why);
        }
        Err(e) => return Submitted::NotSent(format!("cannot list its input: {e}")),
    };
    let bytes = rec.job.input_bytes;
    let res = retry(3, || {
        node.client.seed_submit(input.clone(), names.clone(), bytes)
    })
    .await;
    match res {
        Ok(payload) => Submitted::Accepted(payload),
        Err(e) => {
            let why = format!("node {} could not take it: {e}", node.name);
            tracing::warn!("job {}: {why}", rec.job.id);
            match e.status() {
                // The node read the files and refused them: no other node will differ.
                Some(StatusCode::BAD_REQUEST | StatusCode::PAYLOAD_TOO_LARGE) => {
                    Submitted::Refused(why)
                }
                _ => Submitted::Unreachable(why),
            }
        }
    }
}

/// Records the node's id `payload` for job `rec`'s attempt; the job as it is then, or `None`
/// when it was cancelled or requeued while on its way (the node's copy is then no one's).
pub async fn adopt(node: &Node, rec: &Record, payload: &str) -> Result<Option<Record>, StoreError> {
    let (id, old, new) = (rec.job.id, rec.payload.clone(), payload.to_string());
    node.core
        .store
        .call(move |c| {
            let tx = c.transaction()?;
            let now = store::get(&tx, id)?;
            if now.job.state != JobState::Dispatched || now.payload != old {
                return Ok(None);
            }
            store::set_payload(&tx, id, &new)?;
            tx.commit()?;
            Ok(Some(Record {
                payload: Some(new),
                ..now
            }))
        })
        .await
}
