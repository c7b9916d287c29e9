//! `gatehouse client`: registered clients.

use clap::{Args, Subcommand};
use gatehouse_admin::ops::clients::{self, ClientInput, ClientPatch};
use gatehouse_core::Client;
use serde_json::json;

use super::{CliError, Session, print};

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Register a client. Its secret is printed once and stored only as a hash.
    Create(Box<ClientCreate>),
    /// List registered clients.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Show one client.
    Show {
        /// The client identifier (may begin with `-`).
        #[arg(allow_hyphen_values = true)]
        client_id: String,
        #[arg(long)]
        json: bool,
    },
    /// Change a client's metadata; each option given replaces that field.
    Update(Box<ClientUpdate>),
    /// Issue a new secret (shown once); the old one stops working at once.
    RotateSecret {
        /// The client identifier (may begin with `-`).
        #[arg(allow_hyphen_values = true)]
        client_id: String,
        #[arg(long)]
        json: bool,
    },
    /// Revoke the grants a client holds (all, or the one `--grant` names), and the tokens
    /// issued from them.
    RevokeGrants {
        /// The client identifier (may begin with `-`).
        #[arg(allow_hyphen_values = true)]
        client_id: String,
        #[arg(long)]
        grant: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Delete a client and revoke every grant it holds.
    Delete {
        /// The client identifier (may begin with `-`).
        #[arg(allow_hyphen_values = true)]
        client_id: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct ClientUpdate {
    /// The client identifier (may begin with `-`).
    #[arg(allow_hyphen_values = true)]
    pub client_id: String,
    #[arg(long)]
    pub name: Option<String>,
    #[arg(long = "redirect-uri")]
    pub redirect_uris: Vec<String>,
    #[arg(long = "post-logout-redirect-uri")]
    pub post_logout_redirect_uris: Vec<String>,
    #[arg(long = "grant-type")]
    pub grant_types: Vec<String>,
    #[arg(long = "scope")]
    pub scopes: Vec<String>,
    /// An origin its pages may call from (CORS; repeatable, replaces the list).
    #[arg(long = "allowed-origin")]
    pub allowed_origins: Vec<String>,
    /// Go back to the redirect URIs' origins for CORS.
    #[arg(long, conflicts_with = "allowed_origins")]
    pub no_allowed_origins: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ClientCreate {
    #[arg(long)]
    pub name: String,
    /// A redirect URI, compared exactly; repeat for several.
    #[arg(long = "redirect-uri")]
    pub redirect_uris: Vec<String>,
    /// Where RP-initiated logout may send the user back; repeat for several.
    #[arg(long = "post-logout-redirect-uri")]
    pub post_logout_redirect_uris: Vec<String>,
    /// A public client (no secret, PKCE required): same as --auth-method none.
    #[arg(long)]
    pub public: bool,
    /// Grant types (default: authorization_code); repeat for several.
    #[arg(long = "grant-type")]
    pub grant_types: Vec<String>,
    /// Extra scopes this client may request beyond openid, profile, email, offline_access.
    #[arg(long = "scope")]
    pub scopes: Vec<String>,
    /// client_secret_basic (default), client_secret_post, or none.
    #[arg(long)]
    pub auth_method: Option<String>,
    /// Where the client publishes its public keys (https), for --auth-method private_key_jwt.
    #[arg(long)]
    pub jwks_uri: Option<String>,
    /// jwt (default: signed RFC 9068 access tokens) or opaque (random, introspected).
    #[arg(long, default_value = "jwt")]
    pub access_token_format: String,
    /// A file holding the client's public keys as a JWK Set, for --auth-method private_key_jwt.
    #[arg(long)]
    pub jwks_file: Option<std::path::PathBuf>,
    /// web (default) or native (loopback redirect URIs may use any port).
    #[arg(long, default_value = "web")]
    pub application_type: String,
    /// An origin its pages may call the token side and userinfo from (CORS; repeatable;
    /// default: the origins of its redirect URIs).
    #[arg(long = "allowed-origin")]
    pub allowed_origins: Vec<String>,
    #[arg(long)]
    pub json: bool,
}

fn client_json(c: &Client) -> serde_json::Value {
    json!({
        "client_id": c.client_id,
        "client_name": c.name,
        "redirect_uris": c.redirect_uris,
        "post_logout_redirect_uris": c.post_logout_redirect_uris,
        "grant_types": c.grant_types,
        "token_endpoint_auth_method": c.auth_method,
        "application_type": c.application_type,
        "scope": c.scopes.to_string(),
        "access_token_format": c.access_token_format,
        "jwks_uri": c.jwks_uri,
        "allowed_origins": c.allowed_origins,
    })
}

/// The command line's options as the operation's input (`--public` is `--auth-method
/// none`; `--jwks-file` is read here).
fn input(c: &ClientCreate) -> Result<ClientInput, CliError> {
    let auth_method = match (&c.auth_method, c.public) {
        (Some(m), true) if m != "none" => {
            return Err(CliError::Usage("--public means --auth-method none".into()));
        }
        (Some(m), _) => Some(m.clone()),
        (None, true) => Some("none".to_owned()),
        (None, false) => None,
    };
    let jwks = match &c.jwks_file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| CliError::Usage(format!("--jwks-file {}: {e}", path.display())))?;
            Some(serde_json::from_str(&text).map_err(|e| {
                CliError::Usage(format!("--jwks-file {}: not JSON: {e}", path.display()))
            })?)
        }
        None => None,
    };
    Ok(ClientInput {
        client_name: c.name.clone(),
        redirect_uris: c.redirect_uris.clone(),
        post_logout_redirect_uris: c.post_logout_redirect_uris.clone(),
        grant_types: (!c.grant_types.is_empty()).then(|| c.grant_types.clone()),
        scope: Some(c.scopes.join(" ")),
        token_endpoint_auth_method: auth_method,
        application_type: Some(c.application_type.clone()),
        access_token_format: Some(c.access_token_format.clone()),
        jwks,
        jwks_uri: c.jwks_uri.clone(),
        allowed_origins: c.allowed_origins.clone(),
        ..ClientInput::default()
    })
}

/// Each option given replaces that field; repeatable options replace the whole list.
fn patch(u: &ClientUpdate) -> ClientPatch {
    let list = |v: &Vec<String>| (!v.is_empty()).then(|| v.clone());
    ClientPatch {
        client_name: u.name.clone(),
        redirect_uris: list(&u.redirect_uris),
        post_logout_redirect_uris: list(&u.post_logout_redirect_uris),
        grant_types: list(&u.grant_types),
        scope: (!u.scopes.is_empty()).then(|| u.scopes.join(" ")),
        allowed_origins: (u.no_allowed_origins || !u.allowed_origins.is_empty())
            .then(|| u.allowed_origins.clone()),
        ..ClientPatch::default()
    }
}

pub async fn run_client(s: &Session<'_>, cmd: ClientCommand) -> Result<(), CliError> {
    let ops = s.ops();
    match cmd {
        ClientCommand::Create(c) => {
            let created = clients::create(ops, input(&c)?).await?;
            let (client, client_secret) = (created.client, created.client_secret);
            let mut human = format!(
                "client_id:     {}\nname:          {}\nauth method:   {}\nredirect URIs: {}\n",
                client.client_id,
                client.name,
                client.auth_method,
                client.redirect_uris.join(" ")
            );
            if let Some(s) = &client_secret {
                human.push_str(&format!(
                    "client_secret: {s}\n\nThe secret is shown only this once and stored only as a hash: save it now.\n"
                ));
            }
            let mut value = client_json(&client);
            value["client_secret"] = json!(client_secret);
            print(c.json, value, human)
        }
        ClientCommand::Show { client_id, json } => {
            let c = clients::find(ops, &client_id).await?;
            let human = format!(
                "client_id:     {}\nname:          {}\nauth method:   {}\ngrant types:   {}\nredirect URIs: {}\nscope:         {}\n",
                c.client_id,
                c.name,
                c.auth_method,
                c.grant_types
                    .iter()
                    .map(|g| g.as_str())
                    .collect::<Vec<_>>()
                    .join(" "),
                c.redirect_uris.join(" "),
                c.scopes
            );
            print(json, client_json(&c), human)
        }
        ClientCommand::Update(u) => {
            let updated = clients::update(ops, &u.client_id, patch(&u)).await?;
            print(
                u.json,
                client_json(&updated),
                format!("updated client {}\n", updated.client_id),
            )
        }
        ClientCommand::RotateSecret { client_id, json } => {
            let new_secret = clients::rotate_secret(ops, &client_id).await?;
            print(
                json,
                json!({"client_id": client_id, "client_secret": new_secret}),
                format!(
                    "client_secret: {new_secret}\n\nThe secret is shown only this once; the previous one no longer works.\n"
                ),
            )
        }
        ClientCommand::RevokeGrants {
            client_id,
            grant,
            json,
        } => {
            let filter = gatehouse_storage::GrantFilter {
                client_id: Some(&client_id),
                grant_id: grant.as_deref(),
                ..Default::default()
            };
            let target = grant.as_deref().unwrap_or(&client_id);
            let count = clients::revoke_grants(ops, filter, target).await?;
            print(
                json,
                json!({"client_id": client_id, "grants_revoked": count}),
                format!("revoked {count} grant(s) of client {client_id}\n"),
            )
        }
        ClientCommand::Delete { client_id, json } => {
            clients::delete(ops, &client_id).await?;
            print(
                json,
                json!({"client_id": client_id, "deleted": true}),
                format!("deleted client {client_id}; its grants are revoked\n"),
            )
        }
        ClientCommand::List { json } => {
            let clients = s.store.list_clients().await?;
            let value = json!(
                clients
                    .iter()
                    .map(|c| json!({
                        "client_id": c.client_id,
                        "client_name": c.name,
                        "redirect_uris": c.redirect_uris,
                        "grant_types": c.grant_types,
                        "token_endpoint_auth_method": c.auth_method,
                        "application_type": c.application_type,
                    }))
                    .collect::<Vec<_>>()
            );
            let human = clients
                .iter()
                .map(|c| {
                    format!(
                        "{}\t{}\t{}\t{}\n",
                        c.client_id,
                        c.name,
                        c.auth_method,
                        c.redirect_uris.join(" ")
                    )
                })
                .collect();
            print(json, value, human)
        }
    }
}
