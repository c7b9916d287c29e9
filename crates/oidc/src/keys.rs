//! Signing keys: generated at first start, kept as PEM files (mode 0600) in the keys
//! directory, published as a JWKS with public members only.
//!
//! Several keys may exist per algorithm; the newest one signs and all of them verify and
//! are published, so a rotated-out key keeps validating the tokens it signed. A key's `kid`
//! is its RFC 7638 JWK thumbprint, so it never collides and needs no bookkeeping.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
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
}

pub struct SigningKey {
    pub kid: String,
    pub alg: Alg,
    /// Creation time, from the file name; the newest key of an algorithm signs.
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
    fn from_pem(alg: Alg, pem: &[u8], created_at: i64, path: &Path) -> Result<Self, KeyError> {
        let invalid = |e: josekit::JoseError| KeyError::Invalid {
            path: path.to_owned(),
            reason: e.to_string(),
        };
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
        let kid = thumbprint(&public_jwk).ok_or_else(|| KeyError::Invalid {
            path: path.to_owned(),
            reason: "public key lacks the members of its type".into(),
        })?;
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

/// The key set in use, replaceable while the server runs: an admin rotating a key through
/// the admin API swaps in the reloaded set, and the next token is signed with the new key.
#[derive(Debug, Clone)]
pub struct KeyRing(std::sync::Arc<std::sync::RwLock<std::sync::Arc<KeySet>>>);

impl KeyRing {
    pub fn new(set: KeySet) -> Self {
        Self(std::sync::Arc::new(std::sync::RwLock::new(
            std::sync::Arc::new(set),
        )))
    }

    /// The set as it is now (cheap: one reference count).
    pub fn current(&self) -> std::sync::Arc<KeySet> {
        // A poisoned lock only means a writer panicked mid-swap of one pointer: the value
        // is whole either way.
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn replace(&self, set: KeySet) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = std::sync::Arc::new(set);
    }
}

#[derive(Debug)]
pub struct KeySet {
    keys: Vec<SigningKey>,
}

impl KeySet {
    /// Loads every key in `dir`, generating an RS256 and an ES256 key if either is missing.
    pub fn load_or_generate(dir: &Path, now: i64) -> Result<Self, KeyError> {
        let io = |source| KeyError::Io {
            path: dir.to_owned(),
            source,
        };
        fs::create_dir_all(dir).map_err(io)?;
        let mut keys = load_dir(dir)?;
        for alg in Alg::ALL {
            if !keys.iter().any(|k| k.alg == alg) {
                keys.push(generate(dir, alg, now)?);
                tracing::info!(alg = alg.as_str(), dir = %dir.display(), "generated a new signing key");
            }
        }
        Ok(Self { keys })
    }

    /// Generates a new key for `alg` that becomes the signing key; older keys stay published.
    pub fn rotate(dir: &Path, alg: Alg, now: i64) -> Result<String, KeyError> {
        Ok(generate(dir, alg, now)?.kid)
    }

    /// The key that signs new tokens with `alg`: the newest one.
    pub fn active(&self, alg: Alg) -> Option<&SigningKey> {
        self.keys
            .iter()
            .filter(|k| k.alg == alg)
            .max_by_key(|k| k.created_at)
    }

    pub fn by_kid(&self, kid: &str) -> Option<&SigningKey> {
        self.keys.iter().find(|k| k.kid == kid)
    }

    pub fn all(&self) -> &[SigningKey] {
        &self.keys
    }

    /// The JSON Web Key Set: public members only (RFC 7517 §5).
    pub fn jwks(&self) -> Value {
        let keys: Vec<Value> = self
            .keys
            .iter()
            .map(|k| Value::Object(k.public_jwk.as_ref().clone()))
            .collect();
        json!({ "keys": keys })
    }
}

fn load_dir(dir: &Path) -> Result<Vec<SigningKey>, KeyError> {
    let mut keys = Vec::new();
    let entries = fs::read_dir(dir).map_err(|source| KeyError::Io {
        path: dir.to_owned(),
        source,
    })?;
    for entry in entries {
        let path = entry
            .map_err(|source| KeyError::Io {
                path: dir.to_owned(),
                source,
            })?
            .path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        // File names: <alg>-<created unix seconds>.pem
        let Some(stem) = name.strip_suffix(".pem") else {
            continue;
        };
        let Some((prefix, created)) = stem.split_once('-') else {
            continue;
        };
        let Some(alg) = Alg::ALL.into_iter().find(|a| a.file_prefix() == prefix) else {
            continue;
        };
        let created_at = created.parse().map_err(|_| KeyError::Invalid {
            path: path.clone(),
            reason: "file name must be <alg>-<unix time>.pem".into(),
        })?;
        let pem = fs::read(&path).map_err(|source| KeyError::Io {
            path: path.clone(),
            source,
        })?;
        keys.push(SigningKey::from_pem(alg, &pem, created_at, &path)?);
    }
    Ok(keys)
}

fn generate(dir: &Path, alg: Alg, now: i64) -> Result<SigningKey, KeyError> {
    let gen_err = |e: josekit::JoseError| KeyError::Generate(e.to_string());
    let pem = match alg {
        Alg::RS256 => RS256
            .generate_key_pair(2048)
            .map_err(gen_err)?
            .to_pem_private_key(),
        Alg::ES256 => ES256
            .generate_key_pair()
            .map_err(gen_err)?
            .to_pem_private_key(),
    };
    // Never overwrite: two keys made in the same second get distinct names.
    let mut created = now;
    let path = loop {
        let p = dir.join(format!("{}-{created}.pem", alg.file_prefix()));
        if !p.exists() {
            break p;
        }
        created += 1;
    };
    write_private(&path, &pem)?;
    SigningKey::from_pem(alg, &pem, created, &path)
}

fn write_private(path: &Path, pem: &[u8]) -> Result<(), KeyError> {
    let io = |source| KeyError::Io {
        path: path.to_owned(),
        source,
    };
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(io)?;
    file.write_all(pem).map_err(io)?;
    file.sync_all().map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_once_and_publishes_public_members_only() {
        let dir = std::env::temp_dir().join(format!("gatehouse-keys-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let first = KeySet::load_or_generate(&dir, 1_700_000_000).unwrap();
        let second = KeySet::load_or_generate(&dir, 1_700_000_100).unwrap();
        assert_eq!(first.all().len(), 2);
        assert_eq!(
            first.active(Alg::RS256).unwrap().kid,
            second.active(Alg::RS256).unwrap().kid
        );
        let jwks = first.jwks().to_string();
        for private in [
            "\"d\"", "\"p\"", "\"q\"", "\"dp\"", "\"dq\"", "\"qi\"", "\"k\"",
        ] {
            assert!(!jwks.contains(private), "{private} in {jwks}");
        }
        #[cfg(unix)]
        for entry in fs::read_dir(&dir).unwrap() {
            use std::os::unix::fs::PermissionsExt;
            let mode = entry.unwrap().metadata().unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let kid = KeySet::rotate(&dir, Alg::ES256, 1_700_000_200).unwrap();
        let rotated = KeySet::load_or_generate(&dir, 1_700_000_300).unwrap();
        assert_eq!(rotated.active(Alg::ES256).unwrap().kid, kid);
        assert_eq!(rotated.all().len(), 3);
        fs::remove_dir_all(&dir).unwrap();
    }
}
