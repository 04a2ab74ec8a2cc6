//! The HTTP client the CLI uses: one code path for `unix://` and `http://` endpoints, with
//! streamed request and response bodies.

use crate::api::{ErrorBody, Route};
use bytes::Bytes;
use http_body_util::{BodyExt, Empty, combinators::UnsyncBoxBody};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode, header};
use hyper_util::rt::TokioIo;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::path::PathBuf;
use tokio::io::{AsyncRead, AsyncWrite};

pub type ReqBody = UnsyncBoxBody<Bytes, std::io::Error>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    Unix(PathBuf),
    /// `host:port` of an `http://` URL.
    Tcp(String),
}

impl Endpoint {
    /// Parses `unix:///path/to.sock` or `http://host:port`.
    pub fn parse(s: &str) -> Result<Endpoint, ClientError> {
        if let Some(path) = s.strip_prefix("unix://") {
            if path.is_empty() {
                return Err(ClientError::BadEndpoint(s.into()));
            }
            return Ok(Endpoint::Unix(PathBuf::from(path)));
        }
        if let Some(rest) = s.strip_prefix("http://") {
            let authority = rest.trim_end_matches('/');
            if authority.is_empty() || authority.contains('/') {
                return Err(ClientError::BadEndpoint(s.into()));
            }
            let with_port = if authority
                .rsplit_once(':')
                .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
            {
                authority.to_string()
            } else {
                format!("{authority}:80")
            };
            return Ok(Endpoint::Tcp(with_port));
        }
        if s.starts_with("https://") {
            return Err(ClientError::Unsupported(
                "https:// endpoints need TLS, which jobo does not speak yet; use a unix:// socket or http:// behind a TLS proxy".into(),
            ));
        }
        Err(ClientError::BadEndpoint(s.into()))
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Endpoint::Unix(p) => write!(f, "unix://{}", p.display()),
            Endpoint::Tcp(a) => write!(f, "http://{a}"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("invalid host '{0}': use unix:///path/to/jobod.sock or http://host:port")]
    BadEndpoint(String),
    #[error("{0}")]
    Unsupported(String),
    #[error("cannot connect to jobod at {endpoint}: {source}")]
    Connect {
        endpoint: Endpoint,
        source: std::io::Error,
    },
    #[error("connection to jobod failed: {0}")]
    Http(#[from] hyper::Error),
    #[error("{message}")]
    Api { status: StatusCode, message: String },
    #[error("unexpected answer from jobod: {0}")]
    Decode(String),
    #[error("cannot encode the request: {0}")]
    Encode(String),
}

impl From<serde_urlencoded::ser::Error> for ClientError {
    fn from(e: serde_urlencoded::ser::Error) -> ClientError {
        ClientError::Encode(e.to_string())
    }
}

#[derive(Debug, Clone)]
pub struct Client {
    endpoint: Endpoint,
    /// Sent as `Authorization: Bearer …` (an API token on TCP, a node token to a node);
    /// never logged or put in a URL.
    token: Option<String>,
}

pub fn empty() -> ReqBody {
    Empty::new().map_err(|never| match never {}).boxed_unsync()
}

impl Client {
    pub fn new(endpoint: Endpoint) -> Client {
        Client {
            endpoint,
            token: None,
        }
    }

    pub fn with_token(mut self, token: Option<String>) -> Client {
        self.token = token;
        self
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Sends one request on a fresh connection and returns the response, whatever its status.
    pub async fn send(&self, mut req: Request<ReqBody>) -> Result<Response<Incoming>, ClientError> {
        let connect_err = |source| ClientError::Connect {
            endpoint: self.endpoint.clone(),
            source,
        };
        let host = match &self.endpoint {
            Endpoint::Unix(_) => "localhost".to_string(),
            Endpoint::Tcp(a) => a.clone(),
        };
        if let Ok(v) = host.parse() {
            req.headers_mut().insert(header::HOST, v);
        }
        if let Some(v) = self.token.as_deref().and_then(crate::token::bearer) {
            req.headers_mut().insert(header::AUTHORIZATION, v);
        }
        match &self.endpoint {
            Endpoint::Unix(path) => {
                let io = tokio::net::UnixStream::connect(path)
                    .await
                    .map_err(connect_err)?;
                send_on(io, req).await
            }
            Endpoint::Tcp(addr) => {
                let io = tokio::net::TcpStream::connect(addr)
                    .await
                    .map_err(connect_err)?;
                let _ = io.set_nodelay(true);
                send_on(io, req).await
            }
        }
    }

    /// Sends and turns a non-2xx answer into [`ClientError::Api`] with the server's message.
    pub async fn send_ok(&self, req: Request<ReqBody>) -> Result<Response<Incoming>, ClientError> {
        let resp = self.send(req).await?;
        if resp.status().is_success() {
            return Ok(resp);
        }
        let status = resp.status();
        let body = resp.into_body().collect().await?.to_bytes();
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

pub async fn decode<T: DeserializeOwned>(resp: Response<Incoming>) -> Result<T, ClientError> {
    let body = resp.into_body().collect().await?.to_bytes();
    serde_json::from_slice(&body).map_err(|e| ClientError::Decode(e.to_string()))
}

async fn send_on<S>(io: S, req: Request<ReqBody>) -> Result<Response<Incoming>, ClientError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io)).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender.send_request(req).await?)
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
        assert!(Endpoint::parse("unix://").is_err());
        assert!(Endpoint::parse("https://x").is_err());
    }
}
