//! The audit log: who used a token, changed nodes or tokens, or acted on another user's job.
//!
//! One JSON object a line in `<data>/audit.log` (mode 0600: it names users and addresses), and
//! the same event in the daemon's log under the `audit` target. Requests only queue a line;
//! one background task appends them, so auditing never makes a request wait on the disk.

use serde::Serialize;
use std::path::PathBuf;
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

/// Who acted, as the audit log names them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "via", rename_all = "snake_case")]
pub enum Actor {
    /// A caller on the Unix socket, by the uid the kernel gave.
    Socket { uid: u32, user: String },
    /// A caller with an API token.
    Token {
        token: i64,
        user: String,
        peer: String,
    },
    /// A TCP caller whose token was missing or refused.
    Unauthenticated { peer: String },
    /// Anyone on the `seed_listen` listener.
    SeedListen { peer: String },
}

/// What happened; `target` names the job, node or token acted on.
#[derive(Debug, Serialize)]
pub struct Event<'a> {
    pub action: &'a str,
    #[serde(flatten)]
    pub actor: &'a Actor,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Whom the target belongs to, for actions on another user's job.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<&'a str>,
}

#[derive(Serialize)]
struct Line<'a> {
    at_ms: i64,
    #[serde(flatten)]
    event: &'a Event<'a>,
}

/// Where audit events go: a handle the request handlers share.
#[derive(Clone)]
pub struct Audit {
    lines: mpsc::UnboundedSender<String>,
}

impl Audit {
    /// Starts the task appending to `path` (created 0600 if missing).
    pub fn start(path: PathBuf) -> Audit {
        let (lines, rx) = mpsc::unbounded_channel();
        tokio::spawn(append(path, rx));
        Audit { lines }
    }

    /// Logs `event` now and queues its line for the file.
    pub fn record(&self, event: Event<'_>) {
        let line = Line {
            at_ms: crate::store::now_ms(),
            event: &event,
        };
        match serde_json::to_string(&line) {
            Ok(text) => {
                // Every token request is one: the daemon's log has them at debug only.
                if event.action == "token_used" {
                    tracing::debug!(target: "audit", "{text}");
                } else {
                    tracing::info!(target: "audit", "{text}");
                }
                // Closed only once the runtime shuts down; the daemon's log has the event.
                let _ = self.lines.send(text);
            }
            Err(e) => tracing::error!("cannot encode an audit event: {e}"),
        }
    }
}

/// Appends queued lines, flushing whenever the queue runs dry.
async fn append(path: PathBuf, mut rx: mpsc::UnboundedReceiver<String>) {
    let file = tokio::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(&path)
        .await;
    let mut out = match file {
        Ok(f) => tokio::io::BufWriter::new(f),
        Err(e) => {
            tracing::error!(
                "cannot open the audit log {}: {e}; audit events go to the daemon's log only",
                path.display()
            );
            while rx.recv().await.is_some() {}
            return;
        }
    };
    while let Some(line) = rx.recv().await {
        let mut failed = write_line(&mut out, &line).await.is_err();
        while let Ok(more) = rx.try_recv() {
            failed |= write_line(&mut out, &more).await.is_err();
        }
        if failed || out.flush().await.is_err() {
            tracing::error!("cannot write the audit log {}", path.display());
        }
    }
}

async fn write_line(
    out: &mut tokio::io::BufWriter<tokio::fs::File>,
    line: &str,
) -> std::io::Result<()> {
    out.write_all(line.as_bytes()).await?;
    out.write_all(b"\n").await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_flat_json() {
        let actor = Actor::Token {
            token: 3,
            user: "alice".into(),
            peer: "127.0.0.1:4000".into(),
        };
        let event = Event {
            action: "cancel",
            actor: &actor,
            target: Some("job 7".into()),
            owner: Some("bob"),
        };
        let v = serde_json::to_value(&event).expect("json");
        assert_eq!(
            v,
            serde_json::json!({"action": "cancel", "via": "token", "token": 3, "user": "alice",
                "peer": "127.0.0.1:4000", "target": "job 7", "owner": "bob"})
        );
    }
}
