//! Refresh tokens: stored hashed, rotated on every use (RFC 9700 §4.14.2).

use gatehouse_core::{Grant, RefreshToken};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set, TransactionTrait};

use crate::authorization::{grant_to_domain, revoke_grant_in};
use crate::entity::{grant, refresh_token};
use crate::{Store, StoreResult};

/// The outcome of presenting a refresh token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshRotation {
    /// This request spent the token; its successor is stored; the grant is live.
    Rotated(Box<Grant>),
    /// No such token for this client.
    Unknown,
    /// Past its idle or absolute lifetime.
    Expired,
    /// Already rotated (or lost a race): the whole grant has now been revoked.
    Reused,
    /// The grant behind the token was revoked.
    Revoked,
}

pub(crate) fn to_active(t: &RefreshToken) -> refresh_token::ActiveModel {
    refresh_token::ActiveModel {
        token_hash: Set(t.token_hash.clone()),
        grant_id: Set(t.grant_id.clone()),
        client_id: Set(t.client_id.clone()),
        created_at: Set(t.created_at),
        expires_at: Set(t.expires_at),
        absolute_expires_at: Set(t.absolute_expires_at),
        consumed_at: Set(t.consumed_at),
    }
}

fn to_domain(m: refresh_token::Model) -> RefreshToken {
    RefreshToken {
        token_hash: m.token_hash,
        grant_id: m.grant_id,
        client_id: m.client_id,
        created_at: m.created_at,
        expires_at: m.expires_at,
        absolute_expires_at: m.absolute_expires_at,
        consumed_at: m.consumed_at,
    }
}

impl Store {
    pub async fn find_refresh_token(&self, token_hash: &str) -> StoreResult<Option<RefreshToken>> {
        Ok(refresh_token::Entity::find_by_id(token_hash.to_owned())
            .one(&self.db)
            .await?
            .map(to_domain))
    }

    /// Spends `old_hash` for `client_id` and stores `next` in its place, in one transaction.
    ///
    /// As with codes, the conditional `UPDATE` comes first so one racer wins on both
    /// databases. Any other presentation of a spent token revokes the whole grant: every
    /// access and refresh token descended from the same authorization (RFC 9700 §4.14.2).
    pub async fn rotate_refresh_token(
        &self,
        old_hash: &str,
        client_id: &str,
        next: &RefreshToken,
        now: i64,
    ) -> StoreResult<RefreshRotation> {
        let txn = self.db.begin().await?;
        let won = refresh_token::Entity::update_many()
            .col_expr(refresh_token::Column::ConsumedAt, Expr::value(now))
            .filter(refresh_token::Column::TokenHash.eq(old_hash))
            .filter(refresh_token::Column::ClientId.eq(client_id))
            .filter(refresh_token::Column::ConsumedAt.is_null())
            .filter(refresh_token::Column::ExpiresAt.gt(now))
            .filter(refresh_token::Column::AbsoluteExpiresAt.gt(now))
            .exec(&txn)
            .await?
            .rows_affected
            == 1;
        let outcome = if won {
            let live = grant::Entity::find_by_id(next.grant_id.clone())
                .filter(grant::Column::RevokedAt.is_null())
                .one(&txn)
                .await?;
            match live {
                Some(g) => {
                    to_active(next).insert(&txn).await?;
                    RefreshRotation::Rotated(Box::new(grant_to_domain(g)?))
                }
                None => RefreshRotation::Revoked,
            }
        } else {
            match refresh_token::Entity::find_by_id(old_hash.to_owned())
                .one(&txn)
                .await?
            {
                Some(row) if row.client_id != client_id => RefreshRotation::Unknown,
                Some(row) if row.consumed_at.is_some() => {
                    revoke_grant_in(&txn, &row.grant_id, now).await?;
                    RefreshRotation::Reused
                }
                Some(_) => RefreshRotation::Expired,
                None => RefreshRotation::Unknown,
            }
        };
        txn.commit().await?;
        Ok(outcome)
    }

    /// Removes refresh tokens past their absolute lifetime (a day later, so late replays
    /// of rotated ones are still recognised as reuse meanwhile).
    pub async fn prune_refresh_tokens(&self, now: i64) -> StoreResult<u64> {
        Ok(refresh_token::Entity::delete_many()
            .filter(refresh_token::Column::AbsoluteExpiresAt.lte(now - 86_400))
            .exec(&self.db)
            .await?
            .rows_affected)
    }
}

impl Store {
    /// Remembers a revoked access token's `jti` until `expires_at` (RFC 7009 §2.1).
    pub async fn revoke_access_token(&self, jti: &str, expires_at: i64) -> StoreResult<()> {
        use crate::entity::revoked_access_token;
        revoked_access_token::Entity::insert(revoked_access_token::ActiveModel {
            jti: Set(jti.to_owned()),
            expires_at: Set(expires_at),
        })
        .on_conflict_do_nothing()
        .exec(&self.db)
        .await?;
        Ok(())
    }

    pub async fn is_access_token_revoked(&self, jti: &str) -> StoreResult<bool> {
        use crate::entity::revoked_access_token;
        Ok(revoked_access_token::Entity::find_by_id(jti.to_owned())
            .one(&self.db)
            .await?
            .is_some())
    }

    pub async fn prune_revoked_access_tokens(&self, now: i64) -> StoreResult<u64> {
        use crate::entity::revoked_access_token;
        Ok(revoked_access_token::Entity::delete_many()
            .filter(revoked_access_token::Column::ExpiresAt.lte(now))
            .exec(&self.db)
            .await?
            .rows_affected)
    }
}

impl Store {
    pub async fn insert_access_token(
        &self,
        t: &gatehouse_core::OpaqueAccessToken,
    ) -> StoreResult<()> {
        use crate::entity::access_token;
        access_token::ActiveModel {
            token_hash: Set(t.token_hash.clone()),
            grant_id: Set(t.grant_id.clone()),
            client_id: Set(t.client_id.clone()),
            sub: Set(t.sub.clone()),
            scopes: Set(t.scopes.to_string()),
            auth_time: Set(t.auth_time),
            created_at: Set(t.created_at),
            expires_at: Set(t.expires_at),
            audience: Set(t.audience.clone()),
        }
        .insert(&self.db)
        .await?;
        Ok(())
    }

    /// The opaque access token with this hash, unless it has expired.
    pub async fn find_access_token(
        &self,
        token_hash: &str,
        now: i64,
    ) -> StoreResult<Option<gatehouse_core::OpaqueAccessToken>> {
        use crate::entity::access_token;
        access_token::Entity::find_by_id(token_hash.to_owned())
            .filter(access_token::Column::ExpiresAt.gt(now))
            .one(&self.db)
            .await?
            .map(|m| {
                Ok(gatehouse_core::OpaqueAccessToken {
                    scopes: gatehouse_core::Scopes::parse(&m.scopes)
                        .map_err(|e| crate::StoreError::Corrupt(e.to_string()))?,
                    token_hash: m.token_hash,
                    grant_id: m.grant_id,
                    client_id: m.client_id,
                    sub: m.sub,
                    auth_time: m.auth_time,
                    created_at: m.created_at,
                    expires_at: m.expires_at,
                    audience: m.audience,
                })
            })
            .transpose()
    }

    /// Revokes an opaque access token of `client_id`: it is deleted. True if it existed.
    pub async fn delete_access_token(
        &self,
        token_hash: &str,
        client_id: &str,
    ) -> StoreResult<bool> {
        use crate::entity::access_token;
        Ok(access_token::Entity::delete_many()
            .filter(access_token::Column::TokenHash.eq(token_hash))
            .filter(access_token::Column::ClientId.eq(client_id))
            .exec(&self.db)
            .await?
            .rows_affected
            == 1)
    }

    pub async fn prune_access_tokens(&self, now: i64) -> StoreResult<u64> {
        use crate::entity::access_token;
        Ok(access_token::Entity::delete_many()
            .filter(access_token::Column::ExpiresAt.lte(now))
            .exec(&self.db)
            .await?
            .rows_affected)
    }
}
