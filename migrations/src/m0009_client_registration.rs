//! Dynamic client registration (RFC 7591, RFC 7592): initial access tokens that let a
//! developer register, and each registered client's registration access token.

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
                    .table("registration_tokens")
                    .col(string("token_hash").primary_key())
                    .col(big_integer_null("uses_left"))
                    .col(big_integer("created_at"))
                    .col(big_integer("expires_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("clients")
                    .add_column(string_null("registration_token_hash"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("registration_tokens").to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("clients")
                    .drop_column("registration_token_hash")
                    .to_owned(),
            )
            .await
    }
}
