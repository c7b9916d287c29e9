//! The authorization code grant's token request (RFC 6749 §4.1.3, §4.1.4; RFC 7636 §4.6;
//! OIDC Core §3.1.3).

use gatehouse_core::{Client, GrantType, Params, pkce, scope, secret};
use gatehouse_storage::CodeRedemption;

use super::TokenResponse;
use crate::TokenState;
use crate::error::TokenError;

#[derive(Debug)]
pub struct Request {
    code: String,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
}

impl Request {
    pub fn parse(form: &Params) -> Result<Self, TokenError> {
        let code = form
            .get("code")
            .ok_or_else(|| TokenError::invalid_request("code is required"))?;
        if code.len() > 256 || !secret::is_vschar(code) {
            return Err(TokenError::invalid_grant(
                "the authorization code is invalid",
            ));
        }
        Ok(Self {
            code: code.to_owned(),
            redirect_uri: form.get("redirect_uri").map(str::to_owned),
            code_verifier: form.get("code_verifier").map(str::to_owned),
        })
    }
}

const INVALID_CODE: &str = "the authorization code is invalid, expired, or was already used";

pub async fn exchange(
    state: &TokenState,
    client: &Client,
    req: Request,
    resource: Option<&str>,
) -> Result<TokenResponse, TokenError> {
    let store = &state.oidc.store;
    let now = state.oidc.now();
    let code_hash = secret::hash_secret(&req.code);
    let row = store
        .find_code(&code_hash)
        .await
        .map_err(TokenError::server)?
        .ok_or_else(|| TokenError::invalid_grant(INVALID_CODE))?;

    // §4.1.3: the code was issued to this client. Another client's attempt does not spend
    // the code: only its rightful holder could have the code and this client's secret both.
    if row.client_id != client.client_id {
        return Err(TokenError::invalid_grant(INVALID_CODE));
    }
    // §4.1.2: a code used twice revokes every token issued from it.
    if row.consumed_at.is_some() {
        store
            .revoke_grant(&row.grant_id, now)
            .await
            .map_err(TokenError::server)?;
        tracing::warn!(client = %client.client_id, "authorization code reused; its grant is revoked");
        return Err(TokenError::invalid_grant(INVALID_CODE));
    }
    if row.expires_at <= now {
        return Err(TokenError::invalid_grant(INVALID_CODE));
    }
    // §4.1.3: redirect_uri is required, and identical, if the authorization request had it.
    match (&row.redirect_uri, &req.redirect_uri) {
        (Some(expected), Some(sent)) if expected == sent => {}
        (Some(_), _) => {
            return Err(TokenError::invalid_grant(
                "redirect_uri must be identical to the one in the authorization request",
            ));
        }
        (None, Some(sent)) if !client.redirect_uris.iter().any(|r| r == sent) => {
            return Err(TokenError::invalid_grant("redirect_uri does not match"));
        }
        (None, _) => {}
    }
    pkce::verify(row.pkce_challenge.as_deref(), req.code_verifier.as_deref())
        .map_err(|e| TokenError::invalid_grant(e.to_string()))?;
    // RFC 8707 §2.2: the access token's audience, settled before the code is spent.
    let resources = super::resources(state).await?;
    let access = super::access_for(state, &resources, &row.scopes, None, resource)?;

    // A refresh token comes with the code's tokens when the client may refresh and, for an
    // OpenID request, the user granted offline_access (OIDC Core §11). It is stored in the
    // transaction that spends the code.
    let wants_refresh = client.allows_grant(GrantType::RefreshToken)
        && (!row.scopes.contains(scope::OPENID) || row.scopes.contains(scope::OFFLINE_ACCESS));
    let refresh = wants_refresh.then(|| {
        let absolute = now + state.oidc.minter.settings.refresh_token_absolute_ttl;
        super::refresh_token::new_refresh_token(
            state,
            &row.grant_id,
            &client.client_id,
            absolute,
            now,
        )
    });
    let row = match store
        .redeem_code(&code_hash, refresh.as_ref().map(|(_, r)| r), now)
        .await
        .map_err(TokenError::server)?
    {
        CodeRedemption::Redeemed(row) => row,
        CodeRedemption::Reused => {
            tracing::warn!(client = %client.client_id, "authorization code redeemed concurrently; its grant is revoked");
            return Err(TokenError::invalid_grant(INVALID_CODE));
        }
        CodeRedemption::Unknown | CodeRedemption::Expired | CodeRedemption::Revoked => {
            return Err(TokenError::invalid_grant(INVALID_CODE));
        }
    };
    let user = super::active_user(state, Some(&row.user_id)).await?;

    super::user_token_response(
        state,
        client,
        super::UserTokens {
            user_id: &user.id,
            grant_id: &row.grant_id,
            scopes: &row.scopes,
            auth_time: Some(row.auth_time),
            sid: Some(&row.sid),
            nonce: row.nonce.as_deref(),
            refresh_token: refresh.map(|(value, _)| value),
            access,
        },
        now,
    )
    .await
}
