//! Device authorization requests (RFC 8628).

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
                    .table("device_codes")
                    .col(string("device_code_hash").primary_key())
                    .col(string_uniq("user_code"))
                    .col(string("client_id"))
                    .col(text("scopes"))
                    .col(string("status"))
                    .col(big_integer("interval"))
                    .col(big_integer_null("last_polled_at"))
                    .col(string_null("grant_id"))
                    .col(big_integer("created_at"))
                    .col(big_integer("expires_at"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("device_codes").to_owned())
            .await
    }
}
