//! Registered APIs (RFC 8707 resource indicators).

use gatehouse_core::{Audit, Resource, Scopes};
use sea_orm::{ActiveModelTrait, EntityTrait, QueryOrder, Set, TransactionTrait};

use crate::entity::resource;
use crate::{Store, StoreError, StoreResult, conflict_or};

fn to_domain(m: resource::Model) -> StoreResult<Resource> {
    Ok(Resource {
        scopes: Scopes::parse(&m.scopes)
            .map_err(|e| StoreError::Corrupt(format!("resource {}: {e}", m.identifier)))?,
        identifier: m.identifier,
        name: m.name,
        access_token_ttl: m.access_token_ttl,
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

impl Store {
    /// Registers an API, with its audit entry.
    pub async fn create_resource(&self, r: &Resource, audit: &Audit) -> StoreResult<Resource> {
        let txn = self.db.begin().await?;
        let model = resource::ActiveModel {
            identifier: Set(r.identifier.clone()),
            name: Set(r.name.clone()),
            scopes: Set(r.scopes.to_string()),
            access_token_ttl: Set(r.access_token_ttl),
            created_at: Set(r.created_at),
            updated_at: Set(r.updated_at),
        }
        .insert(&txn)
        .await
        .map_err(|e| conflict_or(e, "resource"))?;
        crate::access::record(&txn, audit, r.created_at).await?;
        txn.commit().await?;
        to_domain(model)
    }

    /// Replaces an API's name, scopes and token lifetime; false if there is no such API.
    pub async fn update_resource(&self, r: &Resource, audit: &Audit) -> StoreResult<bool> {
        let txn = self.db.begin().await?;
        let Some(found) = resource::Entity::find_by_id(r.identifier.clone())
            .one(&txn)
            .await?
        else {
            return Ok(false);
        };
        let mut am: resource::ActiveModel = found.into();
        am.name = Set(r.name.clone());
        am.scopes = Set(r.scopes.to_string());
        am.access_token_ttl = Set(r.access_token_ttl);
        am.updated_at = Set(r.updated_at);
        am.update(&txn).await?;
        crate::access::record(&txn, audit, r.updated_at).await?;
        txn.commit().await?;
        Ok(true)
    }

    /// Removes an API; false if there was none. Tokens already issued for it stay valid
    /// until they expire (its resource server decides what to accept).
    pub async fn delete_resource(
        &self,
        identifier: &str,
        audit: &Audit,
        now: i64,
    ) -> StoreResult<bool> {
        let txn = self.db.begin().await?;
        let found = resource::Entity::delete_by_id(identifier.to_owned())
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

    pub async fn find_resource(&self, identifier: &str) -> StoreResult<Option<Resource>> {
        resource::Entity::find_by_id(identifier.to_owned())
            .one(&self.db)
            .await?
            .map(to_domain)
            .transpose()
    }

    pub async fn list_resources(&self) -> StoreResult<Vec<Resource>> {
        resource::Entity::find()
            .order_by_asc(resource::Column::Identifier)
            .all(&self.db)
            .await?
            .into_iter()
            .map(to_domain)
            .collect()
    }
}
