//! End-user accounts.

use gatehouse_core::User;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};

use crate::entity::user;
use crate::{Store, StoreResult, conflict_or};

fn to_domain(m: user::Model) -> (User, String) {
    (
        User {
            id: m.id,
            username: m.username,
            email: m.email,
            email_verified: m.email_verified,
            name: m.name,
            disabled: m.disabled,
            created_at: m.created_at,
            updated_at: m.updated_at,
        },
        m.password_hash,
    )
}

/// What is needed to create a user; the password arrives already hashed.
#[derive(Debug, Clone)]
pub struct NewUser<'a> {
    pub id: &'a str,
    pub username: &'a str,
    pub password_hash: &'a str,
    pub email: Option<&'a str>,
    pub name: Option<&'a str>,
}

impl Store {
    pub async fn create_user(&self, new: NewUser<'_>, now: i64) -> StoreResult<User> {
        let model = user::ActiveModel {
            id: Set(new.id.to_owned()),
            username: Set(new.username.to_owned()),
            password_hash: Set(new.password_hash.to_owned()),
            email: Set(new.email.map(str::to_owned)),
            // An address typed by an administrator is not a verified one.
            email_verified: Set(false),
            name: Set(new.name.map(str::to_owned)),
            disabled: Set(false),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(&self.db)
        .await
        .map_err(|e| conflict_or(e, "user"))?;
        Ok(to_domain(model).0)
    }

    /// The user and their password hash, for login.
    pub async fn find_user_credentials(
        &self,
        username: &str,
    ) -> StoreResult<Option<(User, String)>> {
        Ok(user::Entity::find()
            .filter(user::Column::Username.eq(username))
            .one(&self.db)
            .await?
            .map(to_domain))
    }

    pub async fn find_user(&self, id: &str) -> StoreResult<Option<User>> {
        Ok(user::Entity::find_by_id(id.to_owned())
            .one(&self.db)
            .await?
            .map(|m| to_domain(m).0))
    }

    pub async fn list_users(&self) -> StoreResult<Vec<User>> {
        Ok(user::Entity::find()
            .order_by_asc(user::Column::Username)
            .all(&self.db)
            .await?
            .into_iter()
            .map(|m| to_domain(m).0)
            .collect())
    }
}

impl Store {
    pub async fn find_user_by_username(&self, username: &str) -> StoreResult<Option<User>> {
        Ok(self.find_user_credentials(username).await?.map(|(u, _)| u))
    }

    /// Disables or enables an account. Disabling also ends its sessions and revokes its
    /// grants, so nothing issued before keeps working.
    pub async fn set_user_disabled(&self, id: &str, disabled: bool, now: i64) -> StoreResult<bool> {
        use sea_orm::TransactionTrait;
        let txn = self.db.begin().await?;
        let found = user::Entity::update_many()
            .col_expr(
                user::Column::Disabled,
                sea_orm::sea_query::Expr::value(disabled),
            )
            .col_expr(
                user::Column::UpdatedAt,
                sea_orm::sea_query::Expr::value(now),
            )
            .filter(user::Column::Id.eq(id))
            .exec(&txn)
            .await?
            .rows_affected
            == 1;
        if found && disabled {
            crate::authorization::end_user_access(&txn, id, now).await?;
        }
        txn.commit().await?;
        Ok(found)
    }

    /// Replaces a password hash; the user's sessions end (a password change logs out).
    pub async fn set_user_password(
        &self,
        id: &str,
        password_hash: &str,
        now: i64,
    ) -> StoreResult<bool> {
        use sea_orm::TransactionTrait;
        let txn = self.db.begin().await?;
        let found = user::Entity::update_many()
            .col_expr(
                user::Column::PasswordHash,
                sea_orm::sea_query::Expr::value(password_hash.to_owned()),
            )
            .col_expr(
                user::Column::UpdatedAt,
                sea_orm::sea_query::Expr::value(now),
            )
            .filter(user::Column::Id.eq(id))
            .exec(&txn)
            .await?
            .rows_affected
            == 1;
        if found {
            crate::entity::session::Entity::delete_many()
                .filter(crate::entity::session::Column::UserId.eq(id))
                .exec(&txn)
                .await?;
        }
        txn.commit().await?;
        Ok(found)
    }

    /// Deletes an account, its sessions and consents, and revokes its grants.
    pub async fn delete_user(&self, id: &str, now: i64) -> StoreResult<bool> {
        use sea_orm::TransactionTrait;
        let txn = self.db.begin().await?;
        let found = user::Entity::delete_by_id(id.to_owned())
            .exec(&txn)
            .await?
            .rows_affected
            == 1;
        if found {
            crate::authorization::end_user_access(&txn, id, now).await?;
            crate::entity::consent::Entity::delete_many()
                .filter(crate::entity::consent::Column::UserId.eq(id))
                .exec(&txn)
                .await?;
        }
        txn.commit().await?;
        Ok(found)
    }
}
