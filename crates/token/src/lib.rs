//! The token endpoint (RFC 6749 §3.2): client authentication, then one file per grant;
//! and the other endpoints a client calls with its credentials: device authorization
//! (RFC 8628), introspection (RFC 7662) and revocation (RFC 7009).

mod client_auth;
mod device_authorization;
pub mod error;
mod grants;
mod introspection;
mod revocation;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Extension, RawQuery, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, options, post};
use gatehouse_core::Params;
use gatehouse_oidc::cors::{self, CorsClient};
use gatehouse_oidc::{Oidc, is_form};

pub use error::TokenError;

#[derive(Clone)]
pub struct TokenState {
    pub oidc: Oidc,
}

impl axum::extract::FromRef<TokenState> for Oidc {
    fn from_ref(state: &TokenState) -> Self {
        state.oidc.clone()
    }
}

/// Every endpoint here may be called from a client's own page (CORS: see
/// `gatehouse_oidc::cors`): it answers preflights, and the `client_cors` layer lets the
/// client's origins read the answer once the client is authenticated.
pub fn routes(state: TokenState) -> Router {
    let post_only = |handler: MethodRouter<TokenState>| {
        let preflight =
            options(|headers: HeaderMap| async move { cors::preflight(&headers, "POST") });
        handler.merge(preflight).fallback(method_not_allowed)
    };
    Router::new()
        .route("/token", post_only(post(token)))
        .route("/revoke", post_only(post(revocation::revoke)))
        .route("/introspect", post_only(post(introspection::introspect)))
        .route(
            "/device_authorization",
            post_only(post(device_authorization::device_authorization)),
        )
        .layer(axum::middleware::from_fn(cors::client_cors))
        .with_state(state)
}

/// RFC 6749 §3.2: the token endpoint takes POST only; say so in the protocol's terms.
async fn method_not_allowed() -> Response {
    let mut res = TokenError::invalid_request("this endpoint accepts POST only").into_response();
    *res.status_mut() = axum::http::StatusCode::METHOD_NOT_ALLOWED;
    res.headers_mut()
        .insert(header::ALLOW, axum::http::HeaderValue::from_static("POST"));
    res
}

async fn token(
    State(state): State<TokenState>,
    Extension(cors): Extension<CorsClient>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match handle(&state, &cors, query, &headers, &body).await {
        Ok(res) => res,
        Err(e) => {
            tracing::debug!(error = %e, "token request refused");
            e.into_response()
        }
    }
}

async fn handle(
    state: &TokenState,
    cors: &CorsClient,
    query: Option<String>,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, TokenError> {
    let form = read_form(query, headers, body)?;
    let request = grants::GrantRequest::parse(&form)?;
    // RFC 8707 §2: the API the token is for. One per request (a repeated parameter is
    // already refused); an absolute URI, matched exactly against the registered ones.
    let resource = form.get("resource");
    if resource.is_some_and(|r| r.len() > 255 || r.contains('#')) {
        return Err(TokenError::InvalidTarget(
            "resource must be an absolute URI without a fragment".into(),
        ));
    }
    let client = client_auth::authenticate(&state.oidc, headers, &form, "/token").await?;
    cors.set(client.web_origins());
    grants::dispatch(state, &client, request, resource).await
}

/// The form of a POST to an endpoint that authenticates clients: parameters in an
/// `application/x-www-form-urlencoded` body only (RFC 6749 §3.2; a secret in the URL would
/// end up in logs and histories, §2.3.1), each at most once.
pub(crate) fn read_form(
    query: Option<String>,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Params, TokenError> {
    if query.is_some_and(|q| !q.is_empty()) {
        return Err(TokenError::invalid_request(
            "parameters travel in the form body, not the URL",
        ));
    }
    if !is_form(headers) {
        return Err(TokenError::invalid_request(
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    let form = Params::parse(body);
    if let Some(name) = form.first_duplicated() {
        return Err(TokenError::invalid_request(format!(
            "parameter {name} was sent more than once"
        )));
    }
    Ok(form)
}

/// A JSON 200 that nobody may cache (RFC 6749 §5.1, RFC 7662 §2.2).
pub(crate) fn json_no_store(value: serde_json::Value) -> Response {
    let mut res = axum::Json(value).into_response();
    error::no_store(&mut res);
    res
}
