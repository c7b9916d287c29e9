//! Browser sessions: the cookie, the row behind it, and the CSRF token it carries.
//!
//! The cookie holds a 256-bit random value; the database keeps only its SHA-256. The
//! cookie is `HttpOnly; SameSite=Lax; Path=/`, and with an https issuer also `Secure` with
//! the `__Host-` prefix, so no subdomain can plant or overwrite it.

use axum::http::{HeaderMap, HeaderValue, header};
use gatehouse_core::{BrowserSession, Params, User, secret};
use gatehouse_storage::StoreResult;

use crate::AuthorizeState;
use crate::error::PageError;

/// Lifetime of a session before anyone signs in (long enough to read the login page).
pub const ANONYMOUS_TTL: i64 = 60 * 60;

#[derive(Debug, Clone)]
pub struct CookieSettings {
    pub name: &'static str,
    pub secure: bool,
}

impl CookieSettings {
    pub fn for_issuer(https: bool) -> Self {
        if https {
            Self {
                name: "__Host-gatehouse-session",
                secure: true,
            }
        } else {
            Self {
                name: "gatehouse-session",
                secure: false,
            }
        }
    }

    pub fn set(&self, value: &str) -> HeaderValue {
        let secure = if self.secure { "; Secure" } else { "" };
        HeaderValue::from_str(&format!(
            "{}={value}; Path=/; HttpOnly; SameSite=Lax{secure}",
            self.name
        ))
        .unwrap_or_else(|_| HeaderValue::from_static(""))
    }

    pub fn clear(&self) -> HeaderValue {
        let secure = if self.secure { "; Secure" } else { "" };
        HeaderValue::from_str(&format!(
            "{}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}",
            self.name
        ))
        .unwrap_or_else(|_| HeaderValue::from_static(""))
    }

    /// The session cookie's value, if the request carries a well-formed one.
    pub fn read(&self, headers: &HeaderMap) -> Option<String> {
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == self.name)
            .map(|(_, value)| value.to_owned())
            .filter(|v| {
                v.len() == 43
                    && v.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            })
    }
}

/// A session as a request sees it: the row, and whether a cookie must be set.
pub struct Current {
    pub session: BrowserSession,
    pub set_cookie: Option<HeaderValue>,
}

impl AuthorizeState {
    /// The live session named by the request's cookie.
    pub async fn load_session(&self, headers: &HeaderMap) -> StoreResult<Option<BrowserSession>> {
        let Some(value) = self.cookie.read(headers) else {
            return Ok(None);
        };
        self.oidc
            .store
            .find_session(&secret::hash_secret(&value), self.oidc.now())
            .await
    }

    /// The session's user, if it is signed in and the account is still enabled.
    pub async fn signed_in_user(
        &self,
        session: Option<&BrowserSession>,
    ) -> StoreResult<Option<(User, i64)>> {
        let Some((user_id, auth_time)) = session.and_then(|s| s.authenticated()) else {
            return Ok(None);
        };
        Ok(self
            .oidc
            .store
            .find_user(user_id)
            .await?
            .filter(|u| !u.disabled)
            .map(|u| (u, auth_time)))
    }

    /// A browser without a session row, known only by its cookie value: nothing is stored
    /// for it. Its CSRF token is a MAC of the cookie's hash, so any node can check it, and
    /// a sign-in replaces it with a real session (a new value, a row).
    fn anonymous(&self, value: &str) -> BrowserSession {
        let id_hash = secret::hash_secret(value);
        let now = self.oidc.now();
        BrowserSession {
            csrf_token: self.oidc.sealer.mac("anonymous-csrf", id_hash.as_bytes()),
            id_hash,
            sid: String::new(),
            user_id: None,
            auth_time: None,
            created_at: now,
            expires_at: now + ANONYMOUS_TTL,
        }
    }

    /// The request's session: its row, or, for a browser with a cookie but no row, the
    /// anonymous session that cookie names.
    pub async fn current_session(
        &self,
        headers: &HeaderMap,
    ) -> StoreResult<Option<BrowserSession>> {
        let Some(value) = self.cookie.read(headers) else {
            return Ok(None);
        };
        let found = self
            .oidc
            .store
            .find_session(&secret::hash_secret(&value), self.oidc.now())
            .await?;
        Ok(Some(found.unwrap_or_else(|| self.anonymous(&value))))
    }

    /// The request's session, or a new anonymous one (which needs its cookie set). Writes
    /// nothing: anonymous traffic costs no row (the first successful sign-in creates one).
    pub async fn ensure_session(&self, headers: &HeaderMap) -> StoreResult<Current> {
        if let Some(session) = self.current_session(headers).await? {
            return Ok(Current {
                session,
                set_cookie: None,
            });
        }
        let value = secret::new_secret();
        Ok(Current {
            session: self.anonymous(&value),
            set_cookie: Some(self.cookie.set(&value)),
        })
    }

    /// A fresh session row and the cookie value that names it. Every field is new, the
    /// CSRF token included, so nothing from before a login survives it.
    pub fn new_session(&self, user: Option<(&str, i64)>) -> (String, BrowserSession) {
        let value = secret::new_secret();
        let now = self.oidc.now();
        let ttl = if user.is_some() {
            self.session_ttl
        } else {
            ANONYMOUS_TTL
        };
        let session = BrowserSession {
            id_hash: secret::hash_secret(&value),
            sid: secret::random_token(16),
            user_id: user.map(|(u, _)| u.to_owned()),
            auth_time: user.map(|(_, t)| t),
            csrf_token: secret::new_secret(),
            created_at: now,
            expires_at: now + ttl,
        };
        (value, session)
    }
}

impl AuthorizeState {
    /// Signs `user_id` in: a fresh session replaces `old` (session fixation, ASVS 7.2.4),
    /// and the cookie that names it.
    pub(crate) async fn sign_in(
        &self,
        old: &BrowserSession,
        user_id: &str,
    ) -> StoreResult<(HeaderValue, BrowserSession)> {
        let (value, fresh) = self.new_session(Some((user_id, self.oidc.now())));
        self.oidc
            .store
            .replace_session(Some(&old.id_hash), &fresh)
            .await?;
        Ok((self.cookie.set(&value), fresh))
    }

    /// Reads a form POSTed from one of our pages and checks that its CSRF token belongs to
    /// the request's session (RFC 6749 §10.12). Anything else is refused with 403.
    pub(crate) async fn csrf_form(
        &self,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<(Params, BrowserSession), PageError> {
        if !gatehouse_oidc::is_form(headers) {
            return Err(PageError::csrf_refused());
        }
        let form = Params::parse(body);
        match self.current_session(headers).await? {
            Some(s) if csrf_ok(Some(&s), form.get("csrf_token")) => Ok((form, s)),
            _ => Err(PageError::csrf_refused()),
        }
    }
}

/// Does the submitted CSRF token belong to this session (RFC 6749 §10.12)?
fn csrf_ok(session: Option<&BrowserSession>, submitted: Option<&str>) -> bool {
    match (session, submitted) {
        (Some(s), Some(t)) => secret::constant_time_eq(&s.csrf_token, t),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_issuers_get_host_prefixed_secure_cookies() {
        let c = CookieSettings::for_issuer(true);
        let set = c.set("v").to_str().unwrap().to_owned();
        assert!(set.starts_with("__Host-gatehouse-session=v;"), "{set}");
        for attr in ["Secure", "HttpOnly", "SameSite=Lax", "Path=/"] {
            assert!(set.contains(attr), "{set}");
        }
        assert!(!set.contains("Domain"));
        let plain = CookieSettings::for_issuer(false)
            .set("v")
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            !plain.contains("Secure") && !plain.starts_with("__Host-"),
            "{plain}"
        );
    }

    #[test]
    fn only_well_formed_cookies_are_read() {
        let c = CookieSettings::for_issuer(false);
        let good = "a".repeat(43);
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("x=1; gatehouse-session={good}")).unwrap(),
        );
        assert_eq!(c.read(&h), Some(good));
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("gatehouse-session=' OR 1=1"),
        );
        assert_eq!(c.read(&h), None);
    }
}
