//! Streaming a job's log: replay from an offset, then (with follow) wait for appends and
//! end the stream when the job is final. Waiting is on events, never on a timer.
//!
//! Asked for `since` or `timestamps`, it goes by lines dated by the log's time index
//! (src/logtime.rs): the local file's, or, relaying a node's live log, the times the node
//! puts before each line (asked for with `timestamps`, read back here).

use crate::api::LogQuery;
use crate::events::next_change;
use crate::http::Body;
use crate::http::respond::stream;
use crate::job::{JobId, JobState};
use crate::logtime::{self, Destamper, Stamper, TimeIndex};
use crate::paths::LogStream;
use crate::queue;
use crate::state::Ctx;
use crate::store;
use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::Response;
use std::io::SeekFrom;
use std::path::PathBuf;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio::sync::mpsc;

/// The log of job `id` as `q` asks; `untimed`: its lines have no times, so it goes as it is.
pub fn log_response(
    ctx: Ctx,
    id: JobId,
    which: LogStream,
    q: LogQuery,
    untimed: bool,
) -> Response<Body> {
    let (tx, rx) = mpsc::channel::<std::io::Result<Bytes>>(8);
    let log = ctx.core.data.job(id).log(which);
    let dates = (q.timed() && !untimed).then(|| Dates {
        stamper: Stamper::new(q.since.map(|t| t.0), q.timestamps),
        index: TimeIndex::default(),
        path: logtime::index_of(&log),
        relayed: Destamper::default(),
    });
    tokio::spawn(async move {
        let mut out = Out { tx: &tx, dates };
        if let Err(e) = pump(&ctx, id, which, q.offset, q.follow, &mut out).await {
            let _ = tx.send(Err(e)).await;
        }
    });
    stream(
        "text/plain; charset=utf-8",
        crate::bridge::receiver_stream(rx),
    )
}

/// The node's log of job `id` from `offset` (followed, with `follow`), if it runs on a remote
/// node that can stream it; its lines after their times when `out` needs them.
async fn remote_log(
    ctx: &Ctx,
    id: JobId,
    which: LogStream,
    offset: u64,
    follow: bool,
    out: &Out<'_>,
) -> Option<hyper::body::Incoming> {
    let rec = ctx.core.store.call(move |c| store::get(c, id)).await.ok()?;
    let query = LogQuery {
        follow,
        offset,
        since: None,
        timestamps: out.dates.is_some(),
    };
    ctx.backends.follow_log(&rec, which, query).await
}

/// How a relay of a node's log ended.
enum Relayed {
    /// The node's stream ended whole.
    Ended,
    /// The job changed (it ended, or its node was lost and it moved).
    Changed,
    /// The reader left.
    Left,
}

/// Relays a node's log to `out`, `offset` moving past what it sent.
async fn relay(
    body: &mut hyper::body::Incoming,
    out: &mut Out<'_>,
    offset: &mut u64,
    changes: &mut tokio::sync::broadcast::Receiver<crate::events::Change>,
    id: JobId,
) -> Relayed {
    let tx = out.tx;
    loop {
        // A change of the job ends the relay too: a frozen node would otherwise hold the
        // follower forever.
        let frame = tokio::select! {
            f = body.frame() => f,
            _ = next_change(changes, id) => {
                // Cut off, maybe mid-line: that line comes again from where the log is next.
                out.relay_ended(false, offset).await;
                return Relayed::Changed;
            }
            _ = tx.closed() => return Relayed::Left,
        };
        let frame = match frame {
            Some(Ok(frame)) => frame,
            end => {
                return match out.relay_ended(end.is_none(), offset).await {
                    true => Relayed::Ended,
                    false => Relayed::Left,
                };
            }
        };
        if let Ok(data) = frame.into_data()
            && !out.relayed(data, offset).await
        {
            return Relayed::Left;
        }
    }
}

/// How a timed log is made: the local index, and the node's times while relaying.
struct Dates {
    stamper: Stamper,
    index: TimeIndex,
    /// The local index file.
    path: PathBuf,
    relayed: Destamper,
}

/// Where the pump's bytes go: as they are, or (with [`Dates`]) by lines with their times.
struct Out<'a> {
    tx: &'a mpsc::Sender<std::io::Result<Bytes>>,
    dates: Option<Dates>,
}

impl Out<'_> {
    /// Sends the local log's `data`, its bytes from `at` on; `false`: the reader left.
    async fn local(&mut self, data: &[u8], at: u64) -> std::io::Result<bool> {
        let Some(d) = &mut self.dates else {
            return Ok(self.send(Bytes::copy_from_slice(data)).await);
        };
        // The index is written before the bytes: read after them, it has their records.
        if !d.index.covers(at + data.len() as u64) {
            let mut index = std::mem::take(&mut d.index);
            let path = d.path.clone();
            let (index, read) = tokio::task::spawn_blocking(move || {
                let read = index.refresh(&path);
                (index, read)
            })
            .await
            .map_err(std::io::Error::other)?;
            d.index = index;
            read?;
        }
        let lines = d.stamper.feed(data, at, &|o| d.index.time_at(o));
        Ok(self.send(lines.into()).await)
    }

    /// Sends what a node relayed, its log's bytes from `*offset` on (moved past them).
    async fn relayed(&mut self, data: Bytes, offset: &mut u64) -> bool {
        let Some(d) = &mut self.dates else {
            *offset += data.len() as u64;
            return self.send(data).await;
        };
        let mut lines = Vec::new();
        for (time, raw) in d.relayed.feed(&data) {
            lines.extend(d.stamper.feed(&raw, *offset, &|_| time));
            *offset += raw.len() as u64;
        }
        self.send(lines.into()).await
    }

    /// The node's relay ended: whole (`true`; its last line is complete), or cut off.
    async fn relay_ended(&mut self, whole: bool, offset: &mut u64) -> bool {
        let Some(d) = &mut self.dates else {
            return true;
        };
        let last = d.relayed.finish();
        match last {
            Some((time, raw)) if whole => {
                let lines = d.stamper.feed(&raw, *offset, &|_| time);
                *offset += raw.len() as u64;
                self.send(lines.into()).await
            }
            _ => true,
        }
    }

    /// The log is complete: its last line, if it has no newline.
    async fn finish(&mut self) {
        if let Some(d) = &mut self.dates {
            let last = d.stamper.finish();
            self.send(last.into()).await;
        }
    }

    async fn send(&self, bytes: Bytes) -> bool {
        bytes.is_empty() || self.tx.send(Ok(bytes)).await.is_ok()
    }
}

/// Sends everything from `offset` on; returns when the log is complete or the reader left.
async fn pump(
    ctx: &Ctx,
    id: JobId,
    which: LogStream,
    mut offset: u64,
    follow: bool,
    out: &mut Out<'_>,
) -> std::io::Result<()> {
    let tx = out.tx;
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
                    if !out.local(&buf[..n], offset).await? {
                        return Ok(());
                    }
                    offset += n as u64;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let on_node = matches!(state, JobState::Dispatched | JobState::Running);
        if !follow || state.is_terminal() {
            // A run on a remote node has its log there: what it holds so far.
            if !follow
                && on_node
                && let Some(mut body) = remote_log(ctx, id, which, offset, false, out).await
                && let Relayed::Left = relay(&mut body, out, &mut offset, &mut changes, id).await
            {
                return Ok(());
            }
            out.finish().await;
            return Ok(());
        }
        // A run on a remote node: relay its node's log, then wait for the job to move on
        // (its collected log has the same bytes, so the offset carries over).
        if let Some(mut body) = remote_log(ctx, id, which, offset, true, out).await {
            match relay(&mut body, out, &mut offset, &mut changes, id).await {
                Relayed::Left => return Ok(()),
                Relayed::Changed => {}
                Relayed::Ended => tokio::select! {
                    _ = next_change(&mut changes, id) => {}
                    _ = tx.closed() => return Ok(()),
                },
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
