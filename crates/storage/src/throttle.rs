//! Failed-login throttling, kept in the database so every node sees the same counters.
//!
//! Each key (an account, a client address) counts failures in a window. From the
//! `free_failures`-th failure on, the key is locked for a delay that doubles with each
//! further failure, up to `max_lock_secs`. A lock always expires by itself, so an
//! attacker can slow a victim's logins down but never lock the account for good.

use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QuerySelect, Set, TransactionTrait,
};

use crate::entity::login_throttle;
use crate::{Store, StoreResult};

#[derive(Debug, Clone, Copy)]
pub struct ThrottlePolicy {
    pub window_secs: i64,
    pub free_failures: i32,
    pub base_lock_secs: i64,
    pub max_lock_secs: i64,
}

impl Default for ThrottlePolicy {
    /// Five failures in fifteen minutes, then 30 s, 60 s, 120 s ... up to 15 minutes:
    /// at most about twenty failed guesses an hour for one account.
    fn default() -> Self {
        Self {
            window_secs: 15 * 60,
            free_failures: 5,
            base_lock_secs: 30,
            max_lock_secs: 15 * 60,
        }
    }
}

impl ThrottlePolicy {
    fn lock_secs(&self, failures: i32) -> Option<i64> {
        let over = failures - self.free_failures;
        if over < 0 {
            return None;
        }
        let factor = 1i64.checked_shl(over.min(30) as u32).unwrap_or(i64::MAX);
        Some(
            self.base_lock_secs
                .saturating_mul(factor)
                .min(self.max_lock_secs),
        )
    }
}

/// The answer to "may this sign-in attempt proceed?".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// The key is locked until then; the attempt was not counted and must be refused.
    Refused { until: i64 },
    /// The attempt was counted as a failure in advance. If it succeeds the caller forgives
    /// it; if it fails and `locks_until` is set, this failure locked the key.
    Counted { locks_until: Option<i64> },
}

impl Store {
    /// Counts an attempt against `key` *before* the password is checked, in one locked
    /// transaction, so a burst of parallel guesses is counted one by one and every guess
    /// past the allowance is refused without hashing.
    pub async fn count_login_attempt(
        &self,
        key: &str,
        policy: &ThrottlePolicy,
        now: i64,
    ) -> StoreResult<Attempt> {
        let txn = self.db.begin().await?;
        // Write first: on SQLite the insert takes the write lock before the read below, so
        // racing attempts queue instead of failing to upgrade a read lock; on PostgreSQL the
        // row then exists for the locking read.
        login_throttle::Entity::insert(login_throttle::ActiveModel {
            key: Set(key.to_owned()),
            failures: Set(0),
            window_started_at: Set(now),
            locked_until: Set(None),
        })
        .on_conflict_do_nothing()
        .exec(&txn)
        .await?;
        let Some(row) = login_throttle::Entity::find_by_id(key.to_owned())
            .lock_exclusive()
            .one(&txn)
            .await?
        else {
            txn.commit().await?;
            return Ok(Attempt::Counted { locks_until: None });
        };
        if let Some(until) = row.locked_until.filter(|t| *t > now) {
            txn.commit().await?;
            return Ok(Attempt::Refused { until });
        }
        let (failures, window_started_at) = if now - row.window_started_at >= policy.window_secs {
            (1, now)
        } else {
            (row.failures.saturating_add(1), row.window_started_at)
        };
        let locks_until = policy.lock_secs(failures).map(|s| now + s);
        let mut am: login_throttle::ActiveModel = row.into();
        am.failures = Set(failures);
        am.window_started_at = Set(window_started_at);
        am.locked_until = Set(locks_until);
        am.update(&txn).await?;
        txn.commit().await?;
        Ok(Attempt::Counted { locks_until })
    }

    /// Takes back one counted attempt that turned out to succeed, lifting a lock that this
    /// very attempt set.
    pub async fn forgive_login_attempt(
        &self,
        key: &str,
        policy: &ThrottlePolicy,
        now: i64,
    ) -> StoreResult<()> {
        let txn = self.db.begin().await?;
        // The decrement is the first statement, so the transaction writes before it reads
        // (SQLite cannot upgrade a read lock while another attempt commits).
        login_throttle::Entity::update_many()
            .col_expr(
                login_throttle::Column::Failures,
                sea_orm::sea_query::ExprTrait::sub(Expr::col(login_throttle::Column::Failures), 1),
            )
            .filter(login_throttle::Column::Key.eq(key))
            .filter(login_throttle::Column::Failures.gt(0))
            .exec(&txn)
            .await?;
        if let Some(row) = login_throttle::Entity::find_by_id(key.to_owned())
            .one(&txn)
            .await?
            && row.locked_until.is_some()
            && (policy.lock_secs(row.failures).is_none()
                || row.locked_until.is_some_and(|t| t <= now))
        {
            let mut am: login_throttle::ActiveModel = row.into();
            am.locked_until = Set(None);
            am.update(&txn).await?;
        }
        txn.commit().await?;
        Ok(())
    }

    /// Forgets every failure of `key` after a successful login.
    pub async fn clear_login_failures(&self, key: &str) -> StoreResult<()> {
        login_throttle::Entity::delete_by_id(key.to_owned())
            .exec(&self.db)
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_grows_and_is_capped() {
        let p = ThrottlePolicy::default();
        assert_eq!(p.lock_secs(4), None);
        assert_eq!(p.lock_secs(5), Some(30));
        assert_eq!(p.lock_secs(6), Some(60));
        assert_eq!(p.lock_secs(9), Some(480));
        assert_eq!(p.lock_secs(10), Some(900));
        assert_eq!(p.lock_secs(500), Some(900));
    }
}
