//! End users who sign in at Gatehouse.

/// A user account. The password hash never leaves the storage and login code paths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: String,
    pub username: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
    pub disabled: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Does `email` look like an address (something@something, at most 254 bytes, no control
/// characters)? Deliverability is not checked; a typed address is never marked verified.
pub fn valid_email(email: &str) -> bool {
    email
        .split_once('@')
        .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty())
        && crate::is_plain_text(email, 254)
}

/// Is `username` acceptable for a new account? 1 to 64 bytes, any Unicode, without
/// whitespace or control characters (it appears in logs, pages and the command line).
pub fn valid_username(username: &str) -> bool {
    !username.is_empty()
        && username.len() <= 64
        && !username
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_need_both_halves_and_plain_text() {
        assert!(valid_email("ana@example.com"));
        for bad in [
            "ana",
            "@example.com",
            "ana@",
            "a\u{0}@x",
            &format!("{}@x", "a".repeat(253)),
        ] {
            assert!(!valid_email(bad), "{bad:?}");
        }
    }
}
