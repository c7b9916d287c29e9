//! Signing keys (list, rotate), initial access tokens for registration (create, list,
//! delete), and the audit log.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::routing::{delete, get, post};
use gatehouse_core::AuditEntry;
use gatehouse_storage::{KeyState, RegistrationTokenRow, StoredKey};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{ApiError, ApiResult, JsonBody, PAGING, Page, Paging, QueryParams, Route, schema};
use crate::AdminState;
use crate::auth::Admin;
use crate::ops::system;
pub use crate::ops::system::RegistrationTokenInput;

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

impl From<StoredKey> for KeyView {
    fn from(k: StoredKey) -> Self {
        Self {
            active: k.state == KeyState::Active,
            state: k.state.as_str().to_owned(),
            kid: k.kid,
            alg: k.alg,
            created_at: k.created_at,
            activates_at: k.activates_at,
            remove_at: k.remove_at,
        }
    }
}

async fn list_keys(State(state): State<AdminState>, admin: Admin) -> ApiResult<Json<Vec<KeyView>>> {
    let keys = system::keys(admin.ops(&state)).await?;
    Ok(Json(keys.into_iter().map(KeyView::from).collect()))
}

async fn rotate_key(
    State(state): State<AdminState>,
    admin: Admin,
    JsonBody(input): JsonBody<RotateInput>,
) -> ApiResult<(StatusCode, Json<KeyView>)> {
    let ops = admin.ops(&state);
    let kid = system::rotate_key(ops, &state.oidc().keys, &input.alg).await?;
    let key = system::keys(ops)
        .await?
        .into_iter()
        .find(|k| k.kid == kid)
        .ok_or_else(|| ApiError::unavailable("the new key did not load"))?;
    Ok((StatusCode::CREATED, Json(key.into())))
}

impl From<system::RegistrationTokenCreated> for RegistrationTokenCreated {
    fn from(t: system::RegistrationTokenCreated) -> Self {
        let (allow_scopes, allow_grant_types) = system::allowance_lists(t.allows.as_ref());
        Self {
            registration_token: t.token,
            id: t.id,
            expires_at: t.expires_at,
            uses: t.uses,
            allow_scopes,
            allow_grant_types,
        }
    }
}

impl From<RegistrationTokenRow> for RegistrationTokenView {
    fn from(t: RegistrationTokenRow) -> Self {
        let (allow_scopes, allow_grant_types) = system::allowance_lists(t.allows.as_ref());
        Self {
            id: t.token_hash,
            created_at: t.created_at,
            expires_at: t.expires_at,
            uses_left: t.uses_left,
            allow_scopes,
            allow_grant_types,
        }
    }
}

async fn list_tokens(
    State(state): State<AdminState>,
    admin: Admin,
) -> ApiResult<Json<Vec<RegistrationTokenView>>> {
    let tokens = system::registration_tokens(admin.ops(&state)).await?;
    Ok(Json(
        tokens
            .into_iter()
            .map(RegistrationTokenView::from)
            .collect(),
    ))
}

async fn create_token(
    State(state): State<AdminState>,
    admin: Admin,
    JsonBody(input): JsonBody<RegistrationTokenInput>,
) -> ApiResult<(StatusCode, Json<RegistrationTokenCreated>)> {
    let created = system::create_registration_token(admin.ops(&state), input).await?;
    Ok((StatusCode::CREATED, Json(created.into())))
}

async fn delete_token(
    State(state): State<AdminState>,
    admin: Admin,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    system::delete_registration_token(admin.ops(&state), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

impl From<AuditEntry> for AuditView {
    fn from(e: AuditEntry) -> Self {
        Self {
            id: e.id,
            at: e.at,
            actor: e.actor,
            action: e.action,
            target: e.target,
            detail: e.detail,
            address: e.address,
        }
    }
}

async fn list_audit(
    State(state): State<AdminState>,
    admin: Admin,
    QueryParams(p): QueryParams<Paging>,
) -> ApiResult<Json<Page<AuditView>>> {
    let q = p.query()?;
    let listing = system::audit_log(admin.ops(&state), &q).await?;
    Ok(Json(Page::of(listing, &q, AuditView::from)))
}
