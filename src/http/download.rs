//! Results as archives, packed while they stream out: tar (plain, gzip or zstd, as the
//! client accepts) for the CLI and nodes, tar.gz by default, zip for portals.

use super::Body;
use super::respond::{ApiError, stream};
use crate::archive::{self, Encoding, media};
use crate::bridge::stream_from_blocking;
use hyper::{HeaderMap, Response, header};
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    TarGz,
    Zip,
    /// `application/x-tar` with this `Content-Encoding`.
    Tar(Encoding),
}

impl Format {
    /// `?format=`: `tar.gz` (the default), `zip`, or `tar`, encoded as the request's
    /// `Accept-Encoding` allows (see [`Encoding::negotiate`]).
    pub fn parse(s: Option<&str>, headers: &HeaderMap) -> Result<Format, ApiError> {
        match s {
            None | Some("tar.gz") | Some("tgz") => Ok(Format::TarGz),
            Some("zip") => Ok(Format::Zip),
            Some("tar") => Ok(Format::Tar(accepted(headers))),
            Some(other) => Err(ApiError::bad_request(format!(
                "unknown results format '{other}' (tar.gz, tar or zip)"
            ))),
        }
    }
}

/// The encoding a request's `Accept-Encoding` asks for.
pub fn accepted(headers: &HeaderMap) -> Encoding {
    Encoding::negotiate(
        headers
            .get(header::ACCEPT_ENCODING)
            .and_then(|v| v.to_str().ok()),
    )
}

/// A job's directory (its results, or its input before it ran) packed as it streams out, as
/// an attachment named `name` plus the format's extension. Read as a job's tree: no link is
/// followed and no file of another owner is read ([`archive::Trust::Job`]).
pub fn archive_response(dir: PathBuf, format: Format, name: &str) -> Response<Body> {
    let chunks = stream_from_blocking(move |w| match format {
        Format::TarGz => archive::pack_tgz(&dir, archive::Trust::Job, w),
        Format::Zip => archive::pack_zip(&dir, archive::Trust::Job, w),
        Format::Tar(e) => archive::pack_tar(&dir, archive::Trust::Job, e, w),
    });
    let (content_type, ext) = match format {
        Format::TarGz => (media::TGZ, "tar.gz"),
        Format::Zip => ("application/zip", "zip"),
        Format::Tar(_) => (media::TAR, "tar"),
    };
    let mut resp = stream(content_type, chunks);
    if let Format::Tar(e) = format {
        tar_encoded(&mut resp, e);
    }
    if let Ok(v) = format!("attachment; filename=\"{name}.{ext}\"").parse() {
        resp.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    resp
}

/// Says `Content-Encoding` on a tar answer (none for `identity`).
pub fn tar_encoded(resp: &mut Response<Body>, encoding: Encoding) {
    if encoding != Encoding::Identity {
        resp.headers_mut().insert(
            header::CONTENT_ENCODING,
            header::HeaderValue::from_static(encoding.token()),
        );
    }
}
