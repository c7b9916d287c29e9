//! The claims each scope releases (OIDC Core §5.4).

use gatehouse_core::{Scopes, User, scope};
use serde_json::{Map, Value, json};

/// The claims names this server can release, for discovery's `claims_supported`.
pub const SUPPORTED: [&str; 17] = [
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
    "roles",
    "groups",
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

/// The authorization claims (RFC 9068 §2.2.3.1, §7.2.1.1) of a user or client: `roles`
/// when the scope `roles` was granted, `groups` (users only) when `groups` was. A client
/// acting for itself (client credentials) always carries the roles assigned to it.
pub async fn authorization_claims(
    store: &gatehouse_storage::Store,
    kind: gatehouse_core::SubjectKind,
    subject: &str,
    scopes: &Scopes,
) -> gatehouse_storage::StoreResult<Map<String, Value>> {
    use gatehouse_core::SubjectKind;
    let mut claims = Map::new();
    let roles_wanted = kind == SubjectKind::Client || scopes.contains(scope::ROLES);
    if roles_wanted {
        let roles = store.roles_of(kind, subject).await?;
        if kind == SubjectKind::User || !roles.is_empty() {
            claims.insert("roles".into(), json!(roles));
        }
    }
    if kind == SubjectKind::User && scopes.contains(scope::GROUPS) {
        claims.insert("groups".into(), json!(store.groups_of(subject).await?));
    }
    Ok(claims)
}
