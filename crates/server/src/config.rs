//! Configuration in two stages: raw values from a TOML file, the environment
//! (`GATEHOUSE_*`) and flags, then one [`Config::load`] that validates everything and
//! names the setting at fault. Only this crate reads files or the environment.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs};
use std::path::PathBuf;

use serde::Deserialize;
use url::{Host, Url};

pub const DEFAULT_ISSUER: &str = "http://127.0.0.1:8080";
pub const DEFAULT_DATABASE_URL: &str = "sqlite://gatehouse.db";
pub const DEFAULT_KEYS_DIR: &str = "keys";

/// Settings as read, before validation. Every field is optional; later sources win.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    pub issuer: Option<String>,
    pub listen: Option<String>,
    pub database_url: Option<String>,
    pub keys_dir: Option<PathBuf>,
    pub access_token_ttl: Option<i64>,
    pub id_token_ttl: Option<i64>,
    pub session_ttl: Option<i64>,
    pub refresh_token_idle_ttl: Option<i64>,
    pub refresh_token_absolute_ttl: Option<i64>,
    /// Reverse proxies whose `X-Forwarded-For` header names the client address.
    pub trusted_proxies: Option<Vec<String>>,
    /// Lets anyone register a client at /register without an initial access token.
    pub open_registration: Option<bool>,
    /// Lets people create their own accounts at /signup.
    pub signup: Option<bool>,
    /// Lifetime of access tokens for the admin API (at most 300 s).
    pub admin_token_ttl: Option<i64>,
    /// The key-encryption key (32 bytes, base64url) that seals signing keys in the database.
    pub key_encryption_key: Option<String>,
    /// A file holding the key-encryption key.
    pub key_encryption_key_file: Option<PathBuf>,
    /// How often each node reloads the shared key ring, seconds.
    pub key_reload_interval: Option<i64>,
    /// How long a rotated key is published before it signs, seconds.
    pub key_rotation_lead_time: Option<i64>,
    /// Rotate each signing key when it is this old, seconds (none: by hand only).
    pub key_rotation_interval: Option<i64>,
    /// The scopes dynamically registered clients may ask for.
    pub registration_scopes: Option<Vec<String>>,
    /// The grant types dynamically registered clients may ask for.
    pub registration_grant_types: Option<Vec<String>>,
}

impl RawConfig {
    /// Reads a TOML file.
    pub fn from_file(path: &std::path::Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::new("--config", format!("{}: {e}", path.display())))?;
        toml::from_str(&text).map_err(|e| {
            ConfigError::new("--config", format!("{}: {}", path.display(), e.message()))
        })
    }

    /// `other`'s values replace ours where present.
    pub fn overlay(self, other: RawConfig) -> Self {
        Self {
            issuer: other.issuer.or(self.issuer),
            listen: other.listen.or(self.listen),
            database_url: other.database_url.or(self.database_url),
            keys_dir: other.keys_dir.or(self.keys_dir),
            access_token_ttl: other.access_token_ttl.or(self.access_token_ttl),
            id_token_ttl: other.id_token_ttl.or(self.id_token_ttl),
            session_ttl: other.session_ttl.or(self.session_ttl),
            refresh_token_idle_ttl: other.refresh_token_idle_ttl.or(self.refresh_token_idle_ttl),
            refresh_token_absolute_ttl: other
                .refresh_token_absolute_ttl
                .or(self.refresh_token_absolute_ttl),
            trusted_proxies: other.trusted_proxies.or(self.trusted_proxies),
            open_registration: other.open_registration.or(self.open_registration),
            signup: other.signup.or(self.signup),
            admin_token_ttl: other.admin_token_ttl.or(self.admin_token_ttl),
            key_encryption_key: other.key_encryption_key.or(self.key_encryption_key),
            key_encryption_key_file: other
                .key_encryption_key_file
                .or(self.key_encryption_key_file),
            key_reload_interval: other.key_reload_interval.or(self.key_reload_interval),
            key_rotation_lead_time: other.key_rotation_lead_time.or(self.key_rotation_lead_time),
            key_rotation_interval: other.key_rotation_interval.or(self.key_rotation_interval),
            registration_scopes: other.registration_scopes.or(self.registration_scopes),
            registration_grant_types: other
                .registration_grant_types
                .or(self.registration_grant_types),
        }
    }
}

/// A configuration error: which setting, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid configuration: {setting}: {message}")]
pub struct ConfigError {
    pub setting: &'static str,
    pub message: String,
}

impl ConfigError {
    fn new(setting: &'static str, message: impl Into<String>) -> Self {
        Self {
            setting,
            message: message.into(),
        }
    }
}

/// Validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub issuer: String,
    pub listen: SocketAddr,
    pub database_url: String,
    pub keys_dir: PathBuf,
    pub access_token_ttl: i64,
    pub id_token_ttl: i64,
    pub session_ttl: i64,
    pub refresh_token_idle_ttl: i64,
    pub refresh_token_absolute_ttl: i64,
    pub trusted_proxies: Vec<IpAddr>,
    pub open_registration: bool,
    pub signup: bool,
    pub admin_token_ttl: i64,
    pub registration_policy: gatehouse_core::client::RegistrationPolicy,
    /// Where the key-encryption key comes from.
    pub key_encryption_key: KekSource,
    pub key_reload_interval: i64,
    pub key_rotation_lead_time: i64,
    pub key_rotation_interval: Option<i64>,
}

/// Where the key-encryption key comes from.
#[derive(Clone, PartialEq, Eq)]
pub enum KekSource {
    /// Given in the configuration (or `GATEHOUSE_KEY_ENCRYPTION_KEY`).
    Value(String),
    /// A file an operator provides.
    File(PathBuf),
    /// `key-encryption-key` in the keys folder, generated at the first start (one node).
    Generated(PathBuf),
}

impl std::fmt::Debug for KekSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Value(_) => f.write_str("Value(***)"),
            Self::File(p) => write!(f, "File({})", p.display()),
            Self::Generated(p) => write!(f, "Generated({})", p.display()),
        }
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

fn ttl(value: Option<i64>, default: i64, setting: &'static str) -> Result<i64, ConfigError> {
    match value {
        None => Ok(default),
        Some(v) if (1..=31_536_000).contains(&v) => Ok(v),
        Some(_) => Err(ConfigError::new(
            setting,
            "must be a number of seconds between 1 and 31536000",
        )),
    }
}

impl Config {
    pub fn load(raw: RawConfig) -> Result<Self, ConfigError> {
        let issuer_text = raw.issuer.unwrap_or_else(|| DEFAULT_ISSUER.to_owned());
        let issuer = parse_issuer(&issuer_text)?;
        let listen = match raw.listen {
            Some(l) => l.parse::<SocketAddr>().map_err(|_| {
                ConfigError::new(
                    "GATEHOUSE_LISTEN (listen)",
                    format!("{l:?} is not an address:port such as 127.0.0.1:8080"),
                )
            })?,
            None => derive_listen(&issuer)?,
        };
        let database_url = raw
            .database_url
            .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned());
        if gatehouse_storage::Backend::from_url(&database_url).is_none() {
            return Err(ConfigError::new(
                "GATEHOUSE_DATABASE_URL (database_url)",
                "must start with sqlite:// or postgres://",
            ));
        }
        let mut trusted_proxies = Vec::new();
        for p in raw.trusted_proxies.unwrap_or_default() {
            let p = p.trim();
            if p.is_empty() {
                continue;
            }
            trusted_proxies.push(p.parse::<IpAddr>().map_err(|_| {
                ConfigError::new(
                    "GATEHOUSE_TRUSTED_PROXIES (trusted_proxies)",
                    format!("{p:?} is not an IP address"),
                )
            })?);
        }
        let registration_policy =
            registration_policy(raw.registration_scopes, raw.registration_grant_types)?;
        let admin_token_ttl = match raw.admin_token_ttl {
            None => 300,
            Some(v) if (1..=300).contains(&v) => v,
            Some(_) => {
                return Err(ConfigError::new(
                    "GATEHOUSE_ADMIN_TOKEN_TTL (admin_token_ttl)",
                    "must be a number of seconds between 1 and 300",
                ));
            }
        };
        let keys_dir = raw
            .keys_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_KEYS_DIR));
        let key_encryption_key = match (raw.key_encryption_key, raw.key_encryption_key_file) {
            (Some(_), Some(_)) => {
                return Err(ConfigError::new(
                    "GATEHOUSE_KEY_ENCRYPTION_KEY (key_encryption_key)",
                    "give the key or a file, not both",
                ));
            }
            (Some(v), None) => {
                gatehouse_oidc::Kek::from_text(&v).map_err(|e| {
                    ConfigError::new(
                        "GATEHOUSE_KEY_ENCRYPTION_KEY (key_encryption_key)",
                        e.to_string(),
                    )
                })?;
                KekSource::Value(v)
            }
            (None, Some(p)) => KekSource::File(p),
            (None, None) => KekSource::Generated(keys_dir.join("key-encryption-key")),
        };
        let bounded = |value: Option<i64>,
                       default: i64,
                       range: std::ops::RangeInclusive<i64>,
                       setting: &'static str| {
            let v = value.unwrap_or(default);
            if range.contains(&v) {
                Ok(v)
            } else {
                Err(ConfigError::new(
                    setting,
                    format!(
                        "must be a number of seconds from {} to {}",
                        range.start(),
                        range.end()
                    ),
                ))
            }
        };
        let key_reload_interval = bounded(
            raw.key_reload_interval,
            30,
            1..=300,
            "GATEHOUSE_KEY_RELOAD_INTERVAL (key_reload_interval)",
        )?;
        let key_rotation_lead_time = bounded(
            raw.key_rotation_lead_time,
            300,
            0..=7 * 86_400,
            "GATEHOUSE_KEY_ROTATION_LEAD_TIME (key_rotation_lead_time)",
        )?;
        let key_rotation_interval = match raw.key_rotation_interval {
            None => None,
            Some(v) => Some(bounded(
                Some(v),
                v,
                3600..=3 * 365 * 86_400,
                "GATEHOUSE_KEY_ROTATION_INTERVAL (key_rotation_interval)",
            )?),
        };
        Ok(Self {
            key_encryption_key,
            key_reload_interval,
            key_rotation_lead_time,
            key_rotation_interval,
            admin_token_ttl,
            registration_policy,
            trusted_proxies,
            open_registration: raw.open_registration.unwrap_or(false),
            signup: raw.signup.unwrap_or(false),
            issuer: issuer.as_str().trim_end_matches('/').to_owned(),
            listen,
            database_url,
            keys_dir: raw
                .keys_dir
                .unwrap_or_else(|| PathBuf::from(DEFAULT_KEYS_DIR)),
            access_token_ttl: ttl(
                raw.access_token_ttl,
                900,
                "GATEHOUSE_ACCESS_TOKEN_TTL (access_token_ttl)",
            )?,
            id_token_ttl: ttl(
                raw.id_token_ttl,
                3600,
                "GATEHOUSE_ID_TOKEN_TTL (id_token_ttl)",
            )?,
            session_ttl: ttl(
                raw.session_ttl,
                12 * 3600,
                "GATEHOUSE_SESSION_TTL (session_ttl)",
            )?,
            refresh_token_idle_ttl: ttl(
                raw.refresh_token_idle_ttl,
                14 * 24 * 3600,
                "GATEHOUSE_REFRESH_TOKEN_IDLE_TTL (refresh_token_idle_ttl)",
            )?,
            refresh_token_absolute_ttl: ttl(
                raw.refresh_token_absolute_ttl,
                90 * 24 * 3600,
                "GATEHOUSE_REFRESH_TOKEN_ABSOLUTE_TTL (refresh_token_absolute_ttl)",
            )?,
        })
    }

    /// The path part of the issuer ("" for a bare origin): routes are served below it.
    pub fn issuer_path(&self) -> String {
        Url::parse(&self.issuer)
            .map(|u| u.path().trim_end_matches('/').to_owned())
            .unwrap_or_default()
    }
}

/// What dynamically registered clients may ask for: the defaults (OpenID scopes, the code
/// and refresh grants), or the configured lists.
fn registration_policy(
    scopes: Option<Vec<String>>,
    grant_types: Option<Vec<String>>,
) -> Result<gatehouse_core::client::RegistrationPolicy, ConfigError> {
    let mut policy = gatehouse_core::client::RegistrationPolicy::default();
    if let Some(list) = scopes {
        let setting = "GATEHOUSE_REGISTRATION_SCOPES (registration_scopes)";
        policy.scopes = gatehouse_core::Scopes::parse(&list.join(" "))
            .map_err(|e| ConfigError::new(setting, e.to_string()))?;
        if let Some(s) = policy.scopes.iter().find(|s| s.starts_with("gatehouse:")) {
            return Err(ConfigError::new(
                setting,
                format!("{s} is reserved: only an administrator can grant it"),
            ));
        }
    }
    if let Some(list) = grant_types {
        policy.grant_types = list
            .iter()
            .map(|g| g.trim())
            .filter(|g| !g.is_empty())
            .map(|g| {
                g.parse().map_err(|e: String| {
                    ConfigError::new(
                        "GATEHOUSE_REGISTRATION_GRANT_TYPES (registration_grant_types)",
                        e,
                    )
                })
            })
            .collect::<Result<_, _>>()?;
    }
    Ok(policy)
}

/// OIDC Discovery §3 / RFC 8414 §2: https, no query, no fragment. Plain http is allowed
/// only on loopback, for development.
fn parse_issuer(text: &str) -> Result<Url, ConfigError> {
    let err = |m: &str| ConfigError::new("GATEHOUSE_ISSUER (issuer)", format!("{text:?} {m}"));
    let url = Url::parse(text).map_err(|_| err("is not an absolute URL"))?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err(err("must not have a query or fragment"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(err("must not contain user information"));
    }
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        "http" => Err(err("must use https unless the host is a loopback address")),
        _ => Err(err("must be an http(s) URL")),
    }
}

/// The issuer's own host and port when it is an address of this machine (loopback), else
/// every interface on the issuer's port (a proxy or load balancer in front terminates TLS).
fn derive_listen(issuer: &Url) -> Result<SocketAddr, ConfigError> {
    let port = issuer.port_or_known_default().unwrap_or(8080);
    let ip = match issuer.host() {
        Some(Host::Ipv4(ip)) if ip.is_loopback() => IpAddr::V4(ip),
        Some(Host::Ipv6(ip)) if ip.is_loopback() => IpAddr::V6(ip),
        Some(Host::Domain(d)) if d.eq_ignore_ascii_case("localhost") => {
            return ("localhost", port)
                .to_socket_addrs()
                .ok()
                .and_then(|mut a| a.next())
                .ok_or_else(|| {
                    ConfigError::new(
                        "GATEHOUSE_LISTEN (listen)",
                        "cannot resolve localhost; set GATEHOUSE_LISTEN",
                    )
                });
        }
        _ => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
    };
    Ok(SocketAddr::new(ip, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(issuer: &str) -> Result<Config, ConfigError> {
        Config::load(RawConfig {
            issuer: Some(issuer.into()),
            ..Default::default()
        })
    }

    #[test]
    fn defaults_work_for_a_newcomer() {
        let c = Config::load(RawConfig::default()).unwrap();
        assert_eq!(c.issuer, "http://127.0.0.1:8080");
        assert_eq!(c.listen, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(c.database_url, "sqlite://gatehouse.db");
        assert_eq!(c.issuer_path(), "");
    }

    #[test]
    fn issuer_rules_name_the_setting() {
        for bad in [
            "http://auth.example.com",
            "ftp://x",
            "https://a.example/?x=1",
            "https://a.example/#f",
            "nope",
        ] {
            let e = load(bad).unwrap_err();
            assert!(e.setting.starts_with("GATEHOUSE_ISSUER"), "{bad}");
        }
        let c = load("https://auth.example.com/tenant/").unwrap();
        assert_eq!(c.issuer, "https://auth.example.com/tenant");
        assert_eq!(c.listen, "0.0.0.0:443".parse().unwrap());
        assert_eq!(c.issuer_path(), "/tenant");
    }

    #[test]
    fn other_settings_are_checked() {
        let e = Config::load(RawConfig {
            database_url: Some("mysql://x".into()),
            ..Default::default()
        })
        .unwrap_err();
        assert!(e.setting.starts_with("GATEHOUSE_DATABASE_URL"));
        let e = Config::load(RawConfig {
            listen: Some("nowhere".into()),
            ..Default::default()
        })
        .unwrap_err();
        assert!(e.setting.starts_with("GATEHOUSE_LISTEN"));
        let e = Config::load(RawConfig {
            trusted_proxies: Some(vec!["10.0.0.1".into(), "proxy.example".into()]),
            ..Default::default()
        })
        .unwrap_err();
        assert!(e.setting.starts_with("GATEHOUSE_TRUSTED_PROXIES"));
    }
}
