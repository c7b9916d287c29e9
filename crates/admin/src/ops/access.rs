//! Roles (with permissions; held by users and clients) and groups (of users).

use gatehouse_core::access::{ADMIN_ROLE, valid_name};
use gatehouse_core::{Group, Role, SubjectKind};
use gatehouse_storage::Membership;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use super::{AdminError, AdminResult, Ops, check_text};

/// The most permissions one role may grant.
pub const MAX_PERMISSIONS: usize = 100;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleInput {
    /// 1 to 64 characters of `A-Z a-z 0-9 . _ : -`, beginning with a letter or digit.
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub permissions: Vec<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleUpdate {
    pub description: Option<String>,
    pub permissions: Option<Vec<String>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupInput {
    pub name: String,
    #[serde(default)]
    pub description: String,
}

fn check_name(what: &str, name: &str) -> AdminResult<()> {
    if valid_name(name) {
        Ok(())
    } else {
        Err(AdminError::invalid(format!(
            "{what} names are 1 to 64 characters of A-Z a-z 0-9 . _ : - beginning with a letter or digit"
        )))
    }
}

fn check_permissions(p: &[String]) -> AdminResult<()> {
    if p.len() > MAX_PERMISSIONS {
        return Err(AdminError::invalid(format!(
            "at most {MAX_PERMISSIONS} permissions"
        )));
    }
    p.iter().try_for_each(|p| check_name("permission", p))
}

pub async fn find_role(ops: Ops<'_>, name: &str) -> AdminResult<Role> {
    ops.store
        .find_role(name)
        .await?
        .ok_or(AdminError::NotFound("role"))
}

/// A role and who holds it.
pub async fn read_role(
    ops: Ops<'_>,
    name: &str,
) -> AdminResult<(Role, Vec<(SubjectKind, String)>)> {
    let role = find_role(ops, name).await?;
    Ok((role, ops.store.role_holders(name).await?))
}

pub async fn create_role(ops: Ops<'_>, input: RoleInput) -> AdminResult<Role> {
    check_name("role", &input.name)?;
    check_text("description", &input.description, 500)?;
    check_permissions(&input.permissions)?;
    let role = Role {
        name: input.name,
        description: input.description,
        permissions: input.permissions,
        created_at: ops.now,
    };
    let audit = ops
        .audit("role.create", &role.name)
        .detail(json!({"permissions": role.permissions}));
    Ok(ops.store.create_role(&role, &audit).await?)
}

/// Changes a role's description or permissions.
pub async fn update_role(ops: Ops<'_>, name: &str, input: RoleUpdate) -> AdminResult<Role> {
    let mut role = find_role(ops, name).await?;
    if let Some(d) = input.description {
        check_text("description", &d, 500)?;
        role.description = d;
    }
    if let Some(p) = input.permissions {
        check_permissions(&p)?;
        role.permissions = p;
    }
    let audit = ops
        .audit("role.update", name)
        .detail(json!({"permissions": role.permissions}));
    if !ops.store.update_role(&role, &audit, ops.now).await? {
        return Err(AdminError::NotFound("role"));
    }
    Ok(role)
}

/// Deletes a role; whoever held it no longer does. (The store refuses the built-in
/// `admin`.)
pub async fn delete_role(ops: Ops<'_>, name: &str) -> AdminResult<()> {
    if !ops
        .store
        .delete_role(name, &ops.audit("role.delete", name), ops.now)
        .await?
    {
        return Err(AdminError::NotFound("role"));
    }
    Ok(())
}

fn membership(m: Membership, what: &'static str) -> AdminResult<bool> {
    match m {
        Membership::Added | Membership::AlreadyThere => Ok(true),
        Membership::NoSuchSet => Err(AdminError::NotFound(what)),
        Membership::NoSuchSubject => Err(AdminError::NotFound("user or client")),
    }
}

/// Gives (`hold`) or takes a role; answers whether it is now held.
pub async fn set_role(
    ops: Ops<'_>,
    role: &str,
    kind: SubjectKind,
    id: &str,
    hold: bool,
) -> AdminResult<bool> {
    let detail = json!({"kind": kind.as_str(), "id": id});
    if hold {
        let audit = ops.audit("role.assign", role).detail(detail);
        membership(
            ops.store
                .assign_role(role, kind, id, &audit, ops.now)
                .await?,
            "role",
        )
    } else {
        if kind == SubjectKind::User && role == ADMIN_ROLE {
            super::users::guard_self(ops, id, "take the admin role from")?;
        }
        let audit = ops.audit("role.unassign", role).detail(detail);
        ops.store
            .unassign_role(role, kind, id, &audit, ops.now)
            .await?;
        Ok(false)
    }
}

pub async fn find_group(ops: Ops<'_>, name: &str) -> AdminResult<Group> {
    ops.store
        .find_group(name)
        .await?
        .ok_or(AdminError::NotFound("group"))
}

/// A group and its members' user ids.
pub async fn read_group(ops: Ops<'_>, name: &str) -> AdminResult<(Group, Vec<String>)> {
    let group = find_group(ops, name).await?;
    Ok((group, ops.store.group_members(name).await?))
}

pub async fn create_group(ops: Ops<'_>, input: GroupInput) -> AdminResult<Group> {
    check_name("group", &input.name)?;
    check_text("description", &input.description, 500)?;
    let group = Group {
        name: input.name,
        description: input.description,
        created_at: ops.now,
    };
    let audit = ops.audit("group.create", &group.name);
    Ok(ops.store.create_group(&group, &audit).await?)
}

pub async fn delete_group(ops: Ops<'_>, name: &str) -> AdminResult<()> {
    if !ops
        .store
        .delete_group(name, &ops.audit("group.delete", name), ops.now)
        .await?
    {
        return Err(AdminError::NotFound("group"));
    }
    Ok(())
}

/// Adds (`member`) or removes a user; answers whether they are now a member.
pub async fn set_member(
    ops: Ops<'_>,
    group: &str,
    user_id: &str,
    member: bool,
) -> AdminResult<bool> {
    let detail = json!({"user": user_id});
    if member {
        let audit = ops.audit("group.add", group).detail(detail);
        membership(
            ops.store
                .add_group_member(group, user_id, &audit, ops.now)
                .await?,
            "group",
        )
    } else {
        let audit = ops.audit("group.remove", group).detail(detail);
        ops.store
            .remove_group_member(group, user_id, &audit, ops.now)
            .await?;
        Ok(false)
    }
}
