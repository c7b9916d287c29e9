//! `gatehouse resource`: the APIs access tokens are issued for (RFC 8707).

use clap::Subcommand;
use gatehouse_admin::ops::resources::{self, ResourceInput, ResourceUpdate};
use gatehouse_core::Resource;
use serde_json::json;

use super::{CliError, Session, print};

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
    /// Change an API; each option given replaces that field.
    Update {
        identifier: String,
        #[arg(long)]
        name: Option<String>,
        /// A scope the API accepts (repeatable; replaces the list).
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// Lifetime of its access tokens in seconds; 0 removes the override.
        #[arg(long)]
        token_ttl: Option<i64>,
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

fn view(r: &Resource) -> serde_json::Value {
    json!({"identifier": r.identifier, "name": r.name, "scopes": r.scopes.to_string(),
           "access_token_ttl": r.access_token_ttl})
}

pub async fn run_resource(s: &Session<'_>, cmd: ResourceCommand) -> Result<(), CliError> {
    let admin_api = Resource::admin_api(&s.config.issuer, Some(s.config.admin_token_ttl));
    match cmd {
        ResourceCommand::Create {
            identifier,
            name,
            scopes,
            token_ttl,
            json,
        } => {
            let input = ResourceInput {
                identifier,
                name,
                scopes,
                access_token_ttl: token_ttl,
            };
            let r = resources::create(s.ops(), &admin_api, input).await?;
            print(
                json,
                view(&r),
                format!(
                    "registered {}: tokens for it carry aud={} and the scopes {}\n",
                    r.identifier, r.identifier, r.scopes
                ),
            )
        }
        ResourceCommand::List { json } => {
            let all = resources::list(s.ops(), &admin_api).await?;
            let human = all
                .iter()
                .map(|r| format!("{}\t{}\t{}\n", r.identifier, r.scopes, r.name))
                .collect();
            print(json, json!(all.iter().map(view).collect::<Vec<_>>()), human)
        }
        ResourceCommand::Update {
            identifier,
            name,
            scopes,
            token_ttl,
            json,
        } => {
            let input = ResourceUpdate {
                name,
                scopes: (!scopes.is_empty()).then_some(scopes),
                access_token_ttl: token_ttl,
            };
            let r = resources::update(s.ops(), &admin_api, &identifier, input).await?;
            print(json, view(&r), format!("updated {}\n", r.identifier))
        }
        ResourceCommand::Delete { identifier, json } => {
            resources::delete(s.ops(), &identifier).await?;
            print(
                json,
                json!({"deleted": identifier}),
                format!("removed {identifier}\n"),
            )
        }
    }
}
