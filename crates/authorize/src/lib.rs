//! The browser side of Gatehouse: the authorization endpoint (RFC 6749 §3.1, OIDC Core
//! §3.1.2), sign-in, consent, RP-initiated logout, and the sessions and CSRF tokens that
//! hold them together. Pages are server-rendered with askama.

pub mod decision;
mod device;
mod endpoint;
mod login;
mod logout;
pub mod pages;
pub mod password;
pub mod request;
pub mod session;
mod signup;
pub mod throttle;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::Router;
use axum::extract::{ConnectInfo, FromRef, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use gatehouse_oidc::Oidc;

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
    /// Reverse proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Arc<[IpAddr]>,
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
            trusted_proxies: Arc::from(Vec::new()),
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

/// The address of the user agent, for per-address throttling: the peer address of the
/// connection, unless that peer is a configured trusted proxy, in which case the right-most
/// `X-Forwarded-For` entry that is not itself a trusted proxy. Forwarded headers from anyone
/// else are ignored: an attacker could send any address.
#[derive(Debug, Clone)]
pub struct ClientIp(pub String);

/// Picks the client address; see [`ClientIp`].
pub fn client_ip(
    peer: Option<IpAddr>,
    headers: &axum::http::HeaderMap,
    trusted: &[IpAddr],
) -> Option<IpAddr> {
    let peer = peer?;
    if !trusted.contains(&peer) {
        return Some(peer);
    }
    // Walk from the right: each trusted proxy appended the address it saw. The first entry
    // that is not a trusted proxy is the client; whatever stands left of it is the client's
    // own say and is never read, so junk there changes nothing.
    let entries: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    for entry in entries.iter().rev() {
        match entry.parse::<IpAddr>() {
            Ok(a) if trusted.contains(&a) => continue,
            Ok(a) => return Some(a),
            // A trusted proxy would not append junk: treat the request as the proxy's.
            Err(_) => return Some(peer),
        }
    }
    Some(peer)
}

impl<S> FromRequestParts<S> for ClientIp
where
    S: Send + Sync,
    AuthorizeState: FromRef<S>,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AuthorizeState::from_ref(state);
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        Ok(ClientIp(
            client_ip(peer, &parts.headers, &state.trusted_proxies)
                .map(|ip| ip.to_string())
                .unwrap_or_else(|| "unknown".into()),
        ))
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

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderMap, HeaderValue};

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let mut h = HeaderMap::new();
        h.append(
            "x-forwarded-for",
            HeaderValue::from_static("6.6.6.6, 203.0.113.7"),
        );
        let proxy = [ip("10.0.0.1")];
        // Not from the proxy: the header is the attacker's word and is ignored.
        assert_eq!(
            client_ip(Some(ip("198.51.100.2")), &h, &proxy),
            Some(ip("198.51.100.2"))
        );
        // From the proxy: the right-most address the proxy saw, not the spoofable left end.
        assert_eq!(
            client_ip(Some(ip("10.0.0.1")), &h, &proxy),
            Some(ip("203.0.113.7"))
        );
        // Chained trusted proxies are skipped.
        h.append("x-forwarded-for", HeaderValue::from_static("10.0.0.1"));
        assert_eq!(
            client_ip(Some(ip("10.0.0.1")), &h, &proxy),
            Some(ip("203.0.113.7"))
        );
        // A malformed header falls back to the peer.
        let mut bad = HeaderMap::new();
        bad.insert("x-forwarded-for", HeaderValue::from_static("not-an-ip"));
        assert_eq!(
            client_ip(Some(ip("10.0.0.1")), &bad, &proxy),
            Some(ip("10.0.0.1"))
        );
        assert_eq!(client_ip(None, &h, &proxy), None);
    }
}
