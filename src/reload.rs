//! SIGHUP: read `jobod.toml` again and apply what can change while jobod runs, saying what
//! changed. Services (quotas, limits, retention, environment, validator) and the `[server]`
//! settings read per request or per run are replaced; what was bound or built at start
//! (listeners and TLS, the connection limit, the submit rate, the local worker, `[cluster]`,
//! `[[nodes]]`) keeps its running value, with a warning that a restart applies it. A file that
//! does not parse changes nothing.

use crate::config::{Config, ConfigError};
use crate::core::Core;
use std::fmt::Debug;
use std::path::Path;
use std::sync::Arc;

/// What a reload did, for the log.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Changes {
    /// What now applies: `service 'x' added`, `server.kill_grace changed`, …
    pub applied: Vec<String>,
    /// What changed in the file but waits for a restart.
    pub kept: Vec<String>,
}

/// Reads `path` (or the built-in default when `path` is `None`), puts the result in place
/// and wakes the scheduler (quotas may have grown).
pub fn reload(core: &Core, path: Option<&Path>) -> Result<Changes, ConfigError> {
    let new = match path {
        Some(path) => Config::load(path, true)?,
        None => Config::default(),
    };
    let old = core.config();
    let (merged, changes) = merge(&old, new);
    // As at start: a root jobod runs no service's jobs as root or as a missing user.
    crate::run_as::check_services(&merged).map_err(|e| ConfigError::Parse {
        path: path.map_or_else(|| "built-in default".into(), |p| p.display().to_string()),
        message: format!("{e:#}"),
    })?;
    core.set_config(Arc::new(merged));
    core.events.wake_scheduler();
    Ok(changes)
}

/// `new`, with the parts that need a restart taken from `old`; and what changed.
fn merge(old: &Config, mut new: Config) -> (Config, Changes) {
    let mut changes = Changes::default();
    let differs = |a: &dyn Debug, b: &dyn Debug| format!("{a:?}") != format!("{b:?}");

    for (name, service) in &new.services {
        match old.services.get(name) {
            None => changes.applied.push(format!("service '{name}' added")),
            Some(before) if differs(before, service) => {
                changes.applied.push(format!("service '{name}' changed"))
            }
            Some(_) => {}
        }
    }
    for name in old
        .services
        .keys()
        .filter(|n| !new.services.contains_key(*n))
    {
        changes.applied.push(format!(
            "service '{name}' removed (its queued jobs wait until it is back)"
        ));
    }

    macro_rules! per_request {
        ($($field:ident),*) => {$(
            if differs(&old.server.$field, &new.server.$field) {
                changes.applied.push(format!("server.{} changed", stringify!($field)));
            }
        )*};
    }
    per_request!(
        admin_group,
        max_upload_bytes,
        max_upload_entries,
        body_read_timeout,
        kill_grace,
        cleanup_interval
    );
    macro_rules! at_start {
        ($($field:ident),*) => {$(
            if differs(&old.server.$field, &new.server.$field) {
                changes.kept.push(format!("server.{}", stringify!($field)));
                new.server.$field = old.server.$field.clone();
            }
        )*};
    }
    at_start!(
        listen,
        seed_listen,
        tls_cert,
        tls_key,
        max_connections,
        submit_rate,
        submit_burst
    );
    for (name, before, after) in [
        (
            "[local_worker]",
            &old.local_worker as &dyn Debug,
            &new.local_worker as &dyn Debug,
        ),
        ("[cluster]", &old.cluster, &new.cluster),
        ("[[nodes]]", &old.nodes, &new.nodes),
    ] {
        if differs(before, after) {
            changes.kept.push(name.to_string());
        }
    }
    new.local_worker = old.local_worker.clone();
    new.cluster = old.cluster.clone();
    new.nodes = old.nodes.clone();
    (new, changes)
}

/// Logs a reload's outcome.
pub fn log(path: Option<&Path>, result: &Result<Changes, ConfigError>) {
    let file = path.map_or_else(
        || "the built-in default".into(),
        |p| p.display().to_string(),
    );
    match result {
        Err(e) => tracing::error!("SIGHUP: {e}; the configuration in use is unchanged"),
        Ok(c) => {
            if c.applied.is_empty() {
                tracing::info!("SIGHUP: reloaded {file}: nothing to apply");
            } else {
                tracing::info!("SIGHUP: reloaded {file}: {}", c.applied.join("; "));
            }
            if !c.kept.is_empty() {
                tracing::warn!(
                    "SIGHUP: {} changed in {file} but apply only at start: restart jobod for them",
                    c.kept.join(", ")
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Config {
        Config::parse(text, "test").expect("parses")
    }

    #[test]
    fn services_apply_and_listeners_wait_for_a_restart() {
        let old = parse(
            "[server]\nlisten = \"127.0.0.1:1\"\n[services.a]\n[services.b]\nmax_running = 1\n",
        );
        let new = parse(
            "[server]\nlisten = \"127.0.0.1:2\"\nkill_grace = \"9s\"\n\
             [services.b]\nmax_running = 4\n[services.c]\n[local_worker]\nslots = 3\n",
        );
        let (merged, changes) = merge(&old, new);
        assert_eq!(
            changes.applied,
            vec![
                "service 'b' changed",
                "service 'c' added",
                "service 'a' removed (its queued jobs wait until it is back)",
                "server.kill_grace changed",
            ]
        );
        assert_eq!(changes.kept, vec!["server.listen", "[local_worker]"]);
        assert_eq!(merged.server.listen.as_deref(), Some("127.0.0.1:1"));
        assert_eq!(merged.local_worker.slots, old.local_worker.slots);
        assert_eq!(merged.service("b").and_then(|s| s.max_running), Some(4));
        assert!(merged.service("a").is_none());
        assert_eq!(merged.server.kill_grace.as_secs(), 9);
    }
}
