//! Gatehouse's schema, one migration per step, portable across SQLite and PostgreSQL.
//!
//! Conventions: times are `BIGINT` Unix seconds (no time zone or driver type surprises);
//! lists are JSON text; client secrets, authorization codes and session cookies are stored
//! only as SHA-256 digests (`*_hash` columns), passwords as argon2id PHC strings. Pending
//! request ids and CSRF tokens are stored as issued: each is bound to the browser session
//! it belongs to (`authorization_requests.session_hash`, `sessions.csrf_token`) and is
//! refused with any other. Every code and token row carries its `grant_id`, so revoking a whole
//! grant is one statement.

pub use sea_orm_migration::prelude::*;

mod m0001_initial;
mod m0002_bind_requests_to_sessions;
mod m0003_refresh_tokens;
mod m0004_revoked_access_tokens;
mod m0005_device_codes;
mod m0006_client_keys;
mod m0007_opaque_access_tokens;
mod m0008_client_jwks_uri;
mod m0009_client_registration;
mod m0010_roles_groups_audit;
mod m0011_client_secret_changed_at;
mod m0012_throttle_counters;
mod m0013_resources;
mod m0014_signing_keys;
mod m0015_username_keys;
mod m0016_client_allowed_origins;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m0001_initial::Migration),
            Box::new(m0002_bind_requests_to_sessions::Migration),
            Box::new(m0003_refresh_tokens::Migration),
            Box::new(m0004_revoked_access_tokens::Migration),
            Box::new(m0005_device_codes::Migration),
            Box::new(m0006_client_keys::Migration),
            Box::new(m0007_opaque_access_tokens::Migration),
            Box::new(m0008_client_jwks_uri::Migration),
            Box::new(m0009_client_registration::Migration),
            Box::new(m0010_roles_groups_audit::Migration),
            Box::new(m0011_client_secret_changed_at::Migration),
            Box::new(m0012_throttle_counters::Migration),
            Box::new(m0013_resources::Migration),
            Box::new(m0014_signing_keys::Migration),
            Box::new(m0015_username_keys::Migration),
            Box::new(m0016_client_allowed_origins::Migration),
        ]
    }
}
