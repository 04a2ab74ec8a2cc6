//! API token secrets (`jobo token create`): how they are made, how they are stored. A secret
//! is 256 random bits from the kernel, shown once as `jobo_<hex>`; the store keeps only its
//! SHA-256, so a copy of the database (or a backup) lets no one in. A fast hash is enough
//! here, unlike for passwords: the secret is random, there is nothing to guess.

use sha2::{Digest, Sha256};
use std::io::Read;

/// What every secret starts with: tells a token apart from a node token or a typo, and lets
/// secret scanners find one pasted where it should not be.
pub const PREFIX: &str = "jobo_";

/// Random bytes in a secret: twice the 128 bits that make guessing hopeless.
const RANDOM_BYTES: usize = 32;

/// A new secret, `jobo_` and 64 hex digits. Fails only if `/dev/urandom` cannot be read.
pub fn generate() -> std::io::Result<String> {
    let mut bytes = [0u8; RANDOM_BYTES];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(format!("{PREFIX}{}", hex(&bytes)))
}

/// The SHA-256 of a secret, in hex: what the `tokens` table keeps and looks secrets up by.
pub fn hash(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_long_random_and_prefixed() -> std::io::Result<()> {
        let (a, b) = (generate()?, generate()?);
        assert!(a.starts_with(PREFIX));
        assert_eq!(a.len(), PREFIX.len() + 2 * RANDOM_BYTES);
        assert_ne!(a, b);
        Ok(())
    }

    #[test]
    fn hashes_are_sha256_hex() {
        assert_eq!(
            hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
