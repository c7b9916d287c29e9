//! Client authentication with a signed JWT: `private_key_jwt` (RFC 7523 §2.2, §3;
//! OIDC Core §9; RFC 8725).
//!
//! The assertion is verified only with a key from the client's registered JWK Set, and
//! only with an asymmetric algorithm: `none` and HMAC never reach a verifier, so an HMAC
//! "signed" with the client's public key is refused. Headers that point elsewhere for a key
//! (`jku`, `x5u`, `jwk`, `x5c`) are refused outright: nothing is ever fetched.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use josekit::jwk::{Jwk, JwkSet};
use josekit::jws::{
    ES256, ES384, ES512, EdDSA, JwsVerifier, PS256, PS384, PS512, RS256, RS384, RS512,
};
use serde_json::{Map, Value};

pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// How far in the future an assertion may expire: they are meant to be made per request.
pub const MAX_LIFETIME: i64 = 300;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AssertionError {
    #[error("the assertion is not a compact JWS")]
    Malformed,
    #[error("the assertion names no client (iss and sub must be the client_id)")]
    NoClient,
    #[error("algorithm not accepted: only asymmetric signatures are")]
    Algorithm,
    #[error("the assertion refers to a key outside the client's registration")]
    ForeignKey,
    #[error("no registered key matches the assertion")]
    UnknownKey,
    #[error("signature does not verify")]
    Signature,
    #[error("claim {0} is missing or wrong")]
    Claim(&'static str),
    #[error("the assertion has expired or lives too long")]
    Lifetime,
}

/// What the token endpoint needs from a verified assertion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assertion {
    pub client_id: String,
    pub jti: String,
    pub exp: i64,
}

fn part(token: &str, i: usize) -> Result<Map<String, Value>, AssertionError> {
    let raw = token.split('.').nth(i).ok_or(AssertionError::Malformed)?;
    let bytes = URL_SAFE_NO_PAD
        .decode(raw)
        .map_err(|_| AssertionError::Malformed)?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(AssertionError::Malformed),
    }
}

/// The client the assertion claims to come from, read before anything is verified (to find
/// that client's keys). Nothing else is trusted from this unverified read.
pub fn claimed_client(assertion: &str) -> Result<String, AssertionError> {
    if assertion.len() > 8192 || assertion.split('.').count() != 3 {
        return Err(AssertionError::Malformed);
    }
    let claims = part(assertion, 1)?;
    let iss = claims.get("iss").and_then(Value::as_str);
    let sub = claims.get("sub").and_then(Value::as_str);
    match (iss, sub) {
        (Some(i), Some(s)) if i == s && !i.is_empty() => Ok(i.to_owned()),
        _ => Err(AssertionError::NoClient),
    }
}

fn verifier(alg: &str, jwk: &Jwk) -> Result<Box<dyn JwsVerifier>, AssertionError> {
    let bad = |_| AssertionError::UnknownKey;
    Ok(match alg {
        "RS256" => Box::new(RS256.verifier_from_jwk(jwk).map_err(bad)?),
        "RS384" => Box::new(RS384.verifier_from_jwk(jwk).map_err(bad)?),
        "RS512" => Box::new(RS512.verifier_from_jwk(jwk).map_err(bad)?),
        "PS256" => Box::new(PS256.verifier_from_jwk(jwk).map_err(bad)?),
        "PS384" => Box::new(PS384.verifier_from_jwk(jwk).map_err(bad)?),
        "PS512" => Box::new(PS512.verifier_from_jwk(jwk).map_err(bad)?),
        "ES256" => Box::new(ES256.verifier_from_jwk(jwk).map_err(bad)?),
        "ES384" => Box::new(ES384.verifier_from_jwk(jwk).map_err(bad)?),
        "ES512" => Box::new(ES512.verifier_from_jwk(jwk).map_err(bad)?),
        "EdDSA" => Box::new(EdDSA.verifier_from_jwk(jwk).map_err(bad)?),
        _ => return Err(AssertionError::Algorithm),
    })
}

/// Verifies `assertion` for `client_id`, whose public keys are `jwks`. `audiences` are the
/// values `aud` may hold: the issuer, the token endpoint, the endpoint being called.
pub fn verify(
    assertion: &str,
    client_id: &str,
    jwks: &str,
    audiences: &[String],
    now: i64,
) -> Result<Assertion, AssertionError> {
    let header = part(assertion, 0)?;
    for foreign in ["jku", "x5u", "jwk", "x5c"] {
        if header.contains_key(foreign) {
            return Err(AssertionError::ForeignKey);
        }
    }
    let alg = header
        .get("alg")
        .and_then(Value::as_str)
        .ok_or(AssertionError::Algorithm)?;
    if !matches!(
        alg,
        "RS256"
            | "RS384"
            | "RS512"
            | "PS256"
            | "PS384"
            | "PS512"
            | "ES256"
            | "ES384"
            | "ES512"
            | "EdDSA"
    ) {
        return Err(AssertionError::Algorithm);
    }
    let set = JwkSet::from_bytes(jwks.as_bytes()).map_err(|_| AssertionError::UnknownKey)?;
    let kid = header.get("kid").and_then(Value::as_str);
    // With a kid, exactly that key; without one, the client's only key. A key that names
    // its own algorithm is used with that algorithm alone.
    let candidates: Vec<&Jwk> = match kid {
        Some(k) => set.get(k),
        None => set.keys(),
    };
    let [key] = candidates.as_slice() else {
        return Err(AssertionError::UnknownKey);
    };
    if key.algorithm().is_some_and(|a| a != alg) {
        return Err(AssertionError::Algorithm);
    }
    if key.key_use().is_some_and(|u| u != "sig") {
        return Err(AssertionError::UnknownKey);
    }
    // josekit matches a verifier's kid against the header's; without a kid in the header
    // the client's only key is meant, so verify with a copy that has none.
    let mut key = (*key).clone();
    if kid.is_none() {
        key.set_parameter("kid", None)
            .map_err(|_| AssertionError::UnknownKey)?;
    }
    let verifier = verifier(alg, &key)?;
    let (payload, _) = josekit::jwt::decode_with_verifier(assertion, verifier.as_ref())
        .map_err(|_| AssertionError::Signature)?;
    let claims = payload.claims_set();
    let str_claim = |name: &'static str| {
        claims
            .get(name)
            .and_then(Value::as_str)
            .ok_or(AssertionError::Claim(name))
    };
    if str_claim("iss")? != client_id {
        return Err(AssertionError::Claim("iss"));
    }
    if str_claim("sub")? != client_id {
        return Err(AssertionError::Claim("sub"));
    }
    let aud_ok = match claims.get("aud") {
        Some(Value::String(a)) => audiences.contains(a),
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(Value::as_str)
            .any(|a| audiences.iter().any(|x| x == a)),
        _ => false,
    };
    if !aud_ok {
        return Err(AssertionError::Claim("aud"));
    }
    let exp = claims
        .get("exp")
        .and_then(Value::as_i64)
        .ok_or(AssertionError::Claim("exp"))?;
    if exp <= now || exp > now + MAX_LIFETIME {
        return Err(AssertionError::Lifetime);
    }
    // Clocks of clients and nodes differ: a minute's leeway on the start of validity
    // (never on its end).
    if ["nbf", "iat"].into_iter().any(|c| {
        claims
            .get(c)
            .and_then(Value::as_i64)
            .is_some_and(|t| t > now + crate::tokens::LEEWAY_SECS)
    }) {
        return Err(AssertionError::Lifetime);
    }
    let jti = str_claim("jti")?;
    if jti.is_empty() || jti.len() > 256 {
        return Err(AssertionError::Claim("jti"));
    }
    Ok(Assertion {
        client_id: client_id.to_owned(),
        jti: jti.to_owned(),
        exp,
    })
}
