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
