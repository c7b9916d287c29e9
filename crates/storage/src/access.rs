//! Roles, groups, their holders, and the audit log.
//!
//! Every administrative change writes its audit row in the same transaction as the change
//! itself: a change without its row, or a row without its change, cannot be committed.

use gatehouse_core::{Audit, AuditEntry, Group, Listing, Query, Role, SubjectKind};
use sea_orm::sea_query::{Condition, Expr, ExprTrait, Func, LikeExpr, SimpleExpr};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, TransactionTrait,
};

use crate::entity::{audit_log, group, group_member, role, role_assignment};
use crate::{Store, StoreError, StoreResult, conflict_or, json_list, parse_json};

/// Writes `audit` as a row of the audit log, inside the caller's transaction.
pub(crate) async fn record(db: &impl ConnectionTrait, audit: &Audit, now: i64) -> StoreResult<()> {
    audit_log::ActiveModel {
        id: sea_orm::NotSet,
        at: Set(now),
        actor: Set(audit.actor.clone()),
        action: Set(audit.action.clone()),
        target: Set(audit.target.clone()),
        detail: Set(audit.detail.to_string()),
        address: Set(audit.address.clone()),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// A case-insensitive "contains" condition over `cols` for `search`, `%` and `_` taken
/// literally.
pub(crate) fn search_condition(cols: &[SimpleExpr], search: &str) -> Condition {
    let mut escaped = String::with_capacity(search.len() + 2);
    escaped.push('%');
    for c in search.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped.push('%');
    cols.iter().fold(Condition::any(), |cond, col| {
        cond.add(
            Expr::expr(Func::lower(col.clone())).like(LikeExpr::new(escaped.clone()).escape('\\')),
        )
    })
}

fn role_to_domain(m: role::Model) -> StoreResult<Role> {
    Ok(Role {
        permissions: parse_json(&m.permissions, "role permissions")?,
        name: m.name,
        description: m.description,
        created_at: m.created_at,
    })
}

fn group_to_domain(m: group::Model) -> Group {
    Group {
        name: m.name,
        description: m.description,
        created_at: m.created_at,
    }
}

fn audit_to_domain(m: audit_log::Model) -> AuditEntry {
    AuditEntry {
        detail: serde_json::from_str(&m.detail).unwrap_or(serde_json::Value::Null),
        id: m.id,
        at: m.at,
        actor: m.actor,
        action: m.action,
        target: m.target,
        address: m.address,
    }
}

/// What assigning a role or adding a group member found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Membership {
    Added,
    AlreadyThere,
    /// The role or group does not exist.
    NoSuchSet,
    /// The user or client does not exist.
    NoSuchSubject,
}

impl Store {
    pub async fn create_role(&self, r: &Role, audit: &Audit) -> StoreResult<Role> {
        let txn = self.db.begin().await?;
        let model = role::ActiveModel {
            name: Set(r.name.clone()),
            description: Set(r.description.clone()),
            permissions: Set(json_list(&r.permissions)),
            created_at: Set(r.created_at),
        }
        .insert(&txn)
        .await
        .map_err(|e| conflict_or(e, "role"))?;
        record(&txn, audit, r.created_at).await?;
        txn.commit().await?;
        role_to_domain(model)
    }

    /// Replaces a role's description and permissions; false if there is no such role.
    pub async fn update_role(&self, r: &Role, audit: &Audit, now: i64) -> StoreResult<bool> {
        let txn = self.db.begin().await?;
        let found = role::Entity::update_many()
            .col_expr(
                role::Column::Description,
                Expr::value(r.description.clone()),
            )
            .col_expr(
                role::Column::Permissions,
                Expr::value(json_list(&r.permissions)),
            )
            .filter(role::Column::Name.eq(&r.name))
            .exec(&txn)
            .await?
            .rows_affected
            == 1;
        if found {
            record(&txn, audit, now).await?;
        }
        txn.commit().await?;
        Ok(found)
    }

    /// Deletes a role and every assignment of it; false if there is no such role.
    /// Deletes a role and every assignment of it. The built-in role `admin` is refused
    /// ([`StoreError::Refused`]), whoever asks, as the last-admin rule is.
    pub async fn delete_role(&self, name: &str, audit: &Audit, now: i64) -> StoreResult<bool> {
        if name == gatehouse_core::access::ADMIN_ROLE {
            return Err(StoreError::Refused(
                "the role admin is built in and cannot be deleted",
            ));
        }
        let txn = self.db.begin().await?;
        let found = role::Entity::delete_by_id(name.to_owned())
            .exec(&txn)
            .await?
            .rows_affected
            == 1;
        if found {
            role_assignment::Entity::delete_many()
                .filter(role_assignment::Column::Role.eq(name))
                .exec(&txn)
                .await?;
            record(&txn, audit, now).await?;
        }
        txn.commit().await?;
        Ok(found)
    }

    pub async fn find_role(&self, name: &str) -> StoreResult<Option<Role>> {
        role::Entity::find_by_id(name.to_owned())
            .one(&self.db)
            .await?
            .map(role_to_domain)
            .transpose()
    }

    pub async fn list_roles(&self) -> StoreResult<Vec<Role>> {
        role::Entity::find()
            .order_by_asc(role::Column::Name)
            .all(&self.db)
            .await?
            .into_iter()
            .map(role_to_domain)
            .collect()
    }

    /// Gives `role` to a user or client.
    pub async fn assign_role(
        &self,
        name: &str,
        kind: SubjectKind,
        subject_id: &str,
        audit: &Audit,
        now: i64,
    ) -> StoreResult<Membership> {
        let txn = self.db.begin().await?;
        // Write first (SQLite takes the write lock here, not on a later upgrade).
        let inserted = role_assignment::Entity::insert(role_assignment::ActiveModel {
            role: Set(name.to_owned()),
            subject_kind: Set(kind.as_str().to_owned()),
            subject_id: Set(subject_id.to_owned()),
            created_at: Set(now),
        })
        .on_conflict_do_nothing()
        .exec(&txn)
        .await?;
        let inserted = matches!(inserted, sea_orm::TryInsertResult::Inserted(_));
        let role_exists = role::Entity::find_by_id(name.to_owned())
            .one(&txn)
            .await?
            .is_some();
        settle_membership(txn, inserted, role_exists, kind, subject_id, audit, now).await
    }

    /// Takes `role` away from a user or client; false if they did not hold it.
    pub async fn unassign_role(
        &self,
        name: &str,
        kind: SubjectKind,
        subject_id: &str,
        audit: &Audit,
        now: i64,
    ) -> StoreResult<bool> {
        let txn = self.db.begin().await?;
        let found = role_assignment::Entity::delete_many()
            .filter(role_assignment::Column::Role.eq(name))
            .filter(role_assignment::Column::SubjectKind.eq(kind.as_str()))
            .filter(role_assignment::Column::SubjectId.eq(subject_id))
            .exec(&txn)
            .await?
            .rows_affected
            == 1;
        if found {
            if name == gatehouse_core::access::ADMIN_ROLE && kind == SubjectKind::User {
                ensure_an_admin_remains(&txn).await?;
            }
            record(&txn, audit, now).await?;
        }
        txn.commit().await?;
        Ok(found)
    }

    /// The names of the roles a user or client holds, sorted.
    pub async fn roles_of(&self, kind: SubjectKind, subject_id: &str) -> StoreResult<Vec<String>> {
        Ok(role_assignment::Entity::find()
            .filter(role_assignment::Column::SubjectKind.eq(kind.as_str()))
            .filter(role_assignment::Column::SubjectId.eq(subject_id))
            .order_by_asc(role_assignment::Column::Role)
            .all(&self.db)
            .await?
            .into_iter()
            .map(|m| m.role)
            .collect())
    }

    /// Who holds `role`: (kind, id) pairs, users first.
    pub async fn role_holders(&self, name: &str) -> StoreResult<Vec<(SubjectKind, String)>> {
        role_assignment::Entity::find()
            .filter(role_assignment::Column::Role.eq(name))
            .order_by_asc(role_assignment::Column::SubjectKind)
            .order_by_asc(role_assignment::Column::SubjectId)
            .all(&self.db)
            .await?
            .into_iter()
            .map(|m| {
                let kind = m
                    .subject_kind
                    .parse()
                    .map_err(|e: String| StoreError::Corrupt(format!("role assignment: {e}")))?;
                Ok((kind, m.subject_id))
            })
            .collect()
    }
}

/// Decides what inserting a membership row (role assignment, group member) amounted to,
/// after the insert: only a real addition, to an existing set and subject, is audited and
/// committed; anything else is rolled back.
async fn settle_membership(
    txn: sea_orm::DatabaseTransaction,
    inserted: bool,
    set_exists: bool,
    kind: SubjectKind,
    subject_id: &str,
    audit: &Audit,
    now: i64,
) -> StoreResult<Membership> {
    let outcome = if !inserted {
        Membership::AlreadyThere
    } else if !set_exists {
        Membership::NoSuchSet
    } else if !subject_exists(&txn, kind, subject_id).await? {
        Membership::NoSuchSubject
    } else {
        record(&txn, audit, now).await?;
        Membership::Added
    };
    if outcome == Membership::Added {
        txn.commit().await?;
    } else {
        txn.rollback().await?;
    }
    Ok(outcome)
}

async fn subject_exists(
    db: &impl ConnectionTrait,
    kind: SubjectKind,
    id: &str,
) -> StoreResult<bool> {
    Ok(match kind {
        SubjectKind::User => crate::entity::user::Entity::find_by_id(id.to_owned())
            .one(db)
            .await?
            .is_some(),
        SubjectKind::Client => crate::entity::client::Entity::find_by_id(id.to_owned())
            .one(db)
            .await?
            .is_some(),
    })
}

impl Store {
    pub async fn create_group(&self, g: &Group, audit: &Audit) -> StoreResult<Group> {
        let txn = self.db.begin().await?;
        let model = group::ActiveModel {
            name: Set(g.name.clone()),
            description: Set(g.description.clone()),
            created_at: Set(g.created_at),
        }
        .insert(&txn)
        .await
        .map_err(|e| conflict_or(e, "group"))?;
        record(&txn, audit, g.created_at).await?;
        txn.commit().await?;
        Ok(group_to_domain(model))
    }

    /// Deletes a group and its memberships; false if there is no such group.
    pub async fn delete_group(&self, name: &str, audit: &Audit, now: i64) -> StoreResult<bool> {
        let txn = self.db.begin().await?;
        let found = group::Entity::delete_by_id(name.to_owned())
            .exec(&txn)
            .await?
            .rows_affected
            == 1;
        if found {
            group_member::Entity::delete_many()
                .filter(group_member::Column::GroupName.eq(name))
                .exec(&txn)
                .await?;
            record(&txn, audit, now).await?;
        }
        txn.commit().await?;
        Ok(found)
    }

    pub async fn find_group(&self, name: &str) -> StoreResult<Option<Group>> {
        Ok(group::Entity::find_by_id(name.to_owned())
            .one(&self.db)
            .await?
            .map(group_to_domain))
    }

    pub async fn list_groups(&self) -> StoreResult<Vec<Group>> {
        Ok(group::Entity::find()
            .order_by_asc(group::Column::Name)
            .all(&self.db)
            .await?
            .into_iter()
            .map(group_to_domain)
            .collect())
    }

    pub async fn add_group_member(
        &self,
        name: &str,
        user_id: &str,
        audit: &Audit,
        now: i64,
    ) -> StoreResult<Membership> {
        let txn = self.db.begin().await?;
        let inserted = group_member::Entity::insert(group_member::ActiveModel {
            group_name: Set(name.to_owned()),
            user_id: Set(user_id.to_owned()),
            created_at: Set(now),
        })
        .on_conflict_do_nothing()
        .exec(&txn)
        .await?;
        let inserted = matches!(inserted, sea_orm::TryInsertResult::Inserted(_));
        let group_exists = group::Entity::find_by_id(name.to_owned())
            .one(&txn)
            .await?
            .is_some();
        settle_membership(
            txn,
            inserted,
            group_exists,
            SubjectKind::User,
            user_id,
            audit,
            now,
        )
        .await
    }

    pub async fn remove_group_member(
        &self,
        name: &str,
        user_id: &str,
        audit: &Audit,
        now: i64,
    ) -> StoreResult<bool> {
        let txn = self.db.begin().await?;
        let found = group_member::Entity::delete_many()
            .filter(group_member::Column::GroupName.eq(name))
            .filter(group_member::Column::UserId.eq(user_id))
            .exec(&txn)
            .await?
            .rows_affected
            == 1;
        if found {
            record(&txn, audit, now).await?;
        }
        txn.commit().await?;
        Ok(found)
    }

    /// The names of the groups a user belongs to, sorted.
    pub async fn groups_of(&self, user_id: &str) -> StoreResult<Vec<String>> {
        Ok(group_member::Entity::find()
            .filter(group_member::Column::UserId.eq(user_id))
            .order_by_asc(group_member::Column::GroupName)
            .all(&self.db)
            .await?
            .into_iter()
            .map(|m| m.group_name)
            .collect())
    }

    /// The ids of a group's members, sorted.
    pub async fn group_members(&self, name: &str) -> StoreResult<Vec<String>> {
        Ok(group_member::Entity::find()
            .filter(group_member::Column::GroupName.eq(name))
            .order_by_asc(group_member::Column::UserId)
            .all(&self.db)
            .await?
            .into_iter()
            .map(|m| m.user_id)
            .collect())
    }
}

impl Store {
    /// Records a change that happened outside the database (a signing key rotated on disk).
    pub async fn record_audit(&self, audit: &Audit, now: i64) -> StoreResult<()> {
        record(&self.db, audit, now).await
    }

    /// The audit log, newest first; `search` matches actor, action and target.
    pub async fn list_audit(&self, q: &Query) -> StoreResult<Listing<AuditEntry>> {
        let mut find = audit_log::Entity::find();
        if let Some(s) = q.search.as_deref().filter(|s| !s.is_empty()) {
            find = find.filter(search_condition(
                &[
                    Expr::col(audit_log::Column::Actor),
                    Expr::col(audit_log::Column::Action),
                    Expr::col(audit_log::Column::Target),
                ],
                s,
            ));
        }
        let total = find.clone().count(&self.db).await?;
        let items = find
            .order_by_desc(audit_log::Column::Id)
            .offset(q.offset)
            .limit(q.limit)
            .all(&self.db)
            .await?
            .into_iter()
            .map(audit_to_domain)
            .collect();
        Ok(Listing { items, total })
    }
}

/// Does `user_id` hold the role `admin`?
pub(crate) async fn holds_admin(db: &impl ConnectionTrait, user_id: &str) -> StoreResult<bool> {
    Ok(role_assignment::Entity::find_by_id((
        gatehouse_core::access::ADMIN_ROLE.to_owned(),
        SubjectKind::User.as_str().to_owned(),
        user_id.to_owned(),
    ))
    .one(db)
    .await?
    .is_some())
}

/// Keeps at least one enabled user holding the role `admin`. Called inside a change's
/// transaction after its write: the `admin` role row is then locked (`FOR UPDATE` on
/// PostgreSQL; SQLite already serialises writers), so two changes that would each remove
/// a different last-but-one admin cannot both see the other still there.
pub(crate) async fn ensure_an_admin_remains(db: &impl ConnectionTrait) -> StoreResult<()> {
    use gatehouse_core::access::ADMIN_ROLE;
    role::Entity::find_by_id(ADMIN_ROLE.to_owned())
        .lock_exclusive()
        .one(db)
        .await?;
    let holders: Vec<String> = role_assignment::Entity::find()
        .select_only()
        .column(role_assignment::Column::SubjectId)
        .filter(role_assignment::Column::Role.eq(ADMIN_ROLE))
        .filter(role_assignment::Column::SubjectKind.eq(SubjectKind::User.as_str()))
        .into_tuple()
        .all(db)
        .await?;
    let enabled = crate::entity::user::Entity::find()
        .filter(crate::entity::user::Column::Id.is_in(holders))
        .filter(crate::entity::user::Column::Disabled.eq(false))
        .count(db)
        .await?;
    if enabled == 0 {
        return Err(StoreError::Refused(
            "this is the last enabled administrator: make another one first",
        ));
    }
    Ok(())
}

/// Removes every role and group a deleted user or client held, inside its transaction.
pub(crate) async fn forget_subject(
    db: &impl ConnectionTrait,
    kind: SubjectKind,
    id: &str,
) -> StoreResult<()> {
    role_assignment::Entity::delete_many()
        .filter(role_assignment::Column::SubjectKind.eq(kind.as_str()))
        .filter(role_assignment::Column::SubjectId.eq(id))
        .exec(db)
        .await?;
    if kind == SubjectKind::User {
        group_member::Entity::delete_many()
            .filter(group_member::Column::UserId.eq(id))
            .exec(db)
            .await?;
    }
    Ok(())
}
