//! Handlers of job control beyond submit and cancel: names, labels, `--after` and `--array`
//! at submit, lists filtered by them, `restart`, `prune`, and what a queued job waits for.
//! Every one sees only the caller's own jobs unless the caller is an administrator, as the
//! other job routes do (`queue::get_own`).

use crate::api::meta::{self, JobMeta};
use crate::api::routes::{PruneQuery, SubmitQuery, TOTAL_COUNT_HEADER, parse_states};
use crate::api::{Job, Labels, ListQuery, Pruned};
use crate::http::Body;
use crate::http::respond::{ApiError, json, parse_query};
use crate::job::{JobId, JobState};
use crate::queue::{self, Caller, QueueError, Upload};
use crate::state::Ctx;
use crate::store::{self, JobFilter, NewJob, StoreError};
use hyper::{Response, StatusCode};

/// The name, labels, dependencies and array range a submit asks for, checked. Each job of
/// `after` must be one the caller may see.
pub async fn submit_meta(
    ctx: &Ctx,
    who: &Caller,
    q: &SubmitQuery,
) -> Result<(JobMeta, Option<(u32, u32)>), ApiError> {
    let labels = labels_of(q.labels.as_deref())?;
    meta::check(q.name.as_deref(), &labels).map_err(ApiError::bad_request)?;
    let after = match &q.after {
        Some(ids) => meta::parse_ids(ids).map_err(ApiError::bad_request)?,
        None => Vec::new(),
    };
    for id in &after {
        match queue::get_own(ctx, who, *id, "depend on").await {
            Err(QueueError::Store(StoreError::NotFound(_))) => {
                return Err(ApiError::bad_request(format!(
                    "--after {id}: no such job (see `jobo list`)"
                )));
            }
            other => drop(other?),
        }
    }
    let array = q
        .array
        .as_deref()
        .map(meta::parse_array)
        .transpose()
        .map_err(ApiError::bad_request)?;
    let meta = JobMeta {
        name: q.name.clone(),
        labels,
        after,
        ..JobMeta::default()
    };
    Ok((meta, array))
}

/// Labels as a query gives them: a JSON object of strings.
fn labels_of(text: Option<&str>) -> Result<Labels, ApiError> {
    match text {
        Some(text) => serde_json::from_str(text).map_err(|e| {
            ApiError::bad_request(format!(
                "invalid labels: a JSON object of strings is expected ({e})"
            ))
        }),
        None => Ok(Labels::new()),
    }
}

/// `GET /v1/jobs`: an admin's list has everyone's jobs (`?user=` picks one); anyone else's
/// only their own, and asking for another user's is `403`: it would always be empty. The
/// `X-Total-Count` header counts the matches beyond `limit`.
pub async fn list(ctx: &Ctx, who: &Caller, query: &str) -> Result<Response<Body>, ApiError> {
    let q: ListQuery = parse_query(query)?;
    let user = own_user(who, q.user, "list")?;
    let filter = JobFilter {
        states: states_of(q.state.as_deref())?,
        service: q.service,
        user,
        name: q.name,
        labels: labels_of(q.labels.as_deref())?,
        array: q.array,
        finished_before: None,
    };
    let limit = q.limit.unwrap_or(50);
    let (jobs, total) = ctx
        .core
        .store
        .call(move |c| store::list(c, &filter, limit))
        .await?;
    let mut resp = json(StatusCode::OK, &jobs);
    resp.headers_mut()
        .insert(TOTAL_COUNT_HEADER, hyper::header::HeaderValue::from(total));
    Ok(resp)
}

/// The user whose jobs a list or prune is about: the caller's own unless an admin (who may
/// name one, or `None`: everyone's). A non-admin naming another user is `403`.
fn own_user(who: &Caller, asked: Option<String>, what: &str) -> Result<Option<String>, ApiError> {
    if who.admin {
        return Ok(asked);
    }
    if let Some(other) = asked.as_deref().filter(|u| *u != who.user) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            format!(
                "{} may {what} only their own jobs, not {other}'s (an administrator may)",
                who.user
            ),
        ));
    }
    Ok(Some(who.user.clone()))
}

fn states_of(text: Option<&str>) -> Result<Vec<JobState>, ApiError> {
    text.map(parse_states)
        .transpose()
        .map(Option::unwrap_or_default)
        .map_err(ApiError::bad_request)
}

/// `POST /v1/jobs/{id}/restart`: a new job in the same service, with the same limits,
/// variables, name and labels, from the old one's directory as its run left it (its inputs
/// plus what it wrote: jobo keeps no pristine copy after a run). The new job names the old
/// one in `restarted_from` and belongs to the old one's owner.
pub async fn restart(ctx: &Ctx, who: &Caller, id: JobId) -> Result<Response<Body>, ApiError> {
    let old = queue::get_own(ctx, who, id, "restart").await?;
    if !old.state.is_terminal() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!(
                "job {id} is {}; restart it once it ends, or cancel it first (`jobo cancel {id}`)",
                old.state
            ),
        ));
    }
    let dir = ctx.core.data.job(id);
    let source = [dir.work(), dir.input()]
        .into_iter()
        .find(|d| d.is_dir())
        .filter(|_| old.state != JobState::Expired)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::CONFLICT,
                format!(
                    "job {id}'s files were removed ({}); submit its directory again",
                    old.state
                ),
            )
        })?;
    let staged = crate::http::upload::staging_dir(&ctx.core.data.tmp())?;
    let into = staged.path().to_path_buf();
    let copied = tokio::task::spawn_blocking(move || {
        crate::archive::copy_dir(&source, &into)?;
        crate::archive::dir_size(&into)
    })
    .await
    .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    let input_bytes = copied.map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot copy job {id}'s files: {e}"),
        )
    })?;
    let mut env = old.env.clone();
    env.remove(queue::ARRAY_INDEX);
    let new = NewJob {
        user: old.user.clone(),
        service: old.service.clone(),
        priority: old.priority,
        limits: old.requested_limits.clone(),
        env,
        input_bytes,
        idempotency_key: None,
        run_as: old.run_as.clone(),
        meta: JobMeta {
            name: old.meta.name.clone(),
            labels: old.meta.labels.clone(),
            restarted_from: Some(id),
            ..JobMeta::default()
        },
        array: None,
    };
    let (job, _) = queue::submit(
        ctx,
        Upload {
            job: new,
            dir: staged,
            digest: None,
        },
    )
    .await?;
    Ok(json(StatusCode::CREATED, &job))
}

/// `POST /v1/jobs/prune?older_than=D`: deletes finished jobs, their rows and their files
/// (with `dry_run`, only lists them).
pub async fn prune(ctx: &Ctx, who: &Caller, query: &str) -> Result<Response<Body>, ApiError> {
    let q: PruneQuery = parse_query(query)?;
    let age = q
        .older_than
        .as_deref()
        .ok_or_else(|| ApiError::bad_request("missing query parameter 'older_than' (e.g. 7d)"))?;
    let age = humantime::parse_duration(age)
        .map_err(|e| ApiError::bad_request(format!("invalid older_than '{age}': {e}")))?;
    let mut states = states_of(q.state.as_deref())?;
    if let Some(live) = states.iter().find(|s| !s.is_terminal()) {
        return Err(ApiError::bad_request(format!(
            "only finished jobs are pruned, not {live} ones (cancel them first)"
        )));
    }
    if states.is_empty() {
        states = JobState::ALL
            .into_iter()
            .filter(|s| s.is_terminal())
            .collect();
    }
    let filter = JobFilter {
        states,
        user: own_user(who, q.user, "prune")?,
        finished_before: Some(store::now_ms() - age.as_millis() as i64),
        ..JobFilter::default()
    };
    let dry_run = q.dry_run;
    let jobs = ctx
        .core
        .store
        .call(move |c| {
            let tx = c.transaction()?;
            let (jobs, _) = store::list(&tx, &filter, u32::MAX)?;
            if !dry_run {
                let ids: Vec<JobId> = jobs.iter().map(|j| j.id).collect();
                store::delete(&tx, &ids)?;
                tx.commit()?;
            }
            Ok(jobs)
        })
        .await?;
    if !dry_run {
        for job in &jobs {
            queue::remove_files(ctx, job.id).await;
        }
        if !jobs.is_empty() {
            tracing::info!("{} pruned {} jobs", who.user, jobs.len());
        }
    }
    Ok(json(StatusCode::OK, &Pruned { dry_run, jobs }))
}

/// Fills in a queued job's place in the queue and why it waits, from what the scheduler
/// goes by: dependencies, quotas and the places that serve its service.
pub async fn insight(ctx: &Ctx, mut job: Job) -> Result<Job, ApiError> {
    if job.state != JobState::Queued {
        return Ok(job);
    }
    let config = ctx.core.config();
    let places = ctx.backends.places();
    let probe = job.clone();
    let (position, dep, (running, mine), active) = ctx
        .core
        .store
        .call(move |c| {
            Ok((
                store::queue_position(c, &probe)?,
                store::pending_dep(c, probe.id)?,
                store::running_counts(c, &probe.service, &probe.user)?,
                store::active_counts(c)?,
            ))
        })
        .await?;
    let service = &job.service;
    let serving: Vec<_> = places.iter().filter(|p| p.serves(service)).collect();
    let free: usize = serving
        .iter()
        .map(|p| {
            let used: u32 = active
                .iter()
                .filter(|a| a.node.as_ref() == Some(&p.node))
                .map(|a| a.count)
                .sum();
            p.slots.saturating_sub(used as usize)
        })
        .sum();
    let svc = config.service(service);
    let reason = if let Some((dep, state)) = dep {
        format!(
            "waiting for job {dep} to succeed (it is {})",
            state.as_deref().unwrap_or("gone")
        )
    } else if svc.is_none() {
        format!("service {service} is no longer configured")
    } else if serving.is_empty() {
        format!("no node for service {service}: no healthy, undrained worker serves it")
    } else if let Some(max) = svc.and_then(|s| s.max_running).filter(|m| running >= *m) {
        format!("quota: service {service} runs its maximum of {max} jobs (max_running)")
    } else if let Some(max) = svc
        .and_then(|s| s.max_running_per_user)
        .filter(|m| mine >= *m)
    {
        format!(
            "quota: {} runs their maximum of {max} jobs in service {service} (max_running_per_user)",
            job.user
        )
    } else if free == 0 {
        format!("no free slot: every slot that serves service {service} is busy")
    } else if position > 1 {
        format!("{} jobs of service {service} are ahead of it", position - 1)
    } else {
        "about to start".to_string()
    };
    job.meta.queue_position = Some(position);
    job.meta.wait_reason = Some(reason);
    Ok(job)
}
