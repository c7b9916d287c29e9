//! The administrative operations: one function per change an administrator can make
//! (clients, users, sessions, grants, roles, groups, APIs, keys, registration tokens) and
//! the reads that go with them. Each takes an [`Ops`] (the store, who acts, and the time),
//! validates everything it is given, writes the change together with its audit row, and
//! answers a domain value or one [`AdminError`].
//!
//! The admin API (`api/`), the console (`console/`) and the command line
//! (`gatehouse_server::cli`) are thin adapters over these functions: they read their
//! input, call the operation and present the answer, so the three cannot drift apart.

pub mod access;
pub mod clients;
pub mod resources;
pub mod system;
pub mod users;

use gatehouse_core::{Actor, Audit};
use gatehouse_storage::{Store, StoreError};

/// What every operation runs with.
#[derive(Clone, Copy)]
pub struct Ops<'a> {
    pub store: &'a Store,
    /// Who makes the change: named in the audit row it writes.
    pub actor: &'a Actor,
    /// Unix seconds, from the server's clock.
    pub now: i64,
}

impl<'a> Ops<'a> {
    pub fn new(store: &'a Store, actor: &'a Actor, now: i64) -> Self {
        Self { store, actor, now }
    }

    /// The audit row of `action` on `target`, by this actor.
    pub fn audit(&self, action: &str, target: &str) -> Audit {
        self.actor.audit(action, target)
    }
}

/// Why an operation did nothing. Each adapter shows it its own way (an API status and
/// JSON body, a console page, one line on stderr), with the same text.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The input breaks a rule; the text says which.
    #[error("{0}")]
    Invalid(String),
    /// The object named does not exist.
    #[error("no such {0}")]
    NotFound(&'static str),
    /// An object of that name or identifier exists already.
    #[error("{0}")]
    Conflict(String),
    /// The database (or key store) failed; nothing was changed.
    #[error("the database is unavailable; nothing was changed, try again ({0})")]
    Unavailable(String),
}

impl AdminError {
    pub fn invalid(text: impl Into<String>) -> Self {
        Self::Invalid(text.into())
    }

    pub fn unavailable(e: impl std::fmt::Display) -> Self {
        Self::Unavailable(e.to_string())
    }
}

impl From<StoreError> for AdminError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(what) => Self::Conflict(format!("that {what} already exists")),
            StoreError::Missing(what) => Self::Invalid(format!("no {what}")),
            StoreError::Refused(why) => Self::Invalid(why.to_owned()),
            other => Self::Unavailable(other.to_string()),
        }
    }
}

pub type AdminResult<T> = Result<T, AdminError>;

/// The largest `offset` a listing accepts (the databases take a signed 64-bit offset).
pub const MAX_OFFSET: u64 = 1_000_000_000;

/// Which rows of a listing to read: `search` (at most 200 bytes, no control characters;
/// blank means none), `offset` (default 0, at most [`MAX_OFFSET`]) and `limit` (1 to 200,
/// default 50).
pub fn listing(
    search: Option<String>,
    offset: Option<u64>,
    limit: Option<u64>,
) -> AdminResult<gatehouse_core::Query> {
    let limit = limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(AdminError::invalid("limit must be 1 to 200"));
    }
    if let Some(s) = &search {
        if s.len() > 200 {
            return Err(AdminError::invalid("search is longer than 200 bytes"));
        }
        if s.chars().any(char::is_control) {
            return Err(AdminError::invalid(
                "search must not contain control characters",
            ));
        }
    }
    let offset = offset.unwrap_or(0);
    if offset > MAX_OFFSET {
        return Err(AdminError::invalid(format!(
            "offset must be at most {MAX_OFFSET}"
        )));
    }
    Ok(gatehouse_core::Query {
        search: search.filter(|s| !s.trim().is_empty()),
        offset,
        limit,
    })
}

/// Free text (a name, a description) typed by an administrator: at most `max` bytes, no
/// control or format characters.
pub(crate) fn check_text(field: &str, value: &str, max: usize) -> AdminResult<()> {
    if gatehouse_core::is_plain_text(value, max) {
        Ok(())
    } else {
        Err(AdminError::invalid(format!(
            "{field}: at most {max} bytes, no control characters"
        )))
    }
}
