//! Signing keys (list, rotate), initial access tokens for registration (create, list,
//! delete), and the audit log.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::routing::{delete, get, post};
use gatehouse_core::secret;
use gatehouse_oidc::Alg;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{ApiError, ApiResult, JsonBody, PAGING, Page, Paging, QueryParams, Route, schema};
use crate::AdminState;
use crate::auth::Admin;

/// A signing key (its public half is in the JWKS).
#[derive(Debug, Serialize, JsonSchema)]
pub struct KeyView {
    pub kid: String,
    /// `RS256` or `ES256`.
    pub alg: String,
    pub created_at: i64,
    /// Whether it signs new tokens (one key per algorithm does).
    pub active: bool,
    /// `next` (published, not yet signing), `active` or `retired` (published until what it
    /// signed has expired).
    pub state: String,
    /// When it signs (or signed) from.
    pub activates_at: i64,
    /// For a retired key, when it leaves the JWKS.
    pub remove_at: Option<i64>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateInput {
    /// `RS256` or `ES256`.
    pub alg: String,
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

/// A new initial access token, shown this once.
#[derive(Debug, Serialize, JsonSchema)]
pub struct RegistrationTokenCreated {
    pub registration_token: String,
    /// The token's id in listings (the SHA-256 of the token, never the token).
    pub id: String,
    pub expires_at: i64,
    pub uses: Option<i64>,
    pub allow_scopes: Vec<String>,
    pub allow_grant_types: Vec<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct RegistrationTokenView {
    pub id: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub uses_left: Option<i64>,
    /// What a client registered with it may ask for beyond the configured policy.
    pub allow_scopes: Vec<String>,
    pub allow_grant_types: Vec<String>,
}

/// The lists of a registration allowance, for views.
fn allowance_lists(
    allows: Option<&gatehouse_core::client::RegistrationPolicy>,
) -> (Vec<String>, Vec<String>) {
    allows.map_or_else(Default::default, |p| {
        (
            p.scopes.iter().map(str::to_owned).collect(),
            p.grant_types.iter().map(|g| g.to_string()).collect(),
        )
    })
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct AuditView {
    pub id: i64,
    /// Unix seconds.
    pub at: i64,
    /// Who: `user:<id>`, `client:<client_id>`, `cli:<os user>`, `registration:<client_id>`.
    pub actor: String,
    /// What: `client.create`, `user.disable`, `role.assign`, ...
    pub action: String,
    pub target: String,
    pub detail: Value,
    /// From where: the client address.
    pub address: Option<String>,
}

pub(super) fn routes() -> Vec<Route> {
    vec![
        Route {
            method: Method::GET,
            path: "/keys",
            operation_id: "listKeys",
            summary: "List signing keys",
            tag: "keys",
            query: &[],
            request: None,
            status: StatusCode::OK,
            response: Some(schema::<Vec<KeyView>>),
            handler: get(list_keys),
        },
        Route {
            method: Method::POST,
            path: "/keys/rotate",
            operation_id: "rotateKey",
            summary: "Generate a new key for an algorithm; it signs from now on and older keys stay published",
            tag: "keys",
            query: &[],
            request: Some(schema::<RotateInput>),
            status: StatusCode::CREATED,
            response: Some(schema::<KeyView>),
            handler: post(rotate_key),
        },
        Route {
            method: Method::GET,
            path: "/registration-tokens",
            operation_id: "listRegistrationTokens",
            summary: "List live initial access tokens (by id; the tokens are stored only hashed)",
            tag: "registration",
            query: &[],
            request: None,
            status: StatusCode::OK,
            response: Some(schema::<Vec<RegistrationTokenView>>),
            handler: get(list_tokens),
        },
        Route {
            method: Method::POST,
            path: "/registration-tokens",
            operation_id: "createRegistrationToken",
            summary: "Create an initial access token for POST /register, shown this once",
            tag: "registration",
            query: &[],
            request: Some(schema::<RegistrationTokenInput>),
            status: StatusCode::CREATED,
            response: Some(schema::<RegistrationTokenCreated>),
            handler: post(create_token),
        },
        Route {
            method: Method::DELETE,
            path: "/registration-tokens/{id}",
            operation_id: "deleteRegistrationToken",
            summary: "Withdraw an initial access token",
            tag: "registration",
            query: &[],
            request: None,
            status: StatusCode::NO_CONTENT,
            response: None,
            handler: delete(delete_token),
        },
        Route {
            method: Method::GET,
            path: "/audit",
            operation_id: "listAudit",
            summary: "The audit log, newest first, with paging and search (actor, action, target)",
            tag: "audit",
            query: PAGING,
            request: None,
            status: StatusCode::OK,
            response: Some(schema::<Page<AuditView>>),
            handler: get(list_audit),
        },
    ]
}

pub(crate) async fn key_views(state: &AdminState) -> Vec<KeyView> {
    let keys = state.oidc().signing_keys().await;
    let mut views: Vec<KeyView> = keys
        .ring()
        .iter()
        .map(|k| KeyView {
            kid: k.key.kid.clone(),
            alg: k.key.alg.as_str().to_owned(),
            created_at: k.key.created_at,
            active: k.state == gatehouse_storage::KeyState::Active,
            state: k.state.as_str().to_owned(),
            activates_at: k.activates_at,
            remove_at: k.remove_at,
        })
        .collect();
    views.sort_by(|a, b| (&a.alg, -a.created_at).cmp(&(&b.alg, -b.created_at)));
    views
}

/// Generates a new signing key in the shared ring: published at once, signing on every
/// node after the lead time. The key and its audit row are written in one transaction.
pub(crate) async fn rotate(state: &AdminState, admin: &Admin, alg: &str) -> ApiResult<KeyView> {
    let alg = Alg::parse(alg).ok_or_else(|| ApiError::invalid("alg must be RS256 or ES256"))?;
    let kid = state
        .oidc()
        .keys
        .rotate(alg, &admin.audit("key.rotate", alg.as_str()))
        .await
        .map_err(ApiError::unavailable)?;
    key_views(state)
        .await
        .into_iter()
        .find(|k| k.kid == kid)
        .ok_or_else(|| ApiError::unavailable("the new key did not load"))
}

pub(crate) async fn create_registration_token(
    state: &AdminState,
    admin: &Admin,
    input: RegistrationTokenInput,
) -> ApiResult<RegistrationTokenCreated> {
    let ttl = input.ttl.unwrap_or(86_400);
    if !(1..=31_536_000).contains(&ttl) || input.uses.is_some_and(|u| u < 1) {
        return Err(ApiError::invalid(
            "ttl must be 1 to 31536000 seconds and uses at least 1",
        ));
    }
    let allows = gatehouse_core::client::RegistrationPolicy::allowance(
        &input.allow_scopes,
        &input.allow_grant_types,
    )
    .map_err(|e| ApiError::invalid(&e))?;
    let (allow_scopes, allow_grant_types) = allowance_lists(allows.as_ref());
    let now = state.oidc().now();
    let token = secret::new_secret();
    let id = secret::hash_secret(&token);
    state
        .oidc()
        .store
        .create_registration_token(
            &id,
            input.uses,
            allows.as_ref(),
            now,
            now + ttl,
            &admin.audit("registration_token.create", &id).detail(json!({
                "expires_at": now + ttl,
                "uses": input.uses,
                "allow_scopes": allow_scopes,
                "allow_grant_types": allow_grant_types,
            })),
        )
        .await?;
    Ok(RegistrationTokenCreated {
        registration_token: token,
        id,
        expires_at: now + ttl,
        uses: input.uses,
        allow_scopes,
        allow_grant_types,
    })
}

async fn list_keys(State(state): State<AdminState>) -> Json<Vec<KeyView>> {
    Json(key_views(&state).await)
}

async fn rotate_key(
    State(state): State<AdminState>,
    admin: Admin,
    JsonBody(input): JsonBody<RotateInput>,
) -> ApiResult<(StatusCode, Json<KeyView>)> {
    Ok((
        StatusCode::CREATED,
        Json(rotate(&state, &admin, &input.alg).await?),
    ))
}

pub(crate) async fn registration_tokens(
    state: &AdminState,
) -> ApiResult<Vec<RegistrationTokenView>> {
    Ok(state
        .oidc()
        .store
        .list_registration_tokens(state.oidc().now())
        .await?
        .into_iter()
        .map(|t| {
            let (allow_scopes, allow_grant_types) = allowance_lists(t.allows.as_ref());
            RegistrationTokenView {
                id: t.token_hash,
                created_at: t.created_at,
                expires_at: t.expires_at,
                uses_left: t.uses_left,
                allow_scopes,
                allow_grant_types,
            }
        })
        .collect())
}

async fn list_tokens(
    State(state): State<AdminState>,
) -> ApiResult<Json<Vec<RegistrationTokenView>>> {
    Ok(Json(registration_tokens(&state).await?))
}

async fn create_token(
    State(state): State<AdminState>,
    admin: Admin,
    JsonBody(input): JsonBody<RegistrationTokenInput>,
) -> ApiResult<(StatusCode, Json<RegistrationTokenCreated>)> {
    Ok((
        StatusCode::CREATED,
        Json(create_registration_token(&state, &admin, input).await?),
    ))
}

pub(crate) async fn delete_registration_token(
    state: &AdminState,
    admin: &Admin,
    id: &str,
) -> ApiResult<()> {
    if !state
        .oidc()
        .store
        .delete_registration_token(
            id,
            &admin.audit("registration_token.delete", id),
            state.oidc().now(),
        )
        .await?
    {
        return Err(ApiError::not_found("registration token"));
    }
    Ok(())
}

async fn delete_token(
    State(state): State<AdminState>,
    admin: Admin,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    delete_registration_token(&state, &admin, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn audit_page(
    state: &AdminState,
    q: &gatehouse_core::Query,
) -> ApiResult<Page<AuditView>> {
    let listing = state.oidc().store.list_audit(q).await?;
    Ok(Page::of(listing, q, |e| AuditView {
        id: e.id,
        at: e.at,
        actor: e.actor,
        action: e.action,
        target: e.target,
        detail: e.detail,
        address: e.address,
    }))
}

async fn list_audit(
    State(state): State<AdminState>,
    QueryParams(p): QueryParams<Paging>,
) -> ApiResult<Json<Page<AuditView>>> {
    let q = p.query()?;
    Ok(Json(audit_page(&state, &q).await?))
}
