//! Handlers of the native JSON API under `/v1`.

use super::files::current_files;
use super::follow::log_response;
use crate::api::routes::{LOG_TIMES_HEADER, ResultsQuery, SubmitQuery, WaitQuery};
use crate::api::{
    CONTENT_BYTES_HEADER, IDEMPOTENCY_HEADER, INPUT_DIGEST_HEADER, LogQuery, Service,
};
use crate::archive;
use crate::http::Body;
use crate::http::download::{Format, archive_response};
use crate::http::respond::{ApiError, json, parse_query};
use crate::http::upload;
use crate::job::JobId;
use crate::jobenv;
use crate::limits;
use crate::paths::LogStream;
use crate::queue::{self, Caller, Upload};
use crate::run_as;
use crate::state::Ctx;
use crate::store::{self, NewJob};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use std::time::Duration;

/// `POST /v1/jobs?service=S`: the body is the job directory as tar (`application/x-tar`, any
/// `Content-Encoding` of [`crate::archive::Encoding`]) or tar.gz (`application/gzip`).
pub async fn submit(
    ctx: &Ctx,
    who: &Caller,
    query: &str,
    req: Request<Incoming>,
) -> Result<Response<Body>, ApiError> {
    // From here on, a refusal lets the client finish sending and read it.
    let req = req.map(upload::UploadBody::new);
    let q: SubmitQuery = parse_query(query)?;
    let service = q
        .service
        .clone()
        .ok_or_else(|| ApiError::bad_request("missing query parameter 'service'"))?;
    let config = queue::service(ctx, &service)?;
    // Refused before the upload is read: the limits and variables asked for.
    let bad = |e: &dyn std::fmt::Display| ApiError::bad_request(e.to_string());
    let request = limits::Request::parse(
        q.timeout.as_deref(),
        q.memory.as_deref(),
        q.cpus.as_deref(),
        q.pids.as_deref(),
    )
    .map_err(|e| bad(&e))?;
    let requested_limits = limits::resolve(&service, &config, &request).map_err(|e| bad(&e))?;
    let env: jobenv::Vars = match &q.env {
        Some(text) => serde_json::from_str(text).map_err(|e| {
            ApiError::bad_request(format!(
                "invalid env: a JSON object of strings is expected ({e})"
            ))
        })?,
        None => jobenv::Vars::new(),
    };
    jobenv::check(&service, &config, &env).map_err(|e| bad(&e))?;
    let (meta, array) = super::control::submit_meta(ctx, who, &q).await?;
    let key = req
        .headers()
        .get(IDEMPOTENCY_HEADER)
        .map(|v| {
            v.to_str()
                .ok()
                .filter(|k| !k.is_empty() && k.len() <= 200)
                .map(str::to_string)
                .ok_or_else(|| ApiError::bad_request("invalid Idempotency-Key header"))
        })
        .transpose()?;
    let claimed = req
        .headers()
        .get(INPUT_DIGEST_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    // A retried submit is answered without reading (or storing) the upload again, when the
    // client says what it sends; without that, the upload is read and compared below.
    if let Some(job) = queue::find_idempotent(ctx, &who.user, key.as_deref()).await? {
        match (queue::input_digest(ctx, job.id).await?, claimed) {
            (Some(kept), Some(claimed)) if kept != claimed => {
                return Err(key_reused(key.as_deref(), &job));
            }
            (Some(_), None) => {}
            _ => return Ok(json(StatusCode::OK, &job)),
        }
    }
    ctx.submits.take(&who.user)?;
    let limits = upload::UploadLimits::new(&ctx.core.config().server);
    upload::check_length(req.headers(), limits.bytes)?;
    let encoding = upload::tar_encoding(req.headers())?;
    let tmp = ctx.core.data.tmp();
    let dir = upload::staging_dir(&tmp)?;
    let input_bytes =
        upload::receive_tar(limits, encoding, req.into_body(), &tmp, dir.path()).await?;
    let digest = match key {
        Some(_) => {
            let staged = dir.path().to_path_buf();
            let digest = tokio::task::spawn_blocking(move || archive::tree_digest(&staged))
                .await
                .map_err(std::io::Error::other)
                .and_then(|d| d);
            Some(digest.map_err(archive::ArchiveError::Io)?)
        }
        None => None,
    };
    let given_key = key.clone();
    let new = NewJob {
        user: who.user.clone(),
        run_as: Some(run_as::for_submit(
            &ctx.core.config(),
            who.socket_uid(),
            &service,
        )),
        service,
        priority: q.priority,
        limits: requested_limits,
        env,
        input_bytes,
        idempotency_key: key,
        meta,
        array,
    };
    let (job, created) = queue::submit(
        ctx,
        Upload {
            job: new,
            dir,
            digest: digest.clone(),
        },
    )
    .await?;
    if created {
        return Ok(json(StatusCode::CREATED, &job));
    }
    // The key named a job already: the same one only for the same content.
    match queue::input_digest(ctx, job.id).await? {
        Some(kept) if Some(&kept) != digest.as_ref() => Err(key_reused(given_key.as_deref(), &job)),
        _ => Ok(json(StatusCode::OK, &job)),
    }
}

/// `409` for an idempotency key reused with other content than its job's.
fn key_reused(key: Option<&str>, job: &crate::api::Job) -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        format!(
            "the idempotency key '{}' was used for job {} with other content: use a new key \
             for a new job (the same directory with this key gives job {} again)",
            key.unwrap_or_default(),
            job.id,
            job.id
        ),
    )
}

pub async fn get(ctx: &Ctx, who: &Caller, id: JobId) -> Result<Response<Body>, ApiError> {
    let mut job = queue::get_own(ctx, who, id, "status").await?;
    // What its Slurm node last said of its Slurm job (kept by the node's link, not stored).
    if let Some(crate::placement::Placement::Node(name)) = &job.node {
        job.slurm = ctx
            .backends
            .cluster()
            .get(name)
            .and_then(|n| n.slurm_job(job.id));
    }
    Ok(json(
        StatusCode::OK,
        &super::control::insight(ctx, job).await?,
    ))
}

pub async fn wait(
    ctx: &Ctx,
    who: &Caller,
    id: JobId,
    query: &str,
) -> Result<Response<Body>, ApiError> {
    let q: WaitQuery = parse_query(query)?;
    let limit = Duration::from_secs(q.timeout.unwrap_or(60).min(3600));
    Ok(json(
        StatusCode::OK,
        &queue::wait(ctx, who, id, q.until, limit).await?,
    ))
}

pub async fn cancel(ctx: &Ctx, who: &Caller, id: JobId) -> Result<Response<Body>, ApiError> {
    Ok(json(StatusCode::OK, &queue::cancel(ctx, who, id).await?))
}

pub async fn remove(ctx: &Ctx, who: &Caller, id: JobId) -> Result<Response<Body>, ApiError> {
    Ok(json(StatusCode::OK, &queue::remove(ctx, who, id).await?))
}

pub async fn logs(
    ctx: &Ctx,
    who: &Caller,
    id: JobId,
    which: LogStream,
    query: &str,
) -> Result<Response<Body>, ApiError> {
    let q: LogQuery = parse_query(query)?;
    let job = queue::get_own(ctx, who, id, "logs").await?; // 404 for an unknown job or another user's
    let untimed = q.timed() && !has_times(ctx, &job, which).await;
    let mut resp = log_response(ctx.clone(), id, which, q, untimed);
    if untimed {
        resp.headers_mut().insert(
            LOG_TIMES_HEADER,
            hyper::header::HeaderValue::from_static("none"),
        );
    }
    Ok(resp)
}

/// Whether the lines of `job`'s log have times: not where Slurm writes it (on a Slurm node),
/// nor where it has bytes but no index (written before jobo kept one).
async fn has_times(ctx: &Ctx, job: &crate::api::Job, which: LogStream) -> bool {
    if let Some(crate::placement::Placement::Node(name)) = &job.node
        && let Some(node) = ctx.backends.cluster().get(name)
        && node.live().backend == Some(crate::protocol::NodeBackend::Slurm)
    {
        return false;
    }
    let log = ctx.core.data.job(job.id).log(which);
    let index = crate::logtime::index_of(&log);
    tokio::task::spawn_blocking(move || {
        let written = std::fs::metadata(&log).is_ok_and(|m| m.len() > 0);
        !written || index.exists()
    })
    .await
    .unwrap_or(true)
}

/// `GET /v1/jobs/{id}/results`: the work dir of a finished job.
pub async fn results(
    ctx: &Ctx,
    who: &Caller,
    id: JobId,
    query: &str,
    headers: &hyper::HeaderMap,
) -> Result<Response<Body>, ApiError> {
    let q: ResultsQuery = parse_query(query)?;
    let format = Format::parse(q.format.as_deref(), headers)?;
    let job = queue::get_own(ctx, who, id, "fetch").await?;
    if !job.state.is_terminal() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!(
                "job {id} is {}; results are ready when it ends (`jobo wait {id}`)",
                job.state
            ),
        ));
    }
    let dir = current_files(ctx, &job)?;
    let mut resp = archive_response(dir, format, &format!("job-{id}"));
    if let Some(bytes) = job.output_bytes {
        resp.headers_mut().insert(
            CONTENT_BYTES_HEADER,
            hyper::header::HeaderValue::from(bytes),
        );
    }
    Ok(super::metrics::counted(ctx, resp))
}

pub async fn services(ctx: &Ctx) -> Result<Response<Body>, ApiError> {
    let config = ctx.core.config();
    let list = ctx
        .core
        .store
        .call(move |c| {
            config
                .services
                .iter()
                .map(|(name, s)| {
                    let (queued, running) = store::service_counts(c, name)?;
                    Ok(Service {
                        name: name.clone(),
                        max_running: s.max_running,
                        max_running_per_user: s.max_running_per_user,
                        timeout_secs: s.timeout.map(|t| t.as_secs()),
                        default_limits: crate::limits::defaults(s),
                        max_limits: crate::limits::maxima(s),
                        retention_secs: s.retention.as_secs(),
                        max_attempts: s.max_attempts,
                        queued,
                        running,
                    })
                })
                .collect::<Result<Vec<_>, store::StoreError>>()
        })
        .await?;
    Ok(json(StatusCode::OK, &list))
}
