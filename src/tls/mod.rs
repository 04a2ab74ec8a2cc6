//! TLS for the TCP side of jobo (rustls, ring provider): `jobod serve` and `jobod worker`
//! listeners given `--tls-cert/--tls-key` (`server.rs`), and the client end of `https://`
//! hosts and nodes (`client.rs`): the CLI's `--ca-cert`, the server's `[cluster]` CA and
//! client certificate. PEM files are read in `pem.rs`. The Unix socket never uses TLS: the
//! kernel already vouches for both ends there.

mod client;
mod pem;
mod server;

pub use client::{ClientTls, ClientTlsOptions};
pub use pem::TlsError;
pub use server::ServerTls;

use rustls::crypto::CryptoProvider;
use std::sync::Arc;

/// The one crypto provider, named rather than taken from the process default, so that no
/// other crate enabling another provider can make rustls pick one or panic.
fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}
