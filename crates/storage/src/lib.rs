//! The only crate that talks to the database.
//!
//! [`Store`] is a concrete type over a sea-orm connection (SQLite by default, PostgreSQL for
//! several nodes) whose methods take and return the domain types of `gatehouse-core`.
//! Entities stay private. Single-use values are consumed with a conditional `UPDATE`
//! whose affected-row count decides the one winner of a race, on both databases.

mod access;
mod authorization;
mod clients;
mod device;
mod entity;
mod keys;
mod refresh;
mod resources;
mod sessions;
mod throttle;
mod users;

use std::time::Duration;

use gatehouse_migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr, SqlErr};

pub use access::Membership;
pub use authorization::{CodeRedemption, GrantFilter, PendingRequest};
pub use clients::{Registration, RegistrationTokenRow};
pub use device::DevicePoll;
pub use keys::{KeyChanges, KeyState, StoredKey};
pub use refresh::RefreshRotation;
pub use throttle::{Attempt, ThrottlePolicy};
pub use users::NewUser;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database failed or is unreachable. Callers answer `server_error`,
    /// `temporarily_unavailable` or 503, never a success.
    #[error("database error: {0}")]
    Database(#[from] DbErr),
    /// A unique value (a username, a client id) already exists.
    #[error("{0} already exists")]
    Conflict(&'static str),
    /// The change would break a rule the store keeps (it was rolled back): the message
    /// says which.
    #[error("{0}")]
    Refused(&'static str),
    /// Something the change names (a role, a group) does not exist.
    #[error("no {0}")]
    Missing(String),
    /// A stored row could not be decoded into its domain type.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

fn conflict_or(err: DbErr, what: &'static str) -> StoreError {
    match err.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => StoreError::Conflict(what),
        _ => StoreError::Database(err),
    }
}

fn json_list(items: &[impl serde::Serialize]) -> String {
    serde_json::to_string(items).unwrap_or_else(|_| "[]".to_owned())
}

fn parse_json<T: serde::de::DeserializeOwned>(value: &str, what: &str) -> StoreResult<T> {
    serde_json::from_str(value).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

/// Which database engine a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_url(url: &str) -> Option<Self> {
        if url.starts_with("sqlite:") {
            Some(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Self::Postgres)
        } else {
            None
        }
    }
}

/// `text` with the password of `url` (and the whole URL) masked.
pub fn redact_url(text: &str, url: &str) -> String {
    let mut out = text.replace(url, "<database url>");
    if let Ok(u) = url::Url::parse(url)
        && let Some(p) = u.password()
        && !p.is_empty()
    {
        out = out.replace(p, "***");
    }
    out
}

#[derive(Clone, Debug)]
pub struct Store {
    db: DatabaseConnection,
}

impl Store {
    /// Connects to `url` and brings the schema up to date.
    ///
    /// SQLite runs in WAL mode with a busy timeout and several connections, so readers do
    /// not wait for the writer and concurrent writers queue instead of failing.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let backend = Backend::from_url(url).ok_or_else(|| {
            StoreError::Database(DbErr::Custom(
                "unsupported database URL (expected sqlite:// or postgres://)".into(),
            ))
        })?;
        let mut opts = ConnectOptions::new(url.to_owned());
        opts.sqlx_logging(false)
            .acquire_timeout(Duration::from_secs(10));
        match backend {
            Backend::Sqlite => {
                let memory = url.contains(":memory:") || url.contains("mode=memory");
                // An in-memory database exists once per connection: keep exactly one.
                opts.max_connections(if memory { 1 } else { 8 })
                    .min_connections(1)
                    .map_sqlx_sqlite_opts(|o| {
                        o.create_if_missing(true)
                            .journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                            .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                            .busy_timeout(Duration::from_secs(10))
                            .foreign_keys(true)
                    });
            }
            Backend::Postgres => {
                opts.max_connections(16);
            }
        }
        // Driver errors may quote the URL, password included: never pass them on as they are.
        let db = Database::connect(opts)
            .await
            .map_err(|e| StoreError::Database(DbErr::Custom(redact_url(&e.to_string(), url))))?;
        Migrator::up(&db, None).await?;
        let store = Self { db };
        store.backfill_username_keys().await?;
        Ok(store)
    }

    /// How many rows each table that traffic can grow holds: what the anonymous-traffic
    /// test and benchmark measure.
    pub async fn row_counts(&self) -> StoreResult<Vec<(&'static str, u64)>> {
        use sea_orm::{ConnectionTrait, Statement};
        let mut out = Vec::new();
        for table in [
            "sessions",
            "authorization_requests",
            "device_codes",
            "throttle_counters",
            "grants",
            "authorization_codes",
            "audit_log",
        ] {
            let row = self
                .db
                .query_one_raw(Statement::from_string(
                    self.db.get_database_backend(),
                    format!("SELECT COUNT(*) AS n FROM {table}"),
                ))
                .await?;
            let n: i64 = row.map(|r| r.try_get("", "n")).transpose()?.unwrap_or(0);
            out.push((table, n as u64));
        }
        Ok(out)
    }

    /// Readiness: can the database answer a query right now?
    pub async fn ping(&self) -> StoreResult<()> {
        Ok(self.db.ping().await?)
    }
}
