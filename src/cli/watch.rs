//! Following one job's state from the CLI (`wait`, `submit --wait`, `run`): long polls on
//! the wait route, each change of state printed above the spinner, the queue position (when
//! the server tells it) on the spinner itself.

use super::progress::{say, state_line};
use crate::api::routes::WaitQuery;
use crate::api::{Job, Route};
use crate::client::Client;
use crate::job::{JobId, JobState};
use indicatif::ProgressBar;

/// How often a queued job's position is asked again while a spinner shows it (seconds).
const QUEUED_POLL_SECS: u64 = 5;

/// Long-polls job `id` until it is final, or until it is in `stop_at` (`run` streams the
/// output once the job runs). On a drawn `bar`, each new state is printed above it and the
/// current one (with the queue position) shown on it.
pub async fn watch(
    client: &Client,
    id: JobId,
    bar: &ProgressBar,
    stop_at: Option<JobState>,
) -> anyhow::Result<Job> {
    let shown = !bar.is_hidden();
    // On a drawn bar, the first answer at once, so a queued job is seen queued; else straight
    // to the long poll (one request fewer for a job that ends at once).
    let mut query = WaitQuery {
        timeout: Some(if shown || stop_at.is_some() { 0 } else { 30 }),
        until: None,
    };
    let mut last_state = None;
    loop {
        let raw: serde_json::Value = client.route_with(&Route::Wait(id), &query).await?;
        let job: Job = serde_json::from_value(raw.clone())
            .map_err(|e| anyhow::anyhow!("unexpected answer from jobod: {e}"))?;
        let line = state_line(&job, &raw);
        if last_state != Some(job.state) && shown && !job.state.is_terminal() {
            say(bar, line.clone());
        }
        last_state = Some(job.state);
        bar.set_message(line);
        if job.state.is_terminal() || stop_at == Some(job.state) {
            return Ok(job);
        }
        let queued = matches!(job.state, JobState::Queued | JobState::Dispatched);
        query = match (queued, shown || stop_at.is_some()) {
            // Wake when it starts; on a spinner, also now and then for its position.
            (true, true) => WaitQuery {
                timeout: Some(if shown { QUEUED_POLL_SECS } else { 30 }),
                until: Some(JobState::Running),
            },
            _ => WaitQuery {
                timeout: Some(30),
                until: None,
            },
        };
    }
}
