//! `jobod serve`'s HTTP API: accepts connections on the Unix socket and on TCP (inside TLS
//! when `--tls-cert` is given) and serves each with hyper (`http/`), one task per connection,
//! all through the same router (`routes.rs`).

mod control;
mod docs;
mod errors;
mod files;
mod follow;
mod identity;
mod metrics;
mod native;
mod nodes;
pub mod routes;
mod seed;
mod system;
pub mod throttle;
mod tokens;

pub use routes::Peer;

use crate::http::{accept_failed, accept_tcp};
use crate::state::Ctx;
use crate::tls::ServerTls;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, UnixListener};
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

fn serve_connection<S>(ctx: Ctx, io: S, peer: Peer)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let conns = ctx.conns.clone();
    conns.serve(io, move |req| {
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

/// The `listen` listener, inside TLS when `tls` is given.
pub async fn serve_tcp(
    ctx: Ctx,
    listener: TcpListener,
    tls: Option<ServerTls>,
    shutdown: CancellationToken,
) {
    accept_tcp(listener, tls, shutdown, move |stream, addr| {
        serve_connection(ctx.clone(), stream, Peer::Tcp(addr))
    })
    .await
}

/// The `seed_listen` listener: only the seed routes, every caller an anonymous portal.
pub async fn serve_seed_tcp(ctx: Ctx, listener: TcpListener, shutdown: CancellationToken) {
    accept_tcp(listener, None, shutdown, move |stream, addr| {
        serve_connection(ctx.clone(), stream, Peer::SeedTcp(addr))
    })
    .await
}
