//! Unpacking uploads (tar.gz from clients and nodes, zip from seed nodes) into a staging dir:
//! only regular files, directories and (in tar.gz) relative links that stay inside, made
//! last, under checked names ([`super::names`]), at most
//! [`Limits`] bytes of content and entries, every file created anew (never through something
//! already there), and a name used twice, or as a file and a directory, refused.

use super::ArchiveError;
use super::names::{MAX_PATH, escaped, is_root, safe_relative, safe_relative_bytes, utf8_name};
use std::fs;
use std::io::{self, Read, Seek, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// How much one upload may hold.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Bytes of file content (unpacked).
    pub bytes: u64,
    /// Files and directories.
    pub entries: u64,
}

impl Limits {
    /// No limit: for archives jobo made itself.
    pub const NONE: Limits = Limits {
        bytes: u64::MAX,
        entries: u64::MAX,
    };
}

/// Largest PAX extended header read (names and attributes of one entry).
const MAX_PAX_HEADER: u64 = 64 * 1024;

/// Counts bytes and entries against [`Limits`] while writing. Entries are what an upload
/// creates: its files and directories, those its names imply included (`a/b/c` without
/// `a/` before it makes three).
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// Bytes of content written.
    pub used: u64,
    /// Bytes of entries read but not written (a directory's data, global PAX headers): they
    /// count against the limit too, or a small archive could make us inflate gigabytes.
    skipped: u64,
    pub entries: u64,
    pub limits: Limits,
}

impl Budget {
    pub fn new(limits: Limits) -> Budget {
        Budget {
            used: 0,
            skipped: 0,
            entries: 0,
            limits,
        }
    }

    /// `n` more files or directories.
    fn count(&mut self, n: u64) -> Result<(), ArchiveError> {
        self.entries = self.entries.saturating_add(n);
        if self.entries > self.limits.entries {
            return Err(ArchiveError::TooManyEntries(self.limits.entries));
        }
        Ok(())
    }

    /// `n` more bytes of content.
    pub fn charge(&mut self, n: u64) -> Result<(), ArchiveError> {
        self.used = self.used.saturating_add(n);
        self.check()
    }

    /// `n` more bytes read and thrown away.
    fn skip(&mut self, n: u64) -> Result<(), ArchiveError> {
        self.skipped = self.skipped.saturating_add(n);
        self.check()
    }

    fn check(&self) -> Result<(), ArchiveError> {
        if self.used.saturating_add(self.skipped) > self.limits.bytes {
            return Err(ArchiveError::TooLarge(self.limits.bytes));
        }
        Ok(())
    }

    /// Creates the directory `dest/rel` (and its parents) for a directory entry; one that is
    /// there already is fine (archivers list a directory before and after its files).
    pub fn create_dir(&mut self, dest: &Path, rel: &Path) -> Result<(), ArchiveError> {
        self.count(1)?;
        self.create_parents(dest, rel)?;
        let path = dest.join(rel);
        match fs::create_dir(&path) {
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                match fs::symlink_metadata(&path) {
                    Ok(m) if m.is_dir() => Ok(()),
                    _ => Err(ArchiveError::FileAndDir(shown(rel))),
                }
            }
            other => Ok(other?),
        }
    }

    /// Creates the file `dest/rel` and its parent directories. The file must be new: `O_EXCL`
    /// neither follows nor replaces anything already there, so an entry given twice, or a
    /// file where the upload has a directory, is refused by name.
    pub fn create_file(&mut self, dest: &Path, rel: &Path) -> Result<fs::File, ArchiveError> {
        self.count(1)?;
        self.create_parents(dest, rel)?;
        fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(dest.join(rel))
            .map_err(|e| conflict(dest, rel, e))
    }

    /// Creates the missing directories above `rel`, counting each; a file on the way is
    /// refused by name.
    fn create_parents(&mut self, dest: &Path, rel: &Path) -> Result<(), ArchiveError> {
        let Some(parent) = rel.parent().filter(|p| !p.as_os_str().is_empty()) else {
            return Ok(());
        };
        let mut missing = 0;
        for at in parent.ancestors().take_while(|p| !p.as_os_str().is_empty()) {
            match fs::symlink_metadata(dest.join(at)) {
                Ok(m) if m.is_dir() => break,
                Ok(_) => return Err(ArchiveError::FileAndDir(shown(at))),
                // Not a directory: a file further up, found on the way up.
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
                    ) =>
                {
                    missing += 1
                }
                Err(e) => return Err(ArchiveError::Io(e)),
            }
        }
        self.count(missing)?;
        fs::create_dir_all(dest.join(parent)).map_err(ArchiveError::Io)
    }

    /// Makes the links of an upload, after all its files and directories so that nothing is
    /// written through one: each must stay inside ([`crate::tree::safe_link`]), and none may
    /// sit below another link (the rule holds for links whose parents are real directories)
    /// or take a name already used.
    pub fn create_links(
        &mut self,
        dest: &Path,
        links: &[(std::path::PathBuf, Vec<u8>)],
    ) -> Result<(), ArchiveError> {
        for (rel, target) in links {
            let target = Path::new(std::ffi::OsStr::from_bytes(target));
            if !crate::tree::safe_link(rel, target) {
                return Err(ArchiveError::UnsafeLink(
                    shown(rel),
                    escaped(target.as_os_str().as_bytes()),
                ));
            }
            self.count(1)?;
            for at in rel.ancestors().skip(1) {
                if at.as_os_str().is_empty() {
                    break;
                }
                match fs::symlink_metadata(dest.join(at)) {
                    Ok(m) if m.is_dir() => {}
                    Ok(_) => return Err(ArchiveError::FileAndDir(shown(at))),
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(ArchiveError::Io(e)),
                }
            }
            self.create_parents(dest, rel)?;
            std::os::unix::fs::symlink(target, dest.join(rel))
                .map_err(|e| conflict(dest, rel, e))?;
        }
        Ok(())
    }

    /// Copies `src` into a new file at `dest/rel` (see [`Budget::create_file`]).
    pub fn write_file(
        &mut self,
        dest: &Path,
        rel: &Path,
        src: &mut impl Read,
        mode: u32,
    ) -> Result<(), ArchiveError> {
        let mut file = self.create_file(dest, rel)?;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = src.read(&mut buf).map_err(read_error)?;
            if n == 0 {
                break;
            }
            self.charge(n as u64)?;
            file.write_all(&buf[..n])?;
        }
        // Keep the owner's execute bit; everything stays readable and writable by the owner.
        file.set_permissions(fs::Permissions::from_mode((mode & 0o755) | 0o600))?;
        Ok(())
    }
}

fn shown(p: &Path) -> String {
    escaped(p.as_os_str().as_bytes())
}

/// What a failed create of the file `rel` means: it is there already, as a file (given
/// twice) or as a directory (a file and a directory of one name); else the disk failed.
fn conflict(dest: &Path, rel: &Path, e: io::Error) -> ArchiveError {
    if e.kind() != io::ErrorKind::AlreadyExists {
        return ArchiveError::Io(e);
    }
    match fs::symlink_metadata(dest.join(rel)) {
        Ok(m) if m.is_file() => ArchiveError::Duplicate(shown(rel)),
        _ => ArchiveError::FileAndDir(shown(rel)),
    }
}

/// Tells a body over the size limit (an `io::ErrorKind::FileTooLarge` from the reader)
/// apart from a corrupt archive.
pub(super) fn read_error(e: io::Error) -> ArchiveError {
    match e.kind() {
        io::ErrorKind::FileTooLarge => ArchiveError::TooLarge(0),
        _ => ArchiveError::Invalid(e.to_string()),
    }
}

/// Unpacks a tar.gz stream into `dest` (which must exist), refusing unsafe names, links and
/// more than `limits`. Returns the bytes of content written.
///
/// The tar crate reads GNU long names and PAX headers whole into memory, whatever their
/// size; they are read here instead (raw entries), and only when small.
pub fn unpack_tgz(src: impl Read, dest: &Path, limits: Limits) -> Result<u64, ArchiveError> {
    unpack_tgz_counting(src, dest, limits, &mut |_| {})
}

/// [`unpack_tgz`], telling `progress` each number of file content bytes written (for a
/// progress bar whose total is the job's output size).
pub fn unpack_tgz_counting(
    src: impl Read,
    dest: &Path,
    limits: Limits,
    progress: &mut dyn FnMut(u64),
) -> Result<u64, ArchiveError> {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(src));
    let mut budget = Budget::new(limits);
    // The name (and link target) an extension header gave the next entry.
    let mut long_name: Option<Vec<u8>> = None;
    let mut long_link: Option<Vec<u8>> = None;
    // Made last: see `Budget::create_links`.
    let mut links = Vec::new();
    for entry in archive.entries().map_err(read_error)?.raw(true) {
        let mut entry = entry.map_err(read_error)?;
        let kind = entry.header().entry_type();
        let size = entry.header().entry_size().map_err(read_error)?;
        if kind.is_gnu_longlink() {
            if long_link.is_some() {
                return Err(ArchiveError::Invalid(
                    "two long link names for one entry".into(),
                ));
            }
            long_link = Some(gnu_long_name(&mut entry, size)?);
            continue;
        }
        if kind.is_gnu_longname() || kind.is_pax_local_extensions() {
            if long_name.is_some() {
                return Err(ArchiveError::Invalid(
                    "two extension headers for one entry".into(),
                ));
            }
            long_name = if kind.is_gnu_longname() {
                Some(gnu_long_name(&mut entry, size)?)
            } else {
                let PaxNames { path, link } = pax_path(&mut entry, size)?;
                if link.is_some() {
                    if long_link.is_some() {
                        return Err(ArchiveError::Invalid(
                            "two long link names for one entry".into(),
                        ));
                    }
                    long_link = link;
                }
                path
            };
            continue;
        }
        if kind.is_pax_global_extensions() {
            // Nothing in it matters here; its data is skipped, and counted.
            budget.skip(size)?;
            continue;
        }
        // Kept as bytes: see `safe_relative_bytes`.
        let name = long_name
            .take()
            .unwrap_or_else(|| entry.path_bytes().into_owned());
        if kind.is_dir() {
            budget.skip(size)?;
            // "./" (the archive's root) is fine to skip; any other bad name is refused.
            if !is_root(&name) {
                budget.create_dir(dest, &safe_relative_bytes(&name)?)?;
            }
            continue;
        }
        if kind.is_symlink() {
            let target = match long_link.take() {
                Some(t) => t,
                None => entry
                    .link_name_bytes()
                    .map(|t| t.into_owned())
                    .unwrap_or_default(),
            };
            budget.skip(size)?;
            links.push((safe_relative_bytes(&name)?, target));
            continue;
        }
        if !kind.is_file() || long_link.is_some() {
            return Err(ArchiveError::Unsupported(escaped(&name)));
        }
        let rel = safe_relative_bytes(&name)?;
        let mode = entry.header().mode().unwrap_or(0o644);
        let mut content = super::Counted {
            inner: &mut entry,
            progress: &mut *progress,
        };
        budget.write_file(dest, &rel, &mut content, mode)?;
    }
    if long_name.is_some() || long_link.is_some() {
        return Err(ArchiveError::Invalid(
            "the archive ends with an extension header for no entry".into(),
        ));
    }
    budget.create_links(dest, &links)?;
    Ok(budget.used)
}

/// The data of a GNU long-name entry (a name, NUL-terminated), if it can be a name at all.
fn gnu_long_name(entry: &mut impl Read, size: u64) -> Result<Vec<u8>, ArchiveError> {
    let Some(name) = read_small(entry, size, MAX_PATH as u64 + 1) else {
        // Named by its start, read no further.
        let mut start = Vec::new();
        entry.take(80).read_to_end(&mut start).map_err(read_error)?;
        return Err(ArchiveError::NameTooLong(format!(
            "{}… ({size} bytes)",
            escaped(&start)
        )));
    };
    let mut name = name?;
    if name.last() == Some(&0) {
        name.pop();
    }
    Ok(name)
}

/// The `path` and `linkpath` of a PAX extended header. Its `size` must agree with the entry's
/// header: the raw entries are read by the header's size.
fn pax_path<R: Read>(entry: &mut tar::Entry<'_, R>, size: u64) -> Result<PaxNames, ArchiveError> {
    let data = read_small(entry, size, MAX_PAX_HEADER).ok_or_else(|| {
        ArchiveError::Invalid(format!(
            "a PAX header of {size} bytes (at most {MAX_PAX_HEADER})"
        ))
    })??;
    let (mut path, mut link) = (None, None);
    for ext in tar::PaxExtensions::new(&data) {
        let ext = ext.map_err(|e| ArchiveError::Invalid(format!("bad PAX header: {e}")))?;
        match ext.key_bytes() {
            b"path" => path = Some(ext.value_bytes().to_vec()),
            b"linkpath" => link = Some(ext.value_bytes().to_vec()),
            b"size" => {
                return Err(ArchiveError::Invalid(
                    "PAX size records (files over 8 GiB) are not supported".into(),
                ));
            }
            _ => {}
        }
    }
    Ok(PaxNames { path, link })
}

/// What a PAX extended header says of the next entry's names.
struct PaxNames {
    path: Option<Vec<u8>>,
    link: Option<Vec<u8>>,
}

/// All of `entry` if it is at most `max` bytes; `None` if it is more.
fn read_small(entry: &mut impl Read, size: u64, max: u64) -> Option<Result<Vec<u8>, ArchiveError>> {
    if size > max {
        return None;
    }
    let mut data = Vec::with_capacity(size as usize);
    Some(
        entry
            .read_to_end(&mut data)
            .map(|_| data)
            .map_err(read_error),
    )
}

/// Unpacks a zip archive into `dest` (which must exist), refusing unsafe names, links and
/// special files, and more than `limits`. Returns the bytes of content written.
pub fn unpack_zip(src: impl Read + Seek, dest: &Path, limits: Limits) -> Result<u64, ArchiveError> {
    let bad = |e: zip::result::ZipError| ArchiveError::InvalidZip(e.to_string());
    let mut zip = zip::ZipArchive::new(src).map_err(bad)?;
    if zip.len() as u64 > limits.entries {
        return Err(ArchiveError::TooManyEntries(limits.entries));
    }
    let mut budget = Budget::new(limits);
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).map_err(bad)?;
        // A name not flagged UTF-8 is CP437, which the zip crate maps one to one: no two
        // names merge. One flagged UTF-8 that is not is refused.
        let name = match entry.name() {
            Ok(name) => name.into_owned(),
            Err(_) => utf8_name(entry.name_raw())?.to_string(),
        };
        if entry.is_dir() {
            if !is_root(name.as_bytes()) {
                budget.create_dir(dest, &safe_relative(&name)?)?;
            }
            continue;
        }
        // Only regular files: no links, no fifos or devices (file type bits other than S_IFREG).
        let kind = entry.unix_mode().map_or(0, |m| m & 0o170000);
        if entry.is_symlink() || (kind != 0 && kind != 0o100000) {
            return Err(ArchiveError::Unsupported(name));
        }
        let rel = safe_relative(&name)?;
        let mode = entry.unix_mode().unwrap_or(0o644);
        match budget.write_file(dest, &rel, &mut entry, mode) {
            Err(ArchiveError::Invalid(e)) => return Err(ArchiveError::InvalidZip(e)),
            other => other?,
        }
    }
    Ok(budget.used)
}
