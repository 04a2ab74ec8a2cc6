//! Multipart uploads, as the seed's routes take them (`POST /upload` on the server, `POST
//! /submit` on a node): file parts streamed to disk under their names, text fields kept.

use super::respond::ApiError;
use super::upload::{UploadBody, limited, too_large};
use crate::archive::{self, ArchiveError, Budget};
use hyper::{HeaderMap, header};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A seed-style multipart upload: files written under `dest`, text fields returned.
pub struct Multipart {
    pub fields: HashMap<String, String>,
    pub bytes: u64,
}

/// Text fields the seed routes read are short; a longer one is refused, never buffered.
const MAX_TEXT_FIELD: usize = 4096;
/// Parts in one multipart body (files and text fields).
const MAX_PARTS: usize = 10_000;

/// Where a file part is stored: its `filename`, as the seed stores it (its own docs send every
/// file as field `file`), unless the field name ends in that filename: then the field name is
/// the path, which keeps `sub/` of the seed's server, which sends files to its clients as
/// `name="sub/a.txt"; filename="a.txt"`. Either must be a safe relative path.
pub fn part_path(field_name: &str, file_name: &str) -> Result<std::path::PathBuf, ApiError> {
    let file = archive::safe_relative(file_name)?;
    if std::path::Path::new(field_name).ends_with(&file) {
        return Ok(archive::safe_relative(field_name)?);
    }
    Ok(file)
}

/// Reads a `multipart/form-data` body: every part with a filename is an input file stored
/// under [`part_path`]; the same path twice is refused. At most `limit` bytes of files are
/// accepted.
pub async fn receive_multipart(
    limit: u64,
    headers: &HeaderMap,
    body: UploadBody,
    dest: &std::path::Path,
) -> Result<Multipart, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let boundary = multer::parse_boundary(content_type).map_err(|_| {
        ApiError::bad_request("expected a multipart/form-data body with a boundary")
    })?;
    let exceeded = Arc::new(AtomicBool::new(false));
    // Multipart framing adds a little on top of the files themselves.
    let stream = limited(body, limit.saturating_add(1 << 20), exceeded.clone());
    let mut mp = multer::Multipart::new(stream, boundary);
    let mut out = Multipart {
        fields: HashMap::new(),
        bytes: 0,
    };
    let mut budget = Budget::new(limit);
    let mut seen = std::collections::HashSet::new();
    let bad = |e: multer::Error| {
        if exceeded.load(Ordering::Relaxed) {
            too_large(limit)
        } else {
            ApiError::bad_request(format!("invalid multipart body: {e}"))
        }
    };
    let mut parts = 0;
    while let Some(mut field) = mp.next_field().await.map_err(bad)? {
        parts += 1;
        if parts > MAX_PARTS {
            return Err(ApiError::bad_request(format!(
                "too many parts: at most {MAX_PARTS} files and fields"
            )));
        }
        let name = field.name().unwrap_or("").to_string();
        let Some(file_name) = field.file_name().map(str::to_string) else {
            let mut text = Vec::new();
            while let Some(chunk) = field.chunk().await.map_err(bad)? {
                if text.len() + chunk.len() > MAX_TEXT_FIELD {
                    return Err(ApiError::bad_request(format!(
                        "field '{name}' is too long (at most {MAX_TEXT_FIELD} bytes)"
                    )));
                }
                text.extend_from_slice(&chunk);
            }
            let text = String::from_utf8(text)
                .map_err(|_| ApiError::bad_request(format!("field '{name}' is not UTF-8")))?;
            out.fields.insert(name, text);
            continue;
        };
        let rel = part_path(&name, &file_name)?;
        if !seen.insert(rel.clone()) {
            return Err(ApiError::bad_request(format!(
                "the file '{}' is in the upload twice",
                rel.display()
            )));
        }
        let path = dest.join(&rel);
        if let Some(parent) = path.parent() {
            tokio::fs::create_dir_all(parent)
                .await
                .map_err(ArchiveError::Io)?;
        }
        let mut file = tokio::fs::File::create(&path)
            .await
            .map_err(ArchiveError::Io)?;
        while let Some(chunk) = field.chunk().await.map_err(bad)? {
            budget.used += chunk.len() as u64;
            if budget.used > limit {
                return Err(too_large(limit));
            }
            tokio::io::AsyncWriteExt::write_all(&mut file, &chunk)
                .await
                .map_err(ArchiveError::Io)?;
        }
        tokio::io::AsyncWriteExt::flush(&mut file)
            .await
            .map_err(ArchiveError::Io)?;
    }
    out.bytes = budget.used;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::part_path;
    use std::path::Path;

    #[test]
    fn parts_are_named_by_filename_unless_the_field_is_its_path() {
        let p = |n, f| part_path(n, f).map_err(|e| e.message);
        assert_eq!(p("file", "run.sh").as_deref(), Ok(Path::new("run.sh")));
        assert_eq!(
            p("sub/a.txt", "a.txt").as_deref(),
            Ok(Path::new("sub/a.txt"))
        );
        assert_eq!(p("a.txt", "a.txt").as_deref(), Ok(Path::new("a.txt")));
        assert_eq!(p("", "a.txt").as_deref(), Ok(Path::new("a.txt")));
        // A field that does not end in the filename, or is unsafe, is only a field name.
        assert_eq!(p("sub/b.txt", "a.txt").as_deref(), Ok(Path::new("a.txt")));
        assert_eq!(p("sub/xa.txt", "a.txt").as_deref(), Ok(Path::new("a.txt")));
        assert_eq!(p("../x", "a.txt").as_deref(), Ok(Path::new("a.txt")));
        // A field meant as the path must be safe too.
        assert!(p("../a.txt", "a.txt").is_err());
        assert!(p("/etc/a.txt", "a.txt").is_err());
        assert!(p("sub/../../a.txt", "a.txt").is_err());
        assert_eq!(
            p("x/sub/a.txt", "sub/a.txt").as_deref(),
            Ok(Path::new("x/sub/a.txt"))
        );
        // The filename itself must be safe.
        assert!(p("file", "").is_err());
        assert!(p("file", "../a.txt").is_err());
        assert!(p("file", "/etc/passwd").is_err());
        assert!(p("a/../../x", "..").is_err());
    }
}
