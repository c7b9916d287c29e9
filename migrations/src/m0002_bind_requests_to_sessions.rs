//! A pending authorization request belongs to the browser session that started it: only
//! that session may sign in for it, consent to it, or finish it.

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
                    .table("authorization_requests")
                    .add_column(string_null("session_hash"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("authorization_requests")
                    .drop_column("session_hash")
                    .to_owned(),
            )
            .await
    }
}
