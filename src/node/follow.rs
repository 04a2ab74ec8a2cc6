//! Streaming a payload's log: replay from an offset, then (with follow) wait for appends and
//! end once the run is over and everything is sent. It wakes on the payload's log writer and
//! on its state watch; only where another program writes the logs (Slurm) it also looks
//! every [`LOOK`].

use super::payloads::Handle;
use crate::bridge::receiver_stream;
use crate::http::Body;
use crate::http::respond::stream;
use crate::paths::LogStream;
use bytes::Bytes;
use hyper::Response;
use std::io::{self, SeekFrom};
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio::sync::mpsc;

type Chunks = mpsc::Sender<io::Result<Bytes>>;

/// How often a follower looks for appends nobody announces (a Slurm job's logs).
const LOOK: std::time::Duration = std::time::Duration::from_millis(200);

pub fn log_response(handle: Handle, which: LogStream, offset: u64, follow: bool) -> Response<Body> {
    let (tx, rx) = mpsc::channel(8);
    tokio::spawn(async move {
        if let Err(e) = pump(handle, which, offset, follow, &tx).await {
            let _ = tx.send(Err(e)).await;
        }
    });
    stream("text/plain; charset=utf-8", receiver_stream(rx))
}

/// Sends everything from `offset` on; returns when the log is complete or the reader left.
async fn pump(
    handle: Handle,
    which: LogStream,
    offset: u64,
    follow: bool,
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
            if tx
                .send(Ok(Bytes::copy_from_slice(&buf[..n])))
                .await
                .is_err()
            {
                return Ok(());
            }
        }
        if last {
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
