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
