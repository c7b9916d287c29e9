//! Usernames in one normalised form (RFC 8265 UsernameCaseMapped), unique in that form,
//! and their UTS #39 confusable skeleton, so a look-alike of an existing name can be
//! refused. Existing rows are filled in by the store at start (`Store::connect`), since
//! the normalisation is Gatehouse code, not SQL.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in ["username_key", "username_skeleton"] {
            manager
                .alter_table(
                    Table::alter()
                        .table("users")
                        .add_column(string_null(column))
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("users_by_username_key")
                    .table("users")
                    .col("username_key")
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("users_by_username_skeleton")
                    .table("users")
                    .col("username_skeleton")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for index in ["users_by_username_key", "users_by_username_skeleton"] {
            manager
                .drop_index(Index::drop().name(index).table("users").to_owned())
                .await?;
        }
        for column in ["username_key", "username_skeleton"] {
            manager
                .alter_table(Table::alter().table("users").drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }
}
