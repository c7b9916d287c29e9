//! Token endpoint errors (RFC 6749 §5.2), one variant per registered error code.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("invalid_request: {0}")]
    InvalidRequest(String),
    /// Client authentication failed. `basic` says the client tried HTTP Basic, which calls
    /// for a `WWW-Authenticate` challenge (RFC 6749 §5.2).
    #[error("invalid_client: {description}")]
    InvalidClient { description: String, basic: bool },
    #[error("invalid_grant: {0}")]
    InvalidGrant(String),
    #[error("unauthorized_client: {0}")]
    UnauthorizedClient(String),
    #[error("unsupported_grant_type: {0}")]
    UnsupportedGrantType(String),
    #[error("invalid_scope: {0}")]
    InvalidScope(String),
    /// RFC 8707 §2: the `resource` is not one this server issues tokens for.
    #[error("invalid_target: {0}")]
    InvalidTarget(String),
    /// The device flow's polling answers (RFC 8628 §3.5).
    #[error("{}", .0.code())]
    Device(DeviceError),
    /// Too many requests (the device authorization endpoint's throttles): 429 with
    /// `Retry-After`.
    #[error("slow_down: retry after {retry_after} s")]
    SlowDown { retry_after: i64 },
    /// Something failed on our side. The detail goes to the log, never to the client.
    #[error("server_error: {0}")]
    Server(String),
    /// The store could not be asked, where the answer must not be guessed: revocation
    /// answers 503 rather than a false 200 (RFC 7009 §2.2.1).
    #[error("temporarily_unavailable: {0}")]
    Unavailable(String),
}

impl TokenError {
    pub fn invalid_request(d: impl Into<String>) -> Self {
        Self::InvalidRequest(d.into())
    }

    pub fn invalid_grant(d: impl Into<String>) -> Self {
        Self::InvalidGrant(d.into())
    }

    pub fn server(e: impl std::fmt::Display) -> Self {
        Self::Server(e.to_string())
    }

    fn code(&self) -> &'static str {
        match self {
            Self::InvalidRequest(_) => "invalid_request",
            Self::InvalidClient { .. } => "invalid_client",
            Self::InvalidGrant(_) => "invalid_grant",
            Self::UnauthorizedClient(_) => "unauthorized_client",
            Self::UnsupportedGrantType(_) => "unsupported_grant_type",
            Self::InvalidScope(_) => "invalid_scope",
            Self::InvalidTarget(_) => "invalid_target",
            Self::Device(e) => e.code(),
            Self::SlowDown { .. } => "slow_down",
            Self::Server(_) => "server_error",
            Self::Unavailable(_) => "temporarily_unavailable",
        }
    }
}

/// Every token endpoint response, success or error, must not be cached (RFC 6749 §5.1).
pub fn no_store(res: &mut Response) {
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

impl IntoResponse for TokenError {
    fn into_response(self) -> Response {
        let (status, description) = match &self {
            Self::InvalidClient { description, .. } => {
                (StatusCode::UNAUTHORIZED, description.clone())
            }
            Self::Unavailable(detail) => {
                tracing::error!(detail = %detail, "storage unavailable");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the server cannot complete the request right now; try again".to_owned(),
                )
            }
            Self::Server(detail) => {
                tracing::error!(detail = %detail, "token endpoint failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the server could not complete the request; no token was issued".to_owned(),
                )
            }
            Self::Device(e) => (StatusCode::BAD_REQUEST, e.description().to_owned()),
            Self::SlowDown { retry_after } => (
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "too many device authorization requests; retry after {retry_after} seconds"
                ),
            ),
            Self::InvalidRequest(d)
            | Self::InvalidGrant(d)
            | Self::UnauthorizedClient(d)
            | Self::UnsupportedGrantType(d)
            | Self::InvalidScope(d)
            | Self::InvalidTarget(d) => (StatusCode::BAD_REQUEST, d.clone()),
        };
        let mut res = (
            status,
            axum::Json(json!({
                "error": self.code(),
                "error_description": gatehouse_core::error_description(&description),
            })),
        )
            .into_response();
        if let Self::SlowDown { retry_after } = self
            && let Ok(v) = HeaderValue::from_str(&retry_after.to_string())
        {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
        if let Self::InvalidClient { basic: true, .. } = self {
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"gatehouse\", charset=\"UTF-8\""),
            );
        }
        no_store(&mut res);
        res
    }
}

/// Why a device access token request got no token yet, or never will (RFC 8628 §3.5).
/// All are 400.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceError {
    /// The user has not answered yet: poll again after the interval.
    AuthorizationPending,
    /// Polled faster than the interval: the interval grows by 5 seconds.
    SlowDown,
    /// The user denied the request.
    AccessDenied,
    /// The device code expired before the user answered.
    ExpiredToken,
}

impl DeviceError {
    /// The `error` code.
    pub fn code(self) -> &'static str {
        match self {
            Self::AuthorizationPending => "authorization_pending",
            Self::SlowDown => "slow_down",
            Self::AccessDenied => "access_denied",
            Self::ExpiredToken => "expired_token",
        }
    }

    /// The `error_description`.
    pub fn description(self) -> &'static str {
        match self {
            Self::AuthorizationPending => "the user has not yet approved the request",
            Self::SlowDown => "polling too fast: wait 5 more seconds between requests",
            Self::AccessDenied => "the user denied the request",
            Self::ExpiredToken => "the device code has expired; start again",
        }
    }
}

impl From<DeviceError> for TokenError {
    fn from(e: DeviceError) -> Self {
        Self::Device(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The device errors as the client sees them: 400, the RFC 8628 §3.5 code, no caching.
    #[test]
    fn device_errors_on_the_wire() {
        for (error, code) in [
            (DeviceError::AuthorizationPending, "authorization_pending"),
            (DeviceError::SlowDown, "slow_down"),
            (DeviceError::AccessDenied, "access_denied"),
            (DeviceError::ExpiredToken, "expired_token"),
        ] {
            let e = TokenError::from(error);
            assert_eq!(e.code(), code);
            assert_eq!(e.to_string(), code);
            let res = e.into_response();
            assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{code}");
            assert_eq!(res.headers()[header::CACHE_CONTROL], "no-store");
        }
    }
}
