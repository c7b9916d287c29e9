//! Signing keys move into the database, so every node shares one key ring: the private key
//! sealed with the key-encryption key (a JWE, `dir` + `A256GCM`), and an explicit lifecycle
//! state (`next`, `active`, `retired`) with the times that move a key from one to the next.

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
                    .table("signing_keys")
                    .col(string("kid").primary_key())
                    .col(string("alg"))
                    .col(string("state"))
                    .col(text("sealed_private_key"))
                    .col(big_integer("created_at"))
                    .col(big_integer("activates_at"))
                    .col(big_integer_null("retired_at"))
                    .col(big_integer_null("remove_at"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("signing_keys").to_owned())
            .await
    }
}
