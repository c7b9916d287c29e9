//! `gatehouse resource`: the APIs access tokens are issued for (RFC 8707).

use clap::Subcommand;
use gatehouse_storage::{Store, StoreError};
use serde_json::json;

use super::{CliError, cli_audit, print};

#[derive(Debug, Subcommand)]
pub enum ResourceCommand {
    /// Register an API: tokens asked for with `resource=IDENTIFIER`, or for one of its
    /// scopes, carry IDENTIFIER as their audience and only its scopes.
    Create {
        /// An https URI (http on loopback) without query or fragment.
        identifier: String,
        #[arg(long)]
        name: String,
        /// A scope the API accepts (repeatable; at least one).
        #[arg(long = "scope", required = true)]
        scopes: Vec<String>,
        /// Lifetime of its access tokens in seconds, when shorter than the default.
        #[arg(long)]
        token_ttl: Option<i64>,
        #[arg(long)]
        json: bool,
    },
    /// List the APIs (the built-in admin API first).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Remove an API; tokens already issued for it live until they expire.
    Delete {
        identifier: String,
        #[arg(long)]
        json: bool,
    },
}

/// The CLI's view of the admin API as a resource (the server builds the same).
fn admin_resource(issuer: &str) -> gatehouse_core::Resource {
    gatehouse_core::Resource {
        identifier: format!("{issuer}/admin/api"),
        name: "Gatehouse admin API".into(),
        scopes: gatehouse_core::Scopes::from_names([gatehouse_core::access::ADMIN_SCOPE]),
        access_token_ttl: None,
        created_at: 0,
        updated_at: 0,
    }
}

pub async fn run_resource(
    store: &Store,
    issuer: &str,
    cmd: ResourceCommand,
    now: i64,
) -> Result<(), CliError> {
    let view = |r: &gatehouse_core::Resource| {
        json!({"identifier": r.identifier, "name": r.name, "scopes": r.scopes.to_string(),
               "access_token_ttl": r.access_token_ttl})
    };
    match cmd {
        ResourceCommand::Create {
            identifier,
            name,
            scopes,
            token_ttl,
            json,
        } => {
            let resource = gatehouse_core::Resource {
                identifier: identifier.clone(),
                name,
                scopes: gatehouse_core::Scopes::parse(&scopes.join(" "))
                    .map_err(|e| CliError::Usage(e.to_string()))?,
                access_token_ttl: token_ttl,
                created_at: now,
                updated_at: now,
            };
            let admin = admin_resource(issuer);
            if resource.identifier == admin.identifier {
                return Err(CliError::Usage("the admin API is built in".into()));
            }
            let mut others = store.list_resources().await?;
            others.push(admin);
            resource
                .check(issuer, &others)
                .map_err(|p| CliError::Usage(p.to_string()))?;
            store
                .create_resource(
                    &resource,
                    &cli_audit("resource.create", &identifier)
                        .detail(json!({"scopes": resource.scopes.to_string()})),
                )
                .await
                .map_err(|e| match e {
                    StoreError::Conflict(_) => {
                        CliError::Usage(format!("the API {identifier} is registered already"))
                    }
                    other => other.into(),
                })?;
            print(
                json,
                view(&resource),
                format!(
                    "registered {identifier}: tokens for it carry aud={identifier} and the scopes {}\n",
                    resource.scopes
                ),
            )
        }
        ResourceCommand::List { json } => {
            let mut all = vec![admin_resource(issuer)];
            all.extend(store.list_resources().await?);
            let human = all
                .iter()
                .map(|r| format!("{}\t{}\t{}\n", r.identifier, r.scopes, r.name))
                .collect();
            print(json, json!(all.iter().map(view).collect::<Vec<_>>()), human)
        }
        ResourceCommand::Delete { identifier, json } => {
            if !store
                .delete_resource(&identifier, &cli_audit("resource.delete", &identifier), now)
                .await?
            {
                return Err(CliError::Usage(format!("no API {identifier:?}")));
            }
            print(
                json,
                json!({"deleted": identifier}),
                format!("removed {identifier}\n"),
            )
        }
    }
}
