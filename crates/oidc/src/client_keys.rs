//! Client public keys published at a `jwks_uri` (RFC 7591 §2), fetched for
//! `private_key_jwt` and cached.
//!
//! Only the URI an administrator registered is ever fetched (never one named by a token);
//! redirects are not followed, the body is capped, and the wait is short. A set is reused
//! for five minutes; a key id it lacks triggers one early refetch, at most once a minute,
//! so a client can rotate keys without an attacker being able to make us fetch at will.

use std::collections::HashMap;
use std::time::Duration;

use gatehouse_core::Client;
use tokio::sync::Mutex;

const FRESH_SECS: i64 = 300;
const REFETCH_AFTER_SECS: i64 = 60;
const MAX_BYTES: usize = 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum KeyFetchError {
    #[error("the client has no registered keys")]
    NoKeys,
    #[error("fetching the client's jwks_uri failed: {0}")]
    Fetch(String),
}

struct Cached {
    jwks: String,
    fetched_at: i64,
}

pub struct ClientKeys {
    http: reqwest::Client,
    cache: Mutex<HashMap<String, Cached>>,
}

impl Default for ClientKeys {
    fn default() -> Self {
        Self::new()
    }
}

impl ClientKeys {
    pub fn new() -> Self {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(3))
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap_or_default();
        Self {
            http,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The client's JWK Set: inline, or from its `jwks_uri` (cached). With `stale_ok`
    /// false, a cached set older than a minute is fetched again (a key id was missing).
    pub async fn jwks(
        &self,
        client: &Client,
        now: i64,
        stale_ok: bool,
    ) -> Result<(String, bool), KeyFetchError> {
        if let Some(j) = &client.jwks {
            return Ok((j.clone(), false));
        }
        let uri = client.jwks_uri.as_deref().ok_or(KeyFetchError::NoKeys)?;
        let mut cache = self.cache.lock().await;
        if let Some(c) = cache.get(uri) {
            let age = now - c.fetched_at;
            if age < FRESH_SECS && (stale_ok || age < REFETCH_AFTER_SECS) {
                return Ok((c.jwks.clone(), false));
            }
        }
        let jwks = self.fetch(uri).await?;
        cache.insert(
            uri.to_owned(),
            Cached {
                jwks: jwks.clone(),
                fetched_at: now,
            },
        );
        Ok((jwks, true))
    }

    async fn fetch(&self, uri: &str) -> Result<String, KeyFetchError> {
        let fail = |e: &dyn std::fmt::Display| KeyFetchError::Fetch(e.to_string());
        let mut res = self.http.get(uri).send().await.map_err(|e| fail(&e))?;
        if !res.status().is_success() {
            return Err(fail(&format!("status {}", res.status())));
        }
        if res.content_length().is_some_and(|l| l > MAX_BYTES as u64) {
            return Err(fail(&"the key set is too large"));
        }
        let mut body = Vec::new();
        while let Some(chunk) = res.chunk().await.map_err(|e| fail(&e))? {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_BYTES {
                return Err(fail(&"the key set is too large"));
            }
        }
        let text = String::from_utf8(body).map_err(|e| fail(&e))?;
        gatehouse_core::client::validate_jwks(&text).map_err(|e| fail(&e))?;
        Ok(text)
    }
}
