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

/// Chunks read ahead of a [`StreamReader`]'s reader: a body keeps arriving while the
/// blocking reader writes what came before (bounded: this many chunks).
const READ_AHEAD: usize = 16;

/// A blocking `Read` of `stream`'s bytes, fed by a task that reads up to [`READ_AHEAD`]
/// chunks ahead. Compared with a bridge that polls the stream from the reader's thread on
/// each read, the socket and the disk work at the same time, and the reader's thread is
/// woken once per chunk it takes rather than per chunk the connection wants. The task ends
/// with the stream, or when the reader is dropped. Must be made on a tokio runtime.
pub fn stream_reader<S>(stream: S) -> StreamReader
where
    S: Stream<Item = io::Result<Bytes>> + Send + 'static,
{
    let (tx, rx) = mpsc::channel(READ_AHEAD);
    tokio::spawn(async move {
        use futures_util::StreamExt;
        let mut stream = std::pin::pin!(stream);
        while let Some(item) = stream.next().await {
            let last = item.is_err();
            if tx.send(item).await.is_err() || last {
                break;
            }
        }
    });
    StreamReader {
        rx,
        chunk: Bytes::new(),
    }
}

/// See [`stream_reader`].
pub struct StreamReader {
    rx: mpsc::Receiver<io::Result<Bytes>>,
    chunk: Bytes,
}

impl io::Read for StreamReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.chunk.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(chunk)) => self.chunk = chunk,
                Some(Err(e)) => return Err(e),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.chunk.len());
        buf[..n].copy_from_slice(&self.chunk[..n]);
        bytes::Buf::advance(&mut self.chunk, n);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    /// The reader gets every byte in order, then the stream's error, and never reads past it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn stream_reader_gives_the_bytes_then_the_error() {
        let items: Vec<io::Result<Bytes>> = vec![
            Ok(Bytes::from_static(b"hello ")),
            Ok(Bytes::new()),
            Ok(Bytes::from_static(b"world")),
            Err(io::Error::other("stalled")),
            Ok(Bytes::from_static(b"never")),
        ];
        let mut reader = stream_reader(futures_util::stream::iter(items));
        let (data, err) = tokio::task::spawn_blocking(move || {
            let mut data = Vec::new();
            let mut buf = [0u8; 4];
            loop {
                match reader.read(&mut buf) {
                    Ok(0) => return (data, None),
                    Ok(n) => data.extend_from_slice(&buf[..n]),
                    Err(e) => return (data, Some(e.to_string())),
                }
            }
        })
        .await
        .expect("the reader ran");
        assert_eq!(data, b"hello world");
        assert_eq!(err.as_deref(), Some("stalled"));
    }
}
