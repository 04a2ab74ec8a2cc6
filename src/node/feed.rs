//! `GET /v1/feed`: how the server learns what happens on a node without polling it. One
//! [`FeedEvent`] per line: a hello with every payload, then each state change as it happens
//! (from the payload table's broadcast) and a beat every `beat_ms`, whose absence tells the
//! server the node is gone.
//!
//! Each hello and beat carries `sent_ms`, the node's clock as it writes the line: the server
//! echoes it in `POST /v1/lease`, which is how the node knows its server still reads (fencing,
//! `lease.rs`).
//!
//! The broadcast is subscribed to before the hello is taken, so no change falls between them
//! (one may come twice; the server applies changes idempotently). A feed that falls behind the
//! broadcast is ended rather than patched up: the server reconnects and gets a fresh hello.

use super::lease;
use super::routes::Node;
use crate::bridge::receiver_stream;
use crate::http::Body;
use crate::http::respond::stream;
use crate::protocol::{FEED_CONTENT_TYPE, FeedEvent};
use bytes::Bytes;
use hyper::Response;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior};

type Lines = mpsc::Sender<std::io::Result<Bytes>>;

pub fn response(node: Arc<Node>, beat: Duration) -> Response<Body> {
    let changes = node.payloads.subscribe();
    // Only the server's payloads: the seed's `/submit` ones are not its business, and a node
    // keeps those until it restarts, which would make this line grow without end.
    let mut payloads = node.payloads.list();
    payloads.retain(|p| p.job.is_some());
    let hello = FeedEvent::Hello {
        slots: node.payloads.slots(),
        load: node.load.percent(),
        host: node.load.host(),
        payloads,
        backend: node.payloads.backend(),
        sent_ms: Some(lease::now_ms()),
    };
    // Each line goes out as a chunk of its own, as soon as it is sent here.
    let (tx, rx) = mpsc::channel(16);
    tokio::spawn(pump(node, hello, changes, beat, tx));
    stream(FEED_CONTENT_TYPE, receiver_stream(rx))
}

/// Sends the feed until the client leaves, the feed falls behind, or the node stops.
async fn pump(
    node: Arc<Node>,
    hello: FeedEvent,
    mut changes: tokio::sync::broadcast::Receiver<crate::protocol::PayloadInfo>,
    beat: Duration,
    tx: Lines,
) {
    if !send(&node, &tx, &hello).await {
        return;
    }
    let mut beats = tokio::time::interval_at(Instant::now() + beat, beat);
    beats.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        let event = tokio::select! {
            biased;
            _ = node.shutdown.cancelled() => return,
            _ = tx.closed() => return,
            change = changes.recv() => match change {
                Ok(payload) => FeedEvent::Change { payload },
                Err(RecvError::Lagged(n)) => {
                    tracing::warn!("a feed fell {n} changes behind; ending it (its reader reconnects)");
                    return;
                }
                Err(RecvError::Closed) => return,
            },
            _ = beats.tick() => FeedEvent::Beat {
                load: node.load.percent(),
                host: node.load.host(),
                running: node.payloads.running(),
                sent_ms: Some(lease::now_ms()),
            },
        };
        if !send(&node, &tx, &event).await {
            return;
        }
    }
}

/// One event as one line; false once nobody reads any more.
async fn send(node: &Node, tx: &Lines, event: &FeedEvent) -> bool {
    let mut line = match serde_json::to_vec(event) {
        Ok(line) => line,
        Err(e) => {
            tracing::error!("cannot encode a feed event: {e}");
            return false;
        }
    };
    line.push(b'\n');
    tokio::select! {
        sent = tx.send(Ok(Bytes::from(line))) => sent.is_ok(),
        _ = node.shutdown.cancelled() => false,
    }
}
