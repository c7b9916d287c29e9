//! Roles and groups (assigned to users; roles also to clients), the audit log of every
//! administrative change, and the client metadata a consent page shows (RFC 7591 §2).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Roles carry a list of permission names (JSON text), the seed's RBAC model.
        manager
            .create_table(
                Table::create()
                    .table("roles")
                    .col(string("name").primary_key())
                    .col(string("description"))
                    .col(text("permissions"))
                    .col(big_integer("created_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("groups")
                    .col(string("name").primary_key())
                    .col(string("description"))
                    .col(big_integer("created_at"))
                    .to_owned(),
            )
            .await?;
        // Who holds a role: `subject_kind` is `user` or `client`.
        manager
            .create_table(
                Table::create()
                    .table("role_assignments")
                    .col(string("role"))
                    .col(string("subject_kind"))
                    .col(string("subject_id"))
                    .col(big_integer("created_at"))
                    .primary_key(
                        Index::create()
                            .col("role")
                            .col("subject_kind")
                            .col("subject_id"),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("role_assignments_subject")
                    .table("role_assignments")
                    .col("subject_kind")
                    .col("subject_id")
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("group_members")
                    .col(string("group_name"))
                    .col(string("user_id"))
                    .col(big_integer("created_at"))
                    .primary_key(Index::create().col("group_name").col("user_id"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("group_members_user")
                    .table("group_members")
                    .col("user_id")
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("audit_log")
                    .col(big_integer("id").auto_increment().primary_key())
                    .col(big_integer("at"))
                    .col(string("actor"))
                    .col(string("action"))
                    .col(string("target"))
                    .col(text("detail"))
                    .col(string_null("address"))
                    .to_owned(),
            )
            .await?;
        // The role that opens the admin API and console exists from the start.
        manager
            .exec_stmt(
                Query::insert()
                    .into_table("roles")
                    .columns(["name", "description", "permissions", "created_at"])
                    .values_panic([
                        "admin".into(),
                        "Administers Gatehouse: clients, users, keys, roles".into(),
                        "[]".into(),
                        0i64.into(),
                    ])
                    .to_owned(),
            )
            .await?;
        for col in ["logo_uri", "policy_uri", "tos_uri"] {
            manager
                .alter_table(
                    Table::alter()
                        .table("clients")
                        .add_column(string_null(col))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for col in ["logo_uri", "policy_uri", "tos_uri"] {
            manager
                .alter_table(Table::alter().table("clients").drop_column(col).to_owned())
                .await?;
        }
        for table in [
            "audit_log",
            "group_members",
            "role_assignments",
            "groups",
            "roles",
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
