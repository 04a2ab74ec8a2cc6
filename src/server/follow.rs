//! Streaming a job's log: replay from an offset, then (with follow) wait for appends and
//! end the stream when the job is final. Waiting is on events, never on a timer.

use crate::events::next_change;
use crate::http::Body;
use crate::http::respond::stream;
use crate::job::{JobId, JobState};
use crate::paths::LogStream;
use crate::queue;
use crate::state::Ctx;
use crate::store;
use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::Response;
use std::io::SeekFrom;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio::sync::mpsc;

pub fn log_response(
    ctx: Ctx,
    id: JobId,
    which: LogStream,
    offset: u64,
    follow: bool,
) -> Response<Body> {
    let (tx, rx) = mpsc::channel::<std::io::Result<Bytes>>(8);
    tokio::spawn(async move {
        if let Err(e) = pump(&ctx, id, which, offset, follow, &tx).await {
            let _ = tx.send(Err(e)).await;
        }
    });
    stream(
        "text/plain; charset=utf-8",
        crate::bridge::receiver_stream(rx),
    )
}

/// The node's live log of job `id`, if it runs on a remote node that can stream it.
async fn remote_log(
    ctx: &Ctx,
    id: JobId,
    which: LogStream,
    offset: u64,
) -> Option<hyper::body::Incoming> {
    let rec = ctx.core.store.call(move |c| store::get(c, id)).await.ok()?;
    ctx.backends.follow_log(&rec, which, offset).await
}

/// Sends everything from `offset` on; returns when the log is complete or the reader left.
async fn pump(
    ctx: &Ctx,
    id: JobId,
    which: LogStream,
    mut offset: u64,
    follow: bool,
    tx: &mpsc::Sender<std::io::Result<Bytes>>,
) -> std::io::Result<()> {
    let path = ctx.core.data.job(id).log(which);
    let mut changes = ctx.core.events.subscribe();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        // Subscribe and read the state *before* reading the file: whatever is appended after
        // the read wakes us, and a job already final has its whole log in the file.
        let live = ctx.core.logs.subscribe(id);
        let state = queue::get(ctx, id)
            .await
            .map_or(JobState::Expired, |j| j.state);
        match tokio::fs::File::open(&path).await {
            Ok(mut file) => {
                file.seek(SeekFrom::Start(offset)).await?;
                loop {
                    let n = file.read(&mut buf).await?;
                    if n == 0 {
                        break;
                    }
                    offset += n as u64;
                    if tx
                        .send(Ok(Bytes::copy_from_slice(&buf[..n])))
                        .await
                        .is_err()
                    {
                        return Ok(());
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        if !follow || state.is_terminal() {
            return Ok(());
        }
        // A run on a remote node: relay its node's log, then wait for the job to move on
        // (its collected log has the same bytes, so the offset carries over).
        if let Some(mut body) = remote_log(ctx, id, which, offset).await {
            // A change of the job (it ended, or its node was lost and it moved) ends the relay
            // too: a frozen node would otherwise hold the follower forever.
            let changed = loop {
                let frame = tokio::select! {
                    f = body.frame() => f,
                    _ = next_change(&mut changes, id) => break true,
                    _ = tx.closed() => return Ok(()),
                };
                let Some(Ok(frame)) = frame else { break false };
                if let Ok(data) = frame.into_data() {
                    offset += data.len() as u64;
                    if tx.send(Ok(data)).await.is_err() {
                        return Ok(());
                    }
                }
            };
            if !changed {
                tokio::select! {
                    _ = next_change(&mut changes, id) => {}
                    _ = tx.closed() => return Ok(()),
                }
            }
            continue;
        }
        match live {
            Some(mut rx) => {
                tokio::select! {
                    _ = rx.changed() => {}
                    _ = tx.closed() => return Ok(()),
                }
            }
            None => {
                tokio::select! {
                    _ = next_change(&mut changes, id) => {}
                    _ = tx.closed() => return Ok(()),
                }
            }
        }
    }
}
