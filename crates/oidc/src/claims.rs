//! The claims each scope releases (OIDC Core §5.4).

use gatehouse_core::{Scopes, User, scope};
use serde_json::{Map, Value, json};

/// The claims names this server can release, for discovery's `claims_supported`.
pub const SUPPORTED: [&str; 15] = [
    "sub",
    "iss",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "at_hash",
    "azp",
    "sid",
    "name",
    "preferred_username",
    "updated_at",
    "email",
    "email_verified",
];

/// The user's claims that `scopes` release, `sub` included.
pub fn user_claims(user: &User, scopes: &Scopes) -> Map<String, Value> {
    let mut claims = Map::new();
    claims.insert("sub".into(), json!(user.id));
    if scopes.contains(scope::PROFILE) {
        claims.insert("preferred_username".into(), json!(user.username));
        if let Some(name) = &user.name {
            claims.insert("name".into(), json!(name));
        }
        claims.insert("updated_at".into(), json!(user.updated_at));
    }
    if scopes.contains(scope::EMAIL)
        && let Some(email) = &user.email
    {
        claims.insert("email".into(), json!(email));
        claims.insert("email_verified".into(), json!(user.email_verified));
    }
    claims
}
