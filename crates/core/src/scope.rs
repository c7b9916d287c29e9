//! Scopes (RFC 6749 §3.3): a set of space-delimited NQCHAR tokens.
//!
//! Parsing goes through oxide-auth's `Scope`, whose grammar check is exact; the set is then
//! kept ordered so that its string form is stable (stored rows, token claims, tests).

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

/// The scopes Gatehouse itself understands. Clients may be registered with more.
pub const OPENID: &str = "openid";
pub const PROFILE: &str = "profile";
pub const EMAIL: &str = "email";
pub const OFFLINE_ACCESS: &str = "offline_access";
/// Releases the user's `roles` claim (RFC 9068 §7.2.1.1).
pub const ROLES: &str = "roles";
/// Releases the user's `groups` claim (RFC 9068 §7.2.1.1).
pub const GROUPS: &str = "groups";
/// The scopes every client may request. `offline_access` joins them when refresh tokens do.
pub const STANDARD_SCOPES: [&str; 5] = [OPENID, PROFILE, EMAIL, ROLES, GROUPS];

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Scopes(BTreeSet<String>);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("scope contains a character outside the scope-token grammar (RFC 6749 §3.3)")]
pub struct ScopeSyntaxError;

impl Scopes {
    pub fn empty() -> Self {
        Self::default()
    }

    /// Parses a space-delimited scope string; an empty string is the empty set.
    pub fn parse(value: &str) -> Result<Self, ScopeSyntaxError> {
        // oxide-auth accepts any number of spaces between tokens; RFC 6749 §3.3 allows one,
        // but a tolerant split hurts nobody and clients do send doubled spaces.
        let parsed: oxide_auth::primitives::scope::Scope =
            value.parse().map_err(|_| ScopeSyntaxError)?;
        Ok(Self(parsed.iter().map(str::to_owned).collect()))
    }

    pub fn from_names<I: IntoIterator<Item = S>, S: Into<String>>(items: I) -> Self {
        Self(items.into_iter().map(Into::into).collect())
    }

    pub fn contains(&self, scope: &str) -> bool {
        self.0.contains(scope)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn is_subset(&self, other: &Scopes) -> bool {
        self.0.is_subset(&other.0)
    }

    pub fn union(&self, other: &Scopes) -> Scopes {
        Scopes(self.0.union(&other.0).cloned().collect())
    }

    pub fn intersection(&self, other: &Scopes) -> Scopes {
        Scopes(self.0.intersection(&other.0).cloned().collect())
    }

    /// The members of `self` that are not in `allowed`.
    pub fn difference<'a>(&'a self, allowed: &Scopes) -> Vec<&'a str> {
        self.0
            .iter()
            .filter(|s| !allowed.0.contains(*s))
            .map(String::as_str)
            .collect()
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }
}

impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for s in &self.0 {
            if !first {
                f.write_str(" ")?;
            }
            f.write_str(s)?;
            first = false;
        }
        Ok(())
    }
}

impl TryFrom<String> for Scopes {
    type Error = ScopeSyntaxError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Scopes::parse(&value)
    }
}

impl From<Scopes> for String {
    fn from(value: Scopes) -> Self {
        value.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: Option<&str>) {
        assert_eq!(
            Scopes::parse(input).ok().map(|s| s.to_string()).as_deref(),
            expected,
            "input {input:?}"
        );
    }

    #[test]
    fn grammar() {
        check("openid profile", Some("openid profile"));
        check("profile openid openid", Some("openid profile"));
        check("", Some(""));
        check("a\"b", None);
        check("a\\b", None);
        check("caf\u{e9}", None);
        check("a\nb", None);
    }

    #[test]
    fn subset_and_union() {
        let a = Scopes::parse("openid email").unwrap();
        let b = Scopes::parse("openid email profile").unwrap();
        assert!(a.is_subset(&b));
        assert!(!b.is_subset(&a));
        assert_eq!(a.union(&b), b);
        assert_eq!(b.difference(&a), vec!["profile"]);
    }
}
