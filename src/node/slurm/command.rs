//! Running Slurm's client commands (`sbatch`, `squeue`, `sacct`, `scancel`): each bounded in
//! time, its stdout returned, its stderr made the error when it fails.

use std::process::Stdio;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

/// The longest a Slurm command may take (a controller that does not answer makes them hang
/// for its `MessageTimeout` and retries).
const LIMIT: Duration = Duration::from_secs(60);

/// A Slurm command with a clean slate: no stdin, piped output, killed if dropped.
pub fn new(program: &str) -> Command {
    let mut cmd = Command::new(program);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    cmd
}

/// Runs `cmd` (spawned by `spawn`, which may switch users for it) with `input` on its stdin;
/// its stdout, or why it failed.
pub async fn output_with(
    what: &str,
    cmd: &mut Command,
    input: Option<&[u8]>,
    spawn: impl FnOnce(&mut Command) -> std::io::Result<tokio::process::Child>,
) -> Result<String, String> {
    if input.is_some() {
        cmd.stdin(Stdio::piped());
    }
    let mut child = crate::process::spawn_own(|| spawn(cmd), tokio::process::Child::id)
        .map_err(|e| format!("cannot run {what}: {e}"))?;
    let pid = child.id();
    if let (Some(input), Some(mut stdin)) = (input, child.stdin.take()) {
        stdin
            .write_all(input)
            .await
            .map_err(|e| format!("cannot write to {what}: {e}"))?;
    }
    let waited = tokio::time::timeout(LIMIT, child.wait_with_output()).await;
    if let Some(pid) = pid {
        crate::process::forget_own(pid as i32);
    }
    let out = match waited {
        Err(_) => return Err(format!("{what} did not answer within {}s", LIMIT.as_secs())),
        Ok(Err(e)) => return Err(format!("{what}: {e}")),
        Ok(Ok(out)) => out,
    };
    if out.status.success() {
        return Ok(String::from_utf8_lossy(&out.stdout).into_owned());
    }
    let err = String::from_utf8_lossy(&out.stderr);
    let err = err.trim();
    Err(if err.is_empty() {
        format!("{what} failed ({})", out.status)
    } else {
        format!("{what} failed: {}", err.replace('\n', "; "))
    })
}

/// Runs `cmd` as jobod's own user.
pub async fn output(what: &str, cmd: &mut Command) -> Result<String, String> {
    output_with(what, cmd, None, |c| c.spawn()).await
}
