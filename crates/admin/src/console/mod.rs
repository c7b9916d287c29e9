//! The admin console at `/admin`: server-rendered pages (askama), no script, no asset from
//! another origin, every form carrying the session's CSRF token. Its handlers read their
//! form, call the operation of [`crate::ops`] the admin API and the command line also call,
//! and answer a page (or 303 to one, so a reload does not resend the form).
//!
//! One table ([`table`]) builds both the router and the list of routes the refusal tests
//! walk. One layer ([`require_console_admin`]) guards every route: anonymous visitors
//! are sent to sign in, signed-in users without the role `admin` get 403, and any POST
//! without this session's CSRF token gets 403 before a handler runs. Handlers return
//! `Result<Response, PageError>` (the sign-in pages' error type) and use `?`; the same
//! layer as the sign-in pages' draws the error page.

mod access;
mod clients;
mod form;
mod pages;
mod reauth;
mod system;
mod users;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::handler::Handler;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter, on};
use gatehouse_authorize::browser::pages::add_security_headers;
use gatehouse_authorize::browser::{ClientIp, PageError, render_error_pages};
use gatehouse_core::secret;

use self::form::FormData;
use self::pages::Layout;
use crate::AdminState;
use crate::auth::{Admin, Refusal, identify_session};
use crate::ops::AdminError;

/// The biggest console form accepted.
const MAX_FORM: usize = 64 * 1024;

/// One console route.
pub struct Route {
    pub method: Method,
    pub path: &'static str,
    handler: MethodRouter<AdminState>,
}

fn route<H, T>(method: Method, path: &'static str, handler: H) -> Route
where
    H: Handler<T, AdminState>,
    T: 'static,
{
    let filter = MethodFilter::try_from(method.clone()).expect("console routes use GET and POST");
    Route {
        method,
        path,
        handler: on(filter, handler),
    }
}

/// Every console route: the router is built from this table, and the refusal tests walk it.
pub fn table() -> Vec<Route> {
    use Method as M;
    use {access as a, clients as c, system as s, users as u};
    vec![
        route(M::GET, "/admin", s::home),
        route(M::GET, "/admin/clients", c::list),
        route(M::POST, "/admin/clients", c::create),
        route(M::GET, "/admin/clients/{client_id}", c::read),
        route(M::POST, "/admin/clients/{client_id}", c::update),
        route(
            M::POST,
            "/admin/clients/{client_id}/secret",
            c::rotate_secret,
        ),
        route(M::POST, "/admin/clients/{client_id}/delete", c::delete),
        route(
            M::POST,
            "/admin/clients/{client_id}/grants/revoke",
            c::revoke_grants,
        ),
        route(M::POST, "/admin/clients/{client_id}/roles", c::roles),
        route(M::GET, "/admin/users", u::list),
        route(M::POST, "/admin/users", u::create),
        route(M::GET, "/admin/users/{user_id}", u::read),
        route(M::POST, "/admin/users/{user_id}/disable", u::disable),
        route(M::POST, "/admin/users/{user_id}/enable", u::enable),
        route(M::POST, "/admin/users/{user_id}/password", u::set_password),
        route(M::POST, "/admin/users/{user_id}/delete", u::delete),
        route(
            M::POST,
            "/admin/users/{user_id}/sessions/end",
            u::end_sessions,
        ),
        route(
            M::POST,
            "/admin/users/{user_id}/grants/revoke",
            u::revoke_grants,
        ),
        route(
            M::POST,
            "/admin/users/{user_id}/sign-out-everywhere",
            u::sign_out_everywhere,
        ),
        route(M::POST, "/admin/users/{user_id}/roles", u::roles),
        route(M::POST, "/admin/users/{user_id}/groups", u::groups),
        route(M::GET, "/admin/roles", a::list),
        route(M::POST, "/admin/roles", a::create_role),
        route(M::POST, "/admin/roles/{role}", a::update_role),
        route(M::POST, "/admin/roles/{role}/delete", a::delete_role),
        route(M::POST, "/admin/groups", a::create_group),
        route(M::POST, "/admin/groups/{group}/delete", a::delete_group),
        route(M::GET, "/admin/keys", s::keys),
        route(M::POST, "/admin/keys/rotate", s::rotate_key),
        route(
            M::POST,
            "/admin/registration-tokens",
            s::create_registration_token,
        ),
        route(
            M::POST,
            "/admin/registration-tokens/{id}/delete",
            s::delete_registration_token,
        ),
        route(M::POST, "/admin/resources", s::create_resource),
        route(M::POST, "/admin/resources/update", s::update_resource),
        route(M::POST, "/admin/resources/delete", s::delete_resource),
        route(M::GET, "/admin/audit", s::audit),
    ]
}

/// Every console route as (method, path), for the refusal tests.
pub fn paths() -> Vec<(Method, &'static str)> {
    table().into_iter().map(|r| (r.method, r.path)).collect()
}

pub fn router(state: AdminState) -> Router<AdminState> {
    let mut console = Router::new();
    for r in table() {
        console = console.route(r.path, r.handler);
    }
    let issuer = state.oidc().issuer.clone();
    console
        .route_layer(middleware::from_fn_with_state(state, require_console_admin))
        .layer(middleware::from_fn_with_state(issuer, render_error_pages))
        .layer(middleware::from_fn(console_headers))
}

/// What a console handler answers: its page, or the sign-in pages' error type, which the
/// `render_error_pages` layer draws as the error page (`?` works on an operation's
/// [`AdminError`] and on a store error).
pub type ConsoleResult = Result<Response, PageError>;

fn status_of(e: &AdminError) -> StatusCode {
    match e {
        AdminError::Invalid(_) => StatusCode::BAD_REQUEST,
        AdminError::NotFound(_) => StatusCode::NOT_FOUND,
        AdminError::Conflict(_) => StatusCode::CONFLICT,
        AdminError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
    }
}

impl From<AdminError> for PageError {
    /// An operation's refusal is the "Not done" page with its words; a failure of the
    /// database is the 503 page, logged here.
    #[track_caller]
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::Unavailable(cause) => PageError::unavailable(cause),
            refused => PageError::page(status_of(&refused), "Not done", refused.to_string()),
        }
    }
}

/// The page every console page is framed by.
fn layout(
    state: &AdminState,
    admin: &Admin,
    notice: Option<String>,
    error: Option<String>,
) -> Layout {
    Layout {
        issuer: state.oidc().issuer.as_str().to_owned(),
        csrf_token: admin
            .session
            .as_ref()
            .map(|s| s.csrf_token.clone())
            .unwrap_or_default(),
        admin: admin.name.clone(),
        notice,
        error,
    }
}

/// 303 to a console page, so a reload does not send the form again.
fn see_other(state: &AdminState, path: &str) -> Response {
    let mut res = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(&state.oidc().issuer.url(path)) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res
}

/// After a change: 303 to `to` (so a reload does not send the form again); for an error
/// the admin can fix (invalid input, a name taken), `again` renders the page once more with
/// the error and 400 or 409; any other error ends the request.
async fn done_or_again<F, Fut>(
    state: &AdminState,
    result: Result<(), AdminError>,
    to: &str,
    again: F,
) -> ConsoleResult
where
    F: FnOnce(StatusCode, String) -> Fut,
    Fut: Future<Output = ConsoleResult>,
{
    match result {
        Ok(()) => Ok(see_other(state, to)),
        Err(e @ (AdminError::Invalid(_) | AdminError::Conflict(_))) => {
            again(status_of(&e), e.to_string()).await
        }
        Err(e) => Err(e.into()),
    }
}

/// The console's guard: sign in, hold `admin`, and (for a POST) send this session's CSRF
/// token. The form body is read here, checked, and handed on unchanged.
async fn require_console_admin(
    State(state): State<AdminState>,
    ClientIp(ip): ClientIp,
    req: Request,
    next: Next,
) -> Result<Response, PageError> {
    let admin = match identify_session(&state, req.headers(), &ip).await {
        Ok(a) => a,
        Err(Refusal::Unauthenticated) => return Ok(see_other(&state, "/login?next=admin")),
        Err(Refusal::Forbidden) => {
            return Err(PageError::page(
                StatusCode::FORBIDDEN,
                "Not an administrator",
                "This account does not hold the admin role. Sign in as an administrator to use the console.",
            ));
        }
        Err(Refusal::Unavailable(e)) => return Err(e.into()),
    };
    if crate::api::path_has_control(req.uri().path()) {
        return Err(PageError::page(
            StatusCode::NOT_FOUND,
            "Not found",
            "There is nothing at this address.",
        ));
    }
    let (parts, body) = req.into_parts();
    let mut req = if parts.method == Method::POST {
        let refused = || {
            PageError::page(
                StatusCode::FORBIDDEN,
                "Request refused",
                "This form has expired or did not come from this console. Go back, reload the page and try again.",
            )
        };
        if !gatehouse_oidc::is_form(&parts.headers) {
            return Err(refused());
        }
        let bytes = axum::body::to_bytes(body, MAX_FORM)
            .await
            .map_err(|_| refused())?;
        let form = FormData::parse(&bytes);
        if form.has_control_characters() {
            return Err(PageError::bad_request(
                "Not done",
                "The form holds control characters; nothing was changed.",
            ));
        }
        let csrf_ok = admin
            .session
            .as_ref()
            .is_some_and(|s| secret::constant_time_eq(form.get("csrf_token"), &s.csrf_token));
        if !csrf_ok {
            return Err(refused());
        }
        tracing::info!(admin = %admin.name, path = parts.uri.path(), "admin console change");
        Request::from_parts(parts, Body::from(bytes))
    } else {
        Request::from_parts(parts, body)
    };
    req.extensions_mut().insert(admin);
    Ok(next.run(req).await)
}

/// The sign-in pages' security headers, plus `form-action 'self'`.
async fn console_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    add_security_headers(&mut res);
    res.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
        ),
    );
    res
}
