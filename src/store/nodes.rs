//! The `nodes` table: the worker nodes an operator added (or declared in `jobod.toml`).
//! Only what must survive a restart lives here; health and load are in memory (`cluster`).

use super::{StoreError, now_ms};
use crate::api::NodeProtocol;
use rusqlite::{Connection, OptionalExtension, Row, params};

/// One node row.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeRow {
    pub id: i64,
    pub name: String,
    pub url: String,
    pub services: Vec<String>,
    pub slots: usize,
    pub token: Option<String>,
    pub protocol: NodeProtocol,
    pub draining: bool,
    pub from_config: bool,
}

const COLUMNS: &str = "id, name, url, services, slots, token, protocol, draining, from_config";

fn from_row(r: &Row<'_>) -> rusqlite::Result<NodeRow> {
    let services: String = r.get(3)?;
    let protocol: String = r.get(6)?;
    Ok(NodeRow {
        id: r.get(0)?,
        name: r.get(1)?,
        url: r.get(2)?,
        services: services
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        slots: r.get(4)?,
        token: r.get(5)?,
        protocol: protocol.parse().map_err(|e: String| {
            rusqlite::Error::FromSqlConversionFailure(6, rusqlite::types::Type::Text, e.into())
        })?,
        draining: r.get(7)?,
        from_config: r.get(8)?,
    })
}

pub fn list_nodes(conn: &Connection) -> Result<Vec<NodeRow>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {COLUMNS} FROM nodes ORDER BY id"))?;
    let rows = stmt.query_map([], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// A node by id (all digits) or by name.
pub fn find_node(conn: &Connection, key: &str) -> Result<Option<NodeRow>, StoreError> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM nodes WHERE name = ?1 OR CAST(id AS TEXT) = ?1"
        ))?
        .query_row([key], from_row)
        .optional()?)
}

/// Inserts a node (its `id` is ignored) and returns it with its id.
pub fn insert_node(conn: &Connection, node: &NodeRow) -> Result<NodeRow, StoreError> {
    conn.prepare_cached(
        "INSERT INTO nodes (name, url, services, slots, token, protocol, draining, from_config, \
         added_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        node.name,
        node.url,
        node.services.join(","),
        node.slots,
        node.token,
        node.protocol.as_str(),
        node.draining,
        node.from_config,
        now_ms()
    ])?;
    Ok(NodeRow {
        id: conn.last_insert_rowid(),
        ..node.clone()
    })
}

/// Rewrites a node's settings (a changed `jobod.toml` entry), keeping its id and drain flag.
pub fn update_node(conn: &Connection, node: &NodeRow) -> Result<(), StoreError> {
    conn.prepare_cached(
        "UPDATE nodes SET name = ?2, url = ?3, services = ?4, slots = ?5, token = ?6, \
         protocol = ?7, from_config = ?8 WHERE id = ?1",
    )?
    .execute(params![
        node.id,
        node.name,
        node.url,
        node.services.join(","),
        node.slots,
        node.token,
        node.protocol.as_str(),
        node.from_config
    ])?;
    Ok(())
}

pub fn delete_node(conn: &Connection, id: i64) -> Result<(), StoreError> {
    conn.prepare_cached("DELETE FROM nodes WHERE id = ?1")?
        .execute([id])?;
    Ok(())
}

pub fn set_draining(conn: &Connection, id: i64, draining: bool) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE nodes SET draining = ?2 WHERE id = ?1")?
        .execute(params![id, draining])?;
    Ok(())
}
