//! The server end: a listener's certificate and key, and for a worker node optionally the CA
//! whose client certificates it requires (`--tls-client-ca`). The handshake runs in the
//! connection's own task, bounded in time, so a slow or hostile client never holds up the
//! accept loop.

use super::pem::{self, TlsError};
use rustls::ServerConfig;
use rustls::server::WebPkiClientVerifier;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// How long a client may take over the handshake before it is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct ServerTls {
    acceptor: TlsAcceptor,
    /// Whether clients must present a certificate signed by the client CA.
    client_auth: bool,
}

impl ServerTls {
    /// The certificate chain in `cert`, its key in `key`, and when `client_ca` is given, a
    /// client certificate signed by that CA required of every client.
    pub fn load(cert: &Path, key: &Path, client_ca: Option<&Path>) -> Result<ServerTls, TlsError> {
        let (chain, key_der) = pem::identity(cert, key, "TLS certificate")?;
        let provider = super::provider();
        let builder = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Config(e.to_string()))?;
        let builder = match client_ca {
            Some(path) => {
                let roots = Arc::new(pem::roots(path, "client CA")?);
                let verifier = WebPkiClientVerifier::builder_with_provider(roots, provider)
                    .build()
                    .map_err(|e| TlsError::Config(format!("client CA {}: {e}", path.display())))?;
                builder.with_client_cert_verifier(verifier)
            }
            None => builder.with_no_client_auth(),
        };
        let mut config = builder
            .with_single_cert(chain, key_der)
            .map_err(|e| pem::pair_error(cert, key, e))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(ServerTls {
            acceptor: TlsAcceptor::from(Arc::new(config)),
            client_auth: client_ca.is_some(),
        })
    }

    pub fn requires_client_cert(&self) -> bool {
        self.client_auth
    }

    /// The handshake on an accepted connection, given up after [`HANDSHAKE_TIMEOUT`].
    pub async fn accept(&self, stream: TcpStream) -> std::io::Result<TlsStream<TcpStream>> {
        match tokio::time::timeout(HANDSHAKE_TIMEOUT, self.acceptor.accept(stream)).await {
            Ok(res) => res,
            Err(_) => Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "no TLS handshake within 10 s",
            )),
        }
    }
}
