//! Opaque access tokens, a per-client choice beside JWTs: the token is a random value,
//! stored hashed, that resource servers check by introspection and that dies at once
//! when revoked.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("clients")
                    .add_column(string("access_token_format").default("jwt"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("access_tokens")
                    .col(string("token_hash").primary_key())
                    .col(string_null("grant_id"))
                    .col(string("client_id"))
                    .col(string("sub"))
                    .col(text("scopes"))
                    .col(big_integer_null("auth_time"))
                    .col(big_integer("created_at"))
                    .col(big_integer("expires_at"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("access_tokens").to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("clients")
                    .drop_column("access_token_format")
                    .to_owned(),
            )
            .await
    }
}
