//! A job's environment: an allow-list, never the daemon's own (its tokens, cloud keys and
//! `PATH` stay out). The executor sets `HOME`, `SHELL`, `TMPDIR`, `USER`, `LOGNAME` and the `JOBO_*`
//! variables; this module decides the rest: `PATH` (fixed, per service `path`), `LANG`
//! (`C.UTF-8`, per service `lang`), `TZ` (per service `tz`, unset by default) and the job's
//! own variables (`jobo submit -e KEY=VALUE`), each of which the service must allow by name
//! (`env = ["OMP_NUM_THREADS", "MY_*"]`). The server resolves them and sends them to nodes
//! with the push, so a job sees the same on the local worker and on a node.

use crate::config::ServiceConfig;
use std::collections::BTreeMap;

pub const DEFAULT_PATH: &str = "/usr/local/bin:/usr/bin:/bin";
pub const DEFAULT_LANG: &str = "C.UTF-8";
/// Bounds of a job's own variables: they travel in a URL to nodes.
pub const MAX_VARS: usize = 64;
pub const MAX_NAME: usize = 128;
pub const MAX_VALUE: usize = 4096;
pub const MAX_TOTAL: usize = 16 * 1024;

/// A job's own variables, by name.
pub type Vars = BTreeMap<String, String>;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvError {
    #[error("invalid variable name '{0}' (letters, digits and _, not starting with a digit)")]
    BadName(String),
    #[error("variable {0} is set by jobo itself")]
    Reserved(String),
    #[error(
        "variable {name} is not allowed in service '{service}' (its env allow-list: {allowed})"
    )]
    NotAllowed {
        name: String,
        service: String,
        allowed: String,
    },
    #[error("variable {0}'s value holds a NUL byte")]
    Nul(String),
    #[error(
        "too many or too large variables: at most {MAX_VARS}, values of {MAX_VALUE} bytes, {MAX_TOTAL} bytes in all"
    )]
    TooLarge,
}

/// `[A-Za-z_][A-Za-z0-9_]*`, as POSIX shells name variables.
pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= MAX_NAME
}

/// Variables the executor sets, which no job or service may set.
fn reserved(name: &str) -> bool {
    matches!(
        name,
        "PATH" | "HOME" | "SHELL" | "TMPDIR" | "USER" | "LOGNAME"
    ) || name.starts_with("JOBO_")
}

/// Whether an allow-list entry (a name, or a prefix ending in `*`) lets `name` through.
fn allows(pattern: &str, name: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => pattern == name,
    }
}

/// An allow-list entry as `jobod.toml` may write it: a valid name, optionally ending in `*`.
pub fn valid_pattern(pattern: &str) -> bool {
    let name = pattern.strip_suffix('*').unwrap_or(pattern);
    (name.is_empty() && pattern == "*") || valid_name(name)
}

/// Checks a job's own variables against service `name`'s allow-list and the bounds.
pub fn check(name: &str, service: &ServiceConfig, vars: &Vars) -> Result<(), EnvError> {
    let total: usize = vars.iter().map(|(k, v)| k.len() + v.len()).sum();
    if vars.len() > MAX_VARS || total > MAX_TOTAL || vars.values().any(|v| v.len() > MAX_VALUE) {
        return Err(EnvError::TooLarge);
    }
    for (key, value) in vars {
        if !valid_name(key) {
            return Err(EnvError::BadName(key.clone()));
        }
        if reserved(key) {
            return Err(EnvError::Reserved(key.clone()));
        }
        if value.contains('\0') {
            return Err(EnvError::Nul(key.clone()));
        }
        if !service.env.iter().any(|p| allows(p, key)) {
            return Err(EnvError::NotAllowed {
                name: key.clone(),
                service: name.to_string(),
                allowed: if service.env.is_empty() {
                    "empty".into()
                } else {
                    service.env.join(", ")
                },
            });
        }
    }
    Ok(())
}

/// What a run gets besides the executor's own variables: `PATH`, then `LANG`, `TZ` and the
/// job's variables (which may override `LANG` and `TZ` when the service allows them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunEnv {
    pub path: String,
    pub vars: Vec<(String, String)>,
}

impl Default for RunEnv {
    fn default() -> Self {
        RunEnv {
            path: DEFAULT_PATH.into(),
            vars: vec![("LANG".into(), DEFAULT_LANG.into())],
        }
    }
}

impl RunEnv {
    /// A job's environment in service `service` (its defaults when the service is gone).
    pub fn of(service: Option<&ServiceConfig>, job: &Vars) -> RunEnv {
        let mut vars: Vars = BTreeMap::new();
        let path = match service {
            Some(s) => {
                vars.insert("LANG".into(), s.lang.clone());
                if let Some(tz) = &s.tz {
                    vars.insert("TZ".into(), tz.clone());
                }
                s.path.clone()
            }
            None => {
                vars.insert("LANG".into(), DEFAULT_LANG.into());
                DEFAULT_PATH.into()
            }
        };
        vars.extend(job.iter().map(|(k, v)| (k.clone(), v.clone())));
        RunEnv {
            path,
            vars: vars.into_iter().collect(),
        }
    }

    /// As a node receives it: variables that are not valid or are jobo's own are dropped, but
    /// for the server's `JOBO_ARRAY_INDEX` of a job of an array.
    pub fn received(path: Option<String>, vars: Option<Vars>) -> RunEnv {
        let default = RunEnv::default();
        RunEnv {
            path: path.filter(|p| !p.is_empty()).unwrap_or(default.path),
            vars: match vars {
                Some(v) => v
                    .into_iter()
                    .filter(|(k, v)| {
                        valid_name(k)
                            && (!reserved(k) || k == crate::queue::ARRAY_INDEX)
                            && !v.contains('\0')
                    })
                    .collect(),
                None => default.vars,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::test_service as service;

    fn vars(pairs: &[(&str, &str)]) -> Vars {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn names_follow_the_shell() {
        for ok in ["A", "_x", "OMP_NUM_THREADS", "a1"] {
            assert!(valid_name(ok), "{ok}");
        }
        for bad in ["", "1A", "A-B", "A B", "É", "A=B"] {
            assert!(!valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn only_allowed_variables_pass() {
        let s = service("env = [\"OMP_NUM_THREADS\", \"MY_*\"]");
        assert_eq!(
            check("s", &s, &vars(&[("OMP_NUM_THREADS", "4"), ("MY_X", "y")])),
            Ok(())
        );
        let e = check("s", &s, &vars(&[("AWS_SECRET_ACCESS_KEY", "x")])).expect_err("refused");
        assert!(e.to_string().contains("AWS_SECRET_ACCESS_KEY"), "{e}");
        assert!(e.to_string().contains("OMP_NUM_THREADS, MY_*"), "{e}");
        assert!(matches!(
            check(
                "s",
                &service("env = [\"*\"]"),
                &vars(&[("JOBO_JOB_ID", "1")])
            ),
            Err(EnvError::Reserved(_))
        ));
        assert!(matches!(
            check("s", &s, &vars(&[("MY_X", &"x".repeat(MAX_VALUE + 1))])),
            Err(EnvError::TooLarge)
        ));
        assert!(matches!(
            check("s", &s, &vars(&[("MY-X", "1")])),
            Err(EnvError::BadName(_))
        ));
    }

    #[test]
    fn the_run_env_comes_from_the_service_and_the_job() {
        let s = service("path = \"/opt/bin:/usr/bin:/bin\"\ntz = \"UTC\"");
        let env = RunEnv::of(Some(&s), &vars(&[("MY_X", "1")]));
        assert_eq!(env.path, "/opt/bin:/usr/bin:/bin");
        assert_eq!(
            env.vars,
            vec![
                ("LANG".to_string(), "C.UTF-8".to_string()),
                ("MY_X".into(), "1".into()),
                ("TZ".into(), "UTC".into())
            ]
        );
        let got = RunEnv::received(
            Some(env.path.clone()),
            Some(env.vars.iter().cloned().collect()),
        );
        assert_eq!(got, env);
        assert_eq!(RunEnv::received(None, None), RunEnv::default());
    }
}
