//! Resource indicators (RFC 8707) and the registration policy: `resources` lists the APIs
//! tokens may be issued for, with the scopes each owns; opaque access tokens remember
//! their audience; an initial access token may carry a policy that widens what a client
//! registered with it may ask for, and the client keeps the policy it registered under
//! (RFC 7592 updates are held to it).

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
                    .table("resources")
                    .col(string("identifier").primary_key())
                    .col(string("name"))
                    .col(text("scopes"))
                    .col(big_integer_null("access_token_ttl"))
                    .col(big_integer("created_at"))
                    .col(big_integer("updated_at"))
                    .to_owned(),
            )
            .await?;
        for (table, column) in [
            ("access_tokens", "audience"),
            ("registration_tokens", "policy"),
            ("clients", "registration_policy"),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(table)
                        .add_column(text_null(column))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, column) in [
            ("access_tokens", "audience"),
            ("registration_tokens", "policy"),
            ("clients", "registration_policy"),
        ] {
            manager
                .alter_table(Table::alter().table(table).drop_column(column).to_owned())
                .await?;
        }
        manager
            .drop_table(Table::drop().table("resources").to_owned())
            .await
    }
}
