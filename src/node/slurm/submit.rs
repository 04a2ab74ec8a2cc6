//! Handing one payload to Slurm: its batch script (the run's environment, then `bash run.sh` in
//! its work dir, as the local executor runs it), and `sbatch --parsable` with the job's limits
//! mapped (`--time`, `--mem`, `--cpus-per-task`), the node's partition, account and extra
//! arguments, and the payload's log files as the job's stdout and stderr.
//!
//! `sbatch` runs with the credentials of the account the payload runs as (a root node switches
//! the spawning thread to it, as the executor does), so Slurm runs the job as that user on
//! every Slurm version, `--uid` or not. The script goes in on stdin: no file of the job's
//! variables is left for others to read.

use super::SlurmOptions;
use super::command;
use crate::as_user::Switched;
use crate::executor::RunSpec;
use crate::paths::LogStream;
use std::fmt::Write;

/// The Slurm job's name: the jobo job id and the payload's, so `squeue` says whose it is.
pub fn job_name(job_id: &str, payload: &str) -> String {
    let short: String = payload.chars().take(8).collect();
    format!("jobo-{job_id}-{short}")
}

/// `'text'` for bash.
fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// The batch script: the run's whole environment (over what little `sbatch` passes on, see
/// [`sbatch`]), then `bash run.sh` in the work dir.
pub fn batch_script(spec: &RunSpec, payload: &str) -> String {
    let mut s = String::from("#!/bin/bash\n");
    let _ = writeln!(
        s,
        "# jobo payload {payload}: job {}, attempt {} (jobod worker --backend slurm)",
        spec.job_id, spec.attempt
    );
    let work = spec.dir.work();
    let mut vars: Vec<(String, String)> = spec.env.vars.clone();
    vars.extend([
        ("PATH".into(), spec.env.path.clone()),
        ("HOME".into(), work.display().to_string()),
        ("SHELL".into(), "/bin/bash".into()),
        ("TMPDIR".into(), spec.dir.scratch().display().to_string()),
        ("USER".into(), spec.run_as.name().to_string()),
        ("LOGNAME".into(), spec.run_as.name().to_string()),
        ("JOBO_JOB_ID".into(), spec.job_id.clone()),
        ("JOBO_USER".into(), spec.user.clone()),
        ("JOBO_SERVICE".into(), spec.service.clone()),
        ("JOBO_ATTEMPT".into(), spec.attempt.to_string()),
    ]);
    for (k, v) in vars {
        // Names were checked by the server and again on arrival (src/jobenv.rs).
        let _ = writeln!(s, "export {k}={}", quote(&v));
    }
    let _ = writeln!(s, "cd {} || exit 1", quote(&work.display().to_string()));
    s.push_str("exec bash run.sh\n");
    s
}

/// `sbatch`'s arguments for the payload.
pub fn sbatch_args(spec: &RunSpec, name: &str, opts: &SlurmOptions) -> Vec<String> {
    let mut args = vec![
        "--parsable".to_string(),
        format!("--job-name={name}"),
        format!("--chdir={}", spec.dir.work().display()),
        format!("--output={}", spec.dir.log(LogStream::Stdout).display()),
        format!("--error={}", spec.dir.log(LogStream::Stderr).display()),
        "--open-mode=append".into(),
        "--export=ALL".into(),
    ];
    if let Some(t) = spec.timeout {
        // Slurm counts whole minutes and rounds this up.
        let secs = t.as_secs().max(1);
        args.push(format!("--time={}:{:02}", secs / 60, secs % 60));
    }
    if let Some(bytes) = spec.caps.memory {
        args.push(format!("--mem={}M", bytes.div_ceil(1024 * 1024).max(1)));
    }
    if let Some(cpus) = spec.caps.cpus {
        args.push(format!("--cpus-per-task={}", (cpus.ceil() as u64).max(1)));
    }
    if let Some(p) = &opts.partition {
        args.push(format!("--partition={p}"));
    }
    if let Some(a) = &opts.account {
        args.push(format!("--account={a}"));
    }
    args.extend(opts.sbatch_args.iter().cloned());
    args
}

/// Submits the payload; Slurm's job id, or why it could not.
pub async fn sbatch(spec: &RunSpec, name: &str, opts: &SlurmOptions) -> Result<u64, String> {
    let payload = spec
        .dir
        .path()
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // The job writes its logs as its own user.
    if let Some(account) = spec.run_as.account() {
        for stream in [LogStream::Stdout, LogStream::Stderr] {
            let log = spec.dir.log(stream);
            std::os::unix::fs::lchown(&log, Some(account.uid), Some(account.gid))
                .map_err(|e| format!("cannot give {} to {}: {e}", log.display(), account.name))?;
        }
    }
    let script = batch_script(spec, &payload);
    let mut cmd = command::new("sbatch");
    // The job gets sbatch's environment (`--export=ALL`; `NONE` would have slurmd load the
    // user's login environment), so sbatch gets almost nothing of the node's: the script
    // sets the rest.
    cmd.args(sbatch_args(spec, name, opts))
        .current_dir(spec.dir.work())
        .env_clear();
    for keep in ["PATH", "SLURM_CONF"] {
        if let Some(v) = std::env::var_os(keep) {
            cmd.env(keep, v);
        }
    }
    let account = spec.run_as.account().cloned();
    let out = command::output_with("sbatch", &mut cmd, Some(script.as_bytes()), |c| {
        // As the account on this thread only, for the spawn (src/as_user.rs).
        let _as_user = account.as_ref().map(Switched::to).transpose()?;
        c.spawn()
    })
    .await?;
    // `--parsable`: "ID" or "ID;CLUSTER".
    let id = out.trim().split(';').next().unwrap_or_default();
    id.parse::<u64>()
        .map_err(|_| format!("sbatch answered {:?}, not a job id", out.trim()))
}

/// Takes the payload's logs back from the account it ran as, once its job is over, so they
/// are packed with its results like a local run's (a file of the payload's owned by someone
/// else is left out: it could be a hard link to another file). One with other links stays.
pub fn take_back_logs(spec: &RunSpec) {
    use std::os::unix::fs::MetadataExt;
    if spec.run_as.account().is_none() {
        return;
    }
    let (uid, gid) = (crate::paths::uid(), own_gid());
    for stream in [LogStream::Stdout, LogStream::Stderr] {
        let log = spec.dir.log(stream);
        let taken = std::fs::symlink_metadata(&log).and_then(|m| {
            if m.nlink() != 1 || !m.is_file() {
                return Err(std::io::Error::other("not a plain file of its own"));
            }
            std::os::unix::fs::lchown(&log, Some(uid), Some(gid))
        });
        if let Err(e) = taken {
            tracing::warn!("cannot take back {}: {e}", log.display());
        }
    }
}

/// jobod's own group id.
fn own_gid() -> u32 {
    // SAFETY: getegid has no preconditions.
    unsafe { libc::getegid() }
}

/// Cancels Slurm job `id` (`scancel`).
pub async fn scancel(id: u64) -> Result<(), String> {
    let mut cmd = command::new("scancel");
    cmd.arg(id.to_string());
    command::output("scancel", &mut cmd).await.map(drop)
}

/// Cancels whatever job named `name` a node crashed in the middle of submitting.
pub async fn scancel_name(name: &str) -> Result<(), String> {
    let mut cmd = command::new("scancel");
    cmd.arg(format!("--name={name}"));
    command::output("scancel", &mut cmd).await.map(drop)
}
