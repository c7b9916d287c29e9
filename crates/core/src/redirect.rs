//! Redirect URIs: what may be registered, and whether a requested URI matches.
//!
//! Matching is exact string comparison (RFC 9700 §2.1, RFC 6749 §3.1.2.3). The one
//! exception is RFC 8252 §7.3: for native clients, a loopback IP literal redirect URI
//! matches on any port, and on nothing else that differs.

use std::net::IpAddr;

use url::{Host, Url};

use crate::client::ApplicationType;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RedirectUriError {
    #[error("redirect URI is not an absolute URI")]
    NotAbsolute,
    #[error("redirect URI must not contain a fragment (RFC 6749 §3.1.2)")]
    Fragment,
    #[error("redirect URI must use https, or http on a loopback address (RFC 9700 §2.6)")]
    InsecureScheme,
    #[error("redirect URI must not carry user information")]
    UserInfo,
    #[error("a web client's redirect URI must use http or https")]
    PrivateSchemeForWeb,
    #[error(
        "redirect URI must be visible ASCII: percent-encode spaces, control and non-ASCII characters (RFC 3986 §2)"
    )]
    InvalidCharacter,
}

fn is_loopback_host(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

fn is_loopback_ip_literal(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        _ => false,
    }
}

/// Checks a redirect URI offered for registration.
pub fn validate_for_registration(uri: &str, app: ApplicationType) -> Result<(), RedirectUriError> {
    // The URL parser would silently drop or encode these; the registered string must be
    // exactly what a client sends, and a NUL would not even fit every database.
    if !uri.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
        return Err(RedirectUriError::InvalidCharacter);
    }
    let url = Url::parse(uri).map_err(|_| RedirectUriError::NotAbsolute)?;
    if url.fragment().is_some() || uri.contains('#') {
        return Err(RedirectUriError::Fragment);
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(RedirectUriError::UserInfo);
    }
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback_host(&url) => Ok(()),
        "http" => Err(RedirectUriError::InsecureScheme),
        // RFC 8252 §7.1: private-use URI schemes are for native apps only. A scheme with
        // no dot could collide with another app's; we accept it but recommend reverse DNS.
        _ if app == ApplicationType::Native => Ok(()),
        _ => Err(RedirectUriError::PrivateSchemeForWeb),
    }
}

/// Does `requested` match the registered redirect URI `registered`?
pub fn matches(registered: &str, requested: &str, app: ApplicationType) -> bool {
    if registered == requested {
        return true;
    }
    if app != ApplicationType::Native {
        return false;
    }
    // RFC 8252 §7.3: loopback IP literal, http only, any port, everything else identical.
    let (Ok(mut reg), Ok(mut req)) = (Url::parse(registered), Url::parse(requested)) else {
        return false;
    };
    // Refuse anything the parser would have rewritten: the comparison must stay exact.
    if req.as_str() != requested {
        return false;
    }
    if reg.scheme() != "http" || !is_loopback_ip_literal(&reg) || !is_loopback_ip_literal(&req) {
        return false;
    }
    if reg.set_port(None).is_err() || req.set_port(None).is_err() {
        return false;
    }
    reg.as_str() == req.as_str()
}

#[cfg(test)]
mod tests {
    #[test]
    fn registered_uris_are_visible_ascii() {
        for bad in [
            "https://c.example/c\u{0}b",
            "https://c.example/c b",
            " https://c.example/cb",
            "https://c.example/cb\n",
            "https://c.example/caf\u{e9}",
            "https://c.example/\u{7f}",
        ] {
            assert_eq!(
                validate_for_registration(bad, ApplicationType::Web),
                Err(RedirectUriError::InvalidCharacter),
                "{bad:?}"
            );
        }
        assert!(
            validate_for_registration("https://c.example/caf%C3%A9", ApplicationType::Web).is_ok()
        );
    }

    use super::*;
    use ApplicationType::{Native, Web};

    #[test]
    fn web_clients_match_exactly() {
        let reg = "https://c.example/cb";
        for (req, ok) in [
            ("https://c.example/cb", true),
            ("https://c.example/cb/", false),
            ("https://c.example:443/cb", false),
            ("https://C.EXAMPLE/cb", false),
            ("https://c.example/cb?x=1", false),
            ("https://c.example/cb#f", false),
            ("https://c.example/cb/..%2f", false),
            ("https://c.example@evil/cb", false),
            ("https://c.example.evil/cb", false),
            ("http://c.example/cb", false),
        ] {
            assert_eq!(matches(reg, req, Web), ok, "{req}");
        }
    }

    #[test]
    fn native_loopback_may_change_port_only() {
        let reg = "http://127.0.0.1/cb";
        for (req, ok) in [
            ("http://127.0.0.1/cb", true),
            ("http://127.0.0.1:51234/cb", true),
            ("http://127.0.0.1:51234/cb?x=1", false),
            ("http://127.0.0.1:51234/other", false),
            ("http://127.0.0.2:51234/cb", false),
            ("http://localhost:51234/cb", false),
            ("https://127.0.0.1:51234/cb", false),
            ("http://127.0.0.1:51234/cb#f", false),
        ] {
            assert_eq!(matches(reg, req, Native), ok, "{req}");
        }
        assert!(matches("http://[::1]/cb", "http://[::1]:8000/cb", Native));
        // The same loopback URI registered by a web client must match the port exactly.
        assert!(!matches(reg, "http://127.0.0.1:51234/cb", Web));
    }

    #[test]
    fn registration_rules() {
        assert!(validate_for_registration("https://c.example/cb", Web).is_ok());
        assert!(validate_for_registration("http://127.0.0.1/cb", Web).is_ok());
        assert!(validate_for_registration("http://localhost:3000/cb", Web).is_ok());
        assert_eq!(
            validate_for_registration("http://c.example/cb", Web),
            Err(RedirectUriError::InsecureScheme)
        );
        assert_eq!(
            validate_for_registration("https://c.example/cb#x", Web),
            Err(RedirectUriError::Fragment)
        );
        assert_eq!(
            validate_for_registration("/cb", Web),
            Err(RedirectUriError::NotAbsolute)
        );
        assert!(validate_for_registration("com.example.app:/cb", Native).is_ok());
        assert_eq!(
            validate_for_registration("com.example.app:/cb", Web),
            Err(RedirectUriError::PrivateSchemeForWeb)
        );
    }
}
