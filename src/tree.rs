//! Walking a directory tree that someone else may be changing, without ever leaving it.
//!
//! A job's work dir belongs to the user the job ran as, and what that user left running may
//! still change it while a root jobod packs it: a file swapped for a link to `/etc/shadow`,
//! a directory swapped for a link to `/root`. So every entry is opened relative to its
//! directory's open descriptor with `O_NOFOLLOW`, never by a path from the top: a link is
//! never followed, whenever it appears. Only directories and regular files are reported;
//! links, FIFOs, sockets and devices are skipped, and FIFOs are opened non-blocking so a swap
//! cannot hang the walk. [`visit_with_links`] also reports links, by their target as written
//! and whether it stays inside the tree ([`safe_link`]), to callers that copy them as links.
//!
//! A hard link is not a link to follow but the file itself, so a job could hard-link a file
//! it cannot read (where the kernel allows it) into its dir. A tree a job wrote is read with
//! [`Trust::Job`]: a file whose owner differs from its directory's is left out.

use rustix::fs::{AtFlags, Dir, FileType, Mode, OFlags, Stat};
use std::ffi::OsStr;
use std::fs::File;
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

/// Who wrote a tree, and so which of its files may be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trust {
    /// The reader's own: a user's dir packed by the CLI, a job's input packed by jobod.
    Own,
    /// A job's: only files owned by their directory's owner (see the module doc).
    Job,
}

/// What the walk tells of an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Meta {
    pub is_dir: bool,
    /// Size in bytes (0 for a directory).
    pub len: u64,
    /// Permission bits (`0o777`).
    pub mode: u32,
    /// Modification time, Unix seconds.
    pub mtime: i64,
}

impl Meta {
    // The field types of `stat` vary by architecture.
    #[allow(clippy::unnecessary_cast)]
    fn of(st: &Stat) -> Meta {
        Meta {
            is_dir: FileType::from_raw_mode(st.st_mode as _) == FileType::Directory,
            len: u64::try_from(st.st_size).unwrap_or(0),
            mode: (st.st_mode as u32) & 0o777,
            mtime: st.st_mtime as i64,
        }
    }
}

#[allow(clippy::unnecessary_cast)]
fn kind(st: &Stat) -> FileType {
    FileType::from_raw_mode(st.st_mode as _)
}

#[allow(clippy::unnecessary_cast)]
fn owner(st: &Stat) -> u32 {
    st.st_uid as u32
}

/// Whether an error means "that entry is not what it was listed as" (gone, or now a link
/// or a non-directory): it is skipped, not an error of the walk.
fn changed(e: &rustix::io::Errno) -> bool {
    use rustix::io::Errno;
    [Errno::NOENT, Errno::LOOP, Errno::NOTDIR, Errno::NXIO].contains(e)
}

/// Opens the directory `rel` below the open directory `root`, one component at a time,
/// following no link. `Ok(None)` when it is not (any longer) a directory there.
fn open_dir_beneath(root: &OwnedFd, rel: &Path) -> io::Result<Option<OwnedFd>> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let mut fd = rustix::fs::openat(root, c".", flags, Mode::empty())?;
    for part in rel.components() {
        let Component::Normal(name) = part else {
            return Ok(None);
        };
        fd = match rustix::fs::openat(&fd, name, flags, Mode::empty()) {
            Ok(next) => next,
            Err(e) if changed(&e) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
    }
    Ok(Some(fd))
}

/// One directory's entries other than `.` and `..`, sorted by name, with their types as the
/// directory says them (`Unknown` on file systems that do not).
fn entries(dir: &OwnedFd) -> io::Result<Vec<(Vec<u8>, FileType)>> {
    let mut out = Vec::new();
    for entry in Dir::read_from(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_bytes();
        if name != b"." && name != b".." {
            out.push((name.to_vec(), entry.file_type()));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// What [`visit`] calls per entry: its relative path, its metadata, and the file when opened.
pub type Visitor<'a> = dyn FnMut(&Path, &Meta, Option<&mut File>) -> io::Result<()> + 'a;

/// What [`visit_with_links`] calls per symbolic link: its relative path, its target as
/// written, and whether the target is safe ([`safe_link`]).
pub type LinkVisitor<'a> = dyn FnMut(&Path, &Path, bool) -> io::Result<()> + 'a;

/// Whether a symbolic link at `rel` (below the root, its parents real directories) pointing
/// at `target` stays inside the tree however it is resolved: a relative target whose `..`
/// all come first, no more of them than `rel` has parent directories, then plain names. The
/// names may cross other links, which by the same rule stay inside; a `..` after a name is
/// refused, since after a link it would climb from wherever that link went.
pub fn safe_link(rel: &Path, target: &Path) -> bool {
    let depth = rel.components().count().saturating_sub(1);
    let mut ups = 0;
    let mut names = 0;
    for part in target.components() {
        match part {
            Component::CurDir if ups == 0 && names == 0 => {}
            Component::ParentDir if names == 0 => ups += 1,
            Component::Normal(_) => names += 1,
            _ => return false,
        }
    }
    !target.as_os_str().is_empty() && ups <= depth
}

/// Calls `f` for every directory and regular file below `root` (relative path, metadata,
/// and the file opened when `open_files`), each directory before what is in it, and leaves
/// out (without entering) every path `keep` refuses. `root` itself may be reached through a
/// link; nothing below it is. Symbolic links are skipped.
pub fn visit(
    root: &Path,
    trust: Trust,
    open_files: bool,
    keep: &dyn Fn(&Path) -> bool,
    f: &mut Visitor<'_>,
) -> io::Result<()> {
    visit_with_links(root, trust, open_files, keep, f, &mut |_, _, _| Ok(()))
}

/// [`visit`], also telling `on_link` of every symbolic link (never followed: its target is
/// only read, and whether it may be kept is the caller's to decide with the `safe` flag).
pub fn visit_with_links(
    root: &Path,
    trust: Trust,
    open_files: bool,
    keep: &dyn Fn(&Path) -> bool,
    f: &mut Visitor<'_>,
    on_link: &mut LinkVisitor<'_>,
) -> io::Result<()> {
    let top = rustix::fs::open(
        root,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let Some(dir) = open_dir_beneath(&top, &rel)? else {
            continue;
        };
        let dir_owner = owner(&rustix::fs::fstat(&dir)?);
        for (name, listed) in entries(&dir)? {
            let name = OsStr::from_bytes(&name);
            let child = rel.join(name);
            if !keep(&child) {
                continue;
            }
            let listed = match listed {
                FileType::Unknown => {
                    match rustix::fs::statat(&dir, name, AtFlags::SYMLINK_NOFOLLOW) {
                        Ok(st) => kind(&st),
                        Err(e) if changed(&e) => continue,
                        Err(e) => return Err(e.into()),
                    }
                }
                known => known,
            };
            match listed {
                FileType::Directory => {
                    let st = match rustix::fs::statat(&dir, name, AtFlags::SYMLINK_NOFOLLOW) {
                        Ok(st) if kind(&st) == FileType::Directory => st,
                        Ok(_) => continue,
                        Err(e) if changed(&e) => continue,
                        Err(e) => return Err(e.into()),
                    };
                    f(&child, &Meta::of(&st), None)?;
                    stack.push(child);
                }
                FileType::RegularFile if open_files => {
                    let flags = OFlags::RDONLY
                        | OFlags::NOFOLLOW
                        | OFlags::NONBLOCK
                        | OFlags::NOCTTY
                        | OFlags::CLOEXEC;
                    let fd = match rustix::fs::openat(&dir, name, flags, Mode::empty()) {
                        Ok(fd) => fd,
                        Err(e) if changed(&e) => continue,
                        Err(e) => return Err(e.into()),
                    };
                    let st = rustix::fs::fstat(&fd)?;
                    if kind(&st) != FileType::RegularFile || !trusted(trust, &st, dir_owner, &child)
                    {
                        continue;
                    }
                    f(&child, &Meta::of(&st), Some(&mut File::from(fd)))?;
                }
                FileType::RegularFile => {
                    let st = match rustix::fs::statat(&dir, name, AtFlags::SYMLINK_NOFOLLOW) {
                        Ok(st) => st,
                        Err(e) if changed(&e) => continue,
                        Err(e) => return Err(e.into()),
                    };
                    if kind(&st) == FileType::RegularFile && trusted(trust, &st, dir_owner, &child)
                    {
                        f(&child, &Meta::of(&st), None)?;
                    }
                }
                FileType::Symlink => {
                    let target = match rustix::fs::readlinkat(&dir, name, Vec::new()) {
                        Ok(t) => PathBuf::from(OsStr::from_bytes(t.as_bytes())),
                        Err(e) if changed(&e) || e == rustix::io::Errno::INVAL => continue,
                        Err(e) => return Err(e.into()),
                    };
                    let safe = safe_link(&child, &target);
                    on_link(&child, &target, safe)?;
                }
                _ => {}
            }
        }
    }
    Ok(())
}

/// Whether a file with `st` in a directory owned by `dir_owner` may be read under `trust`.
fn trusted(trust: Trust, st: &Stat, dir_owner: u32, rel: &Path) -> bool {
    if trust == Trust::Own || owner(st) == dir_owner {
        return true;
    }
    tracing::warn!(
        "{} is left out: its owner (uid {}) is not its directory's (uid {dir_owner}), so it \
         may be a hard link to someone else's file",
        rel.display(),
        owner(st)
    );
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listing(root: &Path, trust: Trust) -> io::Result<Vec<(String, Option<Vec<u8>>)>> {
        let mut seen = Vec::new();
        visit(root, trust, true, &|_| true, &mut |rel, _, file| {
            let content = match file {
                Some(f) => {
                    let mut buf = Vec::new();
                    io::Read::read_to_end(f, &mut buf)?;
                    Some(buf)
                }
                None => None,
            };
            seen.push((rel.display().to_string(), content));
            Ok(())
        })?;
        Ok(seen)
    }

    #[test]
    fn links_and_special_files_are_never_followed() -> io::Result<()> {
        let outside = tempfile::tempdir()?;
        std::fs::write(outside.path().join("secret"), "top secret")?;
        let tree = tempfile::tempdir()?;
        let root = tree.path();
        std::fs::create_dir(root.join("sub"))?;
        std::fs::write(root.join("sub/a.txt"), "a")?;
        std::os::unix::fs::symlink(outside.path().join("secret"), root.join("file-link"))?;
        std::os::unix::fs::symlink(outside.path(), root.join("dir-link"))?;
        let fifo = std::ffi::CString::new(root.join("fifo").as_os_str().as_bytes())?;
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        let seen = listing(root, Trust::Job)?;
        assert_eq!(
            seen,
            vec![
                ("sub".to_string(), None),
                ("sub/a.txt".to_string(), Some(b"a".to_vec()))
            ]
        );
        Ok(())
    }

    #[test]
    fn only_relative_links_that_stay_inside_are_safe() {
        let safe = |rel: &str, target: &str| safe_link(Path::new(rel), Path::new(target));
        assert!(safe("l", "data/in.txt"));
        assert!(safe("l", "./data"));
        assert!(safe("a/b/l", "../../x"));
        assert!(safe("a/l", ".."), "the root itself");
        assert!(!safe("l", ".."));
        assert!(!safe("a/l", "../.."));
        assert!(!safe("l", "/etc/passwd"));
        assert!(!safe("l", ""));
        // After a name (maybe a link to `.`), `..` would climb from wherever it went.
        assert!(!safe("l", "x/.."));
        assert!(!safe("a/l", "x/../../y"));
    }

    #[test]
    fn links_are_reported_by_target_and_never_entered() -> io::Result<()> {
        let outside = tempfile::tempdir()?;
        let tree = tempfile::tempdir()?;
        let root = tree.path();
        std::fs::create_dir(root.join("sub"))?;
        std::fs::write(root.join("sub/a.txt"), "a")?;
        std::os::unix::fs::symlink("sub/a.txt", root.join("ok"))?;
        std::os::unix::fs::symlink("../ok", root.join("sub/up"))?;
        std::os::unix::fs::symlink(outside.path(), root.join("out"))?;
        std::os::unix::fs::symlink("sub", root.join("dir"))?;
        let mut links = Vec::new();
        let mut files = Vec::new();
        visit_with_links(
            root,
            Trust::Job,
            false,
            &|_| true,
            &mut |rel, _, _| {
                files.push(rel.display().to_string());
                Ok(())
            },
            &mut |rel, target, safe| {
                links.push((
                    rel.display().to_string(),
                    target.display().to_string(),
                    safe,
                ));
                Ok(())
            },
        )?;
        assert_eq!(files, ["sub", "sub/a.txt"]);
        let out = outside.path().display().to_string();
        assert_eq!(
            links,
            [
                ("dir".into(), "sub".into(), true),
                ("ok".into(), "sub/a.txt".into(), true),
                ("out".into(), out, false),
                ("sub/up".into(), "../ok".into(), true),
            ]
        );
        Ok(())
    }

    #[test]
    fn a_directory_swapped_for_a_link_is_not_entered() -> io::Result<()> {
        let outside = tempfile::tempdir()?;
        std::fs::write(outside.path().join("secret"), "top secret")?;
        let tree = tempfile::tempdir()?;
        std::fs::create_dir(tree.path().join("sub"))?;
        std::fs::write(tree.path().join("sub/a.txt"), "a")?;
        let mut seen = Vec::new();
        // The swap happens after `sub` is listed as a directory and before it is entered.
        visit(
            tree.path(),
            Trust::Job,
            true,
            &|_| true,
            &mut |rel, _, _| {
                if rel == Path::new("sub") {
                    std::fs::remove_dir_all(tree.path().join("sub"))?;
                    std::os::unix::fs::symlink(outside.path(), tree.path().join("sub"))?;
                }
                seen.push(rel.to_path_buf());
                Ok(())
            },
        )?;
        assert_eq!(seen, vec![PathBuf::from("sub")]);
        Ok(())
    }

    #[test]
    fn a_job_tree_leaves_out_files_of_other_owners() -> io::Result<()> {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            eprintln!("skipped: giving a file to another owner needs root");
            return Ok(());
        }
        let tree = tempfile::tempdir()?;
        std::fs::write(tree.path().join("mine"), "m")?;
        std::fs::write(tree.path().join("theirs"), "t")?;
        std::os::unix::fs::lchown(tree.path().join("theirs"), Some(54_321), None)?;
        let names = |trust| -> io::Result<Vec<String>> {
            Ok(listing(tree.path(), trust)?
                .into_iter()
                .map(|(n, _)| n)
                .collect())
        };
        assert_eq!(names(Trust::Job)?, ["mine"]);
        assert_eq!(names(Trust::Own)?, ["mine", "theirs"]);
        Ok(())
    }
}
