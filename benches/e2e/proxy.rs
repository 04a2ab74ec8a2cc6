//! A TCP proxy on loopback that delays what the server sends to a node, as netem on the
//! server's side of a link would: for kernels without the netem qdisc (`netem.rs` uses it
//! when it can).
//!
//! Every chunk read from the server goes out to the node `delay` after it was read; the
//! node's answers pass at once. A fresh connection's first bytes wait one round trip more:
//! over a real link the client's SYN takes `delay` to arrive, and its request can only
//! follow the handshake, whereas the proxy's accept completes at once.

use crate::Res;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

pub struct DelayProxy {
    /// `host:port` it listens on.
    pub addr: String,
    task: tokio::task::JoinHandle<()>,
}

impl DelayProxy {
    /// Listens on a free loopback port and forwards to `upstream`; stops on drop.
    pub fn start(upstream: &str, delay: Duration) -> Res<DelayProxy> {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?.to_string();
        let listener = TcpListener::from_std(std_listener)?;
        let upstream = upstream.to_string();
        let task = tokio::spawn(async move {
            while let Ok((down, _)) = listener.accept().await {
                let accepted = Instant::now();
                let upstream = upstream.clone();
                tokio::spawn(async move {
                    if let Ok(up) = TcpStream::connect(&upstream).await {
                        relay(down, up, accepted, delay).await;
                    }
                });
            }
        });
        Ok(DelayProxy { addr, task })
    }
}

impl Drop for DelayProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Relays one connection until both sides are done.
async fn relay(down: TcpStream, up: TcpStream, accepted: Instant, delay: Duration) {
    let _ = (down.set_nodelay(true), up.set_nodelay(true));
    let (mut from_server, mut to_server) = down.into_split();
    let (mut from_node, mut to_node) = up.into_split();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
    let read = async move {
        let mut buf = vec![0u8; 64 * 1024];
        while let Ok(n @ 1..) = from_server.read(&mut buf).await {
            let due = (Instant::now() + delay).max(accepted + 2 * delay);
            if tx.send((due, buf[..n].to_vec())).is_err() {
                break;
            }
        }
    };
    let write = async move {
        while let Some((due, data)) = rx.recv().await {
            tokio::time::sleep_until(due).await;
            if to_node.write_all(&data).await.is_err() {
                break;
            }
        }
        let _ = to_node.shutdown().await;
    };
    let back = async move {
        let _ = tokio::io::copy(&mut from_node, &mut to_server).await;
        let _ = to_server.shutdown().await;
    };
    tokio::join!(read, write, back);
}
