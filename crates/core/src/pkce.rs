//! Proof Key for Code Exchange (RFC 7636), S256 only (RFC 9700 §2.1.1).
//!
//! The challenge is encoded and verified by oxide-auth's `Pkce` extension; this module adds
//! what it leaves to the caller: refusing `plain`, checking the syntax of challenge and
//! verifier, and the downgrade rule that a verifier without a challenge is an error.

use std::borrow::Cow;

use oxide_auth::code_grant::extensions::Pkce;
use oxide_auth::primitives::grant::Value;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PkceError {
    #[error("code_challenge_method must be S256; plain is not supported (RFC 9700 §2.1.1)")]
    UnsupportedMethod,
    #[error("code_challenge_method was sent without code_challenge")]
    MethodWithoutChallenge,
    #[error("code_challenge must be 43 base64url characters (RFC 7636 §4.2)")]
    MalformedChallenge,
    #[error("public clients must send a PKCE code_challenge (RFC 9700 §2.1.1)")]
    ChallengeRequired,
    #[error("code_verifier must be 43 to 128 characters of [A-Za-z0-9-._~] (RFC 7636 §4.1)")]
    MalformedVerifier,
    #[error("code_verifier is missing")]
    VerifierMissing,
    #[error("code_verifier was sent but the authorization request had no code_challenge")]
    VerifierWithoutChallenge,
    #[error("code_verifier does not match the code_challenge")]
    Mismatch,
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// Validates the PKCE parameters of an authorization request and returns the stored form
/// of the challenge, if any. `method` defaults to `plain` when absent (RFC 7636 §4.3),
/// which is refused.
pub fn accept_challenge(
    challenge: Option<&str>,
    method: Option<&str>,
    public_client: bool,
) -> Result<Option<String>, PkceError> {
    let Some(challenge) = challenge else {
        if method.is_some() {
            return Err(PkceError::MethodWithoutChallenge);
        }
        return if public_client {
            Err(PkceError::ChallengeRequired)
        } else {
            Ok(None)
        };
    };
    if method != Some("S256") {
        return Err(PkceError::UnsupportedMethod);
    }
    // S256 challenges are base64url(SHA-256) without padding: exactly 43 characters.
    if challenge.len() != 43
        || !challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(PkceError::MalformedChallenge);
    }
    let encoded = Pkce::required()
        .challenge(Some(Cow::Borrowed("S256")), Some(Cow::Borrowed(challenge)))
        .map_err(|_| PkceError::UnsupportedMethod)?;
    Ok(encoded.and_then(|v| v.into_private_value().ok().flatten()))
}

/// Checks a token request's `code_verifier` against the stored challenge.
pub fn verify(stored: Option<&str>, verifier: Option<&str>) -> Result<(), PkceError> {
    if let Some(v) = verifier
        && (!(43..=128).contains(&v.len()) || !v.bytes().all(is_unreserved))
    {
        return Err(PkceError::MalformedVerifier);
    }
    match (stored, verifier) {
        (None, None) => Ok(()),
        // RFC 9700 §4.8.2: a verifier without a challenge is a downgrade attempt.
        (None, Some(_)) => Err(PkceError::VerifierWithoutChallenge),
        (Some(_), None) => Err(PkceError::VerifierMissing),
        (Some(stored), Some(verifier)) => Pkce::required()
            .verify(
                Some(Value::private(Some(stored.to_owned()))),
                Some(Cow::Borrowed(verifier)),
            )
            .map_err(|_| PkceError::Mismatch),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::sha256_b64;

    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

    #[test]
    fn s256_round_trip() {
        let challenge = sha256_b64(VERIFIER.as_bytes());
        // RFC 7636 Appendix B.
        assert_eq!(challenge, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
        let stored = accept_challenge(Some(&challenge), Some("S256"), true).unwrap();
        assert!(verify(stored.as_deref(), Some(VERIFIER)).is_ok());
        let wrong = "eBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert_eq!(
            verify(stored.as_deref(), Some(wrong)),
            Err(PkceError::Mismatch)
        );
        assert_eq!(
            verify(stored.as_deref(), None),
            Err(PkceError::VerifierMissing)
        );
    }

    #[test]
    fn plain_and_missing_are_refused() {
        let c = sha256_b64(VERIFIER.as_bytes());
        assert_eq!(
            accept_challenge(Some(&c), Some("plain"), false),
            Err(PkceError::UnsupportedMethod)
        );
        assert_eq!(
            accept_challenge(Some(&c), None, false),
            Err(PkceError::UnsupportedMethod)
        );
        assert_eq!(
            accept_challenge(None, None, true),
            Err(PkceError::ChallengeRequired)
        );
        assert_eq!(accept_challenge(None, None, false), Ok(None));
        assert_eq!(
            accept_challenge(Some("short"), Some("S256"), false),
            Err(PkceError::MalformedChallenge)
        );
    }

    #[test]
    fn verifier_syntax() {
        let c = sha256_b64(VERIFIER.as_bytes());
        let stored = accept_challenge(Some(&c), Some("S256"), true).unwrap();
        for bad in [
            "a".repeat(42),
            "a".repeat(129),
            format!("{}!", &"a".repeat(43)),
        ] {
            assert_eq!(
                verify(stored.as_deref(), Some(&bad)),
                Err(PkceError::MalformedVerifier)
            );
        }
        assert_eq!(
            verify(None, Some(VERIFIER)),
            Err(PkceError::VerifierWithoutChallenge)
        );
    }
}
