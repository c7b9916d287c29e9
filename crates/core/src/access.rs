//! Roles, groups and the audit log: who may do what, and who did what.
//!
//! Roles (each with a list of permission names) are held by users and by clients; groups
//! are sets of users. Relying parties read them from the `roles` and `groups` claims
//! (RFC 9068 §7.2.1.1), released by the scopes of the same names. The role [`ADMIN_ROLE`]
//! opens the admin API and console to a user; a client reaches the admin API with a
//! client-credentials token carrying the scope [`ADMIN_SCOPE`].

use std::fmt;
use std::str::FromStr;

use serde_json::Value;

/// The role that makes a user an administrator. It always exists.
pub const ADMIN_ROLE: &str = "admin";
/// The scope a client-credentials token needs for the admin API.
pub const ADMIN_SCOPE: &str = "gatehouse:admin";

/// Who holds a role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SubjectKind {
    User,
    Client,
}

impl SubjectKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Client => "client",
        }
    }
}

impl fmt::Display for SubjectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SubjectKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "user" => Ok(Self::User),
            "client" => Ok(Self::Client),
            other => Err(format!("unknown subject kind {other:?}")),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    pub name: String,
    pub description: String,
    /// Permission names the role grants, for the applications that read the role.
    pub permissions: Vec<String>,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub name: String,
    pub description: String,
    pub created_at: i64,
}

/// Is `name` acceptable as a role, group or permission name? 1 to 64 characters from
/// `[A-Za-z0-9._:-]`, beginning with a letter or digit: safe in a claim, a URL path segment
/// and a command line.
pub fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

/// Who makes an administrative change, as the audit log names them, and from where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// `user:<id>`, `client:<client_id>` or `cli:<operating-system account>`.
    pub id: String,
    /// The client address of the request, when there was one.
    pub address: Option<String>,
}

impl Actor {
    /// A signed-in administrator, from `address`.
    pub fn user(user_id: &str, address: &str) -> Self {
        Self {
            id: format!("user:{user_id}"),
            address: Some(address.to_owned()),
        }
    }

    /// A client acting for itself with a `gatehouse:admin` token, from `address`.
    pub fn client(client_id: &str, address: &str) -> Self {
        Self {
            id: format!("client:{client_id}"),
            address: Some(address.to_owned()),
        }
    }

    /// Someone at the command line, named by their operating-system account.
    pub fn cli(account: &str) -> Self {
        Self {
            id: format!("cli:{account}"),
            address: None,
        }
    }

    /// Is this actor the user `user_id`?
    pub fn is_user(&self, user_id: &str) -> bool {
        self.id.strip_prefix("user:") == Some(user_id)
    }

    /// The audit entry for `action` on `target`, by this actor.
    pub fn audit(&self, action: &str, target: &str) -> Audit {
        let mut audit = Audit::new(self.id.clone(), action, target);
        audit.address = self.address.clone();
        audit
    }
}

/// One administrative change, as it is written to the audit log together with the change
/// itself (in the same transaction).
#[derive(Debug, Clone, PartialEq)]
pub struct Audit {
    /// Who: `user:<id>`, `client:<client_id>`, `cli`, or `registration:<client_id>`.
    pub actor: String,
    /// What, as `<object>.<verb>`: `client.create`, `user.disable`, `role.assign`, ...
    pub action: String,
    /// The object changed: a client id, user id, role name, ...
    pub target: String,
    /// Further facts (never a secret): the fields changed, the role assigned, ...
    pub detail: Value,
    /// From where: the client address of the request, when there was one.
    pub address: Option<String>,
}

impl Audit {
    pub fn new(actor: impl Into<String>, action: &str, target: impl Into<String>) -> Self {
        Self {
            actor: actor.into(),
            action: action.to_owned(),
            target: target.into(),
            detail: Value::Null,
            address: None,
        }
    }

    pub fn detail(mut self, detail: Value) -> Self {
        self.detail = detail;
        self
    }

    /// The same actor and address, another action on another target.
    pub fn then(&self, action: &str, target: impl Into<String>) -> Self {
        Self {
            actor: self.actor.clone(),
            action: action.to_owned(),
            target: target.into(),
            detail: Value::Null,
            address: self.address.clone(),
        }
    }
}

/// An audit log row as read back.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    pub id: i64,
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub detail: Value,
    pub address: Option<String>,
}

/// One page of a listing: the rows and how many match in all.
#[derive(Debug, Clone, PartialEq)]
pub struct Listing<T> {
    pub items: Vec<T>,
    pub total: u64,
}

/// Which rows of a listing: `search` matches names, ids and addresses case-insensitively.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    pub search: Option<String>,
    pub offset: u64,
    pub limit: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_short_plain_tokens() {
        for ok in ["admin", "billing.read", "team_a", "urn:x", "a-b", "A1"] {
            assert!(valid_name(ok), "{ok}");
        }
        let long = "a".repeat(65);
        for bad in ["", "-admin", ".x", "a b", "a/b", "ä", "a\"b", long.as_str()] {
            assert!(!valid_name(bad), "{bad}");
        }
    }
}
