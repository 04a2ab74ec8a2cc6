//! Picks which queued jobs start, and where.
//!
//! One task sleeps until something may let a job start (submit, completion, cancel), then
//! makes one pass: per service, users with queued jobs take turns, one job each per turn
//! (round-robin, remembered across passes), highest priority then oldest first within a
//! user, while the service's `max_running`, the user's `max_running_per_user` and the
//! worker's free slots allow. Each job goes to the least busy place that serves its service
//! (fewest jobs, then lowest reported load): the embedded worker or a reachable, undrained
//! node. The whole pass is one transaction. A job submitted `--after` others waits until they
//! all succeeded (the store's `head` skips it until then) and fails as "dependency failed"
//! once one of them cannot succeed any more; both read the store, so a restart keeps them.

use crate::backend::Place;
use crate::config::Config;
use crate::job::JobState;
use crate::placement::Placement;
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
        let places = ctx.backends.places();
        let config = ctx.core.config();
        let pass = ctx
            .core
            .store
            .call_short(move |c| {
                let started = pass(c, &config, &places, &mut turns)?;
                Ok((started, turns))
            })
            .await;
        match pass {
            Ok(((started, failed), kept)) => {
                turns = kept;
                for rec in failed {
                    ctx.core.job_changed(&rec.job);
                }
                for rec in started {
                    ctx.core.job_changed(&rec.job);
                    ctx.backends.start(rec);
                }
            }
            Err(e) => {
                tracing::error!("scheduling pass failed: {e}");
                turns = Turns::new();
            }
        }
        tokio::select! {
            _ = ctx.core.events.scheduler_woken() => {}
            _ = shutdown.cancelled() => return,
        }
    }
}

/// One scheduling pass; returns the jobs it moved to `dispatched`, and those it failed
/// because a dependency failed.
fn pass(
    conn: &mut Connection,
    config: &Config,
    places: &[Place],
    turns: &mut Turns,
) -> Result<(Vec<Record>, Vec<Record>), StoreError> {
    let tx = conn.transaction()?;
    let failed = fail_broken_deps(&tx)?;
    let mut per_service: HashMap<String, u32> = HashMap::new();
    let mut per_user: HashMap<(String, String), u32> = HashMap::new();
    let mut used: HashMap<Placement, usize> = HashMap::new();
    for a in store::active_counts(&tx)? {
        *per_service.entry(a.service.clone()).or_default() += a.count;
        *per_user.entry((a.service, a.user)).or_default() += a.count;
        if let Some(node) = a.node {
            *used.entry(node).or_default() += a.count as usize;
        }
    }
    let mut slots: Vec<Slots> = places
        .iter()
        .map(|p| Slots {
            used: used.get(&p.node).copied().unwrap_or(0),
            place: p,
        })
        .collect();
    let mut free: usize = slots.iter().map(|s| s.free()).sum();
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
            let counts = (&mut per_service, &mut per_user);
            match start_one(&tx, config, service, turns, counts, &mut slots) {
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
    Ok((started, failed))
}

/// Fails the queued jobs whose dependencies can no longer all succeed, and then those that
/// depended on them, and so on.
fn fail_broken_deps(tx: &rusqlite::Transaction<'_>) -> Result<Vec<Record>, StoreError> {
    let mut failed = Vec::new();
    loop {
        let broken = store::broken_deps(tx)?;
        if broken.is_empty() {
            return Ok(failed);
        }
        for (id, dep, state) in broken {
            let why = match state {
                Some(state) => format!("dependency failed: job {dep} is {state}"),
                None => format!("dependency failed: job {dep} no longer exists"),
            };
            failed.push(store::transition(tx, id, JobState::Failed, |r| {
                r.job.reason = Some(why)
            })?);
        }
    }
}

/// A place and how many of its slots are taken.
struct Slots<'a> {
    place: &'a Place,
    used: usize,
}

impl Slots<'_> {
    fn free(&self) -> usize {
        self.place.slots.saturating_sub(self.used)
    }
}

/// Running jobs per service, and per (service, user).
type Counts<'a> = (
    &'a mut HashMap<String, u32>,
    &'a mut HashMap<(String, String), u32>,
);

/// Dispatches the next job of `service` in round-robin order, if a quota and a place allow.
fn start_one(
    tx: &rusqlite::Transaction<'_>,
    config: &Config,
    service: &str,
    turns: &mut Turns,
    (per_service, per_user): Counts<'_>,
    slots: &mut [Slots<'_>],
) -> Result<Option<Record>, StoreError> {
    let Some(svc) = config.service(service) else {
        return Ok(None);
    };
    // The least busy place serving the service: fewest jobs, then lowest load.
    let Some(place) = slots
        .iter_mut()
        .filter(|s| s.free() > 0 && s.place.serves(service))
        .min_by(|a, b| {
            (a.used, a.place.load)
                .partial_cmp(&(b.used, b.place.load))
                .unwrap_or(std::cmp::Ordering::Equal)
        })
    else {
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
        let node = place.place.node.clone();
        let rec = store::transition(tx, id, JobState::Dispatched, |r| {
            // A remote attempt is named before it is sent, so the node reports it by that name.
            if !node.is_local() {
                r.payload = Some(uuid::Uuid::new_v4().to_string());
            }
            r.job.node = Some(node);
            r.job.attempts += 1;
        })?;
        place.used += 1;
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
                    ..NewJob::default()
                },
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    fn local(slots: usize) -> Vec<Place> {
        vec![Place {
            node: Placement::Local,
            services: None,
            slots,
            load: 0.0,
        }]
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
            let (started, _) = pass(c, &config, &local(10), &mut turns)?;
            let users: Vec<_> = started.iter().map(|r| r.job.user.as_str()).collect();
            // ann, bob, then ann again; the service cap (3) stops the pass.
            assert_eq!(users, ["ann", "bob", "ann"]);
            // Nothing more fits until a job finishes.
            assert!(pass(c, &config, &local(10), &mut turns)?.0.is_empty());
            // Slots bound a pass too.
            let mut fresh = Turns::new();
            store::transition_now(c, started[0].job.id, JobState::Failed, |_| {})?;
            assert_eq!(pass(c, &config, &local(3), &mut fresh)?.0.len(), 1);
            Ok(())
        })
    }

    #[test]
    fn jobs_go_to_the_least_busy_place_that_serves_them() -> Result<(), StoreError> {
        let dir = tempfile::tempdir().map_err(|e| StoreError::Join(e.to_string()))?;
        let store = Store::open(&dir.path().join("t.db"))?;
        let config = Config::parse("[services.example]", "test")
            .map_err(|e| StoreError::Join(e.to_string()))?;
        let place = |node: &str, services: &[&str], slots, load| Place {
            node: Placement::Node(node.into()),
            services: Some(services.iter().map(|s| s.to_string()).collect()),
            slots,
            load,
        };
        let places = [
            place("a", &["example"], 2, 50.0),
            place("b", &["example"], 3, 10.0),
            place("c", &["other"], 8, 0.0),
        ];
        store.call_sync(|c| {
            submit(c, "ann", 9)?;
            let (started, _) = pass(c, &config, &places, &mut Turns::new())?;
            let nodes: Vec<_> = started
                .iter()
                .filter_map(|r| r.job.node.as_ref().and_then(Placement::node))
                .collect();
            // Lowest load breaks the tie; then fewest jobs; "c" does not serve the service.
            assert_eq!(nodes, ["b", "a", "b", "a", "b"]);
            assert!(started.iter().all(|r| r.payload.is_some()));
            Ok(())
        })
    }
}
