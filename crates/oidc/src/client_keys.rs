//! Client public keys published at a `jwks_uri` (RFC 7591 §2), fetched for
//! `private_key_jwt` and cached.
//!
//! Only a URI that was registered is ever fetched (never one named by a token); redirects
//! are not followed, the body is capped, and the wait is short. Unless the server runs on
//! a loopback issuer (development), the address fetched must be a public one: loopback,
//! private, link-local, unique-local, shared (CGNAT) and documentation ranges are refused
//! both for IP literals and for every address a name resolves to, so a registered URI
//! cannot reach into the server's own network (SSRF).
//!
//! Per URI there is at most one fetch a minute, whatever happens: a set is reused for five
//! minutes, a key id it lacks triggers one early refetch once a minute has passed, and a
//! failed fetch is not retried for a minute either. No lock is held while fetching, so a
//! slow key server delays only its own client.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use gatehouse_core::Client;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use tokio::sync::Mutex;

const FRESH_SECS: i64 = 300;
const MIN_FETCH_GAP_SECS: i64 = 60;
const MAX_BYTES: usize = 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum KeyFetchError {
    #[error("the client has no registered keys")]
    NoKeys,
    #[error("fetching the client's jwks_uri failed: {0}")]
    Fetch(String),
}

#[derive(Default)]
struct Entry {
    jwks: Option<String>,
    fetched_at: i64,
    last_attempt: Option<i64>,
}

pub struct ClientKeys {
    http: Option<reqwest::Client>,
    allow_private: bool,
    cache: Mutex<HashMap<String, Entry>>,
}

/// The most `jwks_uri` key sets held in memory at once.
pub const MAX_CACHED: usize = 1000;

/// Keeps the cache bounded: before a new URI gets an entry in a full cache, the tenth of
/// the entries used longest ago go (they are fetched again when needed).
fn make_room(cache: &mut HashMap<String, Entry>, uri: &str) {
    if cache.len() < MAX_CACHED || cache.contains_key(uri) {
        return;
    }
    let mut by_age: Vec<(String, i64)> = cache
        .iter()
        .map(|(k, e)| (k.clone(), e.last_attempt.unwrap_or(e.fetched_at)))
        .collect();
    by_age.sort_by_key(|(_, t)| *t);
    for (k, _) in by_age.into_iter().take(MAX_CACHED / 10) {
        cache.remove(&k);
    }
}

/// Is this an address the server may fetch client keys from in production?
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_multicast()
                || o[0] == 0
                || (o[0] == 100 && (64..128).contains(&o[1]))
                || (o[0] == 192 && o[1] == 0 && o[2] == 0)
                || (o[0] == 198 && (18..20).contains(&o[1]))
                || o[0] >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let s = v6.segments();
            // Addresses that embed or reach IPv4 space (NAT64 64:ff9b::/96, 6to4 2002::/16,
            // Teredo 2001::/32, IPv4-compatible ::/96) could lead anywhere in it, private
            // networks included; site-local fec0::/10 is private by definition.
            let nat64 = s[0] == 0x0064 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0];
            let six_to_four = s[0] == 0x2002;
            let teredo = s[0] == 0x2001 && s[1] == 0x0000;
            let v4_compatible = s[..6] == [0, 0, 0, 0, 0, 0];
            let site_local = (s[0] & 0xffc0) == 0xfec0;
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || (s[0] == 0x2001 && s[1] == 0x0db8)
                || nat64
                || six_to_four
                || teredo
                || v4_compatible
                || site_local)
        }
    }
}

/// Resolves names and keeps only public addresses (checked at connect time, so a name
/// that later resolves elsewhere cannot slip through: no DNS rebinding).
struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), 0))
                .await?
                .filter(|a| is_public(a.ip()))
                .collect();
            if addrs.is_empty() {
                return Err("the name resolves to no public address".into());
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// An error with its causes, so a log says why a request failed, not only that it did.
fn with_causes(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

impl ClientKeys {
    /// `allow_private` lets a development server (loopback issuer) fetch from loopback or
    /// private addresses; production refuses them.
    pub fn new(allow_private: bool) -> Self {
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(3))
            .timeout(Duration::from_secs(5))
            .no_proxy();
        if !allow_private {
            builder = builder.dns_resolver(Arc::new(PublicOnly));
        }
        // Fail closed: without a correctly configured client, nothing is fetched.
        let http = builder
            .build()
            .map_err(|e| tracing::error!(error = %e, "cannot build the HTTP client for jwks_uri"))
            .ok();
        Self {
            http,
            allow_private,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The client's JWK Set: inline, or from its `jwks_uri`. With `want_fresh`, a set at
    /// least a minute old is fetched again (an assertion named a key id it lacks). Returns
    /// the set and whether it was fetched just now.
    pub async fn jwks(
        &self,
        client: &Client,
        now: i64,
        want_fresh: bool,
    ) -> Result<(String, bool), KeyFetchError> {
        if let Some(j) = &client.jwks {
            return Ok((j.clone(), false));
        }
        let uri = client.jwks_uri.as_deref().ok_or(KeyFetchError::NoKeys)?;
        {
            let mut cache = self.cache.lock().await;
            make_room(&mut cache, uri);
            let entry = cache.entry(uri.to_owned()).or_default();
            let fresh = entry.jwks.is_some() && now - entry.fetched_at < FRESH_SECS && !want_fresh;
            let may_fetch = entry
                .last_attempt
                .is_none_or(|t| now - t >= MIN_FETCH_GAP_SECS);
            if fresh || !may_fetch {
                return match &entry.jwks {
                    Some(j) if now - entry.fetched_at < FRESH_SECS || !may_fetch => {
                        Ok((j.clone(), false))
                    }
                    _ => Err(KeyFetchError::Fetch(
                        "fetched too recently to fetch again".into(),
                    )),
                };
            }
            // Reserve this minute's fetch before releasing the lock.
            entry.last_attempt = Some(now);
        }
        let fetched = self.fetch(uri).await;
        let mut cache = self.cache.lock().await;
        let entry = cache.entry(uri.to_owned()).or_default();
        match fetched {
            Ok(jwks) => {
                entry.jwks = Some(jwks.clone());
                entry.fetched_at = now;
                Ok((jwks, true))
            }
            // Keep serving the last good set while the key server is down.
            Err(e) => match &entry.jwks {
                Some(j) => {
                    tracing::warn!(uri, error = %e, "jwks_uri fetch failed; using the last good set");
                    Ok((j.clone(), false))
                }
                None => Err(e),
            },
        }
    }

    async fn fetch(&self, uri: &str) -> Result<String, KeyFetchError> {
        let fail = |e: &dyn std::fmt::Display| KeyFetchError::Fetch(e.to_string());
        let http = self.http.as_ref().ok_or_else(|| fail(&"no HTTP client"))?;
        let url = reqwest::Url::parse(uri).map_err(|e| fail(&e))?;
        // IP literals never reach the resolver: check them here.
        if !self.allow_private
            && let Some(url::Host::Ipv4(_) | url::Host::Ipv6(_)) = url.host()
        {
            let ip: IpAddr = url
                .host_str()
                .unwrap_or_default()
                .trim_matches(['[', ']'])
                .parse()
                .map_err(|e| fail(&e))?;
            if !is_public(ip) {
                return Err(fail(&"jwks_uri points at a non-public address"));
            }
        }
        let mut res = http
            .get(url)
            .send()
            .await
            .map_err(|e| fail(&with_causes(&e)))?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_are_fetchable() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "192.0.2.1",
            "198.18.0.1",
            // IPv6 ways into IPv4 space, and site-local.
            "64:ff9b::a00:1",
            "2002:a00:1::1",
            "2001:0:4136:e378::1",
            "::a00:1",
            "fec0::1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in ["93.184.216.34", "1.1.1.1", "2606:4700::1111"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    #[test]
    fn the_key_cache_is_bounded() {
        let mut cache = HashMap::new();
        for i in 0..5 * MAX_CACHED {
            let uri = format!("https://c{i}.example/jwks");
            make_room(&mut cache, &uri);
            cache.insert(
                uri,
                Entry {
                    jwks: Some("{}".into()),
                    fetched_at: i as i64,
                    last_attempt: Some(i as i64),
                },
            );
            assert!(cache.len() <= MAX_CACHED);
        }
        // The newest stay.
        assert!(cache.contains_key(&format!("https://c{}.example/jwks", 5 * MAX_CACHED - 1)));
        assert!(!cache.contains_key("https://c0.example/jwks"));
    }

    #[tokio::test]
    async fn production_refuses_private_literals_without_connecting() {
        let keys = ClientKeys::new(false);
        for uri in [
            "https://169.254.169.254/latest/meta-data",
            "http://127.0.0.1:1/jwks",
            "https://[::1]/jwks",
        ] {
            let e = keys.fetch(uri).await.unwrap_err();
            assert!(e.to_string().contains("non-public"), "{uri}: {e}");
        }
    }

    #[tokio::test]
    async fn production_refuses_names_that_resolve_to_private_addresses() {
        // `localhost` resolves to loopback: the resolver drops it, so nothing connects.
        let keys = ClientKeys::new(false);
        let e = keys.fetch("http://localhost:1/jwks").await.unwrap_err();
        assert!(format!("{e:?}").contains("no public address"), "{e:?}");
    }
}
