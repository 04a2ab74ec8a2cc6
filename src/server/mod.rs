//! The HTTP server: accepts connections on the Unix socket and on TCP and serves each with
//! hyper, one task per connection, all through the same router.

pub(crate) mod download;
mod follow;
mod native;
mod nodes;
pub(crate) mod respond;
pub mod routes;
mod seed;
pub(crate) mod upload;

pub use respond::Body;
pub use routes::Peer;

use crate::state::Ctx;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream, UnixListener};
use tokio_util::sync::CancellationToken;

/// Fails if a daemon already answers on the Unix socket at `path`.
pub fn check_socket_free(path: &Path) -> anyhow::Result<()> {
    if std::os::unix::net::UnixStream::connect(path).is_ok() {
        anyhow::bail!(
            "another jobod is already listening on {} (stop it, or pick another --socket)",
            path.display()
        );
    }
    Ok(())
}

/// Binds the Unix socket at `path`, replacing a stale socket file but refusing to steal the
/// socket of a daemon that still answers.
pub fn bind_unix(path: &Path, mode: u32) -> anyhow::Result<UnixListener> {
    use anyhow::Context;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    if path.exists() {
        check_socket_free(path)?;
        std::fs::remove_file(path)
            .with_context(|| format!("cannot remove stale socket {}", path.display()))?;
    }
    let listener =
        UnixListener::bind(path).with_context(|| format!("cannot bind {}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("cannot set permissions of {}", path.display()))?;
    Ok(listener)
}

/// Serves HTTP/1.1 on one connection in its own task, every request through `handler`.
pub(crate) fn spawn_http<S, F, Fut>(io: S, handler: F)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    F: Fn(Request<Incoming>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<Response<Body>, Infallible>> + Send + 'static,
{
    tokio::spawn(async move {
        // The timer arms hyper's header-read timeout (30 s), so a client that never finishes
        // its request head cannot hold a connection forever.
        if let Err(e) = http1::Builder::new()
            .timer(TokioTimer::new())
            .serve_connection(TokioIo::new(io), service_fn(handler))
            .await
        {
            tracing::debug!("connection ended: {e}");
        }
    });
}

fn serve_connection<S>(ctx: Ctx, io: S, peer: Peer)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    spawn_http(io, move |req| {
        routes::handle(ctx.clone(), peer.clone(), req)
    });
}

pub async fn serve_unix(ctx: Ctx, listener: UnixListener, shutdown: CancellationToken) {
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.cancelled() => return,
        };
        match accepted {
            Ok((stream, _)) => {
                let uid = match stream.peer_cred() {
                    Ok(cred) => cred.uid(),
                    Err(e) => {
                        tracing::warn!("cannot read socket peer credentials: {e}");
                        continue;
                    }
                };
                serve_connection(ctx.clone(), stream, Peer::Unix { uid });
            }
            Err(e) => accept_failed(e).await,
        }
    }
}

pub async fn serve_tcp(ctx: Ctx, listener: TcpListener, shutdown: CancellationToken) {
    accept_tcp(listener, shutdown, |stream, addr| {
        serve_connection(ctx.clone(), stream, Peer::Tcp(addr))
    })
    .await
}

/// Accepts TCP connections until `shutdown`, handing each to `serve`.
pub(crate) async fn accept_tcp(
    listener: TcpListener,
    shutdown: CancellationToken,
    mut serve: impl FnMut(TcpStream, SocketAddr),
) {
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.cancelled() => return,
        };
        match accepted {
            Ok((stream, addr)) => {
                let _ = stream.set_nodelay(true);
                serve(stream, addr);
            }
            Err(e) => accept_failed(e).await,
        }
    }
}

/// Out of file descriptors and the like: say so and back off briefly instead of spinning.
async fn accept_failed(e: std::io::Error) {
    tracing::error!("accept failed: {e}");
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
}
