//! Clients: list, search, create (the secret shown once), read, change, delete, rotate the
//! secret; and the grants a client holds.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::routing::{delete, get, patch, post};
use gatehouse_core::Client;
use gatehouse_storage::GrantFilter;
use schemars::JsonSchema;
use serde::Serialize;

use super::{ApiResult, Count, JsonBody, PAGING, Page, Paging, QueryParams, Route, schema};
use crate::AdminState;
use crate::auth::Admin;
use crate::ops::clients;
pub use crate::ops::clients::{ClientInput, ClientPatch};

/// A registered client as the admin API shows it (never its secret).
#[derive(Debug, Serialize, JsonSchema)]
pub struct ClientView {
    pub client_id: String,
    pub client_name: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub grant_types: Vec<String>,
    /// Scopes beyond the standard OpenID ones that the client may ask for.
    pub scope: String,
    pub token_endpoint_auth_method: String,
    pub application_type: String,
    pub access_token_format: String,
    pub jwks_uri: Option<String>,
    /// Whether public keys are registered inline (`jwks`).
    pub has_jwks: bool,
    pub logo_uri: Option<String>,
    pub policy_uri: Option<String>,
    pub tos_uri: Option<String>,
    /// Origins its pages may call the token side and userinfo from (CORS); empty: the
    /// origins of its redirect URIs.
    pub allowed_origins: Vec<String>,
    pub created_at: i64,
    /// The roles the client holds (shown when one client is read).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
}

impl From<Client> for ClientView {
    fn from(c: Client) -> Self {
        Self {
            client_name: c.name,
            redirect_uris: c.redirect_uris,
            post_logout_redirect_uris: c.post_logout_redirect_uris,
            grant_types: c.grant_types.iter().map(|g| g.to_string()).collect(),
            scope: c.scopes.to_string(),
            token_endpoint_auth_method: c.auth_method.to_string(),
            application_type: c.application_type.to_string(),
            access_token_format: c.access_token_format.to_string(),
            jwks_uri: c.jwks_uri,
            has_jwks: c.jwks.is_some(),
            logo_uri: c.links.logo_uri,
            policy_uri: c.links.policy_uri,
            tos_uri: c.links.tos_uri,
            allowed_origins: c.allowed_origins,
            created_at: c.created_at,
            client_id: c.client_id,
            roles: None,
        }
    }
}

/// A newly created client; `client_secret` is shown this once and stored only hashed.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ClientCreated {
    pub client: ClientView,
    pub client_secret: Option<String>,
}

/// A client's new secret, shown this once; the previous one no longer works.
#[derive(Debug, Serialize, JsonSchema)]
pub struct SecretRotated {
    pub client_id: String,
    pub client_secret: String,
}

/// A live grant: what a user (or nobody, for client credentials) allowed a client.
#[derive(Debug, Serialize, JsonSchema)]
pub struct GrantView {
    pub grant_id: String,
    pub client_id: String,
    pub user_id: Option<String>,
    pub scope: String,
    pub created_at: i64,
    pub auth_time: Option<i64>,
}

impl From<gatehouse_core::Grant> for GrantView {
    fn from(g: gatehouse_core::Grant) -> Self {
        Self {
            grant_id: g.id,
            client_id: g.client_id,
            user_id: g.user_id,
            scope: g.scopes.to_string(),
            created_at: g.created_at,
            auth_time: g.auth_time,
        }
    }
}

pub(super) fn routes() -> Vec<Route> {
    vec![
        Route {
            method: Method::GET,
            path: "/clients",
            operation_id: "listClients",
            summary: "List clients by name, with paging and search (name, client id)",
            tag: "clients",
            query: PAGING,
            request: None,
            status: StatusCode::OK,
            response: Some(schema::<Page<ClientView>>),
            handler: get(list),
        },
        Route {
            method: Method::POST,
            path: "/clients",
            operation_id: "createClient",
            summary: "Register a client; its secret is in the answer, shown this once",
            tag: "clients",
            query: &[],
            request: Some(schema::<ClientInput>),
            status: StatusCode::CREATED,
            response: Some(schema::<ClientCreated>),
            handler: post(create),
        },
        Route {
            method: Method::GET,
            path: "/clients/{client_id}",
            operation_id: "getClient",
            summary: "Read a client and the roles it holds",
            tag: "clients",
            query: &[],
            request: None,
            status: StatusCode::OK,
            response: Some(schema::<ClientView>),
            handler: get(read),
        },
        Route {
            method: Method::PATCH,
            path: "/clients/{client_id}",
            operation_id: "updateClient",
            summary: "Change a client's metadata",
            tag: "clients",
            query: &[],
            request: Some(schema::<ClientPatch>),
            status: StatusCode::OK,
            response: Some(schema::<ClientView>),
            handler: patch(update),
        },
        Route {
            method: Method::DELETE,
            path: "/clients/{client_id}",
            operation_id: "deleteClient",
            summary: "Delete a client; every grant it holds is revoked",
            tag: "clients",
            query: &[],
            request: None,
            status: StatusCode::NO_CONTENT,
            response: None,
            handler: delete(remove),
        },
        Route {
            method: Method::POST,
            path: "/clients/{client_id}/secret",
            operation_id: "rotateClientSecret",
            summary: "Issue a new client secret, shown this once; the old one stops working",
            tag: "clients",
            query: &[],
            request: None,
            status: StatusCode::OK,
            response: Some(schema::<SecretRotated>),
            handler: post(rotate_secret),
        },
        Route {
            method: Method::GET,
            path: "/clients/{client_id}/grants",
            operation_id: "listClientGrants",
            summary: "The live grants a client holds",
            tag: "grants",
            query: &[],
            request: None,
            status: StatusCode::OK,
            response: Some(schema::<Vec<GrantView>>),
            handler: get(list_grants),
        },
        Route {
            method: Method::DELETE,
            path: "/clients/{client_id}/grants",
            operation_id: "revokeClientGrants",
            summary: "Revoke every grant a client holds, and the tokens issued from them",
            tag: "grants",
            query: &[],
            request: None,
            status: StatusCode::OK,
            response: Some(schema::<Count>),
            handler: delete(revoke_grants),
        },
        Route {
            method: Method::DELETE,
            path: "/grants/{grant_id}",
            operation_id: "revokeGrant",
            summary: "Revoke one grant and the tokens issued from it",
            tag: "grants",
            query: &[],
            request: None,
            status: StatusCode::OK,
            response: Some(schema::<Count>),
            handler: delete(revoke_grant),
        },
    ]
}

async fn list(
    State(state): State<AdminState>,
    QueryParams(p): QueryParams<Paging>,
) -> ApiResult<Json<Page<ClientView>>> {
    let q = p.query()?;
    let listing = state.oidc().store.list_clients_page(&q).await?;
    Ok(Json(Page::of(listing, &q, ClientView::from)))
}

impl From<clients::ClientCreated> for ClientCreated {
    fn from(c: clients::ClientCreated) -> Self {
        Self {
            client: c.client.into(),
            client_secret: c.client_secret,
        }
    }
}

async fn create(
    State(state): State<AdminState>,
    admin: Admin,
    JsonBody(input): JsonBody<ClientInput>,
) -> ApiResult<(StatusCode, Json<ClientCreated>)> {
    let created = clients::create(admin.ops(&state), input).await?;
    Ok((StatusCode::CREATED, Json(created.into())))
}

async fn read(
    State(state): State<AdminState>,
    admin: Admin,
    Path(client_id): Path<String>,
) -> ApiResult<Json<ClientView>> {
    let (client, roles) = clients::read(admin.ops(&state), &client_id).await?;
    let mut view = ClientView::from(client);
    view.roles = Some(roles);
    Ok(Json(view))
}

async fn update(
    State(state): State<AdminState>,
    admin: Admin,
    Path(client_id): Path<String>,
    JsonBody(patch): JsonBody<ClientPatch>,
) -> ApiResult<Json<ClientView>> {
    let client = clients::update(admin.ops(&state), &client_id, patch).await?;
    Ok(Json(client.into()))
}

async fn remove(
    State(state): State<AdminState>,
    admin: Admin,
    Path(client_id): Path<String>,
) -> ApiResult<StatusCode> {
    clients::delete(admin.ops(&state), &client_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn rotate_secret(
    State(state): State<AdminState>,
    admin: Admin,
    Path(client_id): Path<String>,
) -> ApiResult<Json<SecretRotated>> {
    let client_secret = clients::rotate_secret(admin.ops(&state), &client_id).await?;
    Ok(Json(SecretRotated {
        client_id,
        client_secret,
    }))
}

async fn list_grants(
    State(state): State<AdminState>,
    admin: Admin,
    Path(client_id): Path<String>,
) -> ApiResult<Json<Vec<GrantView>>> {
    let grants = clients::grants(admin.ops(&state), clients::of_client(&client_id)).await?;
    Ok(Json(grants.into_iter().map(GrantView::from).collect()))
}

async fn revoke_grants(
    State(state): State<AdminState>,
    admin: Admin,
    Path(client_id): Path<String>,
) -> ApiResult<Json<Count>> {
    let filter = clients::of_client(&client_id);
    let count = clients::revoke_grants(admin.ops(&state), filter, &client_id).await?;
    Ok(Json(Count { count }))
}

async fn revoke_grant(
    State(state): State<AdminState>,
    admin: Admin,
    Path(grant_id): Path<String>,
) -> ApiResult<Json<Count>> {
    let filter = GrantFilter {
        grant_id: Some(&grant_id),
        ..GrantFilter::default()
    };
    let count = clients::revoke_grants(admin.ops(&state), filter, &grant_id).await?;
    Ok(Json(Count { count }))
}
