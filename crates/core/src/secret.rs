//! Random values and their stored form.
//!
//! Codes, tokens, session ids and client secrets are 256-bit values from a
//! cryptographically secure generator (rand's thread RNG: ChaCha12 seeded from the
//! operating system), encoded base64url without padding. Only their SHA-256 digest is
//! stored: these values carry full entropy, so a slow password hash would add nothing
//! but latency (RFC 6749 §10.10 asks that guessing succeed with at most 2^-128).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngExt;
use sha2::{Digest, Sha256};

/// A fresh random value of `bytes` bytes, base64url encoded.
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill(&mut buf[..]);
    URL_SAFE_NO_PAD.encode(buf)
}

/// A fresh client identifier: 22 characters from `[A-Za-z0-9]` (about 131 bits). No
/// `-` or `_`, so an identifier never reads as a command-line option or needs quoting.
pub fn new_client_id() -> String {
    rand::rng()
        .sample_iter(rand::distr::Alphanumeric)
        .take(22)
        .map(char::from)
        .collect()
}

/// A fresh 256-bit random value: codes, tokens, session ids, client secrets.
pub fn new_secret() -> String {
    random_token(32)
}

/// The form in which a secret value is stored and looked up: base64url(SHA-256(value)).
pub fn hash_secret(value: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(value.as_bytes()))
}

/// base64url(SHA-256(bytes)): also the S256 PKCE transform and half of `at_hash`.
pub fn sha256_b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(bytes))
}

/// Compares two strings in time that depends only on their lengths.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// True when every character of `value` is visible ASCII (RFC 6749 Appendix A VSCHAR,
/// %x20-7E), so it cannot smuggle control characters into a header or a log line.
pub fn is_vschar(value: &str) -> bool {
    value.bytes().all(|b| (0x20..=0x7e).contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn client_ids_are_alphanumeric_and_unique() {
        let ids: HashSet<String> = (0..1000).map(|_| new_client_id()).collect();
        assert_eq!(ids.len(), 1000);
        assert!(ids.iter().all(|id| id.len() == 22));
        assert!(
            ids.iter()
                .all(|id| id.bytes().all(|b| b.is_ascii_alphanumeric()))
        );
    }

    #[test]
    fn tokens_are_256_bit_and_unique() {
        let tokens: HashSet<String> = (0..1000).map(|_| new_secret()).collect();
        assert_eq!(tokens.len(), 1000);
        assert!(tokens.iter().all(|t| t.len() == 43));
    }

    #[test]
    fn hash_is_stable_and_not_the_value() {
        let t = new_secret();
        assert_eq!(hash_secret(&t), hash_secret(&t));
        assert_ne!(hash_secret(&t), t);
    }

    #[test]
    fn constant_time_eq_compares() {
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "ab"));
    }
}
