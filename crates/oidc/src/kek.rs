//! The key-encryption key (KEK): 256 bits that seal the private signing keys in the
//! database (a JWE, `dir` + `A256GCM`, the key's kid in the authenticated header) and from
//! which the sealer of browser state is derived. Every node needs the same one.

use std::fs;
use std::io::Write;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::keys::KeyError;

/// The key-encryption key: 256 bits that seal the private signing keys in the database.
#[derive(Clone)]
pub struct Kek([u8; 32]);

impl std::fmt::Debug for Kek {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Kek(..)")
    }
}

impl Kek {
    /// From its text form: 32 bytes in base64url (43 characters).
    pub fn from_text(text: &str) -> Result<Self, KeyError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(text.trim().trim_end_matches('='))
            .map_err(|_| KeyError::Kek("must be 32 bytes in base64url".into()))?;
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|_| KeyError::Kek("must be 32 bytes in base64url".into()))?;
        Ok(Self(key))
    }

    /// A new random key.
    pub fn generate() -> Self {
        let mut key = [0u8; 32];
        let random = URL_SAFE_NO_PAD
            .decode(gatehouse_core::secret::new_secret())
            .unwrap_or_default();
        key.copy_from_slice(&random[..32.min(random.len())]);
        Self(key)
    }

    pub fn to_text(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0)
    }

    /// Reads the key from `path`, creating it (mode 0600) when the file does not exist.
    pub fn load_or_create(path: &Path) -> Result<Self, KeyError> {
        match fs::read_to_string(path) {
            Ok(text) => Self::from_text(&text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if let Some(dir) = path.parent() {
                    fs::create_dir_all(dir).map_err(|source| KeyError::Io {
                        path: dir.to_owned(),
                        source,
                    })?;
                }
                let kek = Self::generate();
                write_private(path, kek.to_text().as_bytes())?;
                tracing::info!(path = %path.display(), "generated a key-encryption key");
                Ok(kek)
            }
            Err(source) => Err(KeyError::Io {
                path: path.to_owned(),
                source,
            }),
        }
    }

    /// Reads the key from an existing file.
    pub fn load(path: &Path) -> Result<Self, KeyError> {
        let text = fs::read_to_string(path).map_err(|source| KeyError::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::from_text(&text)
    }

    /// The sealer for browser state, derived from this key (every node derives the same).
    pub fn sealer(&self) -> crate::Sealer {
        crate::Sealer::derive(&self.0)
    }

    pub(crate) fn seal(&self, kid: &str, pem: &[u8]) -> Result<String, KeyError> {
        let err = |e: josekit::JoseError| KeyError::Kek(e.to_string());
        let mut header = josekit::jwe::JweHeader::new();
        header.set_content_encryption("A256GCM");
        header.set_key_id(kid);
        let encrypter = josekit::jwe::Dir
            .encrypter_from_bytes(self.0)
            .map_err(err)?;
        josekit::jwe::serialize_compact(pem, &header, &encrypter).map_err(err)
    }

    pub(crate) fn open(&self, kid: &str, sealed: &str) -> Result<Vec<u8>, KeyError> {
        let refused = || KeyError::Sealed {
            kid: kid.to_owned(),
        };
        let decrypter = josekit::jwe::Dir
            .decrypter_from_bytes(self.0)
            .map_err(|_| refused())?;
        let (pem, header) =
            josekit::jwe::deserialize_compact(sealed, &decrypter).map_err(|_| refused())?;
        // The kid is in the authenticated header: a sealed key copied into another row
        // does not open there.
        if header.key_id() != Some(kid) {
            return Err(refused());
        }
        Ok(pem)
    }
}

pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> Result<(), KeyError> {
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
    file.write_all(bytes).map_err(io)?;
    file.sync_all().map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_keys_open_only_with_their_kek_and_in_their_row() {
        let pem =
            b"-----BEGIN PRIVATE KEY-----\nnot really a key\n-----END PRIVATE KEY-----\n".to_vec();
        let kek = Kek::generate();
        let sealed = kek.seal("kid-a", &pem).unwrap();
        assert!(!sealed.contains("PRIVATE"));
        assert_eq!(kek.open("kid-a", &sealed).unwrap(), pem);
        assert!(matches!(
            kek.open("kid-b", &sealed),
            Err(KeyError::Sealed { .. })
        ));
        assert!(matches!(
            Kek::generate().open("kid-a", &sealed),
            Err(KeyError::Sealed { .. })
        ));
        let text = kek.to_text();
        assert_eq!(text.len(), 43);
        assert_eq!(Kek::from_text(&text).unwrap().0, kek.0);
        assert!(Kek::from_text("short").is_err());
    }
}
