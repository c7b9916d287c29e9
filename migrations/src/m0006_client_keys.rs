//! Client public keys for `private_key_jwt` (RFC 7523 §2.2), and the `jti`s of client
//! assertions already used (OIDC Core §9: an assertion is good once).

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
                    .add_column(text_null("jwks"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("client_assertion_jtis")
                    .col(string("client_id"))
                    .col(string("jti"))
                    .col(big_integer("expires_at"))
                    .primary_key(Index::create().col("client_id").col("jti"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("client_assertion_jtis").to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("clients")
                    .drop_column("jwks")
                    .to_owned(),
            )
            .await
    }
}
