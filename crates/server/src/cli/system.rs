//! `gatehouse keys` (the shared signing key ring) and `gatehouse registration-token`
//! (initial access tokens for dynamic client registration).

use clap::{Args, Subcommand};
use gatehouse_admin::ops::listing;
use gatehouse_admin::ops::system::{self, RegistrationTokenInput};
use gatehouse_storage::KeyState;
use serde_json::json;

use super::{CliError, Session, print};

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// List the signing keys of the shared key ring (in the database), with their state.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Add a new key for RS256 or ES256 to the shared ring: published at once, signing on
    /// every node after the lead time; older keys stay published until what they signed
    /// has expired.
    Rotate {
        #[arg(long)]
        alg: String,
        #[arg(long)]
        json: bool,
    },
}

/// Which entries of the audit log to show, newest first.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Case-insensitive text to look for (actor, action, target, address).
    #[arg(long)]
    pub search: Option<String>,
    /// Entries to skip (default 0).
    #[arg(long)]
    pub offset: Option<u64>,
    /// Entries to show, 1 to 200 (default 50).
    #[arg(long)]
    pub limit: Option<u64>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum RegistrationTokenCommand {
    /// Create a token that lets a developer register clients at /register; shown once.
    Create {
        /// Lifetime in seconds (default 86400, one day).
        #[arg(long, default_value_t = 86_400)]
        ttl: i64,
        /// How many registrations it allows (default: unlimited within its lifetime).
        #[arg(long)]
        uses: Option<i64>,
        /// A scope clients registered with it may ask for beyond the configured policy
        /// (repeatable).
        #[arg(long = "allow-scope")]
        allow_scopes: Vec<String>,
        /// A grant type clients registered with it may ask for beyond the configured
        /// policy (repeatable), e.g. client_credentials.
        #[arg(long = "allow-grant-type")]
        allow_grant_types: Vec<String>,
        #[arg(long)]
        json: bool,
    },
    /// List the tokens still usable (by id: the SHA-256 of the token, never the token).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Withdraw a token by its id; clients registered with it stay.
    Delete {
        id: String,
        #[arg(long)]
        json: bool,
    },
}

pub async fn run_keys(s: &Session<'_>, cmd: KeysCommand) -> Result<(), CliError> {
    match cmd {
        // Reads the ring as stored: never creates a key, never needs the private parts.
        KeysCommand::List { json } => {
            let keys = system::keys(s.ops()).await?;
            let rows: Vec<_> = keys
                .iter()
                .map(|k| {
                    json!({"kid": k.kid, "alg": k.alg, "state": k.state.as_str(),
                           "created_at": k.created_at, "activates_at": k.activates_at,
                           "remove_at": k.remove_at, "signing": k.state == KeyState::Active})
                })
                .collect();
            let human = if keys.is_empty() {
                "no signing keys yet: the server generates them at its first start\n".into()
            } else {
                keys.iter()
                    .map(|k| {
                        format!(
                            "{}\t{}\t{}\t{}\n",
                            k.alg,
                            k.kid,
                            k.created_at,
                            k.state.as_str()
                        )
                    })
                    .collect()
            };
            print(json, json!(rows), human)
        }
        KeysCommand::Rotate { alg, json } => {
            // The command's one moment: the key activates `lead` after the time it was made.
            let clock = std::sync::Arc::new(gatehouse_core::ManualClock::new(s.now));
            let (ring, _) = crate::open_ring(s.config, s.store, clock)
                .await
                .map_err(|e| CliError::Usage(e.to_string()))?;
            let kid = system::rotate_key(s.ops(), &ring, &alg).await?;
            let alg = alg.to_ascii_uppercase();
            let activates = s.now + ring.settings().lead_secs;
            print(
                json,
                json!({"kid": kid, "alg": alg, "activates_at": activates}),
                format!(
                    "new {alg} key {kid}: published now, signing on every node from {activates} (Unix time); older keys stay published until what they signed has expired\n"
                ),
            )
        }
    }
}

pub async fn run_registration_token(
    s: &Session<'_>,
    cmd: RegistrationTokenCommand,
) -> Result<(), CliError> {
    match cmd {
        RegistrationTokenCommand::Create {
            ttl,
            uses,
            allow_scopes,
            allow_grant_types,
            json,
        } => {
            let input = RegistrationTokenInput {
                ttl: Some(ttl),
                uses,
                allow_scopes,
                allow_grant_types,
            };
            let t = system::create_registration_token(s.ops(), input).await?;
            let (allow_scopes, allow_grant_types) = system::allowance_lists(t.allows.as_ref());
            print(
                json,
                json!({"registration_token": t.token, "id": t.id, "expires_at": t.expires_at,
                       "uses": t.uses, "allow_scopes": allow_scopes,
                       "allow_grant_types": allow_grant_types}),
                format!(
                    "registration token: {}\n\nSend it as \"Authorization: Bearer ...\" to POST /register. Shown only this once.\n",
                    t.token
                ),
            )
        }
        RegistrationTokenCommand::List { json } => {
            let tokens = system::registration_tokens(s.ops()).await?;
            let rows: Vec<_> = tokens
                .iter()
                .map(|t| {
                    let (allow_scopes, allow_grant_types) =
                        system::allowance_lists(t.allows.as_ref());
                    json!({"id": t.token_hash, "created_at": t.created_at,
                           "expires_at": t.expires_at, "uses_left": t.uses_left,
                           "allow_scopes": allow_scopes, "allow_grant_types": allow_grant_types})
                })
                .collect();
            let human = tokens
                .iter()
                .map(|t| {
                    let uses = t.uses_left.map_or("unlimited".into(), |u| u.to_string());
                    format!(
                        "{}\texpires {}\tuses left {uses}\n",
                        t.token_hash, t.expires_at
                    )
                })
                .collect();
            print(json, json!(rows), human)
        }
        RegistrationTokenCommand::Delete { id, json } => {
            system::delete_registration_token(s.ops(), &id).await?;
            print(
                json,
                json!({"id": id, "deleted": true}),
                format!("withdrew registration token {id}\n"),
            )
        }
    }
}

pub async fn run_audit(s: &Session<'_>, args: AuditArgs) -> Result<(), CliError> {
    let q = listing(args.search, args.offset, args.limit)?;
    let page = system::audit_log(s.ops(), &q).await?;
    let rows: Vec<_> = page
        .items
        .iter()
        .map(|e| {
            json!({"id": e.id, "at": e.at, "actor": e.actor, "action": e.action,
                   "target": e.target, "detail": e.detail, "address": e.address})
        })
        .collect();
    let human = page
        .items
        .iter()
        .map(|e| {
            format!(
                "{}\t{}\t{}\t{}\t{}\n",
                e.at,
                e.actor,
                e.action,
                e.target,
                e.address.as_deref().unwrap_or("-")
            )
        })
        .collect();
    let value = json!({"items": rows, "total": page.total, "offset": q.offset, "limit": q.limit});
    print(args.json, value, human)
}
