//! One module per grant type, each reading like the RFC section it implements.

mod authorization_code;
mod client_credentials;
mod device_code;
pub(crate) mod refresh_token;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use gatehouse_core::{Client, GrantType, Params};
use serde::Serialize;

use crate::TokenState;
use crate::error::{TokenError, no_store};

/// A token request, by `grant_type`.
#[derive(Debug)]
pub enum GrantRequest {
    AuthorizationCode(authorization_code::Request),
    ClientCredentials(client_credentials::Request),
    RefreshToken(refresh_token::Request),
    DeviceCode(device_code::Request),
}

impl GrantRequest {
    pub fn parse(form: &Params) -> Result<Self, TokenError> {
        match form.get("grant_type") {
            None => Err(TokenError::invalid_request("grant_type is required")),
            Some("authorization_code") => Ok(Self::AuthorizationCode(
                authorization_code::Request::parse(form)?,
            )),
            Some("client_credentials") => Ok(Self::ClientCredentials(
                client_credentials::Request::parse(form)?,
            )),
            Some("refresh_token") => Ok(Self::RefreshToken(refresh_token::Request::parse(form)?)),
            Some("urn:ietf:params:oauth:grant-type:device_code") => {
                Ok(Self::DeviceCode(device_code::Request::parse(form)?))
            }
            // RFC 9700 §2.4: the resource owner password credentials grant must not be used.
            Some(_) => Err(TokenError::UnsupportedGrantType(
                "this grant_type is not supported".into(),
            )),
        }
    }

    fn grant_type(&self) -> GrantType {
        match self {
            Self::AuthorizationCode(_) => GrantType::AuthorizationCode,
            Self::ClientCredentials(_) => GrantType::ClientCredentials,
            Self::RefreshToken(_) => GrantType::RefreshToken,
            Self::DeviceCode(_) => GrantType::DeviceCode,
        }
    }
}

pub async fn dispatch(
    state: &TokenState,
    client: &Client,
    request: GrantRequest,
    resource: Option<&str>,
) -> Result<Response, TokenError> {
    if !client.allows_grant(request.grant_type()) {
        return Err(TokenError::UnauthorizedClient(format!(
            "the client is not registered for the {} grant",
            request.grant_type()
        )));
    }
    let response = match request {
        GrantRequest::AuthorizationCode(r) => {
            authorization_code::exchange(state, client, r, resource).await?
        }
        GrantRequest::ClientCredentials(r) => {
            client_credentials::exchange(state, client, r, resource).await?
        }
        GrantRequest::RefreshToken(r) => {
            refresh_token::exchange(state, client, r, resource).await?
        }
        GrantRequest::DeviceCode(r) => device_code::exchange(state, client, r, resource).await?,
    };
    let mut res = (StatusCode::OK, axum::Json(response)).into_response();
    no_store(&mut res);
    Ok(res)
}

/// The successful token response (RFC 6749 §5.1, OIDC Core §3.1.3.3).
#[derive(Debug, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    pub scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}

/// What an access token is for (RFC 8707): its audience, lifetime and scopes.
#[derive(Debug, Clone)]
pub(crate) struct Access {
    pub audience: String,
    pub ttl: i64,
    pub scopes: gatehouse_core::Scopes,
}

/// Every API a token may be for: the admin API and the registered ones.
pub(crate) async fn resources(
    state: &TokenState,
) -> Result<Vec<gatehouse_core::Resource>, TokenError> {
    state.oidc.resources().await.map_err(TokenError::server)
}

/// Chooses the audience and scopes of an access token from what the client or grant
/// holds (`held`), the `scope` asked for and the `resource` named
/// (`gatehouse_core::resource::select_audience`). Called before anything single-use is
/// spent, so a refusal costs the client nothing.
pub(crate) fn access_for(
    state: &TokenState,
    resources: &[gatehouse_core::Resource],
    held: &gatehouse_core::Scopes,
    asked: Option<&gatehouse_core::Scopes>,
    resource: Option<&str>,
) -> Result<Access, TokenError> {
    use gatehouse_core::resource::{AudienceError, select_audience};
    let default_ttl = state.oidc.minter.settings.access_token_ttl;
    match select_audience(resources, held, asked, resource) {
        Ok((target, scopes)) => Ok(Access {
            audience: target.map_or_else(
                || state.oidc.issuer.as_str().to_owned(),
                |r| r.identifier.clone(),
            ),
            ttl: target
                .and_then(|r| r.access_token_ttl)
                .map_or(default_ttl, |t| t.min(default_ttl)),
            scopes,
        }),
        Err(e @ AudienceError::UnknownResource) => Err(TokenError::InvalidTarget(e.to_string())),
        Err(e) => Err(TokenError::InvalidScope(e.to_string())),
    }
}

/// Issues an access token in the client's chosen format: a signed JWT (RFC 9068), which
/// writes nothing, or an opaque 256-bit value stored hashed, which resource servers
/// introspect and which dies at once when revoked.
pub(crate) async fn issue_access_token(
    state: &TokenState,
    client: &Client,
    input: &gatehouse_oidc::tokens::AccessTokenInput<'_>,
    now: i64,
) -> Result<String, TokenError> {
    let oidc = &state.oidc;
    match client.access_token_format {
        gatehouse_core::AccessTokenFormat::Jwt => oidc
            .minter
            .access_token(&*oidc.signing_keys().await, input, now)
            .map_err(TokenError::server),
        gatehouse_core::AccessTokenFormat::Opaque => {
            let value = gatehouse_core::secret::new_secret();
            oidc.store
                .insert_access_token(&gatehouse_core::OpaqueAccessToken {
                    token_hash: gatehouse_core::secret::hash_secret(&value),
                    grant_id: input.grant_id.map(str::to_owned),
                    client_id: input.client_id.to_owned(),
                    sub: input.sub.to_owned(),
                    scopes: input.scopes.clone(),
                    auth_time: input.auth_time,
                    created_at: now,
                    expires_at: now + input.ttl,
                    audience: (input.audience != oidc.issuer.as_str())
                        .then(|| input.audience.to_owned()),
                })
                .await
                .map_err(TokenError::server)?;
            Ok(value)
        }
    }
}

/// What the tokens for a user's grant are made of.
pub(crate) struct UserTokens<'a> {
    pub user_id: &'a str,
    pub grant_id: &'a str,
    pub scopes: &'a gatehouse_core::Scopes,
    /// When the user authenticated; without it there is no ID token to issue.
    pub auth_time: Option<i64>,
    pub sid: Option<&'a str>,
    pub nonce: Option<&'a str>,
    pub refresh_token: Option<String>,
    /// The access token's audience and scopes (`access_for`).
    pub access: Access,
}

/// The token response for a user's grant, shared by the code, refresh and device grants:
/// an access token in the client's format and, when `openid` is among the scopes, an ID
/// token (OIDC Core §3.1.3.3; after a refresh, §12.2: same sub and auth_time, no nonce).
pub(crate) async fn user_token_response(
    state: &TokenState,
    client: &Client,
    t: UserTokens<'_>,
    now: i64,
) -> Result<TokenResponse, TokenError> {
    let oidc = &state.oidc;
    let jti = gatehouse_core::secret::random_token(16);
    let claims_for = |scopes| {
        gatehouse_oidc::claims::authorization_claims(
            &oidc.store,
            gatehouse_core::SubjectKind::User,
            t.user_id,
            scopes,
        )
    };
    let authz = claims_for(&t.access.scopes)
        .await
        .map_err(TokenError::server)?;
    let access_token = issue_access_token(
        state,
        client,
        &gatehouse_oidc::tokens::AccessTokenInput {
            sub: t.user_id,
            client_id: &client.client_id,
            scopes: &t.access.scopes,
            grant_id: Some(t.grant_id),
            auth_time: t.auth_time,
            sid: t.sid,
            jti: &jti,
            extra: authz.clone(),
            audience: &t.access.audience,
            ttl: t.access.ttl,
        },
        now,
    )
    .await?;
    let id_token = match (
        t.scopes.contains(gatehouse_core::scope::OPENID),
        t.auth_time,
    ) {
        (true, Some(auth_time)) => Some({
            // The ID token speaks of the whole grant, whatever the access token is for.
            let extra = if t.access.scopes == *t.scopes {
                authz
            } else {
                claims_for(t.scopes).await.map_err(TokenError::server)?
            };
            oidc.minter
                .id_token(
                    &*oidc.signing_keys().await,
                    gatehouse_oidc::tokens::IdTokenInput {
                        sub: t.user_id,
                        client_id: &client.client_id,
                        nonce: t.nonce,
                        auth_time,
                        sid: t.sid,
                        access_token: Some(&access_token),
                        extra,
                    },
                    now,
                )
                .map_err(TokenError::server)?
        }),
        _ => None,
    };
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: t.access.ttl,
        scope: t.access.scopes.to_string(),
        refresh_token: t.refresh_token,
        id_token,
    })
}

/// The user behind a grant, if the account still exists and is enabled: tokens are issued
/// only for active users.
pub(crate) async fn active_user(
    state: &TokenState,
    user_id: Option<&str>,
) -> Result<gatehouse_core::User, TokenError> {
    let user = match user_id {
        Some(id) => state
            .oidc
            .store
            .find_user(id)
            .await
            .map_err(TokenError::server)?,
        None => None,
    };
    user.filter(|u| !u.disabled)
        .ok_or_else(|| TokenError::invalid_grant("the user who granted access is no longer active"))
}
