//! The device authorization endpoint (RFC 8628 §3.1, §3.2): a device without a browser
//! asks for a device code for itself and a user code for its user.

use axum::extract::State;
use axum::response::Response;
use gatehouse_core::device::{display_user_code, new_user_code};
use gatehouse_core::{Client, DeviceAuthorization, DeviceStatus, GrantType, Scopes, secret};
use gatehouse_oidc::net::ClientIp;
use gatehouse_storage::{Attempt, StoreError, ThrottlePolicy};
use serde_json::json;

use crate::client_auth::{ClientEndpoint, ClientRequest};
use crate::error::TokenError;
use crate::{TokenState, json_no_store};

/// `/device_authorization`.
pub struct DeviceAuthorizationEndpoint;

impl ClientEndpoint for DeviceAuthorizationEndpoint {
    const PATH: &'static str = "/device_authorization";
}

/// How long the user has to approve (RFC 8628 §3.2 `expires_in`).
pub const DEVICE_CODE_TTL: i64 = 600;
/// The initial polling interval.
pub const POLL_INTERVAL: i64 = 5;

/// Device requests per client: 30 at once, then one every 6 s (600 an hour). A flood of
/// requests naming one public client (whose id is no secret) is slowed to that, and costs
/// at most that many rows.
const PER_CLIENT: ThrottlePolicy = ThrottlePolicy {
    free: 30,
    leak_secs: 6,
    base_lock_secs: 6,
    max_lock_secs: 6,
};

/// Device requests per address (an IPv6 /64): 10 at once, one a minute after that, locks
/// growing to 15 minutes for whoever keeps pushing.
const PER_ADDRESS: ThrottlePolicy = ThrottlePolicy {
    free: 10,
    leak_secs: 60,
    base_lock_secs: 60,
    max_lock_secs: 15 * 60,
};

pub async fn device_authorization(
    State(state): State<TokenState>,
    ClientIp(ip): ClientIp,
    ClientRequest { client, form, .. }: ClientRequest<DeviceAuthorizationEndpoint>,
) -> Result<Response, TokenError> {
    if !client.allows_grant(GrantType::DeviceCode) {
        return Err(TokenError::UnauthorizedClient(
            "the client is not registered for the device_code grant".into(),
        ));
    }
    let now = state.oidc.now();
    count(&state, &client, &ip, now).await?;
    let scopes = requested_scopes(form.get("scope"), &client)?;
    let device_code = secret::new_secret();
    // A user code collides with a live one about once in 25 billion draws; draw again.
    for _ in 0..5 {
        let user_code = new_user_code();
        let row = DeviceAuthorization {
            device_code_hash: secret::hash_secret(&device_code),
            user_code: user_code.clone(),
            client_id: client.client_id.clone(),
            scopes: scopes.clone(),
            status: DeviceStatus::Pending,
            interval: POLL_INTERVAL,
            last_polled_at: None,
            grant_id: None,
            created_at: now,
            expires_at: now + DEVICE_CODE_TTL,
        };
        let created = match state.oidc.store.create_device_authorization(&row).await {
            Err(StoreError::Conflict(_)) => continue,
            other => other,
        };
        created.map_err(TokenError::server)?;
        // RFC 8628 §3.2.
        let shown = display_user_code(&user_code);
        let verification_uri = state.oidc.issuer.url("/device");
        return Ok(json_no_store(json!({
            "device_code": device_code,
            "user_code": shown,
            "verification_uri": verification_uri,
            "verification_uri_complete": format!("{verification_uri}?user_code={shown}"),
            "expires_in": DEVICE_CODE_TTL,
            "interval": POLL_INTERVAL,
        })));
    }
    Err(TokenError::server("could not draw a free user code"))
}

/// Counts the request per client and per address before anything is written; a refused
/// request writes nothing at all (the counters' own rows included), so a flood adds no rows
/// once a limit is reached.
async fn count(state: &TokenState, client: &Client, ip: &str, now: i64) -> Result<(), TokenError> {
    let client_key = format!("device-client:{}", client.client_id);
    let address_key = format!(
        "device-address:{}",
        gatehouse_core::net::address_bucket_of(ip)
    );
    let keys = [
        (client_key.as_str(), &PER_CLIENT),
        (address_key.as_str(), &PER_ADDRESS),
    ];
    match state
        .oidc
        .store
        .count_attempt(&keys, now)
        .await
        .map_err(TokenError::server)?
    {
        Attempt::Counted { .. } => Ok(()),
        Attempt::Refused { until } => Err(TokenError::SlowDown {
            retry_after: (until - now).max(1),
        }),
    }
}

/// The scopes asked for: at most 2048 bytes, well-formed (RFC 6749 §3.3), and all allowed
/// to the client.
fn requested_scopes(scope: Option<&str>, client: &Client) -> Result<Scopes, TokenError> {
    let scope = scope.unwrap_or("");
    if scope.len() > 2048 {
        return Err(TokenError::InvalidScope(
            "scope is longer than 2048 bytes".into(),
        ));
    }
    let scopes = Scopes::parse(scope).map_err(|e| TokenError::InvalidScope(e.to_string()))?;
    if !scopes.is_subset(&client.allowed_scopes()) {
        return Err(TokenError::InvalidScope(
            "the client may not ask for every requested scope".into(),
        ));
    }
    Ok(scopes)
}
