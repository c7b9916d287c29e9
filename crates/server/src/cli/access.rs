//! `gatehouse role` and `gatehouse group`: roles held by users and clients, groups of users.

use clap::{Args, Subcommand};
use gatehouse_admin::ops::access::{self, GroupInput, RoleInput, RoleUpdate};
use gatehouse_admin::ops::{clients, users};
use gatehouse_core::SubjectKind;
use serde_json::json;

use super::{CliError, Session, print};

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
    /// Change a role's description or permissions; each option given replaces that field.
    Update {
        name: String,
        #[arg(long)]
        description: Option<String>,
        /// A permission the role grants (repeatable; replaces the list).
        #[arg(long = "permission")]
        permissions: Vec<String>,
        /// Grant no permissions at all.
        #[arg(long, conflicts_with = "permissions")]
        no_permissions: bool,
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

/// The holder named on the command line: (kind, id, how to print it).
async fn holder(s: &Session<'_>, h: &Holder) -> Result<(SubjectKind, String, String), CliError> {
    match (&h.user, &h.client) {
        (Some(username), _) => {
            let u = users::find_by_username(s.ops(), username).await?;
            Ok((SubjectKind::User, u.id, format!("user {username}")))
        }
        (None, Some(client_id)) => {
            let c = clients::find(s.ops(), client_id).await?;
            Ok((
                SubjectKind::Client,
                c.client_id,
                format!("client {client_id}"),
            ))
        }
        (None, None) => Err(CliError::Usage("name --user or --client".into())),
    }
}

pub async fn run_role(s: &Session<'_>, cmd: RoleCommand) -> Result<(), CliError> {
    let ops = s.ops();
    match cmd {
        RoleCommand::Create {
            name,
            description,
            permissions,
            json,
        } => {
            let input = RoleInput {
                name,
                description,
                permissions,
            };
            let role = access::create_role(ops, input).await?;
            print(
                json,
                json!({"name": role.name, "description": role.description, "permissions": role.permissions}),
                format!("created role {}\n", role.name),
            )
        }
        RoleCommand::List { json } => {
            let roles = s.store.list_roles().await?;
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
            let (role, holders) = access::read_role(ops, &name).await?;
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
        RoleCommand::Update {
            name,
            description,
            permissions,
            no_permissions,
            json,
        } => {
            let input = RoleUpdate {
                description,
                permissions: (no_permissions || !permissions.is_empty()).then_some(permissions),
            };
            let role = access::update_role(ops, &name, input).await?;
            print(
                json,
                json!({"name": role.name, "description": role.description, "permissions": role.permissions}),
                format!("updated role {}\n", role.name),
            )
        }
        RoleCommand::Delete { name, json } => {
            access::delete_role(ops, &name).await?;
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
            let (kind, id, shown) = holder(s, &h).await?;
            access::set_role(ops, &name, kind, &id, true).await?;
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
            let (kind, id, shown) = holder(s, &h).await?;
            access::set_role(ops, &name, kind, &id, false).await?;
            print(
                json,
                json!({"role": name, "kind": kind.as_str(), "id": id, "unassigned": true}),
                format!("{shown} does not hold role {name}\n"),
            )
        }
    }
}

pub async fn run_group(s: &Session<'_>, cmd: GroupCommand) -> Result<(), CliError> {
    let ops = s.ops();
    match cmd {
        GroupCommand::Create {
            name,
            description,
            json,
        } => {
            let group = access::create_group(ops, GroupInput { name, description }).await?;
            print(
                json,
                json!({"name": group.name, "description": group.description}),
                format!("created group {}\n", group.name),
            )
        }
        GroupCommand::List { json } => {
            let groups = s.store.list_groups().await?;
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
            let (group, members) = access::read_group(ops, &name).await?;
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
            access::delete_group(ops, &name).await?;
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
            let u = users::find_by_username(ops, &username).await?;
            access::set_member(ops, &name, &u.id, true).await?;
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
            let u = users::find_by_username(ops, &username).await?;
            access::set_member(ops, &name, &u.id, false).await?;
            print(
                json,
                json!({"group": name, "username": username, "removed": true}),
                format!("{username} is not in group {name}\n"),
            )
        }
    }
}
