//! Registered APIs (RFC 8707 resource indicators): the audiences access tokens are issued
//! for, and the scopes each accepts.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::routing::{get, put};
use gatehouse_core::resource::ResourceProblem;
use gatehouse_core::{Resource, Scopes};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{ApiError, ApiResult, JsonBody, Route, schema};
use crate::AdminState;
use crate::auth::Admin;

#[derive(Debug, Serialize, JsonSchema)]
pub struct ResourceView {
    /// The audience (`aud`) of its access tokens, and the `resource` clients send.
    pub identifier: String,
    pub name: String,
    pub scopes: Vec<String>,
    /// Lifetime of its access tokens when shorter than the server's default.
    pub access_token_ttl: Option<i64>,
    /// Built in (the admin API): cannot be changed here.
    pub built_in: bool,
    pub created_at: i64,
}

impl ResourceView {
    fn new(r: Resource, built_in: bool) -> Self {
        Self {
            scopes: r.scopes.iter().map(str::to_owned).collect(),
            identifier: r.identifier,
            name: r.name,
            access_token_ttl: r.access_token_ttl,
            built_in,
            created_at: r.created_at,
        }
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourceInput {
    /// An absolute https URI (http on loopback) without query or fragment.
    pub identifier: String,
    pub name: String,
    /// The scopes this API accepts (1 to 100); a scope belongs to one API only.
    pub scopes: Vec<String>,
    pub access_token_ttl: Option<i64>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourceUpdate {
    pub name: Option<String>,
    pub scopes: Option<Vec<String>>,
    /// `null` keeps the current value; 0 removes the lifetime override.
    pub access_token_ttl: Option<i64>,
}

pub(super) fn routes() -> Vec<Route> {
    vec![
        Route {
            response: Some(schema::<Vec<ResourceView>>),
            ..Route::op(
                Method::GET,
                "/resources",
                "listResources",
                "List the APIs tokens may be issued for (RFC 8707)",
                "resources",
                get(list),
            )
        },
        Route {
            request: Some(schema::<ResourceInput>),
            status: StatusCode::CREATED,
            response: Some(schema::<ResourceView>),
            ..Route::op(
                Method::POST,
                "/resources",
                "createResource",
                "Register an API and the scopes it accepts",
                "resources",
                axum::routing::post(create),
            )
        },
        Route {
            request: Some(schema::<ResourceUpdate>),
            response: Some(schema::<ResourceView>),
            ..Route::op(
                Method::PUT,
                "/resources/{identifier}",
                "updateResource",
                "Change an API's name, scopes or token lifetime (identifier percent-encoded)",
                "resources",
                put(update),
            )
        },
        Route {
            status: StatusCode::NO_CONTENT,
            ..Route::op(
                Method::DELETE,
                "/resources/{identifier}",
                "deleteResource",
                "Remove an API (identifier percent-encoded)",
                "resources",
                axum::routing::delete(remove),
            )
        },
    ]
}

/// Parses the scopes as typed (a syntax error is the caller's 400).
fn parse_scopes(scopes: &[String]) -> ApiResult<Scopes> {
    Scopes::parse(&scopes.join(" ")).map_err(|e| ApiError::invalid(&e.to_string()))
}

fn parse_ttl(ttl: Option<i64>) -> Option<i64> {
    ttl.filter(|t| *t != 0)
}

/// Checks `r` against every other API ([`Resource::check`]) and maps the verdict.
async fn check(state: &AdminState, r: &Resource) -> ApiResult<()> {
    let oidc = state.oidc();
    let others = oidc.resources().await?;
    r.check(oidc.issuer.as_str(), &others).map_err(|p| match p {
        ResourceProblem::Invalid(m) => ApiError::invalid(&m),
        ResourceProblem::Taken(m) => ApiError::conflict(&m),
    })
}

pub(crate) async fn create_resource(
    state: &AdminState,
    admin: &Admin,
    input: ResourceInput,
) -> ApiResult<Resource> {
    let oidc = state.oidc();
    let now = oidc.now();
    let resource = Resource {
        identifier: input.identifier,
        name: input.name,
        scopes: parse_scopes(&input.scopes)?,
        access_token_ttl: parse_ttl(input.access_token_ttl),
        created_at: now,
        updated_at: now,
    };
    if resource.identifier == oidc.admin_resource().identifier {
        return Err(ApiError::invalid("the admin API is built in"));
    }
    check(state, &resource).await?;
    Ok(oidc
        .store
        .create_resource(
            &resource,
            &admin
                .audit("resource.create", &resource.identifier)
                .detail(json!({"scopes": resource.scopes.to_string()})),
        )
        .await?)
}

pub(crate) async fn update_resource(
    state: &AdminState,
    admin: &Admin,
    identifier: &str,
    input: ResourceUpdate,
) -> ApiResult<Resource> {
    let oidc = state.oidc();
    let mut r = oidc
        .store
        .find_resource(identifier)
        .await?
        .ok_or_else(|| ApiError::not_found("resource"))?;
    if let Some(name) = input.name {
        r.name = name;
    }
    if let Some(scopes) = input.scopes {
        r.scopes = parse_scopes(&scopes)?;
    }
    if input.access_token_ttl.is_some() {
        r.access_token_ttl = parse_ttl(input.access_token_ttl);
    }
    r.updated_at = oidc.now();
    check(state, &r).await?;
    let audit = admin
        .audit("resource.update", identifier)
        .detail(json!({"scopes": r.scopes.to_string()}));
    if !oidc.store.update_resource(&r, &audit).await? {
        return Err(ApiError::not_found("resource"));
    }
    Ok(r)
}

pub(crate) async fn delete_resource(
    state: &AdminState,
    admin: &Admin,
    identifier: &str,
) -> ApiResult<()> {
    let oidc = state.oidc();
    if !oidc
        .store
        .delete_resource(
            identifier,
            &admin.audit("resource.delete", identifier),
            oidc.now(),
        )
        .await?
    {
        return Err(ApiError::not_found("resource"));
    }
    Ok(())
}

/// The admin API first, then the registered APIs.
pub(crate) async fn list_resources(state: &AdminState) -> ApiResult<Vec<ResourceView>> {
    let oidc = state.oidc();
    let mut out = vec![ResourceView::new(oidc.admin_resource(), true)];
    out.extend(
        oidc.store
            .list_resources()
            .await?
            .into_iter()
            .map(|r| ResourceView::new(r, false)),
    );
    Ok(out)
}

async fn list(State(state): State<AdminState>) -> ApiResult<Json<Vec<ResourceView>>> {
    Ok(Json(list_resources(&state).await?))
}

async fn create(
    State(state): State<AdminState>,
    admin: Admin,
    JsonBody(input): JsonBody<ResourceInput>,
) -> ApiResult<(StatusCode, Json<ResourceView>)> {
    let r = create_resource(&state, &admin, input).await?;
    Ok((StatusCode::CREATED, Json(ResourceView::new(r, false))))
}

async fn update(
    State(state): State<AdminState>,
    admin: Admin,
    Path(identifier): Path<String>,
    JsonBody(input): JsonBody<ResourceUpdate>,
) -> ApiResult<Json<ResourceView>> {
    let r = update_resource(&state, &admin, &identifier, input).await?;
    Ok(Json(ResourceView::new(r, false)))
}

async fn remove(
    State(state): State<AdminState>,
    admin: Admin,
    Path(identifier): Path<String>,
) -> ApiResult<StatusCode> {
    delete_resource(&state, &admin, &identifier).await?;
    Ok(StatusCode::NO_CONTENT)
}
