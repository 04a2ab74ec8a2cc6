//! `jobo cancel` and `jobo rm`: act on each id, report each, fail if any failed.

use super::output::outln;
use super::output::print_json;
use super::parse_id;
use crate::api::{Job, Route};
use crate::client::Client;

/// Acts on each id, printing `line` of each job it answers (or, with `json`, all of them).
pub(super) async fn each(
    ids: &[String],
    json: bool,
    line: fn(&Job) -> String,
    act: impl AsyncFn(i64) -> Result<Job, crate::client::ClientError>,
) -> anyhow::Result<i32> {
    let mut failed = false;
    let mut done = Vec::new();
    for id in ids {
        let result = match parse_id(id) {
            Ok(id) => act(id).await.map_err(anyhow::Error::from),
            Err(e) => Err(e),
        };
        match result {
            Ok(job) => {
                if !json {
                    outln!("{}", line(&job));
                }
                done.push(job);
            }
            Err(e) => {
                eprintln!("jobo: error: {e}");
                failed = true;
            }
        }
    }
    if json {
        print_json(&done)?;
    }
    Ok(if failed { 1 } else { 0 })
}

pub async fn cancel(client: &Client, ids: &[String], json: bool) -> anyhow::Result<i32> {
    each(ids, json, id_state, async |id| {
        client.route(&Route::Cancel(id)).await
    })
    .await
}

pub async fn remove(client: &Client, ids: &[String], json: bool) -> anyhow::Result<i32> {
    each(ids, json, id_state, async |id| {
        client.route(&Route::RemoveJob(id)).await
    })
    .await
}

fn id_state(job: &Job) -> String {
    format!("{} {}", job.id, job.state)
}
