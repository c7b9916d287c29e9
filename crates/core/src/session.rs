//! Browser sessions at the authorization server.

/// A server-side browser session. Before login it carries only a CSRF token and the
/// pending authorization requests refer to it through the cookie; after login it names
/// the user and the time of authentication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrowserSession {
    /// SHA-256 of the cookie value: the key of the row.
    pub id_hash: String,
    /// Public session identifier, placed in ID tokens as `sid`.
    pub sid: String,
    pub user_id: Option<String>,
    pub auth_time: Option<i64>,
    pub csrf_token: String,
    pub created_at: i64,
    pub expires_at: i64,
}

impl BrowserSession {
    /// The signed-in user and the time they authenticated, if any.
    pub fn authenticated(&self) -> Option<(&str, i64)> {
        match (&self.user_id, self.auth_time) {
            (Some(u), Some(t)) => Some((u.as_str(), t)),
            _ => None,
        }
    }
}
