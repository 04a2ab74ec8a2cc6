//! Multipart uploads, as the seed's routes take them (`POST /upload` on the server, `POST
//! /submit` on a node): file parts streamed to disk under their names, text fields kept.

use super::respond::ApiError;
use super::upload::{BodyFault, UploadBody, UploadLimits, body_stream};
use crate::archive::{self, ArchiveError, Budget};
use bytes::Bytes;
use futures_util::Stream;
use hyper::{HeaderMap, StatusCode, header};
use std::collections::HashMap;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use tokio::io::AsyncWriteExt;

/// A seed-style multipart upload: files written under `dest`, text fields returned.
pub struct Multipart {
    pub fields: HashMap<String, String>,
    pub bytes: u64,
}

/// Text fields the seed routes read are short; a longer one is refused, never buffered.
const MAX_TEXT_FIELD: usize = 4096;
/// Text fields in one body (the seed routes read two); file parts count against the upload's
/// entries instead.
const MAX_TEXT_FIELDS: usize = 64;
/// Bytes multer may take in without handing out a part or data (part headers, the preamble):
/// it buffers those whole, so they must be bounded. One more chunk may come on top.
pub const MAX_FRAMING: usize = 64 * 1024;

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
/// under [`part_path`]; the same path twice, or as a file and a directory, is refused. At
/// most `limits` (bytes of files, files and the directories they imply, idle time).
pub async fn receive_multipart(
    limits: UploadLimits,
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
    let fault = Arc::new(BodyFault::default());
    // Multipart framing adds a little on top of the files themselves.
    let framed = UploadLimits {
        bytes: limits.bytes.saturating_add(1 << 20),
        ..limits
    };
    let stream = body_stream(body, framed, fault.clone());
    read_parts(limits, boundary, stream, fault, dest).await
}

/// [`receive_multipart`] from the body's data: `fault` says why `stream` failed, if it did.
async fn read_parts(
    limits: UploadLimits,
    boundary: String,
    stream: impl Stream<Item = io::Result<Bytes>> + Send + 'static,
    fault: Arc<BodyFault>,
    dest: &std::path::Path,
) -> Result<Multipart, ApiError> {
    let unparsed = Arc::new(AtomicUsize::new(0));
    let stream = Paced {
        inner: Box::pin(stream),
        yielded: false,
        unparsed: unparsed.clone(),
        fault: fault.clone(),
    };
    let mut mp = multer::Multipart::new(stream, boundary);
    let mut out = Multipart {
        fields: HashMap::new(),
        bytes: 0,
    };
    let mut budget = Budget::new(limits.archive());
    let bad = |e: multer::Error| {
        fault
            .error(&limits)
            .unwrap_or_else(|| ApiError::bad_request(format!("invalid multipart body: {e}")))
    };
    let dest = dest.to_path_buf();
    while let Some(mut field) = mp.next_field().await.map_err(bad)? {
        unparsed.store(0, Ordering::Relaxed);
        // multer takes a name or filename that is not UTF-8 for none: a file would become a
        // text field, or be lost.
        if let Some(cd) = field.headers().get(header::CONTENT_DISPOSITION)
            && std::str::from_utf8(cd.as_bytes()).is_err()
        {
            return Err(ApiError::bad_request(format!(
                "the part header '{}' is not valid UTF-8: file names must be",
                archive::escaped(cd.as_bytes())
            )));
        }
        let name = field.name().unwrap_or("").to_string();
        let Some(file_name) = field.file_name().map(str::to_string) else {
            if out.fields.len() >= MAX_TEXT_FIELDS || name.len() > MAX_TEXT_FIELD {
                return Err(ApiError::bad_request(format!(
                    "too many or too long text fields: at most {MAX_TEXT_FIELDS}, names and \
                     values of at most {MAX_TEXT_FIELD} bytes"
                )));
            }
            let mut text = Vec::new();
            while let Some(chunk) = field.chunk().await.map_err(bad)? {
                unparsed.store(0, Ordering::Relaxed);
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
        let (counted, created) = {
            let (dest, rel) = (dest.clone(), rel.clone());
            tokio::task::spawn_blocking(move || {
                let created = budget.create_file(&dest, &rel);
                (budget, created)
            })
            .await
            .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
        };
        budget = counted;
        let mut file = tokio::fs::File::from_std(created?);
        while let Some(chunk) = field.chunk().await.map_err(bad)? {
            unparsed.store(0, Ordering::Relaxed);
            budget.charge(chunk.len() as u64)?;
            file.write_all(&chunk).await.map_err(ArchiveError::Io)?;
        }
        file.flush().await.map_err(ArchiveError::Io)?;
    }
    out.bytes = budget.used;
    Ok(out)
}

/// The body as multer reads it: one chunk per poll (multer reads all that is ready in one go,
/// which a fast client can make the whole body), and refused past [`MAX_FRAMING`] bytes
/// taken in since multer last handed out a part or data (`unparsed`, reset by the reader).
struct Paced<S> {
    inner: Pin<Box<S>>,
    yielded: bool,
    unparsed: Arc<AtomicUsize>,
    fault: Arc<BodyFault>,
}

impl<S: Stream<Item = io::Result<Bytes>>> Stream for Paced<S> {
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.yielded {
            // Let multer parse what it has; poll again right away.
            self.yielded = false;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        let item = std::task::ready!(self.inner.as_mut().poll_next(cx));
        if let Some(Ok(chunk)) = &item {
            // What came before this chunk: a chunk may hold a part header and much of its data.
            let taken = self.unparsed.fetch_add(chunk.len(), Ordering::Relaxed);
            if taken > MAX_FRAMING {
                self.fault.set_framing();
                let e = io::Error::new(io::ErrorKind::InvalidData, "multipart framing too long");
                return Poll::Ready(Some(Err(e)));
            }
            self.yielded = true;
        }
        Poll::Ready(item)
    }
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

/// The multipart half of the unpackers' property test (see `archive/fuzz.rs`): random bodies
/// of hostile parts, fed in random pieces.
#[cfg(test)]
mod fuzz {
    use super::*;
    use crate::archive::fuzz::{Arena, Rng, limits, name};
    use std::time::Duration;

    const BOUNDARY: &str = "fuzzb0undary";

    /// A random multipart body: text fields and file parts whose field names and filenames
    /// are hostile names (some the same, some paths, some not UTF-8 or breaking the header).
    fn body(rng: &mut Rng) -> Vec<u8> {
        let hostile = if rng.chance(50) { 2 } else { 30 };
        let mut seen = Vec::new();
        let mut out = Vec::new();
        for _ in 0..1 + rng.below(10) {
            let mut path = name(rng, &seen, hostile);
            if hostile < 10 {
                // Names in part headers are text: mostly fine ones are UTF-8.
                path = String::from_utf8_lossy(&path)
                    .replace('\u{fffd}', "u")
                    .into_bytes();
            }
            seen.push(path.clone());
            let base = path.rsplit(|b| *b == b'/').next().unwrap_or(&path).to_vec();
            let (field, file): (Vec<u8>, Option<Vec<u8>>) = match rng.below(6) {
                0 => (b"user_id".to_vec(), None),
                1 => (b"file".to_vec(), Some(base)),
                2 if rng.chance(hostile) => (path.clone(), Some(path)),
                _ => (path, Some(base)),
            };
            out.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
            out.extend_from_slice(b"Content-Disposition: form-data; name=\"");
            out.extend_from_slice(&field);
            out.push(b'"');
            if let Some(file) = &file {
                out.extend_from_slice(b"; filename=\"");
                out.extend_from_slice(file);
                out.push(b'"');
            }
            out.extend_from_slice(b"\r\n\r\n");
            let len = [0, 5, 300, 5000][rng.below(if file.is_some() { 4 } else { 3 })];
            out.extend(std::iter::repeat_n(b'c', len));
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
        if rng.chance(hostile / 3) {
            out.truncate(rng.below(out.len()));
        }
        out
    }

    #[tokio::test]
    async fn random_hostile_multipart_never_writes_outside_the_destination() {
        let arena = Arena::new();
        let (mut accepted, mut refused) = (0, 0);
        for seed in 0..500 {
            let mut rng = Rng::new(seed);
            let data = body(&mut rng);
            let archive = limits(&mut rng);
            let limits = UploadLimits {
                bytes: archive.bytes,
                entries: archive.entries,
                idle: Duration::from_secs(5),
            };
            // Random pieces, as a network would cut them.
            let mut pieces = Vec::new();
            let mut rest = &data[..];
            while !rest.is_empty() {
                let n = (1 + rng.below(3000)).min(rest.len());
                pieces.push(Ok(Bytes::copy_from_slice(&rest[..n])));
                rest = &rest[n..];
            }
            let dest = arena.dest();
            let stream = futures_util::stream::iter(pieces);
            let fault = Arc::new(BodyFault::default());
            let result = read_parts(limits, BOUNDARY.into(), stream, fault, &dest).await;
            let case = format!(
                "seed {seed}: {:?}",
                result.as_ref().map(|m| m.bytes).map_err(|e| &e.message)
            );
            if let Err(e) = &result {
                assert!(e.status.is_client_error(), "{case}: {}", e.status);
            }
            arena.check(&case, result.as_ref().ok().map(|m| m.bytes), archive);
            match result {
                Ok(_) => accepted += 1,
                Err(_) => refused += 1,
            }
        }
        assert!(
            accepted > 50 && refused > 50,
            "{accepted} accepted, {refused} refused"
        );
    }
}
