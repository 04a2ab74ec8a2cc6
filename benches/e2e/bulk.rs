//! Bulk data over the Unix socket: `jobo submit` and `jobo fetch` of a large directory
//! against `tar cf - | tar xf -` of the same data on the same filesystem, measured in the
//! same run, rounds interleaved (the machine is shared: medians of the rounds).
//!
//! Four data sets of `JOBO_BENCH_BULK_MB` (default 1024; 64 in quick mode): incompressible
//! (random) and compressible (PDB-like text), each as one big file and as 10,000 small ones
//! (100 per directory). One data set is on disk at a time. `JOBO_BENCH_BULK_ENCODINGS`
//! (default `identity,zstd`) says which encodings `jobo` is timed with (`JOBO_ENCODING`):
//! `identity` is what the socket uses by default, the others show what compression costs.

use crate::jobs::{self, ms, quantile};
use crate::procs::{self, Daemon, JOBO};
use crate::{Report, Res, Sizes, verdict};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Target: jobo within this factor of the tar pipe.
const TARGET: f64 = 1.5;
const SMALL_FILES: usize = 10_000;

#[derive(Clone, Copy)]
pub struct DataSet {
    pub compressible: bool,
    pub small_files: bool,
}

impl DataSet {
    /// Every set, in the order the bulk phases move them: the first two are incompressible.
    pub const ALL: [DataSet; 4] = [
        DataSet {
            compressible: false,
            small_files: false,
        },
        DataSet {
            compressible: false,
            small_files: true,
        },
        DataSet {
            compressible: true,
            small_files: false,
        },
        DataSet {
            compressible: true,
            small_files: true,
        },
    ];

    pub fn name(self) -> String {
        format!(
            "{}, {}",
            if self.compressible {
                "compressible"
            } else {
                "incompressible"
            },
            if self.small_files {
                "10,000 files"
            } else {
                "1 file"
            }
        )
    }

    /// Writes the data set below `dir` (which it creates), `bytes` in all, with a `run.sh`.
    pub fn make(self, dir: &Path, bytes: u64) -> Res<()> {
        std::fs::create_dir_all(dir)?;
        std::fs::write(dir.join("run.sh"), "true\n")?;
        let mut data = Generator {
            state: 0x9E37_79B9_7F4A_7C15,
            compressible: self.compressible,
            line: 0,
        };
        if !self.small_files {
            return data.write(&dir.join("data.bin"), bytes);
        }
        let each = bytes / SMALL_FILES as u64;
        for i in 0..SMALL_FILES {
            let sub = dir.join(format!("d{:03}", i / 100));
            if i % 100 == 0 {
                std::fs::create_dir_all(&sub)?;
            }
            data.write(&sub.join(format!("f{i:05}.dat")), each)?;
        }
        Ok(())
    }
}

/// Data of either kind, made fast: xorshift words, or text lines like a PDB file's.
struct Generator {
    state: u64,
    compressible: bool,
    line: u64,
}

impl Generator {
    fn next(&mut self) -> u64 {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        self.state
    }

    fn write(&mut self, path: &Path, bytes: u64) -> Res<()> {
        let mut out = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
        let mut left = bytes;
        let mut buf = Vec::with_capacity(1 << 16);
        while left > 0 {
            buf.clear();
            if self.compressible {
                while buf.len() < 1 << 16 {
                    let r = self.next();
                    self.line += 1;
                    writeln!(
                        buf,
                        "ATOM  {:5}  CA  ALA A{:4}    {:8.3}{:8.3}{:8.3}  1.00 20.00           C",
                        self.line % 100_000,
                        (self.line / 8) % 10_000,
                        (r & 0xffff) as f64 / 100.0,
                        ((r >> 16) & 0xffff) as f64 / 100.0,
                        ((r >> 32) & 0xffff) as f64 / 100.0,
                    )?;
                }
            } else {
                for _ in 0..(1 << 13) {
                    let r = self.next();
                    buf.extend_from_slice(&r.to_le_bytes());
                }
            }
            let n = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
            out.write_all(&buf[..n])?;
            left -= n as u64;
        }
        out.flush()?;
        Ok(())
    }
}

pub fn bulk_bytes(sizes: &Sizes) -> u64 {
    let mb = std::env::var("JOBO_BENCH_BULK_MB")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(if sizes.quick { 64 } else { 1024 });
    mb << 20
}

fn encodings() -> Vec<String> {
    std::env::var("JOBO_BENCH_BULK_ENCODINGS")
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "identity,zstd".into())
        .split(',')
        .map(|s| s.trim().to_string())
        .collect()
}

/// Runs `cmd`, returns its wall time; its stdout when asked.
pub fn timed(cmd: &mut Command) -> Res<(Duration, String)> {
    let t = Instant::now();
    let out = cmd.stdin(Stdio::null()).output()?;
    let took = t.elapsed();
    if !out.status.success() {
        return Err(format!(
            "{cmd:?} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )
        .into());
    }
    Ok((took, String::from_utf8_lossy(&out.stdout).into_owned()))
}

pub fn tar_pipe(src: &Path, dst: &Path) -> Res<Duration> {
    std::fs::create_dir_all(dst)?;
    let script = "tar cf - -C \"$1\" . | tar xf - -C \"$2\"";
    let took = timed(
        Command::new("sh")
            .args(["-c", script, "sh"])
            .arg(src)
            .arg(dst),
    )?
    .0;
    Ok(took)
}

/// The largest resident size of any child waited for so far (jobo, tar), in MB.
fn children_max_rss_mb() -> f64 {
    // SAFETY: getrusage writes into the zeroed struct it is given.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut ru) };
    ru.ru_maxrss as f64 / 1024.0
}

struct Times {
    tar: Vec<Duration>,
    /// Per encoding: submit, fetch.
    jobo: Vec<(String, Vec<Duration>, Vec<Duration>)>,
}

pub async fn bulk(sizes: &Sizes, r: &mut Report) -> Res<()> {
    let bytes = bulk_bytes(sizes);
    let rounds = if sizes.quick { 1 } else { 3 };
    let config = format!(
        "[server]\nmax_upload_bytes = {}\n\n[services.example]\n",
        bytes * 2 + (64 << 20)
    );
    let d = Daemon::new(Some(&config))?.start()?;
    let host = d.host();
    let client = d.client();
    let pid = d.pid().ok_or("no daemon")?;
    let work = d.root().join("bulk");
    let hwm_before = procs::hwm_kib(pid) as f64 / 1024.0;
    for set in DataSet::ALL {
        let src = work.join("src");
        let t = Instant::now();
        set.make(&src, bytes)?;
        eprintln!(
            "    {}: {} MB made in {:.1} s",
            set.name(),
            bytes >> 20,
            t.elapsed().as_secs_f64()
        );
        let mut times = Times {
            tar: Vec::new(),
            jobo: encodings()
                .into_iter()
                .map(|e| (e, Vec::new(), Vec::new()))
                .collect(),
        };
        for round in 0..rounds {
            let dst = work.join(format!("tar-{round}"));
            times.tar.push(tar_pipe(&src, &dst)?);
            std::fs::remove_dir_all(&dst)?;
            for (encoding, submits, fetches) in &mut times.jobo {
                let (took, out) = timed(
                    Command::new(JOBO)
                        .arg("--host")
                        .arg(&host)
                        .args(["submit", "--service", "example"])
                        .arg(&src)
                        .env("JOBO_ENCODING", &*encoding),
                )?;
                submits.push(took);
                let id: i64 = out.trim().parse()?;
                jobs::wait(&client, id).await?;
                let dst = work.join(format!("fetch-{round}"));
                let (took, _) = timed(
                    Command::new(JOBO)
                        .arg("--host")
                        .arg(&host)
                        .args(["fetch", &id.to_string(), "-o"])
                        .arg(&dst)
                        .env("JOBO_ENCODING", &*encoding),
                )?;
                fetches.push(took);
                std::fs::remove_dir_all(&dst)?;
                let _: serde_json::Value = client
                    .call(hyper::Method::DELETE, &format!("/v1/jobs/{id}"))
                    .await?;
            }
        }
        std::fs::remove_dir_all(&src)?;
        report_set(r, set, bytes, &mut times);
    }
    let hwm = procs::hwm_kib(pid) as f64 / 1024.0;
    r.detail(format!(
        "bulk memory: jobod VmHWM {hwm_before:.1} MB before, {hwm:.1} MB after moving {} MB \
         data sets; largest jobo/tar process {:.1} MB",
        bytes >> 20,
        children_max_rss_mb()
    ));
    Ok(())
}

fn report_set(r: &mut Report, set: DataSet, bytes: u64, times: &mut Times) {
    times.tar.sort();
    let tar = quantile(&times.tar, 0.5);
    let mb_s = |d: Duration| (bytes >> 20) as f64 / d.as_secs_f64();
    let mut line = format!(
        "bulk {} ({} MB, {} rounds): tar pipe {:.0} ms ({:.0} MB/s)",
        set.name(),
        bytes >> 20,
        times.tar.len(),
        ms(tar),
        mb_s(tar)
    );
    for (encoding, submits, fetches) in &mut times.jobo {
        submits.sort();
        fetches.sort();
        let (s, f) = (quantile(submits, 0.5), quantile(fetches, 0.5));
        let (rs, rf) = (
            s.as_secs_f64() / tar.as_secs_f64(),
            f.as_secs_f64() / tar.as_secs_f64(),
        );
        if encoding == "identity" {
            r.row(
                format!("bulk submit / tar pipe ({})", set.name()),
                format!("{rs:.2}×"),
                format!("≤ {TARGET}×"),
                verdict(rs <= TARGET),
            );
            r.row(
                format!("bulk fetch / tar pipe ({})", set.name()),
                format!("{rf:.2}×"),
                format!("≤ {TARGET}×"),
                verdict(rf <= TARGET),
            );
        }
        line += &format!(
            "; {encoding}: submit {:.0} ms ({rs:.2}×), fetch {:.0} ms ({rf:.2}×)",
            ms(s),
            ms(f)
        );
    }
    r.detail(line);
}

/// Where the bench's data sets go (for the describe line).
pub fn describe(sizes: &Sizes) -> String {
    format!(
        "bulk: 4 data sets of {} MB, jobo ({}) vs tar pipe",
        bulk_bytes(sizes) >> 20,
        encodings().join(", ")
    )
}
