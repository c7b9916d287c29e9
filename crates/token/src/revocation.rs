//! Token revocation (RFC 7009).
//!
//! A refresh token revokes its whole grant: itself, its successors and every access token
//! issued under it (§2.1 lets the server do so, RFC 9700 §4.14 wants it). An access token
//! is a JWT that cannot be recalled, so its `jti` is remembered until it expires, and
//! userinfo and introspection consult that list. Unknown tokens, and tokens of other
//! clients, get 200 and nothing happens (§2.2). If the store fails the answer is 503,
//! never a 200 that would leave the client believing a live token dead.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use gatehouse_core::{Client, secret};

use crate::TokenState;
use crate::client_auth::{ClientEndpoint, ClientRequest};
use crate::error::{TokenError, no_store};

/// `/revoke`. Whatever fails on our side, the token's fate is unknown: 503 (§2.2.1).
pub struct Revocation;

impl ClientEndpoint for Revocation {
    const PATH: &'static str = "/revoke";
    const OUTAGE_IS_UNAVAILABLE: bool = true;
}

pub async fn revoke(
    State(state): State<TokenState>,
    ClientRequest { client, form, .. }: ClientRequest<Revocation>,
) -> Result<Response, TokenError> {
    let token = form
        .get("token")
        .ok_or_else(|| TokenError::invalid_request("token is required"))?;
    // §2.1: the hint only speeds up the lookup; both kinds are tried either way.
    revoke_token(&state, &client, token)
        .await
        .map_err(Revocation::refuse)?;
    let mut res = StatusCode::OK.into_response();
    no_store(&mut res);
    Ok(res)
}

async fn revoke_token(state: &TokenState, client: &Client, token: &str) -> Result<(), TokenError> {
    let oidc = &state.oidc;
    let store = &oidc.store;
    let unavailable = |e: gatehouse_storage::StoreError| TokenError::Unavailable(e.to_string());
    let now = oidc.now();
    if token.len() > 4096 || !secret::is_vschar(token) {
        return Ok(());
    }
    if let Some(row) = store
        .find_refresh_token(&secret::hash_secret(token))
        .await
        .map_err(unavailable)?
    {
        if row.client_id == client.client_id {
            store
                .revoke_grant(&row.grant_id, now)
                .await
                .map_err(unavailable)?;
        }
        return Ok(());
    }
    // An opaque access token: deleted, if it is this client's.
    if store
        .delete_access_token(&secret::hash_secret(token), &client.client_id)
        .await
        .map_err(unavailable)?
    {
        return Ok(());
    }
    // A JWT access token: revoked only by the client it was issued to. An expired one needs
    // nothing; verify_access_token refuses it already. A token naming a key this node has
    // not seen reloads the ring first, and if the ring cannot be read the answer is 503:
    // "not ours" would be a false 200 (RFC 7009 §2.2.1).
    let keys = oidc
        .keys_for(token)
        .await
        .map_err(|e| TokenError::Unavailable(e.to_string()))?;
    if let Ok(claims) = oidc.minter.verify_access_token(&keys, token, now)
        && claims.client_id == client.client_id
    {
        store
            .revoke_access_token(&claims.jti, claims.exp)
            .await
            .map_err(unavailable)?;
    }
    Ok(())
}
