//! The user's side of the device authorization grant (RFC 8628 §3.3): the verification
//! page at `/device`. The user signs in, types the code shown on the device (or arrives
//! with it filled in from `verification_uri_complete`, and still confirms), sees which
//! client asks for what, and allows or denies. Wrong codes are throttled per signed-in
//! user and per address (§5.1), and every form carries the session's CSRF token.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use gatehouse_core::device::{display_user_code, normalize_user_code};
use gatehouse_core::{BrowserSession, Grant, Params, User, secret};
use gatehouse_storage::{Attempt, ThrottlePolicy};

use crate::endpoint::see_other;
use crate::error::PageError;
use crate::login::device_path;
use crate::pages::{self, DeviceApprovePage, DeviceEnterPage, MessagePage};
use crate::{AuthorizeState, ClientIp};

pub fn routes() -> Router<AuthorizeState> {
    Router::new()
        .route("/device", get(device_page).post(device_submit))
        .route("/device/approve", post(device_approve))
}

/// Five wrong codes, draining one every three minutes (five per code lifetime), per
/// signed-in user and per address: with 20^8 codes that leaves an attacker about 2^-32 per
/// code lifetime (RFC 8628 §5.1). Per user, not per session, so signing in again does not
/// start a new allowance.
const DEVICE_THROTTLE: ThrottlePolicy = ThrottlePolicy {
    free: 5,
    leak_secs: 3 * 60,
    base_lock_secs: 60,
    max_lock_secs: 15 * 60,
};

const BAD_CODE: &str = "That code is not valid, or it has expired. Check the code on your device.";

fn enter_page(
    state: &AuthorizeState,
    status: StatusCode,
    session: &BrowserSession,
    user: &User,
    code: &str,
    error: Option<&str>,
) -> Response {
    pages::render(
        status,
        &DeviceEnterPage {
            issuer: state.oidc.issuer.as_str(),
            csrf_token: &session.csrf_token,
            user_code: code,
            username: &user.username,
            error,
        },
    )
}

fn message(state: &AuthorizeState, status: StatusCode, title: &str, text: &str) -> Response {
    pages::render(
        status,
        &MessagePage {
            issuer: state.oidc.issuer.as_str(),
            title,
            text,
        },
    )
}

/// The signed-in user of this request, or the redirect to sign in first.
async fn signed_in(
    state: &AuthorizeState,
    session: Option<&BrowserSession>,
    code: Option<&str>,
) -> Result<(User, i64), PageError> {
    if let Some(user) = state.signed_in_user(session).await? {
        return Ok(user);
    }
    let code = code
        .and_then(normalize_user_code)
        .unwrap_or_else(|| "-".into());
    Err(see_other(&state.oidc.issuer.url(&format!("/login?device={code}"))).into())
}

async fn device_page(
    State(state): State<AuthorizeState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let params = Params::parse(query.unwrap_or_default().as_bytes());
    let typed = params.get("user_code");
    let session = state.load_session(&headers).await?;
    let (user, _) = signed_in(&state, session.as_ref(), typed).await?;
    let Some(session) = session else {
        return Ok(see_other(&state.oidc.issuer.url(&device_path(typed))));
    };
    // Prefilled from verification_uri_complete, but never acted on without a submit.
    let shown = typed
        .and_then(normalize_user_code)
        .map(|c| display_user_code(&c))
        .unwrap_or_default();
    Ok(enter_page(
        &state,
        StatusCode::OK,
        &session,
        &user,
        &shown,
        None,
    ))
}

/// Counts a typed code against the throttle, then looks it up: the pending request it
/// names (the count forgiven), `None` for a wrong code, or the page to answer with.
async fn counted_lookup(
    state: &AuthorizeState,
    session: &BrowserSession,
    user: &User,
    ip: &str,
    typed: Option<&str>,
    now: i64,
) -> Result<Option<gatehouse_core::DeviceAuthorization>, PageError> {
    let user_key = format!("device-user:{}", user.id);
    let ip_key = format!("device-ip:{}", gatehouse_core::net::address_bucket_of(ip));
    let keys = [
        (user_key.as_str(), &DEVICE_THROTTLE),
        (ip_key.as_str(), &DEVICE_THROTTLE),
    ];
    let store = &state.oidc.store;
    let locks = match store.count_attempt(&keys, now).await? {
        Attempt::Counted { locks_until, .. } => locks_until,
        Attempt::Refused { until } => return Err(too_many(state, session, user, until, now)),
    };
    let found = match typed.and_then(normalize_user_code) {
        None => None,
        Some(code) => store.find_pending_device(&code, now).await?,
    };
    match (found, locks) {
        (Some(device), _) => {
            store.forgive_attempt(&keys, now).await?;
            Ok(Some(device))
        }
        (None, Some(until)) => Err(too_many(state, session, user, until, now)),
        (None, None) => Ok(None),
    }
}

fn too_many(
    state: &AuthorizeState,
    session: &BrowserSession,
    user: &User,
    until: i64,
    now: i64,
) -> PageError {
    let mut res = enter_page(
        state,
        StatusCode::TOO_MANY_REQUESTS,
        session,
        user,
        "",
        Some("Too many wrong codes. Wait a few minutes and try again."),
    );
    if let Ok(v) = axum::http::HeaderValue::from_str(&(until - now).max(1).to_string()) {
        res.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
    }
    res.into()
}

async fn device_submit(
    State(state): State<AuthorizeState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    let (form, session) = state.csrf_form(&headers, &body).await?;
    let typed = form.get("user_code").unwrap_or("");
    let (user, _) = signed_in(&state, Some(&session), Some(typed)).await?;
    let now = state.oidc.now();
    let found = counted_lookup(&state, &session, &user, &ip, Some(typed), now).await?;
    let wrong_code = |shown: &str| {
        enter_page(
            &state,
            StatusCode::BAD_REQUEST,
            &session,
            &user,
            shown,
            Some(BAD_CODE),
        )
    };
    let Some(device) = found else {
        return Ok(wrong_code(if typed.len() <= 16 { typed } else { "" }));
    };
    let Some(client) = state.oidc.store.find_client(&device.client_id).await? else {
        return Ok(wrong_code(""));
    };
    Ok(pages::render(
        StatusCode::OK,
        &DeviceApprovePage {
            issuer: state.oidc.issuer.as_str(),
            csrf_token: &session.csrf_token,
            user_code: &display_user_code(&device.user_code),
            client_name: &client.name,
            username: &user.username,
            scopes: pages::scope_lines(&device.scopes),
        },
    ))
}

async fn device_approve(
    State(state): State<AuthorizeState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    let (form, session) = state.csrf_form(&headers, &body).await?;
    let (user, auth_time) = signed_in(&state, Some(&session), None).await?;
    let now = state.oidc.now();
    let no_longer_valid = || {
        message(
            &state,
            StatusCode::BAD_REQUEST,
            "Code no longer valid",
            BAD_CODE,
        )
    };
    // The code arrives again with the answer, so it is counted again: guessing here is no
    // cheaper than on the entry form (RFC 8628 §5.1).
    let Some(device) =
        counted_lookup(&state, &session, &user, &ip, form.get("user_code"), now).await?
    else {
        return Ok(no_longer_valid());
    };
    let store = &state.oidc.store;
    Ok(match form.get("decision") {
        Some("allow") => {
            let grant = Grant {
                id: secret::random_token(16),
                client_id: device.client_id.clone(),
                user_id: Some(user.id.clone()),
                scopes: device.scopes.clone(),
                sid: Some(session.sid.clone()),
                auth_time: Some(auth_time),
                created_at: now,
                revoked_at: None,
            };
            if !store.approve_device(&device.user_code, &grant, now).await? {
                return Ok(no_longer_valid());
            }
            message(
                &state,
                StatusCode::OK,
                "Device connected",
                "You can return to your device now.",
            )
        }
        Some("deny") => {
            store.deny_device(&device.user_code, now).await?;
            message(
                &state,
                StatusCode::OK,
                "Request denied",
                "The device was not given access.",
            )
        }
        _ => message(
            &state,
            StatusCode::BAD_REQUEST,
            "Invalid answer",
            "Choose Allow or Deny.",
        ),
    })
}
