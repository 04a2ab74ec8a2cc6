//! Results as archives, packed while they stream out (tar.gz for the CLI, zip for portals).

use super::Body;
use super::respond::{ApiError, stream};
use crate::archive;
use crate::bridge::stream_from_blocking;
use hyper::{Response, header};
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    TarGz,
    Zip,
}

impl Format {
    pub fn parse(s: Option<&str>) -> Result<Format, ApiError> {
        match s {
            None | Some("tar.gz") | Some("tgz") => Ok(Format::TarGz),
            Some("zip") => Ok(Format::Zip),
            Some(other) => Err(ApiError::bad_request(format!(
                "unknown results format '{other}' (tar.gz or zip)"
            ))),
        }
    }
}

/// A job's directory (its results, or its input before it ran) packed as it streams out, as
/// an attachment named `name` plus the format's extension. Read as a job's tree: no link is
/// followed and no file of another owner is read ([`archive::Trust::Job`]).
pub fn archive_response(dir: PathBuf, format: Format, name: &str) -> Response<Body> {
    let (content_type, ext) = match format {
        Format::TarGz => ("application/gzip", "tar.gz"),
        Format::Zip => ("application/zip", "zip"),
    };
    let chunks = stream_from_blocking(move |w| match format {
        Format::TarGz => archive::pack_tgz(&dir, archive::Trust::Job, w),
        Format::Zip => archive::pack_zip(&dir, archive::Trust::Job, w),
    });
    let mut resp = stream(content_type, chunks);
    if let Ok(v) = format!("attachment; filename=\"{name}.{ext}\"").parse() {
        resp.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    resp
}
