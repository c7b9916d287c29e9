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

/// The fewest characters a new password may have (NIST SP 800-63B §3.1.1.2 asks for 15
/// when a password is the only factor and allows 8 with MFA; 12 is the product owner's floor).
pub const MIN_NEW_PASSWORD_CHARS: usize = 12;
/// The most bytes a password may have: well over the 64 characters NIST asks to accept, so
/// even 128 four-byte characters fit.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// The 10,000 most common passwords (SecLists, see `data/README.md`), lower-cased.
fn common_passwords() -> &'static std::collections::HashSet<String> {
    static LIST: OnceLock<std::collections::HashSet<String>> = OnceLock::new();
    LIST.get_or_init(|| {
        include_str!("../data/common-passwords.txt")
            .lines()
            .map(str::to_lowercase)
            .collect()
    })
}

/// Checks a password someone is about to set, as NIST SP 800-63B §3.1.1.2 asks: long
/// enough, any Unicode (spaces included), no composition rules, and not one of the most
/// common passwords or the account's own username. The message says what to change.
pub fn check_new_password(password: &str, username: &str) -> Result<(), String> {
    if password.chars().count() < MIN_NEW_PASSWORD_CHARS {
        return Err(format!(
            "The password must be at least {MIN_NEW_PASSWORD_CHARS} characters long."
        ));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(format!(
            "The password must be at most {MAX_PASSWORD_BYTES} bytes long."
        ));
    }
    let lower = password.to_lowercase();
    if common_passwords().contains(&lower) {
        return Err("That password is among the most commonly used ones; choose another.".into());
    }
    if !username.is_empty() && lower == username.to_lowercase() {
        return Err("The password must not be the username.".into());
    }
    Ok(())
}

#[cfg(test)]
mod policy_tests {
    use super::*;

    #[test]
    fn the_shipped_list_has_ten_thousand_entries() {
        assert!(
            common_passwords().len() >= 9_900,
            "{}",
            common_passwords().len()
        );
        assert!(common_passwords().contains("password"));
    }

    #[test]
    fn new_passwords_follow_nist_800_63b() {
        assert!(check_new_password("short", "bob").is_err());
        assert!(check_new_password("elevenchars", "bob").is_err());
        assert!(check_new_password("twelve chars", "bob").is_ok());
        // Counted in characters, not bytes; no composition rules.
        assert!(check_new_password("ääääääääääää", "bob").is_ok());
        assert!(check_new_password("zzzzzzzzzzzzzzzzzzzz", "bob").is_ok());
        assert!(check_new_password(&"🔑".repeat(128), "bob").is_ok());
        assert!(check_new_password(&"x".repeat(1025), "bob").is_err());
        // Long entries of the common list are refused, in any case.
        assert!(check_new_password("unbelievable", "bob").is_err());
        assert!(check_new_password("UnBelievable", "bob").is_err());
        assert!(check_new_password("BobTheBuilder", "bobthebuilder").is_err());
    }
}
