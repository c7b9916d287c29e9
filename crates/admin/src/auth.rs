//! Who may use the admin API and console: a signed-in user holding the role `admin`, or a
//! client presenting a client-credentials access token with the scope `gatehouse:admin`.
//! Everyone else is refused: 401 without credentials (or with dead ones), 403 with live
//! credentials that lack the right.
//!
//! The check runs as a layer over every admin route, so a new route cannot forget it.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use gatehouse_authorize::browser::ClientIp;
use gatehouse_core::access::{ADMIN_ROLE, ADMIN_SCOPE};
use gatehouse_core::{Actor, BrowserSession, SubjectKind, secret};
use gatehouse_storage::StoreError;

use crate::AdminState;
use crate::api::ApiError;
use crate::ops::Ops;

/// An authenticated administrator, put in the request's extensions by [`require_admin`].
#[derive(Debug, Clone)]
pub struct Admin {
    /// Who, as the audit log names them (`user:<id>` or `client:<client_id>`), and from
    /// which address.
    pub actor: Actor,
    /// A display name: the username, or the client id.
    pub name: String,
    /// The browser session, when the admin came with one (its CSRF token guards forms).
    pub session: Option<BrowserSession>,
}

impl Admin {
    /// The administrative operations, run by this admin now.
    pub fn ops<'a>(&'a self, state: &'a AdminState) -> Ops<'a> {
        Ops::new(&state.oidc().store, &self.actor, state.oidc().now())
    }
}

/// Why a request is not an admin's.
pub enum Refusal {
    /// No credentials, or credentials that are not (or no longer) valid: 401.
    Unauthenticated,
    /// Valid credentials without the admin role or scope: 403.
    Forbidden,
    Unavailable(StoreError),
}

/// The request's bearer token, if its one `Authorization` header is a well-formed Bearer
/// credential (RFC 6750 §2.1, [`gatehouse_oidc::bearer`]).
fn bearer(headers: &HeaderMap) -> Option<&str> {
    gatehouse_oidc::bearer::from_headers(headers).ok().flatten()
}

/// Identifies the caller from a bearer token or, failing that, the session cookie.
pub async fn identify(
    state: &AdminState,
    headers: &HeaderMap,
    address: &str,
) -> Result<Admin, Refusal> {
    let store = &state.oidc().store;
    if headers.contains_key(header::AUTHORIZATION) {
        let token = bearer(headers).ok_or(Refusal::Unauthenticated)?;
        let claims = state
            .oidc()
            .active_access_token(token)
            .await
            .map_err(Refusal::Unavailable)?
            .ok_or(Refusal::Unauthenticated)?;
        // Only a client acting for itself (client credentials: no grant, no user); and
        // only while that client exists and is still registered for the admin scope.
        if claims.grant_id.is_some() || !claims.scopes.contains(ADMIN_SCOPE) {
            return Err(Refusal::Forbidden);
        }
        // RFC 8707: only a token whose audience is the admin API opens it, so a token meant
        // for any other API (and replayed by it) is refused.
        if !claims.is_for(&state.oidc().admin_resource().identifier) {
            return Err(Refusal::Unauthenticated);
        }
        let client = store
            .find_client(&claims.client_id)
            .await
            .map_err(Refusal::Unavailable)?
            .ok_or(Refusal::Unauthenticated)?;
        if !client.scopes.contains(ADMIN_SCOPE) {
            return Err(Refusal::Forbidden);
        }
        // A token obtained before the secret was rotated belongs to whoever had the old
        // secret: rotating a leaked robot secret shuts it out at once.
        if client.secret_changed_at.is_some_and(|t| claims.iat < t) {
            return Err(Refusal::Unauthenticated);
        }
        return Ok(Admin {
            actor: Actor::client(&client.client_id, address),
            name: client.client_id,
            session: None,
        });
    }
    identify_session(state, headers, address).await
}

/// Identifies the caller by the session cookie only (the console: its forms carry the
/// session's CSRF token).
pub async fn identify_session(
    state: &AdminState,
    headers: &HeaderMap,
    address: &str,
) -> Result<Admin, Refusal> {
    let store = &state.oidc().store;
    let session = state
        .authorize
        .load_session(headers)
        .await
        .map_err(Refusal::Unavailable)?;
    let user = state
        .authorize
        .signed_in_user(session.as_ref())
        .await
        .map_err(Refusal::Unavailable)?;
    let (Some((user, _)), Some(session)) = (user, session) else {
        return Err(Refusal::Unauthenticated);
    };
    let roles = store
        .roles_of(SubjectKind::User, &user.id)
        .await
        .map_err(Refusal::Unavailable)?;
    if !roles.iter().any(|r| r == ADMIN_ROLE) {
        return Err(Refusal::Forbidden);
    }
    Ok(Admin {
        actor: Actor::user(&user.id, address),
        name: user.username,
        session: Some(session),
    })
}

/// The layer over `/admin/api`: JSON refusals, and for cookie-authenticated changes the
/// session's CSRF token in `X-CSRF-Token` (a cross-site page cannot read or send it).
pub async fn require_admin(
    State(state): State<AdminState>,
    ClientIp(ip): ClientIp,
    mut req: Request,
    next: Next,
) -> Response {
    if crate::api::path_has_control(req.uri().path()) {
        return ApiError::not_found("object").into_response();
    }
    let admin = match identify(&state, req.headers(), &ip).await {
        Ok(a) => a,
        Err(Refusal::Unauthenticated) => return ApiError::unauthenticated().into_response(),
        Err(Refusal::Forbidden) => return ApiError::forbidden().into_response(),
        Err(Refusal::Unavailable(e)) => return ApiError::unavailable(e).into_response(),
    };
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if let (false, Some(session)) = (safe, &admin.session) {
        let sent = req
            .headers()
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !secret::constant_time_eq(sent, &session.csrf_token) {
            return ApiError::new(
                StatusCode::FORBIDDEN,
                "invalid_request",
                "a change made with a session cookie needs the session's X-CSRF-Token header",
            )
            .into_response();
        }
    }
    if !safe {
        tracing::info!(admin = %admin.name, method = %req.method(), path = req.uri().path(), "admin API change");
    }
    req.extensions_mut().insert(admin);
    let mut res = next.run(req).await;
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

impl axum::extract::FromRequestParts<AdminState> for Admin {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &AdminState,
    ) -> Result<Self, Self::Rejection> {
        // Put there by the admin layer; a handler outside it is a wiring bug, refused.
        parts
            .extensions
            .get::<Admin>()
            .cloned()
            .ok_or_else(|| ApiError::unauthenticated().into_response())
    }
}
