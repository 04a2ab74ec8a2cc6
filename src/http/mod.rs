//! HTTP plumbing both HTTP servers share: `jobod serve`'s API (`server/`) and a worker node's
//! (`node/`). Accept loops here (TLS on TCP when configured: `tls/`), connections within
//! limits in `conns.rs`; answers and errors in `respond.rs`; uploads in `upload.rs` (bodies
//! within limits, tar.gz), `spool.rs` and `multipart.rs`; streamed archives in `download.rs`.
//! Nothing here knows a job, a queue or a payload table.

mod conns;
pub mod download;
pub mod multipart;
pub mod respond;
mod spool;
pub mod upload;

pub use conns::Conns;

use crate::tls::ServerTls;
use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use std::net::SocketAddr;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::server::TlsStream;
use tokio_util::either::Either;
use tokio_util::sync::CancellationToken;

/// Every response body: a boxed stream of bytes (whole answers are one frame).
pub type Body = UnsyncBoxBody<Bytes, std::io::Error>;

/// A TCP connection as it is served: plain, or inside TLS.
pub type TcpConn = Either<TcpStream, TlsStream<TcpStream>>;

/// Accepts TCP connections until `shutdown`, handing each to `serve`; with `tls`, after a
/// TLS handshake in the connection's own task (a failed one is logged at debug and the
/// connection dropped), so a slow handshake never holds up the next accept.
pub async fn accept_tcp(
    listener: TcpListener,
    tls: Option<ServerTls>,
    shutdown: CancellationToken,
    serve: impl Fn(TcpConn, SocketAddr) + Clone + Send + 'static,
) {
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.cancelled() => return,
        };
        match accepted {
            Ok((stream, addr)) => {
                let _ = stream.set_nodelay(true);
                let Some(tls) = &tls else {
                    serve(Either::Left(stream), addr);
                    continue;
                };
                let (tls, serve) = (tls.clone(), serve.clone());
                tokio::spawn(async move {
                    match tls.accept(stream).await {
                        Ok(stream) => serve(Either::Right(stream), addr),
                        Err(e) => tracing::debug!("TLS handshake with {addr} failed: {e}"),
                    }
                });
            }
            Err(e) => accept_failed(e).await,
        }
    }
}

/// Out of file descriptors and the like: say so and back off briefly instead of spinning.
pub async fn accept_failed(e: std::io::Error) {
    tracing::error!("accept failed: {e}");
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
}
