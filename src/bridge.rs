//! Connects blocking writers (tar, zip, gzip) to async byte streams, with bounded memory:
//! the writer runs on the blocking pool and hands 64 KiB chunks through a small channel, so a
//! slow reader slows the writer down instead of the chunks piling up.

use bytes::{Bytes, BytesMut};
use futures_util::Stream;
use std::io::{self, Write};
use tokio::sync::mpsc;

const CHUNK: usize = 64 * 1024;

/// A `Write` whose bytes come out of the stream returned by [`stream_from_blocking`].
pub struct ChannelWriter {
    tx: mpsc::Sender<io::Result<Bytes>>,
    buf: BytesMut,
}

impl ChannelWriter {
    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = self.buf.split().freeze();
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "reader went away"))
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}

/// Runs `produce` on the blocking pool and streams what it writes. An error it returns
/// becomes the stream's last item, so the receiver sees a broken body, not a short one.
pub fn stream_from_blocking<F>(produce: F) -> impl Stream<Item = io::Result<Bytes>> + Send + 'static
where
    F: FnOnce(&mut ChannelWriter) -> io::Result<()> + Send + 'static,
{
    let (tx, rx) = mpsc::channel(4);
    tokio::task::spawn_blocking(move || {
        let mut w = ChannelWriter {
            tx: tx.clone(),
            buf: BytesMut::with_capacity(CHUNK),
        };
        if let Err(e) = produce(&mut w).and_then(|()| w.flush()) {
            let _ = tx.blocking_send(Err(e));
        }
    });
    receiver_stream(rx)
}

/// The items of a channel as a stream.
pub fn receiver_stream<T: Send + 'static>(
    rx: mpsc::Receiver<T>,
) -> impl Stream<Item = T> + Send + 'static {
    futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    })
}
