//! Lease renewals (fencing, `node/lease.rs`): one `POST /v1/lease` per beat per node, on a
//! kept-alive connection of their own (not worth a TCP handshake each). The connection is
//! taken out while a renewal uses it and put back only after a clean answer, so a broken or
//! timed-out one is never reused.

use super::remote::RemoteError;
use crate::client::{self, Client, ClientError, ReqBody};
use crate::protocol::{LeaseRenewal, NodeRoute};
use http_body_util::BodyExt;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use std::time::Duration;
use tokio::sync::Mutex;

/// The renewal connection to one node.
pub struct Renewals {
    /// The node's endpoint, token and TLS settings.
    client: Client,
    conn: Mutex<Option<SendRequest<ReqBody>>>,
}

impl Renewals {
    pub fn new(client: Client) -> Renewals {
        Renewals {
            client,
            conn: Mutex::new(None),
        }
    }

    /// `POST /v1/lease?sent_ms=T&lease_ms=L`: renews the node's lease by echoing the
    /// `sent_ms` of a feed line just read ([`LeaseRenewal`]); answered within `within` or
    /// given up.
    pub async fn renew(
        &self,
        sent_ms: u64,
        lease: Duration,
        within: Duration,
    ) -> Result<(), RemoteError> {
        let lease_ms = u64::try_from(lease.as_millis().max(1)).unwrap_or(u64::MAX);
        let path = NodeRoute::Lease.uri(&LeaseRenewal { sent_ms, lease_ms })?;
        let mut slot = self.conn.lock().await;
        let exchange = async {
            if let Some(mut sender) = slot.take().filter(|s| !s.is_closed()) {
                match self.lease_request(&mut sender, &path).await {
                    Ok(()) => return Ok(sender),
                    // The node may have closed the idle connection as this was sent: once
                    // more on a new one (a renewal may be repeated).
                    Err(e) if e.is_transient() => {}
                    Err(e) => return Err(e),
                }
            }
            let mut sender = self.connect_for_lease().await?;
            self.lease_request(&mut sender, &path).await?;
            Ok(sender)
        };
        match tokio::time::timeout(within, exchange).await {
            Ok(Ok(sender)) => {
                *slot = Some(sender);
                Ok(())
            }
            Ok(Err(e)) => Err(e),
            Err(_) => Err(RemoteError::Transient(format!(
                "no answer to the lease renewal within {}",
                humantime::format_duration(within)
            ))),
        }
    }

    /// One `POST` of `path` on the renewal connection; a non-2xx answer is an error.
    async fn lease_request(
        &self,
        sender: &mut SendRequest<ReqBody>,
        path: &str,
    ) -> Result<(), RemoteError> {
        let transient = |e: hyper::Error| RemoteError::from(self.client.http_error(e));
        let mut req = client::request(NodeRoute::Lease.method(), path, client::empty())?;
        self.client.authorize(&mut req);
        sender.ready().await.map_err(transient)?;
        let resp = sender.send_request(req).await.map_err(transient)?;
        let status = resp.status();
        let body = resp
            .into_body()
            .collect()
            .await
            .map_err(transient)?
            .to_bytes();
        if status.is_success() {
            return Ok(());
        }
        let message = serde_json::from_slice::<crate::api::ErrorBody>(&body)
            .map(|e| e.error)
            .unwrap_or_else(|_| String::from_utf8_lossy(&body).trim().to_string());
        Err(ClientError::Api { status, message }.into())
    }

    /// A new HTTP/1.1 connection to the node for renewals, its connection driven by a task
    /// of its own.
    async fn connect_for_lease(&self) -> Result<SendRequest<ReqBody>, RemoteError> {
        let io = self.client.connect().await?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
            .await
            .map_err(|e| RemoteError::from(self.client.http_error(e)))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(sender)
    }
}
