//! The client's address, as per-address limits and the audit log see it.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRef, FromRequestParts};
use axum::http::request::Parts;

use crate::Oidc;

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
    Oidc: FromRef<S>,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = Oidc::from_ref(state);
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
