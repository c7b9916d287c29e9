//! Refresh tokens (RFC 6749 §6, RFC 9700 §4.14): stored hashed, rotated on every use, each
//! row tied to its grant so reuse can revoke the whole family.

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
                    .table("refresh_tokens")
                    .col(string("token_hash").primary_key())
                    .col(string("grant_id"))
                    .col(string("client_id"))
                    .col(big_integer("created_at"))
                    // Idle expiry: each rotation moves it forward, never past the absolute one.
                    .col(big_integer("expires_at"))
                    .col(big_integer("absolute_expires_at"))
                    .col(big_integer_null("consumed_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_refresh_tokens_grant")
                    .table("refresh_tokens")
                    .col("grant_id")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("refresh_tokens").to_owned())
            .await
    }
}
