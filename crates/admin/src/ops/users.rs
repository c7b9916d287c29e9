//! Users: create, disable, enable, reset the password, delete; their browser sessions.
//! (Their grants are in [`super::clients`], with the grants of clients.)

use gatehouse_core::{BrowserSession, SubjectKind, User, secret};
use gatehouse_storage::NewUser;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use super::{AdminError, AdminResult, Ops, check_text};

/// A user to create. The password follows NIST SP 800-63B: at least 12 characters, any
/// Unicode, not among the most common passwords, not the username.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UserInput {
    pub username: String,
    pub password: String,
    pub email: Option<String>,
    pub name: Option<String>,
    /// Roles to hold from the start (each must exist), e.g. `["admin"]`.
    #[serde(default)]
    pub roles: Vec<String>,
}

/// A user's roles and groups, read with them.
pub struct UserDetail {
    pub user: User,
    pub roles: Vec<String>,
    pub groups: Vec<String>,
}

/// What "sign out everywhere" ended.
#[derive(Debug, serde::Serialize, JsonSchema)]
pub struct SignedOut {
    pub sessions_ended: u64,
    pub grants_revoked: u64,
}

/// Refuses a change that takes administration away from `user_id` (disable, delete, or
/// taking the admin role) when an admin would do it to their own account. (That no change
/// leaves Gatehouse without an enabled admin is the store's rule, checked in the change's
/// own transaction.)
pub(crate) fn guard_self(ops: Ops<'_>, user_id: &str, what: &str) -> AdminResult<()> {
    if ops.actor.is_user(user_id) {
        return Err(AdminError::invalid(format!(
            "an administrator cannot {what} their own account"
        )));
    }
    Ok(())
}

pub async fn find(ops: Ops<'_>, user_id: &str) -> AdminResult<User> {
    ops.store
        .find_user(user_id)
        .await?
        .ok_or(AdminError::NotFound("user"))
}

/// A user named by username (the command line names users this way).
pub async fn find_by_username(ops: Ops<'_>, username: &str) -> AdminResult<User> {
    ops.store
        .find_user_by_username(username)
        .await?
        .ok_or(AdminError::NotFound("user"))
}

pub async fn read(ops: Ops<'_>, user_id: &str) -> AdminResult<UserDetail> {
    let user = find(ops, user_id).await?;
    Ok(UserDetail {
        roles: ops.store.roles_of(SubjectKind::User, user_id).await?,
        groups: ops.store.groups_of(user_id).await?,
        user,
    })
}

/// Checks the password a user is about to get, under the policy every new password meets.
fn check_password(password: &str, username: &str) -> AdminResult<()> {
    gatehouse_core::password::check_new_password(password, username).map_err(AdminError::Invalid)
}

async fn hash(password: String) -> AdminResult<String> {
    gatehouse_authorize::browser::password::hash_async(password)
        .await
        .map_err(AdminError::unavailable)
}

pub async fn create(ops: Ops<'_>, input: UserInput) -> AdminResult<User> {
    let username = input.username.trim();
    if !gatehouse_core::user::valid_username(username) {
        return Err(AdminError::invalid(
            "username must be 1 to 64 characters without spaces",
        ));
    }
    check_password(&input.password, username)?;
    let email = input.email.filter(|e| !e.trim().is_empty());
    if email
        .as_deref()
        .is_some_and(|e| !gatehouse_core::user::valid_email(e))
    {
        return Err(AdminError::invalid("email is not an address"));
    }
    let name = input.name.filter(|n| !n.trim().is_empty());
    if let Some(n) = &name {
        check_text("name", n, 200)?;
    }
    let mut roles: Vec<&str> = input.roles.iter().map(String::as_str).collect();
    roles.sort_unstable();
    roles.dedup();
    let hash = hash(input.password).await?;
    let id = secret::random_token(16);
    let user = ops
        .store
        .create_user(
            NewUser {
                id: &id,
                username,
                password_hash: &hash,
                email: email.as_deref(),
                name: name.as_deref(),
                roles: &roles,
            },
            ops.now,
            &ops.audit("user.create", &id)
                .detail(json!({"username": username, "roles": roles})),
        )
        .await?;
    Ok(user)
}

pub async fn set_disabled(ops: Ops<'_>, user_id: &str, disabled: bool) -> AdminResult<User> {
    let action = if disabled {
        guard_self(ops, user_id, "disable")?;
        "user.disable"
    } else {
        "user.enable"
    };
    if !ops
        .store
        .set_user_disabled(user_id, disabled, ops.now, &ops.audit(action, user_id))
        .await?
    {
        return Err(AdminError::NotFound("user"));
    }
    find(ops, user_id).await
}

/// Sets a new password; the user's sessions end and their grants are revoked.
pub async fn set_password(ops: Ops<'_>, user_id: &str, password: String) -> AdminResult<()> {
    let user = find(ops, user_id).await?;
    check_password(&password, &user.username)?;
    let hash = hash(password).await?;
    if !ops
        .store
        .set_user_password(
            user_id,
            &hash,
            ops.now,
            &ops.audit("user.set_password", user_id),
        )
        .await?
    {
        return Err(AdminError::NotFound("user"));
    }
    Ok(())
}

/// Deletes a user: sessions end, grants are revoked.
pub async fn delete(ops: Ops<'_>, user_id: &str) -> AdminResult<()> {
    let user = find(ops, user_id).await?;
    guard_self(ops, user_id, "delete")?;
    let audit = ops
        .audit("user.delete", user_id)
        .detail(json!({"username": user.username}));
    if !ops.store.delete_user(user_id, ops.now, &audit).await? {
        return Err(AdminError::NotFound("user"));
    }
    Ok(())
}

/// A user's live browser sessions, newest first.
pub async fn sessions(ops: Ops<'_>, user_id: &str) -> AdminResult<Vec<BrowserSession>> {
    find(ops, user_id).await?;
    Ok(ops.store.list_user_sessions(user_id, ops.now).await?)
}

/// Ends one session of a user (`sid`) or all of them; how many ended. Naming a session
/// that is not live is [`AdminError::NotFound`].
pub async fn end_sessions(ops: Ops<'_>, user_id: &str, sid: Option<&str>) -> AdminResult<u64> {
    find(ops, user_id).await?;
    let audit = ops
        .audit("session.end", user_id)
        .detail(json!({"sid": sid}));
    let count = ops
        .store
        .end_user_sessions(user_id, sid, ops.now, &audit)
        .await?;
    if sid.is_some() && count == 0 {
        return Err(AdminError::NotFound("session"));
    }
    Ok(count)
}

/// Ends every session of a user and revokes every grant they gave, in one step.
pub async fn sign_out_everywhere(ops: Ops<'_>, user_id: &str) -> AdminResult<SignedOut> {
    find(ops, user_id).await?;
    let (sessions_ended, grants_revoked) = ops
        .store
        .sign_out_everywhere(
            user_id,
            ops.now,
            &ops.audit("user.sign_out_everywhere", user_id),
        )
        .await?;
    Ok(SignedOut {
        sessions_ended,
        grants_revoked,
    })
}
