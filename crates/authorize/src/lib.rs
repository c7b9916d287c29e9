//! The browser side of Gatehouse: the authorization endpoint (RFC 6749 §3.1, OIDC Core
//! §3.1.2), sign-in, consent, RP-initiated logout, and the sessions and CSRF tokens that
//! hold them together. Pages are server-rendered with askama.

pub mod decision;
mod endpoint;
mod login;
mod logout;
pub mod pages;
pub mod password;
pub mod request;
pub mod session;

use std::net::SocketAddr;

use axum::Router;
use axum::extract::{ConnectInfo, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use gatehouse_oidc::Oidc;
use gatehouse_storage::ThrottlePolicy;

pub use session::CookieSettings;

/// The state of the browser-facing endpoints.
#[derive(Clone)]
pub struct AuthorizeState {
    pub oidc: Oidc,
    pub cookie: CookieSettings,
    /// Failed sign-ins per account.
    pub throttle: ThrottlePolicy,
    /// Failed sign-ins per client address: more lenient, since many people may share one
    /// address behind a NAT, yet enough to stop one address from trying many accounts.
    pub ip_throttle: ThrottlePolicy,
    /// Lifetime of a signed-in session.
    pub session_ttl: i64,
    /// Lifetime of a pending authorization request (time to sign in and consent).
    pub request_ttl: i64,
}

impl AuthorizeState {
    pub fn new(oidc: Oidc) -> Self {
        let https = oidc.issuer.is_https();
        Self {
            oidc,
            cookie: CookieSettings::for_issuer(https),
            throttle: ThrottlePolicy::default(),
            ip_throttle: ThrottlePolicy {
                free_failures: 20,
                ..ThrottlePolicy::default()
            },
            session_ttl: 12 * 60 * 60,
            request_ttl: 30 * 60,
        }
    }

    fn issuer(&self) -> &str {
        self.oidc.issuer.as_str()
    }
}

/// The peer address of the connection, for per-address throttling. Forwarded headers are
/// not trusted: anyone can send them.
#[derive(Debug, Clone)]
pub struct ClientIp(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip().to_string())
                .unwrap_or_else(|| "unknown".into()),
        ))
    }
}

async fn security_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    pages::add_security_headers(&mut res);
    res
}

async fn stylesheet() -> Response {
    use axum::http::{HeaderValue, header};
    use axum::response::IntoResponse;
    let mut res = pages::STYLESHEET.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
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
        .merge(logout::routes())
        .layer(middleware::from_fn(security_headers))
        .route("/static/gatehouse.css", get(stylesheet))
        .with_state(state)
}
