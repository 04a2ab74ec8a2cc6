//! `/metrics`: scraped as Prometheus would, the numbers move as jobs run.

mod common;
use common::*;

/// The value of the sample `series` (name and labels, exactly as written) in a scrape.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

fn scrape(d: &Daemon) -> String {
    let (code, body) = d.http_unix("GET", "/metrics", &[], b"");
    assert_eq!(code, 200, "{}", String::from_utf8_lossy(&body));
    String::from_utf8(body).expect("utf-8")
}

#[test]
fn numbers_move_as_jobs_run() {
    let d = Daemon::builder().tcp().start();
    let before = scrape(&d);
    assert_eq!(sample(&before, "jobo_queue_depth"), Some(0.0), "{before}");
    assert_eq!(
        sample(&before, r#"jobo_node_up{node="local"}"#),
        Some(1.0),
        "{before}"
    );
    assert!(before.contains("# TYPE jobo_dispatch_seconds histogram"));

    let ok = job_dir(&d.work(), "ok", &[("run.sh", "echo hi > out.txt")]);
    let bad = job_dir(&d.work(), "bad", &[("run.sh", "exit 3")]);
    let slow = job_dir(&d.work(), "slow", &[("run.sh", "sleep 300")]);
    let ids: Vec<i64> = (0..3).map(|_| d.submit(&ok, "example")).collect();
    let failed = d.submit(&bad, "example");
    for id in ids.iter().chain([&failed]) {
        d.wait(*id);
    }
    let held = d.submit(&slow, "example");
    d.wait_until(held, "running", &|| d.log());

    let during = scrape(&d);
    let at = |series: &str| {
        sample(&during, series).unwrap_or_else(|| panic!("no {series} in\n{during}"))
    };
    assert_eq!(at(r#"jobo_jobs{service="example",state="running"}"#), 1.0);
    assert_eq!(at(r#"jobo_node_running{node="local"}"#), 1.0);
    assert_eq!(
        at(r#"jobo_jobs_finished_total{service="example",state="succeeded"}"#),
        3.0
    );
    assert_eq!(
        at(r#"jobo_jobs_finished_total{service="example",state="failed"}"#),
        1.0
    );
    assert_eq!(at(r#"jobo_dispatch_seconds_count{service="example"}"#), 5.0);
    assert_eq!(
        at(r#"jobo_dispatch_seconds_bucket{service="example",le="+Inf"}"#),
        5.0
    );
    assert_eq!(at(r#"jobo_run_seconds_count{service="example"}"#), 4.0);
    assert!(at("jobo_input_bytes_total") > 0.0);
    assert_eq!(at("jobo_results_bytes_total"), 0.0);

    d.jobo_ok(&["fetch", &ids[0].to_string(), "-o", "res"]);
    d.jobo_ok(&["cancel", &held.to_string()]);
    let after = scrape(&d);
    let at =
        |series: &str| sample(&after, series).unwrap_or_else(|| panic!("no {series} in\n{after}"));
    assert!(at("jobo_results_bytes_total") > 0.0);
    assert_eq!(
        at(r#"jobo_jobs_finished_total{service="example",state="cancelled"}"#),
        1.0
    );
    assert_eq!(
        sample(&after, r#"jobo_jobs{service="example",state="running"}"#),
        None
    );
}

#[test]
fn scraping_over_tcp_needs_a_token() {
    let d = Daemon::builder().tcp().start();
    let (code, _) = d.http("GET", "/metrics", &[("Authorization", "Bearer nope")], b"");
    assert_eq!(code, 401);
    let portal = format!("Bearer {}", d.make_token("web", "portal"));
    let (code, _) = d.http(
        "GET",
        "/metrics",
        &[("Authorization", portal.as_str())],
        b"",
    );
    assert_eq!(code, 403);
    let user = format!("Bearer {}", d.make_token("alice", "user"));
    let (code, body) = d.http("GET", "/metrics", &[("Authorization", user.as_str())], b"");
    assert_eq!(code, 200);
    assert!(String::from_utf8_lossy(&body).contains("jobo_queue_depth 0"));
}
