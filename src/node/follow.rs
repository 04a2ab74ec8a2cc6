//! Streaming a payload's log: replay from an offset, then (with follow) wait for appends and
//! end once the run is over and everything is sent. It wakes on the payload's log writer and
//! on its state watch; only where another program writes the logs (Slurm) it also looks
//! every [`LOOK`].
//!
//! With `timestamps` (the server asks so to relay a timed log), each line comes after its time
//! from the payload's time index (src/logtime.rs); with `since`, only the lines from then on.

use super::payloads::Handle;
use crate::api::LogQuery;
use crate::bridge::receiver_stream;
use crate::http::Body;
use crate::http::respond::stream;
use crate::logtime::{self, Stamper, TimeIndex};
use crate::paths::LogStream;
use bytes::Bytes;
use hyper::Response;
use std::io::{self, SeekFrom};
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio::sync::mpsc;

type Chunks = mpsc::Sender<io::Result<Bytes>>;

/// How often a follower looks for appends nobody announces (a Slurm job's logs).
const LOOK: std::time::Duration = std::time::Duration::from_millis(200);

pub fn log_response(handle: Handle, which: LogStream, q: LogQuery) -> Response<Body> {
    let (tx, rx) = mpsc::channel(8);
    tokio::spawn(async move {
        let dates = q.timed().then(|| {
            (
                Stamper::new(q.since.map(|t| t.0), q.timestamps),
                TimeIndex::default(),
            )
        });
        if let Err(e) = pump(handle, which, q.offset, q.follow, dates, &tx).await {
            let _ = tx.send(Err(e)).await;
        }
    });
    stream("text/plain; charset=utf-8", receiver_stream(rx))
}

/// Sends everything from `offset` on; returns when the log is complete or the reader left.
async fn pump(
    handle: Handle,
    which: LogStream,
    mut offset: u64,
    follow: bool,
    mut dates: Option<(Stamper, TimeIndex)>,
    tx: &Chunks,
) -> io::Result<()> {
    let Handle {
        mut info,
        dir,
        logs,
        polled,
        ..
    } = handle;
    let mut appends = logs.subscribe();
    // Only the payload's own writers keep `appends` open: once they are all gone (the run is
    // over and the payload removed), nothing more can come.
    drop(logs);
    let index = logtime::index_of(&dir.log(which));
    let mut file = match tokio::fs::File::open(dir.log(which)).await {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    file.seek(SeekFrom::Start(offset)).await?;
    let mut buf = vec![0u8; 64 * 1024];
    let mut last = !follow;
    loop {
        // Mark what is seen *before* reading: whatever is appended after the read wakes us,
        // and a run already over has its whole log in the file.
        appends.borrow_and_update();
        last |= info.borrow_and_update().state.is_done();
        loop {
            let n = file.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            let chunk = match &mut dates {
                None => Bytes::copy_from_slice(&buf[..n]),
                Some((stamper, times)) => {
                    // Written before the bytes: read after them, the index has their records.
                    if !times.covers(offset + n as u64) {
                        times.refresh(&index)?;
                    }
                    stamper
                        .feed(&buf[..n], offset, &|o| times.time_at(o))
                        .into()
                }
            };
            offset += n as u64;
            if !chunk.is_empty() && tx.send(Ok(chunk)).await.is_err() {
                return Ok(());
            }
        }
        if last {
            if let Some((stamper, _)) = &mut dates {
                let rest = stamper.finish();
                if !rest.is_empty() {
                    let _ = tx.send(Ok(rest.into())).await;
                }
            }
            return Ok(());
        }
        // A closed channel means its sender is gone for good: read once more, then end.
        tokio::select! {
            r = appends.changed() => last = r.is_err(),
            r = info.changed() => last = r.is_err(),
            _ = tx.closed() => return Ok(()),
            _ = tokio::time::sleep(LOOK), if polled => {}
        }
    }
}
