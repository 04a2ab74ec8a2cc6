//! Certificates and keys from PEM files, with errors that name the file and what was wrong.

use rustls::RootCertStore;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {what} {path}: {message}", path = .path.display())]
    Read {
        what: &'static str,
        path: PathBuf,
        message: String,
    },
    #[error("{what} {path} holds no PEM certificate", path = .path.display())]
    NoCertificate { what: &'static str, path: PathBuf },
    #[error(
        "cannot use the certificate {cert} with the key {key}: {message}",
        cert = .cert.display(), key = .key.display()
    )]
    Pair {
        cert: PathBuf,
        key: PathBuf,
        message: String,
    },
    #[error("cannot set up TLS: {0}")]
    Config(String),
}

/// A certificate chain with its key, both from PEM files (`what` names the certificate).
pub fn identity(
    cert: &Path,
    key_path: &Path,
    what: &'static str,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), TlsError> {
    Ok((certs(cert, what)?, key(key_path)?))
}

/// [`TlsError::Pair`] from what rustls said of `cert` and `key` together.
pub fn pair_error(cert: &Path, key: &Path, e: rustls::Error) -> TlsError {
    let message = match e {
        rustls::Error::InconsistentKeys(_) => "the key is not the certificate's".to_string(),
        other => other.to_string(),
    };
    TlsError::Pair {
        cert: cert.to_path_buf(),
        key: key.to_path_buf(),
        message,
    }
}

/// Every certificate in `path` (a chain: the leaf first, then its intermediates).
pub fn certs(path: &Path, what: &'static str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let read = |message: String| TlsError::Read {
        what,
        path: path.to_path_buf(),
        message,
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| read(pem_message(e)))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| read(pem_message(e)))?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate {
            what,
            path: path.to_path_buf(),
        });
    }
    Ok(certs)
}

/// The first private key in `path` (PKCS#8, PKCS#1 or SEC1).
pub fn key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| TlsError::Read {
        what: "TLS key",
        path: path.to_path_buf(),
        message: pem_message(e),
    })
}

/// The CA certificates in `path`, as a trust store.
pub fn roots(path: &Path, what: &'static str) -> Result<RootCertStore, TlsError> {
    let mut store = RootCertStore::empty();
    add_roots(&mut store, path, what)?;
    Ok(store)
}

/// Adds the CA certificates in `path` to `store`.
pub fn add_roots(
    store: &mut RootCertStore,
    path: &Path,
    what: &'static str,
) -> Result<(), TlsError> {
    for cert in certs(path, what)? {
        store.add(cert).map_err(|e| TlsError::Read {
            what,
            path: path.to_path_buf(),
            message: format!("not a usable CA certificate: {e}"),
        })?;
    }
    Ok(())
}

fn pem_message(e: rustls::pki_types::pem::Error) -> String {
    use rustls::pki_types::pem::Error;
    match e {
        Error::Io(e) => e.to_string(),
        Error::NoItemsFound => "no PEM item of that kind in it".into(),
        other => format!("not valid PEM ({other:?})"),
    }
}
