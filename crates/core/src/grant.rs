//! Grants and the authorization codes that carry them to the token endpoint.

use crate::scope::Scopes;

/// An authorization a user (or, for client credentials, the client itself) gave a client.
/// Every token derives from one grant; revoking the grant revokes them all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub id: String,
    pub client_id: String,
    pub user_id: Option<String>,
    pub scopes: Scopes,
    pub sid: Option<String>,
    pub auth_time: Option<i64>,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

/// The stored row of an authorization code: everything the token endpoint needs, so the
/// authorization and token crates share this row and nothing else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationCode {
    pub code_hash: String,
    pub grant_id: String,
    pub client_id: String,
    pub user_id: String,
    /// The `redirect_uri` parameter of the authorization request, if it was sent; the token
    /// request must then repeat it exactly (RFC 6749 §4.1.3).
    pub redirect_uri: Option<String>,
    pub scopes: Scopes,
    pub nonce: Option<String>,
    /// The PKCE challenge in the form [`crate::pkce::accept_challenge`] returned.
    pub pkce_challenge: Option<String>,
    pub sid: String,
    pub auth_time: i64,
    pub created_at: i64,
    pub expires_at: i64,
    pub consumed_at: Option<i64>,
}

/// A refresh token row. The token itself is never stored, only its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshToken {
    pub token_hash: String,
    pub grant_id: String,
    pub client_id: String,
    pub created_at: i64,
    /// Idle expiry: unused for this long, the token dies.
    pub expires_at: i64,
    /// Absolute expiry of the whole family, however often it is rotated.
    pub absolute_expires_at: i64,
    pub consumed_at: Option<i64>,
}

/// Where a device authorization stands (RFC 8628 §3.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceStatus {
    Pending,
    Approved,
    Denied,
    /// Tokens were issued: the device code is spent.
    Consumed,
}

impl DeviceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Denied => "denied",
            Self::Consumed => "consumed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Pending, Self::Approved, Self::Denied, Self::Consumed]
            .into_iter()
            .find(|d| d.as_str() == s)
    }
}

/// A device authorization request (RFC 8628 §3.1), stored by the hash of its device code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceAuthorization {
    pub device_code_hash: String,
    /// Normalised (`BCDFGHJK`); unique among live requests.
    pub user_code: String,
    pub client_id: String,
    pub scopes: Scopes,
    pub status: DeviceStatus,
    /// Seconds the device must wait between polls; grows by 5 at each `slow_down`.
    pub interval: i64,
    pub last_polled_at: Option<i64>,
    /// Set at approval: the grant that the tokens will derive from.
    pub grant_id: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
}

/// An opaque access token's row; the token itself is never stored, only its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpaqueAccessToken {
    pub token_hash: String,
    pub grant_id: Option<String>,
    pub client_id: String,
    pub sub: String,
    pub scopes: Scopes,
    pub auth_time: Option<i64>,
    pub created_at: i64,
    pub expires_at: i64,
    /// The API it is for (RFC 8707); `None`: the issuer.
    pub audience: Option<String>,
}
