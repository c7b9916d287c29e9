//! CORS (the Fetch standard's cross-origin rules) for the endpoints a browser-based app
//! calls with `fetch`: the token, userinfo, revocation, introspection and device
//! authorization endpoints answer a page on a client's origin, and discovery and the JWKS
//! answer any page. Nothing else does: the authorization endpoint, the sign-in pages, the
//! console and the admin API send no CORS header, so no other origin can read them.
//!
//! A preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`) is answered
//! for any origin: it reveals nothing and changes nothing, and which client is calling is
//! not known until the real request authenticates it. The real answer then carries
//! `Access-Control-Allow-Origin` only when that client allows the request's origin
//! ([`gatehouse_core::Client::allows_origin`]), so a page on any other origin cannot read
//! it. Every answer to a request with an `Origin` varies by it (`Vary: Origin`), so a cache
//! never serves one origin's answer to another.

use std::sync::{Arc, OnceLock};

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// How long a browser may keep a preflight answer, in seconds.
const PREFLIGHT_MAX_AGE: &str = "600";

/// The request headers a browser-based app sends to these endpoints.
const ALLOWED_HEADERS: &str = "Authorization, Content-Type, DPoP";

/// The response headers such an app may read besides the safe ones.
const EXPOSED_HEADERS: &str = "WWW-Authenticate, DPoP-Nonce";

/// The origin a request says it comes from: its one `Origin` header, unless `null` (a
/// sandboxed or opaque origin, which no client can register).
pub fn request_origin(headers: &HeaderMap) -> Option<&str> {
    let mut values = headers.get_all(header::ORIGIN).iter();
    let origin = values.next()?.to_str().ok()?;
    if values.next().is_some() || origin == "null" || origin.is_empty() {
        return None;
    }
    Some(origin)
}

fn vary_origin(res: &mut Response) {
    res.headers_mut()
        .append(header::VARY, HeaderValue::from_static("Origin"));
}

/// The answer to a preflight for an endpoint that takes `methods` (for example `"POST"`):
/// 204 allowing the origin, the methods, and the headers a client sends. A request that is
/// not a preflight (no `Origin`, or no `Access-Control-Request-Method`, or one the
/// endpoint does not take) gets 204 with `Allow` and no CORS header.
pub fn preflight(headers: &HeaderMap, methods: &'static str) -> Response {
    let mut res = StatusCode::NO_CONTENT.into_response();
    res.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(methods));
    let asked = headers
        .get(header::ACCESS_CONTROL_REQUEST_METHOD)
        .and_then(|v| v.to_str().ok());
    let Some(origin) = request_origin(headers) else {
        return res;
    };
    vary_origin(&mut res);
    let Some(asked) = asked else {
        return res;
    };
    if !methods.split(", ").any(|m| m == asked) {
        return res;
    }
    let Ok(origin) = HeaderValue::from_str(origin) else {
        return res;
    };
    let h = res.headers_mut();
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static(methods),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static(ALLOWED_HEADERS),
    );
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static(PREFLIGHT_MAX_AGE),
    );
    res
}

/// Lets the request's origin read `res` if `allowed` says the client allows it; either
/// way the answer varies by `Origin`.
pub fn allow(res: &mut Response, headers: &HeaderMap, allowed: impl Fn(&str) -> bool) {
    let Some(origin) = request_origin(headers) else {
        return;
    };
    vary_origin(res);
    if !allowed(origin) {
        return;
    }
    if let Ok(v) = HeaderValue::from_str(origin) {
        let h = res.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
        h.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static(EXPOSED_HEADERS),
        );
    }
}

/// Where an endpoint puts the origins of the client it is answering, once it knows the
/// client (after client authentication, or from the access token), for [`client_cors`]
/// to read when the answer is ready: an error after that point is readable by the client's
/// page too.
#[derive(Clone, Default)]
pub struct CorsClient(Arc<OnceLock<Vec<String>>>);

impl CorsClient {
    /// The client's allowed origins ([`gatehouse_core::Client::web_origins`]).
    pub fn set(&self, origins: Vec<String>) {
        let _ = self.0.set(origins);
    }
}

/// The layer over the endpoints a client's page may call: gives each request a
/// [`CorsClient`], and lets the request's origin read the answer when the client the
/// endpoint named allows that origin.
pub async fn client_cors(mut req: Request, next: Next) -> Response {
    let headers = req.headers().clone();
    let client = CorsClient::default();
    req.extensions_mut().insert(client.clone());
    let mut res = next.run(req).await;
    allow(&mut res, &headers, |origin| {
        client
            .0
            .get()
            .is_some_and(|origins| origins.iter().any(|o| o == origin))
    });
    res
}

/// A public document (discovery, the JWKS): readable from any origin, without
/// credentials.
pub fn public(res: &mut Response) {
    res.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn a_preflight_allows_the_origin_the_methods_and_the_client_headers() {
        let h = headers(&[
            ("origin", "https://spa.example"),
            ("access-control-request-method", "POST"),
            (
                "access-control-request-headers",
                "authorization, content-type",
            ),
        ]);
        let res = preflight(&h, "POST");
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
        let g = |n: header::HeaderName| res.headers()[n].to_str().unwrap().to_owned();
        assert_eq!(
            g(header::ACCESS_CONTROL_ALLOW_ORIGIN),
            "https://spa.example"
        );
        assert_eq!(g(header::ACCESS_CONTROL_ALLOW_METHODS), "POST");
        assert!(g(header::ACCESS_CONTROL_ALLOW_HEADERS).contains("Authorization"));
        assert_eq!(g(header::VARY), "Origin");
    }

    #[test]
    fn no_cors_headers_for_what_is_not_a_preflight_of_this_endpoint() {
        for h in [
            headers(&[("access-control-request-method", "POST")]),
            headers(&[("origin", "https://spa.example")]),
            headers(&[
                ("origin", "https://spa.example"),
                ("access-control-request-method", "DELETE"),
            ]),
            headers(&[
                ("origin", "null"),
                ("access-control-request-method", "POST"),
            ]),
            headers(&[
                ("origin", "https://a.example"),
                ("origin", "https://b.example"),
                ("access-control-request-method", "POST"),
            ]),
        ] {
            let res = preflight(&h, "POST");
            assert!(
                !res.headers()
                    .contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN),
                "{h:?}"
            );
        }
    }

    #[test]
    fn an_answer_is_readable_only_from_an_allowed_origin_and_always_varies() {
        let h = headers(&[("origin", "https://spa.example")]);
        let mut yes = StatusCode::OK.into_response();
        allow(&mut yes, &h, |o| o == "https://spa.example");
        assert_eq!(
            yes.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
            "https://spa.example"
        );
        let mut no = StatusCode::OK.into_response();
        allow(&mut no, &h, |o| o == "https://other.example");
        assert!(
            !no.headers()
                .contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN)
        );
        assert_eq!(no.headers()[header::VARY], "Origin");
    }
}
