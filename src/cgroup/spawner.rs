//! A thread that lives in one slot's cgroups for good and spawns that slot's jobs.
//!
//! cgroup v1 places a new process in the cgroups of the *thread* that forks it. Moving the
//! spawning thread in and out for every job costs eight migrations under the kernel's cgroup
//! lock; a thread that entered its slot once and only ever spawns costs none. It runs the
//! closures it is sent, one at a time, and never starts a thread itself (one would inherit its
//! cgroups).

use std::io;
use std::sync::mpsc;
use std::thread::JoinHandle;

type Task = Box<dyn FnOnce() + Send>;

pub struct Spawner {
    tx: Option<mpsc::Sender<Task>>,
    thread: Option<JoinHandle<()>>,
}

impl Spawner {
    /// Starts the thread, which first runs `enter` (moving itself into the slot) and, when it
    /// stops, `leave` (moving itself out, so the slot can be removed at once).
    pub fn start(
        name: String,
        enter: impl FnOnce() -> io::Result<()> + Send + 'static,
        leave: impl FnOnce() + Send + 'static,
    ) -> io::Result<Spawner> {
        let (tx, rx) = mpsc::channel::<Task>();
        let (ready_tx, ready_rx) = mpsc::sync_channel(1);
        let thread = std::thread::Builder::new().name(name).spawn(move || {
            let entered = enter();
            let ok = entered.is_ok();
            let _ = ready_tx.send(entered);
            if ok {
                while let Ok(task) = rx.recv() {
                    // A panic fails that spawn only (its caller sees the thread gone), not the
                    // slot's later runs.
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(task));
                }
            }
            leave();
        })?;
        let spawner = Spawner {
            tx: Some(tx),
            thread: Some(thread),
        };
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(spawner),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(io::Error::other("the slot's spawn thread died")),
        }
    }

    /// Runs `f` on the thread and returns its result. The caller awaits it rather than
    /// blocking: a runtime worker parked on another thread's clone could not serve requests,
    /// and on a busy machine it waits for a CPU long after the child started. The callers'
    /// futures are not dropped mid-spawn: a run task ends only with jobod, which kills every
    /// job's process group and slot on its way out.
    pub async fn run<R: Send + 'static>(
        &self,
        f: impl FnOnce() -> R + Send + 'static,
    ) -> io::Result<R> {
        let gone = || io::Error::other("the slot's spawn thread is gone");
        let (done_tx, done_rx) = tokio::sync::oneshot::channel();
        let task: Task = Box::new(move || {
            let _ = done_tx.send(f());
        });
        self.tx
            .as_ref()
            .ok_or_else(gone)?
            .send(task)
            .map_err(|_| gone())?;
        done_rx.await.map_err(|_| gone())
    }
}

impl Drop for Spawner {
    /// Stops the thread (after it left the slot).
    fn drop(&mut self) {
        drop(self.tx.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
