//! `gatehouse user` and `gatehouse admin`: end users and administrators, named by username.

use clap::{Args, Subcommand};
use gatehouse_admin::ops::clients;
use gatehouse_admin::ops::users::{self, UserInput};
use gatehouse_core::User;
use serde_json::json;

use super::{CliError, Session, print};

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user; the password is read from the first line of standard input.
    Create(NewUser),
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
    /// List a user's live browser sessions.
    Sessions {
        username: String,
        #[arg(long)]
        json: bool,
    },
    /// End a user's browser sessions: all of them, or the one `--sid` names.
    EndSessions {
        username: String,
        #[arg(long)]
        sid: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Revoke every grant a user gave, and the tokens issued from them.
    RevokeGrants {
        username: String,
        #[arg(long)]
        json: bool,
    },
    /// End every session of a user and revoke every grant they gave, in one step.
    SignOutEverywhere {
        username: String,
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
pub enum AdminCommand {
    /// Create a user with the role `admin`; the password is read from standard input.
    Create(NewUser),
}

/// A new user, as `user create` and `admin create` take it.
#[derive(Debug, Args)]
pub struct NewUser {
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
}

fn user_json(u: &User) -> serde_json::Value {
    json!({"id": u.id, "username": u.username, "email": u.email, "name": u.name, "disabled": u.disabled})
}

/// Creates a user holding `roles`, whose password is read from standard input.
async fn create(s: &Session<'_>, new: NewUser, roles: Vec<String>) -> Result<(), CliError> {
    let password = s.read_password()?;
    let json = new.json;
    let input = UserInput {
        username: new.username,
        password,
        email: new.email,
        name: new.name,
        roles: roles.clone(),
    };
    let user = users::create(s.ops(), input).await?;
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

pub async fn run_user(s: &Session<'_>, cmd: UserCommand) -> Result<(), CliError> {
    let ops = s.ops();
    match cmd {
        UserCommand::Create(new) => create(s, new, vec![]).await,
        UserCommand::Show { username, json } => {
            let u = users::find_by_username(ops, &username).await?;
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
            let u = users::find_by_username(ops, &username).await?;
            users::set_disabled(ops, &u.id, true).await?;
            print(
                json,
                json!({"username": username, "disabled": true}),
                format!("disabled user {username}; its sessions and grants are revoked\n"),
            )
        }
        UserCommand::Enable { username, json } => {
            let u = users::find_by_username(ops, &username).await?;
            users::set_disabled(ops, &u.id, false).await?;
            print(
                json,
                json!({"username": username, "disabled": false}),
                format!("enabled user {username}\n"),
            )
        }
        UserCommand::SetPassword { username, json, .. } => {
            let u = users::find_by_username(ops, &username).await?;
            users::set_password(ops, &u.id, s.read_password()?).await?;
            print(
                json,
                json!({"username": username, "password_changed": true}),
                format!(
                    "set a new password for {username}; its sessions ended and its grants are revoked\n"
                ),
            )
        }
        UserCommand::Sessions { username, json } => {
            let u = users::find_by_username(ops, &username).await?;
            let sessions = users::sessions(ops, &u.id).await?;
            let rows: Vec<_> = sessions
                .iter()
                .map(|x| {
                    json!({"sid": x.sid, "auth_time": x.auth_time, "created_at": x.created_at,
                           "expires_at": x.expires_at})
                })
                .collect();
            let human = sessions
                .iter()
                .map(|x| {
                    format!(
                        "{}\tsince {}\texpires {}\n",
                        x.sid, x.created_at, x.expires_at
                    )
                })
                .collect();
            print(json, json!(rows), human)
        }
        UserCommand::EndSessions {
            username,
            sid,
            json,
        } => {
            let u = users::find_by_username(ops, &username).await?;
            let count = users::end_sessions(ops, &u.id, sid.as_deref()).await?;
            print(
                json,
                json!({"username": username, "sessions_ended": count}),
                format!("ended {count} session(s) of {username}\n"),
            )
        }
        UserCommand::RevokeGrants { username, json } => {
            let u = users::find_by_username(ops, &username).await?;
            let count = clients::revoke_grants(ops, clients::of_user(&u.id), &u.id).await?;
            print(
                json,
                json!({"username": username, "grants_revoked": count}),
                format!("revoked {count} grant(s) {username} gave\n"),
            )
        }
        UserCommand::SignOutEverywhere { username, json } => {
            let u = users::find_by_username(ops, &username).await?;
            let out = users::sign_out_everywhere(ops, &u.id).await?;
            print(
                json,
                json!({"username": username, "sessions_ended": out.sessions_ended,
                       "grants_revoked": out.grants_revoked}),
                format!(
                    "signed {username} out everywhere: {} session(s) ended, {} grant(s) revoked\n",
                    out.sessions_ended, out.grants_revoked
                ),
            )
        }
        UserCommand::Delete { username, json } => {
            let u = users::find_by_username(ops, &username).await?;
            users::delete(ops, &u.id).await?;
            print(
                json,
                json!({"username": username, "deleted": true}),
                format!("deleted user {username}\n"),
            )
        }
        UserCommand::List { json } => {
            let users = s.store.list_users().await?;
            let value = json!(users.iter().map(user_json).collect::<Vec<_>>());
            let human = users
                .iter()
                .map(|u| {
                    format!(
                        "{}\t{}\t{}\n",
                        u.id,
                        u.username,
                        u.email.as_deref().unwrap_or("-")
                    )
                })
                .collect();
            print(json, value, human)
        }
    }
}

pub async fn run_admin(s: &Session<'_>, cmd: AdminCommand) -> Result<(), CliError> {
    match cmd {
        AdminCommand::Create(new) => {
            let roles = vec![gatehouse_core::access::ADMIN_ROLE.to_owned()];
            create(s, new, roles).await
        }
    }
}
