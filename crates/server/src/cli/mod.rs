//! The command line: `serve` (the default), `migrate`, and bootstrap commands for users and
//! clients. Readable output by default, JSON with `--json`; errors are one line on stderr
//! and a non-zero exit.

mod keys;
mod resources;

pub use keys::{KeysCommand, run_keys};
pub use resources::{ResourceCommand, run_resource};

use std::io::{BufRead, Write};
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use gatehouse_core::{
    ApplicationType, Audit, ClientAuthMethod, GrantType, Group, NewClient, Role, Scopes,
    SubjectKind, secret,
};
use gatehouse_storage::{Membership, NewUser, Store, StoreError};
use serde_json::json;

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
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create a user with the role `admin`; the password is read from standard input.
    Create {
        username: String,
        /// Read the password from standard input (required: passwords never go in argv).
        #[arg(long, required = true)]
        password_stdin: bool,
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

/// Who a role is given to: a user (by username) or a client (by id).
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct Holder {
    #[arg(long)]
    pub user: Option<String>,
    #[arg(long, allow_hyphen_values = true)]
    pub client: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum RoleCommand {
    /// Create a role.
    Create {
        name: String,
        #[arg(long, default_value = "")]
        description: String,
        /// A permission the role grants (repeatable).
        #[arg(long = "permission")]
        permissions: Vec<String>,
        #[arg(long)]
        json: bool,
    },
    /// List roles.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Show a role and who holds it.
    Show {
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// Delete a role; whoever held it no longer does.
    Delete {
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// Give a role to a user or a client.
    Assign {
        name: String,
        #[command(flatten)]
        holder: Holder,
        #[arg(long)]
        json: bool,
    },
    /// Take a role away from a user or a client.
    Unassign {
        name: String,
        #[command(flatten)]
        holder: Holder,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum GroupCommand {
    /// Create a group.
    Create {
        name: String,
        #[arg(long, default_value = "")]
        description: String,
        #[arg(long)]
        json: bool,
    },
    /// List groups.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Show a group and its members.
    Show {
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// Delete a group.
    Delete {
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// Add a user to a group.
    Add {
        name: String,
        username: String,
        #[arg(long)]
        json: bool,
    },
    /// Remove a user from a group.
    Remove {
        name: String,
        username: String,
        #[arg(long)]
        json: bool,
    },
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
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user; the password is read from the first line of standard input.
    Create {
        username: String,
        /// Read the password from standard input (required: passwords never go in argv).
        #[arg(long, required = true)]
        password_stdin: bool,
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// List users.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Show one user.
    Show {
        username: String,
        #[arg(long)]
        json: bool,
    },
    /// Disable an account: its sessions end and its grants are revoked.
    Disable {
        username: String,
        #[arg(long)]
        json: bool,
    },
    /// Enable a disabled account.
    Enable {
        username: String,
        #[arg(long)]
        json: bool,
    },
    /// Set a new password, read from standard input; the user's sessions end and grants are revoked.
    SetPassword {
        username: String,
        #[arg(long, required = true)]
        password_stdin: bool,
        #[arg(long)]
        json: bool,
    },
    /// Delete an account, its sessions and consents, and revoke its grants.
    Delete {
        username: String,
        #[arg(long)]
        json: bool,
    },
}

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
    #[arg(long)]
    pub json: bool,
}

/// A command's failure, printed as one line.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Grant types the token endpoint implements today.
const IMPLEMENTED_GRANTS: [GrantType; 4] = [
    GrantType::AuthorizationCode,
    GrantType::RefreshToken,
    GrantType::ClientCredentials,
    GrantType::DeviceCode,
];

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

/// Reads a password from the first line of standard input and hashes it, under the
/// policy every new password meets (see `password::check_new_password`).
async fn read_password_hash(username: &str) -> Result<String, CliError> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let password = line.strip_suffix('\n').unwrap_or(&line);
    let password = password.strip_suffix('\r').unwrap_or(password).to_owned();
    gatehouse_authorize::password::check_new_password(&password, username)
        .map_err(|e| CliError::Usage(format!("password on standard input: {e}")))?;
    gatehouse_authorize::password::hash_async(password)
        .await
        .map_err(|e| CliError::Usage(e.to_string()))
}

async fn user_named(store: &Store, username: &str) -> Result<gatehouse_core::User, CliError> {
    store
        .find_user_by_username(username)
        .await?
        .ok_or_else(|| CliError::Usage(format!("no user {username:?}")))
}

fn user_json(u: &gatehouse_core::User) -> serde_json::Value {
    json!({"id": u.id, "username": u.username, "email": u.email, "name": u.name, "disabled": u.disabled})
}

fn client_json(c: &gatehouse_core::Client) -> serde_json::Value {
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
    })
}

/// Creates a user whose password is read from standard input, holding `roles`.
async fn create_user(
    store: &Store,
    username: &str,
    email: Option<String>,
    name: Option<String>,
    roles: &[&str],
    json: bool,
    now: i64,
) -> Result<(), CliError> {
    if !gatehouse_core::user::valid_username(username) {
        return Err(CliError::Usage(
            "username must be 1 to 64 characters without spaces".into(),
        ));
    }
    let hash = read_password_hash(username).await?;
    let id = secret::random_token(16);
    let user = store
        .create_user(
            NewUser {
                id: &id,
                username,
                password_hash: &hash,
                email: email.as_deref(),
                name: name.as_deref(),
                roles,
            },
            now,
            &cli_audit("user.create", &id).detail(json!({"username": username, "roles": roles})),
        )
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => CliError::Usage(format!("user {username:?} already exists")),
            other => other.into(),
        })?;
    let with_roles = if roles.is_empty() {
        String::new()
    } else {
        format!(" with role {}", roles.join(", "))
    };
    print(
        json,
        json!({"id": user.id, "username": user.username, "email": user.email, "name": user.name, "roles": roles}),
        format!(
            "created user {} (id {}){with_roles}\n",
            user.username, user.id
        ),
    )
}

/// The audit log's "who" for a change made at the command line: the operating-system
/// account that ran it.
pub(crate) fn cli_audit(action: &str, target: &str) -> Audit {
    let who = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".into());
    Audit::new(format!("cli:{who}"), action, target)
}

pub async fn run_user(store: &Store, cmd: UserCommand, now: i64) -> Result<(), CliError> {
    match cmd {
        UserCommand::Create {
            username,
            password_stdin: _,
            email,
            name,
            json,
        } => create_user(store, &username, email, name, &[], json, now).await,
        UserCommand::Show { username, json } => {
            let u = user_named(store, &username).await?;
            let human = format!(
                "id:       {}\nusername: {}\nemail:    {}\nname:     {}\ndisabled: {}\n",
                u.id,
                u.username,
                u.email.as_deref().unwrap_or("-"),
                u.name.as_deref().unwrap_or("-"),
                u.disabled
            );
            print(json, user_json(&u), human)
        }
        UserCommand::Disable { username, json } => {
            let u = user_named(store, &username).await?;
            store
                .set_user_disabled(&u.id, true, now, &cli_audit("user.disable", &u.id))
                .await?;
            print(
                json,
                json!({"username": username, "disabled": true}),
                format!("disabled user {username}; its sessions and grants are revoked\n"),
            )
        }
        UserCommand::Enable { username, json } => {
            let u = user_named(store, &username).await?;
            store
                .set_user_disabled(&u.id, false, now, &cli_audit("user.enable", &u.id))
                .await?;
            print(
                json,
                json!({"username": username, "disabled": false}),
                format!("enabled user {username}\n"),
            )
        }
        UserCommand::SetPassword { username, json, .. } => {
            let u = user_named(store, &username).await?;
            let hash = read_password_hash(&username).await?;
            store
                .set_user_password(&u.id, &hash, now, &cli_audit("user.set_password", &u.id))
                .await?;
            print(
                json,
                json!({"username": username, "password_changed": true}),
                format!(
                    "set a new password for {username}; its sessions ended and its grants are revoked\n"
                ),
            )
        }
        UserCommand::Delete { username, json } => {
            let u = user_named(store, &username).await?;
            store
                .delete_user(
                    &u.id,
                    now,
                    &cli_audit("user.delete", &u.id).detail(json!({"username": u.username})),
                )
                .await?;
            print(
                json,
                json!({"username": username, "deleted": true}),
                format!("deleted user {username}\n"),
            )
        }
        UserCommand::List { json } => {
            let users = store.list_users().await?;
            let value = json!(users
                .iter()
                .map(|u| json!({"id": u.id, "username": u.username, "email": u.email, "name": u.name, "disabled": u.disabled}))
                .collect::<Vec<_>>());
            let mut human = String::new();
            for u in &users {
                human.push_str(&format!(
                    "{}\t{}\t{}\n",
                    u.id,
                    u.username,
                    u.email.as_deref().unwrap_or("-")
                ));
            }
            print(json, value, human)
        }
    }
}

fn parse_client(c: &ClientCreate) -> Result<NewClient, CliError> {
    let auth_method = match (&c.auth_method, c.public) {
        (Some(m), public) => {
            let m: ClientAuthMethod = m.parse().map_err(CliError::Usage)?;
            if public && m != ClientAuthMethod::None {
                return Err(CliError::Usage("--public means --auth-method none".into()));
            }
            m
        }
        (None, true) => ClientAuthMethod::None,
        (None, false) => ClientAuthMethod::ClientSecretBasic,
    };
    let mut grant_types = Vec::new();
    for g in &c.grant_types {
        let g: GrantType = g.parse().map_err(CliError::Usage)?;
        if !IMPLEMENTED_GRANTS.contains(&g) {
            return Err(CliError::Usage(format!(
                "grant type {g} is not implemented yet"
            )));
        }
        if !grant_types.contains(&g) {
            grant_types.push(g);
        }
    }
    if grant_types.is_empty() {
        grant_types.push(GrantType::AuthorizationCode);
    }
    let scopes =
        Scopes::parse(&c.scopes.join(" ")).map_err(|e| CliError::Usage(format!("--scope: {e}")))?;
    let jwks = match &c.jwks_file {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .map_err(|e| CliError::Usage(format!("--jwks-file {}: {e}", path.display())))?,
        ),
        None => None,
    };
    let new = NewClient {
        jwks,
        jwks_uri: c.jwks_uri.clone(),
        links: Default::default(),
        access_token_format: c.access_token_format.parse().map_err(CliError::Usage)?,
        name: c.name.clone(),
        redirect_uris: c.redirect_uris.clone(),
        post_logout_redirect_uris: c.post_logout_redirect_uris.clone(),
        grant_types,
        scopes,
        auth_method,
        application_type: c
            .application_type
            .parse::<ApplicationType>()
            .map_err(CliError::Usage)?,
    };
    new.validate().map_err(|e| CliError::Usage(e.to_string()))?;
    Ok(new)
}

async fn client_by_id(store: &Store, client_id: &str) -> Result<gatehouse_core::Client, CliError> {
    store
        .find_client(client_id)
        .await?
        .ok_or_else(|| CliError::Usage(format!("no client {client_id:?}")))
}

/// `gatehouse keys list|rotate`: works on the keys directory, which the server reads at start.
/// `audit_store`: where a rotation is recorded (the database of the same configuration).
pub async fn run_registration_token(
    store: &Store,
    cmd: RegistrationTokenCommand,
    now: i64,
) -> Result<(), CliError> {
    match cmd {
        RegistrationTokenCommand::Create {
            ttl,
            uses,
            allow_scopes,
            allow_grant_types,
            json,
        } => {
            if !(1..=31_536_000).contains(&ttl) || uses.is_some_and(|u| u < 1) {
                return Err(CliError::Usage(
                    "--ttl must be 1 to 31536000 seconds and --uses at least 1".into(),
                ));
            }
            let allows = gatehouse_core::client::RegistrationPolicy::allowance(
                &allow_scopes,
                &allow_grant_types,
            )
            .map_err(CliError::Usage)?;
            let token = secret::new_secret();
            let id = secret::hash_secret(&token);
            store
                .create_registration_token(
                    &id,
                    uses,
                    allows.as_ref(),
                    now,
                    now + ttl,
                    &cli_audit("registration_token.create", &id).detail(json!({
                        "expires_at": now + ttl,
                        "uses": uses,
                        "allow_scopes": allow_scopes,
                        "allow_grant_types": allow_grant_types,
                    })),
                )
                .await?;
            print(
                json,
                json!({"registration_token": token, "expires_at": now + ttl, "uses": uses,
                       "allow_scopes": allow_scopes, "allow_grant_types": allow_grant_types}),
                format!(
                    "registration token: {token}\n\nSend it as \"Authorization: Bearer ...\" to POST /register. Shown only this once.\n"
                ),
            )
        }
    }
}

pub async fn run_client(store: &Store, cmd: ClientCommand, now: i64) -> Result<(), CliError> {
    match cmd {
        ClientCommand::Create(c) => {
            let new = parse_client(&c)?;
            let client_id = secret::new_client_id();
            let client_secret = matches!(
                new.auth_method,
                ClientAuthMethod::ClientSecretBasic | ClientAuthMethod::ClientSecretPost
            )
            .then(secret::new_secret);
            let client = store
                .create_client(
                    &client_id,
                    client_secret.as_deref().map(secret::hash_secret),
                    None,
                    &new,
                    now,
                    &cli_audit("client.create", &client_id)
                        .detail(json!({"client_name": new.name})),
                )
                .await?;
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
            print(
                c.json,
                json!({
                    "client_id": client.client_id,
                    "client_secret": client_secret,
                    "client_name": client.name,
                    "redirect_uris": client.redirect_uris,
                    "post_logout_redirect_uris": client.post_logout_redirect_uris,
                    "grant_types": client.grant_types,
                    "token_endpoint_auth_method": client.auth_method,
                    "application_type": client.application_type,
                    "scope": client.scopes.to_string(),
                }),
                human,
            )
        }
        ClientCommand::Show { client_id, json } => {
            let c = client_by_id(store, &client_id).await?;
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
            let c = client_by_id(store, &u.client_id).await?;
            let mut grant_types = Vec::new();
            for g in &u.grant_types {
                let g: GrantType = g.parse().map_err(CliError::Usage)?;
                if !grant_types.contains(&g) {
                    grant_types.push(g);
                }
            }
            let new = NewClient {
                name: u.name.clone().unwrap_or_else(|| c.name.clone()),
                redirect_uris: if u.redirect_uris.is_empty() {
                    c.redirect_uris.clone()
                } else {
                    u.redirect_uris.clone()
                },
                post_logout_redirect_uris: if u.post_logout_redirect_uris.is_empty() {
                    c.post_logout_redirect_uris.clone()
                } else {
                    u.post_logout_redirect_uris.clone()
                },
                grant_types: if grant_types.is_empty() {
                    c.grant_types.clone()
                } else {
                    grant_types
                },
                scopes: if u.scopes.is_empty() {
                    c.scopes.clone()
                } else {
                    Scopes::parse(&u.scopes.join(" "))
                        .map_err(|e| CliError::Usage(format!("--scope: {e}")))?
                },
                auth_method: c.auth_method,
                application_type: c.application_type,
                jwks: c.jwks.clone(),
                jwks_uri: c.jwks_uri.clone(),
                access_token_format: c.access_token_format,
                links: c.links.clone(),
            };
            new.validate().map_err(|e| CliError::Usage(e.to_string()))?;
            let updated = store
                .update_client(
                    &c.client_id,
                    &new,
                    now,
                    &cli_audit("client.update", &c.client_id),
                )
                .await?
                .ok_or_else(|| CliError::Usage(format!("no client {:?}", c.client_id)))?;
            print(
                u.json,
                client_json(&updated),
                format!("updated client {}\n", updated.client_id),
            )
        }
        ClientCommand::RotateSecret { client_id, json } => {
            let c = client_by_id(store, &client_id).await?;
            if c.secret_hash.is_none() {
                return Err(CliError::Usage(format!(
                    "client {client_id} authenticates with {}, not a secret",
                    c.auth_method
                )));
            }
            let new_secret = secret::new_secret();
            store
                .set_client_secret(
                    &client_id,
                    &secret::hash_secret(&new_secret),
                    now,
                    &cli_audit("client.rotate_secret", &client_id),
                )
                .await?;
            print(
                json,
                json!({"client_id": client_id, "client_secret": new_secret}),
                format!(
                    "client_secret: {new_secret}\n\nThe secret is shown only this once; the previous one no longer works.\n"
                ),
            )
        }
        ClientCommand::Delete { client_id, json } => {
            if !store
                .delete_client(&client_id, now, &cli_audit("client.delete", &client_id))
                .await?
            {
                return Err(CliError::Usage(format!("no client {client_id:?}")));
            }
            print(
                json,
                json!({"client_id": client_id, "deleted": true}),
                format!("deleted client {client_id}; its grants are revoked\n"),
            )
        }
        ClientCommand::List { json } => {
            let clients = store.list_clients().await?;
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
            let mut human = String::new();
            for c in &clients {
                human.push_str(&format!(
                    "{}\t{}\t{}\t{}\n",
                    c.client_id,
                    c.name,
                    c.auth_method,
                    c.redirect_uris.join(" ")
                ));
            }
            print(json, value, human)
        }
    }
}

pub async fn run_admin(store: &Store, cmd: AdminCommand, now: i64) -> Result<(), CliError> {
    match cmd {
        AdminCommand::Create {
            username,
            email,
            name,
            json,
            ..
        } => {
            create_user(
                store,
                &username,
                email,
                name,
                &[gatehouse_core::access::ADMIN_ROLE],
                json,
                now,
            )
            .await
        }
    }
}

fn check_name(what: &str, name: &str) -> Result<(), CliError> {
    if gatehouse_core::access::valid_name(name) {
        Ok(())
    } else {
        Err(CliError::Usage(format!(
            "{what} name {name:?}: 1 to 64 characters of A-Z a-z 0-9 . _ : -, starting with a letter or digit"
        )))
    }
}

/// The holder named on the command line: (kind, id, how to print it).
async fn holder(store: &Store, h: &Holder) -> Result<(SubjectKind, String, String), CliError> {
    match (&h.user, &h.client) {
        (Some(username), _) => {
            let u = user_named(store, username).await?;
            Ok((SubjectKind::User, u.id, format!("user {username}")))
        }
        (None, Some(client_id)) => {
            let c = client_by_id(store, client_id).await?;
            Ok((
                SubjectKind::Client,
                c.client_id,
                format!("client {client_id}"),
            ))
        }
        (None, None) => Err(CliError::Usage("name --user or --client".into())),
    }
}

fn membership(outcome: Membership, what: &str, name: &str) -> Result<(), CliError> {
    match outcome {
        Membership::Added | Membership::AlreadyThere => Ok(()),
        Membership::NoSuchSet => Err(CliError::Usage(format!("no {what} {name:?}"))),
        Membership::NoSuchSubject => Err(CliError::Usage("no such user or client".into())),
    }
}

pub async fn run_role(store: &Store, cmd: RoleCommand, now: i64) -> Result<(), CliError> {
    match cmd {
        RoleCommand::Create {
            name,
            description,
            permissions,
            json,
        } => {
            check_name("role", &name)?;
            for p in &permissions {
                check_name("permission", p)?;
            }
            let role = Role {
                name: name.clone(),
                description,
                permissions,
                created_at: now,
            };
            store
                .create_role(&role, &cli_audit("role.create", &name))
                .await
                .map_err(|e| match e {
                    StoreError::Conflict(_) => {
                        CliError::Usage(format!("role {name:?} already exists"))
                    }
                    other => other.into(),
                })?;
            print(
                json,
                json!({"name": role.name, "description": role.description, "permissions": role.permissions}),
                format!("created role {name}\n"),
            )
        }
        RoleCommand::List { json } => {
            let roles = store.list_roles().await?;
            let value = json!(roles
                .iter()
                .map(|r| json!({"name": r.name, "description": r.description, "permissions": r.permissions}))
                .collect::<Vec<_>>());
            let human = roles
                .iter()
                .map(|r| {
                    format!(
                        "{}\t{}\t{}\n",
                        r.name,
                        r.permissions.join(","),
                        r.description
                    )
                })
                .collect();
            print(json, value, human)
        }
        RoleCommand::Show { name, json } => {
            let role = store
                .find_role(&name)
                .await?
                .ok_or_else(|| CliError::Usage(format!("no role {name:?}")))?;
            let holders = store.role_holders(&name).await?;
            let human = format!(
                "name:        {}\ndescription: {}\npermissions: {}\nheld by:     {}\n",
                role.name,
                role.description,
                role.permissions.join(" "),
                holders
                    .iter()
                    .map(|(k, id)| format!("{k}:{id}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            );
            print(
                json,
                json!({
                    "name": role.name,
                    "description": role.description,
                    "permissions": role.permissions,
                    "holders": holders.iter().map(|(k, id)| json!({"kind": k.as_str(), "id": id})).collect::<Vec<_>>(),
                }),
                human,
            )
        }
        RoleCommand::Delete { name, json } => {
            if name == gatehouse_core::access::ADMIN_ROLE {
                return Err(CliError::Usage(
                    "the role admin is built in and cannot be deleted".into(),
                ));
            }
            if !store
                .delete_role(&name, &cli_audit("role.delete", &name), now)
                .await?
            {
                return Err(CliError::Usage(format!("no role {name:?}")));
            }
            print(
                json,
                json!({"name": name, "deleted": true}),
                format!("deleted role {name}\n"),
            )
        }
        RoleCommand::Assign {
            name,
            holder: h,
            json,
        } => {
            let (kind, id, shown) = holder(store, &h).await?;
            let audit =
                cli_audit("role.assign", &name).detail(json!({"kind": kind.as_str(), "id": id}));
            membership(
                store.assign_role(&name, kind, &id, &audit, now).await?,
                "role",
                &name,
            )?;
            print(
                json,
                json!({"role": name, "kind": kind.as_str(), "id": id, "assigned": true}),
                format!("{shown} holds role {name}\n"),
            )
        }
        RoleCommand::Unassign {
            name,
            holder: h,
            json,
        } => {
            let (kind, id, shown) = holder(store, &h).await?;
            let audit =
                cli_audit("role.unassign", &name).detail(json!({"kind": kind.as_str(), "id": id}));
            let removed = store.unassign_role(&name, kind, &id, &audit, now).await?;
            print(
                json,
                json!({"role": name, "kind": kind.as_str(), "id": id, "unassigned": removed}),
                format!("{shown} does not hold role {name}\n"),
            )
        }
    }
}

pub async fn run_group(store: &Store, cmd: GroupCommand, now: i64) -> Result<(), CliError> {
    match cmd {
        GroupCommand::Create {
            name,
            description,
            json,
        } => {
            check_name("group", &name)?;
            let group = Group {
                name: name.clone(),
                description,
                created_at: now,
            };
            store
                .create_group(&group, &cli_audit("group.create", &name))
                .await
                .map_err(|e| match e {
                    StoreError::Conflict(_) => {
                        CliError::Usage(format!("group {name:?} already exists"))
                    }
                    other => other.into(),
                })?;
            print(
                json,
                json!({"name": group.name, "description": group.description}),
                format!("created group {name}\n"),
            )
        }
        GroupCommand::List { json } => {
            let groups = store.list_groups().await?;
            let value = json!(
                groups
                    .iter()
                    .map(|g| json!({"name": g.name, "description": g.description}))
                    .collect::<Vec<_>>()
            );
            let human = groups
                .iter()
                .map(|g| format!("{}\t{}\n", g.name, g.description))
                .collect();
            print(json, value, human)
        }
        GroupCommand::Show { name, json } => {
            let group = store
                .find_group(&name)
                .await?
                .ok_or_else(|| CliError::Usage(format!("no group {name:?}")))?;
            let members = store.group_members(&name).await?;
            print(
                json,
                json!({"name": group.name, "description": group.description, "members": members}),
                format!(
                    "name:        {}\ndescription: {}\nmembers:     {}\n",
                    group.name,
                    group.description,
                    members.join(" ")
                ),
            )
        }
        GroupCommand::Delete { name, json } => {
            if !store
                .delete_group(&name, &cli_audit("group.delete", &name), now)
                .await?
            {
                return Err(CliError::Usage(format!("no group {name:?}")));
            }
            print(
                json,
                json!({"name": name, "deleted": true}),
                format!("deleted group {name}\n"),
            )
        }
        GroupCommand::Add {
            name,
            username,
            json,
        } => {
            let u = user_named(store, &username).await?;
            let audit = cli_audit("group.add", &name).detail(json!({"user": u.id}));
            membership(
                store.add_group_member(&name, &u.id, &audit, now).await?,
                "group",
                &name,
            )?;
            print(
                json,
                json!({"group": name, "username": username, "member": true}),
                format!("{username} is in group {name}\n"),
            )
        }
        GroupCommand::Remove {
            name,
            username,
            json,
        } => {
            let u = user_named(store, &username).await?;
            let audit = cli_audit("group.remove", &name).detail(json!({"user": u.id}));
            let removed = store.remove_group_member(&name, &u.id, &audit, now).await?;
            print(
                json,
                json!({"group": name, "username": username, "removed": removed}),
                format!("{username} is not in group {name}\n"),
            )
        }
    }
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
