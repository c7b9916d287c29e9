//! Browser sessions.

use gatehouse_core::BrowserSession;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};

use crate::entity::session;
use crate::{Store, StoreResult};

fn to_domain(m: session::Model) -> BrowserSession {
    BrowserSession {
        id_hash: m.id_hash,
        sid: m.sid,
        user_id: m.user_id,
        auth_time: m.auth_time,
        csrf_token: m.csrf_token,
        created_at: m.created_at,
        expires_at: m.expires_at,
    }
}

fn to_active(s: &BrowserSession) -> session::ActiveModel {
    session::ActiveModel {
        id_hash: Set(s.id_hash.clone()),
        sid: Set(s.sid.clone()),
        user_id: Set(s.user_id.clone()),
        auth_time: Set(s.auth_time),
        csrf_token: Set(s.csrf_token.clone()),
        created_at: Set(s.created_at),
        expires_at: Set(s.expires_at),
    }
}

impl Store {
    pub async fn create_session(&self, s: &BrowserSession) -> StoreResult<()> {
        to_active(s).insert(&self.db).await?;
        Ok(())
    }

    /// The live session whose cookie hashes to `id_hash`; expired sessions are not returned.
    pub async fn find_session(
        &self,
        id_hash: &str,
        now: i64,
    ) -> StoreResult<Option<BrowserSession>> {
        Ok(session::Entity::find_by_id(id_hash.to_owned())
            .filter(session::Column::ExpiresAt.gt(now))
            .one(&self.db)
            .await?
            .map(to_domain))
    }

    /// Records that the session's user just entered their password again.
    pub async fn touch_session_auth(&self, id_hash: &str, now: i64) -> StoreResult<()> {
        session::Entity::update_many()
            .col_expr(
                session::Column::AuthTime,
                sea_orm::sea_query::Expr::value(now),
            )
            .filter(session::Column::IdHash.eq(id_hash))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    pub async fn delete_session(&self, id_hash: &str) -> StoreResult<()> {
        session::Entity::delete_by_id(id_hash.to_owned())
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// Removes expired sessions; returns how many.
    pub async fn prune_sessions(&self, now: i64) -> StoreResult<u64> {
        Ok(session::Entity::delete_many()
            .filter(session::Column::ExpiresAt.lte(now))
            .exec(&self.db)
            .await?
            .rows_affected)
    }
}

impl Store {
    /// Replaces one session by another in one transaction: the id changes at login so a
    /// session id planted before login is worth nothing after it (session fixation).
    pub async fn replace_session(
        &self,
        old_id_hash: Option<&str>,
        new: &BrowserSession,
    ) -> StoreResult<()> {
        use sea_orm::TransactionTrait;
        let txn = self.db.begin().await?;
        if let Some(old) = old_id_hash {
            session::Entity::delete_by_id(old.to_owned())
                .exec(&txn)
                .await?;
        }
        to_active(new).insert(&txn).await?;
        txn.commit().await?;
        Ok(())
    }
}

impl Store {
    /// A user's live browser sessions, newest first.
    pub async fn list_user_sessions(
        &self,
        user_id: &str,
        now: i64,
    ) -> StoreResult<Vec<BrowserSession>> {
        use sea_orm::QueryOrder;
        Ok(session::Entity::find()
            .filter(session::Column::UserId.eq(user_id))
            .filter(session::Column::ExpiresAt.gt(now))
            .order_by_desc(session::Column::CreatedAt)
            .all(&self.db)
            .await?
            .into_iter()
            .map(to_domain)
            .collect())
    }

    /// Ends a user's sessions: the one whose public `sid` is given, or all of them.
    /// Returns how many ended.
    pub async fn end_user_sessions(
        &self,
        user_id: &str,
        sid: Option<&str>,
        now: i64,
        audit: &gatehouse_core::Audit,
    ) -> StoreResult<u64> {
        use sea_orm::TransactionTrait;
        let txn = self.db.begin().await?;
        let mut delete = session::Entity::delete_many().filter(session::Column::UserId.eq(user_id));
        if let Some(sid) = sid {
            delete = delete.filter(session::Column::Sid.eq(sid));
        }
        let ended = delete.exec(&txn).await?.rows_affected;
        if ended > 0 {
            crate::access::record(&txn, audit, now).await?;
        }
        txn.commit().await?;
        Ok(ended)
    }
}
