//! Throttle counters keyed by a digest: `login_throttle` kept the raw key (a username of
//! any length became part of a primary key) and reset its count when a window ended, so
//! locks that added up to more than the window never escalated. `throttle_counters` keeps
//! a leaky count per SHA-256 of the key and the time at which the row is idle again, which
//! the housekeeping task prunes by. Old counters are dropped: at worst an attacker gets a
//! fresh allowance once, at the upgrade.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("throttle_counters")
                    .col(string("key_hash").primary_key())
                    .col(integer("level"))
                    .col(big_integer("leaked_at"))
                    .col(big_integer_null("locked_until"))
                    .col(big_integer("idle_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("throttle_counters_idle_at")
                    .table("throttle_counters")
                    .col("idle_at")
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table("login_throttle").to_owned())
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("throttle_counters").to_owned())
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("login_throttle")
                    .col(string("key").primary_key())
                    .col(integer("failures"))
                    .col(big_integer("window_started_at"))
                    .col(big_integer_null("locked_until"))
                    .to_owned(),
            )
            .await
    }
}
