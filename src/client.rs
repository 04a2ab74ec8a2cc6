//! The HTTP client the CLI (and the server, of its nodes) uses: one code path for `unix://`,
//! `http://` and `https://` endpoints, with streamed request and response bodies.
//!
//! Hand-written on hyper's connection API rather than on reqwest (README, "Dependency notes",
//! says why, with figures): one connection per request, which is all a CLI run needs, or,
//! for the server's clients of its nodes ([`Client::pooled`]), connections kept and reused
//! (`pool.rs`): on a real network a fresh TCP (and TLS) connection per request costs round
//! trips that the jobs wait for.

use crate::api::{ErrorBody, Route};
use crate::archive::{Encoding, media};
use crate::tls::ClientTls;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty, combinators::UnsyncBoxBody};
use hyper::body::Incoming;
use hyper::header::HeaderValue;
use hyper::{Method, Request, Response, StatusCode, header};
use hyper_util::rt::TokioIo;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::path::PathBuf;
use tokio::io::{AsyncRead, AsyncWrite};

mod pool;

pub type ReqBody = UnsyncBoxBody<Bytes, std::io::Error>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    Unix(PathBuf),
    /// `host:port` of an `http://` URL.
    Tcp(String),
    /// `host:port` of an `https://` URL.
    Https(String),
}

impl Endpoint {
    /// Parses `unix:///path/to.sock`, `http://host[:port]`, `https://host[:port]`, and, as
    /// docker's `-H` takes them, `tcp://host:port` and a bare `host:port` (both plain HTTP).
    pub fn parse(s: &str) -> Result<Endpoint, ClientError> {
        if let Some(path) = s.strip_prefix("unix://") {
            if path.is_empty() {
                return Err(ClientError::BadEndpoint(s.into()));
            }
            return Ok(Endpoint::Unix(PathBuf::from(path)));
        }
        let (rest, tls, default_port) = if let Some(rest) = s.strip_prefix("http://") {
            (rest, false, Some(80))
        } else if let Some(rest) = s.strip_prefix("https://") {
            (rest, true, Some(443))
        } else if let Some(rest) = s.strip_prefix("tcp://") {
            (rest, false, None)
        } else if !s.contains("://") {
            (s, false, None)
        } else {
            return Err(ClientError::BadEndpoint(s.into()));
        };
        let authority = rest.trim_end_matches('/');
        if authority.is_empty() || authority.contains('/') {
            return Err(ClientError::BadEndpoint(s.into()));
        }
        let has_port = authority
            .rsplit_once(':')
            .is_some_and(|(host, p)| !host.is_empty() && p.parse::<u16>().is_ok());
        let with_port = match (has_port, default_port) {
            (true, _) => authority.to_string(),
            (false, Some(port)) => format!("{authority}:{port}"),
            // tcp:// and a bare address have no scheme to take a port from.
            (false, None) => return Err(ClientError::BadEndpoint(s.into())),
        };
        Ok(if tls {
            Endpoint::Https(with_port)
        } else {
            Endpoint::Tcp(with_port)
        })
    }

    /// `host:port` of a TCP endpoint (plain or TLS).
    pub fn authority(&self) -> Option<&str> {
        match self {
            Endpoint::Unix(_) => None,
            Endpoint::Tcp(a) | Endpoint::Https(a) => Some(a),
        }
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Endpoint::Unix(p) => write!(f, "unix://{}", p.display()),
            Endpoint::Tcp(a) => write!(f, "http://{a}"),
            Endpoint::Https(a) => write!(f, "https://{a}"),
        }
    }
}

/// Any connection a request can go on: a Unix socket, TCP, or TLS over TCP.
pub trait Io: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Io for T {}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(
        "invalid host '{0}': use unix:///path/to/jobod.sock, http://host:port, https://host:port, \
         tcp://host:port or host:port"
    )]
    BadEndpoint(String),
    /// The cause is in the message and not a `source`, so `{:#}` does not say it twice.
    #[error("cannot connect to jobod at {endpoint}: {cause}")]
    Connect {
        endpoint: Endpoint,
        cause: std::io::Error,
    },
    /// A TLS failure, told in one line that names the host and the fix.
    #[error("{0}")]
    Tls(String),
    /// Not an HTTP answer on a plain `http://` endpoint: most likely a TLS server.
    #[error("the server at http://{0} did not answer in HTTP: if it serves TLS, use https://{0}")]
    NotHttp(String),
    #[error("connection to jobod failed: {0}")]
    Http(hyper::Error),
    #[error("{message}")]
    Api { status: StatusCode, message: String },
    #[error("unexpected answer from jobod: {0}")]
    Decode(String),
    #[error("cannot encode the request: {0}")]
    Encode(String),
}

impl From<hyper::Error> for ClientError {
    /// By hand rather than `#[from]`, which would also make it the `source` and have `{:#}`
    /// print the cause twice.
    fn from(e: hyper::Error) -> ClientError {
        ClientError::Http(e)
    }
}

impl From<serde_urlencoded::ser::Error> for ClientError {
    fn from(e: serde_urlencoded::ser::Error) -> ClientError {
        ClientError::Encode(e.to_string())
    }
}

#[derive(Clone)]
pub struct Client {
    endpoint: Endpoint,
    /// Sent as `Authorization: Bearer …` (an API token on TCP, a node token to a node);
    /// never logged or put in a URL.
    token: Option<String>,
    /// For an `https://` endpoint: whom to trust, what to show.
    tls: Option<ClientTls>,
    /// Idle connections to reuse, shared by the clones; none: one connection per request.
    pool: Option<std::sync::Arc<pool::Pool>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

pub fn empty() -> ReqBody {
    Empty::new().map_err(|never| match never {}).boxed_unsync()
}

impl Client {
    pub fn new(endpoint: Endpoint) -> Client {
        Client {
            endpoint,
            token: None,
            tls: None,
            pool: None,
        }
    }

    /// Keeps connections open after their answers and sends later requests on them.
    pub fn pooled(mut self) -> Client {
        self.pool = Some(std::sync::Arc::new(pool::Pool::default()));
        self
    }

    /// The TLS settings for an `https://` endpoint (without them one cannot be reached).
    pub fn with_tls(mut self, tls: ClientTls) -> Client {
        self.tls = Some(tls);
        self
    }

    pub fn with_token(mut self, token: Option<String>) -> Client {
        self.token = token;
        self
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// How bulk data (job dirs, results) travels to and from this endpoint.
    pub fn encoding(&self) -> Encoding {
        Encoding::for_endpoint(&self.endpoint)
    }

    /// Sends one request and returns the response, whatever its status: on an idle pooled
    /// connection if there is one, else on a fresh one.
    pub async fn send(&self, mut req: Request<ReqBody>) -> Result<Response<Incoming>, ClientError> {
        self.authorize(&mut req);
        let Some(pool) = &self.pool else {
            let mut sender = self.handshake().await?;
            return sender
                .send_request(req)
                .await
                .map_err(|e| self.http_error(e));
        };
        // The task that returns the last answer's connection to the pool runs first (on the
        // CLI's one-thread runtime it has not had a turn since that answer was read).
        tokio::task::yield_now().await;
        while let Some(mut sender) = pool.take() {
            match sender.try_send_request(req).await {
                Ok(resp) => {
                    pool.keep_when_idle(sender);
                    return Ok(resp);
                }
                Err(mut e) => match e.take_message() {
                    // Closed before the request went out: another connection takes it.
                    Some(unsent) => req = unsent,
                    None => return Err(self.http_error(e.into_error())),
                },
            }
        }
        let mut sender = self.handshake().await?;
        let resp = sender
            .send_request(req)
            .await
            .map_err(|e| self.http_error(e))?;
        pool.keep_when_idle(sender);
        Ok(resp)
    }

    /// A fresh connection, HTTP/1 handshake done, its driver spawned.
    async fn handshake(&self) -> Result<pool::Sender, ClientError> {
        let io = self.connect().await?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
            .await
            .map_err(|e| self.http_error(e))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(sender)
    }

    /// A new connection to the endpoint, TLS handshake done.
    pub async fn connect(&self) -> Result<Box<dyn Io>, ClientError> {
        let connect_err = |cause| ClientError::Connect {
            endpoint: self.endpoint.clone(),
            cause,
        };
        match &self.endpoint {
            Endpoint::Unix(path) => {
                let io = tokio::net::UnixStream::connect(path)
                    .await
                    .map_err(connect_err)?;
                Ok(Box::new(io))
            }
            Endpoint::Tcp(addr) => Ok(Box::new(tcp(addr).await.map_err(connect_err)?)),
            Endpoint::Https(addr) => {
                let io = tcp(addr).await.map_err(connect_err)?;
                let tls = self.tls.as_ref().ok_or_else(|| {
                    ClientError::Tls(format!("no TLS settings to reach https://{addr} with"))
                })?;
                Ok(Box::new(
                    tls.connect(addr, io).await.map_err(ClientError::Tls)?,
                ))
            }
        }
    }

    /// The headers every request carries: `Host`, and the token when there is one.
    pub fn authorize<B>(&self, req: &mut Request<B>) {
        let host = self.endpoint.authority().unwrap_or("localhost");
        if let Ok(v) = host.parse() {
            req.headers_mut().insert(header::HOST, v);
        }
        if let Some(v) = self.token.as_deref().and_then(crate::token::bearer) {
            req.headers_mut().insert(header::AUTHORIZATION, v);
        }
    }

    /// A hyper error on this endpoint, explained when TLS (or its absence) is the cause.
    pub fn http_error(&self, e: hyper::Error) -> ClientError {
        match (&self.endpoint, &self.tls) {
            (Endpoint::Https(addr), Some(tls)) => match tls.explain(addr, &e) {
                Some(message) => ClientError::Tls(message),
                None => ClientError::Http(e),
            },
            (Endpoint::Tcp(addr), _) if e.is_parse() => ClientError::NotHttp(addr.clone()),
            _ => ClientError::Http(e),
        }
    }

    /// Sends and turns a non-2xx answer into [`ClientError::Api`] with the server's message.
    pub async fn send_ok(&self, req: Request<ReqBody>) -> Result<Response<Incoming>, ClientError> {
        let resp = self.send(req).await?;
        if resp.status().is_success() {
            return Ok(resp);
        }
        let status = resp.status();
        let body = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| self.http_error(e))?
            .to_bytes();
        let message = serde_json::from_slice::<ErrorBody>(&body)
            .map(|e| e.error)
            .unwrap_or_else(|_| format!("{status}: {}", String::from_utf8_lossy(&body).trim()));
        Err(ClientError::Api { status, message })
    }

    pub async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
    ) -> Result<T, ClientError> {
        let req = request(method, path, empty())?;
        let resp = self.send_ok(req).await?;
        decode(resp).await
    }

    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        self.call(Method::GET, path).await
    }

    /// Calls a native route without a query and decodes its JSON answer.
    pub async fn route<T: DeserializeOwned>(&self, route: &Route) -> Result<T, ClientError> {
        self.call(route.method(), &route.path()).await
    }

    /// Calls a native route with `query` (its type from [`crate::api::routes`]).
    pub async fn route_with<T: DeserializeOwned, Q: Serialize>(
        &self,
        route: &Route,
        query: &Q,
    ) -> Result<T, ClientError> {
        self.call(route.method(), &route.uri(query)?).await
    }
}

pub fn request(method: Method, path: &str, body: ReqBody) -> Result<Request<ReqBody>, ClientError> {
    Request::builder()
        .method(method)
        .uri(path)
        .body(body)
        .map_err(|e| ClientError::Decode(format!("cannot build request for {path}: {e}")))
}

/// Marks `req`'s body as a tar in `encoding`.
pub fn tar_body<B>(req: &mut Request<B>, encoding: Encoding) {
    let headers = req.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(media::TAR));
    if encoding != Encoding::Identity {
        headers.insert(
            header::CONTENT_ENCODING,
            HeaderValue::from_static(encoding.token()),
        );
    }
}

/// Asks for a tar answer in `encoding` (`identity` is always understood).
pub fn accept_tar<B>(req: &mut Request<B>, encoding: Encoding) {
    let accept = match encoding {
        Encoding::Identity => "identity",
        Encoding::Gzip => "gzip, identity",
        Encoding::Zstd => "zstd, gzip, identity",
    };
    req.headers_mut()
        .insert(header::ACCEPT_ENCODING, HeaderValue::from_static(accept));
}

/// How the tar in `resp` is encoded (see [`Encoding::of_body`]).
pub fn tar_encoding<B>(resp: &Response<B>) -> Result<Encoding, ClientError> {
    let text = |name| {
        resp.headers()
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    Encoding::of_body(text(header::CONTENT_TYPE), text(header::CONTENT_ENCODING))
        .map_err(|e| ClientError::Decode(format!("an archive in an unknown encoding '{e}'")))
}

pub async fn decode<T: DeserializeOwned>(resp: Response<Incoming>) -> Result<T, ClientError> {
    let body = resp.into_body().collect().await?.to_bytes();
    serde_json::from_slice(&body).map_err(|e| ClientError::Decode(e.to_string()))
}

async fn tcp(addr: &str) -> std::io::Result<tokio::net::TcpStream> {
    let io = tokio::net::TcpStream::connect(addr).await?;
    let _ = io.set_nodelay(true);
    Ok(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_endpoints() {
        assert_eq!(
            Endpoint::parse("unix:///run/jobo/jobod.sock").ok(),
            Some(Endpoint::Unix("/run/jobo/jobod.sock".into()))
        );
        assert_eq!(
            Endpoint::parse("http://127.0.0.1:5000/").ok(),
            Some(Endpoint::Tcp("127.0.0.1:5000".into()))
        );
        assert_eq!(
            Endpoint::parse("http://example.org").ok(),
            Some(Endpoint::Tcp("example.org:80".into()))
        );
        assert!(Endpoint::parse("ftp://x").is_err());
        for plain in [
            "tcp://127.0.0.1:5000",
            "127.0.0.1:5000",
            "tcp://127.0.0.1:5000/",
        ] {
            assert_eq!(
                Endpoint::parse(plain).ok(),
                Some(Endpoint::Tcp("127.0.0.1:5000".into())),
                "{plain}"
            );
        }
        assert_eq!(
            Endpoint::parse("[::1]:5000").ok(),
            Some(Endpoint::Tcp("[::1]:5000".into()))
        );
        for bad in ["tcp://host", "localhost", "host:port", ":5000", "a/b:1"] {
            assert!(Endpoint::parse(bad).is_err(), "{bad}");
        }
        assert!(Endpoint::parse("unix://").is_err());
        assert_eq!(
            Endpoint::parse("https://node1:9000").ok(),
            Some(Endpoint::Https("node1:9000".into()))
        );
        assert_eq!(
            Endpoint::parse("https://example.org/").ok(),
            Some(Endpoint::Https("example.org:443".into()))
        );
    }
}
