//! The server's client of one node: the token on every request, a timeout on every answer,
//! paths and queries from [`NodeRoute`], the node's own route table. The native protocol's
//! requests are here, the seed's client routes in `seed_client.rs`, lease renewals (on a
//! connection of their own) in `renewal.rs`.

use super::remote::RemoteError;
use super::renewal::Renewals;
use crate::api::LogQuery;
use crate::archive;
use crate::bridge::stream_from_blocking;
use crate::client::{self, Client, Endpoint, ReqBody};
use crate::paths::LogStream;
use crate::protocol::{FeedQuery, NodeRoute, PayloadInfo, PushQuery};
use crate::store::NodeRow;
use crate::tls::ClientTls;
use bytes::Bytes;
use http_body_util::{BodyExt, StreamBody};
use hyper::Response;
use hyper::StatusCode;
use hyper::body::{Frame, Incoming};
use std::path::PathBuf;
use std::time::Duration;

pub struct NodeClient {
    client: Client,
    timeout: Duration,
    renewals: Renewals,
    /// How payloads and results travel on this link ([`archive::Encoding::for_endpoint`]).
    encoding: archive::Encoding,
}

/// `JOBO_NODE_POOL=0` in jobod's environment: a fresh connection per request to every node,
/// as before the pool. Internal, for the benchmark's A/B of the pool (benches/e2e/netem.rs);
/// nothing else should want it.
fn unpooled() -> bool {
    std::env::var_os("JOBO_NODE_POOL").is_some_and(|v| v == "0")
}

impl NodeClient {
    pub fn new(row: &NodeRow, timeout: Duration, tls: &ClientTls) -> NodeClient {
        // Checked when the node was added; a bad URL here only makes every request fail.
        let endpoint = Endpoint::parse(&row.url).unwrap_or(Endpoint::Tcp(row.url.clone()));
        // Pooled: a remote job's push, collection and delete, and the logs followed, reuse
        // connections instead of each paying a connect (and TLS handshake).
        let client = Client::new(endpoint)
            .with_token(row.token.clone())
            .with_tls(tls.clone());
        let client = if unpooled() { client } else { client.pooled() };
        NodeClient {
            renewals: Renewals::new(client.clone()),
            encoding: archive::Encoding::for_endpoint(client.endpoint()),
            client,
            timeout,
        }
    }

    /// `POST /v1/lease`: renews the node's lease by echoing `sent_ms`, the node's time on a
    /// feed line just read (fencing); answered within `within` or given up.
    pub async fn renew(
        &self,
        sent_ms: u64,
        lease: Duration,
        within: Duration,
    ) -> Result<(), RemoteError> {
        self.renewals.renew(sent_ms, lease, within).await
    }

    /// Sends a request without a body; a non-2xx answer becomes an error. Bounded by the
    /// request timeout up to the response head (bodies are bounded by their readers).
    pub(super) async fn send(
        &self,
        route: &NodeRoute,
        uri: &str,
    ) -> Result<Response<Incoming>, RemoteError> {
        let req = client::request(route.method(), uri, client::empty())?;
        self.send_request(req, self.timeout).await
    }

    /// [`Self::send`] of a request built by the caller (e.g. with its own headers), answered
    /// within `timeout`.
    pub(super) async fn send_request(
        &self,
        req: hyper::Request<ReqBody>,
        timeout: Duration,
    ) -> Result<Response<Incoming>, RemoteError> {
        match tokio::time::timeout(timeout, self.client.send_ok(req)).await {
            Ok(res) => Ok(res?),
            Err(_) => Err(RemoteError::Transient(format!(
                "no answer within {}",
                humantime::format_duration(timeout)
            ))),
        }
    }

    /// An upload of `bytes` is answered only once it is sent: allow the request timeout
    /// plus one second per 10 MB (a slow link, not a dead node).
    pub(super) fn upload_timeout(&self, bytes: u64) -> Duration {
        self.timeout + Duration::from_secs(bytes / 10_000_000)
    }

    /// Reads a small JSON answer, bounded by the request timeout.
    pub async fn json<T: serde::de::DeserializeOwned>(
        &self,
        resp: Response<Incoming>,
    ) -> Result<T, RemoteError> {
        let body = tokio::time::timeout(self.timeout, resp.into_body().collect())
            .await
            .map_err(|_| RemoteError::Transient("the answer stalled".into()))?
            .map_err(|e| RemoteError::Transient(e.to_string()))?
            .to_bytes();
        serde_json::from_slice(&body)
            .map_err(|e| RemoteError::Transient(format!("unexpected answer: {e}")))
    }

    /// `PUT /v1/payloads/{uuid}`: the input dir, packed as it streams out (tar in this link's
    /// encoding).
    pub async fn push(
        &self,
        payload: &str,
        query: &PushQuery,
        input: PathBuf,
        bytes: u64,
    ) -> Result<PayloadInfo, RemoteError> {
        let encoding = self.encoding;
        let chunks = stream_from_blocking(move |w| {
            archive::pack_tar(&input, archive::Trust::Own, encoding, w)
        });
        let body = BodyExt::boxed_unsync(StreamBody::new(futures_util::StreamExt::map(
            chunks,
            |c: std::io::Result<Bytes>| c.map(Frame::data),
        )));
        let route = NodeRoute::Push(payload.to_string());
        let mut req = client::request(route.method(), &route.uri(query)?, body)?;
        client::tar_body(&mut req, encoding);
        let resp = self.send_request(req, self.upload_timeout(bytes)).await?;
        self.json(resp).await
    }

    pub async fn feed(&self, beat: Duration) -> Result<Incoming, RemoteError> {
        let beat_ms = u64::try_from(beat.as_millis().max(20)).unwrap_or(u64::MAX);
        let route = NodeRoute::Feed;
        let uri = route.uri(&FeedQuery {
            beat_ms: Some(beat_ms),
        })?;
        Ok(self.send(&route, &uri).await?.into_body())
    }

    /// `GET /v1/payloads/{uuid}/results`: the tar and how it is encoded (an older node
    /// answers tar.gz whatever was asked).
    pub async fn results(
        &self,
        payload: &str,
    ) -> Result<(archive::Encoding, Incoming), RemoteError> {
        let route = NodeRoute::Results(payload.to_string());
        let mut req = client::request(route.method(), &route.path(), client::empty())?;
        client::accept_tar(&mut req, self.encoding);
        let resp = self.send_request(req, self.timeout).await?;
        let encoding = client::tar_encoding(&resp)
            .map_err(|e| RemoteError::Transient(format!("results: {e}")))?;
        Ok((encoding, resp.into_body()))
    }

    /// "Collected, delete your copy" (also how a stale run is discarded). Gone already is fine.
    pub async fn delete(&self, payload: &str) -> Result<(), RemoteError> {
        let route = NodeRoute::Delete(payload.to_string());
        match self.send(&route, &route.path()).await {
            Err(RemoteError::Refused { status, .. }) if status == StatusCode::NOT_FOUND => Ok(()),
            other => other.map(drop),
        }
    }

    pub async fn cancel(&self, payload: &str) -> Result<(), RemoteError> {
        let route = NodeRoute::Cancel(payload.to_string());
        self.send(&route, &route.path()).await.map(drop)
    }

    pub async fn follow_log(
        &self,
        payload: &str,
        stream: LogStream,
        query: &LogQuery,
    ) -> Result<Incoming, RemoteError> {
        let route = NodeRoute::Logs(payload.to_string(), stream);
        let uri = route.uri(query)?;
        Ok(self.send(&route, &uri).await?.into_body())
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }
}
