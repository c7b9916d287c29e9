//! Signing keys: one key ring in the database, shared by every node.
//!
//! Keys live in `signing_keys` with their private part sealed by the key-encryption key
//! ([`Kek`]: a JWE with `dir` and `A256GCM`, the key's kid in its protected header so a
//! sealed key cannot be moved to another row). A key is `next` (published in the JWKS, not
//! signing) until its activation time, then `active` (signs; one per algorithm), then
//! `retired` (published so what it signed keeps verifying) until every token it signed has
//! expired, then removed. A rotation publishes the new key `lead_secs` before it signs.
//!
//! Each node holds the ring in memory ([`KeyRing`]) and reloads it when it is older than
//! `reload_secs` by the server's clock (so every node sees a change within that bound), and
//! once more when a token names a kid it does not know. A reload reads the kids and states
//! first and opens only keys it has not seen. A key's `kid` is its RFC 7638 JWK thumbprint.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, RwLock};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse_core::{Audit, Clock};
use gatehouse_storage::{KeyState, Store, StoreError, StoredKey};

pub use crate::kek::Kek;
use josekit::jwk::{Jwk, KeyPair};
use josekit::jws::{ES256, JwsSigner, JwsVerifier, RS256};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

/// The signature algorithms Gatehouse signs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Alg {
    /// Mandatory for OpenID Connect ID tokens (OIDC Core §15.1).
    RS256,
    /// Smaller and faster: the default for access tokens.
    ES256,
}

impl Alg {
    pub const ALL: [Alg; 2] = [Alg::RS256, Alg::ES256];

    pub fn as_str(self) -> &'static str {
        match self {
            Alg::RS256 => "RS256",
            Alg::ES256 => "ES256",
        }
    }

    fn file_prefix(self) -> &'static str {
        match self {
            Alg::RS256 => "rs256",
            Alg::ES256 => "es256",
        }
    }

    pub fn parse(value: &str) -> Option<Alg> {
        Alg::ALL.into_iter().find(|a| a.as_str() == value)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("keys directory {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("key file {path}: {reason}")]
    Invalid { path: PathBuf, reason: String },
    #[error("key generation failed: {0}")]
    Generate(String),
    #[error(
        "signing key {kid} cannot be opened with this key-encryption key (every node needs the same one)"
    )]
    Sealed { kid: String },
    #[error("key-encryption key: {0}")]
    Kek(String),
    #[error("{0}")]
    Store(#[from] StoreError),
}

pub struct SigningKey {
    pub kid: String,
    pub alg: Alg,
    pub created_at: i64,
    signer: Box<dyn JwsSigner>,
    verifier: Box<dyn JwsVerifier>,
    public_jwk: Jwk,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    fn from_pem(alg: Alg, pem: &[u8], created_at: i64) -> Result<Self, String> {
        let invalid = |e: josekit::JoseError| e.to_string();
        let mut public_jwk = match alg {
            Alg::RS256 => RS256
                .key_pair_from_pem(pem)
                .map_err(invalid)?
                .to_jwk_public_key(),
            Alg::ES256 => ES256
                .key_pair_from_pem(pem)
                .map_err(invalid)?
                .to_jwk_public_key(),
        };
        let kid = thumbprint(&public_jwk)
            .ok_or_else(|| "public key lacks the members of its type".to_owned())?;
        public_jwk.set_key_id(&kid);
        public_jwk.set_algorithm(alg.as_str());
        public_jwk.set_key_use("sig");
        let (signer, verifier): (Box<dyn JwsSigner>, Box<dyn JwsVerifier>) = match alg {
            Alg::RS256 => (
                Box::new(RS256.signer_from_pem(pem).map_err(invalid)?),
                Box::new(RS256.verifier_from_jwk(&public_jwk).map_err(invalid)?),
            ),
            Alg::ES256 => (
                Box::new(ES256.signer_from_pem(pem).map_err(invalid)?),
                Box::new(ES256.verifier_from_jwk(&public_jwk).map_err(invalid)?),
            ),
        };
        Ok(Self {
            kid,
            alg,
            created_at,
            signer,
            verifier,
            public_jwk,
        })
    }

    pub fn signer(&self) -> &dyn JwsSigner {
        self.signer.as_ref()
    }

    pub fn verifier(&self) -> &dyn JwsVerifier {
        self.verifier.as_ref()
    }

    pub fn public_jwk(&self) -> &Jwk {
        &self.public_jwk
    }
}

/// RFC 7638 thumbprint: SHA-256 over the required members in lexicographic order.
fn thumbprint(jwk: &Jwk) -> Option<String> {
    let members: &[&str] = match jwk.key_type() {
        "RSA" => &["e", "kty", "n"],
        "EC" => &["crv", "kty", "x", "y"],
        _ => return None,
    };
    let mut canonical = Map::new();
    for m in members {
        canonical.insert((*m).to_owned(), jwk.parameter(m)?.clone());
    }
    // serde_json's Map is ordered by key, which is the order RFC 7638 asks for.
    let json = Value::Object(canonical).to_string();
    Some(URL_SAFE_NO_PAD.encode(Sha256::digest(json.as_bytes())))
}

/// A key of the ring as a node holds it.
#[derive(Debug, Clone)]
pub struct RingKey {
    pub key: Arc<SigningKey>,
    pub state: KeyState,
    pub activates_at: i64,
    pub remove_at: Option<i64>,
}

/// The ring as loaded: every published key and its state.
#[derive(Debug, Default)]
pub struct KeySet {
    keys: Vec<RingKey>,
}

impl KeySet {
    /// The key that signs new tokens with `alg`.
    pub fn active(&self, alg: Alg) -> Option<&SigningKey> {
        self.keys
            .iter()
            .filter(|k| k.key.alg == alg && k.state == KeyState::Active)
            .max_by_key(|k| (k.key.created_at, k.key.kid.clone()))
            .map(|k| k.key.as_ref())
    }

    /// Any published key (next, active or retired) by its kid.
    pub fn by_kid(&self, kid: &str) -> Option<&SigningKey> {
        self.keys
            .iter()
            .find(|k| k.key.kid == kid)
            .map(|k| k.key.as_ref())
    }

    pub fn ring(&self) -> &[RingKey] {
        &self.keys
    }

    /// The JSON Web Key Set: public members only (RFC 7517 §5), every published key.
    pub fn jwks(&self) -> Value {
        let keys: Vec<Value> = self
            .keys
            .iter()
            .map(|k| Value::Object(k.key.public_jwk.as_ref().clone()))
            .collect();
        json!({ "keys": keys })
    }

    fn states(&self) -> Vec<(String, KeyState)> {
        let mut s: Vec<(String, KeyState)> = self
            .keys
            .iter()
            .map(|k| (k.key.kid.clone(), k.state))
            .collect();
        s.sort_by(|a, b| a.0.cmp(&b.0));
        s
    }
}

/// How the ring is kept.
#[derive(Debug, Clone, Copy)]
pub struct RingSettings {
    /// A node reloads the ring when its copy is this old (seconds).
    pub reload_secs: i64,
    /// A rotated key is published this long before it signs.
    pub lead_secs: i64,
    /// A retired key stays published this long (the longest token lifetime, and some).
    pub retain_secs: i64,
    /// Rotate each algorithm's key when the signing one is this old (none: only by hand).
    pub rotation_interval: Option<i64>,
}

impl Default for RingSettings {
    fn default() -> Self {
        Self {
            reload_secs: 30,
            lead_secs: 300,
            retain_secs: 3600 + 60,
            rotation_interval: None,
        }
    }
}

struct Inner {
    store: Store,
    kek: Kek,
    clock: Arc<dyn Clock>,
    settings: RingSettings,
    set: RwLock<Arc<KeySet>>,
    loaded_at: AtomicI64,
    reloading: tokio::sync::Mutex<()>,
}

/// This node's copy of the shared key ring.
#[derive(Clone)]
pub struct KeyRing(Arc<Inner>);

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing")
            .field("keys", &self.current().keys.len())
            .finish_non_exhaustive()
    }
}

impl KeyRing {
    /// Opens the ring: imports key files found in `import_dir` (renaming each to
    /// `*.imported`), generates a key for an algorithm that has none, settles states, and
    /// loads it. Fails if a key cannot be opened with `kek`.
    pub async fn open(
        store: Store,
        kek: Kek,
        clock: Arc<dyn Clock>,
        settings: RingSettings,
        import_dir: Option<&Path>,
    ) -> Result<Self, KeyError> {
        let ring = Self(Arc::new(Inner {
            store,
            kek,
            clock,
            settings,
            set: RwLock::new(Arc::new(KeySet::default())),
            loaded_at: AtomicI64::new(i64::MIN),
            reloading: tokio::sync::Mutex::new(()),
        }));
        if let Some(dir) = import_dir {
            ring.import_files(dir).await?;
        }
        let now = ring.now();
        let stored = ring.0.store.list_signing_keys().await?;
        for alg in Alg::ALL {
            let has = stored.iter().any(|k| {
                k.alg == alg.as_str() && matches!(k.state, KeyState::Active | KeyState::Next)
            });
            if !has {
                ring.add_key(alg, KeyState::Active, now, None).await?;
                tracing::info!(alg = alg.as_str(), "generated a new signing key");
            }
        }
        ring.reload().await?;
        Ok(ring)
    }

    fn now(&self) -> i64 {
        self.0.clock.now()
    }

    pub fn settings(&self) -> RingSettings {
        self.0.settings
    }

    /// The ring as last loaded (no reload).
    pub fn current(&self) -> Arc<KeySet> {
        // A poisoned lock only means a writer panicked mid-swap of one pointer: the value
        // is whole either way.
        self.0.set.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The ring, reloaded first if this node's copy is older than `reload_secs`.
    pub async fn fresh(&self) -> Result<Arc<KeySet>, KeyError> {
        let loaded = self.0.loaded_at.load(Ordering::Acquire);
        if self.now().saturating_sub(loaded) < self.0.settings.reload_secs {
            return Ok(self.current());
        }
        let reload_secs = self.0.settings.reload_secs;
        self.reload_if(|_, loaded_at, now| now.saturating_sub(loaded_at) >= reload_secs)
            .await
    }

    /// The ring for verifying a token whose header names `kid`: reloaded once more if the
    /// kid is unknown here (another node may have just published it).
    pub async fn for_kid(&self, kid: Option<&str>) -> Result<Arc<KeySet>, KeyError> {
        let set = self.fresh().await?;
        match kid {
            Some(kid) if set.by_kid(kid).is_none() && looks_like_kid(kid) => {
                self.reload_if(|set, _, _| set.by_kid(kid).is_none()).await
            }
            _ => Ok(set),
        }
    }

    /// Reloads now.
    pub async fn reload(&self) -> Result<Arc<KeySet>, KeyError> {
        self.reload_if(|_, _, _| true).await
    }

    /// One reload at a time: callers that waited see the set the one before them loaded
    /// and reload again only if `still` says so.
    async fn reload_if(
        &self,
        still: impl Fn(&KeySet, i64, i64) -> bool,
    ) -> Result<Arc<KeySet>, KeyError> {
        let _guard = self.0.reloading.lock().await;
        let current = self.current();
        let now = self.now();
        if !still(&current, self.0.loaded_at.load(Ordering::Acquire), now) {
            return Ok(current);
        }
        let store = &self.0.store;
        let changes = store.advance_keys(now, self.0.settings.retain_secs).await?;
        if !changes.is_empty() {
            tracing::info!(
                activated = ?changes.activated,
                retired = ?changes.retired,
                removed = ?changes.removed,
                "signing keys moved on"
            );
        }
        if self.rotate_when_due(&current, now).await? {
            store.advance_keys(now, self.0.settings.retain_secs).await?;
        }
        let states = store.signing_key_states().await?;
        let set = if states == current.states() && !current.keys.is_empty() {
            current
        } else {
            Arc::new(self.build(&current).await?)
        };
        *self.0.set.write().unwrap_or_else(|e| e.into_inner()) = set.clone();
        self.0.loaded_at.store(now, Ordering::Release);
        Ok(set)
    }

    /// The stored ring, opening only keys `previous` does not hold already.
    async fn build(&self, previous: &KeySet) -> Result<KeySet, KeyError> {
        let mut keys = Vec::new();
        for stored in self.0.store.list_signing_keys().await? {
            let Some(alg) = Alg::parse(&stored.alg) else {
                tracing::warn!(kid = %stored.kid, alg = %stored.alg, "signing key of an unknown algorithm ignored");
                continue;
            };
            let key = match previous.keys.iter().find(|k| k.key.kid == stored.kid) {
                Some(k) => k.key.clone(),
                None => {
                    let pem = self.0.kek.open(&stored.kid, &stored.sealed_private_key)?;
                    let key = SigningKey::from_pem(alg, &pem, stored.created_at).map_err(|_| {
                        KeyError::Sealed {
                            kid: stored.kid.clone(),
                        }
                    })?;
                    if key.kid != stored.kid {
                        return Err(KeyError::Sealed { kid: stored.kid });
                    }
                    Arc::new(key)
                }
            };
            keys.push(RingKey {
                key,
                state: stored.state,
                activates_at: stored.activates_at,
                remove_at: stored.remove_at,
            });
        }
        Ok(KeySet { keys })
    }

    /// Scheduled rotation: a new `next` key for each algorithm whose signing key is older
    /// than `rotation_interval` and that has no next key yet.
    async fn rotate_when_due(&self, set: &KeySet, now: i64) -> Result<bool, KeyError> {
        let Some(interval) = self.0.settings.rotation_interval else {
            return Ok(false);
        };
        let mut rotated = false;
        for alg in Alg::ALL {
            let has_next = set
                .keys
                .iter()
                .any(|k| k.key.alg == alg && k.state == KeyState::Next);
            let due = set
                .active(alg)
                .is_some_and(|k| now.saturating_sub(k.created_at) >= interval);
            if due && !has_next {
                let audit = Audit::new("gatehouse", "key.rotate", alg.as_str())
                    .detail(json!({"scheduled": true}));
                self.add_key(alg, KeyState::Next, now, Some(&audit)).await?;
                rotated = true;
            }
        }
        Ok(rotated)
    }

    /// Generates a key for `alg`, seals it and stores it in `state`; a `next` key activates
    /// after the lead time. Returns its kid.
    async fn add_key(
        &self,
        alg: Alg,
        state: KeyState,
        now: i64,
        audit: Option<&Audit>,
    ) -> Result<String, KeyError> {
        // RSA key generation takes a while: off the async runtime.
        let pem = tokio::task::spawn_blocking(move || generate_pem(alg))
            .await
            .map_err(|e| KeyError::Generate(e.to_string()))??;
        let key = SigningKey::from_pem(alg, &pem, now).map_err(KeyError::Generate)?;
        let activates_at = match state {
            KeyState::Next => now + self.0.settings.lead_secs,
            _ => now,
        };
        let audit = audit.map(|a| {
            a.clone()
                .detail(json!({"kid": key.kid, "alg": alg.as_str(), "activates_at": activates_at}))
        });
        self.0
            .store
            .insert_signing_key(
                &StoredKey {
                    kid: key.kid.clone(),
                    alg: alg.as_str().to_owned(),
                    state,
                    sealed_private_key: self.0.kek.seal(&key.kid, &pem)?,
                    created_at: now,
                    activates_at,
                    retired_at: None,
                    remove_at: None,
                },
                audit.as_ref(),
                now,
            )
            .await?;
        Ok(key.kid)
    }

    /// Rotates `alg`: a new key, published now, signing after the lead time (at once when
    /// the lead time is 0), on every node within the reload bound. The ring must open with
    /// this node's key-encryption key first, so a wrong one cannot split the ring.
    pub async fn rotate(&self, alg: Alg, audit: &Audit) -> Result<String, KeyError> {
        self.reload().await?;
        let kid = self
            .add_key(alg, KeyState::Next, self.now(), Some(audit))
            .await?;
        self.reload().await?;
        Ok(kid)
    }

    /// Imports `<alg>-<unix time>.pem` files from before keys lived in the database, each
    /// once (the file is renamed to `*.imported`); the newest of each algorithm then signs.
    async fn import_files(&self, dir: &Path) -> Result<(), KeyError> {
        let Ok(entries) = fs::read_dir(dir) else {
            return Ok(());
        };
        let now = self.now();
        for entry in entries.flatten() {
            let path = entry.path();
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            let Some(stem) = name.strip_suffix(".pem") else {
                continue;
            };
            let Some((prefix, created)) = stem.split_once('-') else {
                continue;
            };
            let Some(alg) = Alg::ALL.into_iter().find(|a| a.file_prefix() == prefix) else {
                continue;
            };
            let invalid = |reason: String| KeyError::Invalid {
                path: path.clone(),
                reason,
            };
            let created_at: i64 = created
                .parse()
                .map_err(|_| invalid("file name must be <alg>-<unix time>.pem".into()))?;
            let pem = fs::read(&path).map_err(|source| KeyError::Io {
                path: path.clone(),
                source,
            })?;
            let key = SigningKey::from_pem(alg, &pem, created_at).map_err(invalid)?;
            // Imported as active, signing from its file time: `advance_keys` keeps the newest
            // active one of each algorithm and retires the rest.
            let inserted = self
                .0
                .store
                .insert_signing_key(
                    &StoredKey {
                        kid: key.kid.clone(),
                        alg: alg.as_str().to_owned(),
                        state: KeyState::Active,
                        sealed_private_key: self.0.kek.seal(&key.kid, &pem)?,
                        created_at: created_at.min(now),
                        activates_at: created_at.min(now),
                        retired_at: None,
                        remove_at: None,
                    },
                    Some(
                        &Audit::new("gatehouse", "key.import", &key.kid)
                            .detail(json!({"file": name, "alg": alg.as_str()})),
                    ),
                    now,
                )
                .await?;
            let done = path.with_file_name(format!("{name}.imported"));
            fs::rename(&path, &done).map_err(|source| KeyError::Io {
                path: path.clone(),
                source,
            })?;
            tracing::info!(file = %done.display(), kid = %key.kid, inserted, "imported a signing key file into the database; the file may be deleted");
        }
        self.0
            .store
            .advance_keys(now, self.0.settings.retain_secs)
            .await?;
        Ok(())
    }
}

/// A kid this server could have issued: an RFC 7638 thumbprint (43 base64url characters).
/// Others never cause a reload.
fn looks_like_kid(kid: &str) -> bool {
    kid.len() == 43
        && kid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn generate_pem(alg: Alg) -> Result<Vec<u8>, KeyError> {
    let gen_err = |e: josekit::JoseError| KeyError::Generate(e.to_string());
    Ok(match alg {
        Alg::RS256 => RS256
            .generate_key_pair(2048)
            .map_err(gen_err)?
            .to_pem_private_key(),
        Alg::ES256 => ES256
            .generate_key_pair()
            .map_err(gen_err)?
            .to_pem_private_key(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_keys_have_public_members_only() {
        let pem = generate_pem(Alg::RS256).unwrap();
        let key = SigningKey::from_pem(Alg::RS256, &pem, 0).unwrap();
        let set = KeySet {
            keys: vec![RingKey {
                key: Arc::new(key),
                state: KeyState::Active,
                activates_at: 0,
                remove_at: None,
            }],
        };
        let jwks = set.jwks().to_string();
        for private in [
            "\"d\"", "\"p\"", "\"q\"", "\"dp\"", "\"dq\"", "\"qi\"", "\"k\"",
        ] {
            assert!(!jwks.contains(private), "{private} in {jwks}");
        }
        assert!(looks_like_kid(&set.ring()[0].key.kid));
        assert!(!looks_like_kid("../../etc/passwd"));
    }
}
