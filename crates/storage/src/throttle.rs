//! Failed-login throttling, kept in the database so every node sees the same counters.
//!
//! Each key (an account, a client address) counts failures in a window. From the
//! `free_failures`-th failure on, the key is locked for a delay that doubles with each
//! further failure, up to `max_lock_secs`. A lock always expires by itself, so an
//! attacker can slow a victim's logins down but never lock the account for good.

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

impl Store {
    /// The latest time until which any of `keys` is locked, if one is locked at `now`.
    pub async fn throttled_until(&self, keys: &[String], now: i64) -> StoreResult<Option<i64>> {
        let rows = login_throttle::Entity::find()
            .filter(login_throttle::Column::Key.is_in(keys.iter().cloned()))
            .filter(login_throttle::Column::LockedUntil.gt(now))
            .all(&self.db)
            .await?;
        Ok(rows.into_iter().filter_map(|r| r.locked_until).max())
    }

    /// Counts a failure against `key`; returns the lock expiry if the key is now locked.
    pub async fn record_login_failure(
        &self,
        key: &str,
        policy: &ThrottlePolicy,
        now: i64,
    ) -> StoreResult<Option<i64>> {
        let txn = self.db.begin().await?;
        // Write first: on SQLite the insert takes the write lock before the read below, so
        // two racing failures queue instead of failing to upgrade a read lock.
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
            return Ok(None);
        };
        let (failures, window_started_at) = if now - row.window_started_at >= policy.window_secs
            && row.locked_until.is_none_or(|t| t <= now)
        {
            (1, now)
        } else {
            (row.failures.saturating_add(1), row.window_started_at)
        };
        let locked_until = policy.lock_secs(failures).map(|s| now + s);
        let mut am: login_throttle::ActiveModel = row.into();
        am.failures = Set(failures);
        am.window_started_at = Set(window_started_at);
        am.locked_until = Set(locked_until);
        am.update(&txn).await?;
        txn.commit().await?;
        Ok(locked_until)
    }

    /// Forgets the failures of `key` after a successful login.
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
