//! The seed-compatible routes, so web portals written for the old system keep working
//! unchanged: same paths, multipart upload (files named as [`multipart::part_path`] says), zip
//! download, `{"id","status","message"}` answers with the seed's status words and messages.
//! Where the seed had a bug jobo answers better; the README lists every difference.

use super::files::current_files;
use super::identity::SeedCaller;
use crate::api::SeedStatus;
use crate::api::routes::job_id;
use crate::http::Body;
use crate::http::download::{Format, archive_response};
use crate::http::respond::{ApiError, json};
use crate::http::{multipart, upload};
use crate::job::{JobId, JobState};
use crate::queue::{self, Caller, QueueError, Upload};
use crate::run_as;
use crate::state::Ctx;
use crate::store::NewJob;
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};

fn status(code: StatusCode, id: JobId, state: JobState, message: String) -> Response<Body> {
    json(
        code,
        &SeedStatus {
            id,
            status: state.seed_word().to_string(),
            message,
        },
    )
}

/// `POST /upload`: multipart files plus `user_id` and `service` fields.
pub async fn upload(ctx: &Ctx, who: &SeedCaller, req: Request<Incoming>) -> Response<Body> {
    upload_inner(ctx, who, req)
        .await
        .unwrap_or_else(|e| e.seed(None))
}

async fn upload_inner(
    ctx: &Ctx,
    who: &SeedCaller,
    req: Request<Incoming>,
) -> Result<Response<Body>, ApiError> {
    // From here on, a refusal lets the client finish sending and read it.
    let req = req.map(upload::UploadBody::new);
    let limits = upload::UploadLimits::new(&ctx.core.config().server);
    upload::check_length(req.headers(), limits.bytes)?;
    let dir = upload::staging_dir(&ctx.core.data.tmp())?;
    let (parts, body) = req.into_parts();
    let form = multipart::receive_multipart(limits, &parts.headers, body, dir.path()).await?;
    let user_id = form
        .fields
        .get("user_id")
        .ok_or_else(|| ApiError::bad_request("Missing user_id field"))?;
    // The seed's user ids are `i32`.
    let user_id: i32 = user_id.trim().parse().map_err(|_| {
        ApiError::bad_request(format!(
            "Invalid user_id, should be a number (got '{user_id}')"
        ))
    })?;
    let service = form
        .fields
        .get("service")
        .ok_or_else(|| ApiError::bad_request("Missing service field"))?
        .trim()
        .to_string();
    let owner = who.owner(user_id);
    ctx.submits.take(&owner)?;
    // The seed's uploads ask for no limits: the service's defaults.
    let config = queue::service(ctx, &service)?;
    let limits = crate::limits::resolve(&service, &config, &Default::default())
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let run_as = run_as::for_submit(&ctx.core.config(), who.socket_uid(), &service);
    let new = NewJob {
        user: owner,
        run_as: Some(run_as),
        service,
        priority: 0,
        limits,
        env: Default::default(),
        input_bytes: form.bytes,
        idempotency_key: parts
            .headers
            .get(crate::api::IDEMPOTENCY_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
    };
    let (job, _) = queue::submit(
        ctx,
        Upload {
            job: new,
            dir,
            digest: None,
        },
    )
    .await?;
    Ok(status(
        StatusCode::CREATED,
        job.id,
        job.state,
        "Job successfully uploaded".into(),
    ))
}

/// Job `id` if `who` may see it and `action` on it; another owner's job is as missing as an
/// unknown id. An admin's action on another user's job goes to the audit log.
async fn visible(
    ctx: &Ctx,
    who: &SeedCaller,
    id: JobId,
    action: &str,
) -> Result<crate::api::Job, QueueError> {
    match who {
        SeedCaller::User(caller) => queue::get_own(ctx, caller, id, action).await,
        SeedCaller::Portal { .. } => {
            let job = queue::get(ctx, id).await?;
            if who.may_see(&job.user) {
                Ok(job)
            } else {
                Err(crate::store::StoreError::NotFound(id).into())
            }
        }
    }
}

/// `GET /download/{id}` (zip when completed, else the status) and `/download_partial/{id}`
/// (zip of the current files, whatever the state).
pub async fn download(ctx: &Ctx, who: &SeedCaller, id: &str, partial: bool) -> Response<Body> {
    let id = match job_id(id) {
        Ok(id) => id,
        Err(e) => return ApiError::from(e).seed(None),
    };
    let action = if partial {
        "download_partial"
    } else {
        "download"
    };
    let job = match visible(ctx, who, id, action).await {
        Ok(job) => job,
        Err(e) => return ApiError::from(e).seed(Some(id)),
    };
    if job.state == JobState::Succeeded || (partial && job.state != JobState::Expired) {
        return match current_files(ctx, &job) {
            Ok(dir) => super::metrics::counted(
                ctx,
                archive_response(dir, Format::Zip, &format!("job-{id}")),
            ),
            Err(e) => e.seed(Some(id)),
        };
    }
    let message = job
        .reason
        .clone()
        .unwrap_or_else(|| format!("Job is {}", job.state));
    status(StatusCode::OK, id, job.state, message)
}

/// `POST /terminate/{id}`: cancels a queued or running job.
pub async fn terminate(ctx: &Ctx, who: &SeedCaller, id: &str) -> Response<Body> {
    let id = match job_id(id) {
        Ok(id) => id,
        Err(e) => return ApiError::from(e).seed(None),
    };
    let job = match visible(ctx, who, id, "terminate").await {
        Ok(job) => job,
        Err(e) => return ApiError::from(e).seed(Some(id)),
    };
    // Who may touch the job was decided just above, by the seed's rules: act as its owner.
    let allowed = Caller {
        user: job.user,
        admin: false,
        actor: who.actor().clone(),
    };
    match queue::cancel(ctx, &allowed, id).await {
        Ok(job) => status(StatusCode::OK, id, job.state, "job terminated".into()),
        Err(QueueError::Conflict(msg)) => match queue::get(ctx, id).await {
            Ok(job) => status(StatusCode::CONFLICT, id, job.state, msg),
            Err(e) => ApiError::from(e).seed(Some(id)),
        },
        Err(e) => ApiError::from(e).seed(Some(id)),
    }
}
