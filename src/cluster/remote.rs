//! Requests from the server to one node: the token on every request, a timeout on every
//! answer, and retries with backoff for what may be transient. Paths and queries come from
//! [`NodeRoute`], the node's own route table.

use crate::api::LogQuery;
use crate::archive;
use crate::bridge::stream_from_blocking;
use crate::client::{self, Client, ClientError, Endpoint, ReqBody};
use crate::paths::LogStream;
use crate::protocol::{FeedQuery, LeaseRenewal, NodeRoute, PayloadInfo, PushQuery};
use crate::store::NodeRow;
use bytes::Bytes;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{self, HeaderValue};
use hyper::{Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    /// No answer (refused, reset, timed out) or a 5xx: worth trying again.
    #[error("{0}")]
    Transient(String),
    /// The node answered and said no (4xx): trying again will not help.
    #[error("{status}: {message}")]
    Refused { status: StatusCode, message: String },
}

impl RemoteError {
    pub fn is_transient(&self) -> bool {
        matches!(self, RemoteError::Transient(_))
    }

    pub fn status(&self) -> Option<StatusCode> {
        match self {
            RemoteError::Refused { status, .. } => Some(*status),
            RemoteError::Transient(_) => None,
        }
    }
}

impl From<serde_urlencoded::ser::Error> for RemoteError {
    fn from(e: serde_urlencoded::ser::Error) -> Self {
        RemoteError::Transient(format!("cannot encode the request: {e}"))
    }
}

impl From<ClientError> for RemoteError {
    fn from(e: ClientError) -> Self {
        match e {
            ClientError::Api { status, message } if status.is_client_error() => {
                RemoteError::Refused { status, message }
            }
            other => RemoteError::Transient(other.to_string()),
        }
    }
}

/// Tries `op` up to `tries` times while it fails transiently, waiting 100 ms, 400 ms, … between.
pub async fn retry<T, F, Fut>(tries: u32, mut op: F) -> Result<T, RemoteError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, RemoteError>>,
{
    let mut wait = Duration::from_millis(100);
    let mut attempt = 1;
    loop {
        match op().await {
            Err(e) if e.is_transient() && attempt < tries => {
                tokio::time::sleep(wait).await;
                wait = (wait * 4).min(Duration::from_secs(5));
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// What the seed's `GET /retrieve/{id}` answered.
pub enum Retrieved {
    /// Not completed: the status word (`Prepared`, `Running`, `Failed`, `Killed` …).
    Status(String),
    /// Completed: the zip of its files.
    Zip(SeedZip),
}

/// A zip of a seed payload's files, and how the run ended when the node says so (a `jobod
/// worker` does, in `x-jobo-status` and `x-jobo-exit-code`; the seed's client does not, but its
/// `run.sh` writes its exit code to [`SEED_EXIT_FILE`]).
pub struct SeedZip {
    pub body: Incoming,
    pub status: Option<String>,
    pub exit_code: Option<i32>,
}

/// Where a seed `run.sh`'s trap (`trap 'echo $? > .orchestrator.exit' EXIT`) leaves its exit
/// code, among the results.
pub const SEED_EXIT_FILE: &str = ".orchestrator.exit";

fn seed_zip(resp: hyper::Response<Incoming>) -> SeedZip {
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let status = header("x-jobo-status");
    let exit_code = header("x-jobo-exit-code").and_then(|c| c.parse().ok());
    SeedZip {
        body: resp.into_body(),
        status,
        exit_code,
    }
}

/// The data of a response body, each read bounded by `timeout` so a stalled node cannot
/// hang its reader.
pub fn frames(
    body: Incoming,
    timeout: Duration,
) -> impl futures_util::Stream<Item = std::io::Result<Bytes>> + Send + Unpin + 'static {
    Box::pin(futures_util::stream::unfold(
        body,
        move |mut body| async move {
            loop {
                match tokio::time::timeout(timeout, body.frame()).await {
                    Err(_) => return Some((Err(std::io::Error::other("the node stalled")), body)),
                    Ok(None) => return None,
                    Ok(Some(Err(e))) => return Some((Err(std::io::Error::other(e)), body)),
                    Ok(Some(Ok(frame))) => {
                        if let Ok(data) = frame.into_data() {
                            return Some((Ok(data), body));
                        }
                    }
                }
            }
        },
    ))
}

/// An HTTP/1.1 handshake on `io`, its connection driven by a task of its own.
async fn handshake<S>(io: S) -> Result<SendRequest<ReqBody>, RemoteError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(|e| RemoteError::Transient(e.to_string()))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

pub struct NodeClient {
    client: Client,
    timeout: Duration,
    /// The node token, for the renewals' own connection.
    token: Option<String>,
    /// One kept-alive connection for lease renewals (one request per beat per node: not worth
    /// a TCP handshake each). Taken out while a renewal uses it, put back only after a clean
    /// answer, so a broken or timed-out one is never reused.
    lease_conn: tokio::sync::Mutex<Option<SendRequest<ReqBody>>>,
}

impl NodeClient {
    pub fn new(row: &NodeRow, timeout: Duration) -> NodeClient {
        // Checked when the node was added; a bad URL here only makes every request fail.
        let endpoint = Endpoint::parse(&row.url).unwrap_or(Endpoint::Tcp(row.url.clone()));
        NodeClient {
            client: Client::new(endpoint, String::new()).with_token(row.token.clone()),
            timeout,
            token: row.token.clone(),
            lease_conn: tokio::sync::Mutex::new(None),
        }
    }

    /// `POST /v1/lease?sent_ms=T&lease_ms=L`: renews the node's lease by echoing the
    /// `sent_ms` of a feed line just read (fencing, [`crate::protocol::LeaseRenewal`]), on the
    /// kept-alive renewal connection; answered within `within` or given up.
    pub async fn renew(
        &self,
        sent_ms: u64,
        lease: Duration,
        within: Duration,
    ) -> Result<(), RemoteError> {
        let lease_ms = u64::try_from(lease.as_millis().max(1)).unwrap_or(u64::MAX);
        let path = NodeRoute::Lease.uri(&LeaseRenewal { sent_ms, lease_ms })?;
        let mut slot = self.lease_conn.lock().await;
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
        let transient = |e: hyper::Error| RemoteError::Transient(e.to_string());
        let mut req = client::request(NodeRoute::Lease.method(), path, client::empty())?;
        self.authorize(&mut req);
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

    /// A new HTTP/1.1 connection to the node for renewals.
    async fn connect_for_lease(&self) -> Result<SendRequest<ReqBody>, RemoteError> {
        let refused = |e: std::io::Error| RemoteError::Transient(format!("cannot connect: {e}"));
        match self.client.endpoint() {
            Endpoint::Tcp(addr) => {
                let io = tokio::net::TcpStream::connect(addr)
                    .await
                    .map_err(refused)?;
                let _ = io.set_nodelay(true);
                handshake(io).await
            }
            Endpoint::Unix(path) => {
                let io = tokio::net::UnixStream::connect(path)
                    .await
                    .map_err(refused)?;
                handshake(io).await
            }
        }
    }

    /// The headers [`Client::send`] sets, for requests on the renewal connection.
    fn authorize(&self, req: &mut hyper::Request<ReqBody>) {
        let host = match self.client.endpoint() {
            Endpoint::Unix(_) => "localhost".to_string(),
            Endpoint::Tcp(a) => a.clone(),
        };
        if let Ok(v) = HeaderValue::from_str(&host) {
            req.headers_mut().insert(header::HOST, v);
        }
        if let Some(v) = self.token.as_deref().and_then(crate::token::bearer) {
            req.headers_mut().insert(header::AUTHORIZATION, v);
        }
    }

    /// Sends a request without a body; a non-2xx answer becomes an error. Bounded by the
    /// request timeout up to the response head (bodies are bounded by their readers).
    async fn send(&self, route: &NodeRoute, uri: &str) -> Result<Response<Incoming>, RemoteError> {
        let req = client::request(route.method(), uri, client::empty())?;
        self.send_request(req, self.timeout).await
    }

    /// [`Self::send`] of a request built by the caller (e.g. with its own headers), answered
    /// within `timeout`.
    async fn send_request(
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
    fn upload_timeout(&self, bytes: u64) -> Duration {
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

    /// `PUT /v1/payloads/{uuid}`: the input dir, packed as it streams out.
    pub async fn push(
        &self,
        payload: &str,
        query: &PushQuery,
        input: PathBuf,
        bytes: u64,
    ) -> Result<PayloadInfo, RemoteError> {
        let chunks = stream_from_blocking(move |w| archive::pack_tgz(&input, w));
        let body = BodyExt::boxed_unsync(StreamBody::new(futures_util::StreamExt::map(
            chunks,
            |c: std::io::Result<Bytes>| c.map(Frame::data),
        )));
        let route = NodeRoute::Push(payload.to_string());
        let req = client::request(route.method(), &route.uri(query)?, body)?;
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

    pub async fn results(&self, payload: &str) -> Result<Incoming, RemoteError> {
        let route = NodeRoute::Results(payload.to_string());
        Ok(self.send(&route, &route.path()).await?.into_body())
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
        offset: u64,
    ) -> Result<Incoming, RemoteError> {
        let route = NodeRoute::Logs(payload.to_string(), stream);
        let uri = route.uri(&LogQuery {
            follow: true,
            offset,
        })?;
        Ok(self.send(&route, &uri).await?.into_body())
    }

    /// The seed's `POST /submit`: the files `names` of `input` as multipart/form-data,
    /// streamed from disk. Returns the id the node gave the payload.
    pub async fn seed_submit(
        &self,
        input: PathBuf,
        names: Arc<Vec<String>>,
        bytes: u64,
    ) -> Result<String, RemoteError> {
        let boundary = format!("jobo-{}", uuid::Uuid::new_v4().simple());
        let content_type = format!("multipart/form-data; boundary={boundary}");
        let chunks =
            stream_from_blocking(move |w| archive::write_multipart(&input, &names, &boundary, w));
        let body = BodyExt::boxed_unsync(StreamBody::new(futures_util::StreamExt::map(
            chunks,
            |c: std::io::Result<Bytes>| c.map(Frame::data),
        )));
        let route = NodeRoute::SeedSubmit;
        let mut req = client::request(route.method(), &route.path(), body)?;
        if let Ok(v) = HeaderValue::from_str(&content_type) {
            req.headers_mut().insert(header::CONTENT_TYPE, v);
        }
        let answer: serde_json::Value = self
            .json(self.send_request(req, self.upload_timeout(bytes)).await?)
            .await?;
        match &answer["id"] {
            serde_json::Value::String(id) if !id.is_empty() => Ok(id.clone()),
            serde_json::Value::Number(id) => Ok(id.to_string()),
            _ => Err(RemoteError::Transient(format!(
                "unexpected answer to /submit: {answer}"
            ))),
        }
    }

    /// The seed's `GET /retrieve/{id}`: the status while not completed, the zip once it is.
    pub async fn seed_retrieve(&self, payload: &str) -> Result<Retrieved, RemoteError> {
        let route = NodeRoute::SeedRetrieve(payload.to_string());
        let resp = self.send(&route, &route.path()).await?;
        let is_json = resp
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.contains("json"));
        if is_json {
            #[derive(serde::Deserialize)]
            struct Status {
                status: String,
            }
            let answer: Status = self.json(resp).await?;
            return Ok(Retrieved::Status(answer.status));
        }
        Ok(Retrieved::Zip(seed_zip(resp)))
    }

    /// The seed's `GET /retrieve_partial/{id}`: the zip of the payload's files as they are.
    pub async fn seed_retrieve_partial(&self, payload: &str) -> Result<SeedZip, RemoteError> {
        let route = NodeRoute::SeedRetrievePartial(payload.to_string());
        Ok(seed_zip(self.send(&route, &route.path()).await?))
    }

    /// The seed's `GET /health`: any 2xx answer is a sign of life.
    pub async fn seed_health(&self) -> Result<(), RemoteError> {
        let route = NodeRoute::SeedHealth;
        self.send(&route, &route.path()).await.map(drop)
    }

    /// The seed's `POST /kill/{id}`.
    pub async fn seed_kill(&self, payload: &str) -> Result<(), RemoteError> {
        let route = NodeRoute::SeedKill(payload.to_string());
        self.send(&route, &route.path()).await.map(drop)
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }
}
