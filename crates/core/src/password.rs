//! The policy every new password meets (NIST SP 800-63B §3.1.1.2). Pure rules: hashing
//! (argon2id, on the blocking pool) is the browser crate's `password` module.

use std::sync::OnceLock;

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
