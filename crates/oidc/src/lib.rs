//! OpenID Connect: signing keys, ID and access tokens, discovery, JWKS and userinfo.

pub mod bearer;
pub mod claims;
pub mod client_assertion;
pub mod client_keys;
pub mod cors;
pub mod discovery;
mod kek;
pub mod keys;
pub mod net;
pub mod seal;
pub mod tokens;
pub mod userinfo;

use axum::http::{HeaderMap, header};

use std::sync::Arc;

use axum::Router;
use gatehouse_core::Clock;
use gatehouse_storage::Store;

pub use keys::{Alg, Kek, KeyRing, KeySet, RingSettings};
pub use seal::Sealer;
pub use tokens::{AccessTokenClaims, Minter, TokenSettings};

/// The issuer identifier (OIDC Discovery §3, RFC 8414 §2): an https URL (http on loopback)
/// with no query or fragment. Every URL the server emits is built from it, never from the
/// request's `Host` or `X-Forwarded-*` headers (RFC 9700 §4.13).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issuer(String);

impl Issuer {
    /// `value` must already be validated by configuration; a trailing slash is dropped.
    pub fn new(value: &str) -> Self {
        Self(value.trim_end_matches('/').to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The absolute URL of one of this server's endpoints.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.0, path)
    }

    pub fn is_https(&self) -> bool {
        self.0.starts_with("https://")
    }

    /// Is the issuer on a loopback host (a development or test server)?
    pub fn is_loopback(&self) -> bool {
        url::Url::parse(&self.0)
            .ok()
            .is_some_and(|u| match u.host() {
                Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
                None => false,
            })
    }
}

/// What the OpenID Connect handlers, and the endpoints that mint tokens, share.
#[derive(Clone)]
pub struct Oidc {
    pub store: Store,
    pub keys: KeyRing,
    pub issuer: Issuer,
    pub minter: Minter,
    pub clock: Arc<dyn Clock>,
    /// Client key sets fetched from `jwks_uri`s.
    pub client_keys: Arc<client_keys::ClientKeys>,
    /// Seals what the server hands browsers before they have a session row.
    pub sealer: Sealer,
    /// Reverse proxies whose `X-Forwarded-For` is believed (see [`net::ClientIp`]).
    pub trusted_proxies: Arc<[std::net::IpAddr]>,
}

impl Oidc {
    pub fn new(
        store: Store,
        keys: KeyRing,
        issuer: Issuer,
        settings: TokenSettings,
        clock: Arc<dyn Clock>,
        sealer: Sealer,
    ) -> Self {
        let minter = Minter {
            issuer: issuer.as_str().to_owned(),
            settings,
        };
        // Only a development server (loopback issuer) may fetch client keys from loopback
        // or private addresses.
        let client_keys = Arc::new(client_keys::ClientKeys::new(issuer.is_loopback()));
        Self {
            store,
            keys,
            issuer,
            minter,
            clock,
            client_keys,
            sealer,
            trusted_proxies: Arc::from(Vec::new()),
        }
    }

    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    /// The ring to sign with: reloaded when stale, or this node's copy if the database
    /// cannot be read right now (its keys are still ours).
    pub async fn signing_keys(&self) -> Arc<KeySet> {
        match self.keys.fresh().await {
            Ok(set) => set,
            Err(e) => {
                tracing::warn!(error = %e, "key ring reload failed; signing with the copy held");
                self.keys.current()
            }
        }
    }

    /// The ring to verify `token` with: reloaded when stale, and once more if the token
    /// names a key this node has not seen (another node may have just published it).
    /// `Err` means the ring could not be read, so nobody can tell whether the token is ours.
    pub async fn keys_for(&self, token: &str) -> Result<Arc<KeySet>, keys::KeyError> {
        let kid = josekit::jwt::decode_header(token)
            .ok()
            .and_then(|h| h.claim("kid").and_then(|v| v.as_str()).map(str::to_owned));
        self.keys.for_kid(kid.as_deref()).await
    }

    /// As [`Oidc::keys_for`], falling back to this node's copy where a refusal is the safe
    /// answer anyway (an `id_token_hint`, a known-device cookie).
    pub async fn verification_keys(&self, token: &str) -> Arc<KeySet> {
        match self.keys_for(token).await {
            Ok(set) => set,
            Err(e) => {
                tracing::warn!(error = %e, "key ring reload failed; verifying with the copy held");
                self.keys.current()
            }
        }
    }

    /// The admin API as a resource (RFC 8707): it owns the `gatehouse:admin` scope, and
    /// its tokens live at most `admin_token_ttl`.
    pub fn admin_resource(&self) -> gatehouse_core::Resource {
        gatehouse_core::Resource::admin_api(
            self.issuer.as_str(),
            Some(self.minter.settings.admin_token_ttl),
        )
    }

    /// Every API tokens may be issued for: the admin API and the registered ones.
    pub async fn resources(
        &self,
    ) -> Result<Vec<gatehouse_core::Resource>, gatehouse_storage::StoreError> {
        let mut all = vec![self.admin_resource()];
        all.extend(self.store.list_resources().await?);
        Ok(all)
    }

    /// Is this access token good right now? Its signature and claims must check out, its
    /// `jti` must not have been revoked, and the grant it derives from (if any) must be
    /// live. `Ok(None)` means inactive; `Err` means the store could not say.
    pub async fn active_access_token(
        &self,
        token: &str,
    ) -> Result<Option<AccessTokenClaims>, gatehouse_storage::StoreError> {
        let claims = if token.contains('.') {
            let keys = self.keys_for(token).await.map_err(|e| match e {
                keys::KeyError::Store(e) => e,
                other => gatehouse_storage::StoreError::Corrupt(other.to_string()),
            })?;
            let Ok(claims) = self.minter.verify_access_token(&keys, token, self.now()) else {
                return Ok(None);
            };
            if self.store.is_access_token_revoked(&claims.jti).await? {
                return Ok(None);
            }
            claims
        } else {
            // An opaque token: live while its row is (revocation deletes it).
            if token.len() > 256 || !gatehouse_core::secret::is_vschar(token) {
                return Ok(None);
            }
            let hash = gatehouse_core::secret::hash_secret(token);
            let Some(row) = self.store.find_access_token(&hash, self.now()).await? else {
                return Ok(None);
            };
            AccessTokenClaims {
                jti: row.token_hash,
                sub: row.sub,
                client_id: row.client_id,
                scopes: row.scopes,
                grant_id: row.grant_id,
                iat: row.created_at,
                exp: row.expires_at,
                auth_time: row.auth_time,
                audience: row
                    .audience
                    .unwrap_or_else(|| self.issuer.as_str().to_owned()),
            }
        };
        if let Some(gid) = &claims.grant_id {
            let live = self
                .store
                .find_grant(gid)
                .await?
                .is_some_and(|g| g.revoked_at.is_none());
            if !live {
                return Ok(None);
            }
        }
        Ok(Some(claims))
    }
}

/// Discovery, JWKS and userinfo.
pub fn routes(state: Oidc) -> Router {
    Router::new()
        .merge(discovery::routes())
        .merge(userinfo::routes())
        .with_state(state)
}

/// Is the request body `application/x-www-form-urlencoded`? The protocol's POST bodies
/// (RFC 6749 §3.2, OIDC Core §3.1.2.1, RFC 6750 §2.2) must be, and nothing else is parsed.
pub fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}
