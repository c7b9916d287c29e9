//! Gatehouse's schema, one migration per step, portable across SQLite and PostgreSQL.
//!
//! Conventions: times are `BIGINT` Unix seconds (no time zone or driver type surprises);
//! lists are JSON text; secrets, codes and session ids are stored only as SHA-256 digests
//! (`*_hash` columns). Every code and token row carries its `grant_id`, so revoking a whole
//! grant is one statement.

pub use sea_orm_migration::prelude::*;

mod m0001_initial;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(m0001_initial::Migration)]
    }
}
