//! The `Authorization: Bearer` credential (RFC 6750 §2.1), read one way by every resource
//! Gatehouse serves: userinfo, the admin API and client configuration (RFC 7592).
//!
//! ```text
//! credentials = "Bearer" 1*SP b64token
//! b64token    = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
//! ```
//!
//! The scheme is case-insensitive (RFC 9110 §11.1). Anything else, an empty token
//! included, is not a bearer credential and is refused before any token is looked up.

use axum::http::{HeaderMap, header};

/// Why a request's `Authorization` header holds no bearer token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Malformed {
    /// The header was sent more than once (RFC 6750 §3.1 `invalid_request`).
    Repeated,
    /// The header is not `Bearer` and a b64token: another scheme, no token, a token with
    /// characters a b64token cannot hold, or bytes that are not visible ASCII.
    NotBearer,
}

/// Is `token` a b64token?
pub fn is_b64token(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    !body.is_empty()
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))
}

/// The token of one `Authorization` field value, if it is a Bearer credential. Whitespace
/// around the value is not part of it (RFC 9110 §5.5).
pub fn parse(value: &str) -> Option<&str> {
    let value = value.trim_matches([' ', '\t']);
    let (scheme, rest) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let token = rest.trim_start_matches(' ');
    is_b64token(token).then_some(token)
}

/// The request's bearer token: `Ok(None)` when it has no `Authorization` header, the token
/// when the one header is a Bearer credential, and otherwise why not.
pub fn from_headers(headers: &HeaderMap) -> Result<Option<&str>, Malformed> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(Malformed::Repeated);
    }
    let value = value.to_str().map_err(|_| Malformed::NotBearer)?;
    parse(value).map(Some).ok_or(Malformed::NotBearer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn bearer_credentials_follow_rfc_6750() {
        let jwt = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln-_";
        for (value, expected) in [
            // The scheme in any case, one or more spaces, a b64token.
            ("Bearer abc", Some("abc")),
            ("bearer abc", Some("abc")),
            ("BEARER abc", Some("abc")),
            ("Bearer   abc", Some("abc")),
            ("Bearer a-b.c_d~e+f/g", Some("a-b.c_d~e+f/g")),
            ("Bearer YWJj==", Some("YWJj==")),
            (
                "Bearer eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln-_",
                Some(jwt),
            ),
            // Whitespace around the field value is not part of it.
            ("  Bearer abc\t", Some("abc")),
            // No token, or an empty one.
            ("Bearer", None),
            ("Bearer ", None),
            ("Bearer    ", None),
            ("Bearer ==", None),
            // Not a b64token.
            ("Bearer a b", None),
            ("Bearer a=b", None),
            ("Bearer =abc", None),
            ("Bearer abc,def", None),
            ("Bearer \"abc\"", None),
            ("Bearer a%20b", None),
            ("Bearer é", None),
            // Another separator or scheme.
            ("Bearer\tabc", None),
            ("Bearerabc", None),
            ("Basic YTpi", None),
            ("Bearer: abc", None),
            ("Token abc", None),
            ("", None),
        ] {
            assert_eq!(parse(value), expected, "{value:?}");
        }
    }

    #[test]
    fn one_header_at_most() {
        let mut h = HeaderMap::new();
        assert_eq!(from_headers(&h), Ok(None));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer abc"),
        );
        assert_eq!(from_headers(&h), Ok(Some("abc")));
        h.append(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer abc"),
        );
        assert_eq!(from_headers(&h), Err(Malformed::Repeated));
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer "));
        assert_eq!(from_headers(&h), Err(Malformed::NotBearer));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_bytes(b"Bearer \xff").unwrap(),
        );
        assert_eq!(from_headers(&h), Err(Malformed::NotBearer));
    }
}
