//! Nodes that speak only the seed's client routes (`jobo node add URL --protocol seed`).

use super::RemoteNode;
use crate::state::Ctx;
use crate::store::Record;
use std::sync::Arc;

pub fn start(ctx: Ctx, node: Arc<RemoteNode>, rec: Record) {
    let _ = (ctx, node, rec);
}

pub async fn watch(ctx: Ctx, node: Arc<RemoteNode>) {
    let _ = (ctx, node);
}
