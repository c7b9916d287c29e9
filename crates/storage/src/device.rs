//! Device authorization requests (RFC 8628): created by the device, approved or denied by
//! the user, polled and finally spent by the device.

use gatehouse_core::{DeviceAuthorization, DeviceStatus, Grant, RefreshToken, Scopes};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, EntityTrait, QueryFilter, Set, TransactionTrait,
};

use crate::entity::device_code;
use crate::{Store, StoreError, StoreResult, conflict_or};

/// What a poll finds (RFC 8628 §3.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DevicePoll {
    Unknown,
    Expired,
    /// Polled sooner than `interval` after the last poll; the interval has grown by 5 s.
    SlowDown,
    Pending,
    Denied,
    /// Approved, and this poll spent the device code: issue the tokens.
    Approved(Box<DeviceAuthorization>),
    /// Already spent.
    Consumed,
    /// Approved, but the caller's check refused this poll: nothing was spent.
    Refused,
}

fn to_domain(m: device_code::Model) -> StoreResult<DeviceAuthorization> {
    Ok(DeviceAuthorization {
        scopes: Scopes::parse(&m.scopes).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        status: DeviceStatus::parse(&m.status)
            .ok_or_else(|| StoreError::Corrupt(format!("device status {}", m.status)))?,
        device_code_hash: m.device_code_hash,
        user_code: m.user_code,
        client_id: m.client_id,
        interval: m.interval,
        last_polled_at: m.last_polled_at,
        grant_id: m.grant_id,
        created_at: m.created_at,
        expires_at: m.expires_at,
    })
}

impl Store {
    /// Stores a new request; `Conflict` if its user code is taken (the caller draws again).
    pub async fn create_device_authorization(&self, d: &DeviceAuthorization) -> StoreResult<()> {
        device_code::ActiveModel {
            device_code_hash: Set(d.device_code_hash.clone()),
            user_code: Set(d.user_code.clone()),
            client_id: Set(d.client_id.clone()),
            scopes: Set(d.scopes.to_string()),
            status: Set(d.status.as_str().to_owned()),
            interval: Set(d.interval),
            last_polled_at: Set(d.last_polled_at),
            grant_id: Set(d.grant_id.clone()),
            created_at: Set(d.created_at),
            expires_at: Set(d.expires_at),
        }
        .insert(&self.db)
        .await
        .map_err(|e| conflict_or(e, "user code"))?;
        Ok(())
    }

    /// The live, pending request with this (normalised) user code.
    pub async fn find_pending_device(
        &self,
        user_code: &str,
        now: i64,
    ) -> StoreResult<Option<DeviceAuthorization>> {
        device_code::Entity::find()
            .filter(device_code::Column::UserCode.eq(user_code))
            .filter(device_code::Column::Status.eq(DeviceStatus::Pending.as_str()))
            .filter(device_code::Column::ExpiresAt.gt(now))
            .one(&self.db)
            .await?
            .map(to_domain)
            .transpose()
    }

    /// The user approves: the request moves from pending to approved and its grant is
    /// stored, in one transaction; false if it was no longer pending.
    pub async fn approve_device(
        &self,
        user_code: &str,
        grant: &Grant,
        now: i64,
    ) -> StoreResult<bool> {
        let txn = self.db.begin().await?;
        let won = device_code::Entity::update_many()
            .col_expr(
                device_code::Column::Status,
                Expr::value(DeviceStatus::Approved.as_str()),
            )
            .col_expr(device_code::Column::GrantId, Expr::value(grant.id.clone()))
            .filter(device_code::Column::UserCode.eq(user_code))
            .filter(device_code::Column::Status.eq(DeviceStatus::Pending.as_str()))
            .filter(device_code::Column::ExpiresAt.gt(now))
            .exec(&txn)
            .await?
            .rows_affected
            == 1;
        if won {
            crate::authorization::grant_active(grant)
                .insert(&txn)
                .await?;
        }
        txn.commit().await?;
        Ok(won)
    }

    pub async fn deny_device(&self, user_code: &str, now: i64) -> StoreResult<bool> {
        Ok(device_code::Entity::update_many()
            .col_expr(
                device_code::Column::Status,
                Expr::value(DeviceStatus::Denied.as_str()),
            )
            .filter(device_code::Column::UserCode.eq(user_code))
            .filter(device_code::Column::Status.eq(DeviceStatus::Pending.as_str()))
            .filter(device_code::Column::ExpiresAt.gt(now))
            .exec(&self.db)
            .await?
            .rows_affected
            == 1)
    }

    /// One poll by `client_id` (RFC 8628 §3.4, §3.5). The rate check and the spending of
    /// an approved code are conditional `UPDATE`s, so racing polls get one answer each and
    /// only one of them the tokens. `refresh`, if given, is stored in the transaction that
    /// spends the code.
    pub async fn poll_device(
        &self,
        device_code_hash: &str,
        client_id: &str,
        refresh: impl FnOnce(&DeviceAuthorization) -> Result<Option<RefreshToken>, ()>,
        now: i64,
    ) -> StoreResult<DevicePoll> {
        let Some(row) = device_code::Entity::find_by_id(device_code_hash.to_owned())
            .one(&self.db)
            .await?
        else {
            return Ok(DevicePoll::Unknown);
        };
        // §3.4: the device code belongs to the client it was issued to.
        if row.client_id != client_id {
            return Ok(DevicePoll::Unknown);
        }
        let row = to_domain(row)?;
        if row.status == DeviceStatus::Consumed {
            return Ok(DevicePoll::Consumed);
        }
        if row.expires_at <= now {
            return Ok(DevicePoll::Expired);
        }
        // §3.5 slow_down: a poll sooner than the interval after the previous one.
        let on_time = device_code::Entity::update_many()
            .col_expr(device_code::Column::LastPolledAt, Expr::value(now))
            .filter(device_code::Column::DeviceCodeHash.eq(device_code_hash))
            .filter(
                Condition::any()
                    .add(device_code::Column::LastPolledAt.is_null())
                    .add(
                        Expr::col(device_code::Column::LastPolledAt)
                            .lte(Expr::val(now).sub(Expr::col(device_code::Column::Interval))),
                    ),
            )
            .exec(&self.db)
            .await?
            .rows_affected
            == 1;
        if !on_time {
            device_code::Entity::update_many()
                .col_expr(
                    device_code::Column::Interval,
                    Expr::col(device_code::Column::Interval).add(5),
                )
                .col_expr(device_code::Column::LastPolledAt, Expr::value(now))
                .filter(device_code::Column::DeviceCodeHash.eq(device_code_hash))
                .exec(&self.db)
                .await?;
            return Ok(DevicePoll::SlowDown);
        }
        match row.status {
            DeviceStatus::Pending => Ok(DevicePoll::Pending),
            DeviceStatus::Denied => Ok(DevicePoll::Denied),
            DeviceStatus::Consumed => Ok(DevicePoll::Consumed),
            DeviceStatus::Approved => {
                let txn = self.db.begin().await?;
                let won = device_code::Entity::update_many()
                    .col_expr(
                        device_code::Column::Status,
                        Expr::value(DeviceStatus::Consumed.as_str()),
                    )
                    .filter(device_code::Column::DeviceCodeHash.eq(device_code_hash))
                    .filter(device_code::Column::Status.eq(DeviceStatus::Approved.as_str()))
                    .exec(&txn)
                    .await?
                    .rows_affected
                    == 1;
                if !won {
                    txn.commit().await?;
                    return Ok(DevicePoll::Consumed);
                }
                match refresh(&row) {
                    Ok(Some(r)) => {
                        crate::refresh::to_active(&r).insert(&txn).await?;
                    }
                    Ok(None) => {}
                    Err(()) => {
                        txn.rollback().await?;
                        return Ok(DevicePoll::Refused);
                    }
                }
                txn.commit().await?;
                Ok(DevicePoll::Approved(Box::new(row)))
            }
        }
    }

    /// Deletes device requests ten minutes after they expired (long enough for a device
    /// still polling to hear `expired_token`, short enough that unanswered requests do not
    /// pile up: the housekeeping task runs every ten minutes).
    pub async fn prune_device_codes(&self, now: i64) -> StoreResult<u64> {
        Ok(device_code::Entity::delete_many()
            .filter(device_code::Column::ExpiresAt.lte(now - 600))
            .exec(&self.db)
            .await?
            .rows_affected)
    }
}
