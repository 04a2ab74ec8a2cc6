//! Payload archives: what a job directory holds, unpacking uploads safely (`unpack.rs`),
//! packing as tar (plain, gzip or zstd: [`Encoding`]) or zip (`pack.rs`).
//!
//! Everything here is blocking I/O; callers run it on the blocking pool and connect it to
//! HTTP bodies with [`crate::bridge`] (only `jobo submit` packs a small dir in place).

mod encoding;
#[cfg(test)]
pub(crate) mod fuzz;
mod names;
mod pack;
mod unpack;

pub use encoding::{Encoder, Encoding};
/// The media types and the override variable of [`Encoding`].
pub mod media {
    pub use super::encoding::{ENV, TAR, TGZ};
}

pub use names::{MAX_COMPONENT, MAX_PATH, escaped, safe_relative, utf8_name};
pub(crate) use pack::{Counted, Exactly};
pub use pack::{pack_tar, pack_tar_counting, pack_tar_only, pack_tgz, pack_zip};
pub use unpack::{Budget, Limits, unpack_tar, unpack_tar_counting, unpack_tgz, unpack_zip};

use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

pub use crate::tree::Trust;
use crate::tree::{self, Meta};

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("invalid file name {0:?}: names must be relative paths without '..' or NUL")]
    BadPath(String),
    #[error("upload is larger than the limit of {0} bytes")]
    TooLarge(u64),
    #[error("not a valid tar.gz archive: {0}")]
    Invalid(String),
    #[error("not a valid zip archive: {0}")]
    InvalidZip(String),
    #[error("{0}: only regular files, directories and links that stay inside are accepted")]
    Unsupported(String),
    #[error(
        "{0} is a link to {1}, which leads out of the directory: only relative links that \
         stay inside it are kept"
    )]
    UnsafeLink(String, String),
    #[error(
        "file name {0:?} is too long: at most {MAX_PATH} bytes, and {MAX_COMPONENT} per \
         directory or file name"
    )]
    NameTooLong(String),
    #[error("file name \"{0}\" is not valid UTF-8: rename it")]
    NotUtf8(String),
    #[error("the file '{0}' is in the upload twice")]
    Duplicate(String),
    #[error("'{0}' is both a file and a directory in the upload")]
    FileAndDir(String),
    #[error("upload has more than {0} files and directories (the server's max_upload_entries)")]
    TooManyEntries(u64),
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
}

/// The files below `dir` by relative path (with `/`), for a `multipart/form-data` upload;
/// refuses a name that a part header cannot carry (not UTF-8, quotes, backslashes, line breaks).
pub fn multipart_names(dir: &Path) -> Result<Vec<String>, ArchiveError> {
    walk(dir)?
        .into_iter()
        .filter(|(_, meta)| !meta.is_dir)
        .map(|(rel, _)| match rel.to_str() {
            Some(n) if !n.contains(['"', '\\', '\r', '\n']) => Ok(n.to_string()),
            _ => Err(ArchiveError::BadPath(rel.to_string_lossy().into_owned())),
        })
        .collect()
}

/// Writes the files `names` of `dir` (jobod's own: a job's input) as a `multipart/form-data`
/// body (the seed's `/submit`): one part per file, the relative path as field name and the
/// base name as filename.
pub fn write_multipart(
    dir: &Path,
    names: &[String],
    boundary: &str,
    mut out: impl Write,
) -> io::Result<()> {
    for name in names {
        let file_name = name.rsplit('/').next().unwrap_or(name);
        write!(
            out,
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; \
             filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        )?;
        io::copy(&mut fs::File::open(dir.join(name))?, &mut out)?;
        out.write_all(b"\r\n")?;
    }
    write!(out, "--{boundary}--\r\n")
}

/// Every regular file and directory below `dir`, relative, links and special files skipped.
fn walk(dir: &Path) -> io::Result<Vec<(PathBuf, Meta)>> {
    let mut out = Vec::new();
    tree::visit(dir, Trust::Own, false, &|_| true, &mut |rel, meta, _| {
        out.push((rel.to_path_buf(), *meta));
        Ok(())
    })?;
    Ok(out)
}

/// What the CLI checks of a job directory before it uploads it.
#[derive(Debug, Default)]
pub struct Survey {
    /// Bytes of file content: the upload's total.
    pub bytes: u64,
    /// Entries (files, directories and links): each costs a header in the tar.
    pub entries: u64,
    /// Links that would lead out of the directory, by path and target: refused, since the
    /// upload keeps only the links that stay inside.
    pub unsafe_links: Vec<(PathBuf, PathBuf)>,
}

/// The size and the unsafe links of the caller's own `dir` (see [`Survey`]).
pub fn survey(dir: &Path) -> io::Result<Survey> {
    let mut survey = Survey::default();
    let mut links = Vec::new();
    let mut link_count = 0;
    tree::visit_with_links(
        dir,
        Trust::Own,
        false,
        &|_| true,
        &mut |_, meta, _| {
            survey.entries += 1;
            if !meta.is_dir {
                survey.bytes += meta.len;
            }
            Ok(())
        },
        &mut |rel, target, safe| {
            link_count += 1;
            if !safe {
                links.push((rel.to_path_buf(), target.to_path_buf()));
            }
            Ok(())
        },
    )?;
    survey.unsafe_links = links;
    survey.entries += link_count;
    Ok(survey)
}

/// A SHA-256 over what a job directory holds: each entry's kind and path, a file's content
/// and execute bits (those an upload keeps), a link's target; not times or other modes. The
/// CLI and jobod compute it over a directory and its unpacked upload alike, so a reused
/// idempotency key can be told apart from the same upload sent again.
pub fn tree_digest(dir: &Path) -> io::Result<String> {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    let field = |hash: &mut Sha256, bytes: &[u8]| {
        hash.update((bytes.len() as u64).to_le_bytes());
        hash.update(bytes);
    };
    let mut links = Vec::new();
    tree::visit_with_links(
        dir,
        Trust::Own,
        true,
        &|_| true,
        &mut |rel, meta, file| {
            let path = rel.as_os_str().as_encoded_bytes();
            match file {
                None => {
                    hash.update(b"d");
                    field(&mut hash, path);
                }
                Some(f) => {
                    hash.update(b"f");
                    field(&mut hash, path);
                    hash.update((meta.mode & 0o111).to_le_bytes());
                    hash.update(meta.len.to_le_bytes());
                    let mut content = Exactly::new(f, meta.len);
                    let mut buf = vec![0u8; 64 * 1024];
                    loop {
                        match content.read(&mut buf)? {
                            0 => break,
                            n => hash.update(&buf[..n]),
                        }
                    }
                }
            }
            Ok(())
        },
        &mut |rel, target, _| {
            links.push((rel.to_path_buf(), target.to_path_buf()));
            Ok(())
        },
    )?;
    for (rel, target) in links {
        hash.update(b"l");
        field(&mut hash, rel.as_os_str().as_encoded_bytes());
        field(&mut hash, target.as_os_str().as_encoded_bytes());
    }
    Ok(crate::secret::hex(&hash.finalize()))
}

/// Total size of the regular files below `dir`.
pub fn dir_size(dir: &Path) -> io::Result<u64> {
    Ok(walk(dir)?
        .iter()
        .filter(|(_, m)| !m.is_dir)
        .map(|(_, m)| m.len)
        .sum())
}

/// Copies the tree `src` into `dst` (created): files and directories with their permission
/// bits, and the links that stay inside ([`tree::safe_link`]) as links; other links are left
/// out, as special files are.
pub fn copy_dir(src: &Path, dst: &Path) -> io::Result<()> {
    fs::create_dir_all(dst)?;
    tree::visit_with_links(
        src,
        Trust::Own,
        true,
        &|_| true,
        &mut |rel, meta, file| {
            let to = dst.join(rel);
            match file {
                None => fs::create_dir_all(&to),
                Some(from) => {
                    let mut copy = fs::File::create(&to)?;
                    io::copy(from, &mut copy)?;
                    copy.set_permissions(fs::Permissions::from_mode(meta.mode))
                }
            }
        },
        &mut |rel, target, safe| {
            if !safe {
                return Ok(());
            }
            let to = dst.join(rel);
            // Into a dir that exists (`fetch --force`): a link there is replaced.
            if fs::symlink_metadata(&to).is_ok_and(|m| m.is_symlink()) {
                fs::remove_file(&to)?;
            }
            std::os::unix::fs::symlink(target, to)
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// At most `n` bytes of content, any number of entries.
    fn bytes(n: u64) -> Limits {
        Limits {
            bytes: n,
            ..Limits::NONE
        }
    }

    #[test]
    fn refuses_a_directory_entry_outside_the_root() -> Result<(), ArchiveError> {
        let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let mut tar = tar::Builder::new(gz);
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Directory);
        h.set_size(0);
        h.set_mode(0o755);
        h.as_old_mut().name[..8].copy_from_slice(b"../evil/");
        h.set_cksum();
        tar.append(&h, &[][..])?;
        let tgz = tar.into_inner()?.finish()?;
        let dst = tempfile::tempdir()?;
        let inner = dst.path().join("in");
        fs::create_dir(&inner)?;
        let err = unpack_tgz(&tgz[..], &inner, bytes(100));
        assert!(matches!(err, Err(ArchiveError::BadPath(_))), "{err:?}");
        assert!(!dst.path().join("evil").exists());
        Ok(())
    }

    #[test]
    fn packs_only_the_named_entries() -> Result<(), ArchiveError> {
        let src = tempfile::tempdir()?;
        fs::create_dir_all(src.path().join("work/sub"))?;
        fs::create_dir_all(src.path().join("tmp"))?;
        fs::write(src.path().join("work/sub/a.txt"), "a")?;
        fs::write(src.path().join("tmp/scratch"), "s")?;
        fs::write(src.path().join("stdout.log"), "out")?;
        let mut tgz = Vec::new();
        let top = ["work", "stdout.log", "stderr.log"];
        pack_tar_only(src.path(), &top, Encoding::Gzip, &mut tgz)?;
        let dst = tempfile::tempdir()?;
        unpack_tgz(&tgz[..], dst.path(), bytes(10_000))?;
        assert_eq!(fs::read(dst.path().join("work/sub/a.txt"))?, b"a");
        assert_eq!(fs::read(dst.path().join("stdout.log"))?, b"out");
        assert!(!dst.path().join("tmp").exists());
        assert!(!dst.path().join("stderr.log").exists());
        Ok(())
    }

    /// A zip with one entry written by `add`.
    fn zip_with(
        add: impl FnOnce(&mut zip::ZipWriter<io::Cursor<Vec<u8>>>) -> zip::result::ZipResult<()>,
    ) -> Result<Vec<u8>, zip::result::ZipError> {
        let mut zip = zip::ZipWriter::new(io::Cursor::new(Vec::new()));
        add(&mut zip)?;
        Ok(zip.finish()?.into_inner())
    }

    #[test]
    fn unpacks_a_zip_and_enforces_the_limit() -> Result<(), Box<dyn std::error::Error>> {
        let src = tempfile::tempdir()?;
        fs::create_dir_all(src.path().join("sub/empty"))?;
        fs::write(src.path().join("out.txt"), "result\n")?;
        fs::write(src.path().join("sub/data.bin"), vec![7u8; 5000])?;
        let mut zip = Vec::new();
        pack_zip(src.path(), Trust::Own, &mut zip)?;

        let dst = tempfile::tempdir()?;
        assert_eq!(
            unpack_zip(io::Cursor::new(&zip), dst.path(), bytes(10_000))?,
            5007
        );
        assert_eq!(fs::read(dst.path().join("out.txt"))?, b"result\n");
        assert_eq!(fs::read(dst.path().join("sub/data.bin"))?, vec![7u8; 5000]);
        assert!(dst.path().join("sub/empty").is_dir());

        let small = tempfile::tempdir()?;
        let err = unpack_zip(io::Cursor::new(&zip), small.path(), bytes(100));
        assert!(matches!(err, Err(ArchiveError::TooLarge(100))), "{err:?}");
        let junk = unpack_zip(io::Cursor::new(b"not a zip"), small.path(), bytes(100));
        assert!(matches!(junk, Err(ArchiveError::InvalidZip(_))), "{junk:?}");
        Ok(())
    }

    #[test]
    fn refuses_unsafe_zip_entries() -> Result<(), Box<dyn std::error::Error>> {
        use zip::write::SimpleFileOptions;
        let opts = SimpleFileOptions::default();
        let file = |name: &'static str| {
            zip_with(move |z| {
                z.start_file(name, opts)?;
                z.write_all(b"x")?;
                Ok(())
            })
        };
        let dst = tempfile::tempdir()?;
        let inner = dst.path().join("in");
        fs::create_dir(&inner)?;
        for name in ["../evil", "a/../../evil", "/tmp/evil"] {
            let err = unpack_zip(io::Cursor::new(file(name)?), &inner, bytes(100));
            assert!(
                matches!(err, Err(ArchiveError::BadPath(_))),
                "{name}: {err:?}"
            );
        }
        let dir = zip_with(|z| z.add_directory("../evil/", opts))?;
        let err = unpack_zip(io::Cursor::new(dir), &inner, bytes(100));
        assert!(matches!(err, Err(ArchiveError::BadPath(_))), "{err:?}");
        let link = zip_with(|z| z.add_symlink("link", "/etc/passwd", opts))?;
        let err = unpack_zip(io::Cursor::new(link), &inner, bytes(100));
        assert!(matches!(err, Err(ArchiveError::Unsupported(_))), "{err:?}");
        assert!(!dst.path().join("evil").exists());
        assert!(fs::read_dir(&inner)?.next().is_none());
        Ok(())
    }

    #[tokio::test]
    async fn writes_multipart_as_the_seed_expects() -> Result<(), Box<dyn std::error::Error>> {
        let src = tempfile::tempdir()?;
        fs::create_dir_all(src.path().join("data/deep"))?;
        fs::write(src.path().join("run.sh"), "echo hi\n")?;
        fs::write(src.path().join("data/deep/in.bin"), vec![0u8; 100_000])?;
        let names = multipart_names(src.path())?;
        assert_eq!(names, ["run.sh", "data/deep/in.bin"]);
        let mut body = Vec::new();
        write_multipart(src.path(), &names, "b0undary", &mut body)?;

        let chunk = Ok::<_, io::Error>(bytes::Bytes::from(body));
        let mut mp = multer::Multipart::new(futures_util::stream::iter([chunk]), "b0undary");
        let mut parts = Vec::new();
        while let Some(field) = mp.next_field().await? {
            let name = field.name().unwrap_or_default().to_string();
            let file_name = field.file_name().unwrap_or_default().to_string();
            parts.push((name, file_name, field.bytes().await?.len()));
        }
        let want = [
            ("run.sh", "run.sh", 8),
            ("data/deep/in.bin", "in.bin", 100_000),
        ];
        let want: Vec<_> = want
            .iter()
            .map(|(n, f, l)| (n.to_string(), f.to_string(), *l))
            .collect();
        assert_eq!(parts, want);

        fs::write(src.path().join("say \"hi\""), "")?;
        assert!(matches!(
            multipart_names(src.path()),
            Err(ArchiveError::BadPath(_))
        ));
        Ok(())
    }

    /// A tar.gz of `(name, target)` entries: a link, or a one-byte file where `target` is "".
    fn link_tgz(entries: &[(&str, &str)]) -> io::Result<Vec<u8>> {
        let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let mut tar = tar::Builder::new(gz);
        for (name, target) in entries {
            let mut h = tar::Header::new_gnu();
            if target.is_empty() {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_size(1);
                h.set_mode(0o644);
                tar.append_data(&mut h, name, &b"x"[..])?;
            } else {
                h.set_entry_type(tar::EntryType::Symlink);
                h.set_size(0);
                tar.append_link(&mut h, name, target)?;
            }
        }
        tar.into_inner()?.finish()
    }

    #[test]
    fn links_that_stay_inside_round_trip_and_others_are_left_out() -> Result<(), ArchiveError> {
        let outside = tempfile::tempdir()?;
        let src = tempfile::tempdir()?;
        fs::create_dir_all(src.path().join("data"))?;
        fs::write(src.path().join("run.sh"), "cat in\n")?;
        fs::write(src.path().join("data/in.txt"), "input")?;
        std::os::unix::fs::symlink("data/in.txt", src.path().join("in"))?;
        // Names and a target over tar's 100 bytes, carried by GNU long-name and long-link
        // entries.
        let deep = format!("data/{}", "d".repeat(120));
        fs::create_dir_all(src.path().join(&deep))?;
        fs::write(src.path().join(&deep).join("f"), "deep")?;
        std::os::unix::fs::symlink("../../run.sh", src.path().join(&deep).join("up"))?;
        std::os::unix::fs::symlink(format!("{deep}/f"), src.path().join("far"))?;
        std::os::unix::fs::symlink(outside.path(), src.path().join("escape"))?;
        let survey = survey(src.path())?;
        assert_eq!(
            survey.unsafe_links,
            [(PathBuf::from("escape"), outside.path().to_path_buf())]
        );
        let mut tgz = Vec::new();
        pack_tgz(src.path(), Trust::Own, &mut tgz)?;
        let dst = tempfile::tempdir()?;
        unpack_tgz(&tgz[..], dst.path(), Limits::NONE)?;
        assert_eq!(
            fs::read_link(dst.path().join("in"))?,
            Path::new("data/in.txt")
        );
        assert_eq!(fs::read_to_string(dst.path().join("in"))?, "input");
        assert_eq!(
            fs::read_to_string(dst.path().join(&deep).join("up"))?,
            "cat in\n"
        );
        assert_eq!(fs::read_to_string(dst.path().join("far"))?, "deep");
        assert!(fs::symlink_metadata(dst.path().join("escape")).is_err());
        // The copy a job runs in keeps them too, and the digest sees the same tree.
        let copy = tempfile::tempdir()?;
        copy_dir(dst.path(), &copy.path().join("work"))?;
        assert_eq!(fs::read_to_string(copy.path().join("work/in"))?, "input");
        fs::remove_file(src.path().join("escape"))?;
        assert_eq!(tree_digest(src.path())?, tree_digest(dst.path())?);
        fs::write(src.path().join("data/in.txt"), "other")?;
        assert_ne!(tree_digest(src.path())?, tree_digest(dst.path())?);
        Ok(())
    }

    #[test]
    fn a_pax_linkpath_names_the_target() -> Result<(), ArchiveError> {
        let target = format!("data/{}/f", "d".repeat(150));
        let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let mut tar = tar::Builder::new(gz);
        tar.append_pax_extensions([("linkpath", target.as_bytes())])?;
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_size(0);
        h.set_path("l")?;
        h.set_link_name(&target[..90])?;
        h.set_cksum();
        tar.append(&h, io::empty())?;
        let tgz = tar.into_inner()?.finish()?;
        let dst = tempfile::tempdir()?;
        unpack_tgz(&tgz[..], dst.path(), Limits::NONE)?;
        assert_eq!(fs::read_link(dst.path().join("l"))?, Path::new(&target));
        Ok(())
    }

    #[test]
    fn refuses_links_that_lead_out_or_hang_below_links() -> Result<(), ArchiveError> {
        let cases: [&[(&str, &str)]; 6] = [
            &[("l", "/etc/passwd")],
            &[("l", "..")],
            &[("a/l", "../..")],
            &[("l", "x/../..")],
            // A link below a link would be made wherever the first one points.
            &[("a", "."), ("a/l", "..")],
            // And nothing is written through one.
            &[("a", "b"), ("b/x", "")],
        ];
        for entries in cases {
            let dst = tempfile::tempdir()?;
            let inner = dst.path().join("in");
            fs::create_dir(&inner)?;
            let result = unpack_tgz(&link_tgz(entries)?[..], &inner, Limits::NONE);
            if entries[1..].iter().any(|(_, t)| t.is_empty()) {
                // The file goes in first, the link after it, pointing at the directory.
                assert!(result.is_ok(), "{entries:?}: {result:?}");
                assert!(inner.join("b").is_dir(), "{entries:?}");
                continue;
            }
            assert!(
                matches!(
                    result,
                    Err(ArchiveError::UnsafeLink(..) | ArchiveError::FileAndDir(_))
                ),
                "{entries:?}: {result:?}"
            );
            assert_eq!(fs::read_dir(dst.path())?.count(), 1, "{entries:?}");
        }
        Ok(())
    }

    #[test]
    fn round_trips_a_tree_and_enforces_the_limit() -> Result<(), ArchiveError> {
        let src = tempfile::tempdir()?;
        fs::create_dir_all(src.path().join("sub"))?;
        fs::write(src.path().join("run.sh"), "echo hi\n")?;
        fs::write(src.path().join("sub/data.txt"), vec![b'x'; 1000])?;
        let mut tgz = Vec::new();
        pack_tgz(src.path(), Trust::Own, &mut tgz)?;

        let dst = tempfile::tempdir()?;
        let n = unpack_tgz(&tgz[..], dst.path(), bytes(10_000))?;
        assert_eq!(n, 1008);
        assert_eq!(fs::read(dst.path().join("sub/data.txt"))?.len(), 1000);

        let small = tempfile::tempdir()?;
        let err = unpack_tgz(&tgz[..], small.path(), bytes(100));
        assert!(matches!(err, Err(ArchiveError::TooLarge(100))));
        let junk = unpack_tgz(&b"not an archive at all"[..], small.path(), bytes(100));
        assert!(matches!(junk, Err(ArchiveError::Invalid(_))));
        Ok(())
    }
}
