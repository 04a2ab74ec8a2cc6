//! Bulk data in every encoding (`identity`, `gzip`, `zstd`): the real `jobo` submits and
//! fetches a job in each, the server reads tar bodies by their `Content-Encoding` within the
//! same limits, and answers `?format=tar` as `Accept-Encoding` asks.

mod common;
use common::*;
use jobo::archive::Encoding;
use std::os::unix::net::UnixStream;
use std::process::Command;

const SUBMIT: &str = "/v1/jobs?service=example";

/// A tar of `files` (name, content) in `encoding`.
fn tar(files: &[(&str, &[u8])], encoding: Encoding) -> Vec<u8> {
    let mut tar = tar::Builder::new(encoding.encoder(Vec::new()).expect("encoder"));
    for (name, content) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(content.len() as u64);
        h.set_mode(0o755);
        h.set_entry_type(tar::EntryType::Regular);
        h.set_path(name).expect("name");
        h.set_cksum();
        tar.append(&h, *content).expect("append");
    }
    tar.into_inner()
        .expect("tar")
        .finish()
        .expect("end of the stream")
}

fn upload(d: &Daemon, body: &[u8], coding: &str) -> (u16, serde_json::Value) {
    let mut headers = vec![("Content-Type", "application/x-tar")];
    if !coding.is_empty() {
        headers.push(("Content-Encoding", coding));
    }
    let (status, body) = d.http_unix("POST", SUBMIT, &headers, body);
    (status, json(&body))
}

#[test]
fn every_encoding_round_trips_through_the_cli() {
    let d = Daemon::builder().start();
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let dir = job_dir(
        &d.work(),
        "in",
        &[
            ("run.sh", "echo done > out.txt\n"),
            ("sub/deep/a.txt", "a\n"),
        ],
    );
    std::fs::write(dir.join("sub/big.bin"), &big).expect("big file");
    // Under `IN_PLACE_TAR` (src/cli/submit.rs): packed in place, not streamed.
    let small = job_dir(
        &d.work(),
        "small",
        &[
            ("run.sh", "echo done > out.txt\n"),
            ("sub/deep/a.txt", "a\n"),
        ],
    );
    for (encoding, dir) in ["identity", "gzip", "zstd"]
        .into_iter()
        .flat_map(|e| [(e, &dir), (e, &small)])
    {
        let streamed = dir.join("sub/big.bin").exists();
        let jobo = |args: &[&str]| {
            let out = Command::new(env!("CARGO_BIN_EXE_jobo"))
                .args(["--host", &d.host()])
                .args(args)
                .env("JOBO_ENCODING", encoding)
                .current_dir(d.work())
                .output()
                .expect("run jobo");
            assert!(
                out.status.success(),
                "{encoding}: jobo {args:?}: {}\n{}",
                String::from_utf8_lossy(&out.stderr),
                d.log()
            );
            String::from_utf8_lossy(&out.stdout).trim().to_string()
        };
        let id = jobo(&[
            "submit",
            "--service",
            "example",
            dir.to_str().expect("utf-8"),
        ]);
        assert_eq!(d.wait(id.parse().expect("an id"))["state"], "succeeded");
        let out = d.work().join(format!("out-{encoding}-{id}"));
        jobo(&["fetch", &id, "-o", out.to_str().expect("utf-8")]);
        match streamed {
            true => assert_eq!(std::fs::read(out.join("sub/big.bin")).expect("big"), big),
            false => assert!(!out.join("sub/big.bin").exists()),
        }
        assert_eq!(
            std::fs::read_to_string(out.join("sub/deep/a.txt")).expect("a"),
            "a\n"
        );
        assert_eq!(
            std::fs::read_to_string(out.join("out.txt")).expect("out"),
            "done\n"
        );
    }
}

#[test]
fn tar_bodies_are_read_by_their_encoding_within_the_limits() {
    let d = Daemon::builder()
        .config(
            "[server]\nmax_upload_bytes = 1000000\nmax_upload_entries = 5\n\n\
             [services.example]\n",
        )
        .start();
    let job = [("run.sh", &b"true\n"[..])];
    for (encoding, coding) in [
        (Encoding::Identity, ""),
        (Encoding::Identity, "identity"),
        (Encoding::Gzip, "gzip"),
        (Encoding::Zstd, "zstd"),
    ] {
        let (status, v) = upload(&d, &tar(&job, encoding), coding);
        assert_eq!(status, 201, "{coding}: {v}");
        assert_eq!(d.wait(v["id"].as_i64().expect("id"))["state"], "succeeded");
    }
    let (status, v) = upload(&d, &tar(&job, Encoding::Identity), "br");
    assert_eq!(status, 415, "{v}");
    assert!(v["error"].as_str().is_some_and(|e| e.contains("br")), "{v}");

    // 8 MB of zeros is a few hundred bytes of zstd: the limit counts what it unpacks to.
    let zeros = vec![0u8; 8_000_000];
    let bomb = tar(&[("run.sh", b"true\n"), ("zeros", &zeros)], Encoding::Zstd);
    assert!(bomb.len() < 10_000, "{} bytes", bomb.len());
    let (status, v) = upload(&d, &bomb, "zstd");
    assert_eq!(status, 413, "{v}");
    // Six entries over five, unencoded.
    let many: Vec<(String, &[u8])> = (0..6).map(|i| (format!("f{i}"), &b"x"[..])).collect();
    let many: Vec<(&str, &[u8])> = many.iter().map(|(n, c)| (n.as_str(), *c)).collect();
    let (status, v) = upload(&d, &tar(&many, Encoding::Identity), "");
    assert_eq!(status, 400, "{v}");
    assert!(
        v["error"]
            .as_str()
            .is_some_and(|e| e.contains("max_upload_entries")),
        "{v}"
    );
    // A large plain upload is unpacked as it streams in: still refused past the limit.
    let noise: Vec<u8> = (0..2_000_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let (status, v) = upload(
        &d,
        &tar(&[("run.sh", b"true\n"), ("n", &noise)], Encoding::Identity),
        "",
    );
    assert_eq!(status, 413, "{v}");
    eventually_empty(&d);
}

/// Nothing of the refused uploads stays in `tmp/`.
fn eventually_empty(d: &Daemon) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !d.staged_uploads().is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "left in tmp: {:?}",
            d.staged_uploads()
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn results_as_tar_follow_accept_encoding() {
    let d = Daemon::builder().start();
    let dir = job_dir(&d.work(), "j", &[("run.sh", "echo hello > out.txt\n")]);
    let id = d.submit(&dir, "example");
    assert_eq!(d.wait(id)["state"], "succeeded");
    let path = format!("/v1/jobs/{id}/results?format=tar");
    for (accept, want) in [
        (None, None),
        (Some("zstd, gzip"), Some("zstd")),
        (Some("gzip"), Some("gzip")),
        (Some("br, identity"), None),
    ] {
        let headers: Vec<(&str, &str)> =
            accept.map(|a| ("Accept-Encoding", a)).into_iter().collect();
        let raw = raw_exchange(
            UnixStream::connect(d.socket()).expect("connect"),
            "GET",
            &path,
            &headers,
            b"",
        );
        let head_end = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("a head");
        let head = String::from_utf8_lossy(&raw[..head_end]).to_ascii_lowercase();
        assert!(head.contains("content-type: application/x-tar"), "{head}");
        let coding = head
            .lines()
            .find_map(|l| l.strip_prefix("content-encoding: "))
            .map(str::trim);
        assert_eq!(coding, want, "{accept:?}: {head}");
        let (status, body) = parse_response(&raw);
        assert_eq!(status, 200);
        let encoding = want.and_then(Encoding::parse).unwrap_or(Encoding::Identity);
        let dest = tempfile::tempdir().expect("tempdir");
        jobo::archive::unpack_tar(
            &body[..],
            encoding,
            dest.path(),
            jobo::archive::Limits::NONE,
        )
        .expect("a tar in that encoding");
        assert_eq!(
            std::fs::read_to_string(dest.path().join("out.txt")).expect("out.txt"),
            "hello\n"
        );
    }
}
