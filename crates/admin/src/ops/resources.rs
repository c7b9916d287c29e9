//! Registered APIs (RFC 8707 resource indicators): the audiences access tokens are issued
//! for, and the scopes each accepts. The admin API is one of them, built in: it is passed
//! in (`admin_api`, see [`gatehouse_core::Resource::admin_api`]), never stored or changed.

use gatehouse_core::resource::ResourceProblem;
use gatehouse_core::{Resource, Scopes};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use super::{AdminError, AdminResult, Ops};

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourceInput {
    /// An absolute https URI (http on loopback) without query or fragment.
    pub identifier: String,
    pub name: String,
    /// The scopes this API accepts (1 to 100); a scope belongs to one API only.
    pub scopes: Vec<String>,
    pub access_token_ttl: Option<i64>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourceUpdate {
    pub name: Option<String>,
    pub scopes: Option<Vec<String>>,
    /// `null` keeps the current value; 0 removes the lifetime override.
    pub access_token_ttl: Option<i64>,
}

/// Parses the scopes as typed (a syntax error is the caller's 400).
fn parse_scopes(scopes: &[String]) -> AdminResult<Scopes> {
    Scopes::parse(&scopes.join(" ")).map_err(|e| AdminError::invalid(e.to_string()))
}

fn parse_ttl(ttl: Option<i64>) -> Option<i64> {
    ttl.filter(|t| *t != 0)
}

/// Checks `r` against every other API, the built-in one included ([`Resource::check`]).
async fn check(ops: Ops<'_>, admin_api: &Resource, r: &Resource) -> AdminResult<()> {
    let mut others = vec![admin_api.clone()];
    others.extend(ops.store.list_resources().await?);
    let issuer = admin_api
        .identifier
        .strip_suffix("/admin/api")
        .unwrap_or(&admin_api.identifier);
    r.check(issuer, &others).map_err(|p| match p {
        ResourceProblem::Invalid(m) => AdminError::Invalid(m),
        ResourceProblem::Taken(m) => AdminError::Conflict(m),
    })
}

/// The built-in admin API first, then the registered APIs.
pub async fn list(ops: Ops<'_>, admin_api: &Resource) -> AdminResult<Vec<Resource>> {
    let mut all = vec![admin_api.clone()];
    all.extend(ops.store.list_resources().await?);
    Ok(all)
}

pub async fn create(
    ops: Ops<'_>,
    admin_api: &Resource,
    input: ResourceInput,
) -> AdminResult<Resource> {
    let resource = Resource {
        identifier: input.identifier,
        name: input.name,
        scopes: parse_scopes(&input.scopes)?,
        access_token_ttl: parse_ttl(input.access_token_ttl),
        created_at: ops.now,
        updated_at: ops.now,
    };
    if resource.identifier == admin_api.identifier {
        return Err(AdminError::invalid("the admin API is built in"));
    }
    check(ops, admin_api, &resource).await?;
    let audit = ops
        .audit("resource.create", &resource.identifier)
        .detail(json!({"scopes": resource.scopes.to_string()}));
    Ok(ops.store.create_resource(&resource, &audit).await?)
}

pub async fn update(
    ops: Ops<'_>,
    admin_api: &Resource,
    identifier: &str,
    input: ResourceUpdate,
) -> AdminResult<Resource> {
    let mut r = ops
        .store
        .find_resource(identifier)
        .await?
        .ok_or(AdminError::NotFound("resource"))?;
    if let Some(name) = input.name {
        r.name = name;
    }
    if let Some(scopes) = input.scopes {
        r.scopes = parse_scopes(&scopes)?;
    }
    if input.access_token_ttl.is_some() {
        r.access_token_ttl = parse_ttl(input.access_token_ttl);
    }
    r.updated_at = ops.now;
    check(ops, admin_api, &r).await?;
    let audit = ops
        .audit("resource.update", identifier)
        .detail(json!({"scopes": r.scopes.to_string()}));
    if !ops.store.update_resource(&r, &audit).await? {
        return Err(AdminError::NotFound("resource"));
    }
    Ok(r)
}

/// Removes an API; tokens already issued for it live until they expire.
pub async fn delete(ops: Ops<'_>, identifier: &str) -> AdminResult<()> {
    if !ops
        .store
        .delete_resource(
            identifier,
            &ops.audit("resource.delete", identifier),
            ops.now,
        )
        .await?
    {
        return Err(AdminError::NotFound("resource"));
    }
    Ok(())
}
