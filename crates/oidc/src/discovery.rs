//! `/.well-known/openid-configuration` (OpenID Connect Discovery 1.0 §4),
//! `/.well-known/oauth-authorization-server` (RFC 8414 §3) and the JWKS.
//!
//! The document lists only what works: each value here has a test that exercises it.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use gatehouse_core::scope::{OFFLINE_ACCESS, STANDARD_SCOPES};
use serde_json::{Value, json};

use crate::{Oidc, claims};

pub const JWKS_PATH: &str = "/jwks.json";

/// The algorithms `private_key_jwt` assertions may use: asymmetric only.
const ASSERTION_ALGS: [&str; 10] = [
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA",
];

pub fn document(state: &Oidc) -> Value {
    let i = &state.issuer;
    let scopes: Vec<&str> = STANDARD_SCOPES
        .into_iter()
        .chain([OFFLINE_ACCESS])
        .collect();
    json!({
        "issuer": i.as_str(),
        "authorization_endpoint": i.url("/authorize"),
        "token_endpoint": i.url("/token"),
        "userinfo_endpoint": i.url("/userinfo"),
        "jwks_uri": i.url(JWKS_PATH),
        // RFC 8414 §2: how to use this server, here what a resource server must check.
        "service_documentation": i.url(RESOURCE_SERVER_DOC_PATH),
        "end_session_endpoint": i.url("/logout"),
        "device_authorization_endpoint": i.url("/device_authorization"),
        "registration_endpoint": i.url("/register"),
        "revocation_endpoint": i.url("/revoke"),
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
        "revocation_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGS,
        "introspection_endpoint": i.url("/introspect"),
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt"],
        "introspection_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGS,
        "scopes_supported": scopes,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "form_post"],
        "grant_types_supported": [
            "authorization_code",
            "refresh_token",
            "client_credentials",
            "urn:ietf:params:oauth:grant-type:device_code",
        ],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [state.minter.settings.id_token_alg.as_str()],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
        "token_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGS,
        "claims_supported": claims::SUPPORTED,
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": true,
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        "display_values_supported": ["page", "popup", "touch", "wap"],
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "require_request_uri_registration": false,
        "ui_locales_supported": ["en"],
    })
}

/// Public, cacheable JSON that any origin may read (browser apps fetch discovery and keys).
fn public_json(value: Value, max_age: u32) -> Response {
    let mut res = axum::Json(value).into_response();
    let h = res.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("public, max-age={max_age}")) {
        h.insert(header::CACHE_CONTROL, v);
    }
    res
}

async fn openid_configuration(State(state): State<Oidc>) -> Response {
    public_json(document(&state), 3600)
}

async fn jwks(State(state): State<Oidc>) -> Response {
    // Short cache: a rotated key must reach relying parties quickly.
    public_json(state.signing_keys().await.jwks(), 300)
}

/// RFC 8414 §3.1: for an issuer with a path, the metadata also lives at
/// `/.well-known/oauth-authorization-server{path}`, outside the issuer's path.
pub fn path_issuer_routes(state: Oidc, path: &str) -> Router {
    Router::new()
        .route(
            &format!("/.well-known/oauth-authorization-server{path}"),
            get(openid_configuration),
        )
        .with_state(state)
}

pub fn routes() -> Router<Oidc> {
    Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(openid_configuration),
        )
        .route(
            "/.well-known/oauth-authorization-server",
            get(openid_configuration),
        )
        .route(JWKS_PATH, get(jwks))
        .route(RESOURCE_SERVER_DOC_PATH, get(resource_server_doc))
}

/// Where discovery's `service_documentation` points.
pub const RESOURCE_SERVER_DOC_PATH: &str = "/docs/resource-servers";

/// What a resource server must check before it trusts an access token (RFC 9068 §4,
/// RFC 8707), with this server's own URLs filled in. Plain text: no script, nothing to load.
async fn resource_server_doc(State(state): State<Oidc>) -> Response {
    let i = &state.issuer;
    let body = format!(
        "How a resource server checks access tokens from {issuer}\n\n\
Register your API (gatehouse resource create <identifier> --name ... --scope ...). Clients\n\
then ask for tokens with resource=<identifier> (RFC 8707), and a token carries exactly one\n\
audience. Accept a JWT access token only if all of these hold:\n\n\
1. The header's typ is at+jwt (RFC 9068) and its alg is ES256.\n\
2. The signature verifies with the key named by kid from {jwks} (refetch it when a kid is\n\
   unknown: keys are published before they sign).\n\
3. iss is exactly {issuer}.\n\
4. aud is exactly YOUR API's identifier. A token for {issuer} (userinfo), for\n\
   {admin} (the admin API) or for another API is not for you: refuse it, whatever\n\
   else it carries.\n\
5. exp is in the future and nbf/iat not more than a minute ahead of your clock.\n\
6. scope holds what the call needs.\n\n\
Or ask {introspection} (RFC 7662, with your own client credentials): active, scope,\n\
client_id, sub, exp and aud come back; check aud and scope the same way. Introspection\n\
also tells you when a token was revoked before it expired.\n",
        issuer = i.as_str(),
        jwks = i.url(JWKS_PATH),
        admin = i.url("/admin/api"),
        introspection = i.url("/introspect"),
    );
    let mut res = body.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
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
