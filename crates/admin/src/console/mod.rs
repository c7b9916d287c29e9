//! The admin console at `/admin`: server-rendered pages (askama), no script, no asset from
//! another origin, every form carrying the session's CSRF token. It drives the same
//! functions as the admin API, so both enforce the same rules and write the same audit.
//!
//! One layer ([`require_console_admin`]) guards every console route: anonymous visitors
//! are sent to sign in, signed-in users without the role `admin` get 403, and any POST
//! without this session's CSRF token gets 403 before a handler runs.

mod handlers;
mod pages;
mod reauth;
mod system;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use gatehouse_authorize::ClientIp;
use gatehouse_core::secret;

use crate::AdminState;
use crate::auth::{Refusal, identify_session};

/// The biggest console form accepted.
const MAX_FORM: usize = 64 * 1024;

/// Every console route: (method, path), for the refusal tests.
pub fn paths() -> Vec<(Method, &'static str)> {
    let mut out = Vec::new();
    for (path, methods) in table() {
        for m in methods {
            out.push((m, path));
        }
    }
    out
}

fn table() -> Vec<(&'static str, Vec<Method>)> {
    vec![
        ("/admin", vec![Method::GET]),
        ("/admin/clients", vec![Method::GET, Method::POST]),
        (
            "/admin/clients/{client_id}",
            vec![Method::GET, Method::POST],
        ),
        ("/admin/clients/{client_id}/secret", vec![Method::POST]),
        ("/admin/clients/{client_id}/delete", vec![Method::POST]),
        (
            "/admin/clients/{client_id}/grants/revoke",
            vec![Method::POST],
        ),
        ("/admin/clients/{client_id}/roles", vec![Method::POST]),
        ("/admin/users", vec![Method::GET, Method::POST]),
        ("/admin/users/{user_id}", vec![Method::GET]),
        ("/admin/users/{user_id}/disable", vec![Method::POST]),
        ("/admin/users/{user_id}/enable", vec![Method::POST]),
        ("/admin/users/{user_id}/password", vec![Method::POST]),
        ("/admin/users/{user_id}/delete", vec![Method::POST]),
        ("/admin/users/{user_id}/sessions/end", vec![Method::POST]),
        ("/admin/users/{user_id}/grants/revoke", vec![Method::POST]),
        ("/admin/users/{user_id}/roles", vec![Method::POST]),
        ("/admin/users/{user_id}/groups", vec![Method::POST]),
        ("/admin/roles", vec![Method::GET, Method::POST]),
        ("/admin/roles/{role}", vec![Method::POST]),
        ("/admin/roles/{role}/delete", vec![Method::POST]),
        ("/admin/groups", vec![Method::POST]),
        ("/admin/groups/{group}/delete", vec![Method::POST]),
        ("/admin/keys", vec![Method::GET]),
        ("/admin/keys/rotate", vec![Method::POST]),
        ("/admin/registration-tokens", vec![Method::POST]),
        ("/admin/resources", vec![Method::POST]),
        ("/admin/resources/delete", vec![Method::POST]),
        ("/admin/registration-tokens/{id}/delete", vec![Method::POST]),
        ("/admin/audit", vec![Method::GET]),
    ]
}

pub fn router(state: AdminState) -> Router<AdminState> {
    use handlers as h;
    use system as sys;
    let console = Router::new()
        .route("/admin", get(h::home))
        .route("/admin/clients", get(h::clients).post(h::create_client))
        .route(
            "/admin/clients/{client_id}",
            get(h::client).post(h::update_client),
        )
        .route("/admin/clients/{client_id}/secret", post(h::rotate_secret))
        .route("/admin/clients/{client_id}/delete", post(h::delete_client))
        .route(
            "/admin/clients/{client_id}/grants/revoke",
            post(h::revoke_client_grants),
        )
        .route("/admin/clients/{client_id}/roles", post(h::client_roles))
        .route("/admin/users", get(h::users).post(h::create_user))
        .route("/admin/users/{user_id}", get(h::user))
        .route("/admin/users/{user_id}/disable", post(h::disable_user))
        .route("/admin/users/{user_id}/enable", post(h::enable_user))
        .route("/admin/users/{user_id}/password", post(h::reset_password))
        .route("/admin/users/{user_id}/delete", post(h::delete_user))
        .route("/admin/users/{user_id}/sessions/end", post(h::end_sessions))
        .route(
            "/admin/users/{user_id}/grants/revoke",
            post(h::revoke_user_grants),
        )
        .route("/admin/users/{user_id}/roles", post(h::user_roles))
        .route("/admin/users/{user_id}/groups", post(h::user_groups))
        .route("/admin/roles", get(h::access).post(h::create_role))
        .route("/admin/roles/{role}", post(h::update_role))
        .route("/admin/roles/{role}/delete", post(h::delete_role))
        .route("/admin/groups", post(h::create_group))
        .route("/admin/groups/{group}/delete", post(h::delete_group))
        .route("/admin/keys", get(sys::keys))
        .route("/admin/audit", get(sys::audit))
        .route("/admin/keys/rotate", post(sys::rotate_key))
        .route(
            "/admin/registration-tokens",
            post(sys::create_registration_token),
        )
        .route("/admin/resources", post(sys::create_resource))
        .route("/admin/resources/delete", post(sys::delete_resource))
        .route(
            "/admin/registration-tokens/{id}/delete",
            post(sys::delete_registration_token),
        );
    console
        .route_layer(middleware::from_fn_with_state(state, require_console_admin))
        .layer(middleware::from_fn(console_headers))
}

/// The console's guard: sign in, hold `admin`, and (for a POST) send this session's CSRF
/// token. The form body is read here, checked, and handed on unchanged.
async fn require_console_admin(
    State(state): State<AdminState>,
    ClientIp(ip): ClientIp,
    req: Request,
    next: Next,
) -> Response {
    let issuer = state.oidc().issuer.as_str().to_owned();
    let admin = match identify_session(&state, req.headers(), &ip).await {
        Ok(a) => a,
        Err(Refusal::Unauthenticated) => {
            let mut res = StatusCode::SEE_OTHER.into_response();
            if let Ok(v) = HeaderValue::from_str(&format!("{issuer}/login?next=admin")) {
                res.headers_mut().insert(header::LOCATION, v);
            }
            return res;
        }
        Err(Refusal::Forbidden) => {
            return gatehouse_authorize::pages::error_page(
                &issuer,
                StatusCode::FORBIDDEN,
                "Not an administrator",
                "This account does not hold the admin role. Sign in as an administrator to use the console.",
            );
        }
        Err(Refusal::Unavailable(e)) => return pages::unavailable(&issuer, e),
    };
    if crate::api::path_has_control(req.uri().path()) {
        return gatehouse_authorize::pages::error_page(
            &issuer,
            StatusCode::NOT_FOUND,
            "Not found",
            "There is nothing at this address.",
        );
    }
    let (parts, body) = req.into_parts();
    let req = if parts.method == Method::POST {
        let refused = || {
            gatehouse_authorize::pages::error_page(
                &issuer,
                StatusCode::FORBIDDEN,
                "Request refused",
                "This form has expired or did not come from this console. Go back, reload the page and try again.",
            )
        };
        if !gatehouse_oidc::is_form(&parts.headers) {
            return refused();
        }
        let Ok(bytes) = axum::body::to_bytes(body, MAX_FORM).await else {
            return refused();
        };
        let form = handlers::FormData::parse(&bytes);
        if form.has_control_characters() {
            return gatehouse_authorize::pages::error_page(
                &issuer,
                StatusCode::BAD_REQUEST,
                "Not done",
                "The form holds control characters; nothing was changed.",
            );
        }
        let csrf_ok = admin
            .session
            .as_ref()
            .is_some_and(|s| secret::constant_time_eq(form.get("csrf_token"), &s.csrf_token));
        if !csrf_ok {
            return refused();
        }
        tracing::info!(admin = %admin.name, path = parts.uri.path(), "admin console change");
        Request::from_parts(parts, Body::from(bytes))
    } else {
        Request::from_parts(parts, body)
    };
    let mut req = req;
    req.extensions_mut().insert(admin);
    next.run(req).await
}

/// The sign-in pages' security headers, plus `form-action 'self'`.
async fn console_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    gatehouse_authorize::pages::add_security_headers(&mut res);
    res.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
        ),
    );
    res
}
