//! The checked-in files that the packages install: `completions/` and `man/` are exactly what
//! `jobo __generate` writes from today's clap definitions, the man pages render with `man`,
//! and the bash completion loads and completes in a real bash.

mod common;
use common::*;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Every file directly in `dir`, by name.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| {
            let e = e.expect("dir entry");
            let content = std::fs::read(e.path()).expect("read");
            (e.file_name().to_string_lossy().into_owned(), content)
        })
        .collect()
}

#[test]
fn completions_and_man_pages_are_up_to_date() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let out = Command::new(JOBO)
        .arg("__generate")
        .arg(tmp.path())
        .output()
        .expect("jobo __generate");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed = String::from_utf8_lossy(&out.stdout).lines().count();
    let mut total = 0;
    for sub in ["completions", "man"] {
        let fresh = files(&tmp.path().join(sub));
        let checked_in = files(&Path::new(ROOT).join(sub));
        total += fresh.len();
        let names = |m: &BTreeMap<String, Vec<u8>>| m.keys().cloned().collect::<Vec<_>>();
        assert_eq!(
            names(&checked_in),
            names(&fresh),
            "{sub}/ has other files than `jobo __generate` writes: run \
             `cargo run --bin jobo -- __generate .`, delete the extra ones and commit"
        );
        for (name, content) in &fresh {
            assert!(
                checked_in[name] == *content,
                "{sub}/{name} is stale: run `cargo run --bin jobo -- __generate .` and commit"
            );
        }
    }
    assert_eq!(listed, total, "it prints each file it writes");

    // `jobo completions SHELL` (what Homebrew installs) prints the same scripts.
    for (shell, file) in [
        ("bash", "jobo.bash"),
        ("zsh", "_jobo"),
        ("fish", "jobo.fish"),
    ] {
        let out = Command::new(JOBO)
            .args(["completions", shell])
            .output()
            .expect("jobo completions");
        assert!(out.status.success());
        let checked_in = std::fs::read(Path::new(ROOT).join("completions").join(file));
        assert_eq!(out.stdout, checked_in.expect("read"), "{shell}");
    }
}

#[test]
fn jobo_generate_needs_exactly_one_dir() {
    for args in [&["__generate"][..], &["__generate", "a", "b"]] {
        let out = Command::new(JOBO).args(args).output().expect("jobo");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("usage: jobo __generate DIR"));
    }
}

#[test]
fn man_pages_render() {
    if Command::new("man").arg("--version").output().is_err() {
        eprintln!(
            "skipped: `man` is not installed here (apt-get install man-db); .ci/run installs it"
        );
        return;
    }
    let pages = files(&Path::new(ROOT).join("man"));
    assert!(pages.contains_key("jobo.1") && pages.contains_key("jobod.8"));
    for name in pages.keys() {
        let out = Command::new("man")
            .args(["--warnings", "-P", "cat", "-l"])
            .arg(Path::new(ROOT).join("man").join(name))
            .env("MANWIDTH", "80")
            .env("LC_ALL", "C")
            .output()
            .expect("man");
        let text = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{name}: {stderr}");
        assert!(stderr.is_empty(), "{name} renders with warnings: {stderr}");
        // The NAME section's line: "jobo-submit - Upload …" (justified: maybe more spaces).
        let page = name.rsplit_once('.').expect("page.section").0;
        let named = text
            .split_once("NAME\n")
            .is_some_and(|(_, rest)| rest.split_whitespace().take(2).eq([page, "-"]));
        assert!(named, "{name}:\n{text}");
    }
    let jobo = String::from_utf8_lossy(&pages["jobo.1"]).into_owned();
    assert!(
        jobo.contains("jobo\\-submit(1)"),
        "jobo.1 lists the commands' pages"
    );
}

/// Runs `script` in a real bash, from the repository root; returns stdout.
fn bash(script: &str) -> String {
    let out = Command::new("bash")
        .args(["--norc", "--noprofile", "-c", script])
        .current_dir(ROOT)
        .output()
        .expect("bash");
    assert!(
        out.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// What the completion function of `cmd` offers for the command line `words` (the last word
/// being completed), as bash calls it on <Tab>. `jobo`'s script calls `jobo` on PATH, this
/// build's.
fn complete(file: &str, cmd: &str, words: &[&str]) -> Vec<String> {
    let line = words.join(" ");
    let function = if cmd == "jobo" {
        "_clap_complete_jobo".to_string()
    } else {
        format!("_{cmd}")
    };
    let bin = Path::new(JOBO)
        .parent()
        .expect("bin dir")
        .display()
        .to_string();
    let script = format!(
        "export PATH='{bin}':\"$PATH\"
         source completions/{file}
         COMP_WORDS=({line}); COMP_CWORD={cword}; COMP_LINE='{line}'; COMP_POINT=${{#COMP_LINE}}
         {function} {cmd} '{cur}' '{prev}'
         printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        cword = words.len() - 1,
        cur = words[words.len() - 1],
        prev = words[words.len() - 2],
    );
    bash(&script).lines().map(str::to_string).collect()
}

#[test]
fn bash_completions_load_and_complete() {
    let registered = bash("source completions/jobo.bash; complete -p jobo");
    assert!(
        registered.contains("-F _clap_complete_jobo") && registered.trim_end().ends_with(" jobo"),
        "{registered}"
    );
    let registered = bash("source completions/jobod.bash; complete -p jobod");
    assert!(registered.contains("-F _jobod"), "{registered}");

    assert_eq!(complete("jobo.bash", "jobo", &["jobo", "su"]), ["submit"]);
    let node = complete("jobo.bash", "jobo", &["jobo", "node", ""]);
    for sub in ["add", "ls", "rm", "drain", "undrain"] {
        assert!(node.iter().any(|w| w == sub), "{node:?}");
    }
    assert!(
        complete("jobo.bash", "jobo", &["jobo", "submit", "--"])
            .iter()
            .any(|w| w == "--service")
    );
    assert!(
        complete("jobod.bash", "jobod", &["jobod", "serve", "--socket-"])
            .iter()
            .any(|w| w == "--socket-group")
    );
}

#[test]
fn the_packaged_config_is_the_built_in_default() {
    // The .deb installs it as /etc/jobo/jobod.toml: the same settings as no file at all, with
    // every option documented in place.
    let packaged = std::fs::read_to_string(Path::new(ROOT).join("packaging/deb/jobod.toml"))
        .expect("packaging/deb/jobod.toml");
    assert!(
        packaged == jobo::config::DEFAULT_CONFIG,
        "packaging/deb/jobod.toml is stale: run `cargo run --bin jobod -- config default > packaging/deb/jobod.toml`"
    );
}
