//! Password hashing: argon2id with OWASP's parameters (m=19456 KiB, t=2, p=1), as PHC
//! strings with a fresh salt each. Hashing is slow on purpose, so it runs on the blocking
//! pool, never on the async runtime's threads.

use std::sync::OnceLock;

use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};

#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

fn hasher() -> Result<Argon2<'static>, HashError> {
    let params = Params::new(19_456, 2, 1, None).map_err(|e| HashError(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hashes a password (blocking: call from a blocking context or [`hash_async`]).
pub fn hash(password: &str) -> Result<String, HashError> {
    hasher()?
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| HashError(e.to_string()))
}

pub async fn hash_async(password: String) -> Result<String, HashError> {
    tokio::task::spawn_blocking(move || hash(&password))
        .await
        .map_err(|e| HashError(e.to_string()))?
}

/// A hash of a random password, verified against when the user does not exist, so an
/// unknown username costs the same work as a wrong password (OWASP Authentication Cheat
/// Sheet; ASVS 6.3.8).
fn dummy_hash() -> Option<&'static str> {
    static DUMMY: OnceLock<Option<String>> = OnceLock::new();
    DUMMY
        .get_or_init(|| hash(&gatehouse_core::secret::new_secret()).ok())
        .as_deref()
}

/// Verifies `password` against `stored`, or against the dummy hash when `stored` is `None`
/// (which then always fails). Runs on the blocking pool.
pub async fn verify(stored: Option<String>, password: String) -> bool {
    tokio::task::spawn_blocking(move || {
        let Ok(argon) = hasher() else {
            return false;
        };
        match stored {
            Some(h) => argon
                .verify_password(password.as_bytes(), h.as_str())
                .is_ok(),
            None => {
                if let Some(d) = dummy_hash() {
                    let _ = argon.verify_password(password.as_bytes(), d);
                }
                false
            }
        }
    })
    .await
    .unwrap_or(false)
}

/// Computes the dummy hash now, so the first unknown-user login is not faster than the rest.
pub fn warm_up() {
    let _ = dummy_hash();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn argon2id_phc_with_owasp_parameters() {
        let long = "ünïcødé pässwörd 🦀 ".repeat(4);
        let h = hash(&long).unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert_ne!(h, hash(&long).unwrap(), "salts must differ");
        assert!(verify(Some(h.clone()), long.clone()).await);
        assert!(!verify(Some(h), "wrong".into()).await);
        assert!(!verify(None, long).await);
    }
}
