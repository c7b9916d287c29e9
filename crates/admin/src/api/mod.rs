//! The admin API under `/admin/api`: JSON in and out, described by an OpenAPI 3 document
//! built from the same route table that builds the router ([`table`]), so the document
//! cannot drift from the routes and every route sits behind [`crate::auth::require_admin`].

pub(crate) mod access;
pub(crate) mod clients;
pub(crate) mod resources;
pub(crate) mod system;
pub(crate) mod users;

use axum::Json;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get};
use axum::{Router, middleware};
use gatehouse_storage::StoreError;
use schemars::generate::{SchemaGenerator, SchemaSettings};
use schemars::{JsonSchema, Schema};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::AdminState;
use crate::ops::AdminError;

/// An error as the admin API answers it: `{"error": code, "error_description": text}`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ApiErrorBody {
    /// `invalid_request`, `unauthorized`, `forbidden`, `not_found`, `conflict` or
    /// `temporarily_unavailable`.
    pub error: String,
    pub error_description: String,
}

#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    body: ApiErrorBody,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &str, description: &str) -> Self {
        Self {
            status,
            body: ApiErrorBody {
                error: code.to_owned(),
                error_description: gatehouse_core::error_description(description),
            },
        }
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn description(&self) -> &str {
        &self.body.error_description
    }

    pub fn invalid(description: &str) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            &format!("no such {what}"),
        )
    }

    pub fn conflict(description: &str) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", description)
    }

    pub fn unauthenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "sign in as an administrator, or send a client-credentials token with the scope gatehouse:admin",
        )
    }

    pub fn forbidden() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "these credentials do not carry the admin role or the gatehouse:admin scope",
        )
    }

    pub fn unavailable(e: impl std::fmt::Display) -> Self {
        tracing::error!(error = %e, "admin API: storage failed");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            "the database is unavailable; nothing was changed, try again",
        )
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(what) => Self::conflict(&format!("that {what} already exists")),
            StoreError::Missing(what) => Self::invalid(&format!("no {what}")),
            StoreError::Refused(why) => Self::invalid(why),
            other => Self::unavailable(other),
        }
    }
}

impl From<AdminError> for ApiError {
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::Invalid(text) => Self::invalid(&text),
            AdminError::NotFound(what) => Self::not_found(what),
            AdminError::Conflict(text) => Self::conflict(&text),
            AdminError::Unavailable(cause) => Self::unavailable(cause),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut res = (self.status, Json(self.body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"gatehouse-admin\""),
            );
        }
        res
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// Reads a JSON body, answering `invalid_request` (not axum's plain-text rejection).
pub struct JsonBody<T>(pub T);

impl<T, S> axum::extract::FromRequest<S> for JsonBody<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(Self(v)),
            Err(e) => Err(ApiError::invalid(&e.body_text())),
        }
    }
}

pub use crate::ops::MAX_OFFSET;

/// Paging and search of a listing: `?search=&offset=&limit=` (limit 1 to 200, default 50).
#[derive(Debug, Deserialize, JsonSchema)]
pub struct Paging {
    pub search: Option<String>,
    pub offset: Option<u64>,
    pub limit: Option<u64>,
}

impl Paging {
    pub fn query(&self) -> ApiResult<gatehouse_core::Query> {
        Ok(crate::ops::listing(
            self.search.clone(),
            self.offset,
            self.limit,
        )?)
    }
}

/// One page of a listing.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// How many rows match in all.
    pub total: u64,
    pub offset: u64,
    pub limit: u64,
}

impl<T> Page<T> {
    pub fn of<U>(
        listing: gatehouse_core::Listing<U>,
        q: &gatehouse_core::Query,
        f: impl FnMut(U) -> T,
    ) -> Self {
        Self {
            items: listing.items.into_iter().map(f).collect(),
            total: listing.total,
            offset: q.offset,
            limit: q.limit,
        }
    }
}

/// Does a raw request path carry a percent-encoded control character (`%00`-`%1F`,
/// `%7F`)? No identifier Gatehouse issues has one, and some databases refuse NUL outright.
pub fn path_has_control(path: &str) -> bool {
    path.as_bytes().windows(3).any(|w| {
        w[0] == b'%'
            && ((matches!(w[1], b'0' | b'1') && w[2].is_ascii_hexdigit())
                || (w[1] == b'7' && matches!(w[2], b'f' | b'F')))
    })
}

type SchemaFn = fn(&mut SchemaGenerator) -> Schema;

/// The schema of `T`, for the route table.
pub fn schema<T: JsonSchema>(g: &mut SchemaGenerator) -> Schema {
    g.subschema_for::<T>()
}

/// One operation of the admin API: how to route it and how to document it.
pub struct Route {
    pub method: Method,
    /// Below `/admin/api`, in axum's syntax (`/clients/{client_id}`).
    pub path: &'static str,
    pub operation_id: &'static str,
    pub summary: &'static str,
    pub tag: &'static str,
    /// Query parameters: (name, description).
    pub query: &'static [(&'static str, &'static str)],
    pub request: Option<SchemaFn>,
    /// The success status and its body's schema (`None`: no body).
    pub status: StatusCode,
    pub response: Option<SchemaFn>,
    pub handler: MethodRouter<AdminState>,
}

impl Route {
    /// An operation with no query parameters, no request body, and an empty 200 answer;
    /// set the other fields with struct update syntax.
    pub fn op(
        method: Method,
        path: &'static str,
        operation_id: &'static str,
        summary: &'static str,
        tag: &'static str,
        handler: MethodRouter<AdminState>,
    ) -> Self {
        Self {
            method,
            path,
            operation_id,
            summary,
            tag,
            query: &[],
            request: None,
            status: StatusCode::OK,
            response: None,
            handler,
        }
    }
}

/// Every operation of the admin API.
pub fn table() -> Vec<Route> {
    let mut t = Vec::new();
    t.extend(clients::routes());
    t.extend(users::routes());
    t.extend(access::routes());
    t.extend(system::routes());
    t.extend(resources::routes());
    t
}

pub const PAGING: &[(&str, &str)] = &[
    ("search", "Case-insensitive text to look for"),
    ("offset", "Rows to skip (default 0)"),
    ("limit", "Rows to return, 1 to 200 (default 50)"),
];

/// The router for `/admin/api`: every operation of [`table`] behind the admin check, and
/// the OpenAPI document (public: it describes, it does not reveal).
pub fn router(state: AdminState) -> Router<AdminState> {
    let mut api = Router::new();
    for route in table() {
        api = api.route(route.path, route.handler);
    }
    let api = api.route_layer(middleware::from_fn_with_state(
        state,
        crate::auth::require_admin,
    ));
    Router::new()
        .nest("/admin/api", api)
        .route("/admin/api/openapi.json", get(openapi_json))
}

async fn openapi_json(axum::extract::State(state): axum::extract::State<AdminState>) -> Response {
    let mut res = Json(openapi(state.oidc().issuer.as_str())).into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    res
}

/// The OpenAPI 3.0 document of the admin API, generated from [`table`].
pub fn openapi(issuer: &str) -> Value {
    let mut generator = SchemaSettings::openapi3().into_generator();
    let error = generator.subschema_for::<ApiErrorBody>();
    let mut paths: Map<String, Value> = Map::new();
    for route in table() {
        let mut parameters: Vec<Value> = route
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{')?.strip_suffix('}'))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        parameters.extend(route.query.iter().map(|(name, description)| {
            let schema = if *name == "search" {
                json!({"type": "string"})
            } else {
                json!({"type": "integer", "minimum": 0})
            };
            json!({"name": name, "in": "query", "required": false, "description": description, "schema": schema})
        }));
        let mut responses = Map::new();
        let mut ok = json!({"description": route.status.canonical_reason().unwrap_or("Success")});
        if let Some(f) = route.response {
            ok["content"] = json!({"application/json": {"schema": f(&mut generator)}});
        }
        responses.insert(route.status.as_u16().to_string(), ok);
        for (status, description) in [
            ("400", "Invalid request"),
            ("401", "No valid credentials"),
            ("403", "Credentials without the admin role or scope"),
            ("404", "No such object"),
            (
                "409",
                "An object with that name or identifier exists already",
            ),
            ("503", "Storage unavailable; nothing changed"),
        ]
        .into_iter()
        // Only a change that creates or renames can collide with an existing object.
        .filter(|(status, _)| {
            *status != "409" || matches!(route.method, Method::POST | Method::PUT | Method::PATCH)
        }) {
            responses.insert(
                status.into(),
                json!({"description": description, "content": {"application/json": {"schema": error.clone()}}}),
            );
        }
        let mut op = json!({
            "operationId": route.operation_id,
            "summary": route.summary,
            "tags": [route.tag],
            "parameters": parameters,
            "responses": responses,
        });
        if let Some(f) = route.request {
            op["requestBody"] = json!({
                "required": true,
                "content": {"application/json": {"schema": f(&mut generator)}},
            });
        }
        let path = format!("/admin/api{}", route.path);
        let item = paths.entry(path).or_insert_with(|| json!({}));
        item[route.method.as_str().to_lowercase()] = op;
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "Gatehouse admin API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Manage clients, users, sessions, grants, roles, groups, signing keys, registration tokens and the audit log. Every change is written to the audit log.",
        },
        "servers": [{"url": issuer}],
        "security": [{"adminToken": []}, {"adminSession": []}],
        "paths": paths,
        "components": {
            "schemas": generator.take_definitions(true),
            "securitySchemes": {
                "adminToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A client-credentials access token with the scope gatehouse:admin",
                },
                "adminSession": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": "gatehouse-session",
                    "description": "The session of a user with the role admin (__Host-gatehouse-session on https); changes also need the X-CSRF-Token header",
                },
            },
        },
    })
}

/// Reads the query string, answering `invalid_request` on a malformed one.
pub struct QueryParams<T>(pub T);

impl<T, S> axum::extract::FromRequestParts<S> for QueryParams<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, ApiError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(Self(v)),
            Err(e) => Err(ApiError::invalid(&e.body_text())),
        }
    }
}

/// How many things a bulk change touched.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Count {
    pub count: u64,
}
