//! The device access token request (RFC 8628 §3.4, §3.5): the device polls with its
//! device code until the user has approved or denied, or the code expires.

use gatehouse_core::{Client, GrantType, Params, scope, secret};
use gatehouse_storage::DevicePoll;

use super::TokenResponse;
use crate::TokenState;
use crate::error::{DeviceError, TokenError};

#[derive(Debug)]
pub struct Request {
    device_code: String,
}

impl Request {
    pub fn parse(form: &Params) -> Result<Self, TokenError> {
        let device_code = form
            .get("device_code")
            .ok_or_else(|| TokenError::invalid_request("device_code is required"))?;
        if device_code.len() > 256 || !secret::is_vschar(device_code) {
            return Err(TokenError::invalid_grant(INVALID));
        }
        Ok(Self {
            device_code: device_code.to_owned(),
        })
    }
}

const INVALID: &str = "the device code is invalid or was already used";

pub async fn exchange(
    state: &TokenState,
    client: &Client,
    req: Request,
    resource: Option<&str>,
) -> Result<TokenResponse, TokenError> {
    let oidc = &state.oidc;
    let store = &oidc.store;
    let now = oidc.now();
    let hash = secret::hash_secret(&req.device_code);
    let mut refresh_value = None;
    let resources = super::resources(state).await?;
    let mut access = None;
    let poll = store
        .poll_device(
            &hash,
            &client.client_id,
            |row| {
                // RFC 8707: the audience is settled before the device code is spent; a
                // refusal leaves it for a corrected poll.
                access = Some(super::access_for(
                    state,
                    &resources,
                    &row.scopes,
                    None,
                    resource,
                ));
                if matches!(access, Some(Err(_))) {
                    return Err(());
                }
                // As for codes: a refresh token when the client may refresh and, for an
                // OpenID request, offline_access was approved.
                let wants = client.allows_grant(GrantType::RefreshToken)
                    && (!row.scopes.contains(scope::OPENID)
                        || row.scopes.contains(scope::OFFLINE_ACCESS));
                let Some(grant_id) = row.grant_id.as_deref() else {
                    return Ok(None);
                };
                Ok(wants.then(|| {
                    let absolute = now + oidc.minter.settings.refresh_token_absolute_ttl;
                    let (value, r) = super::refresh_token::new_refresh_token(
                        state,
                        grant_id,
                        &client.client_id,
                        absolute,
                        now,
                    );
                    refresh_value = Some(value);
                    r
                }))
            },
            now,
        )
        .await
        .map_err(TokenError::server)?;
    let row = match poll {
        DevicePoll::Approved(row) => row,
        DevicePoll::Pending => return Err(DeviceError::AuthorizationPending.into()),
        DevicePoll::SlowDown => return Err(DeviceError::SlowDown.into()),
        DevicePoll::Denied => return Err(DeviceError::AccessDenied.into()),
        DevicePoll::Expired => return Err(DeviceError::ExpiredToken.into()),
        DevicePoll::Unknown | DevicePoll::Consumed => {
            return Err(TokenError::invalid_grant(INVALID));
        }
        DevicePoll::Refused => {
            return Err(match access {
                Some(Err(e)) => e,
                _ => TokenError::invalid_grant(INVALID),
            });
        }
    };
    let access = match access {
        Some(Ok(a)) => a,
        Some(Err(e)) => return Err(e),
        None => return Err(TokenError::invalid_grant(INVALID)),
    };
    let grant_id = row
        .grant_id
        .as_deref()
        .ok_or_else(|| TokenError::invalid_grant(INVALID))?;
    let grant = store
        .find_grant(grant_id)
        .await
        .map_err(TokenError::server)?
        .filter(|g| g.revoked_at.is_none())
        .ok_or_else(|| TokenError::invalid_grant(INVALID))?;
    let user = super::active_user(state, grant.user_id.as_deref()).await?;

    super::user_token_response(
        state,
        client,
        super::UserTokens {
            user_id: &user.id,
            grant_id: &grant.id,
            scopes: &grant.scopes,
            auth_time: grant.auth_time,
            sid: grant.sid.as_deref(),
            nonce: None,
            refresh_token: refresh_value,
            access,
        },
        now,
    )
    .await
}
