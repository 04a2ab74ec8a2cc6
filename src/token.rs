//! The node token: the one secret a server and its `jobod worker` nodes share. Read from a
//! file by `jobod worker`, by `jobod serve` for `[[nodes]]` and by `jobo node add`; sent as
//! `Authorization: Bearer …`; never put in a URL, a log line or an answer.

use hyper::header::HeaderValue;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("cannot read the node token file {path}: {source}", path = .path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the node token file {path} is empty (put the token on its first line)",
        path = .0.display()
    )]
    Empty(PathBuf),
}

/// The node token: the first line of `path`, trimmed, which must not be empty.
pub fn read(path: &Path) -> Result<String, TokenError> {
    let text = std::fs::read_to_string(path).map_err(|source| TokenError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let token = text.lines().next().unwrap_or("").trim();
    if token.is_empty() {
        return Err(TokenError::Empty(path.to_path_buf()));
    }
    Ok(token.to_string())
}

/// `Bearer <token>` as a header value marked sensitive (hyper then keeps it out of debug
/// output); `None` for a token that cannot be a header value.
pub fn bearer(token: &str) -> Option<HeaderValue> {
    let mut value = HeaderValue::from_str(&format!("Bearer {token}")).ok()?;
    value.set_sensitive(true);
    Some(value)
}

/// Compares a given token with the expected one in a time that depends only on the length
/// of the expected token, not on where they differ.
pub fn matches(expected: &[u8], given: &[u8]) -> bool {
    let mut diff = (expected.len() != given.len()) as u8;
    for (i, e) in expected.iter().enumerate() {
        diff |= e ^ given.get(i).copied().unwrap_or(0);
    }
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_whole() {
        assert!(matches(b"secret", b"secret"));
        assert!(!matches(b"secret", b"secre"));
        assert!(!matches(b"secret", b"secretx"));
        assert!(!matches(b"secret", b"Secret"));
        assert!(!matches(b"secret", b""));
    }

    #[test]
    fn reads_the_first_line() -> Result<(), TokenError> {
        let dir = tempfile::tempdir().map_err(|source| TokenError::Read {
            path: PathBuf::new(),
            source,
        })?;
        let path = dir.path().join("token");
        let write = |text: &str| {
            std::fs::write(&path, text).map_err(|source| TokenError::Read {
                path: path.clone(),
                source,
            })
        };
        write("  s3cret \nsecond line\n")?;
        assert_eq!(read(&path)?, "s3cret");
        write("\n")?;
        assert!(matches!(read(&path), Err(TokenError::Empty(_))));
        Ok(())
    }
}
