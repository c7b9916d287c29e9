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
/// registered scopes may be asked for. None asked means (§3.3's default) every registered
/// scope that no API owns, for the issuer; an API's scopes come only with that API as the
/// audience (`resource`, or asked by name), so `gatehouse:admin` is issued only when asked
/// for, in a short-lived token for the admin API. Writes nothing for a JWT: revocation
/// records its `jti`.
pub async fn exchange(
    state: &TokenState,
    client: &Client,
    req: Request,
    resource: Option<&str>,
) -> Result<TokenResponse, TokenError> {
    // §4.4: "MUST only be used by confidential clients". Registration already refuses a
    // public client with this grant; checked again here because the rule is the grant's.
    if client.is_public() {
        return Err(TokenError::UnauthorizedClient(
            "public clients cannot use the client_credentials grant".into(),
        ));
    }
    let asked = match &req.scope {
        None => None,
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
            Some(asked)
        }
    };
    let resources = super::resources(state).await?;
    let access = super::access_for(state, &resources, &client.scopes, asked.as_ref(), resource)?;
    let scopes = access.scopes;
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
            audience: &access.audience,
            ttl: access.ttl,
        },
        now,
    )
    .await?;
    // §4.4.3: a refresh token SHOULD NOT be included.
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: access.ttl,
        scope: scopes.to_string(),
        refresh_token: None,
        id_token: None,
    })
}
