//! Minting and checking the JWTs Gatehouse issues: ID tokens (OIDC Core §2) and access
//! tokens (RFC 9068). josekit verifies signatures only; every claim is checked here.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse_core::Scopes;
use josekit::jws::JwsHeader;
use josekit::jwt::{self, JwtPayload};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::keys::{Alg, KeySet};

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("no signing key for {0}")]
    NoKey(&'static str),
    #[error("signing failed: {0}")]
    Sign(String),
}

/// How far in the future a token's `nbf` or `iat` may be: nodes' and clients' clocks
/// differ by a few seconds, sometimes more.
pub const LEEWAY_SECS: i64 = 60;

/// The `typ` of known-device tokens.
const KNOWN_DEVICE_TYP: &str = "gatehouse-device+jwt";

/// Why a presented JWT was not accepted. The variants are for logs; clients see one error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("not a JWT signed by this server")]
    Signature,
    #[error("unexpected token type")]
    Type,
    #[error("wrong issuer")]
    Issuer,
    #[error("expired")]
    Expired,
    #[error("claim {0} missing or malformed")]
    Claim(&'static str),
}

/// Access token lifetime and the algorithms used, fixed at start-up.
#[derive(Debug, Clone)]
pub struct TokenSettings {
    pub access_token_ttl: i64,
    pub id_token_ttl: i64,
    /// A refresh token unused for this long dies (each rotation starts it again).
    pub refresh_token_idle_ttl: i64,
    /// No refresh token of a grant outlives the grant's issue by more than this.
    pub refresh_token_absolute_ttl: i64,
    pub access_token_alg: Alg,
    pub id_token_alg: Alg,
    /// The lifetime of access tokens for the admin API (at most five minutes).
    pub admin_token_ttl: i64,
}

impl Default for TokenSettings {
    fn default() -> Self {
        Self {
            access_token_ttl: 900,
            id_token_ttl: 3600,
            refresh_token_idle_ttl: 14 * 24 * 3600,
            refresh_token_absolute_ttl: 90 * 24 * 3600,
            access_token_alg: Alg::ES256,
            id_token_alg: Alg::RS256,
            admin_token_ttl: 300,
        }
    }
}

/// What an access token says, once its signature and claims have been checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessTokenClaims {
    pub jti: String,
    pub sub: String,
    pub client_id: String,
    pub scopes: Scopes,
    /// The grant the token derives from; `None` for client credentials tokens, which act
    /// for the client itself.
    pub grant_id: Option<String>,
    pub iat: i64,
    pub exp: i64,
    pub auth_time: Option<i64>,
    /// Its `aud`: the issuer, or the API it was issued for (RFC 8707).
    pub audience: String,
}

impl AccessTokenClaims {
    /// Is the token meant for `audience`? Every resource checks this (RFC 9068 §4): a token
    /// for one API is no key to another.
    pub fn is_for(&self, audience: &str) -> bool {
        self.audience == audience
    }
}

/// The inputs of an ID token.
#[derive(Debug, Clone)]
pub struct IdTokenInput<'a> {
    pub sub: &'a str,
    pub client_id: &'a str,
    pub nonce: Option<&'a str>,
    pub auth_time: i64,
    pub sid: Option<&'a str>,
    /// The access token issued alongside, for `at_hash`.
    pub access_token: Option<&'a str>,
    /// Extra claims (those of the granted scopes, when there is no userinfo to ask).
    pub extra: Map<String, Value>,
}

/// The inputs of an access token.
#[derive(Debug, Clone)]
pub struct AccessTokenInput<'a> {
    pub sub: &'a str,
    pub client_id: &'a str,
    pub scopes: &'a Scopes,
    pub grant_id: Option<&'a str>,
    pub auth_time: Option<i64>,
    pub sid: Option<&'a str>,
    pub jti: &'a str,
    /// Authorization claims (`roles`, `groups`; RFC 9068 §2.2.3.1).
    pub extra: Map<String, Value>,
    /// `aud`: the issuer, or the API the token is for (RFC 8707).
    pub audience: &'a str,
    /// Its lifetime in seconds.
    pub ttl: i64,
}

/// `at_hash` (OIDC Core §3.1.3.6): base64url of the left half of the SHA-256 of the token
/// (SHA-256 matches both RS256 and ES256).
pub fn at_hash(access_token: &str) -> String {
    let digest = Sha256::digest(access_token.as_bytes());
    URL_SAFE_NO_PAD.encode(&digest[..16])
}

fn sign(
    keys: &KeySet,
    alg: Alg,
    typ: &str,
    claims: Map<String, Value>,
) -> Result<String, TokenError> {
    let key = keys.active(alg).ok_or(TokenError::NoKey(alg.as_str()))?;
    let mut header = JwsHeader::new();
    header.set_token_type(typ);
    header.set_key_id(&key.kid);
    let payload = JwtPayload::from_map(claims).map_err(|e| TokenError::Sign(e.to_string()))?;
    jwt::encode_with_signer(&payload, &header, key.signer())
        .map_err(|e| TokenError::Sign(e.to_string()))
}

/// Verifies the signature of a JWT against this server's keys, choosing the key by `kid`
/// and insisting that the header's `alg` is that key's algorithm (RFC 8725 §3.1): `none`,
/// HMAC, or a key confusion never reach a verifier.
pub fn verify_signature(
    keys: &KeySet,
    token: &str,
) -> Result<(Map<String, Value>, JwsHeader), VerifyError> {
    let (payload, header) = jwt::decode_with_verifier_selector(token, |header| {
        let key = header.key_id().and_then(|kid| keys.by_kid(kid));
        Ok(match (key, header.algorithm()) {
            (Some(key), Some(alg)) if alg == key.alg.as_str() => Some(key.verifier()),
            _ => None,
        })
    })
    .map_err(|_| VerifyError::Signature)?;
    Ok((payload.claims_set().clone(), header))
}

fn str_claim<'a>(
    claims: &'a Map<String, Value>,
    name: &'static str,
) -> Result<&'a str, VerifyError> {
    claims
        .get(name)
        .and_then(Value::as_str)
        .ok_or(VerifyError::Claim(name))
}

fn int_claim(claims: &Map<String, Value>, name: &'static str) -> Result<i64, VerifyError> {
    claims
        .get(name)
        .and_then(Value::as_i64)
        .ok_or(VerifyError::Claim(name))
}

/// Issues JWTs on behalf of one issuer.
#[derive(Debug, Clone)]
pub struct Minter {
    pub issuer: String,
    pub settings: TokenSettings,
}

impl Minter {
    /// An RFC 9068 access token for `input.audience`: the issuer itself (the userinfo
    /// endpoint is its resource) or a registered API (RFC 8707).
    pub fn access_token(
        &self,
        keys: &KeySet,
        input: &AccessTokenInput<'_>,
        now: i64,
    ) -> Result<String, TokenError> {
        let mut claims = input.extra.clone();
        claims.insert("iss".into(), json!(self.issuer));
        claims.insert("sub".into(), json!(input.sub));
        claims.insert("aud".into(), json!(input.audience));
        claims.insert("client_id".into(), json!(input.client_id));
        claims.insert("iat".into(), json!(now));
        claims.insert("nbf".into(), json!(now));
        claims.insert("exp".into(), json!(now + input.ttl));
        claims.insert("jti".into(), json!(input.jti));
        claims.insert("scope".into(), json!(input.scopes.to_string()));
        // The grant this token derives from: revoking the grant revokes the token.
        if let Some(gid) = input.grant_id {
            claims.insert("gid".into(), json!(gid));
        }
        if let Some(t) = input.auth_time {
            claims.insert("auth_time".into(), json!(t));
        }
        if let Some(sid) = input.sid {
            claims.insert("sid".into(), json!(sid));
        }
        sign(keys, self.settings.access_token_alg, "at+jwt", claims)
    }

    /// An ID token (OIDC Core §2, §3.1.3.6).
    pub fn id_token(
        &self,
        keys: &KeySet,
        input: IdTokenInput<'_>,
        now: i64,
    ) -> Result<String, TokenError> {
        let mut claims = input.extra;
        claims.insert("iss".into(), json!(self.issuer));
        claims.insert("sub".into(), json!(input.sub));
        claims.insert("aud".into(), json!([input.client_id]));
        claims.insert("azp".into(), json!(input.client_id));
        claims.insert("iat".into(), json!(now));
        claims.insert("exp".into(), json!(now + self.settings.id_token_ttl));
        claims.insert("auth_time".into(), json!(input.auth_time));
        if let Some(nonce) = input.nonce {
            claims.insert("nonce".into(), json!(nonce));
        }
        if let Some(sid) = input.sid {
            claims.insert("sid".into(), json!(sid));
        }
        if let Some(at) = input.access_token {
            claims.insert("at_hash".into(), json!(at_hash(at)));
        }
        sign(keys, self.settings.id_token_alg, "JWT", claims)
    }

    /// A "known device" token: proof, kept in a long-lived cookie, that this browser has
    /// signed in to account `sub` before. Sign-in throttling exempts such a browser from the
    /// account-wide limit, so an attacker guessing from elsewhere cannot shut the owner
    /// out. Its own `typ` and audience keep it from passing for any other token.
    pub fn known_device(
        &self,
        keys: &KeySet,
        sub: &str,
        ttl: i64,
        now: i64,
    ) -> Result<String, TokenError> {
        let mut claims = Map::new();
        claims.insert("iss".into(), json!(self.issuer));
        claims.insert("aud".into(), json!(self.known_device_audience()));
        claims.insert("sub".into(), json!(sub));
        claims.insert("iat".into(), json!(now));
        claims.insert("exp".into(), json!(now + ttl));
        claims.insert(
            "jti".into(),
            json!(gatehouse_core::secret::random_token(16)),
        );
        sign(
            keys,
            self.settings.access_token_alg,
            KNOWN_DEVICE_TYP,
            claims,
        )
    }

    fn known_device_audience(&self) -> String {
        format!("{}/login", self.issuer)
    }

    /// The account and the device id a known-device token names, if it is one of ours and
    /// has not expired.
    pub fn verify_known_device(
        &self,
        keys: &KeySet,
        token: &str,
        now: i64,
    ) -> Result<(String, String), VerifyError> {
        let (claims, header) = verify_signature(keys, token)?;
        if header.token_type() != Some(KNOWN_DEVICE_TYP) {
            return Err(VerifyError::Type);
        }
        if str_claim(&claims, "iss")? != self.issuer {
            return Err(VerifyError::Issuer);
        }
        if str_claim(&claims, "aud")? != self.known_device_audience() {
            return Err(VerifyError::Claim("aud"));
        }
        if int_claim(&claims, "exp")? <= now {
            return Err(VerifyError::Expired);
        }
        Ok((
            str_claim(&claims, "sub")?.to_owned(),
            str_claim(&claims, "jti")?.to_owned(),
        ))
    }

    /// Checks an access token: signature, `typ`, issuer and expiry. Whether its grant is
    /// still live is the caller's question to the store, and whether it is meant for the
    /// caller ([`AccessTokenClaims::is_for`]) the resource's.
    pub fn verify_access_token(
        &self,
        keys: &KeySet,
        token: &str,
        now: i64,
    ) -> Result<AccessTokenClaims, VerifyError> {
        let (claims, header) = verify_signature(keys, token)?;
        // RFC 9068 §4: the typ header tells access tokens from ID tokens.
        if header.token_type() != Some("at+jwt") {
            return Err(VerifyError::Type);
        }
        if str_claim(&claims, "iss")? != self.issuer {
            return Err(VerifyError::Issuer);
        }
        // One audience: the issuer or one registered API (the caller checks which).
        let audience = match claims.get("aud") {
            Some(Value::String(a)) => a.clone(),
            Some(Value::Array(a)) if a.len() == 1 => {
                a[0].as_str().ok_or(VerifyError::Claim("aud"))?.to_owned()
            }
            _ => return Err(VerifyError::Claim("aud")),
        };
        let exp = int_claim(&claims, "exp")?;
        if exp <= now {
            return Err(VerifyError::Expired);
        }
        for c in ["nbf", "iat"] {
            if claims
                .get(c)
                .and_then(Value::as_i64)
                .is_some_and(|t| t > now + LEEWAY_SECS)
            {
                return Err(VerifyError::Claim(c));
            }
        }
        Ok(AccessTokenClaims {
            jti: str_claim(&claims, "jti")?.to_owned(),
            sub: str_claim(&claims, "sub")?.to_owned(),
            client_id: str_claim(&claims, "client_id")?.to_owned(),
            scopes: Scopes::parse(str_claim(&claims, "scope")?)
                .map_err(|_| VerifyError::Claim("scope"))?,
            grant_id: claims.get("gid").and_then(Value::as_str).map(str::to_owned),
            iat: int_claim(&claims, "iat")?,
            exp,
            auth_time: claims.get("auth_time").and_then(Value::as_i64),
            audience,
        })
    }

    /// Checks an ID token this server issued, used as `id_token_hint`. Expiry is not checked:
    /// OIDC Core §3.1.2.1 and RP-Initiated Logout §2 accept expired hints.
    pub fn verify_id_token_hint(
        &self,
        keys: &KeySet,
        token: &str,
    ) -> Result<IdTokenHint, VerifyError> {
        let (claims, header) = verify_signature(keys, token)?;
        if header.token_type().is_some_and(|t| t != "JWT") {
            return Err(VerifyError::Type);
        }
        if str_claim(&claims, "iss")? != self.issuer {
            return Err(VerifyError::Issuer);
        }
        let aud = match claims.get("aud") {
            Some(Value::String(a)) => a.clone(),
            Some(Value::Array(a)) => a
                .first()
                .and_then(Value::as_str)
                .ok_or(VerifyError::Claim("aud"))?
                .to_owned(),
            _ => return Err(VerifyError::Claim("aud")),
        };
        Ok(IdTokenHint {
            sub: str_claim(&claims, "sub")?.to_owned(),
            client_id: aud,
            sid: claims.get("sid").and_then(Value::as_str).map(str::to_owned),
        })
    }
}

/// What a verified `id_token_hint` tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdTokenHint {
    pub sub: String,
    pub client_id: String,
    pub sid: Option<String>,
}
