//! Whom a worker node runs payloads as. A root node runs each as the user its server names,
//! if that user is in the node's allow-list (`--run-as-allow`, default `jobo-run`), and never
//! as root; payloads of the seed's `/submit`, which name nobody, run as the first user of the
//! list. A node that is not root runs every payload as itself.

use crate::paths;
use crate::run_as::{self, RunAs};

pub struct Allowed {
    /// Empty when the node is not root.
    names: Vec<String>,
}

impl Allowed {
    /// Checks the allow-list at start (as root: each user exists and is not root) and says
    /// whom payloads will run as.
    pub fn at_start(names: &[String]) -> anyhow::Result<Allowed> {
        if !paths::is_root() {
            let own = RunAs::daemon();
            tracing::info!(
                "jobod worker runs as {} (uid {}), not root: every payload runs as {0} too, \
                 and --run-as-allow is ignored",
                own.name(),
                paths::uid()
            );
            return Ok(Allowed { names: Vec::new() });
        }
        let names: Vec<String> = names
            .iter()
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty())
            .collect();
        anyhow::ensure!(
            !names.is_empty(),
            "--run-as-allow names no user: a root node needs at least one to run payloads as"
        );
        for name in &names {
            run_as::resolve(name).map_err(|e| {
                let fix = if name == run_as::DEFAULT_RUN_AS {
                    format!("create it ({})", run_as::CREATE_DEFAULT)
                } else {
                    "name unprivileged users that exist".to_string()
                };
                anyhow::anyhow!("--run-as-allow {name}: {e}; {fix} or change --run-as-allow")
            })?;
        }
        tracing::info!(
            "payloads run as the user their server names, one of: {}",
            names.join(", ")
        );
        Ok(Allowed { names })
    }

    /// The account to run a payload as that asks for `asked` (none: the default). `Err` says
    /// why not, for a `403`.
    pub fn for_payload(&self, asked: Option<&str>) -> Result<RunAs, String> {
        let Some(default) = self.names.first() else {
            return Ok(RunAs::daemon());
        };
        let name = asked.unwrap_or(default);
        if !self.names.iter().any(|n| n == name) {
            return Err(format!(
                "this node does not run payloads as '{name}': its allow-list is {} \
                 (jobod worker --run-as-allow)",
                self.names.join(",")
            ));
        }
        run_as::resolve(name).map_err(|e| format!("this node cannot run payloads as '{name}': {e}"))
    }

    /// The accounts payloads may run as (none when the node is not root).
    pub fn accounts(&self) -> Vec<std::sync::Arc<crate::account::Account>> {
        self.names
            .iter()
            .filter_map(|n| match run_as::resolve(n) {
                Ok(RunAs::Account(a)) => Some(a),
                _ => None,
            })
            .collect()
    }
}
