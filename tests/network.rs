//! `network = "none"`: a job of such a service runs in a network namespace of its own (a root
//! jobod or node), reaches no port of the host, 127.0.0.1 included, and sees only `lo`; a
//! job of an ordinary service reaches the port. The job record says which it got, and never
//! claims the namespace where none could be made.

mod common;

use common::worker::Worker;
use common::*;
use std::net::TcpListener;

/// The probe opens a connection through bash's `/dev/tcp`, which the validator refuses.
const SERVICES: &str = "[services.closed]\nnetwork = \"none\"\nvalidator = false\n\
                        [services.open]\nvalidator = false\n";

/// A job that tries the host's port `port` on 127.0.0.1 and lists the interfaces it sees,
/// from `/proc/net/dev` (its own namespace's) and `ip link` where there is one.
fn probe(port: u16) -> String {
    format!(
        "if (exec 3<>/dev/tcp/127.0.0.1/{port}) 2>/dev/null; then echo reached; \
         else echo unreachable; fi > net.txt\n\
         awk -F: 'NR > 2 {{ gsub(/ /, \"\", $1); print $1 }}' /proc/net/dev | sort | \
         tr '\\n' ' ' > ifaces.txt\n\
         if command -v ip >/dev/null; then ip -o link | awk -F': ' '{{ print $2 }}' | sort | \
         tr '\\n' ' ' > iplink.txt; fi\n"
    )
}

/// Runs the probe in `service` on `d`; returns the job, whether the port was reached, and
/// the interfaces seen (by `/proc/net/dev`, and by `ip link` where it exists).
fn run_probe(
    d: &Daemon,
    service: &str,
    port: u16,
) -> (serde_json::Value, bool, String, Option<String>) {
    let name = format!("probe-{service}");
    let dir = job_dir(&d.work(), &name, &[("run.sh", &probe(port))]);
    let id = d.submit(&dir, service);
    let job = d.wait(id);
    assert_eq!(job["state"], "succeeded", "{job}\n{}", d.log());
    let out = d.root().join(format!("fetched-{name}"));
    d.jobo_ok(&["fetch", &id.to_string(), "-o", out.to_str().expect("utf-8")]);
    let read = |f: &str| std::fs::read_to_string(out.join(f)).ok();
    let net = read("net.txt").expect("net.txt");
    let reached = match net.trim() {
        "reached" => true,
        "unreachable" => false,
        other => panic!("unexpected probe output {other:?}"),
    };
    (
        job,
        reached,
        read("ifaces.txt").expect("ifaces.txt"),
        read("iplink.txt"),
    )
}

/// Checks the closed and the open service on `d` (a server whose jobs run on the embedded
/// worker or on a node, where `isolating` says whether network namespaces can be made).
fn closed_and_open(d: &Daemon, isolating: bool) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("listen");
    let port = listener.local_addr().expect("addr").port();

    let (job, reached, ifaces, iplink) = run_probe(d, "closed", port);
    let id = job["id"].to_string();
    let status = d.jobo_ok(&["status", &id]);
    if isolating {
        assert_eq!(job["enforced"]["network"], "namespace", "{job}");
        assert!(
            !reached,
            "a job without network reached the host's 127.0.0.1:{port}"
        );
        assert_eq!(ifaces.trim(), "lo", "interfaces seen: {ifaces}");
        if let Some(ip) = iplink {
            assert_eq!(ip.trim(), "lo", "ip link: {ip}");
        }
        assert!(
            status.contains("none (enforced, a network namespace of its own)"),
            "{status}"
        );
    } else {
        println!("network namespaces cannot be made here: checking the record says so");
        assert_eq!(job["enforced"]["network"], "not_applied", "{job}");
        assert!(status.contains("not enforced where it ran"), "{status}");
    }

    let (job, reached, ifaces, _) = run_probe(d, "open", port);
    assert!(
        reached,
        "a job of an ordinary service could not reach 127.0.0.1:{port}"
    );
    assert!(ifaces.split_whitespace().count() > 1, "{ifaces}");
    assert!(job["enforced"].get("network").is_none(), "{job}");
    drop(listener);
}

#[test]
fn a_job_of_a_service_without_network_reaches_nothing_of_the_host() {
    let d = Daemon::builder().config(SERVICES).start();
    closed_and_open(&d, is_root());
    let log = d.log();
    // `jobo system info` lists it with what jobod enforces, where it does.
    let info = d.jobo_json(&["system", "info"]);
    let enforces: Vec<String> = serde_json::from_value(info["enforces"].clone()).expect("list");
    let listed = enforces.iter().any(|e| e.starts_with("network = \"none\""));
    assert_eq!(listed, is_root(), "{info}");
    if is_root() {
        assert!(
            log.contains("network = \"none\" (a fresh network namespace"),
            "{log}"
        );
    } else {
        assert!(
            log.contains("network = \"none\" cannot be enforced here"),
            "{log}"
        );
    }
}

/// A node runs the service's jobs the same way: the push carries `network`, and the node
/// reports whether it applied.
#[test]
fn a_job_without_network_on_a_node_reaches_nothing_either() {
    let w = Worker::start(&[]);
    let config = format!(
        "[local_worker]\nenabled = false\n{SERVICES}\n\
         [[nodes]]\nurl = \"{}\"\nname = \"n\"\nservices = [\"closed\", \"open\"]\n\
         token_file = \"{}\"\n",
        w.url(),
        w.token_file().display()
    );
    let d = Daemon::builder().config(&config).start();
    closed_and_open(&d, is_root());
}

/// With job cgroups (the run is placed in them from a thread of jobod that steps in for the
/// spawn), the namespace is made by a thread that thread starts: the run gets both.
#[test]
fn a_job_without_network_in_its_cgroup_gets_both() {
    let d = Daemon::builder()
        .config(&format!("[local_worker]\ncgroups = true\n{SERVICES}"))
        .start();
    closed_and_open(&d, is_root());
    let info = d.jobo_json(&["system", "info"]);
    if info["enforces"].to_string().contains("cgroup") {
        let jobs = d.jobo_json(&["list", "--service", "closed"]);
        let job = &jobs[0];
        assert!(job["enforced"]["kill"].is_string(), "{job}");
    } else {
        println!("no job cgroups here: {}", info["enforces"]);
    }
}
