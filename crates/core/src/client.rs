//! Registered clients (RFC 6749 §2, RFC 7591 §2 metadata names).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::redirect;
use crate::scope::Scopes;

/// `application_type` (OpenID Connect Dynamic Client Registration §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApplicationType {
    Web,
    Native,
}

/// `token_endpoint_auth_method` (RFC 7591 §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuthMethod {
    ClientSecretBasic,
    ClientSecretPost,
    /// RFC 7523 §2.2 / OIDC Core §9: a JWT signed with the client's own private key.
    PrivateKeyJwt,
    None,
}

/// How a client's access tokens look: signed JWTs (RFC 9068, the default), or opaque random
/// values that resource servers introspect and that die at once when revoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccessTokenFormat {
    Jwt,
    Opaque,
}

/// `grant_types` (RFC 7591 §2). Only grants this server implements are listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum GrantType {
    #[serde(rename = "authorization_code")]
    AuthorizationCode,
    #[serde(rename = "refresh_token")]
    RefreshToken,
    #[serde(rename = "client_credentials")]
    ClientCredentials,
    #[serde(rename = "urn:ietf:params:oauth:grant-type:device_code")]
    DeviceCode,
}

macro_rules! string_enum {
    ($ty:ty { $($variant:path => $s:literal),+ $(,)? }) => {
        impl $ty {
            pub fn as_str(&self) -> &'static str {
                match self { $($variant => $s),+ }
            }
        }
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl FromStr for $ty {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($s => Ok($variant),)+
                    other => Err(format!(
                        "unsupported value {other:?}; expected one of: {}",
                        [$($s),+].join(", ")
                    )),
                }
            }
        }
    };
}

string_enum!(ApplicationType { ApplicationType::Web => "web", ApplicationType::Native => "native" });
string_enum!(ClientAuthMethod {
    ClientAuthMethod::ClientSecretBasic => "client_secret_basic",
    ClientAuthMethod::ClientSecretPost => "client_secret_post",
    ClientAuthMethod::PrivateKeyJwt => "private_key_jwt",
    ClientAuthMethod::None => "none",
});
string_enum!(AccessTokenFormat {
    AccessTokenFormat::Jwt => "jwt",
    AccessTokenFormat::Opaque => "opaque",
});
string_enum!(GrantType {
    GrantType::AuthorizationCode => "authorization_code",
    GrantType::RefreshToken => "refresh_token",
    GrantType::ClientCredentials => "client_credentials",
    GrantType::DeviceCode => "urn:ietf:params:oauth:grant-type:device_code",
});

/// A registered client as the protocol code sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    pub client_id: String,
    pub name: String,
    /// SHA-256 of the client secret (see [`crate::secret::hash_secret`]); `None` for public clients.
    pub secret_hash: Option<String>,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub grant_types: Vec<GrantType>,
    /// Scopes beyond the standard OpenID ones that this client may request.
    pub scopes: Scopes,
    pub auth_method: ClientAuthMethod,
    pub application_type: ApplicationType,
    /// The client's public keys (a JWK Set as JSON), for `private_key_jwt`.
    pub jwks: Option<String>,
    /// Or where to fetch them.
    pub jwks_uri: Option<String>,
    pub access_token_format: AccessTokenFormat,
    pub links: ClientLinks,
    pub created_at: i64,
    /// When the secret was last replaced (rotation); `None` if never.
    pub secret_changed_at: Option<i64>,
    /// For a dynamically registered client, the policy it registered under: RFC 7592
    /// updates may not go beyond it.
    pub registration_policy: Option<RegistrationPolicy>,
    /// The origins its pages may call the token side and userinfo from (CORS), when not
    /// those of its redirect URIs (empty: those).
    pub allowed_origins: Vec<String>,
}

/// Pages about a client that the consent page links to (RFC 7591 §2): its logo, privacy
/// policy and terms of service. Each is an https URL (http on loopback).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientLinks {
    pub logo_uri: Option<String>,
    pub policy_uri: Option<String>,
    pub tos_uri: Option<String>,
}

impl ClientLinks {
    pub fn fields(&self) -> [(&'static str, Option<&str>); 3] {
        [
            ("logo_uri", self.logo_uri.as_deref()),
            ("policy_uri", self.policy_uri.as_deref()),
            ("tos_uri", self.tos_uri.as_deref()),
        ]
    }
}

impl Client {
    /// The origins a page of this client may call the token, userinfo, revocation,
    /// introspection and device endpoints from (CORS): those of its registered redirect
    /// URIs (`scheme://host[:port]`, default ports left out, as browsers send `Origin`).
    /// A custom-scheme redirect URI has no origin a page could have.
    pub fn web_origins(&self) -> Vec<String> {
        if !self.allowed_origins.is_empty() {
            return self.allowed_origins.clone();
        }
        let mut out: Vec<String> = Vec::new();
        for uri in &self.redirect_uris {
            let Ok(url) = url::Url::parse(uri) else {
                continue;
            };
            if !matches!(url.scheme(), "https" | "http") {
                continue;
            }
            let origin = url.origin().ascii_serialization();
            if !out.contains(&origin) {
                out.push(origin);
            }
        }
        out
    }

    /// A public client has no secret and must use PKCE (RFC 9700 §2.1.1).
    pub fn is_public(&self) -> bool {
        self.auth_method == ClientAuthMethod::None
    }

    pub fn allows_grant(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
    }

    /// The scopes this client may ask for: the OpenID Connect ones plus its registered ones.
    pub fn allowed_scopes(&self) -> Scopes {
        let mut allowed = Scopes::from_names(crate::scope::STANDARD_SCOPES).union(&self.scopes);
        // offline_access asks for a refresh token: only for clients that may use one.
        if self.allows_grant(GrantType::RefreshToken) {
            allowed = allowed.union(&Scopes::from_names([crate::scope::OFFLINE_ACCESS]));
        }
        allowed
    }

    /// The registered redirect URI that `requested` matches, if any.
    pub fn find_redirect_uri(&self, requested: &str) -> Option<&str> {
        self.redirect_uris
            .iter()
            .find(|r| redirect::matches(r, requested, self.application_type))
            .map(String::as_str)
    }
}

/// What an administrator supplies to register a client.
#[derive(Debug, Clone)]
pub struct NewClient {
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub grant_types: Vec<GrantType>,
    pub scopes: Scopes,
    pub auth_method: ClientAuthMethod,
    pub application_type: ApplicationType,
    /// A JWK Set (JSON) of the client's public keys, or (`jwks_uri`) where to fetch it: one
    /// of the two is required for `private_key_jwt`, and neither is allowed otherwise.
    pub jwks: Option<String>,
    pub jwks_uri: Option<String>,
    pub access_token_format: AccessTokenFormat,
    pub links: ClientLinks,
    /// Origins for CORS (`https://host[:port]`, or `http` on loopback); empty: the
    /// origins of the redirect URIs.
    pub allowed_origins: Vec<String>,
}

/// The most origins a client may list.
pub const MAX_ALLOWED_ORIGINS: usize = 20;

/// Is `origin` one a client may list for CORS? An origin as a browser sends it
/// (`scheme://host[:port]`, no path, default port left out), https, or http on a loopback
/// address.
pub fn valid_origin(origin: &str) -> bool {
    let Ok(url) = url::Url::parse(origin) else {
        return false;
    };
    let loopback = matches!(
        url.host(),
        Some(url::Host::Ipv4(ip)) if ip.is_loopback()
    ) || matches!(url.host(), Some(url::Host::Ipv6(ip)) if ip.is_loopback())
        || url.host_str() == Some("localhost");
    let scheme_ok = url.scheme() == "https" || (url.scheme() == "http" && loopback);
    scheme_ok && url.origin().ascii_serialization() == origin
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientMetadataError {
    #[error("client name must not be empty")]
    EmptyName,
    #[error("client name: at most 200 bytes, no control characters")]
    InvalidName,
    #[error("the authorization_code grant needs at least one redirect URI")]
    MissingRedirectUri,
    #[error("redirect URI {uri:?}: {reason}")]
    RedirectUri {
        uri: String,
        reason: redirect::RedirectUriError,
    },
    #[error("post-logout redirect URI {uri:?}: {reason}")]
    PostLogoutRedirectUri {
        uri: String,
        reason: redirect::RedirectUriError,
    },
    #[error("a public client (auth method none) cannot use the client_credentials grant")]
    PublicClientCredentials,
    #[error("at least one grant type is required")]
    NoGrantTypes,
    #[error(
        "private_key_jwt needs the client's public keys (jwks or jwks_uri, not both), and only it uses them"
    )]
    JwksMismatch,
    #[error("jwks must be a JSON Web Key Set of public keys: {0}")]
    InvalidJwks(String),
    #[error(
        "allowed origin {0:?}: an origin as browsers send it (https://host[:port], no path; http only on loopback), at most 20"
    )]
    AllowedOrigin(String),
    #[error("{field} {uri:?}: {reason}")]
    InvalidLink {
        field: &'static str,
        uri: String,
        reason: redirect::RedirectUriError,
    },
}

impl NewClient {
    /// Validates the metadata as a registration endpoint would (RFC 7591 §2).
    pub fn validate(&self) -> Result<(), ClientMetadataError> {
        if self.name.trim().is_empty() {
            return Err(ClientMetadataError::EmptyName);
        }
        if !crate::is_plain_text(&self.name, 200) {
            return Err(ClientMetadataError::InvalidName);
        }
        if self.grant_types.is_empty() {
            return Err(ClientMetadataError::NoGrantTypes);
        }
        if self.grant_types.contains(&GrantType::AuthorizationCode) && self.redirect_uris.is_empty()
        {
            return Err(ClientMetadataError::MissingRedirectUri);
        }
        for uri in &self.redirect_uris {
            redirect::validate_for_registration(uri, self.application_type).map_err(|reason| {
                ClientMetadataError::RedirectUri {
                    uri: uri.clone(),
                    reason,
                }
            })?;
        }
        for uri in &self.post_logout_redirect_uris {
            redirect::validate_for_registration(uri, self.application_type).map_err(|reason| {
                ClientMetadataError::PostLogoutRedirectUri {
                    uri: uri.clone(),
                    reason,
                }
            })?;
        }
        // RFC 7591 §2: jwks and jwks_uri must not both be present.
        let keys = usize::from(self.jwks.is_some()) + usize::from(self.jwks_uri.is_some());
        if keys > 1 || (self.auth_method == ClientAuthMethod::PrivateKeyJwt) != (keys == 1) {
            return Err(ClientMetadataError::JwksMismatch);
        }
        if let Some(uri) = &self.jwks_uri {
            // Fetched by the server: https only (or http on loopback, for development).
            redirect::validate_for_registration(uri, ApplicationType::Web).map_err(|reason| {
                ClientMetadataError::InvalidJwks(format!("jwks_uri {uri:?}: {reason}"))
            })?;
        }
        if let Some(jwks) = &self.jwks {
            validate_jwks(jwks).map_err(ClientMetadataError::InvalidJwks)?;
        }
        if let Some(bad) = self
            .allowed_origins
            .iter()
            .enumerate()
            .find(|(i, o)| *i >= MAX_ALLOWED_ORIGINS || !valid_origin(o))
        {
            return Err(ClientMetadataError::AllowedOrigin(bad.1.clone()));
        }
        for (field, uri) in self.links.fields() {
            if let Some(uri) = uri {
                // Shown to users: https only (or http on loopback), no fragment.
                redirect::validate_for_registration(uri, ApplicationType::Web).map_err(
                    |reason| ClientMetadataError::InvalidLink {
                        field,
                        uri: uri.to_owned(),
                        reason,
                    },
                )?;
            }
        }
        if self.auth_method == ClientAuthMethod::None
            && self.grant_types.contains(&GrantType::ClientCredentials)
        {
            return Err(ClientMetadataError::PublicClientCredentials);
        }
        Ok(())
    }
}

/// A JWK Set of asymmetric public keys: no private members, no symmetric keys.
pub fn validate_jwks(jwks: &str) -> Result<(), String> {
    let value: serde_json::Value = serde_json::from_str(jwks).map_err(|e| e.to_string())?;
    let keys = value
        .get("keys")
        .and_then(|k| k.as_array())
        .filter(|k| !k.is_empty())
        .ok_or("a \"keys\" array with at least one key is required")?;
    for key in keys {
        match key.get("kty").and_then(|k| k.as_str()) {
            Some("RSA" | "EC" | "OKP") => {}
            _ => return Err("every key must be RSA, EC or OKP".into()),
        }
        for private in ["d", "p", "q", "dp", "dq", "qi", "k"] {
            if key.get(private).is_some() {
                return Err(format!(
                    "key member {private:?} is private: register public keys only"
                ));
            }
        }
    }
    Ok(())
}

/// What a dynamically registered client (RFC 7591) may give itself: the configured
/// default, widened per initial access token by an administrator. Whatever is outside it is
/// refused with `invalid_client_metadata`; `gatehouse:` scopes never are within it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistrationPolicy {
    pub scopes: Scopes,
    pub grant_types: Vec<GrantType>,
}

impl Default for RegistrationPolicy {
    /// The OpenID Connect scopes, and sign-in with refresh tokens: what a relying party
    /// needs, and no token that acts without a user.
    fn default() -> Self {
        Self {
            scopes: Scopes::from_names(crate::scope::STANDARD_SCOPES)
                .union(&Scopes::from_names([crate::scope::OFFLINE_ACCESS])),
            grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        }
    }
}

impl RegistrationPolicy {
    /// What an initial access token allows beyond the configured policy, from an
    /// administrator's lists; `None` when both are empty.
    pub fn allowance(scopes: &[String], grant_types: &[String]) -> Result<Option<Self>, String> {
        let scopes = Scopes::parse(&scopes.join(" ")).map_err(|e| e.to_string())?;
        if let Some(s) = scopes.iter().find(|s| s.starts_with("gatehouse:")) {
            return Err(format!(
                "{s} is reserved: registration can never grant it, only an administrator"
            ));
        }
        let mut grants = Vec::new();
        for g in grant_types {
            let g: GrantType = g.trim().parse()?;
            if !grants.contains(&g) {
                grants.push(g);
            }
        }
        Ok((!scopes.is_empty() || !grants.is_empty()).then_some(Self {
            scopes,
            grant_types: grants,
        }))
    }

    /// This policy plus what `more` allows.
    pub fn widened(&self, more: &RegistrationPolicy) -> Self {
        let mut grant_types = self.grant_types.clone();
        for g in &more.grant_types {
            if !grant_types.contains(g) {
                grant_types.push(*g);
            }
        }
        grant_types.sort();
        Self {
            scopes: self.scopes.union(&more.scopes),
            grant_types,
        }
    }

    /// Is `client` within this policy? The error says what is not.
    pub fn check(&self, client: &NewClient) -> Result<(), String> {
        if let Some(reserved) = client.scopes.iter().find(|s| s.starts_with("gatehouse:")) {
            return Err(format!(
                "the scope {reserved} is reserved: only an administrator can grant it"
            ));
        }
        let scopes = client.scopes.difference(&self.scopes);
        if !scopes.is_empty() {
            return Err(format!(
                "registration may not ask for the scope(s) {}; ask the administrator for an initial access token that allows them",
                scopes.join(" ")
            ));
        }
        if let Some(g) = client
            .grant_types
            .iter()
            .find(|g| !self.grant_types.contains(g))
        {
            return Err(format!(
                "registration may not ask for the grant type {g}; ask the administrator for an initial access token that allows it"
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn web_origins_are_the_redirect_uris_origins() {
        let c = Client {
            client_id: "c".into(),
            name: "SPA".into(),
            secret_hash: None,
            redirect_uris: vec![
                "https://spa.example/callback".into(),
                "https://spa.example:443/other".into(),
                "http://127.0.0.1:5173/cb".into(),
                "com.example.app:/oauth".into(),
            ],
            post_logout_redirect_uris: vec![],
            grant_types: vec![GrantType::AuthorizationCode],
            scopes: Scopes::default(),
            auth_method: ClientAuthMethod::None,
            application_type: ApplicationType::Web,
            jwks: None,
            jwks_uri: None,
            access_token_format: AccessTokenFormat::Jwt,
            links: ClientLinks::default(),
            created_at: 0,
            secret_changed_at: None,
            registration_policy: None,
            allowed_origins: vec![],
        };
        assert_eq!(
            c.web_origins(),
            ["https://spa.example", "http://127.0.0.1:5173"]
        );
        // An explicit list replaces them.
        let c = Client {
            allowed_origins: vec!["https://app.example".into()],
            ..c
        };
        assert_eq!(c.web_origins(), ["https://app.example"]);
    }

    #[test]
    fn allowed_origins_are_origins_as_browsers_send_them() {
        for ok in [
            "https://app.example",
            "https://app.example:8443",
            "http://127.0.0.1:5173",
            "http://localhost:3000",
            "http://[::1]:8080",
        ] {
            assert!(valid_origin(ok), "{ok}");
        }
        for bad in [
            "https://app.example/",
            "https://app.example/path",
            "https://app.example:443",
            "http://app.example",
            "https://app.example?x=1",
            "https://user@app.example",
            "*",
            "null",
            "app.example",
            "com.example.app:",
        ] {
            assert!(!valid_origin(bad), "{bad}");
        }
    }
}
