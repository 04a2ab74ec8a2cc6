//! Packing a directory: as tar (plain, gzip or zstd: [`Encoding`]) or zip, each file read
//! exactly as long as it was when the walk saw it.

use super::{Encoding, Trust};
use crate::tree::{self, Meta};
use std::fs;
use std::io::{self, Read, Write};
use std::path::Path;

/// Writes `dir` as a tar.gz stream; entries are relative to `dir`.
pub fn pack_tgz(dir: &Path, trust: Trust, out: impl Write) -> io::Result<()> {
    pack_tar(dir, trust, Encoding::Gzip, out)
}

/// Writes `dir` as a tar stream in `encoding`; entries are relative to `dir`.
pub fn pack_tar(dir: &Path, trust: Trust, encoding: Encoding, out: impl Write) -> io::Result<()> {
    pack_tar_where(dir, trust, encoding, out, &|_| true, &mut |_| {})
}

/// [`pack_tar`], telling `progress` each number of file content bytes read (for a progress
/// bar whose total is [`super::dir_size`]).
pub fn pack_tar_counting(
    dir: &Path,
    trust: Trust,
    encoding: Encoding,
    out: impl Write,
    progress: &mut dyn FnMut(u64),
) -> io::Result<()> {
    pack_tar_where(dir, trust, encoding, out, &|_| true, progress)
}

/// A reader that tells `progress` how many bytes each read returned.
pub(crate) struct Counted<'a, R> {
    pub inner: R,
    pub progress: &'a mut dyn FnMut(u64),
}

impl<R: Read> Read for Counted<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        (self.progress)(n as u64);
        Ok(n)
    }
}

/// Writes only the entries of a job's `dir` named in `top` (with everything below them) as a
/// tar stream in `encoding`; a name that does not exist is left out.
pub fn pack_tar_only(
    dir: &Path,
    top: &[&str],
    encoding: Encoding,
    out: impl Write,
) -> io::Result<()> {
    let keep = |rel: &Path| {
        rel.components()
            .next()
            .is_some_and(|c| top.iter().any(|t| c.as_os_str() == *t))
    };
    pack_tar_where(dir, Trust::Job, encoding, out, &keep, &mut |_| {})
}

/// Bytes read from a file at a time: big reads halve the syscalls of the 8 KiB `io::copy`
/// default on a bulk upload.
const READ_CHUNK: usize = 256 * 1024;

fn pack_tar_where(
    dir: &Path,
    trust: Trust,
    encoding: Encoding,
    out: impl Write,
    keep: &dyn Fn(&Path) -> bool,
    progress: &mut dyn FnMut(u64),
) -> io::Result<()> {
    let tar = std::cell::RefCell::new(tar::Builder::new(encoding.encoder(out)?));
    let on_link = &mut |rel: &Path, target: &Path, safe: bool| {
        if !safe {
            tracing::warn!(
                "{} is left out: it is a link to {}, outside its directory",
                rel.display(),
                target.display()
            );
            return Ok(());
        }
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Symlink);
        header.set_mode(0o777);
        header.set_size(0);
        tar.borrow_mut().append_link(&mut header, rel, target)
    };
    let on_entry = &mut |rel: &Path, meta: &Meta, file: Option<&mut fs::File>| {
        let mut tar = tar.borrow_mut();
        let mut header = tar::Header::new_gnu();
        header.set_mode(meta.mode);
        header.set_mtime(u64::try_from(meta.mtime).unwrap_or(0));
        match file {
            None => {
                header.set_entry_type(tar::EntryType::Directory);
                header.set_size(0);
                tar.append_data(&mut header, rel, io::empty())
            }
            Some(f) => {
                header.set_entry_type(tar::EntryType::Regular);
                header.set_size(meta.len);
                let buffered = io::BufReader::with_capacity(
                    READ_CHUNK.min(usize::try_from(meta.len).unwrap_or(READ_CHUNK).max(1)),
                    f,
                );
                let content = Counted {
                    inner: Exactly::new(buffered, meta.len),
                    progress: &mut *progress,
                };
                tar.append_data(&mut header, rel, content)
            }
        }
    };
    tree::visit_with_links(dir, trust, true, keep, on_entry, on_link)?;
    tar.into_inner().into_inner()?.finish()?.flush()
}

/// Reads exactly `len` bytes of a file: what it holds up to there, then zeros if it shrank
/// since its size was read, so a tar entry always matches its header.
pub(crate) struct Exactly<R> {
    inner: io::Take<R>,
    missing: u64,
}

impl<R: Read> Exactly<R> {
    pub(crate) fn new(inner: R, len: u64) -> Exactly<R> {
        Exactly {
            inner: inner.take(len),
            missing: len,
        }
    }
}

impl<R: Read> Read for Exactly<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = match self.inner.read(buf)? {
            0 => {
                let n = buf
                    .len()
                    .min(usize::try_from(self.missing).unwrap_or(usize::MAX));
                buf[..n].fill(0);
                n
            }
            n => n,
        };
        self.missing -= n as u64;
        Ok(n)
    }
}

/// Writes `dir` as a zip stream (no seeking needed, so it can go straight to a socket).
pub fn pack_zip(dir: &Path, trust: Trust, out: impl Write) -> io::Result<()> {
    use zip::write::SimpleFileOptions;
    let mut zip = zip::ZipWriter::new_stream(out);
    tree::visit(dir, trust, true, &|_| true, &mut |rel, meta, file| {
        let name = rel.to_string_lossy().into_owned();
        let mut opts = SimpleFileOptions::default()
            .unix_permissions(meta.mode)
            .large_file(meta.len > u32::MAX as u64);
        let modified = u64::try_from(meta.mtime)
            .ok()
            .map(|s| std::time::UNIX_EPOCH + std::time::Duration::from_secs(s));
        if let Some(t) = modified.and_then(zip_time) {
            opts = opts.last_modified_time(t);
        }
        match file {
            None => zip.add_directory(name, opts).map_err(io::Error::other),
            Some(f) => {
                zip.start_file(name, opts).map_err(io::Error::other)?;
                io::copy(f, &mut zip).map(drop)
            }
        }
    })?;
    zip.finish().map_err(io::Error::other)?.flush()
}

/// A file time as a zip entry's (UTC, 2 s steps; none before 1980 or after 2107, which zip
/// cannot say).
fn zip_time(t: std::time::SystemTime) -> Option<zip::DateTime> {
    let secs = t.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    let year = yoe + era * 400 + i64::from(month <= 2);
    let (h, m, s) = (
        (rem / 3600) as u8,
        (rem % 3600 / 60) as u8,
        (rem % 60) as u8,
    );
    zip::DateTime::from_date_and_time(u16::try_from(year).ok()?, month, day, h, m, s).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zip_entries_carry_the_files_times() {
        let at = |secs| std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs);
        let t = zip_time(at(1_795_000_000)).map(|t| {
            (
                t.year(),
                t.month(),
                t.day(),
                t.hour(),
                t.minute(),
                t.second(),
            )
        });
        // 2026-11-18 11:06:40 UTC
        assert_eq!(t, Some((2026, 11, 18, 11, 6, 40)));
        let leap = zip_time(at(951_782_400)).map(|t| (t.year(), t.month(), t.day()));
        assert_eq!(leap, Some((2000, 2, 29)));
        assert!(zip_time(at(0)).is_none(), "1970 is before zip's epoch");
    }
}
