//! `gatehouse keys`: the shared signing key ring.

use clap::Subcommand;
use gatehouse_storage::Store;
use serde_json::json;

use super::{CliError, cli_audit, print};

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// List the signing keys in the keys directory.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Add a new key for RS256 or ES256; it signs after the next start, and older keys stay
    /// published so the tokens they signed keep verifying.
    Rotate {
        #[arg(long)]
        alg: String,
        #[arg(long)]
        json: bool,
    },
}

pub async fn run_keys(
    store: &Store,
    config: &crate::Config,
    cmd: KeysCommand,
    now: i64,
) -> Result<(), CliError> {
    use gatehouse_oidc::Alg;
    let keys_err = |e: gatehouse_oidc::keys::KeyError| CliError::Usage(e.to_string());
    match cmd {
        // Reads the ring as stored: never creates a key, never needs the private parts.
        KeysCommand::List { json } => {
            let keys = store.list_signing_keys().await?;
            let mut rows = Vec::new();
            let mut human = String::new();
            for k in &keys {
                let signing = k.state == gatehouse_storage::KeyState::Active;
                rows.push(
                    json!({"kid": k.kid, "alg": k.alg, "state": k.state.as_str(),
                                 "created_at": k.created_at, "activates_at": k.activates_at,
                                 "remove_at": k.remove_at, "signing": signing}),
                );
                human.push_str(&format!(
                    "{}\t{}\t{}\t{}\n",
                    k.alg,
                    k.kid,
                    k.created_at,
                    k.state.as_str()
                ));
            }
            if keys.is_empty() {
                human =
                    "no signing keys yet: the server generates them at its first start\n".into();
            }
            print(json, json!(rows), human)
        }
        KeysCommand::Rotate { alg, json } => {
            let alg = Alg::parse(&alg)
                .ok_or_else(|| CliError::Usage("--alg must be RS256 or ES256".into()))?;
            let (ring, _) = crate::open_ring(
                config,
                store,
                std::sync::Arc::new(gatehouse_core::SystemClock),
            )
            .await
            .map_err(|e| CliError::Usage(e.to_string()))?;
            let kid = ring
                .rotate(alg, &cli_audit("key.rotate", alg.as_str()))
                .await
                .map_err(keys_err)?;
            let activates = now + ring.settings().lead_secs;
            print(
                json,
                json!({"kid": kid, "alg": alg.as_str(), "activates_at": activates}),
                format!(
                    "new {} key {kid}: published now, signing on every node from {activates} (Unix time); older keys stay published until what they signed has expired\n",
                    alg.as_str()
                ),
            )
        }
    }
}
