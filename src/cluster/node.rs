//! One remote node as its task and the task's sub-tasks see it: who it is, where its jobs
//! are placed, how to reach it, and the core. Shared read-only (`Arc<Node>`); everything that
//! changes belongs to the task.

use super::node_client::NodeClient;
use crate::core::Core;
use crate::placement::Placement;
use crate::store::{NodeRow, Record};
use std::sync::Arc;

pub struct Node {
    pub core: Arc<Core>,
    pub name: String,
    /// `Placement::Node(name)`: what the store says of jobs placed here.
    pub place: Placement,
    pub client: NodeClient,
}

impl Node {
    pub fn new(core: Arc<Core>, row: &NodeRow) -> Node {
        let client = NodeClient::new(row, core.config().cluster.request_timeout, &core.node_tls);
        Node {
            core,
            name: row.name.clone(),
            place: Placement::Node(row.name.clone()),
            client,
        }
    }

    /// The jobs the store has active (dispatched or running) on this node.
    pub async fn active_jobs(&self) -> Result<Vec<Record>, crate::store::StoreError> {
        let place = self.place.clone();
        self.core
            .store
            .call(move |c| crate::store::active_on(c, &place))
            .await
    }

    /// Whether the stored job `rec` is an active job of this node.
    pub fn holds(&self, rec: &Record) -> bool {
        rec.job.state.is_active() && rec.job.node.as_ref() == Some(&self.place)
    }
}
