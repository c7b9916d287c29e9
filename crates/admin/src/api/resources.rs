//! Registered APIs (RFC 8707 resource indicators): the audiences access tokens are issued
//! for, and the scopes each accepts.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::routing::{get, put};
use gatehouse_core::Resource;
use schemars::JsonSchema;
use serde::Serialize;

use super::{ApiResult, JsonBody, Route, schema};
use crate::AdminState;
use crate::auth::Admin;
use crate::ops::resources;
pub use crate::ops::resources::{ResourceInput, ResourceUpdate};

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
    pub(crate) fn new(r: Resource, built_in: bool) -> Self {
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

async fn list(State(state): State<AdminState>, admin: Admin) -> ApiResult<Json<Vec<ResourceView>>> {
    let admin_api = state.oidc().admin_resource();
    let all = resources::list(admin.ops(&state), &admin_api).await?;
    Ok(Json(
        all.into_iter()
            .map(|r| {
                let built_in = r.identifier == admin_api.identifier;
                ResourceView::new(r, built_in)
            })
            .collect(),
    ))
}

async fn create(
    State(state): State<AdminState>,
    admin: Admin,
    JsonBody(input): JsonBody<ResourceInput>,
) -> ApiResult<(StatusCode, Json<ResourceView>)> {
    let admin_api = state.oidc().admin_resource();
    let r = resources::create(admin.ops(&state), &admin_api, input).await?;
    Ok((StatusCode::CREATED, Json(ResourceView::new(r, false))))
}

async fn update(
    State(state): State<AdminState>,
    admin: Admin,
    Path(identifier): Path<String>,
    JsonBody(input): JsonBody<ResourceUpdate>,
) -> ApiResult<Json<ResourceView>> {
    let admin_api = state.oidc().admin_resource();
    let r = resources::update(admin.ops(&state), &admin_api, &identifier, input).await?;
    Ok(Json(ResourceView::new(r, false)))
}

async fn remove(
    State(state): State<AdminState>,
    admin: Admin,
    Path(identifier): Path<String>,
) -> ApiResult<StatusCode> {
    resources::delete(admin.ops(&state), &identifier).await?;
    Ok(StatusCode::NO_CONTENT)
}
