//! The shared key ring: signing keys, their sealed private parts and their lifecycle.
//!
//! A key is `next` (published, not yet signing) until `activates_at`, then `active` (signs;
//! one per algorithm), then `retired` (published, verifying what it signed) until
//! `remove_at`, then deleted. `advance_keys` moves keys along; any node may run it, and the
//! transitions are conditional on the state they leave, so nodes racing agree.

use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    TransactionTrait,
};

use crate::entity::signing_key;
use crate::{Store, StoreError, StoreResult};

/// Where a key is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    /// Published in the JWKS, not yet signing.
    Next,
    /// Signs new tokens.
    Active,
    /// Published until every token it signed has expired; signs nothing.
    Retired,
}

impl KeyState {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyState::Next => "next",
            KeyState::Active => "active",
            KeyState::Retired => "retired",
        }
    }

    fn parse(s: &str) -> StoreResult<Self> {
        match s {
            "next" => Ok(KeyState::Next),
            "active" => Ok(KeyState::Active),
            "retired" => Ok(KeyState::Retired),
            other => Err(StoreError::Corrupt(format!("key state {other}"))),
        }
    }
}

/// A signing key as stored: the private key only sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredKey {
    pub kid: String,
    pub alg: String,
    pub state: KeyState,
    /// The private key in PEM, sealed with the key-encryption key.
    pub sealed_private_key: String,
    pub created_at: i64,
    pub activates_at: i64,
    pub retired_at: Option<i64>,
    pub remove_at: Option<i64>,
}

fn to_domain(m: signing_key::Model) -> StoreResult<StoredKey> {
    Ok(StoredKey {
        state: KeyState::parse(&m.state)?,
        kid: m.kid,
        alg: m.alg,
        sealed_private_key: m.sealed_private_key,
        created_at: m.created_at,
        activates_at: m.activates_at,
        retired_at: m.retired_at,
        remove_at: m.remove_at,
    })
}

/// What `advance_keys` changed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct KeyChanges {
    pub activated: Vec<String>,
    pub retired: Vec<String>,
    pub removed: Vec<String>,
}

impl KeyChanges {
    pub fn is_empty(&self) -> bool {
        self.activated.is_empty() && self.retired.is_empty() && self.removed.is_empty()
    }
}

impl Store {
    /// Every key of the ring, oldest first.
    pub async fn list_signing_keys(&self) -> StoreResult<Vec<StoredKey>> {
        signing_key::Entity::find()
            .order_by_asc(signing_key::Column::CreatedAt)
            .order_by_asc(signing_key::Column::Kid)
            .all(&self.db)
            .await?
            .into_iter()
            .map(to_domain)
            .collect()
    }

    /// The kids and states of the ring, without the sealed keys: what a node compares with
    /// the ring it holds to see whether anything changed.
    pub async fn signing_key_states(&self) -> StoreResult<Vec<(String, KeyState)>> {
        signing_key::Entity::find()
            .select_only()
            .column(signing_key::Column::Kid)
            .column(signing_key::Column::State)
            .order_by_asc(signing_key::Column::Kid)
            .into_tuple::<(String, String)>()
            .all(&self.db)
            .await?
            .into_iter()
            .map(|(kid, state)| Ok((kid, KeyState::parse(&state)?)))
            .collect()
    }

    /// Adds a key, with the audit entry of the change that made it (if any) in the same
    /// transaction. A key whose kid exists already is left as it is (false).
    pub async fn insert_signing_key(
        &self,
        key: &StoredKey,
        audit: Option<&gatehouse_core::Audit>,
        now: i64,
    ) -> StoreResult<bool> {
        let txn = self.db.begin().await?;
        let inserted = signing_key::Entity::insert(signing_key::ActiveModel {
            kid: Set(key.kid.clone()),
            alg: Set(key.alg.clone()),
            state: Set(key.state.as_str().to_owned()),
            sealed_private_key: Set(key.sealed_private_key.clone()),
            created_at: Set(key.created_at),
            activates_at: Set(key.activates_at),
            retired_at: Set(key.retired_at),
            remove_at: Set(key.remove_at),
        })
        .on_conflict_do_nothing()
        .exec_without_returning(&txn)
        .await?;
        let inserted = matches!(inserted, sea_orm::TryInsertResult::Inserted(1));
        if inserted && let Some(a) = audit {
            crate::access::record(&txn, a, now).await?;
        }
        txn.commit().await?;
        Ok(inserted)
    }

    /// Moves keys along their lifecycle at `now`: for each algorithm, the newest `next` key
    /// whose time has come becomes `active` and every other active key of that algorithm
    /// retires, published for `retain_secs` more; retired keys past `remove_at` are deleted.
    /// Several active keys of one algorithm (two nodes bootstrapping at once) are settled the
    /// same way: the newest stays.
    pub async fn advance_keys(&self, now: i64, retain_secs: i64) -> StoreResult<KeyChanges> {
        let mut changes = KeyChanges::default();
        let txn = self.db.begin().await?;
        // A no-op write first, so SQLite takes the write lock before reading (as in the
        // throttle); on PostgreSQL the rows are locked by the read below.
        signing_key::Entity::update_many()
            .col_expr(
                signing_key::Column::State,
                Expr::col(signing_key::Column::State),
            )
            .filter(signing_key::Column::Kid.eq(""))
            .exec(&txn)
            .await?;
        let rows = signing_key::Entity::find()
            .lock_exclusive()
            .all(&txn)
            .await?;
        let mut algs: Vec<&str> = rows.iter().map(|r| r.alg.as_str()).collect();
        algs.sort_unstable();
        algs.dedup();
        for alg in algs {
            // The key that should sign: the newest next key that is due, else the newest
            // active one.
            let due = rows
                .iter()
                .filter(|r| r.alg == alg && r.state == "next" && r.activates_at <= now)
                .max_by_key(|r| (r.created_at, r.kid.clone()));
            let current = rows
                .iter()
                .filter(|r| r.alg == alg && r.state == "active")
                .max_by_key(|r| (r.created_at, r.kid.clone()));
            let Some(signer) = due.or(current) else {
                continue;
            };
            for r in rows.iter().filter(|r| r.alg == alg) {
                let retire = r.kid != signer.kid
                    && (r.state == "active"
                        || (r.state == "next"
                            && r.activates_at <= now
                            && r.created_at < signer.created_at));
                if retire {
                    let mut am: signing_key::ActiveModel = r.clone().into();
                    am.state = Set(KeyState::Retired.as_str().to_owned());
                    am.retired_at = Set(Some(now));
                    am.remove_at = Set(Some(now + retain_secs));
                    am.update(&txn).await?;
                    changes.retired.push(r.kid.clone());
                }
            }
            if signer.state != "active" {
                let mut am: signing_key::ActiveModel = signer.clone().into();
                am.state = Set(KeyState::Active.as_str().to_owned());
                am.update(&txn).await?;
                changes.activated.push(signer.kid.clone());
            }
        }
        for r in rows
            .iter()
            .filter(|r| r.state == "retired" && r.remove_at.is_some_and(|t| t <= now))
        {
            signing_key::Entity::delete_by_id(r.kid.clone())
                .exec(&txn)
                .await?;
            changes.removed.push(r.kid.clone());
        }
        txn.commit().await?;
        Ok(changes)
    }
}
