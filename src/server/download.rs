//! Results as archives, packed while they stream out (tar.gz for the CLI, zip for portals).

use super::respond::{ApiError, Body, stream};
use crate::api::Job;
use crate::archive;
use crate::bridge::stream_from_blocking;
use crate::job::JobState;
use crate::state::Ctx;
use hyper::{Response, StatusCode, header};
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

/// The directory whose files make up a job's results right now: the work dir once the job
/// has started, the input before.
pub fn current_files(ctx: &Ctx, job: &Job) -> Result<PathBuf, ApiError> {
    if job.state == JobState::Expired {
        return Err(ApiError::new(
            StatusCode::GONE,
            format!("the files of job {} were removed", job.id),
        ));
    }
    let dir = ctx.data.job(job.id);
    for candidate in [dir.work(), dir.input()] {
        if candidate.is_dir() {
            return Ok(candidate);
        }
    }
    Err(ApiError::new(
        StatusCode::NOT_FOUND,
        format!("job {} has no files", job.id),
    ))
}

pub fn archive_response(dir: PathBuf, format: Format, name: &str) -> Response<Body> {
    let (content_type, ext) = match format {
        Format::TarGz => ("application/gzip", "tar.gz"),
        Format::Zip => ("application/zip", "zip"),
    };
    let chunks = stream_from_blocking(move |w| match format {
        Format::TarGz => archive::pack_tgz(&dir, w),
        Format::Zip => archive::pack_zip(&dir, w),
    });
    let mut resp = stream(content_type, chunks);
    if let Ok(v) = format!("attachment; filename=\"{name}.{ext}\"").parse() {
        resp.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    resp
}
