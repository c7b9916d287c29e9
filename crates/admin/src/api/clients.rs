//! Clients: list, search, create (the secret shown once), read, change, delete, rotate the
//! secret; and the grants a client holds.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::routing::{delete, get, patch, post};
use gatehouse_core::client::ClientMetadataError;
use gatehouse_core::{
    AccessTokenFormat, ApplicationType, Client, ClientAuthMethod, ClientLinks, GrantType,
    NewClient, Scopes, SubjectKind, secret,
};
use gatehouse_storage::GrantFilter;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{
    ApiError, ApiResult, Count, JsonBody, PAGING, Page, Paging, QueryParams, Route, schema,
};
use crate::AdminState;
use crate::auth::Admin;

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
            created_at: c.created_at,
            client_id: c.client_id,
            roles: None,
        }
    }
}

/// A client to register. Defaults: grant `authorization_code`, `client_secret_basic`,
/// application type `web`, JWT access tokens.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientInput {
    pub client_name: String,
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    pub grant_types: Option<Vec<String>>,
    /// Space-separated scopes beyond the standard OpenID ones.
    pub scope: Option<String>,
    pub token_endpoint_auth_method: Option<String>,
    pub application_type: Option<String>,
    /// `jwt` (RFC 9068) or `opaque`.
    pub access_token_format: Option<String>,
    /// A JWK Set of public keys, for `private_key_jwt`.
    pub jwks: Option<Value>,
    pub jwks_uri: Option<String>,
    pub logo_uri: Option<String>,
    pub policy_uri: Option<String>,
    pub tos_uri: Option<String>,
}

/// Changes to a client: each member given replaces that field (an empty string clears an
/// optional link). How the client authenticates does not change this way.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientPatch {
    pub client_name: Option<String>,
    pub redirect_uris: Option<Vec<String>>,
    pub post_logout_redirect_uris: Option<Vec<String>>,
    pub grant_types: Option<Vec<String>>,
    pub scope: Option<String>,
    pub logo_uri: Option<String>,
    pub policy_uri: Option<String>,
    pub tos_uri: Option<String>,
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

fn metadata_error(e: ClientMetadataError) -> ApiError {
    ApiError::invalid(&e.to_string())
}

fn parse<T: std::str::FromStr<Err = String>>(field: &str, value: &str) -> ApiResult<T> {
    value
        .parse()
        .map_err(|e: String| ApiError::invalid(&format!("{field}: {e}")))
}

fn grant_types(values: &[String]) -> ApiResult<Vec<GrantType>> {
    let mut out = Vec::new();
    for v in values {
        let g: GrantType = parse("grant_types", v)?;
        if !out.contains(&g) {
            out.push(g);
        }
    }
    Ok(out)
}

fn scopes(value: &str) -> ApiResult<Scopes> {
    if value.len() > 2048 {
        return Err(ApiError::invalid("scope is longer than 2048 bytes"));
    }
    Scopes::parse(value).map_err(|e| ApiError::invalid(&format!("scope: {e}")))
}

fn link(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.is_empty())
}

/// The metadata of a new client, validated as registration validates it.
pub(crate) fn new_client(input: ClientInput) -> ApiResult<NewClient> {
    let new = NewClient {
        name: input.client_name.trim().to_owned(),
        redirect_uris: input.redirect_uris,
        post_logout_redirect_uris: input.post_logout_redirect_uris,
        grant_types: match &input.grant_types {
            Some(g) => grant_types(g)?,
            None => vec![GrantType::AuthorizationCode],
        },
        scopes: scopes(input.scope.as_deref().unwrap_or(""))?,
        auth_method: parse(
            "token_endpoint_auth_method",
            input
                .token_endpoint_auth_method
                .as_deref()
                .unwrap_or("client_secret_basic"),
        )?,
        application_type: parse::<ApplicationType>(
            "application_type",
            input.application_type.as_deref().unwrap_or("web"),
        )?,
        jwks: input.jwks.as_ref().map(Value::to_string),
        jwks_uri: input.jwks_uri,
        access_token_format: parse::<AccessTokenFormat>(
            "access_token_format",
            input.access_token_format.as_deref().unwrap_or("jwt"),
        )?,
        links: ClientLinks {
            logo_uri: link(input.logo_uri),
            policy_uri: link(input.policy_uri),
            tos_uri: link(input.tos_uri),
        },
    };
    new.validate().map_err(metadata_error)?;
    Ok(new)
}

/// Creates a client for an admin; shared by the API and the console.
pub(crate) async fn create_client(
    state: &AdminState,
    admin: &Admin,
    new: NewClient,
) -> ApiResult<ClientCreated> {
    let client_id = secret::new_client_id();
    let client_secret = matches!(
        new.auth_method,
        ClientAuthMethod::ClientSecretBasic | ClientAuthMethod::ClientSecretPost
    )
    .then(secret::new_secret);
    let client = state
        .oidc()
        .store
        .create_client(
            &client_id,
            client_secret.as_deref().map(secret::hash_secret),
            None,
            &new,
            state.oidc().now(),
            &admin
                .audit("client.create", &client_id)
                .detail(json!({"client_name": new.name})),
        )
        .await?;
    Ok(ClientCreated {
        client: client.into(),
        client_secret,
    })
}

/// Applies `patch` to a client; shared by the API and the console.
pub(crate) async fn update_client(
    state: &AdminState,
    admin: &Admin,
    client_id: &str,
    patch: ClientPatch,
) -> ApiResult<Client> {
    let store = &state.oidc().store;
    let c = store
        .find_client(client_id)
        .await?
        .ok_or_else(|| ApiError::not_found("client"))?;
    let mut new = NewClient {
        name: c.name.clone(),
        redirect_uris: c.redirect_uris.clone(),
        post_logout_redirect_uris: c.post_logout_redirect_uris.clone(),
        grant_types: c.grant_types.clone(),
        scopes: c.scopes.clone(),
        auth_method: c.auth_method,
        application_type: c.application_type,
        jwks: c.jwks.clone(),
        jwks_uri: c.jwks_uri.clone(),
        access_token_format: c.access_token_format,
        links: c.links.clone(),
    };
    if let Some(name) = patch.client_name {
        new.name = name.trim().to_owned();
    }
    if let Some(v) = patch.redirect_uris {
        new.redirect_uris = v;
    }
    if let Some(v) = patch.post_logout_redirect_uris {
        new.post_logout_redirect_uris = v;
    }
    if let Some(v) = patch.grant_types {
        new.grant_types = grant_types(&v)?;
    }
    if let Some(v) = patch.scope {
        new.scopes = scopes(&v)?;
    }
    for (value, slot) in [
        (patch.logo_uri, &mut new.links.logo_uri),
        (patch.policy_uri, &mut new.links.policy_uri),
        (patch.tos_uri, &mut new.links.tos_uri),
    ] {
        if let Some(v) = value {
            *slot = link(Some(v));
        }
    }
    new.validate().map_err(metadata_error)?;
    // The audit names the fields whose value really changed.
    let changed: Vec<&str> = [
        ("client_name", new.name != c.name),
        ("redirect_uris", new.redirect_uris != c.redirect_uris),
        (
            "post_logout_redirect_uris",
            new.post_logout_redirect_uris != c.post_logout_redirect_uris,
        ),
        ("grant_types", new.grant_types != c.grant_types),
        ("scope", new.scopes != c.scopes),
        ("logo_uri", new.links.logo_uri != c.links.logo_uri),
        ("policy_uri", new.links.policy_uri != c.links.policy_uri),
        ("tos_uri", new.links.tos_uri != c.links.tos_uri),
    ]
    .into_iter()
    .filter_map(|(field, differs)| differs.then_some(field))
    .collect();
    store
        .update_client(
            client_id,
            &new,
            state.oidc().now(),
            &admin
                .audit("client.update", client_id)
                .detail(json!({"changed": changed})),
        )
        .await?
        .ok_or_else(|| ApiError::not_found("client"))
}

pub(crate) async fn rotate_client_secret(
    state: &AdminState,
    admin: &Admin,
    client_id: &str,
) -> ApiResult<SecretRotated> {
    let store = &state.oidc().store;
    let c = store
        .find_client(client_id)
        .await?
        .ok_or_else(|| ApiError::not_found("client"))?;
    if c.secret_hash.is_none() {
        return Err(ApiError::invalid(&format!(
            "this client authenticates with {}, not a secret",
            c.auth_method
        )));
    }
    let client_secret = secret::new_secret();
    if !store
        .set_client_secret(
            client_id,
            &secret::hash_secret(&client_secret),
            state.oidc().now(),
            &admin.audit("client.rotate_secret", client_id),
        )
        .await?
    {
        return Err(ApiError::not_found("client"));
    }
    Ok(SecretRotated {
        client_id: client_id.to_owned(),
        client_secret,
    })
}

pub(crate) async fn delete_client(
    state: &AdminState,
    admin: &Admin,
    client_id: &str,
) -> ApiResult<()> {
    if state
        .oidc()
        .store
        .delete_client(
            client_id,
            state.oidc().now(),
            &admin.audit("client.delete", client_id),
        )
        .await?
    {
        Ok(())
    } else {
        Err(ApiError::not_found("client"))
    }
}

async fn list(
    State(state): State<AdminState>,
    QueryParams(p): QueryParams<Paging>,
) -> ApiResult<Json<Page<ClientView>>> {
    let q = p.query()?;
    let listing = state.oidc().store.list_clients_page(&q).await?;
    Ok(Json(Page::of(listing, &q, ClientView::from)))
}

async fn create(
    State(state): State<AdminState>,
    admin: Admin,
    JsonBody(input): JsonBody<ClientInput>,
) -> ApiResult<(StatusCode, Json<ClientCreated>)> {
    let new = new_client(input)?;
    Ok((
        StatusCode::CREATED,
        Json(create_client(&state, &admin, new).await?),
    ))
}

async fn read(
    State(state): State<AdminState>,
    Path(client_id): Path<String>,
) -> ApiResult<Json<ClientView>> {
    let store = &state.oidc().store;
    let c = store
        .find_client(&client_id)
        .await?
        .ok_or_else(|| ApiError::not_found("client"))?;
    let mut view = ClientView::from(c);
    view.roles = Some(store.roles_of(SubjectKind::Client, &client_id).await?);
    Ok(Json(view))
}

async fn update(
    State(state): State<AdminState>,
    admin: Admin,
    Path(client_id): Path<String>,
    JsonBody(patch): JsonBody<ClientPatch>,
) -> ApiResult<Json<ClientView>> {
    Ok(Json(
        update_client(&state, &admin, &client_id, patch)
            .await?
            .into(),
    ))
}

async fn remove(
    State(state): State<AdminState>,
    admin: Admin,
    Path(client_id): Path<String>,
) -> ApiResult<StatusCode> {
    delete_client(&state, &admin, &client_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn rotate_secret(
    State(state): State<AdminState>,
    admin: Admin,
    Path(client_id): Path<String>,
) -> ApiResult<Json<SecretRotated>> {
    Ok(Json(
        rotate_client_secret(&state, &admin, &client_id).await?,
    ))
}

/// The live grants `filter` names; shared by the API and the console.
pub(crate) async fn grants(
    state: &AdminState,
    filter: GrantFilter<'_>,
) -> ApiResult<Vec<GrantView>> {
    let grants = state.oidc().store.list_grants(filter).await?;
    Ok(grants.into_iter().map(GrantView::from).collect())
}

/// Revokes the live grants `filter` names, audited against `target`; how many.
pub(crate) async fn revoke(
    state: &AdminState,
    admin: &Admin,
    filter: GrantFilter<'_>,
    target: &str,
) -> ApiResult<u64> {
    Ok(state
        .oidc()
        .store
        .revoke_grants(
            filter,
            state.oidc().now(),
            &admin.audit("grant.revoke", target),
        )
        .await?)
}

fn of_client(client_id: &str) -> GrantFilter<'_> {
    GrantFilter {
        client_id: Some(client_id),
        ..GrantFilter::default()
    }
}

async fn list_grants(
    State(state): State<AdminState>,
    Path(client_id): Path<String>,
) -> ApiResult<Json<Vec<GrantView>>> {
    Ok(Json(grants(&state, of_client(&client_id)).await?))
}

async fn revoke_grants(
    State(state): State<AdminState>,
    admin: Admin,
    Path(client_id): Path<String>,
) -> ApiResult<Json<Count>> {
    let count = revoke(&state, &admin, of_client(&client_id), &client_id).await?;
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
    let count = revoke(&state, &admin, filter, &grant_id).await?;
    if count == 0 {
        return Err(ApiError::not_found("live grant"));
    }
    Ok(Json(Count { count }))
}
