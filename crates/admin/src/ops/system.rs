//! Signing keys (list, rotate), initial access tokens for dynamic registration (create,
//! list, withdraw), and the audit log.

use gatehouse_core::client::RegistrationPolicy;
use gatehouse_core::{AuditEntry, Listing, Query, secret};
use gatehouse_oidc::Alg;
use gatehouse_oidc::keys::KeyRing;
use gatehouse_storage::{RegistrationTokenRow, StoredKey};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use super::{AdminError, AdminResult, Ops};

/// The default lifetime of an initial access token: one day.
pub const REGISTRATION_TOKEN_TTL: i64 = 86_400;

/// The signing keys of the shared ring as stored (public facts only, never the sealed
/// private parts), newest first within each algorithm.
pub async fn keys(ops: Ops<'_>) -> AdminResult<Vec<StoredKey>> {
    let mut keys = ops.store.list_signing_keys().await?;
    keys.sort_by(|a, b| (&a.alg, -a.created_at).cmp(&(&b.alg, -b.created_at)));
    Ok(keys)
}

/// Generates a new signing key in the shared ring: published at once, signing on every
/// node after the lead time. The key and its audit row are written in one transaction.
/// Answers the new key's id.
pub async fn rotate_key(ops: Ops<'_>, ring: &KeyRing, alg: &str) -> AdminResult<String> {
    let alg = Alg::parse(alg).ok_or_else(|| AdminError::invalid("alg must be RS256 or ES256"))?;
    ring.rotate(alg, &ops.audit("key.rotate", alg.as_str()))
        .await
        .map_err(AdminError::unavailable)
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RegistrationTokenInput {
    /// Lifetime in seconds, 1 to 31536000 (default 86400).
    pub ttl: Option<i64>,
    /// How many registrations it allows (default: unlimited within its lifetime).
    pub uses: Option<i64>,
    /// Scopes a client registered with it may ask for beyond the configured policy.
    #[serde(default)]
    pub allow_scopes: Vec<String>,
    /// Grant types a client registered with it may ask for beyond the configured policy.
    #[serde(default)]
    pub allow_grant_types: Vec<String>,
}

/// A new initial access token: the token itself exists only here.
pub struct RegistrationTokenCreated {
    pub token: String,
    /// Its id in listings and the audit log: the SHA-256 of the token.
    pub id: String,
    pub expires_at: i64,
    pub uses: Option<i64>,
    pub allows: Option<RegistrationPolicy>,
}

/// The lists of a registration allowance, for views: (scopes, grant types).
pub fn allowance_lists(allows: Option<&RegistrationPolicy>) -> (Vec<String>, Vec<String>) {
    allows.map_or_else(Default::default, |p| {
        (
            p.scopes.iter().map(str::to_owned).collect(),
            p.grant_types.iter().map(|g| g.to_string()).collect(),
        )
    })
}

pub async fn create_registration_token(
    ops: Ops<'_>,
    input: RegistrationTokenInput,
) -> AdminResult<RegistrationTokenCreated> {
    let ttl = input.ttl.unwrap_or(REGISTRATION_TOKEN_TTL);
    if !(1..=31_536_000).contains(&ttl) || input.uses.is_some_and(|u| u < 1) {
        return Err(AdminError::invalid(
            "ttl must be 1 to 31536000 seconds and uses at least 1",
        ));
    }
    let allows = RegistrationPolicy::allowance(&input.allow_scopes, &input.allow_grant_types)
        .map_err(AdminError::Invalid)?;
    let (allow_scopes, allow_grant_types) = allowance_lists(allows.as_ref());
    let token = secret::new_secret();
    let id = secret::hash_secret(&token);
    let expires_at = ops.now + ttl;
    let audit = ops.audit("registration_token.create", &id).detail(json!({
        "expires_at": expires_at,
        "uses": input.uses,
        "allow_scopes": allow_scopes,
        "allow_grant_types": allow_grant_types,
    }));
    ops.store
        .create_registration_token(
            &id,
            input.uses,
            allows.as_ref(),
            ops.now,
            expires_at,
            &audit,
        )
        .await?;
    Ok(RegistrationTokenCreated {
        token,
        id,
        expires_at,
        uses: input.uses,
        allows,
    })
}

/// The initial access tokens still usable.
pub async fn registration_tokens(ops: Ops<'_>) -> AdminResult<Vec<RegistrationTokenRow>> {
    Ok(ops.store.list_registration_tokens(ops.now).await?)
}

pub async fn delete_registration_token(ops: Ops<'_>, id: &str) -> AdminResult<()> {
    if !ops
        .store
        .delete_registration_token(id, &ops.audit("registration_token.delete", id), ops.now)
        .await?
    {
        return Err(AdminError::NotFound("registration token"));
    }
    Ok(())
}

/// One page of the audit log, newest first.
pub async fn audit_log(ops: Ops<'_>, q: &Query) -> AdminResult<Listing<AuditEntry>> {
    Ok(ops.store.list_audit(q).await?)
}
