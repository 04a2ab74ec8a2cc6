//! `jobod config import-seed`: a `jobod.toml` made from the environment of job-orchestrator
//! 2.3.1 (the "seed" jobo replaces), which is configured by environment variables only.
//!
//! The seed's server sent each service's jobs to a client at `SERVICE_<NAME>_UPLOAD_URL`; those
//! clients become `[[nodes]]` with `protocol = "seed"`, one per `host:port`. The config is
//! written as text rather than serialised so that it can say, in comments, what changed.

use std::collections::BTreeMap;

/// The per-service settings the seed reads, as in `SERVICE_<NAME>_<SETTING>`.
const SETTINGS: [&str; 5] = [
    "UPLOAD_URL",
    "DOWNLOAD_URL",
    "TERMINATE_URL",
    "RUNS_PER_USER",
    "MAX_RUNS",
];

/// jobo's most slots for a node (it checks 1..=4096 when the daemon loads its nodes).
const MAX_SLOTS: usize = 4096;

/// Why the environment cannot be turned into a config. Values are quoted with escapes so that
/// each message stays on one line.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    #[error("{var}={value:?}: not a whole number from 0 to {max}")]
    NotANumber {
        var: String,
        value: String,
        max: u64,
    },
    #[error("service '{service}' has no {var}")]
    NoUploadUrl { service: String, var: String },
    #[error("{var}={value:?}: {why}")]
    BadUploadUrl {
        var: String,
        value: String,
        why: &'static str,
    },
    #[error("{var}: service name '{name}' must be letters, digits or '-'")]
    BadServiceName { var: String, name: String },
    #[error("no SERVICE_<NAME>_UPLOAD_URL variables set: nothing to import")]
    NothingToImport,
}

/// One old client: the services whose UPLOAD_URL points at it.
#[derive(Default)]
struct Node {
    services: Vec<String>,
    max_runs: u16,
    notes: Vec<String>,
}

/// Reads the seed's variables from `vars` (the process environment in `jobod`) and returns the
/// equivalent `jobod.toml`, services and nodes sorted by name. Other variables are ignored, as
/// are `SERVICE_*` ones the seed does not read.
pub fn import(vars: impl IntoIterator<Item = (String, String)>) -> Result<String, ImportError> {
    let mut global: BTreeMap<String, String> = BTreeMap::new();
    let mut services: BTreeMap<String, BTreeMap<&str, String>> = BTreeMap::new();
    for (key, value) in vars {
        if matches!(key.as_str(), "MAX_AGE" | "PORT" | "DB_PATH" | "DATA_PATH") {
            global.insert(key, value);
            continue;
        }
        // Like the seed: the name is what follows `SERVICE_` up to the next '_', lowercased.
        let Some((name, setting)) = key.strip_prefix("SERVICE_").and_then(|r| r.split_once('_'))
        else {
            continue;
        };
        let Some(setting) = SETTINGS.iter().find(|s| **s == setting) else {
            continue;
        };
        let name = name.to_ascii_lowercase();
        let valid = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-';
        if name.is_empty() || !name.chars().all(valid) {
            return Err(ImportError::BadServiceName { var: key, name });
        }
        services.entry(name).or_default().insert(*setting, value);
    }
    if services.is_empty() {
        return Err(ImportError::NothingToImport);
    }
    let max_age = number::<u64>("MAX_AGE", global.get("MAX_AGE"), 864_000, u64::MAX)?;
    let port = number::<u16>("PORT", global.get("PORT"), 5000, u16::MAX.into())?;
    let retention = humanize(max_age);
    let age = match global.get("MAX_AGE") {
        Some(_) => format!("MAX_AGE={max_age}"),
        None => "MAX_AGE not set: the seed's default".into(),
    };

    let mut nodes: BTreeMap<String, Node> = BTreeMap::new();
    let mut tables = String::new();
    for (name, set) in &services {
        let var = |s: &str| format!("SERVICE_{}_{s}", name.to_ascii_uppercase());
        let quota = |s: &str, default| number::<u16>(&var(s), set.get(s), default, 65_535);
        let (per_user, max_runs) = (quota("RUNS_PER_USER", 5)?, quota("MAX_RUNS", 10)?);
        let upload = set.get("UPLOAD_URL").filter(|u| !u.is_empty());
        let upload = upload.ok_or_else(|| ImportError::NoUploadUrl {
            service: name.clone(),
            var: var("UPLOAD_URL"),
        })?;
        let bad = |why| ImportError::BadUploadUrl {
            var: var("UPLOAD_URL"),
            value: upload.clone(),
            why,
        };
        let (authority, path) = split_url(upload).map_err(bad)?;
        // jobo addresses a node as http://host:port and puts the seed's routes at its root.
        let segment = path.trim_end_matches('/').trim_start_matches('/');
        if segment.is_empty() || segment.contains('/') {
            return Err(bad(
                "expected http://host[:port]/submit (jobo puts a node's routes at its root)",
            ));
        }
        let node = nodes.entry(authority.clone()).or_default();
        node.services.push(name.clone());
        node.max_runs = node.max_runs.max(max_runs);
        for (setting, route) in [
            ("UPLOAD_URL", "/submit"),
            ("DOWNLOAD_URL", "/retrieve"),
            ("TERMINATE_URL", "/kill"),
        ] {
            let value = set.get(setting);
            let same = value
                .and_then(|v| split_url(v).ok())
                .is_some_and(|(a, p)| a == authority && p.trim_end_matches('/') == route);
            if !same {
                let shown = value.map_or_else(|| "is not set".into(), |v| format!("= {v:?}"));
                node.notes.push(format!(
                    "{} {shown}, but jobo uses http://{authority}{route}",
                    var(setting)
                ));
            }
        }
        let from = |setting: &str| match set.get(setting) {
            Some(_) => var(setting),
            None => format!("{} not set: the seed's default", var(setting)),
        };
        tables += &format!("\n[services.{name}]\n");
        tables += &commented(format!("max_running = {max_runs}"), &from("MAX_RUNS"));
        tables += &commented(
            format!("max_running_per_user = {per_user}"),
            &from("RUNS_PER_USER"),
        );
        tables += &commented(format!("retention = \"{retention}\""), &age);
        tables += &commented(
            "max_attempts = 3".into(),
            "runs tried when the daemon or a node dies under a job",
        );
    }

    let path = |k: &str| {
        global
            .get(k)
            .map_or("(not set)".into(), |v| format!("{v:?}"))
    };
    let mut out = format!(
        r#"# jobod.toml: made by `jobod config import-seed` from job-orchestrator 2.3.1's environment.
# Durations are written like "90s", "15m", "2h", "10d"; `jobod config default` shows all settings.
#
# Not carried over: the seed's job database and files, DB_PATH={} and DATA_PATH={}.
# jobo keeps its own data dir (--data-dir) and does not import the old jobs.

[server]
# The seed listened on every interface (0.0.0.0). Behind a reverse proxy, prefer
# listen = "127.0.0.1:{port}".
# This listener takes only API tokens (`jobo token create`). A portal written for the seed
# sends none: point it at a seed_listen listener instead (the seed routes only, no token;
# keep it on localhost or behind the proxy), e.g. seed_listen = "127.0.0.1:{port}" in place
# of listen.
listen = "0.0.0.0:{port}"

[local_worker]
# The seed's server ran no jobs itself: every job goes to one of the nodes below.
enabled = false

[cluster]
# How long a worker node may stay silent before its jobs are requeued on other nodes.
lease = "10s"
# How long a request to a node may take before it counts as failed.
request_timeout = "30s"

# The seed's clients: one node per host:port of the UPLOAD_URLs, with as many slots as the
# largest MAX_RUNS of its services. They take no token, hence no token_file: keep them on a
# private network.

"#,
        path("DB_PATH"),
        path("DATA_PATH"),
    );
    for (authority, node) in &nodes {
        let slots = usize::from(node.max_runs).clamp(1, MAX_SLOTS);
        if slots != usize::from(node.max_runs) {
            let max = node.max_runs;
            node_note(
                &mut out,
                &format!("slots = {slots}, not {max}: jobo allows 1 to {MAX_SLOTS}"),
            );
        }
        for note in &node.notes {
            node_note(&mut out, note);
        }
        let list: Vec<String> = node.services.iter().map(|s| format!("{s:?}")).collect();
        out += &format!(
            "[[nodes]]\nurl = \"http://{authority}\"\nprotocol = \"seed\"\nservices = [{}]\nslots = {slots}\n\n",
            list.join(", ")
        );
    }
    out += "# One table per seed service. retention is MAX_AGE: the seed removed a job's files that long\n\
            # after they last changed, jobo removes them that long after the job finished.\n";
    out += &tables;
    Ok(out)
}

fn node_note(out: &mut String, note: &str) {
    *out += &format!("# note: {note}\n");
}

/// `key = value` with a trailing comment, aligned like `jobod config default`.
fn commented(setting: String, comment: &str) -> String {
    format!("{setting:<27} # {comment}\n")
}

/// `value` (the seed's default when unset) as the seed parses it, or which variable is wrong.
fn number<T: std::str::FromStr>(
    var: &str,
    value: Option<&String>,
    default: T,
    max: u64,
) -> Result<T, ImportError> {
    value.map_or(Ok(default), |v| {
        v.parse().map_err(|_| ImportError::NotANumber {
            var: var.to_string(),
            value: v.clone(),
            max,
        })
    })
}

/// Splits `http://host[:port]/path` into the `host:port` jobo names a node by (port 80 when
/// omitted, as jobo does, so that `http://h/` and `http://h:80/` are one node) and the path.
fn split_url(url: &str) -> Result<(String, &str), &'static str> {
    let Some(rest) = url.strip_prefix("http://") else {
        return Err(if url.starts_with("https://") {
            "jobo reaches nodes over plain http:// only (no TLS yet)"
        } else {
            "not an http://host[:port]/… URL"
        });
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) => (host, port.parse::<u16>().map_err(|_| "invalid port")?),
        None => (authority, 80),
    };
    let host_char = |c: char| c.is_ascii_alphanumeric() || c == '.' || c == '-';
    if host.is_empty() || !host.chars().all(host_char) {
        return Err("the host must be a name or an IPv4 address");
    }
    Ok((format!("{host}:{port}"), path))
}

/// Seconds as one humantime unit ("10d", "90m", "3601s"), exact, as `jobod.toml` writes them.
fn humanize(secs: u64) -> String {
    [(86_400, "d"), (3600, "h"), (60, "m")]
        .into_iter()
        .find(|(n, _)| secs > 0 && secs.is_multiple_of(*n))
        .map_or_else(
            || format!("{secs}s"),
            |(n, unit)| format!("{}{unit}", secs / n),
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::NodeProtocol;
    use crate::config::Config;
    use std::time::Duration;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn parse(pairs: &[(&str, &str)]) -> Config {
        let text = import(env(pairs)).expect("imports");
        Config::parse(&text, "import").unwrap_or_else(|e| panic!("{e}\n{text}"))
    }

    const TWO_CLIENTS: &[(&str, &str)] = &[
        ("SERVICE_EXAMPLE_UPLOAD_URL", "http://10.0.0.5:9000/submit"),
        (
            "SERVICE_EXAMPLE_DOWNLOAD_URL",
            "http://10.0.0.5:9000/retrieve",
        ),
        ("SERVICE_EXAMPLE_TERMINATE_URL", "http://10.0.0.5:9000/kill"),
        ("SERVICE_EXAMPLE_RUNS_PER_USER", "2"),
        ("SERVICE_EXAMPLE_MAX_RUNS", "8"),
        ("SERVICE_Other_UPLOAD_URL", "http://workers.lan/submit"),
        ("MAX_AGE", "3600"),
        ("PORT", "8080"),
        ("DB_PATH", "/srv/seed/db.sqlite"),
        ("HOME", "/root"),
    ];

    #[test]
    fn two_services_on_two_clients() {
        let c = parse(TWO_CLIENTS);
        assert_eq!(c.server.listen.as_deref(), Some("0.0.0.0:8080"));
        assert!(!c.local_worker.enabled);
        let default = Config::default();
        assert_eq!(c.cluster.lease, default.cluster.lease);
        assert_eq!(c.cluster.request_timeout, default.cluster.request_timeout);
        let ex = &c.services["example"];
        assert_eq!(
            (ex.max_running, ex.max_running_per_user),
            (Some(8), Some(2))
        );
        assert_eq!(ex.retention, Duration::from_secs(3600));
        assert_eq!(ex.max_attempts, 3);
        let other = &c.services["other"];
        assert_eq!(
            (other.max_running, other.max_running_per_user),
            (Some(10), Some(5))
        );
        let nodes: Vec<_> = c.nodes.iter().map(|n| (n.url.as_str(), n.slots)).collect();
        assert_eq!(
            nodes,
            [("http://10.0.0.5:9000", 8), ("http://workers.lan:80", 10)]
        );
        assert_eq!(c.nodes[1].services, ["other"]);
        assert!(c.nodes.iter().all(|n| n.protocol == NodeProtocol::Seed));
        assert!(c.nodes.iter().all(|n| n.token_file.is_none()));

        let text = import(env(TWO_CLIENTS)).expect("imports");
        assert!(text.contains("DB_PATH=\"/srv/seed/db.sqlite\" and DATA_PATH=(not set)."));
        assert!(!text.contains("note: SERVICE_EXAMPLE"), "{text}");
        assert!(text.contains(
            "# note: SERVICE_OTHER_DOWNLOAD_URL is not set, but jobo uses http://workers.lan:80/retrieve"
        ));
        let reversed = env(TWO_CLIENTS).into_iter().rev();
        assert_eq!(
            import(reversed).expect("imports"),
            text,
            "order-independent"
        );
    }

    #[test]
    fn services_of_one_client_share_a_node() {
        let c = parse(&[
            ("SERVICE_A_UPLOAD_URL", "http://10.0.0.5:9000/submit"),
            ("SERVICE_A_MAX_RUNS", "3"),
            ("SERVICE_B_UPLOAD_URL", "http://10.0.0.5:9000/submit/"),
            ("SERVICE_B_MAX_RUNS", "7"),
            ("SERVICE_B_DOWNLOAD_URL", "http://10.0.0.5:9000/download"),
        ]);
        assert_eq!(c.nodes.len(), 1);
        assert_eq!(c.nodes[0].services, ["a", "b"]);
        assert_eq!(c.nodes[0].slots, 7);
        assert_eq!(c.services["a"].retention, Duration::from_secs(864_000));
        assert!(c.server.listen.as_deref() == Some("0.0.0.0:5000"));
    }

    #[test]
    fn errors() {
        let err = |pairs: &[(&str, &str)]| import(env(pairs)).expect_err("fails").to_string();
        let up = ("SERVICE_EX_UPLOAD_URL", "http://h:1/submit");
        for (var, value) in [
            ("SERVICE_EX_MAX_RUNS", "abc"),
            ("SERVICE_EX_RUNS_PER_USER", "-1"),
            ("MAX_AGE", "10d"),
            ("PORT", "70000"),
        ] {
            let e = err(&[up, (var, value)]);
            assert!(
                e.starts_with(&format!("{var}=\"{value}\": not a whole number")),
                "{e}"
            );
        }
        let e = err(&[("SERVICE_EX_MAX_RUNS", "3")]);
        assert_eq!(e, "service 'ex' has no SERVICE_EX_UPLOAD_URL");
        for url in [
            "ftp://h/submit",
            "http://h:x/submit",
            "http://h:1",
            "http://h/a/submit",
        ] {
            let e = err(&[("SERVICE_EX_UPLOAD_URL", url)]);
            assert!(
                e.starts_with(&format!("SERVICE_EX_UPLOAD_URL=\"{url}\": ")),
                "{e}"
            );
        }
        assert!(err(&[("SERVICE_EX_UPLOAD_URL", "https://h/submit")]).contains("no TLS"));
        assert!(err(&[("SERVICE_A.B_UPLOAD_URL", "http://h/submit")]).contains("'a.b'"));
        let none = "no SERVICE_<NAME>_UPLOAD_URL variables set: nothing to import";
        assert_eq!(err(&[("PORT", "5000"), ("SERVICE_ACCOUNT", "x")]), none);
        assert_eq!(err(&[("SERVICE_X_BAR", "x")]), none);
    }

    #[test]
    fn durations_are_exact() {
        assert_eq!(humanize(864_000), "10d");
        assert_eq!(humanize(5400), "90m");
        assert_eq!(humanize(7200), "2h");
        assert_eq!(humanize(3601), "3601s");
        assert_eq!(humanize(0), "0s");
    }

    #[test]
    fn slots_stay_in_jobos_bounds() {
        let c = parse(&[
            ("SERVICE_A_UPLOAD_URL", "http://h:1/submit"),
            ("SERVICE_A_MAX_RUNS", "0"),
        ]);
        assert_eq!(
            (c.nodes[0].slots, c.services["a"].max_running),
            (1, Some(0))
        );
    }
}
