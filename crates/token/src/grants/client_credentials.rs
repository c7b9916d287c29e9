//! The client credentials grant (RFC 6749 §4.4): a confidential client asks for a token that
//! acts for itself.

use gatehouse_core::{Client, Params, Scopes, secret};
use gatehouse_oidc::tokens::AccessTokenInput;

use super::TokenResponse;
use crate::TokenState;
use crate::error::TokenError;

#[derive(Debug)]
pub struct Request {
    scope: Option<String>,
}

impl Request {
    pub fn parse(form: &Params) -> Result<Self, TokenError> {
        Ok(Self {
            scope: form.get("scope").map(str::to_owned),
        })
    }
}

/// §4.4.2: no user is involved, so the token's subject is the client and only the client's
/// registered scopes may be asked for; none asked means all of them (§3.3's default). Writes
/// nothing: the token is a signed JWT and revocation records its `jti`.
pub async fn exchange(
    state: &TokenState,
    client: &Client,
    req: Request,
) -> Result<TokenResponse, TokenError> {
    // §4.4: "MUST only be used by confidential clients". Registration already refuses a
    // public client with this grant; checked again here because the rule is the grant's.
    if client.is_public() {
        return Err(TokenError::UnauthorizedClient(
            "public clients cannot use the client_credentials grant".into(),
        ));
    }
    let scopes = match &req.scope {
        None => client.scopes.clone(),
        Some(s) => {
            if s.len() > 2048 {
                return Err(TokenError::InvalidScope(
                    "scope is longer than 2048 bytes".into(),
                ));
            }
            let asked = Scopes::parse(s).map_err(|e| TokenError::InvalidScope(e.to_string()))?;
            if !asked.is_subset(&client.scopes) {
                return Err(TokenError::InvalidScope(
                    "the client is not registered for every requested scope".into(),
                ));
            }
            asked
        }
    };
    let oidc = &state.oidc;
    let now = oidc.now();
    let jti = secret::random_token(16);
    let extra = gatehouse_oidc::claims::authorization_claims(
        &oidc.store,
        gatehouse_core::SubjectKind::Client,
        &client.client_id,
        &scopes,
    )
    .await
    .map_err(TokenError::server)?;
    let access_token = super::issue_access_token(
        state,
        client,
        &AccessTokenInput {
            sub: &client.client_id,
            client_id: &client.client_id,
            scopes: &scopes,
            grant_id: None,
            auth_time: None,
            sid: None,
            jti: &jti,
            extra,
        },
        now,
    )
    .await?;
    // §4.4.3: a refresh token SHOULD NOT be included.
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: oidc.minter.settings.access_token_ttl,
        scope: scopes.to_string(),
        refresh_token: None,
        id_token: None,
    })
}
