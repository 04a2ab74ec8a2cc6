//! Server → node connections, pooled or not, on loopback and over a link with 50 ms of added
//! delay: the remote latency of a trivial job (submit → succeeded through one node) with the
//! server's pooled node client against a fresh connection per request (`JOBO_NODE_POOL=0`
//! in its environment, see src/cluster/node_client.rs), jobs of the two setups interleaved.
//!
//! The delayed link is a veth pair into a network namespace this phase makes, with
//! `tc qdisc … netem delay 50ms` on the server's side: every packet from the server to the
//! node waits 50 ms (the node's answers do not), so each round trip the server starts costs
//! 50 ms, and a fresh TCP connection costs one more before its request goes out. It needs
//! root and iproute2 (`ip`, `tc`). The
//! namespace is removed on drop, and one left by a run that was killed is removed at start.
//! Where the kernel has no netem qdisc (or not root), a proxy in the bench adds the delay
//! instead (`proxy.rs`), and the report says so.

use crate::cluster::{LEASE, Setup};
use crate::jobs::{self, ms, quantile, trivial_tgz};
use crate::procs::{Daemon, Node};
use crate::proxy::DelayProxy;
use crate::{Report, Res, Sizes};
use std::process::{Command, Stdio};
use std::time::Duration;

const NETNS: &str = "jobo-bench-netem";
/// The veth ends: the server's, in the bench's namespace, and the node's, in [`NETNS`].
const HOST_IF: &str = "jbnetem0";
const NODE_IF: &str = "jbnetem1";
const HOST_IP: &str = "10.231.77.1";
const NODE_IP: &str = "10.231.77.2";
const DELAY_MS: u64 = 50;

/// The namespace and its link, removed on drop.
struct Netns;

impl Netns {
    fn create() -> Res<Netns> {
        Netns::remove();
        let ns = Netns;
        let delay = format!("{DELAY_MS}ms");
        for args in [
            vec!["netns", "add", NETNS],
            vec![
                "link", "add", HOST_IF, "type", "veth", "peer", "name", NODE_IF, "netns", NETNS,
            ],
            vec!["addr", "add", &format!("{HOST_IP}/30"), "dev", HOST_IF],
            vec!["link", "set", HOST_IF, "up"],
            vec![
                "-n",
                NETNS,
                "addr",
                "add",
                &format!("{NODE_IP}/30"),
                "dev",
                NODE_IF,
            ],
            vec!["-n", NETNS, "link", "set", NODE_IF, "up"],
            vec!["-n", NETNS, "link", "set", "lo", "up"],
        ] {
            run("ip", &args)?;
        }
        run(
            "tc",
            &[
                "qdisc", "add", "dev", HOST_IF, "root", "netem", "delay", &delay,
            ],
        )?;
        Ok(ns)
    }

    /// Removes the namespace (and with it the veth pair) if it is there.
    fn remove() {
        let quiet = |args: &[&str]| {
            let _ = Command::new("ip")
                .args(args)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        };
        quiet(&["netns", "del", NETNS]);
        quiet(&["link", "del", HOST_IF]);
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        Netns::remove();
    }
}

fn run(cmd: &str, args: &[&str]) -> Res<()> {
    let out = Command::new(cmd).args(args).stdin(Stdio::null()).output()?;
    if !out.status.success() {
        return Err(format!(
            "{cmd} {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )
        .into());
    }
    Ok(())
}

/// Why the phase cannot run here, if it cannot.
fn unable() -> Option<String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Some("not root (network namespaces and tc need it)".into());
    }
    for tool in ["ip", "tc"] {
        let found = Command::new(tool)
            .arg("-V")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !found {
            return Some(format!("no `{tool}` (apt-get install iproute2)"));
        }
    }
    None
}

/// The server's node client: pooled (jobod's default) or a connection per request.
#[derive(Clone, Copy, PartialEq)]
enum Conns {
    Pooled,
    Fresh,
}

impl Conns {
    fn name(self) -> &'static str {
        match self {
            Conns::Pooled => "pooled",
            Conns::Fresh => "fresh connection per request",
        }
    }

    async fn setup(self, node: Node) -> Res<Setup> {
        let pool = if self == Conns::Pooled { "1" } else { "0" };
        Setup::with_nodes(vec![node], LEASE, |config| {
            Ok(Daemon::new(config)?.env("JOBO_NODE_POOL", pool))
        })
        .await
    }
}

pub async fn netem(sizes: &Sizes, r: &mut Report) -> Res<()> {
    let loopback_jobs = sizes.latency_jobs / 2;
    let delayed_jobs = if sizes.quick { 6 } else { 30 };
    link(r, Delay::None, loopback_jobs, sizes).await?;
    let netns = match unable() {
        Some(why) => Err(why),
        None => Netns::create().map_err(|e| e.to_string()),
    };
    let delay = match &netns {
        Ok(_) => Delay::Netem,
        Err(why) => {
            eprintln!("    no netem ({why}): a delaying proxy instead");
            r.detail(format!(
                "netem: not available here ({why}): the {DELAY_MS} ms were added by a proxy \
                 in the bench instead (proxy.rs)"
            ));
            Delay::Proxy
        }
    };
    link(r, delay, delayed_jobs, sizes).await?;
    drop(netns);
    Ok(())
}

/// How the link between the server and its node is delayed.
#[derive(Clone, Copy, PartialEq)]
enum Delay {
    /// Loopback as it is.
    None,
    /// The veth pair into [`NETNS`], with netem.
    Netem,
    /// Loopback through [`DelayProxy`].
    Proxy,
}

/// Both setups on one link, their jobs interleaved; a row for each and one for the gain.
async fn link(r: &mut Report, delay: Delay, n: usize, sizes: &Sizes) -> Res<()> {
    let mut proxies = Vec::new();
    let mut node = |i: usize| -> Res<Node> {
        let name = format!("n{i}");
        match delay {
            Delay::Netem => Node::start_in(&name, sizes.node_slots, Some(NETNS), NODE_IP),
            Delay::None => Node::start(&name, sizes.node_slots),
            Delay::Proxy => {
                let mut node = Node::start(&name, sizes.node_slots)?;
                let proxy = DelayProxy::start(&node.addr, Duration::from_millis(DELAY_MS))?;
                node.addr = proxy.addr.clone();
                proxies.push(proxy);
                Ok(node)
            }
        }
    };
    let setups = [
        Conns::Pooled.setup(node(1)?).await?,
        Conns::Fresh.setup(node(2)?).await?,
    ];
    let tgz = trivial_tgz()?;
    let mut times: [Vec<Duration>; 2] = [Vec::new(), Vec::new()];
    let mut to_running: [Vec<i64>; 2] = [Vec::new(), Vec::new()];
    for s in &setups {
        let c = s.daemon.client();
        s.explain(jobs::warm_up(&c, sizes.warmup_jobs.min(5)).await)?;
    }
    for _ in 0..n {
        for (i, s) in setups.iter().enumerate() {
            let c = s.daemon.client();
            let (took, _, job) = s.explain(jobs::timed(&c, &tgz).await)?;
            times[i].push(took);
            if let Some(started) = job.started_at {
                to_running[i].push(started - job.submitted_at);
            }
        }
    }
    let link = match delay {
        Delay::None => "loopback".to_string(),
        Delay::Netem => format!("netem +{DELAY_MS} ms server → node"),
        Delay::Proxy => format!("proxy +{DELAY_MS} ms server → node"),
    };
    let mut p50 = [0.0; 2];
    let mut line = format!("{link}, {n} jobs each, interleaved:");
    for (i, conns) in [Conns::Pooled, Conns::Fresh].into_iter().enumerate() {
        times[i].sort();
        to_running[i].sort();
        p50[i] = ms(quantile(&times[i], 0.5));
        r.row(
            format!("remote latency p50, {link}, {}", conns.name()),
            format!("{:.2} ms", p50[i]),
            "-",
            "",
        );
        line += &format!(
            " {}: p50 {:.2} ms, p90 {:.2} ms, submitted → running p50 {} ms;",
            conns.name(),
            p50[i],
            ms(quantile(&times[i], 0.9)),
            to_running[i]
                .get(to_running[i].len() / 2)
                .map_or_else(|| "?".into(), ToString::to_string),
        );
    }
    let saved = p50[1] - p50[0];
    // Over the delayed link the pool must save at least the connect of the push and of the
    // results' fetch (a round trip each); on loopback only not be slower (within noise).
    let (target, met) = match delay {
        Delay::None => ("≥ -0.5 ms".to_string(), saved >= -0.5),
        _ => {
            let want = 2.0 * DELAY_MS as f64 * 0.8;
            (format!("≥ {want:.0} ms"), saved >= want)
        }
    };
    r.row(
        format!("pool saves per job, {link}"),
        format!("{saved:.2} ms"),
        target,
        crate::verdict(met),
    );
    r.detail(line.trim_end_matches(';').to_string());
    Ok(())
}
