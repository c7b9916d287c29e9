//! Registered clients.

use gatehouse_core::client::RegistrationPolicy;
use gatehouse_core::{Audit, Client, ClientLinks, Listing, NewClient, Query, Scopes, SubjectKind};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    TransactionTrait,
};

use crate::entity::client;
use crate::{Store, StoreError, StoreResult, conflict_or, json_list, parse_json};

fn to_domain(m: client::Model) -> StoreResult<Client> {
    let corrupt = |e: String| StoreError::Corrupt(format!("client {}: {e}", m.client_id));
    Ok(Client {
        redirect_uris: parse_json(&m.redirect_uris, "redirect_uris")?,
        post_logout_redirect_uris: parse_json(
            &m.post_logout_redirect_uris,
            "post_logout_redirect_uris",
        )?,
        grant_types: parse_json(&m.grant_types, "grant_types")?,
        scopes: Scopes::parse(&m.scopes).map_err(|e| corrupt(e.to_string()))?,
        auth_method: m.auth_method.parse().map_err(corrupt)?,
        application_type: m.application_type.parse().map_err(corrupt)?,
        access_token_format: m.access_token_format.parse().map_err(corrupt)?,
        client_id: m.client_id,
        name: m.name,
        secret_hash: m.secret_hash,
        jwks: m.jwks,
        jwks_uri: m.jwks_uri,
        links: ClientLinks {
            logo_uri: m.logo_uri,
            policy_uri: m.policy_uri,
            tos_uri: m.tos_uri,
        },
        allowed_origins: m
            .allowed_origins
            .as_deref()
            .map(|o| parse_json(o, "allowed_origins"))
            .transpose()?
            .unwrap_or_default(),
        created_at: m.created_at,
        secret_changed_at: m.secret_changed_at,
        registration_policy: m
            .registration_policy
            .as_deref()
            .map(|p| parse_json(p, "registration_policy"))
            .transpose()?,
    })
}

/// An explicit origin list as stored: `NULL` when the client names none.
fn stored_origins(origins: &[String]) -> Option<String> {
    (!origins.is_empty()).then(|| json_list(origins))
}

/// How a client registered itself (RFC 7591): its registration access token, by hash, and
/// the policy that applied.
#[derive(Debug, Clone)]
pub struct Registration {
    pub token_hash: String,
    pub policy: RegistrationPolicy,
}

impl Store {
    /// Registers a client. The caller generates the id, the secret and (for a dynamically
    /// registered client) the registration access token; only their hashes reach the
    /// database, in one row written with its audit entry.
    pub async fn create_client(
        &self,
        client_id: &str,
        secret_hash: Option<String>,
        registration: Option<Registration>,
        new: &NewClient,
        now: i64,
        audit: &Audit,
    ) -> StoreResult<Client> {
        let txn = self.db.begin().await?;
        let model = client::ActiveModel {
            client_id: Set(client_id.to_owned()),
            name: Set(new.name.clone()),
            secret_hash: Set(secret_hash),
            redirect_uris: Set(json_list(&new.redirect_uris)),
            post_logout_redirect_uris: Set(json_list(&new.post_logout_redirect_uris)),
            grant_types: Set(json_list(&new.grant_types)),
            scopes: Set(new.scopes.to_string()),
            auth_method: Set(new.auth_method.to_string()),
            application_type: Set(new.application_type.to_string()),
            jwks: Set(new.jwks.clone()),
            jwks_uri: Set(new.jwks_uri.clone()),
            registration_token_hash: Set(registration.as_ref().map(|r| r.token_hash.clone())),
            registration_policy: Set(registration
                .as_ref()
                .and_then(|r| serde_json::to_string(&r.policy).ok())),
            access_token_format: Set(new.access_token_format.to_string()),
            logo_uri: Set(new.links.logo_uri.clone()),
            policy_uri: Set(new.links.policy_uri.clone()),
            tos_uri: Set(new.links.tos_uri.clone()),
            allowed_origins: Set(stored_origins(&new.allowed_origins)),
            secret_changed_at: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(&txn)
        .await
        .map_err(|e| conflict_or(e, "client"))?;
        crate::access::record(&txn, audit, now).await?;
        txn.commit().await?;
        to_domain(model)
    }

    /// One page of clients by name; `search` matches the name and the client id.
    pub async fn list_clients_page(&self, q: &Query) -> StoreResult<Listing<Client>> {
        let mut find = client::Entity::find();
        if let Some(s) = q.search.as_deref().filter(|s| !s.is_empty()) {
            find = find.filter(crate::access::search_condition(
                &[
                    Expr::col(client::Column::Name),
                    Expr::col(client::Column::ClientId),
                ],
                s,
            ));
        }
        let total = find.clone().count(&self.db).await?;
        let items = find
            .order_by_asc(client::Column::Name)
            .order_by_asc(client::Column::ClientId)
            .offset(q.offset)
            .limit(q.limit)
            .all(&self.db)
            .await?
            .into_iter()
            .map(to_domain)
            .collect::<StoreResult<_>>()?;
        Ok(Listing { items, total })
    }

    pub async fn find_client(&self, client_id: &str) -> StoreResult<Option<Client>> {
        client::Entity::find_by_id(client_id.to_owned())
            .one(&self.db)
            .await?
            .map(to_domain)
            .transpose()
    }

    pub async fn list_clients(&self) -> StoreResult<Vec<Client>> {
        client::Entity::find()
            .order_by_asc(client::Column::CreatedAt)
            .all(&self.db)
            .await?
            .into_iter()
            .map(to_domain)
            .collect()
    }
}

impl Store {
    /// Records a client assertion's `jti` until `expires_at`; false if it was already used
    /// (OIDC Core §9, RFC 7523 §3: replay).
    pub async fn use_assertion_jti(
        &self,
        client_id: &str,
        jti: &str,
        expires_at: i64,
    ) -> StoreResult<bool> {
        use crate::entity::client_assertion_jti;
        let inserted = client_assertion_jti::Entity::insert(client_assertion_jti::ActiveModel {
            client_id: sea_orm::Set(client_id.to_owned()),
            jti: sea_orm::Set(jti.to_owned()),
            expires_at: sea_orm::Set(expires_at),
        })
        .on_conflict_do_nothing()
        .exec(&self.db)
        .await?;
        Ok(matches!(inserted, sea_orm::TryInsertResult::Inserted(_)))
    }

    pub async fn prune_assertion_jtis(&self, now: i64) -> StoreResult<u64> {
        use crate::entity::client_assertion_jti;
        use sea_orm::{ColumnTrait, QueryFilter};
        Ok(client_assertion_jti::Entity::delete_many()
            .filter(client_assertion_jti::Column::ExpiresAt.lte(now))
            .exec(&self.db)
            .await?
            .rows_affected)
    }
}

impl Store {
    /// Replaces a client's metadata (not its id, secret, authentication method, keys or
    /// creation time).
    pub async fn update_client(
        &self,
        client_id: &str,
        new: &NewClient,
        now: i64,
        audit: &Audit,
    ) -> StoreResult<Option<Client>> {
        use sea_orm::ColumnTrait;
        let txn = self.db.begin().await?;
        let result = client::Entity::update_many()
            .col_expr(
                client::Column::Name,
                sea_orm::sea_query::Expr::value(new.name.clone()),
            )
            .col_expr(
                client::Column::RedirectUris,
                sea_orm::sea_query::Expr::value(json_list(&new.redirect_uris)),
            )
            .col_expr(
                client::Column::PostLogoutRedirectUris,
                sea_orm::sea_query::Expr::value(json_list(&new.post_logout_redirect_uris)),
            )
            .col_expr(
                client::Column::GrantTypes,
                sea_orm::sea_query::Expr::value(json_list(&new.grant_types)),
            )
            .col_expr(
                client::Column::Scopes,
                sea_orm::sea_query::Expr::value(new.scopes.to_string()),
            )
            .col_expr(
                client::Column::AllowedOrigins,
                Expr::value(stored_origins(&new.allowed_origins)),
            )
            .col_expr(
                client::Column::LogoUri,
                Expr::value(new.links.logo_uri.clone()),
            )
            .col_expr(
                client::Column::PolicyUri,
                Expr::value(new.links.policy_uri.clone()),
            )
            .col_expr(
                client::Column::TosUri,
                Expr::value(new.links.tos_uri.clone()),
            )
            .col_expr(
                client::Column::UpdatedAt,
                sea_orm::sea_query::Expr::value(now),
            )
            .filter(client::Column::ClientId.eq(client_id))
            .exec(&txn)
            .await?;
        if result.rows_affected == 0 {
            return Ok(None);
        }
        crate::access::record(&txn, audit, now).await?;
        let updated = client::Entity::find_by_id(client_id.to_owned())
            .one(&txn)
            .await?
            .map(to_domain)
            .transpose()?;
        txn.commit().await?;
        Ok(updated)
    }

    /// Replaces a confidential client's secret hash; the old secret stops working at once.
    pub async fn set_client_secret(
        &self,
        client_id: &str,
        secret_hash: &str,
        now: i64,
        audit: &Audit,
    ) -> StoreResult<bool> {
        use sea_orm::ColumnTrait;
        let txn = self.db.begin().await?;
        let found = client::Entity::update_many()
            .col_expr(
                client::Column::SecretHash,
                sea_orm::sea_query::Expr::value(secret_hash.to_owned()),
            )
            .col_expr(client::Column::SecretChangedAt, Expr::value(now))
            .col_expr(
                client::Column::UpdatedAt,
                sea_orm::sea_query::Expr::value(now),
            )
            .filter(client::Column::ClientId.eq(client_id))
            .filter(client::Column::SecretHash.is_not_null())
            .exec(&txn)
            .await?
            .rows_affected
            == 1;
        if found {
            crate::access::record(&txn, audit, now).await?;
        }
        txn.commit().await?;
        Ok(found)
    }

    /// Deletes a client, revokes every grant it holds and takes its roles away.
    pub async fn delete_client(
        &self,
        client_id: &str,
        now: i64,
        audit: &Audit,
    ) -> StoreResult<bool> {
        use sea_orm::ColumnTrait;
        let txn = self.db.begin().await?;
        let found = client::Entity::delete_by_id(client_id.to_owned())
            .exec(&txn)
            .await?
            .rows_affected
            == 1;
        if found {
            crate::entity::grant::Entity::update_many()
                .col_expr(
                    crate::entity::grant::Column::RevokedAt,
                    sea_orm::sea_query::Expr::value(now),
                )
                .filter(crate::entity::grant::Column::ClientId.eq(client_id))
                .filter(crate::entity::grant::Column::RevokedAt.is_null())
                .exec(&txn)
                .await?;
            crate::entity::access_token::Entity::delete_many()
                .filter(crate::entity::access_token::Column::ClientId.eq(client_id))
                .exec(&txn)
                .await?;
            crate::access::forget_subject(&txn, SubjectKind::Client, client_id).await?;
            crate::access::record(&txn, audit, now).await?;
        }
        txn.commit().await?;
        Ok(found)
    }
}

impl Store {
    /// Stores an initial access token for registration (RFC 7591 §3), by its hash, with
    /// what it allows beyond the configured registration policy.
    pub async fn create_registration_token(
        &self,
        token_hash: &str,
        uses: Option<i64>,
        allows: Option<&RegistrationPolicy>,
        now: i64,
        expires_at: i64,
        audit: &Audit,
    ) -> StoreResult<()> {
        use crate::entity::registration_token;
        let txn = self.db.begin().await?;
        registration_token::ActiveModel {
            token_hash: sea_orm::Set(token_hash.to_owned()),
            uses_left: sea_orm::Set(uses),
            created_at: sea_orm::Set(now),
            expires_at: sea_orm::Set(expires_at),
            policy: sea_orm::Set(allows.and_then(|p| serde_json::to_string(p).ok())),
        }
        .insert(&txn)
        .await?;
        crate::access::record(&txn, audit, now).await?;
        txn.commit().await?;
        Ok(())
    }

    /// Spends one use of an initial access token and returns what it allows beyond the
    /// configured policy (an empty policy if nothing); `None` if it is unknown, expired or
    /// used up.
    pub async fn use_registration_token(
        &self,
        token_hash: &str,
        now: i64,
    ) -> StoreResult<Option<RegistrationPolicy>> {
        use crate::entity::registration_token;
        use sea_orm::sea_query::{Expr, ExprTrait};
        use sea_orm::{ColumnTrait, Condition, QueryFilter};
        // One conditional statement: racing registrations cannot overspend a token.
        let spent = registration_token::Entity::update_many()
            .col_expr(
                registration_token::Column::UsesLeft,
                Expr::col(registration_token::Column::UsesLeft).sub(1),
            )
            .filter(registration_token::Column::TokenHash.eq(token_hash))
            .filter(registration_token::Column::ExpiresAt.gt(now))
            .filter(
                Condition::any()
                    .add(registration_token::Column::UsesLeft.is_null())
                    .add(registration_token::Column::UsesLeft.gt(0)),
            )
            .exec(&self.db)
            .await?
            .rows_affected;
        if spent != 1 {
            return Ok(None);
        }
        let row = registration_token::Entity::find_by_id(token_hash.to_owned())
            .one(&self.db)
            .await?;
        Ok(Some(match row.and_then(|r| r.policy) {
            Some(p) => parse_json(&p, "registration token policy")?,
            None => RegistrationPolicy {
                scopes: Scopes::empty(),
                grant_types: Vec::new(),
            },
        }))
    }

    /// The client whose registration access token hashes to `token_hash`, if it is `client_id`.
    pub async fn client_for_registration_token(
        &self,
        client_id: &str,
        token_hash: &str,
    ) -> StoreResult<Option<Client>> {
        use sea_orm::{ColumnTrait, QueryFilter};
        client::Entity::find_by_id(client_id.to_owned())
            .filter(client::Column::RegistrationTokenHash.eq(token_hash))
            .one(&self.db)
            .await?
            .map(to_domain)
            .transpose()
    }
}

/// An initial access token as an administrator sees it: by its hash, never the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationTokenRow {
    pub token_hash: String,
    pub uses_left: Option<i64>,
    pub created_at: i64,
    pub expires_at: i64,
    /// What it allows beyond the configured registration policy.
    pub allows: Option<RegistrationPolicy>,
}

impl Store {
    /// The initial access tokens that can still be used, newest first.
    pub async fn list_registration_tokens(
        &self,
        now: i64,
    ) -> StoreResult<Vec<RegistrationTokenRow>> {
        use crate::entity::registration_token;
        use sea_orm::{ColumnTrait, Condition};
        Ok(registration_token::Entity::find()
            .filter(registration_token::Column::ExpiresAt.gt(now))
            .filter(
                Condition::any()
                    .add(registration_token::Column::UsesLeft.is_null())
                    .add(registration_token::Column::UsesLeft.gt(0)),
            )
            .order_by_desc(registration_token::Column::CreatedAt)
            .all(&self.db)
            .await?
            .into_iter()
            .map(|m| RegistrationTokenRow {
                token_hash: m.token_hash,
                uses_left: m.uses_left,
                created_at: m.created_at,
                expires_at: m.expires_at,
                allows: m.policy.and_then(|p| serde_json::from_str(&p).ok()),
            })
            .collect())
    }

    /// Withdraws an initial access token; false if there was none with that hash.
    pub async fn delete_registration_token(
        &self,
        token_hash: &str,
        audit: &Audit,
        now: i64,
    ) -> StoreResult<bool> {
        use crate::entity::registration_token;
        let txn = self.db.begin().await?;
        let found = registration_token::Entity::delete_by_id(token_hash.to_owned())
            .exec(&txn)
            .await?
            .rows_affected
            == 1;
        if found {
            crate::access::record(&txn, audit, now).await?;
        }
        txn.commit().await?;
        Ok(found)
    }
}
