//! Throttle counters, kept in the database so every node sees the same counts.
//!
//! A counter is a leaky bucket with a lock: each counted attempt adds one to its level, and
//! the level drains by one every `leak_secs`. Once an attempt brings the level to `free`,
//! the key is locked for `base_lock_secs`, doubling with each further attempt up to
//! `max_lock_secs`; attempts refused during a lock are not counted. Because the count
//! drains instead of resetting when a window ends, locks escalate for as long as someone
//! keeps guessing, and still expire by themselves.
//!
//! Keys are stored as SHA-256 digests, so a key's length costs nothing, and every row says
//! when it is idle again (`idle_at`: drained and unlocked), which is what pruning uses.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QuerySelect, Set, TransactionTrait,
};

use crate::entity::throttle_counter;
use crate::{Store, StoreResult};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// The attempt that brings the level to this count locks the key.
    pub free: i32,
    /// The level drains by one every this many seconds.
    pub leak_secs: i64,
    pub base_lock_secs: i64,
    pub max_lock_secs: i64,
}

impl ThrottlePolicy {
    fn lock_secs(&self, level: i32) -> Option<i64> {
        let over = level - self.free;
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

    /// The level at `now` of a row last drained at `leaked_at`, and the new `leaked_at`
    /// (which keeps the unfinished part of a leak interval).
    fn drained(&self, level: i32, leaked_at: i64, now: i64) -> (i32, i64) {
        let steps = ((now - leaked_at).max(0) / self.leak_secs.max(1)).min(i32::MAX as i64) as i32;
        if steps >= level {
            (0, now)
        } else {
            (level - steps, leaked_at + steps as i64 * self.leak_secs)
        }
    }

    /// When a row in this state is drained and unlocked.
    fn idle_at(&self, level: i32, leaked_at: i64, locked_until: Option<i64>) -> i64 {
        let drained = leaked_at.saturating_add((level as i64).saturating_mul(self.leak_secs));
        drained.max(locked_until.unwrap_or(0))
    }
}

/// The answer to "may this attempt proceed?".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// A key is locked until then; nothing was counted and the attempt must be refused.
    Refused { until: i64 },
    /// The attempt was counted on every key, in advance. If it succeeds the caller forgives
    /// it. `locks_until` is set if this attempt locked a key; `prior` is the highest level
    /// any of the keys had before it (0: none of them has failed recently).
    Counted {
        locks_until: Option<i64>,
        prior: i32,
    },
}

/// The stored form of a throttle key.
fn key_hash(key: &str) -> String {
    gatehouse_core::secret::hash_secret(key)
}

impl Store {
    /// Counts an attempt against every key *before* the attempt is checked, in one locked
    /// transaction, so a burst of parallel guesses is counted one by one and every guess
    /// past an allowance is refused without further work. If any key is locked, nothing is
    /// counted.
    pub async fn count_attempt(
        &self,
        keys: &[(&str, &ThrottlePolicy)],
        now: i64,
    ) -> StoreResult<Attempt> {
        // Rows are locked in digest order, so two attempts on the same keys cannot deadlock.
        let mut keys: Vec<(String, &ThrottlePolicy)> =
            keys.iter().map(|(k, p)| (key_hash(k), *p)).collect();
        keys.sort_by(|a, b| a.0.cmp(&b.0));
        keys.dedup_by(|a, b| a.0 == b.0);
        // A locked key is refused by a plain read, without a write transaction: a flood of
        // refused attempts must not queue for the database's writer (SQLite has one) in
        // front of real sign-ins. A lock only ever ends by time or by a forgiveness that
        // this refusal does not need to wait for, so the read is safe to act on.
        let locked = throttle_counter::Entity::find()
            .filter(throttle_counter::Column::KeyHash.is_in(keys.iter().map(|(h, _)| h.clone())))
            .filter(throttle_counter::Column::LockedUntil.gt(now))
            .all(&self.db)
            .await?;
        if let Some(until) = locked.iter().filter_map(|r| r.locked_until).max() {
            return Ok(Attempt::Refused { until });
        }
        let txn = self.db.begin().await?;
        // Write first: on SQLite the insert takes the write lock before the read below, so
        // racing attempts queue instead of failing to upgrade a read lock; on PostgreSQL the
        // rows then exist for the locking read.
        throttle_counter::Entity::insert_many(keys.iter().map(|(hash, _)| {
            throttle_counter::ActiveModel {
                key_hash: Set(hash.clone()),
                level: Set(0),
                leaked_at: Set(now),
                locked_until: Set(None),
                idle_at: Set(now),
            }
        }))
        .on_conflict_do_nothing()
        .exec(&txn)
        .await?;
        let rows = throttle_counter::Entity::find()
            .filter(throttle_counter::Column::KeyHash.is_in(keys.iter().map(|(h, _)| h.clone())))
            .lock_exclusive()
            .all(&txn)
            .await?;
        if let Some(until) = rows
            .iter()
            .filter_map(|r| r.locked_until.filter(|t| *t > now))
            .max()
        {
            // Nothing is counted: not even the rows inserted above stay.
            txn.rollback().await?;
            return Ok(Attempt::Refused { until });
        }
        let mut locks_until = None;
        let mut prior = 0;
        for row in rows {
            let Some((_, policy)) = keys.iter().find(|(h, _)| *h == row.key_hash) else {
                continue;
            };
            let (level, leaked_at) = policy.drained(row.level, row.leaked_at, now);
            prior = prior.max(level);
            let level = level.saturating_add(1);
            let locked = policy.lock_secs(level).map(|s| now + s);
            locks_until = locks_until.max(locked);
            let mut am: throttle_counter::ActiveModel = row.into();
            am.level = Set(level);
            am.leaked_at = Set(leaked_at);
            am.locked_until = Set(locked);
            am.idle_at = Set(policy.idle_at(level, leaked_at, locked));
            am.update(&txn).await?;
        }
        txn.commit().await?;
        Ok(Attempt::Counted { locks_until, prior })
    }

    /// Takes back one counted attempt that turned out to succeed (or was never judged),
    /// lifting a lock that this very attempt set.
    pub async fn forgive_attempt(
        &self,
        keys: &[(&str, &ThrottlePolicy)],
        now: i64,
    ) -> StoreResult<()> {
        let mut keys: Vec<(String, &ThrottlePolicy)> =
            keys.iter().map(|(k, p)| (key_hash(k), *p)).collect();
        keys.sort_by(|a, b| a.0.cmp(&b.0));
        keys.dedup_by(|a, b| a.0 == b.0);
        let txn = self.db.begin().await?;
        // A no-op write first, for the same reason as in `count_attempt`.
        throttle_counter::Entity::update_many()
            .col_expr(
                throttle_counter::Column::Level,
                sea_orm::sea_query::Expr::col(throttle_counter::Column::Level),
            )
            .filter(throttle_counter::Column::KeyHash.is_in(keys.iter().map(|(h, _)| h.clone())))
            .exec(&txn)
            .await?;
        let rows = throttle_counter::Entity::find()
            .filter(throttle_counter::Column::KeyHash.is_in(keys.iter().map(|(h, _)| h.clone())))
            .lock_exclusive()
            .all(&txn)
            .await?;
        for row in rows {
            let Some((_, policy)) = keys.iter().find(|(h, _)| *h == row.key_hash) else {
                continue;
            };
            let (level, leaked_at) = policy.drained(row.level, row.leaked_at, now);
            let level = (level - 1).max(0);
            let locked = row
                .locked_until
                .filter(|t| *t > now && policy.lock_secs(level).is_some());
            let mut am: throttle_counter::ActiveModel = row.into();
            am.level = Set(level);
            am.leaked_at = Set(leaked_at);
            am.locked_until = Set(locked);
            am.idle_at = Set(policy.idle_at(level, leaked_at, locked));
            am.update(&txn).await?;
        }
        txn.commit().await?;
        Ok(())
    }

    /// Forgets every attempt counted against `key` (after a successful sign-in from it).
    pub async fn clear_attempts(&self, key: &str) -> StoreResult<()> {
        throttle_counter::Entity::delete_by_id(key_hash(key))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// Removes counters that have drained and are unlocked.
    pub async fn prune_throttle(&self, now: i64) -> StoreResult<u64> {
        Ok(throttle_counter::Entity::delete_many()
            .filter(throttle_counter::Column::IdleAt.lte(now))
            .exec(&self.db)
            .await?
            .rows_affected)
    }

    /// How many throttle counters exist (for tests and measurements of what traffic writes).
    pub async fn count_throttle_rows(&self) -> StoreResult<u64> {
        use sea_orm::PaginatorTrait;
        Ok(throttle_counter::Entity::find().count(&self.db).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: ThrottlePolicy = ThrottlePolicy {
        free: 5,
        leak_secs: 720,
        base_lock_secs: 30,
        max_lock_secs: 900,
    };

    #[test]
    fn lock_grows_and_is_capped() {
        assert_eq!(P.lock_secs(4), None);
        assert_eq!(P.lock_secs(5), Some(30));
        assert_eq!(P.lock_secs(6), Some(60));
        assert_eq!(P.lock_secs(9), Some(480));
        assert_eq!(P.lock_secs(10), Some(900));
        assert_eq!(P.lock_secs(500), Some(900));
    }

    #[test]
    fn the_level_drains_one_step_per_interval_and_keeps_the_remainder() {
        assert_eq!(P.drained(3, 1000, 1000 + 719), (3, 1000));
        assert_eq!(P.drained(3, 1000, 1000 + 720), (2, 1720));
        assert_eq!(P.drained(3, 1000, 1000 + 1500), (1, 2440));
        assert_eq!(P.drained(3, 1000, 1000 + 99_999), (0, 100_999));
        // A clock that went backwards drains nothing.
        assert_eq!(P.drained(3, 1000, 10), (3, 1000));
        assert_eq!(P.idle_at(2, 1000, Some(5000)), 5000);
        assert_eq!(P.idle_at(2, 1000, None), 2440);
    }
}
