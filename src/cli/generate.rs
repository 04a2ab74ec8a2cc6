//! `jobo __generate DIR` (hidden): writes the shell completions and man pages checked in under
//! `completions/` and `man/`, from the same clap definitions the binaries parse with, so they
//! cannot drift from the real options (`tests/packaging.rs` fails when the checked-in ones are
//! stale). A subcommand rather than a build.rs: building stays free of side effects, and
//! packagers can regenerate them from an installed binary. It is recognised before clap parses
//! (see [`run_if_asked`]) and is not part of the clap definition, because clap_complete offers
//! even hidden subcommands in zsh, fish and elvish.

use super::output::outln;
use anyhow::Context;
use clap::{CommandFactory, ValueEnum};
use clap_complete::{Generator, Shell};
use std::path::{Path, PathBuf};

/// Runs `jobo __generate DIR` when that is what `args` (the whole command line) asks for:
/// prints each file written, one a line; `None` for any other command line.
pub fn run_if_asked(
    args: impl IntoIterator<Item = std::ffi::OsString>,
) -> Option<std::process::ExitCode> {
    let mut args = args.into_iter().skip(1);
    if args.next()? != "__generate" {
        return None;
    }
    let (Some(dir), None) = (args.next(), args.next()) else {
        eprintln!("usage: jobo __generate DIR   (writes DIR/completions/ and DIR/man/)");
        return Some(std::process::ExitCode::from(2));
    };
    match write_all(Path::new(&dir)) {
        Ok(paths) => {
            for path in paths {
                outln!("{}", path.display());
            }
            Some(std::process::ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("jobo: error: {e:#}");
            Some(std::process::ExitCode::FAILURE)
        }
    }
}

/// Writes `DIR/completions/` (bash, zsh, fish, elvish and PowerShell, for `jobo` and `jobod`)
/// and `DIR/man/` (`jobo.1` and `jobo-<command>.1` pages, `jobod.8` and `jobod-<command>.8`);
/// returns the files written.
pub fn write_all(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let completions = dir.join("completions");
    let man = dir.join("man");
    for d in [&completions, &man] {
        std::fs::create_dir_all(d).with_context(|| format!("cannot create {}", d.display()))?;
    }
    let mut written = Vec::new();
    for (name, cmd) in commands() {
        for &shell in Shell::value_variants() {
            if name == "jobo" {
                // jobo completes itself, with live values (cli/complete.rs): its scripts only
                // register it, under the names clap_complete gives static scripts.
                let path = completions.join(shell.file_name(name));
                let script = super::complete::registration(&shell.to_string())?;
                std::fs::write(&path, script)
                    .with_context(|| format!("cannot write {}", path.display()))?;
                written.push(path);
                continue;
            }
            let path = clap_complete::generate_to(shell, &mut cmd.clone(), name, &completions)
                .with_context(|| format!("cannot write {name}'s {shell} completions"))?;
            written.push(path);
        }
    }
    for (name, cmd) in commands() {
        let section = if name == "jobod" { "8" } else { "1" };
        // clap's `help` subcommand is no command of ours; every option already has its page.
        let mut cmd = cmd.disable_help_subcommand(true);
        cmd.build();
        write_man_pages(&cmd, section, &man, &mut written)?;
    }
    Ok(written)
}

/// `jobo` is for users (section 1), `jobod` for admins (section 8, daemons).
fn commands() -> [(&'static str, clap::Command); 2] {
    [
        ("jobo", super::Cli::command()),
        ("jobod", super::jobod::Jobod::command()),
    ]
}

/// One page for `cmd` and, recursively, one per visible subcommand (named like `jobo-node-add`,
/// as git's pages are), so `man jobo-submit` shows all of a command's options.
fn write_man_pages(
    cmd: &clap::Command,
    section: &str,
    dir: &Path,
    written: &mut Vec<PathBuf>,
) -> anyhow::Result<()> {
    // Every page's footer names the package and version (clap_mangen's default would name a
    // subcommand without one, e.g. "serve").
    let page = clap_mangen::Man::new(cmd.clone())
        .section(section)
        .source(concat!("jobo ", env!("CARGO_PKG_VERSION")));
    let path = page
        .generate_to(dir)
        .with_context(|| format!("cannot write the man page of {}", cmd.get_name()))?;
    written.push(path);
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_man_pages(sub, section, dir, written)?;
    }
    Ok(())
}
