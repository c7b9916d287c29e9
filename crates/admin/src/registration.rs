//! Dynamic client registration (RFC 7591) and management (RFC 7592).
//!
//! Registration needs an initial access token (`gatehouse registration-token create`)
//! unless the configuration opens it. The metadata is validated like any other
//! registration (redirect URIs exact and https or loopback, no fragments; grant and
//! response types supported and consistent; one key source for `private_key_jwt`), and
//! errors are `invalid_redirect_uri` or `invalid_client_metadata` with 400 (§3.2.2).
//! Each registered client gets a registration access token, stored hashed, for reading,
//! replacing and deleting its registration.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use gatehouse_authorize::browser::ClientIp;
use gatehouse_core::client::{ClientMetadataError, RegistrationPolicy};
use gatehouse_core::{
    AccessTokenFormat, ApplicationType, Audit, Client, ClientAuthMethod, ClientLinks, GrantType,
    NewClient, Scopes, secret,
};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AdminState;

/// Client metadata as RFC 7591 §2 names it. Unknown members are ignored (§2).
#[derive(Debug, Default, Deserialize)]
pub struct Metadata {
    client_id: Option<String>,
    redirect_uris: Option<Vec<String>>,
    post_logout_redirect_uris: Option<Vec<String>>,
    grant_types: Option<Vec<String>>,
    response_types: Option<Vec<String>>,
    token_endpoint_auth_method: Option<String>,
    application_type: Option<String>,
    client_name: Option<String>,
    scope: Option<String>,
    jwks: Option<Value>,
    jwks_uri: Option<String>,
    logo_uri: Option<String>,
    policy_uri: Option<String>,
    tos_uri: Option<String>,
    /// Not in RFC 7591: the origins a browser-based client's pages call from (CORS), when
    /// not those of its redirect URIs.
    allowed_origins: Option<Vec<String>>,
    /// OpenID Connect Dynamic Client Registration §2: accepted only as what the server
    /// does (its ID token algorithm; public subjects).
    id_token_signed_response_alg: Option<String>,
    subject_type: Option<String>,
    /// Every other member: ignored (RFC 7591 §2) unless it is one this server knows and
    /// does not do, which is refused rather than dropped ([`UNSUPPORTED`]).
    #[serde(flatten)]
    other: serde_json::Map<String, Value>,
}

/// Metadata of OpenID Connect and OAuth extensions this server does not implement (yet): a
/// client that asks for them would silently get something else, so registration refuses
/// them with `invalid_client_metadata`. A member set to `null` or `false` asks for nothing.
const UNSUPPORTED: &[&str] = &[
    "userinfo_signed_response_alg",
    "userinfo_encrypted_response_alg",
    "userinfo_encrypted_response_enc",
    "id_token_encrypted_response_alg",
    "id_token_encrypted_response_enc",
    "authorization_signed_response_alg",
    "authorization_encrypted_response_alg",
    "request_object_signing_alg",
    "request_object_encryption_alg",
    "request_object_encryption_enc",
    "request_uris",
    "require_signed_request_object",
    "require_pushed_authorization_requests",
    "dpop_bound_access_tokens",
    "tls_client_certificate_bound_access_tokens",
    "sector_identifier_uri",
    "backchannel_logout_uri",
    "backchannel_logout_session_required",
    "frontchannel_logout_uri",
    "frontchannel_logout_session_required",
    "default_max_age",
    "default_acr_values",
    "initiate_login_uri",
];

/// Refuses metadata asking for what this server does not do (see [`UNSUPPORTED`]).
fn refuse_unsupported(m: &Metadata, id_token_alg: &str) -> Result<(), Response> {
    if let Some(alg) = &m.id_token_signed_response_alg
        && alg != id_token_alg
    {
        return Err(metadata_error(&format!(
            "id_token_signed_response_alg {alg:?} is not supported; ID tokens are signed with {id_token_alg}"
        )));
    }
    if let Some(t) = &m.subject_type
        && t != "public"
    {
        return Err(metadata_error(&format!(
            "subject_type {t:?} is not supported; subjects are public"
        )));
    }
    for name in UNSUPPORTED {
        if m.other
            .get(*name)
            .is_some_and(|v| !matches!(v, Value::Null | Value::Bool(false)))
        {
            return Err(metadata_error(&format!(
                "{name} is not supported by this server"
            )));
        }
    }
    Ok(())
}

fn error(status: StatusCode, code: &str, description: &str) -> Response {
    let mut res = (
        status,
        Json(json!({"error": code, "error_description": gatehouse_core::error_description(description)})),
    )
        .into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// A refusal, built already as RFC 7591 §3.2.2 answers it (or 401, 429, 503). Handlers
/// return `Result<Response, Refused>` and use `?`: on a store error, which is logged with
/// the line of the `?` and answered 503 `temporarily_unavailable`.
pub struct Refused(Response);

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        self.0
    }
}

impl From<Response> for Refused {
    fn from(res: Response) -> Self {
        Self(res)
    }
}

impl From<gatehouse_storage::StoreError> for Refused {
    #[track_caller]
    fn from(e: gatehouse_storage::StoreError) -> Self {
        let at = std::panic::Location::caller();
        tracing::error!(error = %e, %at, "registration: storage failed");
        Self(error(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            "try again later",
        ))
    }
}

type Answer = Result<Response, Refused>;

fn metadata_error(description: &str) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        "invalid_client_metadata",
        description,
    )
}

fn unauthorized() -> Response {
    let mut res = error(
        StatusCode::UNAUTHORIZED,
        "invalid_token",
        "a valid access token is required",
    );
    res.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"gatehouse\", error=\"invalid_token\""),
    );
    res
}

/// The request's bearer token, if its one `Authorization` header is a well-formed Bearer
/// credential (RFC 6750 §2.1, [`gatehouse_oidc::bearer`]).
fn bearer(headers: &HeaderMap) -> Option<String> {
    gatehouse_oidc::bearer::from_headers(headers)
        .ok()
        .flatten()
        .map(str::to_owned)
}

fn parse_body(headers: &HeaderMap, body: &[u8]) -> Result<Metadata, Response> {
    let json_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if !json_type {
        return Err(metadata_error("the body must be application/json"));
    }
    serde_json::from_slice(body).map_err(|e| metadata_error(&format!("malformed metadata: {e}")))
}

/// Turns RFC 7591 metadata into a validated registration within `policy`.
fn to_new_client(m: &Metadata, policy: &RegistrationPolicy) -> Result<NewClient, Response> {
    let mut grant_types = Vec::new();
    for g in m
        .grant_types
        .clone()
        .unwrap_or_else(|| vec!["authorization_code".into()])
    {
        let g: GrantType = g
            .parse()
            .map_err(|_| metadata_error(&format!("unsupported grant type {g}")))?;
        if !grant_types.contains(&g) {
            grant_types.push(g);
        }
    }
    // §2.1: response_types and grant_types must agree; only "code" exists here.
    let response_types = m.response_types.clone().unwrap_or_else(|| {
        if grant_types.contains(&GrantType::AuthorizationCode) {
            vec!["code".into()]
        } else {
            vec![]
        }
    });
    if response_types.iter().any(|r| r != "code") {
        return Err(metadata_error("only the code response type is supported"));
    }
    if response_types.is_empty() == grant_types.contains(&GrantType::AuthorizationCode) {
        return Err(metadata_error(
            "response_types [\"code\"] and the authorization_code grant go together",
        ));
    }
    let auth_method: ClientAuthMethod = m
        .token_endpoint_auth_method
        .as_deref()
        .unwrap_or("client_secret_basic")
        .parse()
        .map_err(|e: String| metadata_error(&e))?;
    let application_type: ApplicationType = m
        .application_type
        .as_deref()
        .unwrap_or("web")
        .parse()
        .map_err(|e: String| metadata_error(&e))?;
    let scopes = Scopes::parse(m.scope.as_deref().unwrap_or(""))
        .map_err(|e| metadata_error(&e.to_string()))?;
    let name = m
        .client_name
        .clone()
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| "Unnamed client".into());
    let new = NewClient {
        name,
        redirect_uris: m.redirect_uris.clone().unwrap_or_default(),
        post_logout_redirect_uris: m.post_logout_redirect_uris.clone().unwrap_or_default(),
        grant_types,
        scopes,
        auth_method,
        application_type,
        jwks: m.jwks.as_ref().map(Value::to_string),
        jwks_uri: m.jwks_uri.clone(),
        access_token_format: AccessTokenFormat::Jwt,
        links: ClientLinks {
            logo_uri: m.logo_uri.clone(),
            policy_uri: m.policy_uri.clone(),
            tos_uri: m.tos_uri.clone(),
        },
        allowed_origins: m.allowed_origins.clone().unwrap_or_default(),
    };
    new.validate().map_err(|e| match e {
        ClientMetadataError::RedirectUri { .. }
        | ClientMetadataError::PostLogoutRedirectUri { .. }
        | ClientMetadataError::MissingRedirectUri => error(
            StatusCode::BAD_REQUEST,
            "invalid_redirect_uri",
            &e.to_string(),
        ),
        other => metadata_error(&other.to_string()),
    })?;
    // Least privilege: whoever registers gets what the policy allows and nothing more;
    // Gatehouse's own scopes (gatehouse:admin opens the admin API) never.
    policy.check(&new).map_err(|e| metadata_error(&e))?;
    Ok(new)
}

fn describe(state: &AdminState, c: &Client) -> serde_json::Map<String, Value> {
    let mut out = serde_json::Map::new();
    out.insert("client_id".into(), json!(c.client_id));
    out.insert("client_id_issued_at".into(), json!(c.created_at));
    out.insert("client_name".into(), json!(c.name));
    out.insert("redirect_uris".into(), json!(c.redirect_uris));
    out.insert(
        "post_logout_redirect_uris".into(),
        json!(c.post_logout_redirect_uris),
    );
    out.insert("grant_types".into(), json!(c.grant_types));
    let response_types: Vec<&str> = if c.allows_grant(GrantType::AuthorizationCode) {
        vec!["code"]
    } else {
        vec![]
    };
    out.insert("response_types".into(), json!(response_types));
    out.insert("token_endpoint_auth_method".into(), json!(c.auth_method));
    out.insert("application_type".into(), json!(c.application_type));
    out.insert("scope".into(), json!(c.scopes.to_string()));
    // RFC 7591 §3.2.1: every registered value, the ones the server chose included.
    out.insert(
        "id_token_signed_response_alg".into(),
        json!(state.oidc().minter.settings.id_token_alg.as_str()),
    );
    out.insert("subject_type".into(), json!("public"));
    if let Some(j) = c
        .jwks
        .as_deref()
        .and_then(|j| serde_json::from_str::<Value>(j).ok())
    {
        out.insert("jwks".into(), j);
    }
    if let Some(u) = &c.jwks_uri {
        out.insert("jwks_uri".into(), json!(u));
    }
    if !c.allowed_origins.is_empty() {
        out.insert("allowed_origins".into(), json!(c.allowed_origins));
    }
    for (field, value) in c.links.fields() {
        if let Some(v) = value {
            out.insert(field.into(), json!(v));
        }
    }
    out.insert(
        "registration_client_uri".into(),
        json!(
            state
                .oidc()
                .issuer
                .url(&format!("/register/{}", c.client_id))
        ),
    );
    out
}

fn json_response(status: StatusCode, value: Value) -> Response {
    let mut res = (status, Json(value)).into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// `POST /register` (RFC 7591 §3).
pub async fn register(
    State(state): State<AdminState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let store = &state.oidc().store;
    let now = state.oidc().now();
    let (policy, initial_token) = if state.open_registration {
        throttle_open_registration(&state, &ip, now).await?;
        (state.registration_policy.clone(), None)
    } else {
        let token = bearer(&headers).ok_or_else(unauthorized)?;
        let token_id = secret::hash_secret(&token);
        let allows = store
            .use_registration_token(&token_id, now)
            .await?
            .ok_or_else(unauthorized)?;
        (state.registration_policy.widened(&allows), Some(token_id))
    };
    let metadata = parse_body(&headers, &body)?;
    refuse_unsupported(
        &metadata,
        state.oidc().minter.settings.id_token_alg.as_str(),
    )?;
    let new = to_new_client(&metadata, &policy)?;
    let client_id = secret::new_client_id();
    let client_secret = matches!(
        new.auth_method,
        ClientAuthMethod::ClientSecretBasic | ClientAuthMethod::ClientSecretPost
    )
    .then(secret::new_secret);
    let registration_token = secret::new_secret();
    let client = store
        .create_client(
            &client_id,
            client_secret.as_deref().map(secret::hash_secret),
            Some(gatehouse_storage::Registration {
                token_hash: secret::hash_secret(&registration_token),
                policy,
            }),
            &new,
            now,
            &registration_audit("client.register", &client_id, &ip)
                .detail(json!({"client_name": new.name, "registration_token": initial_token})),
        )
        .await?;
    tracing::info!(client = %client.client_id, "client registered");
    let mut out = describe(&state, &client);
    if let Some(s) = client_secret {
        out.insert("client_secret".into(), json!(s));
        out.insert("client_secret_expires_at".into(), json!(0));
    }
    out.insert(
        "registration_access_token".into(),
        json!(registration_token),
    );
    Ok(json_response(StatusCode::CREATED, Value::Object(out)))
}

/// RFC 7591 §5: open registration invites floods; it is counted per address.
async fn throttle_open_registration(state: &AdminState, ip: &str, now: i64) -> Result<(), Refused> {
    let key = format!("register:{}", gatehouse_core::net::address_bucket_of(ip));
    let policy = &gatehouse_authorize::browser::throttle::ADDRESS;
    let counted = state
        .oidc()
        .store
        .count_attempt(&[(key.as_str(), policy)], now)
        .await?;
    if let gatehouse_storage::Attempt::Refused { until } = counted {
        let mut res = error(
            StatusCode::TOO_MANY_REQUESTS,
            "invalid_request",
            "too many registrations from this address; try again later",
        );
        if let Ok(v) = HeaderValue::from_str(&(until - now).max(1).to_string()) {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return Err(res.into());
    }
    Ok(())
}

/// The client named in the path, if the request's bearer token is its registration
/// access token (RFC 7592 §2); anything else is 401, so ids cannot be probed.
async fn authorized(
    state: &AdminState,
    headers: &HeaderMap,
    client_id: &str,
) -> Result<Client, Refused> {
    let token = bearer(headers).ok_or_else(unauthorized)?;
    if client_id.len() > 255 || !secret::is_vschar(client_id) {
        return Err(unauthorized().into());
    }
    let client = state
        .oidc()
        .store
        .client_for_registration_token(client_id, &secret::hash_secret(&token))
        .await?;
    Ok(client.ok_or_else(unauthorized)?)
}

/// `GET /register/{client_id}` (RFC 7592 §2.1).
pub async fn read(
    State(state): State<AdminState>,
    Path(client_id): Path<String>,
    headers: HeaderMap,
) -> Answer {
    let c = authorized(&state, &headers, &client_id).await?;
    Ok(json_response(
        StatusCode::OK,
        Value::Object(describe(&state, &c)),
    ))
}

/// `PUT /register/{client_id}` (RFC 7592 §2.2): the body replaces the metadata. How the
/// client authenticates cannot change this way.
pub async fn update(
    State(state): State<AdminState>,
    ClientIp(ip): ClientIp,
    Path(client_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let current = authorized(&state, &headers, &client_id).await?;
    let metadata = parse_body(&headers, &body)?;
    if metadata.client_id.as_deref() != Some(client_id.as_str()) {
        return Err(metadata_error("the body's client_id must name this client").into());
    }
    refuse_unsupported(
        &metadata,
        state.oidc().minter.settings.id_token_alg.as_str(),
    )?;
    // RFC 7592 §2.2: an update is held to the policy the client registered under.
    let policy = current
        .registration_policy
        .clone()
        .unwrap_or_else(|| state.registration_policy.clone());
    let new = to_new_client(&metadata, &policy)?;
    if new.auth_method != current.auth_method || new.application_type != current.application_type {
        let refused =
            metadata_error("token_endpoint_auth_method and application_type cannot change");
        return Err(refused.into());
    }
    let updated = state
        .oidc()
        .store
        .update_client(
            &client_id,
            &new,
            state.oidc().now(),
            &registration_audit("client.update", &client_id, &ip),
        )
        .await?
        .ok_or_else(unauthorized)?;
    Ok(json_response(
        StatusCode::OK,
        Value::Object(describe(&state, &updated)),
    ))
}

/// `DELETE /register/{client_id}` (RFC 7592 §2.3): the client and its grants are gone.
pub async fn delete(
    State(state): State<AdminState>,
    ClientIp(ip): ClientIp,
    Path(client_id): Path<String>,
    headers: HeaderMap,
) -> Answer {
    authorized(&state, &headers, &client_id).await?;
    state
        .oidc()
        .store
        .delete_client(
            &client_id,
            state.oidc().now(),
            &registration_audit("client.delete", &client_id, &ip),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Changes through the registration endpoint are made by the registering developer, known
/// only by the client they registered.
fn registration_audit(action: &str, client_id: &str, ip: &str) -> Audit {
    let mut audit = Audit::new(format!("registration:{client_id}"), action, client_id);
    audit.address = Some(ip.to_owned());
    audit
}
