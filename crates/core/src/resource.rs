//! Resource indicators (RFC 8707): the APIs access tokens are issued for.
//!
//! An administrator registers each API (a resource server) by its identifier, an absolute
//! URI, with the scopes it accepts. A token request names the API with `resource=`; the
//! access token's `aud` is then that identifier and it carries only that API's scopes, so
//! a token minted for one API is refused by every other API that checks `aud`. Without a
//! `resource`, a token is for the issuer itself (userinfo) and carries no scope that any
//! registered API owns. The admin API is a built-in resource that owns every `gatehouse:`
//! scope.

use crate::Scopes;

/// A registered API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    /// The audience of its tokens: an absolute https (or loopback http) URI without query
    /// or fragment (RFC 8707 §2).
    pub identifier: String,
    pub name: String,
    /// The scopes this API accepts; each scope belongs to at most one API.
    pub scopes: Scopes,
    /// The lifetime of its access tokens, when shorter than the server's default.
    pub access_token_ttl: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// The most scopes one API may own.
pub const MAX_RESOURCE_SCOPES: usize = 100;

/// Checks a resource identifier as RFC 8707 §2 describes it: an absolute URI, no fragment,
/// and (as the RFC advises) no query; https, or http on a loopback host for development.
pub fn check_identifier(identifier: &str) -> Result<(), String> {
    if identifier.len() > 255 || !crate::secret::is_vschar(identifier) {
        return Err("a resource identifier is a URI of at most 255 printable characters".into());
    }
    let url =
        url::Url::parse(identifier).map_err(|_| format!("{identifier} is not an absolute URI"))?;
    if url.fragment().is_some() || identifier.contains('#') {
        return Err("a resource identifier must not have a fragment".into());
    }
    if url.query().is_some() {
        return Err("a resource identifier must not have a query".into());
    }
    let loopback = matches!(url.host(), Some(url::Host::Ipv4(ip)) if ip.is_loopback())
        || matches!(url.host(), Some(url::Host::Ipv6(ip)) if ip.is_loopback())
        || matches!(url.host(), Some(url::Host::Domain(d)) if d.eq_ignore_ascii_case("localhost"));
    match url.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err("a resource identifier must be an https URI (http only on loopback)".into()),
    }
}

/// What is wrong with an API an administrator registers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResourceProblem {
    /// The values themselves (400).
    Invalid(String),
    /// A scope another API owns already (409).
    Taken(String),
}

impl std::fmt::Display for ResourceProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Invalid(m) | Self::Taken(m) => f.write_str(m),
        }
    }
}

impl Resource {
    /// The admin API as a resource: it owns the `gatehouse:admin` scope; its tokens live
    /// at most `token_ttl`. Built in: never stored, never changed by an administrator.
    pub fn admin_api(issuer: &str, token_ttl: Option<i64>) -> Self {
        Self {
            identifier: format!("{}/admin/api", issuer.trim_end_matches('/')),
            name: "Gatehouse admin API".into(),
            scopes: crate::Scopes::from_names([crate::access::ADMIN_SCOPE]),
            access_token_ttl: token_ttl,
            created_at: 0,
            updated_at: 0,
        }
    }

    /// Checks an API before it is stored: its identifier (RFC 8707 §2) is not the
    /// issuer's, its name is plain text, it accepts 1 to 100 scopes that are neither the
    /// issuer's own (the OpenID scopes) nor Gatehouse's (`gatehouse:`) nor owned by any API
    /// in `others` (the admin API included), and its token lifetime is 1 to 86400 s.
    pub fn check(&self, issuer: &str, others: &[Resource]) -> Result<(), ResourceProblem> {
        let invalid = |m: String| Err(ResourceProblem::Invalid(m));
        if let Err(e) = check_identifier(&self.identifier) {
            return invalid(e);
        }
        if self.identifier == issuer {
            return invalid("the issuer is Gatehouse's own audience".into());
        }
        if self.name.trim().is_empty() || !crate::is_plain_text(&self.name, 100) {
            return invalid("name must be 1 to 100 bytes without control characters".into());
        }
        if self.scopes.is_empty() || self.scopes.len() > MAX_RESOURCE_SCOPES {
            return invalid("an API accepts 1 to 100 scopes".into());
        }
        let issuer_own = crate::client::RegistrationPolicy::default().scopes;
        if let Some(s) = self
            .scopes
            .iter()
            .find(|s| s.starts_with("gatehouse:") || issuer_own.contains(s))
        {
            return invalid(format!("the scope {s} belongs to Gatehouse itself"));
        }
        if self
            .access_token_ttl
            .is_some_and(|t| !(1..=86_400).contains(&t))
        {
            return invalid("access_token_ttl must be 1 to 86400 seconds".into());
        }
        for other in others.iter().filter(|o| o.identifier != self.identifier) {
            if let Some(s) = self.scopes.iter().find(|s| other.scopes.contains(s)) {
                return Err(ResourceProblem::Taken(format!(
                    "the scope {s} already belongs to {}",
                    other.identifier
                )));
            }
        }
        Ok(())
    }
}

/// Why no token can be issued for what was asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AudienceError {
    /// `invalid_target` (RFC 8707 §2): the resource is not registered.
    UnknownResource,
    /// `invalid_scope`: scopes of several APIs, or of an API and the issuer, in one token.
    MixedAudiences,
    /// `invalid_scope`: asked for scopes the client (or grant) does not hold for that
    /// audience; the names.
    NotHeld(Vec<String>),
    /// `invalid_scope`: the client holds no scope of the named API.
    NothingForResource,
}

impl std::fmt::Display for AudienceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::UnknownResource => f.write_str("the resource is not a registered API"),
            Self::MixedAudiences => {
                f.write_str("the scopes belong to different APIs; ask for one resource per token")
            }
            Self::NotHeld(s) => write!(f, "not allowed for this audience: {}", s.join(" ")),
            Self::NothingForResource => {
                f.write_str("the client holds no scope of the requested resource")
            }
        }
    }
}

/// Picks the audience and scopes of an access token (RFC 8707 §2.2).
///
/// `held` are the scopes the client (client credentials) or the grant (code, refresh) may
/// give the token; `asked` the `scope` parameter, if sent; `resource` the `resource`
/// parameter. Returns the API the token is for (`None`: the issuer) and its scopes:
/// - with a resource: that API, and the asked scopes (default: every held scope it owns);
/// - without one, when every asked scope belongs to one API: that API (a scope names its
///   audience, so `scope=gatehouse:admin` is a token for the admin API);
/// - otherwise the issuer, and the asked scopes (default: the held scopes no API owns).
///   A scope that belongs to an API is never in a token by default.
pub fn select_audience<'r>(
    resources: &'r [Resource],
    held: &Scopes,
    asked: Option<&Scopes>,
    resource: Option<&str>,
) -> Result<(Option<&'r Resource>, Scopes), AudienceError> {
    let owner = |scope: &str| resources.iter().find(|r| r.scopes.contains(scope));
    let target = match resource {
        Some(id) => Some(
            resources
                .iter()
                .find(|r| r.identifier == id)
                .ok_or(AudienceError::UnknownResource)?,
        ),
        None => match asked {
            Some(a) if !a.is_empty() => {
                let mut owners = a.iter().map(|s| owner(s).map(|r| &r.identifier));
                let first = owners.next().flatten();
                if owners.any(|o| o != first) {
                    return Err(AudienceError::MixedAudiences);
                }
                first.and_then(|id| resources.iter().find(|r| &r.identifier == id))
            }
            _ => None,
        },
    };
    let allowed = match target {
        Some(r) => held.intersection(&r.scopes),
        None => Scopes::from_names(held.iter().filter(|s| owner(s).is_none())),
    };
    let scopes = match asked {
        Some(a) => {
            let missing: Vec<String> = a
                .difference(&allowed)
                .into_iter()
                .map(str::to_owned)
                .collect();
            if !missing.is_empty() {
                return Err(
                    if target.is_some() && a.iter().all(|s| owner(s).is_none()) {
                        AudienceError::MixedAudiences
                    } else {
                        AudienceError::NotHeld(missing)
                    },
                );
            }
            a.clone()
        }
        None => allowed,
    };
    if target.is_some() && scopes.is_empty() {
        return Err(AudienceError::NothingForResource);
    }
    Ok((target, scopes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(id: &str, scopes: &str) -> Resource {
        Resource {
            identifier: id.into(),
            name: id.into(),
            scopes: Scopes::parse(scopes).unwrap(),
            access_token_ttl: None,
            created_at: 0,
            updated_at: 0,
        }
    }

    fn s(v: &str) -> Scopes {
        Scopes::parse(v).unwrap()
    }

    #[test]
    fn registered_apis_keep_to_their_own_scopes() {
        let admin = api("https://gh/admin/api", "gatehouse:admin");
        let pay = api("https://pay", "payments:read");
        let others = [admin, pay];
        let check = |id: &str, scopes: &str| api(id, scopes).check("https://gh", &others);
        assert!(check("https://orders", "orders:read orders:write").is_ok());
        // Updating an API does not collide with itself.
        assert!(check("https://pay", "payments:read payments:write").is_ok());
        for (id, scopes) in [
            ("https://gh", "x"),
            ("https://orders", "openid"),
            ("https://orders", "offline_access"),
            ("https://orders", "gatehouse:other"),
            ("http://orders.example", "x"),
        ] {
            assert!(
                matches!(check(id, scopes), Err(ResourceProblem::Invalid(_))),
                "{id} {scopes}"
            );
        }
        assert!(matches!(
            check("https://orders", "orders:read payments:read"),
            Err(ResourceProblem::Taken(_))
        ));
        assert!(matches!(
            check("https://orders", "gatehouse:admin"),
            Err(ResourceProblem::Invalid(_))
        ));
        let mut long_lived = api("https://orders", "o");
        long_lived.access_token_ttl = Some(90_000);
        assert!(long_lived.check("https://gh", &others).is_err());
    }

    #[test]
    fn identifiers_follow_rfc_8707() {
        assert!(check_identifier("https://api.example.com").is_ok());
        assert!(check_identifier("https://api.example.com/payments").is_ok());
        assert!(check_identifier("http://127.0.0.1:9000/api").is_ok());
        for bad in [
            "api.example.com",
            "https://api.example.com/#x",
            "https://api.example.com/?v=1",
            "http://api.example.com",
            "ftp://x.example",
            "https://a b.example",
        ] {
            assert!(check_identifier(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_audience_follows_the_resource_and_the_scopes() {
        let apis = [
            api("https://admin", "gatehouse:admin"),
            api("https://pay", "payments:read payments:write"),
        ];
        let held = s("openid reports payments:read payments:write gatehouse:admin");
        let id = |r: Option<&Resource>| r.map(|r| r.identifier.clone());
        let table: [(
            Option<&str>,
            Option<&str>,
            Result<(Option<&str>, &str), AudienceError>,
        ); 10] = [
            // No scope, no resource: the issuer, and never an API's scope.
            (None, None, Ok((None, "openid reports"))),
            (None, Some("reports"), Ok((None, "reports"))),
            // A scope names its API.
            (
                None,
                Some("gatehouse:admin"),
                Ok((Some("https://admin"), "gatehouse:admin")),
            ),
            (
                None,
                Some("payments:read"),
                Ok((Some("https://pay"), "payments:read")),
            ),
            // A resource without scope: every held scope of that API.
            (
                Some("https://pay"),
                None,
                Ok((Some("https://pay"), "payments:read payments:write")),
            ),
            // Mixing audiences is refused.
            (
                None,
                Some("payments:read gatehouse:admin"),
                Err(AudienceError::MixedAudiences),
            ),
            (
                None,
                Some("reports payments:read"),
                Err(AudienceError::MixedAudiences),
            ),
            (
                Some("https://pay"),
                Some("gatehouse:admin"),
                Err(AudienceError::NotHeld(vec!["gatehouse:admin".into()])),
            ),
            (
                Some("https://pay"),
                Some("reports"),
                Err(AudienceError::MixedAudiences),
            ),
            (
                Some("https://unknown"),
                None,
                Err(AudienceError::UnknownResource),
            ),
        ];
        for (resource, asked, expect) in table {
            let asked = asked.map(s);
            let got =
                select_audience(&apis, &held, asked.as_ref(), resource).map(|(r, sc)| (id(r), sc));
            let expect = expect.map(|(r, sc)| (r.map(str::to_owned), s(sc)));
            assert_eq!(got, expect, "resource {resource:?}, scope {asked:?}");
        }
        // A client holding nothing of an API gets no token for it.
        assert_eq!(
            select_audience(&apis, &s("openid"), None, Some("https://admin")).unwrap_err(),
            AudienceError::NothingForResource
        );
        assert_eq!(
            select_audience(&apis, &s("openid"), Some(&s("gatehouse:admin")), None).unwrap_err(),
            AudienceError::NotHeld(vec!["gatehouse:admin".into()])
        );
    }
}
