//! End-user accounts.

use gatehouse_core::{Audit, Listing, Query, SubjectKind, User};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, TransactionTrait,
};

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
    /// Roles the user holds from the start (`admin` for `gatehouse admin create`); each
    /// must exist.
    pub roles: &'a [&'a str],
}

impl Store {
    pub async fn create_user(
        &self,
        new: NewUser<'_>,
        now: i64,
        audit: &Audit,
    ) -> StoreResult<User> {
        // One normalised form per name (RFC 8265), and no look-alike of a name that exists
        // (UTS #39 skeletons), checked inside the transaction that inserts.
        let key =
            gatehouse_core::user::username_key(new.username).ok_or(crate::StoreError::Refused(
                "that username is not allowed (RFC 8265 identifier characters only)",
            ))?;
        let skeleton = gatehouse_core::user::username_skeleton(&key);
        let txn = self.db.begin().await?;
        if user::Entity::find()
            .filter(user::Column::UsernameKey.eq(&key))
            .one(&txn)
            .await?
            .is_some()
        {
            return Err(crate::StoreError::Conflict("user"));
        }
        if user::Entity::find()
            .filter(user::Column::UsernameSkeleton.eq(&skeleton))
            .one(&txn)
            .await?
            .is_some()
        {
            return Err(crate::StoreError::Refused(
                "that username looks like an existing one; choose another",
            ));
        }
        let model = user::ActiveModel {
            id: Set(new.id.to_owned()),
            username: Set(new.username.to_owned()),
            username_key: Set(Some(key)),
            username_skeleton: Set(Some(skeleton)),
            password_hash: Set(new.password_hash.to_owned()),
            email: Set(new.email.map(str::to_owned)),
            // An address typed by an administrator is not a verified one.
            email_verified: Set(false),
            name: Set(new.name.map(str::to_owned)),
            disabled: Set(false),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(&txn)
        .await
        .map_err(|e| conflict_or(e, "user"))?;
        for role in new.roles {
            if crate::entity::role::Entity::find_by_id((*role).to_owned())
                .one(&txn)
                .await?
                .is_none()
            {
                return Err(crate::StoreError::Missing(format!("role {role:?}")));
            }
            crate::entity::role_assignment::ActiveModel {
                role: Set((*role).to_owned()),
                subject_kind: Set(SubjectKind::User.as_str().to_owned()),
                subject_id: Set(new.id.to_owned()),
                created_at: Set(now),
            }
            .insert(&txn)
            .await?;
        }
        crate::access::record(&txn, audit, now).await?;
        txn.commit().await?;
        Ok(to_domain(model).0)
    }

    /// One page of users by username; `search` matches username, name, email and id.
    pub async fn list_users_page(&self, q: &Query) -> StoreResult<Listing<User>> {
        let mut find = user::Entity::find();
        if let Some(s) = q.search.as_deref().filter(|s| !s.is_empty()) {
            find = find.filter(crate::access::search_condition(
                &[
                    Expr::col(user::Column::Username),
                    Expr::col(user::Column::Name),
                    Expr::col(user::Column::Email),
                    Expr::col(user::Column::Id),
                ],
                s,
            ));
        }
        let total = find.clone().count(&self.db).await?;
        let items = find
            .order_by_asc(user::Column::Username)
            .offset(q.offset)
            .limit(q.limit)
            .all(&self.db)
            .await?
            .into_iter()
            .map(|m| to_domain(m).0)
            .collect();
        Ok(Listing { items, total })
    }

    /// The user and their password hash, for login: found by the normalised form of the
    /// name typed (RFC 8265), or, for an account whose name could not be normalised when
    /// the column was filled in, by the name exactly as stored.
    pub async fn find_user_credentials(
        &self,
        username: &str,
    ) -> StoreResult<Option<(User, String)>> {
        // One query: the account whose normalised name this is, or an older account left
        // without a key (its name clashed with another's when the keys were filled in),
        // reached by its exact name, which wins.
        let legacy = sea_orm::Condition::all()
            .add(user::Column::Username.eq(username))
            .add(user::Column::UsernameKey.is_null());
        let mut either = sea_orm::Condition::any().add(legacy);
        if let Some(key) = gatehouse_core::user::username_key(username) {
            either = either.add(user::Column::UsernameKey.eq(key));
        }
        let rows = user::Entity::find()
            .filter(either)
            .limit(2)
            .all(&self.db)
            .await?;
        let pick = rows
            .iter()
            .position(|m| m.username_key.is_none())
            .unwrap_or(0);
        Ok(rows.into_iter().nth(pick).map(to_domain))
    }

    /// Fills in the normalised form and skeleton of accounts created before they were
    /// stored. Two old accounts whose names normalise alike keep working under their exact
    /// names (the second one's key stays empty, and a warning says so).
    pub async fn backfill_username_keys(&self) -> StoreResult<u64> {
        let rows = user::Entity::find()
            .filter(user::Column::UsernameKey.is_null())
            .all(&self.db)
            .await?;
        let mut filled = 0;
        for m in rows {
            let Some(key) = gatehouse_core::user::username_key(&m.username) else {
                tracing::warn!(user = %m.id, "username cannot be normalised (RFC 8265); it signs in only as typed");
                continue;
            };
            let taken = user::Entity::find()
                .filter(user::Column::UsernameKey.eq(&key))
                .one(&self.db)
                .await?
                .is_some();
            if taken {
                tracing::warn!(user = %m.id, "username normalises like another account's; it signs in only as typed");
                continue;
            }
            let skeleton = gatehouse_core::user::username_skeleton(&key);
            user::Entity::update_many()
                .col_expr(user::Column::UsernameKey, Expr::value(key))
                .col_expr(user::Column::UsernameSkeleton, Expr::value(skeleton))
                .filter(user::Column::Id.eq(&m.id))
                .exec(&self.db)
                .await?;
            filled += 1;
        }
        Ok(filled)
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
    pub async fn set_user_disabled(
        &self,
        id: &str,
        disabled: bool,
        now: i64,
        audit: &Audit,
    ) -> StoreResult<bool> {
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
            if crate::access::holds_admin(&txn, id).await? {
                crate::access::ensure_an_admin_remains(&txn).await?;
            }
            crate::authorization::end_user_access(&txn, id, now).await?;
        }
        if found {
            crate::access::record(&txn, audit, now).await?;
        }
        txn.commit().await?;
        Ok(found)
    }

    /// Replaces a password hash. The user's sessions end and their grants are revoked: a
    /// reset is how an administrator takes back a compromised account, so nothing issued
    /// before it (sessions, refresh tokens, access tokens) keeps working.
    pub async fn set_user_password(
        &self,
        id: &str,
        password_hash: &str,
        now: i64,
        audit: &Audit,
    ) -> StoreResult<bool> {
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
            crate::authorization::end_user_access(&txn, id, now).await?;
            crate::access::record(&txn, audit, now).await?;
        }
        txn.commit().await?;
        Ok(found)
    }

    /// Deletes an account, its sessions, consents, roles and group memberships, and revokes
    /// its grants.
    pub async fn delete_user(&self, id: &str, now: i64, audit: &Audit) -> StoreResult<bool> {
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
            let was_admin = crate::access::holds_admin(&txn, id).await?;
            crate::access::forget_subject(&txn, SubjectKind::User, id).await?;
            if was_admin {
                crate::access::ensure_an_admin_remains(&txn).await?;
            }
            crate::access::record(&txn, audit, now).await?;
        }
        txn.commit().await?;
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::{ConnectionTrait, Statement};

    /// Accounts from before usernames were normalised keep working: the start-up backfill
    /// gives them their normalised form, and of two old names that normalise alike the
    /// second keeps signing in under its exact name.
    #[tokio::test]
    async fn older_accounts_are_backfilled_and_keep_signing_in() {
        let store = Store::connect("sqlite::memory:").await.unwrap();
        let audit = Audit::new("test", "user.create", "-");
        for (id, name) in [("u1", "Alice"), ("u2", "bob")] {
            store
                .create_user(
                    NewUser {
                        id,
                        username: name,
                        password_hash: "$argon2id$x",
                        email: None,
                        name: None,
                        roles: &[],
                    },
                    0,
                    &audit,
                )
                .await
                .unwrap();
        }
        // As a database of the previous release would have them: no keys, and a second
        // account whose name only differs in case (allowed then).
        let db = &store.db;
        for sql in [
            "UPDATE users SET username_key = NULL, username_skeleton = NULL",
            "INSERT INTO users (id, username, password_hash, email_verified, disabled, created_at, updated_at) \
             VALUES ('u3', 'ALICE', '$argon2id$y', false, false, 0, 0)",
        ] {
            db.execute_raw(Statement::from_string(db.get_database_backend(), sql))
                .await
                .unwrap();
        }
        assert_eq!(store.backfill_username_keys().await.unwrap(), 2);
        let found = |name: &'static str| {
            let store = store.clone();
            async move {
                store
                    .find_user_credentials(name)
                    .await
                    .unwrap()
                    .map(|(u, _)| u.id)
            }
        };
        assert_eq!(found("alice").await.as_deref(), Some("u1"));
        assert_eq!(found("ＢＯＢ").await.as_deref(), Some("u2"));
        // The clash keeps working under its exact name.
        assert_eq!(found("ALICE").await.as_deref(), Some("u3"));
        assert_eq!(found("Alice").await.as_deref(), Some("u1"));
    }
}
