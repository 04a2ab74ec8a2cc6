//! `jobod.toml`: the server's settings and its services.
//!
//! The built-in default is itself a TOML text ([`DEFAULT_CONFIG`]), so `jobod config default`
//! prints exactly what a daemon with no config file runs with.

use crate::jobenv;
use crate::validator::{self, Validator};
use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// What `jobod` runs with when no config file exists.
pub const DEFAULT_CONFIG: &str = r#"# jobod.toml: settings of the jobo server (jobod).
# Durations are written like "90s", "15m", "2h", "10d".

[server]
# TCP address for remote users and web apps; off unless set (or given with --listen).
# listen = "127.0.0.1:5000"
# Serve it inside TLS (https://) with this certificate chain and key, both PEM files
# (or --tls-cert/--tls-key). jobo then needs --ca-cert unless a system CA signed it.
# tls_cert = "/etc/jobo/tls/server.pem"
# tls_key = "/etc/jobo/tls/server.key"
# Unix group whose members administer jobod over the socket (besides root and jobod's own
# user). Never the group that merely lets users reach the socket.
admin_group = "jobo-admin"
# Only the seed routes (/upload, /download, /download_partial, /terminate), with no token, for
# a portal written for job-orchestrator; its jobs belong to "portal:<user_id>". Anyone who
# reaches it can fetch and cancel every portal job: bind it to localhost behind the portal.
# seed_listen = "127.0.0.1:5001"
# Largest upload accepted, in bytes (1 GiB): the body as sent, and its files once unpacked.
max_upload_bytes = 1073741824
# Most files and directories one upload may create (tar.gz or multipart).
max_upload_entries = 100000
# How long a client may leave a request half sent: the longest wait for the next bytes of a
# body, and for a whole request head. A stalled upload is answered 408 and dropped, and its
# temp files removed.
body_read_timeout = "30s"
# Connections open at once, on the socket and TCP together. Past it a new connection is
# answered 503 with Retry-After and closed.
max_connections = 512
# Jobs one user may submit (native submit and seed /upload; each portal user counts as their
# own): "N/s", "N/m" or "N/h" on average, and up to submit_burst at once; past it 429 with
# Retry-After. "off" for no limit.
submit_rate = "1000/s"
submit_burst = 2000
# How long a cancelled or timed-out job gets between SIGTERM and SIGKILL.
kill_grace = "5s"
# How often expired jobs are looked for.
cleanup_interval = "60s"

[local_worker]
# The worker embedded in jobod; it serves every service.
enabled = true
# Jobs run at once; 0 means one per CPU.
slots = 0
# Each job in cgroups where jobod can make them (memory, cpus and pids limits, the whole job
# killed at its end, its usage measured): one per slot, reused job after job. Where they cannot
# be made (not root, no delegated cgroup), or off: memory by RLIMIT_AS only, cpus and pids not
# enforced, only the job's process group killed (jobod logs at start, and jobo status says,
# which).
cgroups = true

[cluster]
# How long a worker node may stay silent before its jobs are requeued on other nodes.
# Nodes send a heartbeat every third of it.
lease = "10s"
# How long a request to a node may take before it counts as failed (uploads and downloads
# of payloads are bounded by this per read, not in total).
request_timeout = "30s"
# https:// nodes: their certificates must be signed by a CA the system trusts or by this
# one (PEM), ...
# ca_cert = "/etc/jobo/tls/ca.pem"
# ... and nodes started with --tls-client-ca take only a server that shows a certificate
# signed by that CA: this one, with its key (PEM).
# client_cert = "/etc/jobo/tls/client.pem"
# client_key = "/etc/jobo/tls/client.key"

# Worker nodes can be declared here as well as with `jobo node add`:
# [[nodes]]
# url = "http://10.0.0.5:9000"   # https:// for a node started with --tls-cert
# services = ["example"]
# slots = 4
# token_file = "/etc/jobo/node.token"
# protocol = "native"          # or "seed": a node that only speaks the seed's client routes

# One table per service. Quotas are optional: a queued job that does not fit waits.
[services.example]
# max_running = 8           # jobs of this service running at once
# max_running_per_user = 2  # jobs of one user in this service running at once
# run_as = "jobo-run"       # Unix user that root's, API tokens' and portals' jobs run as when
                            # jobod is root; a socket user's jobs run as that user
retention = "10d"           # results are removed this long after the job finished
max_attempts = 3            # runs tried when the daemon or a node dies under a job

# Limits of one run. Each is the default of a job that asks for none, and the most a job may
# ask for (`jobo submit --timeout 10m --memory 2G --cpus 1.5 --pids 256`; more is refused)
# unless a max_ key sets a higher maximum. Unset: no default, and any request is taken.
# The timeout is enforced (SIGTERM, then SIGKILL after kill_grace; the job ends timed_out);
# memory, cpus and pids by the job's cgroup ([local_worker] cgroups), memory else by
# RLIMIT_AS; jobo status ID says how each was held.
# timeout = "1h"            # wall-clock limit
# max_timeout = "4h"
# memory = "2G"             # sizes: 512M, 2G, 1.5G (binary units)
# max_memory = "8G"
# cpus = 1.5
# max_cpus = 4
# pids = 256
# max_pids = 1024
# max_output = "10G"        # work dir + logs; each log stops growing here, and a run over it fails

# The job's environment: nothing of jobod's own. PATH and LANG as set here, TZ if set, HOME and
# TMPDIR in the job's dir, SHELL, USER, LOGNAME and JOBO_JOB_ID, JOBO_SERVICE, JOBO_USER,
# JOBO_ATTEMPT; plus the variables of `jobo submit -e KEY=VALUE` that this list allows
# (names, or prefixes ending in *).
# path = "/usr/local/bin:/usr/bin:/bin"
# lang = "C.UTF-8"
# tz = "Europe/Amsterdam"
# env = ["OMP_NUM_THREADS", "MY_*"]
# No network for its jobs: each runs in a network namespace of its own, with only a loopback
# interface (no host address, 127.0.0.1 included). Needs a root jobod (or node); elsewhere
# the jobs have the host's network, and jobo status says it was not applied.
# network = "none"            # default "host"

# The script validator: run.sh is checked at submit (400 naming the rule and line) and again
# on the node. A sanity check, not a sandbox. Rules and categories: see the README.
# validator = true
# allow_rules = ["network-tool"]        # rules or categories not applied (network: curl, wget…)
# allow = ['^wget https://data\.example\.org/']   # lines matching one of these pass
# deny = ['\bmy_forbidden_tool\b']      # extra rules (named deny[0], deny[1], …)
"#;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("invalid config {path}: {message}")]
    Parse { path: String, message: String },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub server: ServerConfig,
    #[serde(default)]
    pub local_worker: LocalWorkerConfig,
    #[serde(default)]
    pub cluster: ClusterConfig,
    #[serde(default)]
    pub nodes: Vec<NodeConfig>,
    #[serde(default)]
    pub services: BTreeMap<String, ServiceConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClusterConfig {
    #[serde(deserialize_with = "duration")]
    pub lease: Duration,
    #[serde(deserialize_with = "duration")]
    pub request_timeout: Duration,
    /// A CA (PEM) trusted for `https://` nodes, besides the system's.
    pub ca_cert: Option<PathBuf>,
    /// The client certificate (and its key) shown to nodes started with `--tls-client-ca`.
    pub client_cert: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            lease: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            ca_cert: None,
            client_cert: None,
            client_key: None,
        }
    }
}

impl ClusterConfig {
    /// Nodes beat three times per lease, so one lost beat does not lose a node.
    pub fn beat(&self) -> Duration {
        self.lease / 3
    }

    /// `client_cert` and `client_key`, which go together.
    pub fn client_identity(&self) -> Option<(&Path, &Path)> {
        self.client_cert.as_deref().zip(self.client_key.as_deref())
    }
}

/// A node declared in `jobod.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    pub url: String,
    pub name: Option<String>,
    pub services: Vec<String>,
    #[serde(default = "crate::api::default_node_slots")]
    pub slots: usize,
    pub token_file: Option<std::path::PathBuf>,
    #[serde(default)]
    pub protocol: crate::api::NodeProtocol,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    pub listen: Option<String>,
    /// Members of this Unix group are administrators on the socket (as root and jobod's own
    /// user are). Not `jobo`: packages put every user who may reach the socket in that group.
    pub admin_group: String,
    /// A second TCP listener serving only the seed routes, without a token, to an anonymous
    /// portal: for portals written for job-orchestrator, which send none. Opt-in only.
    pub seed_listen: Option<String>,
    /// `listen` inside TLS: the certificate chain and its key (PEM).
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub max_upload_bytes: u64,
    /// Files and directories one upload may create.
    pub max_upload_entries: u64,
    /// Idle time allowed between the bytes of a request body, and for a request head.
    #[serde(deserialize_with = "duration")]
    pub body_read_timeout: Duration,
    /// Connections open at once across the listeners.
    pub max_connections: usize,
    /// Submissions per user; `None` for no limit.
    #[serde(deserialize_with = "rate")]
    pub submit_rate: Option<Rate>,
    pub submit_burst: u32,
    #[serde(deserialize_with = "duration")]
    pub kill_grace: Duration,
    #[serde(deserialize_with = "duration")]
    pub cleanup_interval: Duration,
}

impl ServerConfig {
    /// `tls_cert` and `tls_key`, which go together.
    pub fn tls(&self) -> Option<(PathBuf, PathBuf)> {
        self.tls_cert.clone().zip(self.tls_key.clone())
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: None,
            admin_group: "jobo-admin".into(),
            seed_listen: None,
            tls_cert: None,
            tls_key: None,
            max_upload_bytes: 1 << 30,
            max_upload_entries: 100_000,
            body_read_timeout: Duration::from_secs(30),
            max_connections: 512,
            submit_rate: Some(Rate { per_sec: 1000.0 }),
            submit_burst: 2000,
            kill_grace: Duration::from_secs(5),
            cleanup_interval: Duration::from_secs(60),
        }
    }
}

/// A rate of events, as `"N/s"`, `"N/m"` or `"N/h"` in the config.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    pub per_sec: f64,
}

impl std::str::FromStr for Rate {
    type Err = String;
    fn from_str(s: &str) -> Result<Rate, String> {
        let bad = || format!("invalid rate '{s}': write it like \"20/s\", \"100/m\" or \"off\"");
        let (n, per) = s.split_once('/').ok_or_else(bad)?;
        let n: f64 = n.trim().parse().map_err(|_| bad())?;
        let secs = match per.trim() {
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad()),
        };
        if !(n.is_finite() && n > 0.0) {
            return Err(bad());
        }
        Ok(Rate { per_sec: n / secs })
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LocalWorkerConfig {
    pub enabled: bool,
    pub slots: usize,
    /// Job cgroups where they can be made (src/cgroup/); false: the rlimit fallback.
    pub cgroups: bool,
}

impl Default for LocalWorkerConfig {
    fn default() -> Self {
        LocalWorkerConfig {
            enabled: true,
            slots: 0,
            cgroups: true,
        }
    }
}

impl LocalWorkerConfig {
    /// Slots, with 0 meaning one per CPU.
    pub fn effective_slots(&self) -> usize {
        match self.slots {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServiceConfig {
    pub max_running: Option<u32>,
    pub max_running_per_user: Option<u32>,
    #[serde(deserialize_with = "duration")]
    pub retention: Duration,
    pub max_attempts: u32,
    // Limits (src/limits/): each the default of a job, and its maximum unless max_ says more.
    #[serde(deserialize_with = "opt_duration")]
    pub timeout: Option<Duration>,
    #[serde(deserialize_with = "opt_duration")]
    pub max_timeout: Option<Duration>,
    #[serde(deserialize_with = "opt_size")]
    pub memory: Option<u64>,
    #[serde(deserialize_with = "opt_size")]
    pub max_memory: Option<u64>,
    pub cpus: Option<f64>,
    pub max_cpus: Option<f64>,
    pub pids: Option<u64>,
    pub max_pids: Option<u64>,
    #[serde(deserialize_with = "opt_size")]
    pub max_output: Option<u64>,
    // The job's environment (src/jobenv.rs).
    pub path: String,
    pub lang: String,
    pub tz: Option<String>,
    pub env: Vec<String>,
    /// `"none"`: each run in a network namespace of its own (src/netns.rs).
    pub network: crate::api::Network,
    // The script validator (src/validator/).
    pub validator: bool,
    pub allow_rules: Vec<String>,
    pub allow: Vec<String>,
    pub deny: Vec<String>,
    /// The validator compiled from the four keys above (none when off), by [`Config::parse`].
    #[serde(skip)]
    pub checker: Option<Arc<Validator>>,
    /// The Unix user a root jobod runs this service's jobs as when they do not come from a
    /// Unix user over the socket ([`crate::run_as`]); `None`: `jobo-run`.
    pub run_as: Option<String>,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        ServiceConfig {
            max_running: None,
            max_running_per_user: None,
            retention: Duration::from_secs(10 * 24 * 3600),
            max_attempts: 3,
            timeout: None,
            max_timeout: None,
            memory: None,
            max_memory: None,
            cpus: None,
            max_cpus: None,
            pids: None,
            max_pids: None,
            max_output: None,
            path: jobenv::DEFAULT_PATH.into(),
            lang: jobenv::DEFAULT_LANG.into(),
            tz: None,
            env: Vec::new(),
            network: crate::api::Network::Host,
            validator: true,
            allow_rules: Vec::new(),
            allow: Vec::new(),
            deny: Vec::new(),
            checker: None,
            run_as: None,
        }
    }
}

impl ServiceConfig {
    /// The longest timeout a job may ask for (and the cap of every run's).
    pub fn timeout_max(&self) -> Option<Duration> {
        self.max_timeout.or(self.timeout)
    }

    /// The validator settings, as nodes receive them with a push.
    pub fn validator_settings(&self) -> validator::Settings {
        validator::Settings {
            enabled: self.validator,
            allow_rules: self.allow_rules.clone(),
            allow: self.allow.clone(),
            deny: self.deny.clone(),
        }
    }

    /// What is wrong with this service's settings, if anything; compiles its validator.
    fn check(&mut self) -> Result<(), String> {
        if self.max_attempts == 0 {
            return Err("max_attempts must be at least 1".into());
        }
        fn above<T: PartialOrd + std::fmt::Debug>(
            default: Option<T>,
            max: Option<T>,
            key: &str,
        ) -> Result<(), String> {
            match (default, max) {
                (Some(d), Some(m)) if d > m => {
                    Err(format!("{key} ({d:?}) is above max_{key} ({m:?})"))
                }
                _ => Ok(()),
            }
        }
        above(self.timeout, self.max_timeout, "timeout")?;
        above(self.memory, self.max_memory, "memory")?;
        above(self.cpus, self.max_cpus, "cpus")?;
        above(self.pids, self.max_pids, "pids")?;
        for cpus in [self.cpus, self.max_cpus].into_iter().flatten() {
            if !cpus.is_finite() || cpus <= 0.0 {
                return Err(format!("cpus must be a number above 0, not {cpus}"));
            }
        }
        if [
            self.pids,
            self.max_pids,
            self.memory,
            self.max_memory,
            self.max_output,
        ]
        .contains(&Some(0))
            || [self.timeout, self.max_timeout].contains(&Some(Duration::ZERO))
        {
            return Err("a limit of 0 lets nothing run; leave it out for none".into());
        }
        if self.path.is_empty() || std::env::split_paths(&self.path).any(|p| !p.is_absolute()) {
            return Err(format!(
                "path '{}' must be a list of absolute directories",
                self.path
            ));
        }
        if let Some(bad) = self.env.iter().find(|p| !jobenv::valid_pattern(p)) {
            return Err(format!(
                "env entry '{bad}' is not a variable name (or a prefix ending in *)"
            ));
        }
        self.checker = Validator::new(&self.validator_settings())
            .map_err(|e| e.to_string())?
            .map(Arc::new);
        Ok(())
    }
}

impl Config {
    pub fn parse(text: &str, origin: &str) -> Result<Config, ConfigError> {
        let mut config: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: origin.to_string(),
            message: e.to_string(),
        })?;
        for (name, service) in &mut config.services {
            service.check().map_err(|message| ConfigError::Parse {
                path: origin.to_string(),
                message: format!("service '{name}': {message}"),
            })?;
        }
        let pairs = [
            (
                config.server.tls_cert.is_some(),
                config.server.tls_key.is_some(),
                "server.tls_cert and server.tls_key",
            ),
            (
                config.cluster.client_cert.is_some(),
                config.cluster.client_key.is_some(),
                "cluster.client_cert and cluster.client_key",
            ),
        ];
        if let Some((_, _, names)) = pairs.iter().find(|(a, b, _)| a != b) {
            return Err(ConfigError::Parse {
                path: origin.to_string(),
                message: format!("{names} go together: set both or neither"),
            });
        }
        let server = &config.server;
        let bad_server = [
            (
                server.max_connections == 0,
                "server.max_connections must be at least 1",
            ),
            (
                server.max_upload_entries == 0,
                "server.max_upload_entries must be at least 1",
            ),
            (
                server.submit_burst == 0,
                "server.submit_burst must be at least 1",
            ),
            (
                server.body_read_timeout < Duration::from_millis(100),
                "server.body_read_timeout must be at least 100ms",
            ),
        ];
        if let Some((_, message)) = bad_server.iter().find(|(bad, _)| *bad) {
            return Err(ConfigError::Parse {
                path: origin.to_string(),
                message: message.to_string(),
            });
        }
        if config.cluster.lease < Duration::from_millis(100) {
            return Err(ConfigError::Parse {
                path: origin.to_string(),
                message: "cluster.lease must be at least 100ms".into(),
            });
        }
        Ok(config)
    }

    /// Reads `path`; a missing file at the default location means the built-in default.
    pub fn load(path: &Path, must_exist: bool) -> Result<Config, ConfigError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Config::parse(&text, &path.display().to_string()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !must_exist => {
                Ok(Config::default())
            }
            Err(source) => Err(ConfigError::Read {
                path: path.display().to_string(),
                source,
            }),
        }
    }

    pub fn service(&self, name: &str) -> Option<&ServiceConfig> {
        self.services.get(name)
    }

    /// The user a root jobod runs `service`'s jobs as when no socket user asked for them.
    pub fn run_as(&self, service: &str) -> &str {
        self.service(service)
            .and_then(|s| s.run_as.as_deref())
            .unwrap_or(crate::run_as::DEFAULT_RUN_AS)
    }
}

impl Default for Config {
    fn default() -> Self {
        Config::parse(DEFAULT_CONFIG, "built-in default").expect("the built-in config parses")
    }
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("invalid duration '{s}': {e}"))
}

fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let s = String::deserialize(d)?;
    parse_duration(&s).map_err(serde::de::Error::custom)
}

/// A [`Rate`], or `"off"` for none.
fn rate<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Rate>, D::Error> {
    let s = String::deserialize(d)?;
    if s.trim() == "off" {
        return Ok(None);
    }
    s.parse().map(Some).map_err(serde::de::Error::custom)
}

fn opt_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    let s = Option::<String>::deserialize(d)?;
    s.map(|s| parse_duration(&s).map_err(serde::de::Error::custom))
        .transpose()
}

/// A size in bytes: a number, or a string such as "2G" ([`crate::limits::size`]).
fn opt_size<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Size {
        Bytes(u64),
        Text(String),
    }
    match Option::<Size>::deserialize(d)? {
        None => Ok(None),
        Some(Size::Bytes(n)) => Ok(Some(n)),
        Some(Size::Text(s)) => crate::limits::size::parse(&s)
            .map(Some)
            .ok_or_else(|| serde::de::Error::custom(format!("invalid size '{s}' (e.g. 512M, 2G)"))),
    }
}

/// The service `s` of a config holding only `[services.s]` and `toml`, for unit tests.
#[cfg(test)]
pub fn test_service(toml: &str) -> ServiceConfig {
    let c = Config::parse(&format!("[services.s]\n{toml}"), "test").expect("parses");
    c.services["s"].clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_config_serves_example() {
        let c = Config::default();
        let ex = c.service("example").expect("example service");
        assert_eq!(ex.retention, Duration::from_secs(864_000));
        assert_eq!(ex.max_attempts, 3);
        assert!(c.local_worker.enabled);
        assert_eq!(c.server.max_upload_bytes, 1 << 30);
        // The text and the Default impl agree.
        let d = ServerConfig::default();
        assert_eq!(c.server.max_upload_entries, d.max_upload_entries);
        assert_eq!(c.server.body_read_timeout, d.body_read_timeout);
        assert_eq!(c.server.max_connections, d.max_connections);
        assert_eq!(c.server.submit_rate, d.submit_rate);
        assert_eq!(c.server.submit_burst, d.submit_burst);
    }

    #[test]
    fn rates() {
        let rate = |s: &str| {
            Config::parse(&format!("[server]\nsubmit_rate = \"{s}\""), "t")
                .map(|c| c.server.submit_rate)
        };
        assert_eq!(rate("20/s").ok(), Some(Some(Rate { per_sec: 20.0 })));
        assert_eq!(rate("120/m").ok(), Some(Some(Rate { per_sec: 2.0 })));
        assert_eq!(rate("off").ok(), Some(None));
        for bad in ["20", "0/s", "-1/s", "x/s", "5/d"] {
            assert!(rate(bad).is_err(), "{bad}");
        }
        assert!(Config::parse("[server]\nmax_connections = 0", "t").is_err());
    }

    #[test]
    fn rejects_unknown_keys_and_bad_durations() {
        assert!(Config::parse("[server]\nlisten_addr = 1", "t").is_err());
        assert!(Config::parse("[services.a]\nretention = \"ten\"", "t").is_err());
        assert!(Config::parse("[services.a]\nmax_attempts = 0", "t").is_err());
        assert!(Config::parse("[server]\ntls_cert = \"c.pem\"", "t").is_err());
        assert!(Config::parse("[cluster]\nclient_key = \"k.pem\"", "t").is_err());
        let c = Config::parse("[services.a]\ntimeout = \"2s\"", "t").expect("parses");
        assert_eq!(c.services["a"].timeout, Some(Duration::from_secs(2)));
    }

    #[test]
    fn limits_environment_and_validator_are_checked() {
        let c = Config::parse(
            "[services.a]\nmemory = \"1G\"\nmax_memory = 4294967296\ncpus = 1.5\n\
             max_output = \"10G\"\nenv = [\"OMP_NUM_THREADS\", \"MY_*\"]\n\
             allow_rules = [\"network\"]",
            "t",
        )
        .expect("parses");
        let a = &c.services["a"];
        assert_eq!((a.memory, a.max_memory), (Some(1 << 30), Some(4 << 30)));
        assert_eq!(a.max_output, Some(10 << 30));
        assert_eq!(a.path, "/usr/local/bin:/usr/bin:/bin");
        assert!(a.checker.is_some());
        let off = Config::parse("[services.a]\nvalidator = false", "t").expect("parses");
        assert!(off.services["a"].checker.is_none());
        for bad in [
            "timeout = \"2h\"\nmax_timeout = \"1h\"",
            "cpus = 0",
            "memory = \"lots\"",
            "pids = 0",
            "path = \"bin:/usr/bin\"",
            "env = [\"A-B\"]",
            "deny = [\"(\"]",
            "allow_rules = [\"no-such-rule\"]",
        ] {
            let err = Config::parse(&format!("[services.a]\n{bad}"), "t");
            assert!(err.is_err(), "{bad}");
        }
    }
}
