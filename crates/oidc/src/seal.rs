//! Server-side secrecy without server-side state: values the server hands a browser and
//! must get back unchanged (a pending authorization request before anyone has signed in,
//! the CSRF token of a browser without a session row) are sealed or MACed with a key every
//! node derives from the key-encryption key, so any node can open what another sealed.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// HMAC-SHA256 (RFC 2104) over `message` with `key`.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut k = [0u8; BLOCK];
    if key.len() > BLOCK {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(k.map(|b| b ^ 0x36));
    inner.update(message);
    let inner = inner.finalize();
    let mut outer = Sha256::new();
    outer.update(k.map(|b| b ^ 0x5c));
    outer.update(inner);
    outer.finalize().into()
}

/// Seals and MACs values for one purpose each.
#[derive(Clone)]
pub struct Sealer {
    key: [u8; 32],
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(..)")
    }
}

impl Sealer {
    /// The sealer derived from a root secret (the key-encryption key's bytes).
    pub fn derive(root: &[u8]) -> Self {
        Self {
            key: hmac_sha256(root, b"gatehouse browser state v1"),
        }
    }

    fn purpose_key(&self, purpose: &str) -> [u8; 32] {
        hmac_sha256(&self.key, purpose.as_bytes())
    }

    /// A MAC of `data` for `purpose`, in base64url.
    pub fn mac(&self, purpose: &str, data: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(hmac_sha256(&self.purpose_key(purpose), data))
    }

    /// Encrypts and authenticates `payload` for `purpose` (a JWE, `dir` + `A256GCM`).
    pub fn seal(&self, purpose: &str, payload: &[u8]) -> Option<String> {
        let mut header = josekit::jwe::JweHeader::new();
        header.set_content_encryption("A256GCM");
        let encrypter = josekit::jwe::Dir
            .encrypter_from_bytes(self.purpose_key(purpose))
            .ok()?;
        josekit::jwe::serialize_compact(payload, &header, &encrypter).ok()
    }

    /// Opens what [`Sealer::seal`] sealed for the same purpose; `None` for anything else.
    pub fn open(&self, purpose: &str, sealed: &str) -> Option<Vec<u8>> {
        if sealed.len() > 16 * 1024 || sealed.split('.').count() != 5 {
            return None;
        }
        let decrypter = josekit::jwe::Dir
            .decrypter_from_bytes(self.purpose_key(purpose))
            .ok()?;
        let (payload, header) = josekit::jwe::deserialize_compact(sealed, &decrypter).ok()?;
        (header.content_encryption() == Some("A256GCM")).then_some(payload)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231() {
        // RFC 4231 test case 2.
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn sealed_values_open_only_for_their_purpose_and_key() {
        let s = Sealer::derive(b"root secret one");
        let sealed = s.seal("request", b"payload").unwrap();
        assert!(!sealed.contains("payload"));
        assert_eq!(s.open("request", &sealed).unwrap(), b"payload");
        assert!(s.open("other", &sealed).is_none());
        assert!(
            Sealer::derive(b"root secret two")
                .open("request", &sealed)
                .is_none()
        );
        let mut tampered = sealed.clone();
        tampered.replace_range(sealed.len() - 3.., "AAA");
        assert!(s.open("request", &tampered).is_none());
        assert_ne!(s.mac("csrf", b"x"), s.mac("csrf", b"y"));
        assert_ne!(s.mac("csrf", b"x"), s.mac("other", b"x"));
    }
}
