//! The command line: `serve` (the default), `migrate`, and the administrative commands.
//! Readable output by default, JSON with `--json`; errors are one line on stderr and a
//! non-zero exit.
//!
//! The administrative commands mirror the admin API (`gatehouse_admin::api`), one file per
//! resource, and like it they are thin adapters over the operations of
//! `gatehouse_admin::ops`: they read arguments, call the operation as `cli:<account>`, and
//! print the answer.

mod access;
mod clients;
mod resources;
mod system;
mod users;

pub use access::{GroupCommand, Holder, RoleCommand, run_group, run_role};
pub use clients::{ClientCommand, ClientCreate, ClientUpdate, run_client};
pub use resources::{ResourceCommand, run_resource};
pub use system::{
    AuditArgs, KeysCommand, RegistrationTokenCommand, run_audit, run_keys, run_registration_token,
};
pub use users::{AdminCommand, UserCommand, run_admin, run_user};

use std::io::{BufRead, Write};
use std::path::PathBuf;

use clap::{Parser, Subcommand};
use gatehouse_admin::ops::{AdminError, Ops};
use gatehouse_core::Actor;
use gatehouse_storage::{Store, StoreError};

use crate::Config;
use crate::config::RawConfig;

#[derive(Debug, Parser)]
#[command(
    name = "gatehouse",
    version,
    about = "An OAuth 2.0 and OpenID Connect authorization server"
)]
pub struct Cli {
    /// A TOML configuration file; environment variables and flags override it.
    #[arg(long, global = true, env = "GATEHOUSE_CONFIG")]
    pub config: Option<PathBuf>,
    /// The issuer URL, from which every URL the server emits is built.
    #[arg(long, global = true, env = "GATEHOUSE_ISSUER")]
    pub issuer: Option<String>,
    /// Address to listen on (default: derived from the issuer).
    #[arg(long, global = true, env = "GATEHOUSE_LISTEN")]
    pub listen: Option<String>,
    /// sqlite://PATH or postgres://USER:PASSWORD@HOST/DB (default: sqlite://gatehouse.db).
    #[arg(long, global = true, env = "GATEHOUSE_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Directory of signing keys, generated at first start (default: keys).
    #[arg(long, global = true, env = "GATEHOUSE_KEYS_DIR")]
    pub keys_dir: Option<PathBuf>,
    /// Access token lifetime in seconds (default 900).
    #[arg(long, global = true, env = "GATEHOUSE_ACCESS_TOKEN_TTL")]
    pub access_token_ttl: Option<i64>,
    /// ID token lifetime in seconds (default 3600).
    #[arg(long, global = true, env = "GATEHOUSE_ID_TOKEN_TTL")]
    pub id_token_ttl: Option<i64>,
    /// Signed-in session lifetime in seconds (default 43200).
    #[arg(long, global = true, env = "GATEHOUSE_SESSION_TTL")]
    pub session_ttl: Option<i64>,
    /// Refresh token idle lifetime in seconds (default 1209600, 14 days).
    #[arg(long, global = true, env = "GATEHOUSE_REFRESH_TOKEN_IDLE_TTL")]
    pub refresh_token_idle_ttl: Option<i64>,
    /// Refresh token absolute lifetime in seconds (default 7776000, 90 days).
    #[arg(long, global = true, env = "GATEHOUSE_REFRESH_TOKEN_ABSOLUTE_TTL")]
    pub refresh_token_absolute_ttl: Option<i64>,
    /// Let anyone register clients at /register without an initial access token.
    #[arg(long, global = true, env = "GATEHOUSE_OPEN_REGISTRATION")]
    pub open_registration: Option<bool>,
    /// Let people create their own accounts at /signup (off by default).
    #[arg(long, global = true, env = "GATEHOUSE_SIGNUP")]
    pub signup: Option<bool>,
    /// A reverse proxy whose X-Forwarded-For names the client (repeat, or comma-separate).
    #[arg(
        long = "trusted-proxy",
        global = true,
        env = "GATEHOUSE_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    pub trusted_proxies: Vec<String>,
    /// The key-encryption key that seals signing keys in the database (32 bytes, base64url).
    /// Every node must have the same one. Default: generated into the keys folder.
    #[arg(
        long,
        global = true,
        env = "GATEHOUSE_KEY_ENCRYPTION_KEY",
        hide_env_values = true
    )]
    pub key_encryption_key: Option<String>,
    /// A file holding the key-encryption key.
    #[arg(long, global = true, env = "GATEHOUSE_KEY_ENCRYPTION_KEY_FILE")]
    pub key_encryption_key_file: Option<PathBuf>,
    /// How often each node reloads the shared key ring, seconds (1 to 300; default 30).
    #[arg(long, global = true, env = "GATEHOUSE_KEY_RELOAD_INTERVAL")]
    pub key_reload_interval: Option<i64>,
    /// How long a rotated key is published before it signs, seconds (default 300).
    #[arg(long, global = true, env = "GATEHOUSE_KEY_ROTATION_LEAD_TIME")]
    pub key_rotation_lead_time: Option<i64>,
    /// Rotate each signing key when it is this old, seconds (default: by hand only).
    #[arg(long, global = true, env = "GATEHOUSE_KEY_ROTATION_INTERVAL")]
    pub key_rotation_interval: Option<i64>,
    /// Lifetime in seconds of access tokens for the admin API (1 to 300; default 300).
    #[arg(long, global = true, env = "GATEHOUSE_ADMIN_TOKEN_TTL")]
    pub admin_token_ttl: Option<i64>,
    /// A scope dynamically registered clients may ask for (repeat, or comma-separate;
    /// default: openid profile email roles groups offline_access).
    #[arg(
        long = "registration-scope",
        global = true,
        env = "GATEHOUSE_REGISTRATION_SCOPES",
        value_delimiter = ','
    )]
    pub registration_scopes: Vec<String>,
    /// A grant type dynamically registered clients may ask for (repeat, or comma-separate;
    /// default: authorization_code, refresh_token).
    #[arg(
        long = "registration-grant-type",
        global = true,
        env = "GATEHOUSE_REGISTRATION_GRANT_TYPES",
        value_delimiter = ','
    )]
    pub registration_grant_types: Vec<String>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

impl Cli {
    /// File values, overridden by environment variables and flags (clap merges those two).
    pub fn raw_config(&self) -> Result<RawConfig, crate::ConfigError> {
        let file = match &self.config {
            Some(p) => RawConfig::from_file(p)?,
            None => RawConfig::default(),
        };
        Ok(file.overlay(RawConfig {
            issuer: self.issuer.clone(),
            listen: self.listen.clone(),
            database_url: self.database_url.clone(),
            keys_dir: self.keys_dir.clone(),
            access_token_ttl: self.access_token_ttl,
            id_token_ttl: self.id_token_ttl,
            session_ttl: self.session_ttl,
            refresh_token_idle_ttl: self.refresh_token_idle_ttl,
            refresh_token_absolute_ttl: self.refresh_token_absolute_ttl,
            open_registration: self.open_registration,
            signup: self.signup,
            trusted_proxies: (!self.trusted_proxies.is_empty())
                .then(|| self.trusted_proxies.clone()),
            admin_token_ttl: self.admin_token_ttl,
            key_encryption_key: self.key_encryption_key.clone(),
            key_encryption_key_file: self.key_encryption_key_file.clone(),
            key_reload_interval: self.key_reload_interval,
            key_rotation_lead_time: self.key_rotation_lead_time,
            key_rotation_interval: self.key_rotation_interval,
            registration_scopes: (!self.registration_scopes.is_empty())
                .then(|| self.registration_scopes.clone()),
            registration_grant_types: (!self.registration_grant_types.is_empty())
                .then(|| self.registration_grant_types.clone()),
        }))
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (the default).
    Serve,
    /// Bring the database schema up to date and exit.
    Migrate,
    /// Manage end users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage registered clients.
    #[command(subcommand)]
    Client(ClientCommand),
    /// List or rotate signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Initial access tokens for dynamic client registration (RFC 7591).
    #[command(subcommand)]
    RegistrationToken(RegistrationTokenCommand),
    /// Administrators: users holding the role `admin`.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Roles, held by users and clients and released in the `roles` claim.
    #[command(subcommand)]
    Role(RoleCommand),
    /// Groups of users, released in the `groups` claim.
    #[command(subcommand)]
    Group(GroupCommand),
    /// APIs (resource servers) that access tokens are issued for (RFC 8707).
    #[command(subcommand)]
    Resource(ResourceCommand),
    /// Read the audit log, newest first.
    Audit(AuditArgs),
}

/// A command's failure, printed as one line.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Admin(#[from] AdminError),
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// What an administrative command runs with: the store and configuration, who runs it
/// (the operating-system account, as the audit log names it), and the time.
pub struct Session<'a> {
    pub store: &'a Store,
    pub config: &'a Config,
    pub actor: Actor,
    pub now: i64,
    /// What standard input holds, when it is not the process's own (tests).
    pub input: Option<String>,
}

impl<'a> Session<'a> {
    pub fn new(store: &'a Store, config: &'a Config, now: i64) -> Self {
        let account = std::env::var("USER")
            .or_else(|_| std::env::var("LOGNAME"))
            .unwrap_or_else(|_| "unknown".into());
        Self {
            store,
            config,
            actor: Actor::cli(&account),
            now,
            input: None,
        }
    }

    /// Reads a password from the first line of standard input (passwords never go in
    /// argv).
    fn read_password(&self) -> Result<String, CliError> {
        let mut line = String::new();
        match &self.input {
            Some(text) => line = text.lines().next().unwrap_or("").to_owned(),
            None => {
                std::io::stdin().lock().read_line(&mut line)?;
            }
        }
        let password = line.strip_suffix('\n').unwrap_or(&line);
        Ok(password.strip_suffix('\r').unwrap_or(password).to_owned())
    }

    pub fn ops(&self) -> Ops<'_> {
        Ops::new(self.store, &self.actor, self.now)
    }
}

/// Parses a command line (`args` without the program name), as `gatehouse` would.
pub fn parse_command<'a>(args: impl IntoIterator<Item = &'a str>) -> Result<Command, String> {
    let cli =
        Cli::try_parse_from(std::iter::once("gatehouse").chain(args)).map_err(|e| e.to_string())?;
    cli.command.ok_or_else(|| "no command".to_owned())
}

/// Runs an administrative command (every command but `serve` and `migrate`).
pub async fn run(s: &Session<'_>, command: Command) -> Result<(), CliError> {
    match command {
        Command::Serve | Command::Migrate => Err(CliError::Usage(
            "serve and migrate are not administrative commands".into(),
        )),
        Command::User(cmd) => run_user(s, cmd).await,
        Command::Admin(cmd) => run_admin(s, cmd).await,
        Command::Client(cmd) => run_client(s, cmd).await,
        Command::Keys(cmd) => run_keys(s, cmd).await,
        Command::RegistrationToken(cmd) => run_registration_token(s, cmd).await,
        Command::Role(cmd) => run_role(s, cmd).await,
        Command::Group(cmd) => run_group(s, cmd).await,
        Command::Resource(cmd) => run_resource(s, cmd).await,
        Command::Audit(args) => run_audit(s, args).await,
    }
}

pub(crate) fn print(
    json_out: bool,
    value: serde_json::Value,
    human: String,
) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    if json_out {
        writeln!(out, "{value}")?;
    } else {
        write!(out, "{human}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Identifiers issued before client ids became alphanumeric may begin with `-`; the
    /// commands that name a client must still take them.
    #[test]
    fn client_ids_beginning_with_a_hyphen_are_positional_values() {
        for args in [
            &["gatehouse", "client", "show", "-Ab_c", "--json"][..],
            &["gatehouse", "client", "rotate-secret", "-Ab_c"][..],
            &["gatehouse", "client", "delete", "-Ab_c"][..],
            &["gatehouse", "client", "update", "-Ab_c", "--name", "x"][..],
        ] {
            let cli = Cli::try_parse_from(args).unwrap();
            let id = match cli.command {
                Some(Command::Client(
                    ClientCommand::Show { client_id, .. }
                    | ClientCommand::RotateSecret { client_id, .. }
                    | ClientCommand::Delete { client_id, .. },
                )) => client_id,
                Some(Command::Client(ClientCommand::Update(update))) => update.client_id,
                other => panic!("{args:?} parsed as {other:?}"),
            };
            assert_eq!(id, "-Ab_c");
        }
    }
}
