//! Token introspection (RFC 7662), for resource servers that check tokens.
//!
//! Only authenticated confidential clients may ask (§2.1: the endpoint must be protected;
//! a public client has no credentials worth the name). Access tokens are reported to any
//! such client, since resource servers are clients, but the user's login name only to the
//! client the user authorized; refresh tokens only to the client they were issued to. Everything that is not a live token is `{"active": false}`, with
//! no hint why (§2.2).

use axum::extract::State;
use axum::response::Response;
use gatehouse_core::{Client, secret};
use serde_json::{Map, Value, json};

use crate::client_auth::{ClientEndpoint, ClientRequest};
use crate::error::TokenError;
use crate::{TokenState, json_no_store};

/// `/introspect`. Whatever fails on our side, nobody can tell whether the token is live:
/// 503, never an "inactive" that a resource server would act on.
pub struct Introspection;

impl ClientEndpoint for Introspection {
    const PATH: &'static str = "/introspect";
    const OUTAGE_IS_UNAVAILABLE: bool = true;
}

pub async fn introspect(
    State(state): State<TokenState>,
    ClientRequest { client, form, .. }: ClientRequest<Introspection>,
) -> Result<Response, TokenError> {
    if client.is_public() {
        return Err(TokenError::InvalidClient {
            description: "introspection needs a confidential client".into(),
            basic: false,
        });
    }
    let token = form
        .get("token")
        .ok_or_else(|| TokenError::invalid_request("token is required"))?;
    let answer = describe(&state, &client, token)
        .await
        .map_err(Introspection::refuse)?;
    Ok(json_no_store(answer))
}

fn inactive() -> Value {
    json!({ "active": false })
}

async fn describe(state: &TokenState, client: &Client, token: &str) -> Result<Value, TokenError> {
    let oidc = &state.oidc;
    let store = &oidc.store;
    let now = oidc.now();
    if token.len() > 4096 || !secret::is_vschar(token) {
        return Ok(inactive());
    }
    if let Some(row) = store
        .find_refresh_token(&secret::hash_secret(token))
        .await
        .map_err(TokenError::server)?
    {
        let grant = store
            .find_grant(&row.grant_id)
            .await
            .map_err(TokenError::server)?;
        let active = row.client_id == client.client_id
            && row.consumed_at.is_none()
            && row.expires_at > now
            && row.absolute_expires_at > now;
        return Ok(match grant.filter(|g| active && g.revoked_at.is_none()) {
            None => inactive(),
            Some(g) => {
                let mut out = Map::new();
                out.insert("active".into(), json!(true));
                out.insert("token_type".into(), json!("refresh_token"));
                out.insert("scope".into(), json!(g.scopes.to_string()));
                out.insert("client_id".into(), json!(row.client_id));
                out.insert("iat".into(), json!(row.created_at));
                out.insert("exp".into(), json!(row.expires_at));
                out.insert("iss".into(), json!(oidc.issuer.as_str()));
                if let Some(user_id) = &g.user_id {
                    out.insert("sub".into(), json!(user_id));
                    add_username(state, &mut out, user_id).await?;
                }
                Value::Object(out)
            }
        });
    }
    let Some(claims) = oidc
        .active_access_token(token)
        .await
        .map_err(TokenError::server)?
    else {
        return Ok(inactive());
    };
    let mut out = Map::new();
    out.insert("active".into(), json!(true));
    out.insert("token_type".into(), json!("Bearer"));
    out.insert("scope".into(), json!(claims.scopes.to_string()));
    out.insert("client_id".into(), json!(claims.client_id));
    out.insert("sub".into(), json!(claims.sub));
    out.insert("exp".into(), json!(claims.exp));
    out.insert("iat".into(), json!(claims.iat));
    out.insert("nbf".into(), json!(claims.iat));
    out.insert("aud".into(), json!(claims.audience));
    out.insert("iss".into(), json!(oidc.issuer.as_str()));
    out.insert("jti".into(), json!(claims.jti));
    // The roles and groups the token's scopes release, as they stand now (the same claims
    // a JWT access token carries; RFC 9068 §7.2.1.1).
    let kind = if claims.grant_id.is_some() {
        gatehouse_core::SubjectKind::User
    } else {
        gatehouse_core::SubjectKind::Client
    };
    out.extend(
        gatehouse_oidc::claims::authorization_claims(
            &oidc.store,
            kind,
            &claims.sub,
            &claims.scopes,
        )
        .await
        .map_err(TokenError::server)?,
    );
    // The login name is personal data: only the client the user authorized sees it; a
    // resource server gets the pairwise-stable `sub` and the scopes it needs (RFC 7662 §4).
    if claims.grant_id.is_some() && claims.client_id == client.client_id {
        add_username(state, &mut out, &claims.sub).await?;
    }
    Ok(Value::Object(out))
}

async fn add_username(
    state: &TokenState,
    out: &mut Map<String, Value>,
    user_id: &str,
) -> Result<(), TokenError> {
    if let Some(user) = state
        .oidc
        .store
        .find_user(user_id)
        .await
        .map_err(TokenError::server)?
    {
        out.insert("username".into(), json!(user.username));
    }
    Ok(())
}
