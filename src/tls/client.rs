//! The client end of `https://`: which CAs to trust, which certificate to show, and a
//! handshake failure told in one line that names the host and the fix.
//!
//! `jobo --ca-cert F` trusts that CA alone (as `curl --cacert` does, and without reading the
//! system's store at every start); without it, the system's trusted CAs
//! (rustls-native-certs: what `update-ca-certificates` installed, a site's own CA included).
//! The server trusts the system's CAs plus `[cluster] ca_cert` for its nodes, which may differ,
//! and shows `[cluster] client_cert` to nodes that require one.

use super::pem::{self, TlsError};
use rustls::pki_types::ServerName;
use rustls::{CertificateError, ClientConfig, RootCertStore};
use std::path::Path;
use std::sync::Arc;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

/// A client TLS configuration and how to tell its user to fix a failed handshake.
#[derive(Clone)]
pub struct ClientTls {
    connector: TlsConnector,
    /// How to trust another CA, in this program's words (a flag, or a config key).
    trust_hint: &'static str,
    /// How to show a client certificate, in this program's words.
    identity_hint: &'static str,
}

/// Where [`ClientTls`] takes its trust and identity from.
pub struct ClientTlsOptions<'a> {
    pub ca_cert: Option<&'a Path>,
    /// Trust the system's CAs as well as (or, without `ca_cert`, instead of) `ca_cert`.
    pub system_roots: bool,
    /// A client certificate chain and its key, for servers that require one.
    pub identity: Option<(&'a Path, &'a Path)>,
    pub trust_hint: &'static str,
    pub identity_hint: &'static str,
}

impl ClientTls {
    /// `jobo`'s: the CA file given (`--ca-cert`, `JOBO_CA_CERT`) alone, else the system's CAs.
    pub fn for_cli(ca_cert: Option<&Path>) -> Result<ClientTls, TlsError> {
        ClientTls::new(&ClientTlsOptions {
            ca_cert,
            system_roots: ca_cert.is_none(),
            identity: None,
            trust_hint: match ca_cert {
                Some(_) => {
                    "the --ca-cert (or JOBO_CA_CERT) file holds another CA; give the one that signed it"
                }
                None => "pass --ca-cert FILE (or set JOBO_CA_CERT) with the CA that signed it",
            },
            identity_hint: "the server requires a client certificate, which jobo does not send",
        })
    }

    /// The server's, for `https://` nodes: the system's CAs plus `[cluster] ca_cert`, and
    /// `[cluster] client_cert/client_key` shown to nodes that require a client certificate.
    pub fn for_nodes(
        ca_cert: Option<&Path>,
        identity: Option<(&Path, &Path)>,
    ) -> Result<ClientTls, TlsError> {
        ClientTls::new(&ClientTlsOptions {
            ca_cert,
            system_roots: true,
            identity,
            trust_hint: "set [cluster] ca_cert in jobod.toml to the CA that signed it",
            identity_hint: "it wants a client certificate signed by its --tls-client-ca: set \
                            [cluster] client_cert and client_key in jobod.toml",
        })
    }

    pub fn new(opts: &ClientTlsOptions) -> Result<ClientTls, TlsError> {
        let mut roots = RootCertStore::empty();
        if opts.system_roots {
            let found = rustls_native_certs::load_native_certs();
            for e in &found.errors {
                tracing::debug!("system CA certificates: {e}");
            }
            let (added, ignored) = roots.add_parsable_certificates(found.certs);
            tracing::debug!("{added} system CA certificates ({ignored} unusable)");
        }
        if let Some(path) = opts.ca_cert {
            pem::add_roots(&mut roots, path, "CA certificate")?;
        }
        let builder = ClientConfig::builder_with_provider(super::provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Config(e.to_string()))?
            .with_root_certificates(roots);
        let mut config = match opts.identity {
            Some((cert, key)) => {
                let (chain, key_der) = pem::identity(cert, key, "client certificate")?;
                builder
                    .with_client_auth_cert(chain, key_der)
                    .map_err(|e| pem::pair_error(cert, key, e))?
            }
            None => builder.with_no_client_auth(),
        };
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(ClientTls {
            connector: TlsConnector::from(Arc::new(config)),
            trust_hint: opts.trust_hint,
            identity_hint: opts.identity_hint,
        })
    }

    /// The handshake with `authority` (`host:port`, the name its certificate must hold) on
    /// `tcp`; a failure comes back as one line naming the host and the fix.
    pub async fn connect(
        &self,
        authority: &str,
        tcp: TcpStream,
    ) -> Result<TlsStream<TcpStream>, String> {
        let host = host_of(authority);
        let name = ServerName::try_from(host.to_string())
            .map_err(|_| format!("'{host}' is not a host name TLS can check"))?;
        self.connector.connect(name, tcp).await.map_err(|e| {
            self.explain(authority, &e)
                .unwrap_or_else(|| format!("TLS handshake with {authority} failed: {e}"))
        })
    }

    /// One line saying what went wrong with TLS on a connection to `authority` and what to do,
    /// when `err` (or an error it wraps) is a TLS error; `None` otherwise.
    pub fn explain(
        &self,
        authority: &str,
        err: &(dyn std::error::Error + 'static),
    ) -> Option<String> {
        let host = host_of(authority);
        let Some(tls) = rustls_error(err) else {
            // A TLS server that got plain HTTP, or an HTTP server that got a handshake, hangs up.
            return is_eof(err).then(|| {
                format!(
                    "{authority} closed the connection during the TLS handshake: is it serving \
                     plain HTTP? then use http://{authority}"
                )
            });
        };
        use rustls::AlertDescription as A;
        use rustls::Error as E;
        Some(match tls {
            E::InvalidCertificate(c) => match c {
                CertificateError::UnknownIssuer => format!(
                    "the TLS certificate of {authority} is not signed by a CA jobo trusts: {}",
                    self.trust_hint
                ),
                CertificateError::NotValidForName
                | CertificateError::NotValidForNameContext { .. } => format!(
                    "the TLS certificate of {authority} is not valid for the name '{host}': use \
                     a name it holds, or reissue it for '{host}'"
                ),
                CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                    format!("the TLS certificate of {authority} has expired: renew it")
                }
                other => format!("the TLS certificate of {authority} is refused: {other:?}"),
            },
            E::InvalidMessage(_) | E::InappropriateMessage { .. } => format!(
                "{authority} does not speak TLS (is it plain HTTP? then use http://{authority})"
            ),
            E::AlertReceived(
                alert @ (A::CertificateRequired
                | A::BadCertificate
                | A::UnknownCA
                | A::HandshakeFailure),
            ) => format!(
                "{authority} refused the TLS connection ({alert:?}): {}",
                self.identity_hint
            ),
            other => format!("TLS with {authority} failed: {other}"),
        })
    }
}

/// The host of `host:port` (`[::1]:443` → `::1`).
fn host_of(authority: &str) -> &str {
    let host = authority
        .rsplit_once(':')
        .filter(|(_, port)| port.parse::<u16>().is_ok())
        .map_or(authority, |(host, _)| host);
    host.trim_start_matches('[').trim_end_matches(']')
}

/// The rustls error in `err`'s chain. `io::Error::source` skips the error it wraps, so each
/// `io::Error` is opened by hand.
fn rustls_error<'a>(err: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    let mut next = Some(err);
    while let Some(e) = next {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        if let Some(inner) = e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        {
            return Some(inner);
        }
        next = e.source();
    }
    None
}

fn is_eof(err: &(dyn std::error::Error + 'static)) -> bool {
    err.downcast_ref::<std::io::Error>()
        .is_some_and(|e| e.kind() == std::io::ErrorKind::UnexpectedEof)
}

#[cfg(test)]
mod tests {
    use super::host_of;

    #[test]
    fn hosts_of_authorities() {
        assert_eq!(host_of("node1:9000"), "node1");
        assert_eq!(host_of("127.0.0.1:443"), "127.0.0.1");
        assert_eq!(host_of("[::1]:9000"), "::1");
        assert_eq!(host_of("example.org"), "example.org");
    }
}
