//! Fencing: a node kills its runs before its server may run them a second time elsewhere.
//!
//! The server requeues a node's jobs once it has read nothing from the node's feed for a whole
//! `[cluster] lease` (`L`; `cluster/native/`). The node cannot see that silence from its side:
//! its feed lines go into kernel buffers whether or not a (frozen, cut-off) server reads them.
//! So the server renews the node's lease (`POST /v1/lease`, [`LeaseRenewal`]): it echoes
//! `sent_ms`, the node's own clock when it wrote the newest `hello` or `beat` the server has
//! read, together with `L`.
//!
//! **The guarantee.** Let `E` be the largest `sent_ms` echoed to the node so far. The server
//! read that line at some time ≥ `E` and set the node's last-seen time then (last-seen only
//! moves forward), so it cannot requeue the node's jobs before `E + L`. At `E + L − L/10` the
//! node SIGKILLs the process group of every native payload at once (no SIGTERM, so no
//! `kill_grace`), turns away payloads still waiting for a slot, and refuses new ones until it
//! is renewed: its runs are dead at least `L/10` before the server may requeue them (1 s with
//! the default 10 s lease, 100 ms with 1 s), and the new attempt starts later still (a
//! scheduler pass, the push of its input, a spawn on the other node). Network delays in either
//! direction only make `E` older, so the node fences earlier, never later, and no clock is
//! compared across machines: only durations, whose rates differ by parts per million. The
//! `L/10` margin covers the node's own lateness: this task waking up and the kernel tearing
//! the group down, milliseconds (a process stuck in uninterruptible I/O dies only when the I/O
//! returns, which no margin bounds).
//!
//! **What it costs a live server.** Beats come every `L/3` and are echoed within a round trip,
//! so `E` trails the node's clock by at most `L/3` plus that. A node fences the runs of a live
//! server only if the echo of the beat after `E` comes more than `L − L/10 − L/3 ≈ 0.57 L` after
//! that beat was sent (5.7 s with the default lease, 567 ms with 1 s): a server stalled that
//! long (or restarted, and not yet reading the feed again) has its runs requeued, attempt + 1.
//! The server itself gives up only after a whole `L`.
//!
//! The node's clock is `CLOCK_BOOTTIME`, which counts a suspend as the server's clock does; as
//! tokio's timers do not, the watcher looks at least every [`TICK`].
//!
//! Not fenced: a node never renewed (just started, no server yet, or used only through the
//! seed's routes) and every payload that came through the seed's `/submit`. Nodes the server
//! drives with `--protocol seed` (`cluster/seed/`) have no feed to echo and are out of
//! scope. The lease belongs to the node, not to one server: a node shared by two native
//! servers is kept alive by either.

use super::payloads::Payloads;
use crate::protocol::LeaseRenewal;
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// The longest the watcher sleeps between looks at the clock (see the module doc).
pub const TICK: Duration = Duration::from_millis(250);

/// The node's clock for leases: milliseconds of `CLOCK_BOOTTIME` (since boot, suspend
/// included). The same for every process on the machine, so an echo of a line an earlier
/// `jobod worker` wrote still means the time it says.
pub fn now_ms() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid out-pointer; clock_gettime only writes it.
    let mut rc = unsafe { libc::clock_gettime(libc::CLOCK_BOOTTIME, &mut ts) };
    if rc != 0 {
        // Kernels before 2.6.39; never mixed: if one call fails, every call does.
        // SAFETY: as above.
        rc = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    }
    if rc != 0 {
        return 0;
    }
    let secs = u64::try_from(ts.tv_sec).unwrap_or(0);
    let millis = u64::try_from(ts.tv_nsec).unwrap_or(0) / 1_000_000;
    secs.saturating_mul(1000).saturating_add(millis)
}

/// How long before the server may requeue the node fences: `L/10` (see the module doc).
pub fn margin_ms(lease_ms: u64) -> u64 {
    lease_ms / 10
}

/// The node's lease from its server.
pub struct Lease {
    state: Mutex<State>,
    /// Wakes the watcher on a renewal.
    renewed: Notify,
}

#[derive(Debug, Default)]
struct State {
    /// When the node fences (its clock, [`now_ms`]). `None`: never renewed, never fenced.
    fence_at: Option<u64>,
    /// The server's lease, as last told.
    lease_ms: u64,
    /// The lease ran out and the watcher fenced; cleared by a renewal that revives it.
    expired: bool,
}

/// What the watcher should do now.
#[derive(Debug, PartialEq, Eq)]
enum Look {
    /// Never renewed: wait for a renewal.
    Unleased,
    /// Valid for this many more milliseconds.
    Valid(u64),
    /// Ran out: fence. `first` for the look that found it out.
    Expired { first: bool },
}

impl Default for Lease {
    fn default() -> Self {
        Lease::new()
    }
}

impl Lease {
    pub fn new() -> Lease {
        Lease {
            state: Mutex::new(State::default()),
            renewed: Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A renewal from the server. Renewals may arrive out of order: the deadline only moves
    /// later. Refuses an echo of a time this node has not reached yet (not one of its lines).
    pub fn renew(&self, r: LeaseRenewal) -> Result<(), String> {
        self.renew_at(r, now_ms())
    }

    fn renew_at(&self, r: LeaseRenewal, now: u64) -> Result<(), String> {
        if r.lease_ms == 0 {
            return Err("lease_ms must be at least 1".into());
        }
        if r.sent_ms > now {
            return Err(format!(
                "sent_ms {} is later than this node's clock ({now}): not the time of one of \
                 its feed lines",
                r.sent_ms
            ));
        }
        let at = r
            .sent_ms
            .saturating_add(r.lease_ms)
            .saturating_sub(margin_ms(r.lease_ms));
        let mut state = self.lock();
        state.lease_ms = r.lease_ms;
        let fence_at = state.fence_at.map_or(at, |old| old.max(at));
        state.fence_at = Some(fence_at);
        if state.expired && now < fence_at {
            state.expired = false;
            tracing::info!("the server renewed this node's lease: it takes payloads again");
        }
        drop(state);
        self.renewed.notify_one();
        Ok(())
    }

    /// Whether native payloads may run: never renewed, or renewed and not run out.
    pub fn valid(&self) -> bool {
        self.valid_at(now_ms())
    }

    fn valid_at(&self, now: u64) -> bool {
        self.lock().fence_at.is_none_or(|at| now < at)
    }

    /// Why a payload was fenced, in a few words.
    pub fn why(&self) -> String {
        let lease = self.lock().lease_ms;
        format!(
            "fenced: the server did not renew this node's lease in time (lease {}), so it may \
             run the job elsewhere",
            humantime::format_duration(Duration::from_millis(lease))
        )
    }

    fn look(&self, now: u64) -> Look {
        let mut state = self.lock();
        match state.fence_at {
            None => Look::Unleased,
            Some(at) if now < at => Look::Valid(at - now),
            Some(_) => {
                let first = !state.expired;
                state.expired = true;
                Look::Expired { first }
            }
        }
    }
}

/// Kills every native payload once the lease runs out, and keeps killing what would start while
/// it stays out (the node's `Payloads` also refuse to start them); runs until `shutdown`.
pub async fn watch(lease: std::sync::Arc<Lease>, payloads: Payloads, shutdown: CancellationToken) {
    loop {
        let pause = match lease.look(now_ms()) {
            Look::Unleased => None,
            Look::Valid(ms) => Some(Duration::from_millis(ms).min(TICK)),
            Look::Expired { first } => {
                let fenced = payloads.fence(&lease.why());
                if first {
                    tracing::warn!(
                        "no lease renewal from the server in time: fenced (killed) {fenced} \
                         payloads; new ones are refused until it renews the lease (the server \
                         may be running its jobs elsewhere by now)"
                    );
                } else if fenced > 0 {
                    tracing::warn!("fenced (killed) {fenced} more payloads");
                }
                Some(TICK)
            }
        };
        let sleep = async {
            match pause {
                Some(p) => tokio::time::sleep(p).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = lease.renewed.notified() => {}
            _ = sleep => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn renewal(sent_ms: u64, lease_ms: u64) -> LeaseRenewal {
        LeaseRenewal { sent_ms, lease_ms }
    }

    #[test]
    fn never_renewed_never_fences() {
        let lease = Lease::new();
        assert!(lease.valid_at(u64::MAX));
        assert_eq!(lease.look(u64::MAX), Look::Unleased);
    }

    #[test]
    fn fences_a_tenth_of_the_lease_before_the_server_may_requeue() {
        let lease = Lease::new();
        lease
            .renew_at(renewal(10_000, 1_000), 10_050)
            .expect("renew");
        // The server cannot requeue before 10_000 + 1_000; the node fences at 10_900.
        assert!(lease.valid_at(10_899));
        assert_eq!(lease.look(10_800), Look::Valid(100));
        assert!(!lease.valid_at(10_900));
        assert_eq!(lease.look(10_900), Look::Expired { first: true });
        assert_eq!(lease.look(10_950), Look::Expired { first: false });
        // An older echo arriving late does not move the deadline back, nor revive it.
        lease
            .renew_at(renewal(9_000, 1_000), 10_960)
            .expect("renew");
        assert!(!lease.valid_at(10_960));
        // A fresh one revives it.
        lease
            .renew_at(renewal(10_950, 1_000), 10_960)
            .expect("renew");
        assert!(lease.valid_at(10_960));
        assert_eq!(lease.look(11_000), Look::Valid(850));
        assert_eq!(lease.look(11_850), Look::Expired { first: true });
    }

    #[test]
    fn refuses_echoes_from_the_future_and_zero_leases() {
        let lease = Lease::new();
        assert!(lease.renew_at(renewal(2_000, 1_000), 1_999).is_err());
        assert!(lease.renew_at(renewal(1_000, 0), 1_999).is_err());
        assert_eq!(lease.look(5_000), Look::Unleased);
        assert!(
            lease
                .renew_at(renewal(u64::MAX, u64::MAX), u64::MAX)
                .is_ok()
        );
    }

    #[test]
    fn the_clock_moves_forward() {
        let a = now_ms();
        std::thread::sleep(Duration::from_millis(20));
        let b = now_ms();
        assert!(a > 0 && b >= a + 15, "{a} {b}");
    }
}
