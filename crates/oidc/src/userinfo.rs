//! The UserInfo endpoint (OIDC Core §5.3), a protected resource in the sense of RFC 6750.

use crate::cors::{self, CorsClient};
use axum::Router;
use axum::body::Bytes;
use axum::extract::Extension;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use gatehouse_core::scope;

use crate::{Oidc, bearer, claims, is_form};

/// RFC 6750 §3.1 errors, sent in `WWW-Authenticate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BearerError {
    InvalidRequest,
    InvalidToken,
    InsufficientScope,
    /// The store could not be asked: never answer as if the token were good or bad.
    Unavailable,
}

impl BearerError {
    fn parts(self) -> (StatusCode, &'static str, &'static str) {
        match self {
            Self::InvalidRequest => (
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "send the access token once, in the Authorization header or the form body",
            ),
            Self::InvalidToken => (
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                "the access token is missing, malformed, expired or revoked",
            ),
            Self::InsufficientScope => (
                StatusCode::FORBIDDEN,
                "insufficient_scope",
                "the access token was not granted the openid scope",
            ),
            Self::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "try again later",
            ),
        }
    }
}

impl IntoResponse for BearerError {
    fn into_response(self) -> Response {
        let (status, code, description) = self.parts();
        let mut res = (
            status,
            axum::Json(serde_json::json!({"error": code, "error_description": description})),
        )
            .into_response();
        let h = res.headers_mut();
        if self != Self::Unavailable {
            let challenge = format!(
                "Bearer realm=\"gatehouse\", error=\"{code}\", error_description=\"{description}\""
            );
            if let Ok(v) = HeaderValue::from_str(&challenge) {
                h.insert(header::WWW_AUTHENTICATE, v);
            }
        }
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        res
    }
}

/// The bearer token of a request: from `Authorization: Bearer` (RFC 6750 §2.1, read by
/// [`crate::bearer`]) or a form body `access_token` (§2.2), never both, never twice. A
/// missing or malformed token is answered like an invalid one.
pub fn bearer_token(headers: &HeaderMap, body: Option<&[u8]>) -> Result<String, BearerError> {
    let from_header = bearer::from_headers(headers).map_err(|e| match e {
        bearer::Malformed::Repeated => BearerError::InvalidRequest,
        bearer::Malformed::NotBearer => BearerError::InvalidToken,
    })?;
    let mut from_body = None;
    if let Some(body) = body {
        for (k, v) in form_urlencoded::parse(body) {
            if k == "access_token" {
                if from_body.is_some() {
                    return Err(BearerError::InvalidRequest);
                }
                from_body = Some(v.into_owned());
            }
        }
    }
    match (from_header, from_body) {
        (Some(_), Some(_)) => Err(BearerError::InvalidRequest),
        (Some(t), None) => Ok(t.to_owned()),
        (None, Some(t)) if bearer::is_b64token(&t) => Ok(t),
        _ => Err(BearerError::InvalidToken),
    }
}

async fn userinfo(
    State(state): State<Oidc>,
    cors: Option<Extension<CorsClient>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = (!body.is_empty() && is_form(&headers)).then_some(&body[..]);
    let cors = cors.map(|Extension(c)| c);
    match respond(&state, cors.as_ref(), &headers, form).await {
        Ok(res) => res,
        Err(e) => e.into_response(),
    }
}

async fn respond(
    state: &Oidc,
    cors: Option<&CorsClient>,
    headers: &HeaderMap,
    form: Option<&[u8]>,
) -> Result<Response, BearerError> {
    let token = bearer_token(headers, form)?;
    let unavailable = |e| {
        tracing::error!(error = %e, "userinfo: storage failed");
        BearerError::Unavailable
    };
    let claims = state
        .active_access_token(&token)
        .await
        .map_err(unavailable)?
        .ok_or(BearerError::InvalidToken)?;
    // Userinfo is the issuer's own resource: a token for another API is not for it
    // (RFC 8707); and it answers for a user: a token without a grant (client credentials)
    // has none.
    if !claims.is_for(state.issuer.as_str()) || claims.grant_id.is_none() {
        return Err(BearerError::InvalidToken);
    }
    // A page on the token's client's origin may read the answer (CORS): the client is
    // looked up only for a request that names an origin.
    if let Some(cors) = cors
        && cors::request_origin(headers).is_some()
        && let Some(client) = state
            .store
            .find_client(&claims.client_id)
            .await
            .map_err(unavailable)?
    {
        cors.set(client.web_origins());
    }
    if !claims.scopes.contains(scope::OPENID) {
        return Err(BearerError::InsufficientScope);
    }
    let user = state
        .store
        .find_user(&claims.sub)
        .await
        .map_err(unavailable)?;
    let Some(user) = user.filter(|u| !u.disabled) else {
        return Err(BearerError::InvalidToken);
    };
    let mut body = claims::user_claims(&user, &claims.scopes);
    body.extend(
        claims::authorization_claims(
            &state.store,
            gatehouse_core::SubjectKind::User,
            &user.id,
            &claims.scopes,
        )
        .await
        .map_err(unavailable)?,
    );
    let mut res = axum::Json(body).into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

/// `/userinfo`, which a client's own page may call (CORS, see [`crate::cors`]).
pub fn routes() -> Router<Oidc> {
    let preflight = |headers: HeaderMap| async move { cors::preflight(&headers, "GET, POST") };
    Router::new()
        .route("/userinfo", get(userinfo).post(userinfo).options(preflight))
        .layer(axum::middleware::from_fn(cors::client_cors))
}
