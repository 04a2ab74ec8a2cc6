//! Entry names from an upload (tar, zip or multipart): checked before anything is written, so
//! nothing lands outside the destination, no name is too long for the filesystem and no two
//! different names can become one file.

use super::ArchiveError;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

/// Longest entry name accepted, in bytes (Linux's `PATH_MAX`).
pub const MAX_PATH: usize = 4096;
/// Longest path component accepted, in bytes (Linux's `NAME_MAX`).
pub const MAX_COMPONENT: usize = 255;

/// Checks a client-supplied file name and returns it as a relative path: no `..`, no root,
/// no NUL, at most [`MAX_PATH`] bytes and [`MAX_COMPONENT`] per component.
pub fn safe_relative(name: &str) -> Result<PathBuf, ArchiveError> {
    safe_relative_bytes(name.as_bytes())
}

/// [`safe_relative`] for a name as raw bytes (a tar member's), kept exactly: a name that is
/// not UTF-8 is a valid Unix file name, and converting it lossily would make `a\xff` and
/// `a\xfe` the same file.
pub fn safe_relative_bytes(name: &[u8]) -> Result<PathBuf, ArchiveError> {
    let bad = || ArchiveError::BadPath(escaped(name));
    if name.is_empty() || name.contains(&0) {
        return Err(bad());
    }
    if name.len() > MAX_PATH {
        return Err(ArchiveError::NameTooLong(shorten(name)));
    }
    let mut out = PathBuf::new();
    for c in Path::new(OsStr::from_bytes(name)).components() {
        match c {
            Component::Normal(part) if part.len() > MAX_COMPONENT => {
                return Err(ArchiveError::NameTooLong(shorten(name)));
            }
            Component::Normal(part) => out.push(part),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => return Err(bad()),
        }
    }
    if out.as_os_str().is_empty() {
        return Err(bad());
    }
    Ok(out)
}

/// Whether a directory entry names the destination itself (`.`, `./`), which archivers add.
pub fn is_root(name: &[u8]) -> bool {
    !name.is_empty()
        && Path::new(OsStr::from_bytes(name))
            .components()
            .all(|c| c == Component::CurDir)
}

/// A name that must be text (a zip's or a multipart part's): refused, never converted, when
/// it is not UTF-8.
pub fn utf8_name(raw: &[u8]) -> Result<&str, ArchiveError> {
    std::str::from_utf8(raw).map_err(|_| ArchiveError::NotUtf8(escaped(raw)))
}

/// `raw` printable, with bytes that are not UTF-8 as `\xNN`; cut short past [`MAX_PATH`].
pub fn escaped(raw: &[u8]) -> String {
    let mut out = String::new();
    for chunk in raw[..raw.len().min(MAX_PATH)].utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    if raw.len() > MAX_PATH {
        out.push('…');
    }
    out
}

/// A too-long name, cut to something an error message can carry.
fn shorten(name: &[u8]) -> String {
    const SHOWN: usize = 80;
    if name.len() <= SHOWN {
        return escaped(name);
    }
    format!("{}… ({} bytes)", escaped(&name[..SHOWN]), name.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_unsafe_names() {
        for bad in ["", "/etc/passwd", "../x", "a/../../x", "a\0b", ".", "./"] {
            assert!(safe_relative(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(
            safe_relative("./data/in.csv").ok(),
            Some(PathBuf::from("data/in.csv"))
        );
        // Bytes that are not UTF-8 stay exactly as they were.
        let kept = safe_relative_bytes(b"sub/caf\xe9").ok();
        assert_eq!(
            kept.as_deref().map(|p| p.as_os_str().as_bytes()),
            Some(&b"sub/caf\xe9"[..])
        );
    }

    #[test]
    fn rejects_names_too_long_for_the_filesystem() {
        let part = "x".repeat(MAX_COMPONENT);
        assert!(safe_relative(&part).is_ok());
        let long = format!("{part}y");
        assert!(matches!(
            safe_relative(&format!("dir/{long}")),
            Err(ArchiveError::NameTooLong(_))
        ));
        let deep = vec!["d"; MAX_PATH / 2].join("/");
        assert!(safe_relative(&deep).is_ok());
        let deeper = format!("{deep}/dd");
        match safe_relative(&deeper) {
            Err(ArchiveError::NameTooLong(shown)) => assert!(shown.len() < 120, "{shown}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn names_that_are_not_utf8_are_refused_and_shown_escaped() {
        assert_eq!(utf8_name(b"sub/a.txt").ok(), Some("sub/a.txt"));
        match utf8_name(b"caf\xe9/\xff") {
            Err(ArchiveError::NotUtf8(shown)) => assert_eq!(shown, "caf\\xe9/\\xff"),
            other => panic!("{other:?}"),
        }
    }
}
