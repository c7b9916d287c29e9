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

/// Is `username` acceptable for a new account? 1 to 64 bytes, any Unicode, without
/// whitespace or control characters (it appears in logs, pages and the command line).
pub fn valid_username(username: &str) -> bool {
    !username.is_empty()
        && username.len() <= 64
        && !username
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
}
