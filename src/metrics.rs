//! What `/metrics` counts in-process: jobs finished, dispatch latency and run time per service,
//! and bytes in and out. Observed where a transition is announced ([`Core::job_changed`]),
//! so counting costs a lock and a few additions per transition, never a store query. What
//! the store already knows (jobs queued or running now, node health) is read at scrape time
//! by `server/metrics.rs`, which also writes the Prometheus text.
//!
//! [`Core::job_changed`]: crate::core::Core::job_changed

use crate::api::Job;
use crate::job::JobState;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Upper bounds (seconds) of the dispatch-latency buckets: submit to running.
const DISPATCH_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
    300.0, 1800.0,
];
/// Upper bounds (seconds) of the run-time buckets: running to finished.
const RUN_BUCKETS: &[f64] = &[
    0.01, 0.1, 1.0, 10.0, 60.0, 300.0, 900.0, 3600.0, 14400.0, 86400.0,
];

/// A Prometheus histogram: cumulative counts are computed when written.
#[derive(Debug, Clone)]
struct Histogram {
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

impl Histogram {
    fn new(buckets: &[f64]) -> Histogram {
        Histogram {
            counts: vec![0; buckets.len()],
            sum: 0.0,
            count: 0,
        }
    }

    fn observe(&mut self, buckets: &[f64], secs: f64) {
        if let Some(i) = buckets.iter().position(|b| secs <= *b) {
            self.counts[i] += 1;
        }
        self.sum += secs;
        self.count += 1;
    }
}

#[derive(Default)]
struct PerService {
    dispatch: BTreeMap<String, Histogram>,
    run: BTreeMap<String, Histogram>,
    finished: BTreeMap<(String, &'static str), u64>,
}

/// The daemon's counters since it started.
#[derive(Default)]
pub struct Metrics {
    per_service: Mutex<PerService>,
    input_bytes: AtomicU64,
    results_bytes: AtomicU64,
}

impl Metrics {
    /// Counts a committed transition of `job` (now in its new state).
    pub fn observe(&self, job: &Job) {
        let Ok(mut m) = self.per_service.lock() else {
            return;
        };
        let secs = |from: i64, to: i64| (to - from).max(0) as f64 / 1000.0;
        match job.state {
            JobState::Running => {
                if let Some(started) = job.started_at {
                    m.dispatch
                        .entry(job.service.clone())
                        .or_insert_with(|| Histogram::new(DISPATCH_BUCKETS))
                        .observe(DISPATCH_BUCKETS, secs(job.submitted_at, started));
                }
            }
            state if state.is_terminal() && state != JobState::Expired => {
                *m.finished
                    .entry((job.service.clone(), state.as_str()))
                    .or_default() += 1;
                if let (Some(started), Some(finished)) = (job.started_at, job.finished_at) {
                    m.run
                        .entry(job.service.clone())
                        .or_insert_with(|| Histogram::new(RUN_BUCKETS))
                        .observe(RUN_BUCKETS, secs(started, finished));
                }
            }
            _ => {}
        }
    }

    /// Bytes of job inputs accepted.
    pub fn input(&self, bytes: u64) {
        self.input_bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Bytes of results (archives, partial downloads) sent.
    pub fn results(&self, bytes: u64) {
        self.results_bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Appends the counters and histograms in the Prometheus text format.
    pub fn write(&self, out: &mut String) {
        let per = match self.per_service.lock() {
            Ok(m) => PerService {
                dispatch: m.dispatch.clone(),
                run: m.run.clone(),
                finished: m.finished.clone(),
            },
            Err(_) => PerService::default(),
        };
        header(
            out,
            "jobo_jobs_finished_total",
            "counter",
            "Jobs that reached a final state since jobod started, by service and state.",
        );
        for ((service, state), n) in &per.finished {
            let _ = writeln!(
                out,
                "jobo_jobs_finished_total{{service=\"{}\",state=\"{}\"}} {n}",
                label(service),
                state
            );
        }
        histograms(
            out,
            "jobo_dispatch_seconds",
            "Time from submit to running, by service.",
            DISPATCH_BUCKETS,
            &per.dispatch,
        );
        histograms(
            out,
            "jobo_run_seconds",
            "Time from running to a final state, by service.",
            RUN_BUCKETS,
            &per.run,
        );
        for (name, help, value) in [
            (
                "jobo_input_bytes_total",
                "Bytes of job inputs accepted (unpacked).",
                &self.input_bytes,
            ),
            (
                "jobo_results_bytes_total",
                "Bytes of results archives sent.",
                &self.results_bytes,
            ),
        ] {
            header(out, name, "counter", help);
            let _ = writeln!(out, "{name} {}", value.load(Ordering::Relaxed));
        }
    }
}

/// The `# HELP` and `# TYPE` lines of a metric.
pub fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// A label value, escaped as the text format requires.
pub fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn histograms(
    out: &mut String,
    name: &str,
    help: &str,
    buckets: &[f64],
    per: &BTreeMap<String, Histogram>,
) {
    header(out, name, "histogram", help);
    for (service, h) in per {
        let service = label(service);
        let mut cumulative = 0;
        for (bound, n) in buckets.iter().zip(&h.counts) {
            cumulative += n;
            let _ = writeln!(
                out,
                "{name}_bucket{{service=\"{service}\",le=\"{bound}\"}} {cumulative}"
            );
        }
        let _ = writeln!(
            out,
            "{name}_bucket{{service=\"{service}\",le=\"+Inf\"}} {}\n\
             {name}_sum{{service=\"{service}\"}} {}\n\
             {name}_count{{service=\"{service}\"}} {}",
            h.count, h.sum, h.count
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(state: JobState, submitted: i64, started: Option<i64>, finished: Option<i64>) -> Job {
        Job {
            id: 1,
            user: "u".into(),
            service: "s\"x".into(),
            state,
            priority: 0,
            node: None,
            attempts: 1,
            exit_code: None,
            reason: None,
            submitted_at: submitted,
            started_at: started,
            finished_at: finished,
            input_bytes: 0,
            output_bytes: None,
            requested_limits: Default::default(),
            enforced: Default::default(),
            usage: Default::default(),
            env: Default::default(),
            run_as: None,
            slurm: None,
        }
    }

    #[test]
    fn histograms_are_cumulative_and_labels_escaped() {
        let m = Metrics::default();
        m.observe(&job(JobState::Running, 0, Some(3), None));
        m.observe(&job(JobState::Running, 0, Some(700), None));
        m.observe(&job(JobState::Succeeded, 0, Some(3), Some(2003)));
        m.observe(&job(JobState::Expired, 0, Some(3), Some(2003)));
        m.input(10);
        let mut out = String::new();
        m.write(&mut out);
        for line in [
            r#"jobo_dispatch_seconds_bucket{service="s\"x",le="0.0025"} 0"#,
            r#"jobo_dispatch_seconds_bucket{service="s\"x",le="0.005"} 1"#,
            r#"jobo_dispatch_seconds_bucket{service="s\"x",le="1"} 2"#,
            r#"jobo_dispatch_seconds_bucket{service="s\"x",le="+Inf"} 2"#,
            r#"jobo_dispatch_seconds_count{service="s\"x"} 2"#,
            r#"jobo_run_seconds_bucket{service="s\"x",le="10"} 1"#,
            r#"jobo_jobs_finished_total{service="s\"x",state="succeeded"} 1"#,
            "jobo_input_bytes_total 10",
            "# TYPE jobo_run_seconds histogram",
        ] {
            assert!(out.lines().any(|l| l == line), "no {line} in\n{out}");
        }
        assert!(!out.contains("expired"), "{out}");
    }
}
