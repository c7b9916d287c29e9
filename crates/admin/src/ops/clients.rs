//! Clients: create (the secret shown once), change, rotate the secret, delete; and grants,
//! of clients and of users: list and revoke.

use gatehouse_core::client::ClientMetadataError;
use gatehouse_core::{
    AccessTokenFormat, ApplicationType, Client, ClientAuthMethod, ClientLinks, Grant, GrantType,
    NewClient, Scopes, SubjectKind, secret,
};
use gatehouse_storage::GrantFilter;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{AdminError, AdminResult, Ops};

/// A client to register. Defaults: grant `authorization_code`, `client_secret_basic`,
/// application type `web`, JWT access tokens.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientInput {
    pub client_name: String,
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    pub grant_types: Option<Vec<String>>,
    /// Space-separated scopes beyond the standard OpenID ones.
    pub scope: Option<String>,
    pub token_endpoint_auth_method: Option<String>,
    pub application_type: Option<String>,
    /// `jwt` (RFC 9068) or `opaque`.
    pub access_token_format: Option<String>,
    /// A JWK Set of public keys, for `private_key_jwt`.
    pub jwks: Option<Value>,
    pub jwks_uri: Option<String>,
    pub logo_uri: Option<String>,
    pub policy_uri: Option<String>,
    pub tos_uri: Option<String>,
    /// Origins its pages may call the token side and userinfo from (CORS); default: the
    /// origins of its redirect URIs.
    #[serde(default)]
    pub allowed_origins: Vec<String>,
}

/// Changes to a client: each member given replaces that field (an empty string clears an
/// optional link). How the client authenticates does not change this way.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientPatch {
    pub client_name: Option<String>,
    pub redirect_uris: Option<Vec<String>>,
    pub post_logout_redirect_uris: Option<Vec<String>>,
    pub grant_types: Option<Vec<String>>,
    pub scope: Option<String>,
    pub logo_uri: Option<String>,
    pub policy_uri: Option<String>,
    pub tos_uri: Option<String>,
    /// Replaces the CORS origins (an empty list: the redirect URIs' origins).
    pub allowed_origins: Option<Vec<String>>,
}

/// A newly created client and its secret (for a confidential client), which exists only
/// here: the store keeps its hash.
pub struct ClientCreated {
    pub client: Client,
    pub client_secret: Option<String>,
}

fn parse<T: std::str::FromStr<Err = String>>(field: &str, value: &str) -> AdminResult<T> {
    value
        .parse()
        .map_err(|e: String| AdminError::invalid(format!("{field}: {e}")))
}

fn grant_types(values: &[String]) -> AdminResult<Vec<GrantType>> {
    let mut out = Vec::new();
    for v in values {
        let g: GrantType = parse("grant_types", v)?;
        if !out.contains(&g) {
            out.push(g);
        }
    }
    Ok(out)
}

fn scopes(value: &str) -> AdminResult<Scopes> {
    if value.len() > 2048 {
        return Err(AdminError::invalid("scope is longer than 2048 bytes"));
    }
    Scopes::parse(value).map_err(|e| AdminError::invalid(format!("scope: {e}")))
}

fn link(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.is_empty())
}

fn metadata_error(e: ClientMetadataError) -> AdminError {
    AdminError::invalid(e.to_string())
}

/// The metadata of a new client, validated as registration validates it.
pub fn new_client(input: ClientInput) -> AdminResult<NewClient> {
    let grant_types = match &input.grant_types {
        Some(g) => grant_types(g)?,
        None => vec![GrantType::AuthorizationCode],
    };
    let new = NewClient {
        name: input.client_name.trim().to_owned(),
        redirect_uris: input.redirect_uris,
        post_logout_redirect_uris: input.post_logout_redirect_uris,
        grant_types,
        scopes: scopes(input.scope.as_deref().unwrap_or(""))?,
        auth_method: parse(
            "token_endpoint_auth_method",
            input
                .token_endpoint_auth_method
                .as_deref()
                .unwrap_or("client_secret_basic"),
        )?,
        application_type: parse::<ApplicationType>(
            "application_type",
            input.application_type.as_deref().unwrap_or("web"),
        )?,
        jwks: input.jwks.as_ref().map(Value::to_string),
        jwks_uri: input.jwks_uri,
        access_token_format: parse::<AccessTokenFormat>(
            "access_token_format",
            input.access_token_format.as_deref().unwrap_or("jwt"),
        )?,
        links: ClientLinks {
            logo_uri: link(input.logo_uri),
            policy_uri: link(input.policy_uri),
            tos_uri: link(input.tos_uri),
        },
        allowed_origins: input.allowed_origins,
    };
    new.validate().map_err(metadata_error)?;
    Ok(new)
}

pub async fn find(ops: Ops<'_>, client_id: &str) -> AdminResult<Client> {
    ops.store
        .find_client(client_id)
        .await?
        .ok_or(AdminError::NotFound("client"))
}

/// A client and the roles it holds.
pub async fn read(ops: Ops<'_>, client_id: &str) -> AdminResult<(Client, Vec<String>)> {
    let client = find(ops, client_id).await?;
    let roles = ops.store.roles_of(SubjectKind::Client, client_id).await?;
    Ok((client, roles))
}

/// Registers a client from validated metadata (see [`new_client`]).
pub async fn create(ops: Ops<'_>, input: ClientInput) -> AdminResult<ClientCreated> {
    let new = new_client(input)?;
    let client_id = secret::new_client_id();
    let client_secret = matches!(
        new.auth_method,
        ClientAuthMethod::ClientSecretBasic | ClientAuthMethod::ClientSecretPost
    )
    .then(secret::new_secret);
    let client = ops
        .store
        .create_client(
            &client_id,
            client_secret.as_deref().map(secret::hash_secret),
            None,
            &new,
            ops.now,
            &ops.audit("client.create", &client_id)
                .detail(json!({"client_name": new.name})),
        )
        .await?;
    Ok(ClientCreated {
        client,
        client_secret,
    })
}

/// Applies `patch` to a client; the audit row names the fields whose value changed.
pub async fn update(ops: Ops<'_>, client_id: &str, patch: ClientPatch) -> AdminResult<Client> {
    let c = find(ops, client_id).await?;
    let mut new = NewClient {
        name: c.name.clone(),
        redirect_uris: c.redirect_uris.clone(),
        post_logout_redirect_uris: c.post_logout_redirect_uris.clone(),
        grant_types: c.grant_types.clone(),
        scopes: c.scopes.clone(),
        auth_method: c.auth_method,
        application_type: c.application_type,
        jwks: c.jwks.clone(),
        jwks_uri: c.jwks_uri.clone(),
        access_token_format: c.access_token_format,
        links: c.links.clone(),
        allowed_origins: c.allowed_origins.clone(),
    };
    if let Some(name) = patch.client_name {
        new.name = name.trim().to_owned();
    }
    if let Some(v) = patch.redirect_uris {
        new.redirect_uris = v;
    }
    if let Some(v) = patch.post_logout_redirect_uris {
        new.post_logout_redirect_uris = v;
    }
    if let Some(v) = patch.grant_types {
        new.grant_types = grant_types(&v)?;
    }
    if let Some(v) = patch.scope {
        new.scopes = scopes(&v)?;
    }
    if let Some(v) = patch.allowed_origins {
        new.allowed_origins = v;
    }
    for (value, slot) in [
        (patch.logo_uri, &mut new.links.logo_uri),
        (patch.policy_uri, &mut new.links.policy_uri),
        (patch.tos_uri, &mut new.links.tos_uri),
    ] {
        if let Some(v) = value {
            *slot = link(Some(v));
        }
    }
    new.validate().map_err(metadata_error)?;
    let changed: Vec<&str> = [
        ("client_name", new.name != c.name),
        ("redirect_uris", new.redirect_uris != c.redirect_uris),
        (
            "post_logout_redirect_uris",
            new.post_logout_redirect_uris != c.post_logout_redirect_uris,
        ),
        ("grant_types", new.grant_types != c.grant_types),
        ("scope", new.scopes != c.scopes),
        ("logo_uri", new.links.logo_uri != c.links.logo_uri),
        ("policy_uri", new.links.policy_uri != c.links.policy_uri),
        ("tos_uri", new.links.tos_uri != c.links.tos_uri),
        ("allowed_origins", new.allowed_origins != c.allowed_origins),
    ]
    .into_iter()
    .filter_map(|(field, differs)| differs.then_some(field))
    .collect();
    ops.store
        .update_client(
            client_id,
            &new,
            ops.now,
            &ops.audit("client.update", client_id)
                .detail(json!({"changed": changed})),
        )
        .await?
        .ok_or(AdminError::NotFound("client"))
}

/// Issues a new secret (answered once); the previous one stops working at once.
pub async fn rotate_secret(ops: Ops<'_>, client_id: &str) -> AdminResult<String> {
    let c = find(ops, client_id).await?;
    if c.secret_hash.is_none() {
        return Err(AdminError::invalid(format!(
            "this client authenticates with {}, not a secret",
            c.auth_method
        )));
    }
    let client_secret = secret::new_secret();
    if !ops
        .store
        .set_client_secret(
            client_id,
            &secret::hash_secret(&client_secret),
            ops.now,
            &ops.audit("client.rotate_secret", client_id),
        )
        .await?
    {
        return Err(AdminError::NotFound("client"));
    }
    Ok(client_secret)
}

/// Deletes a client and revokes every grant it holds.
pub async fn delete(ops: Ops<'_>, client_id: &str) -> AdminResult<()> {
    if ops
        .store
        .delete_client(client_id, ops.now, &ops.audit("client.delete", client_id))
        .await?
    {
        Ok(())
    } else {
        Err(AdminError::NotFound("client"))
    }
}

/// The live grants of a client.
pub fn of_client(client_id: &str) -> GrantFilter<'_> {
    GrantFilter {
        client_id: Some(client_id),
        ..GrantFilter::default()
    }
}

/// The live grants a user gave.
pub fn of_user(user_id: &str) -> GrantFilter<'_> {
    GrantFilter {
        user_id: Some(user_id),
        ..GrantFilter::default()
    }
}

/// The live grants `filter` names.
pub async fn grants(ops: Ops<'_>, filter: GrantFilter<'_>) -> AdminResult<Vec<Grant>> {
    Ok(ops.store.list_grants(filter).await?)
}

/// Revokes the live grants `filter` names, and the tokens issued from them, audited
/// against `target`; how many. Naming one grant that is not live is
/// [`AdminError::NotFound`].
pub async fn revoke_grants(
    ops: Ops<'_>,
    filter: GrantFilter<'_>,
    target: &str,
) -> AdminResult<u64> {
    let one = filter.grant_id.is_some();
    let count = ops
        .store
        .revoke_grants(filter, ops.now, &ops.audit("grant.revoke", target))
        .await?;
    if one && count == 0 {
        return Err(AdminError::NotFound("live grant"));
    }
    Ok(count)
}
