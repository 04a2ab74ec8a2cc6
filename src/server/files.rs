//! Which of a job's directories its results are read from (`/v1/jobs/{id}/results`,
//! `/download/{id}`).

use crate::api::Job;
use crate::http::respond::ApiError;
use crate::job::JobState;
use crate::state::Ctx;
use hyper::StatusCode;
use std::path::PathBuf;

/// The directory whose files make up a job's results right now: the work dir once the job
/// has started, the input before.
pub fn current_files(ctx: &Ctx, job: &Job) -> Result<PathBuf, ApiError> {
    if job.state == JobState::Expired {
        return Err(ApiError::new(
            StatusCode::GONE,
            format!("the files of job {} were removed", job.id),
        ));
    }
    let dir = ctx.core.data.job(job.id);
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
