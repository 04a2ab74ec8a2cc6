//! The machine's CPU use, as `GET /load` and the feed report it.

use std::sync::Mutex;
use std::time::Instant;

/// CPU use measured between two readings (at least sysinfo's minimum interval apart, else
/// the last value is given again).
pub struct Load(Mutex<Option<LoadState>>);

struct LoadState {
    sys: sysinfo::System,
    at: Instant,
    value: f32,
}

impl Load {
    /// Takes the first measurement, so the first reading already covers the time since start.
    pub fn new() -> Load {
        let state = sysinfo::System::new().ok().map(|mut sys| {
            sys.refresh_cpu_usage();
            LoadState {
                sys,
                at: Instant::now(),
                value: 0.0,
            }
        });
        Load(Mutex::new(state))
    }

    pub fn percent(&self) -> f32 {
        let mut guard = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let Some(state) = guard.as_mut() else {
            return 0.0;
        };
        if state.at.elapsed() >= sysinfo::MINIMUM_CPU_UPDATE_INTERVAL {
            state.sys.refresh_cpu_usage();
            state.at = Instant::now();
            state.value = state.sys.global_cpu_usage();
        }
        state.value
    }
}

impl Default for Load {
    fn default() -> Self {
        Load::new()
    }
}
