//! Per-job limits within the service's: a job may ask for a wall-clock timeout, memory, CPUs
//! and pids (`jobo submit --timeout 10m --memory 2G --cpus 1.5 --pids 256`). A request over
//! the service's maximum (`max_timeout`, `max_memory`, `max_cpus`, `max_pids`; the default
//! `timeout`, `memory`, … when no maximum is set) is refused; what a job does not ask for is
//! the service's default. The result is stored with the job as its *requested* limits.
//!
//! The timeout is enforced by the executor (capped again at run time by the service's current
//! maximum); memory, CPUs and pids by the run's cgroup where it has one, memory else by
//! `RLIMIT_AS` (src/cgroup/; the job's `enforced` says what held). The output cap (`max_output`, [`output`]) is the service's alone and is enforced at the end
//! of the run.

pub mod output;
pub mod size;

use crate::api::Limits;
use crate::config::ServiceConfig;
use std::time::Duration;

/// What a submit asks for, parsed; `None`: the service's default.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub timeout: Option<Duration>,
    pub memory: Option<u64>,
    pub cpus: Option<f64>,
    pub pids: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LimitError {
    #[error("{what} {asked} is over the maximum of service '{service}', {max} ({key})")]
    OverMax {
        what: &'static str,
        asked: String,
        max: String,
        service: String,
        key: String,
    },
    #[error("invalid {what} '{value}': {why}")]
    Invalid {
        what: &'static str,
        value: String,
        why: String,
    },
}

impl Request {
    /// Parses the textual request of the API (each `None`: not asked).
    pub fn parse(
        timeout: Option<&str>,
        memory: Option<&str>,
        cpus: Option<&str>,
        pids: Option<&str>,
    ) -> Result<Request, LimitError> {
        let invalid = |what, value: &str, why: String| LimitError::Invalid {
            what,
            value: value.to_string(),
            why,
        };
        let timeout = timeout
            .map(|t| {
                humantime::parse_duration(t)
                    .map_err(|e| invalid("timeout", t, e.to_string()))
                    .and_then(|d| {
                        if d.is_zero() {
                            Err(invalid("timeout", t, "must be more than 0".into()))
                        } else {
                            Ok(d)
                        }
                    })
            })
            .transpose()?;
        let memory = memory
            .map(|m| {
                size::parse(m)
                    .filter(|&b| b > 0)
                    .ok_or_else(|| invalid("memory", m, "a size such as 512M or 2G".into()))
            })
            .transpose()?;
        let cpus = cpus
            .map(|c| {
                c.trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|n| n.is_finite() && *n > 0.0)
                    .ok_or_else(|| invalid("cpus", c, "a number above 0, such as 1.5".into()))
            })
            .transpose()?;
        let pids = pids
            .map(|p| {
                p.trim()
                    .parse::<u64>()
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or_else(|| invalid("pids", p, "a whole number above 0".into()))
            })
            .transpose()?;
        Ok(Request {
            timeout,
            memory,
            cpus,
            pids,
        })
    }
}

/// Refuses `asked` over `max`, naming the limit `what`, both values and the key that set the
/// maximum (`max_<what>` when the service has one, else the default's `<what>`).
fn within<T: PartialOrd + Copy>(
    (asked, max): (Option<T>, Option<T>),
    has_max_key: bool,
    show: impl Fn(T) -> String,
    what: &'static str,
    service: &str,
) -> Result<(), LimitError> {
    match (asked, max) {
        (Some(a), Some(m)) if a > m => Err(LimitError::OverMax {
            what,
            asked: show(a),
            max: show(m),
            service: service.to_string(),
            key: if has_max_key {
                format!("max_{what}")
            } else {
                what.to_string()
            },
        }),
        _ => Ok(()),
    }
}

/// What a job of `service` gets when it asks for nothing.
pub fn defaults(service: &ServiceConfig) -> Limits {
    Limits {
        timeout_secs: service.timeout.map(|t| t.as_secs().max(1)),
        memory_bytes: service.memory,
        cpus: service.cpus,
        pids: service.pids,
        output_bytes: service.max_output,
    }
}

/// The most a job of `service` may ask for.
pub fn maxima(service: &ServiceConfig) -> Limits {
    Limits {
        timeout_secs: service.timeout_max().map(|t| t.as_secs().max(1)),
        memory_bytes: service.max_memory.or(service.memory),
        cpus: service.max_cpus.or(service.cpus),
        pids: service.max_pids.or(service.pids),
        output_bytes: service.max_output,
    }
}

/// Checks `req` against service `name`'s maxima and fills in its defaults.
pub fn resolve(name: &str, service: &ServiceConfig, req: &Request) -> Result<Limits, LimitError> {
    let (s, max) = (service, maxima(service));
    let duration = |d: Duration| humantime::format_duration(d).to_string();
    within(
        (req.timeout, s.timeout_max()),
        s.max_timeout.is_some(),
        duration,
        "timeout",
        name,
    )?;
    let memory = (req.memory, max.memory_bytes);
    within(memory, s.max_memory.is_some(), size::format, "memory", name)?;
    let count = |n: u64| n.to_string();
    within(
        (req.cpus, max.cpus),
        s.max_cpus.is_some(),
        |c| c.to_string(),
        "cpus",
        name,
    )?;
    within(
        (req.pids, max.pids),
        s.max_pids.is_some(),
        count,
        "pids",
        name,
    )?;
    let default = defaults(service);
    Ok(Limits {
        timeout_secs: req
            .timeout
            .map(|t| t.as_secs().max(1))
            .or(default.timeout_secs),
        memory_bytes: req.memory.or(default.memory_bytes),
        cpus: req.cpus.or(default.cpus),
        pids: req.pids.or(default.pids),
        output_bytes: default.output_bytes,
    })
}

/// The timeout a run gets: the job's, never over the service's maximum as configured now (a
/// job stored before the limit was lowered is capped by it too); the service's default for a
/// job that has none.
pub fn run_timeout(job: &Limits, service: Option<&ServiceConfig>) -> Option<Duration> {
    let asked = job
        .timeout_secs
        .map(Duration::from_secs)
        .or_else(|| service.and_then(|s| s.timeout));
    match (asked, service.and_then(ServiceConfig::timeout_max)) {
        (Some(a), Some(m)) => Some(a.min(m)),
        (a, m) => a.or(m),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::test_service as service;

    #[test]
    fn requests_within_the_maximum_are_kept_and_the_rest_defaulted() {
        let s = service(
            "timeout = \"1h\"\nmax_timeout = \"4h\"\nmemory = \"1G\"\nmax_memory = \"4G\"\ncpus = 1\npids = 100\nmax_output = \"10M\"",
        );
        let req = Request::parse(Some("2h"), Some("2G"), None, None).expect("parses");
        let l = resolve("s", &s, &req).expect("within");
        assert_eq!(l.timeout_secs, Some(7200));
        assert_eq!(l.memory_bytes, Some(2 << 30));
        assert_eq!(l.cpus, Some(1.0));
        assert_eq!(l.pids, Some(100));
        assert_eq!(l.output_bytes, Some(10 << 20));
    }

    #[test]
    fn a_request_over_the_maximum_names_the_limit_and_both_values() {
        let s = service("timeout = \"2s\"\nmemory = \"1G\"\nmax_memory = \"2G\"\ncpus = 2");
        let err = |t, m, c, p| {
            let req = Request::parse(t, m, c, p).expect("parses");
            resolve("s", &s, &req).expect_err("over").to_string()
        };
        let e = err(Some("1h"), None, None, None);
        assert!(
            e.contains("timeout 1h") && e.contains("2s") && e.contains("(timeout)"),
            "{e}"
        );
        let e = err(None, Some("3G"), None, None);
        assert!(
            e.contains("memory 3 GiB") && e.contains("2 GiB (max_memory)"),
            "{e}"
        );
        let e = err(None, None, Some("2.5"), None);
        assert!(e.contains("cpus 2.5") && e.contains(", 2 (cpus)"), "{e}");
        // No maximum: any request.
        let req = Request::parse(None, None, None, Some("100000")).expect("parses");
        assert_eq!(resolve("s", &s, &req).expect("ok").pids, Some(100_000));
    }

    #[test]
    fn nonsense_is_invalid() {
        assert!(Request::parse(Some("soon"), None, None, None).is_err());
        assert!(Request::parse(Some("0s"), None, None, None).is_err());
        assert!(Request::parse(None, Some("lots"), None, None).is_err());
        assert!(Request::parse(None, None, Some("-1"), None).is_err());
        assert!(Request::parse(None, None, Some("NaN"), None).is_err());
        assert!(Request::parse(None, None, None, Some("0")).is_err());
    }

    #[test]
    fn the_run_timeout_never_exceeds_the_service_maximum() {
        let s = service("timeout = \"2s\"");
        let stored = Limits {
            timeout_secs: Some(3600),
            ..Limits::default()
        };
        assert_eq!(run_timeout(&stored, Some(&s)), Some(Duration::from_secs(2)));
        assert_eq!(
            run_timeout(&Limits::default(), Some(&s)),
            Some(Duration::from_secs(2))
        );
        let free = service("");
        assert_eq!(
            run_timeout(&stored, Some(&free)),
            Some(Duration::from_secs(3600))
        );
        assert_eq!(run_timeout(&Limits::default(), Some(&free)), None);
    }
}
