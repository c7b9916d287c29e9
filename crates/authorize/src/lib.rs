//! The browser side of Gatehouse: the authorization endpoint (RFC 6749 §3.1, OIDC Core
//! §3.1.2), sign-in, consent, RP-initiated logout, and the sessions and CSRF tokens that
//! hold them together. Pages are server-rendered with askama.

pub mod browser;
pub mod decision;
mod device;
mod endpoint;
pub mod error;
mod login;
mod logout;
pub mod pages;
pub mod password;
pub mod request;
pub mod session;
mod signup;
pub mod throttle;

use axum::Router;
use axum::extract::{FromRef, Request};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use gatehouse_oidc::Oidc;

pub use error::PageError;
pub use session::CookieSettings;

/// The state of the browser-facing endpoints.
#[derive(Clone)]
pub struct AuthorizeState {
    pub oidc: Oidc,
    pub cookie: CookieSettings,
    /// The cookie that marks browsers that have signed in before (see [`throttle`]).
    pub device_cookie: throttle::DeviceCookie,
    /// Lifetime of a signed-in session.
    pub session_ttl: i64,
    /// Lifetime of a pending authorization request (time to sign in and consent).
    pub request_ttl: i64,
    /// Password hashing allowed at once (argon2id holds 19 MiB each), with a bounded
    /// share for likely guesses.
    pub hash_slots: throttle::HashSlots,
    /// Self-service sign-up at `/signup` is open (off by default).
    pub signup: bool,
}

impl AuthorizeState {
    pub fn new(oidc: Oidc) -> Self {
        let https = oidc.issuer.is_https();
        Self {
            oidc,
            cookie: CookieSettings::for_issuer(https),
            device_cookie: throttle::DeviceCookie::for_issuer(https),
            session_ttl: 12 * 60 * 60,
            request_ttl: 30 * 60,
            hash_slots: throttle::HashSlots::new(
                2 * std::thread::available_parallelism().map_or(1, |n| n.get()),
            ),
            signup: false,
        }
    }

    fn issuer(&self) -> &str {
        self.oidc.issuer.as_str()
    }
}

pub use gatehouse_oidc::net::{ClientIp, client_ip};

impl FromRef<AuthorizeState> for Oidc {
    fn from_ref(state: &AuthorizeState) -> Self {
        state.oidc.clone()
    }
}

async fn security_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    pages::add_security_headers(&mut res);
    res
}

/// A static asset compiled into the binary, cacheable for an hour.
fn asset(body: &'static str, content_type: &'static str) -> Response {
    use axum::http::{HeaderValue, header};
    use axum::response::IntoResponse;
    let mut res = body.into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    res
}

pub fn routes(state: AuthorizeState) -> Router {
    Router::new()
        .merge(endpoint::routes())
        .merge(login::routes())
        .merge(signup::routes())
        .merge(logout::routes())
        .merge(device::routes())
        .layer(middleware::from_fn_with_state(
            state.oidc.issuer.clone(),
            error::render_error_pages,
        ))
        .layer(middleware::from_fn(security_headers))
        .route(
            "/static/gatehouse.css",
            get(|| async { asset(pages::STYLESHEET, "text/css; charset=utf-8") }),
        )
        .route(
            "/static/favicon.svg",
            get(|| async { asset(pages::FAVICON, "image/svg+xml") }),
        )
        // Browsers probe /favicon.ico on their own; answer rather than log a 404.
        .route(
            "/favicon.ico",
            get(|| async { asset(pages::FAVICON, "image/svg+xml") }),
        )
        .with_state(state)
}
