//! Pending authorization requests, consents, grants and authorization codes.

use gatehouse_core::{AuthorizationCode, Grant, Scopes};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QuerySelect, Set, TransactionTrait,
};

use crate::entity::{authorization_code, authorization_request, consent, grant};
use crate::{Store, StoreError, StoreResult};

/// An authorization request waiting for login or consent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingRequest {
    pub id: String,
    pub client_id: String,
    /// The validated request, serialised by the authorization endpoint.
    pub request: String,
    /// Hash of the browser session that owns the request; rebound when sign-in rotates it.
    pub session_hash: Option<String>,
    /// Set when the user signed in for this very request (so `prompt=login` is satisfied).
    pub logged_in_at: Option<i64>,
    /// Set when the user answered the consent page for this very request.
    pub consented_at: Option<i64>,
    pub created_at: i64,
    pub expires_at: i64,
}

/// The outcome of presenting an authorization code at the token endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeRedemption {
    /// This request consumed the code; the grant is live.
    Redeemed(Box<AuthorizationCode>),
    /// No such code.
    Unknown,
    /// The code had expired.
    Expired,
    /// The code was already used (or lost a race to another request). RFC 6749 §4.1.2: the
    /// grant, and with it every token issued from the code, has now been revoked.
    Reused,
    /// The grant behind the code was revoked.
    Revoked,
}

fn scopes(value: &str) -> StoreResult<Scopes> {
    Scopes::parse(value).map_err(|e| StoreError::Corrupt(format!("scopes: {e}")))
}

fn code_to_domain(m: authorization_code::Model) -> StoreResult<AuthorizationCode> {
    Ok(AuthorizationCode {
        scopes: scopes(&m.scopes)?,
        code_hash: m.code_hash,
        grant_id: m.grant_id,
        client_id: m.client_id,
        user_id: m.user_id,
        redirect_uri: m.redirect_uri,
        nonce: m.nonce,
        pkce_challenge: m.pkce_challenge,
        sid: m.sid,
        auth_time: m.auth_time,
        created_at: m.created_at,
        expires_at: m.expires_at,
        consumed_at: m.consumed_at,
    })
}

pub(crate) fn grant_to_domain(m: grant::Model) -> StoreResult<Grant> {
    Ok(Grant {
        scopes: scopes(&m.scopes)?,
        id: m.id,
        client_id: m.client_id,
        user_id: m.user_id,
        sid: m.sid,
        auth_time: m.auth_time,
        created_at: m.created_at,
        revoked_at: m.revoked_at,
    })
}

impl Store {
    pub async fn save_pending_request(&self, p: &PendingRequest) -> StoreResult<()> {
        authorization_request::ActiveModel {
            id: Set(p.id.clone()),
            client_id: Set(p.client_id.clone()),
            request: Set(p.request.clone()),
            session_hash: Set(p.session_hash.clone()),
            logged_in_at: Set(p.logged_in_at),
            consented_at: Set(p.consented_at),
            created_at: Set(p.created_at),
            expires_at: Set(p.expires_at),
        }
        .insert(&self.db)
        .await?;
        Ok(())
    }

    pub async fn find_pending_request(
        &self,
        id: &str,
        now: i64,
    ) -> StoreResult<Option<PendingRequest>> {
        Ok(authorization_request::Entity::find_by_id(id.to_owned())
            .filter(authorization_request::Column::ExpiresAt.gt(now))
            .one(&self.db)
            .await?
            .map(|m| PendingRequest {
                id: m.id,
                client_id: m.client_id,
                request: m.request,
                session_hash: m.session_hash,
                logged_in_at: m.logged_in_at,
                consented_at: m.consented_at,
                created_at: m.created_at,
                expires_at: m.expires_at,
            }))
    }

    /// Records a sign-in for this request and moves the request to the new session that
    /// the sign-in created.
    pub async fn mark_request_logged_in(
        &self,
        id: &str,
        session_hash: &str,
        now: i64,
    ) -> StoreResult<()> {
        authorization_request::Entity::update_many()
            .col_expr(authorization_request::Column::LoggedInAt, Expr::value(now))
            .col_expr(
                authorization_request::Column::SessionHash,
                Expr::value(session_hash.to_owned()),
            )
            .filter(authorization_request::Column::Id.eq(id))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    pub async fn mark_request_consented(&self, id: &str, now: i64) -> StoreResult<()> {
        authorization_request::Entity::update_many()
            .col_expr(authorization_request::Column::ConsentedAt, Expr::value(now))
            .filter(authorization_request::Column::Id.eq(id))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// Removes a pending request; true if this call removed it. A request finishes once,
    /// so of two tabs racing to finish it only one gets `true`.
    pub async fn take_pending_request(&self, id: &str) -> StoreResult<bool> {
        Ok(authorization_request::Entity::delete_by_id(id.to_owned())
            .exec(&self.db)
            .await?
            .rows_affected
            == 1)
    }

    pub async fn prune_pending_requests(&self, now: i64) -> StoreResult<u64> {
        Ok(authorization_request::Entity::delete_many()
            .filter(authorization_request::Column::ExpiresAt.lte(now))
            .exec(&self.db)
            .await?
            .rows_affected)
    }

    /// The scopes this user has consented to for this client, if any.
    pub async fn find_consent(
        &self,
        user_id: &str,
        client_id: &str,
    ) -> StoreResult<Option<Scopes>> {
        consent::Entity::find_by_id((user_id.to_owned(), client_id.to_owned()))
            .one(&self.db)
            .await?
            .map(|m| scopes(&m.scopes))
            .transpose()
    }

    /// Records consent to `granted`, adding to what was consented before.
    pub async fn add_consent(
        &self,
        user_id: &str,
        client_id: &str,
        granted: &Scopes,
        now: i64,
    ) -> StoreResult<()> {
        let txn = self.db.begin().await?;
        // Write first: the insert takes SQLite's write lock (so two tabs allowing at once
        // queue instead of failing to upgrade a read lock) and makes the row exist for the
        // locking read that follows on PostgreSQL.
        consent::Entity::insert(consent::ActiveModel {
            user_id: Set(user_id.to_owned()),
            client_id: Set(client_id.to_owned()),
            scopes: Set(String::new()),
            created_at: Set(now),
            updated_at: Set(now),
        })
        .on_conflict_do_nothing()
        .exec(&txn)
        .await?;
        let existing = consent::Entity::find_by_id((user_id.to_owned(), client_id.to_owned()))
            .lock_exclusive()
            .one(&txn)
            .await?
            .ok_or_else(|| {
                StoreError::Corrupt("consent row vanished inside its transaction".into())
            })?;
        let merged = scopes(&existing.scopes)?.union(granted);
        let mut am: consent::ActiveModel = existing.into();
        am.scopes = Set(merged.to_string());
        am.updated_at = Set(now);
        am.update(&txn).await?;
        txn.commit().await?;
        Ok(())
    }

    /// Stores a new grant and the authorization code that will carry it to the token
    /// endpoint, in one transaction.
    pub async fn create_grant_with_code(
        &self,
        g: &Grant,
        code: &AuthorizationCode,
    ) -> StoreResult<()> {
        let txn = self.db.begin().await?;
        grant_active(g).insert(&txn).await?;
        authorization_code::ActiveModel {
            code_hash: Set(code.code_hash.clone()),
            grant_id: Set(code.grant_id.clone()),
            client_id: Set(code.client_id.clone()),
            user_id: Set(code.user_id.clone()),
            redirect_uri: Set(code.redirect_uri.clone()),
            scopes: Set(code.scopes.to_string()),
            nonce: Set(code.nonce.clone()),
            pkce_challenge: Set(code.pkce_challenge.clone()),
            sid: Set(code.sid.clone()),
            auth_time: Set(code.auth_time),
            created_at: Set(code.created_at),
            expires_at: Set(code.expires_at),
            consumed_at: Set(None),
        }
        .insert(&txn)
        .await?;
        txn.commit().await?;
        Ok(())
    }

    /// Reads a code row without consuming it, so the token endpoint can check the client,
    /// redirect URI and PKCE verifier before spending the code.
    pub async fn find_code(&self, code_hash: &str) -> StoreResult<Option<AuthorizationCode>> {
        authorization_code::Entity::find_by_id(code_hash.to_owned())
            .one(&self.db)
            .await?
            .map(code_to_domain)
            .transpose()
    }

    /// Consumes an authorization code exactly once.
    ///
    /// The conditional `UPDATE ... WHERE consumed_at IS NULL` is the first statement of the
    /// transaction, so on SQLite it takes the write lock before reading anything and on
    /// PostgreSQL the row lock serialises racers: exactly one request sees one affected row.
    /// Every other presentation of the code revokes its grant (RFC 6749 §4.1.2).
    ///
    /// `refresh`, when given, is the refresh token the exchange issues: it is stored inside
    /// the same transaction, so it exists only if the code was really spent.
    pub async fn redeem_code(
        &self,
        code_hash: &str,
        refresh: Option<&gatehouse_core::RefreshToken>,
        now: i64,
    ) -> StoreResult<CodeRedemption> {
        let txn = self.db.begin().await?;
        let won = authorization_code::Entity::update_many()
            .col_expr(authorization_code::Column::ConsumedAt, Expr::value(now))
            .filter(authorization_code::Column::CodeHash.eq(code_hash))
            .filter(authorization_code::Column::ConsumedAt.is_null())
            .filter(authorization_code::Column::ExpiresAt.gt(now))
            .exec(&txn)
            .await?
            .rows_affected
            == 1;
        let Some(row) = authorization_code::Entity::find_by_id(code_hash.to_owned())
            .one(&txn)
            .await?
        else {
            txn.commit().await?;
            return Ok(CodeRedemption::Unknown);
        };
        let outcome = if won {
            let live = grant::Entity::find_by_id(row.grant_id.clone())
                .filter(grant::Column::RevokedAt.is_null())
                .one(&txn)
                .await?
                .is_some();
            if live {
                if let Some(r) = refresh {
                    crate::refresh::to_active(r).insert(&txn).await?;
                }
                CodeRedemption::Redeemed(Box::new(code_to_domain(row)?))
            } else {
                CodeRedemption::Revoked
            }
        } else if row.consumed_at.is_some() {
            revoke_grant_in(&txn, &row.grant_id, now).await?;
            CodeRedemption::Reused
        } else {
            CodeRedemption::Expired
        };
        txn.commit().await?;
        Ok(outcome)
    }

    pub async fn find_grant(&self, id: &str) -> StoreResult<Option<Grant>> {
        grant::Entity::find_by_id(id.to_owned())
            .one(&self.db)
            .await?
            .map(grant_to_domain)
            .transpose()
    }

    /// Revokes a grant and so every token derived from it; true if it was live.
    pub async fn revoke_grant(&self, id: &str, now: i64) -> StoreResult<bool> {
        Ok(revoke_grant_in(&self.db, id, now).await? == 1)
    }

    pub async fn prune_codes(&self, now: i64) -> StoreResult<u64> {
        // Codes are kept a day past expiry, so a replay of a used code is still recognised
        // as reuse (and revokes its grant) long after the code stopped working.
        Ok(authorization_code::Entity::delete_many()
            .filter(authorization_code::Column::ExpiresAt.lte(now - 86_400))
            .exec(&self.db)
            .await?
            .rows_affected)
    }
}

pub(crate) fn grant_active(g: &Grant) -> grant::ActiveModel {
    grant::ActiveModel {
        id: Set(g.id.clone()),
        client_id: Set(g.client_id.clone()),
        user_id: Set(g.user_id.clone()),
        scopes: Set(g.scopes.to_string()),
        sid: Set(g.sid.clone()),
        auth_time: Set(g.auth_time),
        created_at: Set(g.created_at),
        revoked_at: Set(g.revoked_at),
    }
}

pub(crate) async fn revoke_grant_in(
    db: &impl sea_orm::ConnectionTrait,
    id: &str,
    now: i64,
) -> StoreResult<u64> {
    Ok(grant::Entity::update_many()
        .col_expr(grant::Column::RevokedAt, Expr::value(now))
        .filter(grant::Column::Id.eq(id))
        .filter(grant::Column::RevokedAt.is_null())
        .exec(db)
        .await?
        .rows_affected)
}

/// Ends everything a user holds: sessions deleted, grants revoked (and with them every
/// token derived from them), opaque access tokens deleted.
pub(crate) async fn end_user_access(
    db: &impl sea_orm::ConnectionTrait,
    user_id: &str,
    now: i64,
) -> StoreResult<()> {
    crate::entity::session::Entity::delete_many()
        .filter(crate::entity::session::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    grant::Entity::update_many()
        .col_expr(grant::Column::RevokedAt, Expr::value(now))
        .filter(grant::Column::UserId.eq(user_id))
        .filter(grant::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    crate::entity::access_token::Entity::delete_many()
        .filter(crate::entity::access_token::Column::Sub.eq(user_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Which grants an administrator lists or revokes. Every field given must match.
#[derive(Debug, Clone, Copy, Default)]
pub struct GrantFilter<'a> {
    pub user_id: Option<&'a str>,
    pub client_id: Option<&'a str>,
    pub grant_id: Option<&'a str>,
}

impl GrantFilter<'_> {
    fn condition(&self) -> sea_orm::Condition {
        let mut c = sea_orm::Condition::all().add(grant::Column::RevokedAt.is_null());
        if let Some(u) = self.user_id {
            c = c.add(grant::Column::UserId.eq(u));
        }
        if let Some(id) = self.client_id {
            c = c.add(grant::Column::ClientId.eq(id));
        }
        if let Some(id) = self.grant_id {
            c = c.add(grant::Column::Id.eq(id));
        }
        c
    }
}

impl Store {
    /// The live (unrevoked) grants matching `filter`, newest first, at most 500.
    pub async fn list_grants(&self, filter: GrantFilter<'_>) -> StoreResult<Vec<Grant>> {
        use sea_orm::{QueryOrder, QuerySelect};
        grant::Entity::find()
            .filter(filter.condition())
            .order_by_desc(grant::Column::CreatedAt)
            .limit(500)
            .all(&self.db)
            .await?
            .into_iter()
            .map(grant_to_domain)
            .collect()
    }

    /// Revokes the live grants matching `filter` (and so every token derived from them;
    /// opaque access tokens are deleted at once). Returns how many were revoked; the audit
    /// row is written only when there was something to revoke.
    pub async fn revoke_grants(
        &self,
        filter: GrantFilter<'_>,
        now: i64,
        audit: &gatehouse_core::Audit,
    ) -> StoreResult<u64> {
        use sea_orm::TransactionTrait;
        let txn = self.db.begin().await?;
        let ids = revoke_grants_in(&txn, &filter, now).await?;
        if !ids.is_empty() {
            let mut audit = audit.clone();
            audit.detail = serde_json::json!({ "grants": ids });
            crate::access::record(&txn, &audit, now).await?;
        }
        txn.commit().await?;
        Ok(ids.len() as u64)
    }

    /// "Sign out everywhere": ends every session of the user and revokes every grant (and
    /// with them every token) in one transaction. Returns (sessions ended, grants revoked).
    pub async fn sign_out_everywhere(
        &self,
        user_id: &str,
        now: i64,
        audit: &gatehouse_core::Audit,
    ) -> StoreResult<(u64, u64)> {
        use sea_orm::TransactionTrait;
        let txn = self.db.begin().await?;
        let sessions = crate::entity::session::Entity::delete_many()
            .filter(crate::entity::session::Column::UserId.eq(user_id))
            .exec(&txn)
            .await?
            .rows_affected;
        let filter = GrantFilter {
            user_id: Some(user_id),
            client_id: None,
            grant_id: None,
        };
        let ids = revoke_grants_in(&txn, &filter, now).await?;
        let mut audit = audit.clone();
        audit.detail = serde_json::json!({ "sessions": sessions, "grants": ids });
        crate::access::record(&txn, &audit, now).await?;
        txn.commit().await?;
        Ok((sessions, ids.len() as u64))
    }
}

/// Revokes the live grants matching `filter` inside `txn` (opaque access tokens are
/// deleted at once); returns the ids revoked.
async fn revoke_grants_in(
    txn: &sea_orm::DatabaseTransaction,
    filter: &GrantFilter<'_>,
    now: i64,
) -> StoreResult<Vec<String>> {
    use sea_orm::QuerySelect;
    let ids: Vec<String> = grant::Entity::find()
        .select_only()
        .column(grant::Column::Id)
        .filter(filter.condition())
        .into_tuple()
        .all(txn)
        .await?;
    for chunk in ids.chunks(500) {
        grant::Entity::update_many()
            .col_expr(grant::Column::RevokedAt, Expr::value(now))
            .filter(grant::Column::Id.is_in(chunk.iter().cloned()))
            .filter(grant::Column::RevokedAt.is_null())
            .exec(txn)
            .await?;
        crate::entity::access_token::Entity::delete_many()
            .filter(crate::entity::access_token::Column::GrantId.is_in(chunk.iter().cloned()))
            .exec(txn)
            .await?;
    }
    Ok(ids)
}
