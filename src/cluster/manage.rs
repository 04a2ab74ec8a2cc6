//! Adding, listing, draining and removing nodes (`jobo node …`, `[[nodes]]` in `jobod.toml`).

use super::{Cluster, requeue};
use crate::api::{self, NewNode, NodeProtocol, NodeState};
use crate::backend::Backend;
use crate::client::Endpoint;
use crate::core::Core;
use crate::placement::Placement;
use crate::store::{self, NodeRow, StoreError};
use anyhow::Context;
use std::collections::HashMap;

#[derive(Debug, thiserror::Error)]
pub enum ManageError {
    #[error("{0}")]
    Invalid(String),
    #[error("no node '{0}' (see `jobo node ls`)")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Cluster {
    /// Loads the nodes (after writing `jobod.toml`'s into the table) and starts their links.
    /// Jobs left on a node that no longer exists go back to the queue.
    pub async fn load(&self) -> anyhow::Result<()> {
        load(self).await
    }

    pub async fn add(&self, new: NewNode) -> Result<api::Node, ManageError> {
        add(self, new).await
    }

    /// Removes a node; with `force` even while jobs run there (they go back to the queue).
    pub async fn remove(&self, key: &str, force: bool) -> Result<api::Node, ManageError> {
        remove(self, key, force).await
    }

    pub async fn set_draining(&self, key: &str, draining: bool) -> Result<api::Node, ManageError> {
        set_draining(self, key, draining).await
    }

    /// Every node, the embedded worker first (id 0) when it has `local_slots`.
    pub async fn list(&self, local_slots: Option<usize>) -> Result<Vec<api::Node>, ManageError> {
        list(self, local_slots).await
    }
}

async fn load(cluster: &Cluster) -> anyhow::Result<()> {
    let core = &cluster.core;
    let mut declared = Vec::new();
    for n in &core.config().nodes {
        let token = match &n.token_file {
            Some(f) => {
                crate::perms::warn_if_readable(f, "the node token file");
                Some(crate::token::read(f)?)
            }
            None => None,
        };
        let new = NewNode {
            url: n.url.clone(),
            name: n.name.clone(),
            services: n.services.clone(),
            slots: n.slots,
            token,
            protocol: n.protocol,
        };
        let row = validate(core, new).with_context(|| format!("jobod.toml: node {}", n.url))?;
        declared.push(NodeRow {
            from_config: true,
            ..row
        });
    }
    let rows = core
        .store
        .call(move |c| {
            let tx = c.transaction()?;
            let old = store::list_nodes(&tx)?;
            for row in &declared {
                match old.iter().find(|o| o.name == row.name || o.url == row.url) {
                    Some(o) => store::update_node(
                        &tx,
                        &NodeRow {
                            id: o.id,
                            ..row.clone()
                        },
                    )?,
                    None => drop(store::insert_node(&tx, row)?),
                }
            }
            for o in old.iter().filter(|o| o.from_config) {
                if !declared.iter().any(|d| d.name == o.name || d.url == o.url) {
                    store::delete_node(&tx, o.id)?;
                }
            }
            let rows = store::list_nodes(&tx)?;
            tx.commit()?;
            Ok(rows)
        })
        .await?;
    for row in rows {
        cluster.register(row);
    }
    let gone: std::collections::BTreeSet<String> = core
        .store
        .call(|c| store::active(c))
        .await?
        .into_iter()
        .filter_map(|rec| match rec.job.node {
            Some(Placement::Node(name)) => Some(name),
            _ => None,
        })
        .filter(|n| cluster.get(n).is_none())
        .collect();
    for node in gone {
        let why = format!("node {node} was removed");
        requeue::requeue_node_jobs(core, &node, &why).await?;
    }
    Ok(())
}

fn valid_name(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 100
        && n.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | ':'))
}

/// Checks a new node's settings and turns them into a row (without id).
fn validate(core: &Core, new: NewNode) -> Result<NodeRow, ManageError> {
    let endpoint = match Endpoint::parse(&new.url) {
        Ok(e @ (Endpoint::Tcp(_) | Endpoint::Https(_))) => e,
        _ => {
            return Err(ManageError::Invalid(format!(
                "invalid node URL '{}': use http://host:port or https://host:port",
                new.url
            )));
        }
    };
    let authority = endpoint.authority().unwrap_or_default().to_string();
    let name = new.name.unwrap_or_else(|| authority.clone());
    if !valid_name(&name) || name == Placement::LOCAL || name.parse::<i64>().is_ok() {
        return Err(ManageError::Invalid(format!(
            "invalid node name '{name}': use letters, digits, '.', '_', ':' or '-', not only digits, not 'local'"
        )));
    }
    if new.services.is_empty() {
        return Err(ManageError::Invalid(
            "a node needs at least one service (--service S[,S…])".into(),
        ));
    }
    if let Some(s) = new
        .services
        .iter()
        .find(|s| core.config().service(s).is_none())
    {
        return Err(ManageError::Invalid(format!(
            "unknown service '{s}' (see `jobo service ls`)"
        )));
    }
    if !(1..=4096).contains(&new.slots) {
        return Err(ManageError::Invalid(
            "slots must be between 1 and 4096".into(),
        ));
    }
    let token = new.token.map(|t| t.trim().to_string());
    if token
        .as_deref()
        .is_some_and(|t| t.is_empty() || t.contains(['\r', '\n']))
    {
        return Err(ManageError::Invalid(
            "the node token is empty or not one line".into(),
        ));
    }
    if new.protocol == NodeProtocol::Native && token.is_none() {
        return Err(ManageError::Invalid(
            "a jobod worker node needs its token (--token-file F)".into(),
        ));
    }
    let mut services = new.services;
    services.sort();
    services.dedup();
    Ok(NodeRow {
        id: 0,
        name,
        url: endpoint.to_string(),
        services,
        slots: new.slots,
        token,
        protocol: new.protocol,
        draining: false,
        from_config: false,
    })
}

async fn add(cluster: &Cluster, new: NewNode) -> Result<api::Node, ManageError> {
    let core = &cluster.core;
    let row = validate(core, new)?;
    let inserted = core
        .store
        .call(move |c| match store::insert_node(c, &row) {
            Err(StoreError::Sqlite(e))
                if e.sqlite_error_code() == Some(rusqlite::ErrorCode::ConstraintViolation) =>
            {
                Ok(Err(ManageError::Conflict(format!(
                    "a node named '{}' or at {} exists already",
                    row.name, row.url
                ))))
            }
            other => other.map(Ok),
        })
        .await??;
    tracing::info!("node {} added ({})", inserted.name, inserted.url);
    let name = inserted.name.clone();
    cluster.register(inserted);
    view(cluster, &name).await
}

async fn find(core: &Core, key: &str) -> Result<NodeRow, ManageError> {
    let k = key.to_string();
    core.store
        .call(move |c| store::find_node(c, &k))
        .await?
        .ok_or_else(|| ManageError::NotFound(key.to_string()))
}

async fn remove(cluster: &Cluster, key: &str, force: bool) -> Result<api::Node, ManageError> {
    let core = &cluster.core;
    let row = find(core, key).await?;
    if row.from_config {
        return Err(ManageError::Conflict(format!(
            "node {} is declared in jobod.toml: remove it there and restart jobod",
            row.name
        )));
    }
    let gone = view(cluster, &row.name).await?;
    let place = Placement::Node(row.name.clone());
    let active = core
        .store
        .call(move |c| store::active_on(c, &place))
        .await?;
    if !active.is_empty() && !force {
        return Err(ManageError::Conflict(format!(
            "node {0} has {1} jobs; drain it and let them finish (`jobo node drain {0}`), \
             or `jobo node rm --force {0}` to run them elsewhere",
            row.name,
            active.len()
        )));
    }
    let id = row.id;
    core.store.call(move |c| store::delete_node(c, id)).await?;
    // Its runs are nobody's now: ask it to drop them, then forget the node.
    if let Some(node) = cluster.unregister(&row.name) {
        for rec in &active {
            node.discard(rec);
        }
    }
    let why = format!("node {} was removed", row.name);
    requeue::requeue_node_jobs(core, &row.name, &why).await?;
    core.events.wake_scheduler();
    tracing::info!("node {} removed", row.name);
    Ok(gone)
}

async fn set_draining(
    cluster: &Cluster,
    key: &str,
    draining: bool,
) -> Result<api::Node, ManageError> {
    let core = &cluster.core;
    if key == Placement::LOCAL || key == "0" {
        return Err(ManageError::Invalid(
            "the embedded worker cannot be drained; start jobod with --no-local-worker".into(),
        ));
    }
    let row = find(core, key).await?;
    let id = row.id;
    core.store
        .call(move |c| store::set_draining(c, id, draining))
        .await?;
    if let Some(node) = cluster.get(&row.name) {
        node.set_draining(draining);
    }
    core.events.wake_scheduler();
    view(cluster, &row.name).await
}

async fn view(cluster: &Cluster, name: &str) -> Result<api::Node, ManageError> {
    list(cluster, None)
        .await?
        .into_iter()
        .find(|n| n.name == name)
        .ok_or_else(|| ManageError::NotFound(name.to_string()))
}

async fn list(
    cluster: &Cluster,
    local_slots: Option<usize>,
) -> Result<Vec<api::Node>, ManageError> {
    let (rows, used, done) = cluster
        .core
        .store
        .call(|c| {
            let mut used: HashMap<Placement, usize> = HashMap::new();
            for a in store::active_counts(c)? {
                if let Some(node) = a.node {
                    *used.entry(node).or_default() += a.count as usize;
                }
            }
            let done: HashMap<Placement, u64> = store::done_per_node(c)?.into_iter().collect();
            Ok((store::list_nodes(c)?, used, done))
        })
        .await?;
    let mut nodes = Vec::new();
    if let Some(slots) = local_slots {
        let in_use = used.get(&Placement::Local).copied().unwrap_or(0);
        nodes.push(api::Node {
            id: 0,
            name: Placement::LOCAL.into(),
            url: Placement::LOCAL.into(),
            services: Vec::new(),
            slots,
            used: in_use,
            free_slots: slots.saturating_sub(in_use),
            load: None,
            host: None,
            state: NodeState::Healthy,
            draining: false,
            protocol: NodeProtocol::Native,
            backend: Default::default(),
            last_heartbeat: None,
            jobs_done: done.get(&Placement::Local).copied().unwrap_or(0),
            from_config: true,
        });
    }
    for row in rows {
        let place = Placement::Node(row.name.clone());
        let live = cluster.get(&row.name).map(|n| (n.state(), n.live()));
        let (state, load, host, seen, backend) = match live {
            Some((state, live)) => (state, live.load, live.host, live.seen_ms, live.backend),
            None => (NodeState::Unreachable, None, None, None, None),
        };
        let in_use = used.get(&place).copied().unwrap_or(0);
        nodes.push(api::Node {
            id: row.id,
            used: in_use,
            free_slots: row.slots.saturating_sub(in_use),
            host,
            jobs_done: done.get(&place).copied().unwrap_or(0),
            name: row.name,
            url: row.url,
            services: row.services,
            slots: row.slots,
            load,
            state,
            draining: row.draining,
            protocol: row.protocol,
            backend: backend.unwrap_or_default(),
            last_heartbeat: seen,
            from_config: row.from_config,
        });
    }
    Ok(nodes)
}
