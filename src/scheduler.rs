//! Picks which queued jobs start, and where (design §5).
//!
//! One task sleeps until something may let a job start (submit, completion, cancel), then
//! makes one pass: per service, users with queued jobs take turns, one job each per turn
//! (round-robin, remembered across passes), highest priority then oldest first within a
//! user, while the service's `max_running`, the user's `max_running_per_user` and the
//! worker's free slots allow. The whole pass is one transaction.

use crate::config::Config;
use crate::job::JobState;
use crate::local_worker::LocalWorker;
use crate::state::Ctx;
use crate::store::{self, Record, StoreError};
use rusqlite::Connection;
use std::collections::HashMap;
use tokio_util::sync::CancellationToken;

/// Round-robin position: per service, the user who was served last.
type Turns = HashMap<String, String>;

pub async fn run(ctx: Ctx, shutdown: CancellationToken) {
    let mut turns = Turns::new();
    loop {
        let slots = ctx.worker.as_ref().map_or(0, |w| w.slots());
        let config = ctx.config.clone();
        let pass = ctx
            .store
            .call(move |c| {
                let started = pass(c, &config, slots, &mut turns)?;
                Ok((started, turns))
            })
            .await;
        match pass {
            Ok((started, kept)) => {
                turns = kept;
                for rec in started {
                    ctx.events.job_changed(rec.job.id, rec.job.state);
                    if let Some(worker) = &ctx.worker {
                        worker.start(ctx.clone(), rec);
                    }
                }
            }
            Err(e) => {
                tracing::error!("scheduling pass failed: {e}");
                turns = Turns::new();
            }
        }
        tokio::select! {
            _ = ctx.events.scheduler_woken() => {}
            _ = shutdown.cancelled() => return,
        }
    }
}

/// One scheduling pass; returns the jobs it moved to `dispatched`.
fn pass(
    conn: &mut Connection,
    config: &Config,
    slots: usize,
    turns: &mut Turns,
) -> Result<Vec<Record>, StoreError> {
    let tx = conn.transaction()?;
    let mut per_service: HashMap<String, u32> = HashMap::new();
    let mut per_user: HashMap<(String, String), u32> = HashMap::new();
    let mut used = 0usize;
    for a in store::active_counts(&tx)? {
        *per_service.entry(a.service.clone()).or_default() += a.count;
        *per_user.entry((a.service, a.user)).or_default() += a.count;
        if a.node == LocalWorker::NODE {
            used += a.count as usize;
        }
    }
    let mut free = slots.saturating_sub(used);
    let mut started = Vec::new();
    let services = store::queued_services(&tx)?;
    // Services with nothing that can start drop out; the rest take turns for the slots.
    let mut open: Vec<&str> = services
        .iter()
        .map(String::as_str)
        .filter(|s| config.service(s).is_some())
        .collect();
    while free > 0 && !open.is_empty() {
        open.retain(|service| {
            if free == 0 {
                return true;
            }
            match start_one(&tx, config, service, turns, &mut per_service, &mut per_user) {
                Ok(Some(rec)) => {
                    free -= 1;
                    started.push(rec);
                    true
                }
                Ok(None) => false,
                Err(e) => {
                    tracing::error!("scheduling service {service}: {e}");
                    false
                }
            }
        });
    }
    tx.commit()?;
    Ok(started)
}

/// Dispatches the next job of `service` in round-robin order, if any quota allows one.
fn start_one(
    tx: &rusqlite::Transaction<'_>,
    config: &Config,
    service: &str,
    turns: &mut Turns,
    per_service: &mut HashMap<String, u32>,
    per_user: &mut HashMap<(String, String), u32>,
) -> Result<Option<Record>, StoreError> {
    let Some(svc) = config.service(service) else {
        return Ok(None);
    };
    let running = per_service.get(service).copied().unwrap_or(0);
    if svc.max_running.is_some_and(|max| running >= max) {
        return Ok(None);
    }
    let users = store::queued_users(tx, service)?;
    // Start after the user served last, wrapping around.
    let split = match turns.get(service) {
        Some(last) => users.partition_point(|u| u <= last),
        None => 0,
    };
    let order = users[split..].iter().chain(&users[..split]);
    for user in order {
        let key = (service.to_string(), user.clone());
        let mine = per_user.get(&key).copied().unwrap_or(0);
        if svc.max_running_per_user.is_some_and(|max| mine >= max) {
            continue;
        }
        let Some(id) = store::head(tx, service, user)? else {
            continue;
        };
        let rec = store::transition(tx, id, JobState::Dispatched, |r| {
            r.job.node = Some(LocalWorker::NODE.to_string());
            r.job.attempts += 1;
        })?;
        *per_service.entry(service.to_string()).or_default() += 1;
        *per_user.entry(key).or_default() += 1;
        turns.insert(service.to_string(), user.clone());
        return Ok(Some(rec));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{NewJob, Store};

    fn submit(c: &mut Connection, user: &str, n: usize) -> Result<(), StoreError> {
        let tx = c.transaction()?;
        for _ in 0..n {
            store::insert(
                &tx,
                &NewJob {
                    user: user.into(),
                    service: "example".into(),
                    priority: 0,
                    timeout_secs: None,
                    input_bytes: 0,
                    idempotency_key: None,
                },
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    #[test]
    fn users_take_turns_within_quotas() -> Result<(), StoreError> {
        let dir = tempfile::tempdir().map_err(|e| StoreError::Join(e.to_string()))?;
        let store = Store::open(&dir.path().join("t.db"))?;
        let config = Config::parse(
            "[services.example]\nmax_running = 3\nmax_running_per_user = 2",
            "test",
        )
        .map_err(|e| StoreError::Join(e.to_string()))?;
        store.call_sync(|c| {
            submit(c, "ann", 5)?;
            submit(c, "bob", 1)?;
            let mut turns = Turns::new();
            let started = pass(c, &config, 10, &mut turns)?;
            let users: Vec<_> = started.iter().map(|r| r.job.user.as_str()).collect();
            // ann, bob, then ann again; the service cap (3) stops the pass.
            assert_eq!(users, ["ann", "bob", "ann"]);
            // Nothing more fits until a job finishes.
            assert!(pass(c, &config, 10, &mut turns)?.is_empty());
            // Slots bound a pass too.
            let mut fresh = Turns::new();
            store::transition_now(c, started[0].job.id, JobState::Failed, |_| {})?;
            assert_eq!(pass(c, &config, 3, &mut fresh)?.len(), 1);
            Ok(())
        })
    }
}
