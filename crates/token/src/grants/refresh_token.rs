//! Refreshing an access token (RFC 6749 §6; RFC 9700 §4.14; OIDC Core §12).
//!
//! Every use rotates the refresh token. There is no grace period: presenting a token that
//! was already rotated, even by a client retrying after a lost response, is treated as
//! reuse and revokes the whole grant (RFC 9700 §4.14.2). A client that loses a response
//! must send the user through authorization again; it cannot be told apart from an
//! attacker replaying a stolen token.

use gatehouse_core::{Client, Params, RefreshToken, Scopes, secret};
use gatehouse_storage::RefreshRotation;

use super::TokenResponse;
use crate::TokenState;
use crate::error::TokenError;

#[derive(Debug)]
pub struct Request {
    refresh_token: String,
    scope: Option<String>,
}

impl Request {
    pub fn parse(form: &Params) -> Result<Self, TokenError> {
        let refresh_token = form
            .get("refresh_token")
            .ok_or_else(|| TokenError::invalid_request("refresh_token is required"))?;
        if refresh_token.len() > 256 || !secret::is_vschar(refresh_token) {
            return Err(TokenError::invalid_grant(INVALID));
        }
        Ok(Self {
            refresh_token: refresh_token.to_owned(),
            scope: form.get("scope").map(str::to_owned),
        })
    }
}

const INVALID: &str = "the refresh token is invalid, expired, revoked, or was already used";

/// A fresh refresh token for `grant_id`, and its stored row. The idle lifetime starts again;
/// the absolute one never moves.
pub fn new_refresh_token(
    state: &TokenState,
    grant_id: &str,
    client_id: &str,
    absolute_expires_at: i64,
    now: i64,
) -> (String, RefreshToken) {
    let value = secret::new_secret();
    let settings = &state.oidc.minter.settings;
    let row = RefreshToken {
        token_hash: secret::hash_secret(&value),
        grant_id: grant_id.to_owned(),
        client_id: client_id.to_owned(),
        created_at: now,
        expires_at: (now + settings.refresh_token_idle_ttl).min(absolute_expires_at),
        absolute_expires_at,
        consumed_at: None,
    };
    (value, row)
}

pub async fn exchange(
    state: &TokenState,
    client: &Client,
    req: Request,
    resource: Option<&str>,
) -> Result<TokenResponse, TokenError> {
    let store = &state.oidc.store;
    let now = state.oidc.now();
    let old_hash = secret::hash_secret(&req.refresh_token);
    let row = store
        .find_refresh_token(&old_hash)
        .await
        .map_err(TokenError::server)?
        .ok_or_else(|| TokenError::invalid_grant(INVALID))?;
    // §10.4: a refresh token is bound to its client. Another client's attempt does not
    // spend it (it would need the rightful client's credentials too).
    if row.client_id != client.client_id {
        return Err(TokenError::invalid_grant(INVALID));
    }
    let grant = store
        .find_grant(&row.grant_id)
        .await
        .map_err(TokenError::server)?
        .filter(|g| g.revoked_at.is_none())
        .ok_or_else(|| TokenError::invalid_grant(INVALID))?;

    // §6: the scope may narrow, never widen; the grant keeps what was originally granted,
    // so a later refresh may ask for all of it again.
    let asked = match &req.scope {
        None => None,
        Some(s) => {
            let asked = Scopes::parse(s).map_err(|e| TokenError::InvalidScope(e.to_string()))?;
            if !asked.is_subset(&grant.scopes) {
                return Err(TokenError::InvalidScope(
                    "a refresh cannot add scopes the user did not grant".into(),
                ));
            }
            Some(asked)
        }
    };
    let scopes = asked.clone().unwrap_or_else(|| grant.scopes.clone());
    // RFC 8707 §2.2: the access token's audience, settled before the token is rotated.
    let resources = super::resources(state).await?;
    let access = super::access_for(state, &resources, &grant.scopes, asked.as_ref(), resource)?;

    let (refresh_token, next) = new_refresh_token(
        state,
        &grant.id,
        &client.client_id,
        row.absolute_expires_at,
        now,
    );
    match store
        .rotate_refresh_token(&old_hash, &client.client_id, &next, now)
        .await
        .map_err(TokenError::server)?
    {
        RefreshRotation::Rotated(_) => {}
        RefreshRotation::Reused => {
            tracing::warn!(client = %client.client_id, grant = %grant.id, "refresh token reused; the grant is revoked");
            return Err(TokenError::invalid_grant(INVALID));
        }
        RefreshRotation::Unknown | RefreshRotation::Expired | RefreshRotation::Revoked => {
            return Err(TokenError::invalid_grant(INVALID));
        }
    }

    let user = super::active_user(state, grant.user_id.as_deref()).await?;

    super::user_token_response(
        state,
        client,
        super::UserTokens {
            user_id: &user.id,
            grant_id: &grant.id,
            scopes: &scopes,
            // OIDC Core §12.2: the refreshed ID token keeps the original auth_time.
            auth_time: grant.auth_time,
            sid: grant.sid.as_deref(),
            nonce: None,
            refresh_token: Some(refresh_token),
            access,
        },
        now,
    )
    .await
}
