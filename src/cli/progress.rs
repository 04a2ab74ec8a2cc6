//! Progress on a terminal: transfer bars (upload, fetch) and the spinner that waits on a job.
//!
//! Nothing is drawn when stderr is not a terminal (indicatif's stderr target hides itself
//! then), in JSON mode, or for a transfer too small to watch: a bar appears only once a
//! transfer has moved [`MIN_BAR_BYTES`], so small jobs stay silent.

use crate::api::Job;
use crate::job::JobState;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::time::Duration;

/// Transfers smaller than this draw no bar: it would only flash by.
pub const MIN_BAR_BYTES: u64 = 1 << 20;

fn target(json: bool) -> ProgressDrawTarget {
    if json {
        ProgressDrawTarget::hidden()
    } else {
        ProgressDrawTarget::stderr()
    }
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

/// A transfer of `total` bytes of file content (a bar with percent, rate and ETA), or of an
/// unknown amount (a counter with the rate). Count with [`Transfer::add`].
pub struct Transfer {
    bar: ProgressBar,
    /// Whether the bar may be drawn at all (a terminal, not JSON).
    drawable: bool,
    shown: bool,
}

impl Transfer {
    pub fn new(label: &str, total: Option<u64>, json: bool) -> Transfer {
        let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::hidden());
        bar.set_style(match total {
            Some(_) => style(
                "{msg} [{wide_bar}] {bytes}/{total_bytes} {percent}% {binary_bytes_per_sec} ETA {eta}",
            ),
            None => style("{spinner} {msg} {bytes} ({binary_bytes_per_sec})"),
        });
        bar.set_message(label.to_string());
        Transfer {
            bar,
            drawable: !target(json).is_hidden(),
            shown: false,
        }
    }

    /// `n` more bytes moved; the bar appears once [`MIN_BAR_BYTES`] have.
    pub fn add(&mut self, n: u64) {
        self.bar.inc(n);
        if !self.shown && self.drawable && self.bar.position() >= MIN_BAR_BYTES {
            self.shown = true;
            self.bar.set_draw_target(ProgressDrawTarget::stderr());
            self.bar.enable_steady_tick(Duration::from_millis(200));
            self.bar.tick();
        }
    }

    /// Removes the bar from the terminal.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// The spinner of `jobo wait`, `submit --wait` and `run` while a job waits or runs; hidden off
/// a terminal and in JSON mode. State changes are printed above it with [`say`].
pub fn spinner(message: String, json: bool) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(None, target(json));
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.set_message(message);
    // The tick is a thread of its own: none where nothing is drawn (not a terminal, --json),
    // as `jobo submit --wait` in a script pays for starting and joining it.
    if !bar.is_hidden() {
        bar.enable_steady_tick(Duration::from_millis(100));
    }
    bar
}

/// Prints a line above `bar` (on stderr), or nothing when the bar is hidden.
pub fn say(bar: &ProgressBar, line: String) {
    bar.println(line);
}

/// Where a queued job stands, when the server says (`queue_position`, `wait_reason`: read
/// from the JSON when present, so older servers simply show less).
pub fn queue_note(job: &serde_json::Value) -> String {
    let position = job.get("queue_position").and_then(|p| p.as_u64());
    let reason = job.get("wait_reason").and_then(|r| r.as_str());
    match (position, reason) {
        (Some(p), Some(r)) => format!(" (position {p}: {r})"),
        (Some(p), None) => format!(" (position {p})"),
        (None, Some(r)) => format!(" ({r})"),
        (None, None) => String::new(),
    }
}

/// One line for a job's state: "job 7: queued (position 2: …)", "job 7: running on node1".
pub fn state_line(job: &Job, raw: &serde_json::Value) -> String {
    match job.state {
        JobState::Queued => format!("job {}: queued{}", job.id, queue_note(raw)),
        JobState::Running => match &job.node {
            Some(node) => format!("job {}: running on {node}", job.id),
            None => format!("job {}: running", job.id),
        },
        state => format!("job {}: {state}", job.id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_queued_job_shows_its_position_and_reason_when_the_server_tells_them() {
        let note = |v: serde_json::Value| queue_note(&v);
        assert_eq!(
            note(serde_json::json!({"queue_position": 3, "wait_reason": "no free slot"})),
            " (position 3: no free slot)"
        );
        assert_eq!(
            note(serde_json::json!({"queue_position": 1})),
            " (position 1)"
        );
        assert_eq!(note(serde_json::json!({"state": "queued"})), "");
    }
}
