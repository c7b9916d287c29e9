//! Roles (with permissions; held by users and clients) and groups (of users).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::routing::{delete, get, post, put};
use gatehouse_core::access::{ADMIN_ROLE, valid_name};
use gatehouse_core::{Group, Role, SubjectKind};
use gatehouse_storage::Membership;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{ApiError, ApiResult, JsonBody, Route, schema};
use crate::AdminState;
use crate::auth::Admin;

#[derive(Debug, Serialize, JsonSchema)]
pub struct RoleView {
    pub name: String,
    pub description: String,
    pub permissions: Vec<String>,
    pub created_at: i64,
    /// Who holds the role (shown when one role is read).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub holders: Option<Vec<Holder>>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Holder {
    /// `user` or `client`.
    pub kind: String,
    pub id: String,
}

impl From<Role> for RoleView {
    fn from(r: Role) -> Self {
        Self {
            name: r.name,
            description: r.description,
            permissions: r.permissions,
            created_at: r.created_at,
            holders: None,
        }
    }
}

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

#[derive(Debug, Serialize, JsonSchema)]
pub struct GroupView {
    pub name: String,
    pub description: String,
    pub created_at: i64,
    /// Member user ids (shown when one group is read).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub members: Option<Vec<String>>,
}

impl From<Group> for GroupView {
    fn from(g: Group) -> Self {
        Self {
            name: g.name,
            description: g.description,
            created_at: g.created_at,
            members: None,
        }
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupInput {
    pub name: String,
    #[serde(default)]
    pub description: String,
}

/// Whether a membership now holds.
#[derive(Debug, Serialize, JsonSchema)]
pub struct MembershipView {
    pub member: bool,
}

pub(super) fn routes() -> Vec<Route> {
    vec![
        Route {
            response: Some(schema::<Vec<RoleView>>),
            ..Route::op(
                Method::GET,
                "/roles",
                "listRoles",
                "List roles",
                "roles",
                get(list_roles),
            )
        },
        Route {
            request: Some(schema::<RoleInput>),
            status: StatusCode::CREATED,
            response: Some(schema::<RoleView>),
            ..Route::op(
                Method::POST,
                "/roles",
                "createRole",
                "Create a role",
                "roles",
                post(create_role),
            )
        },
        Route {
            response: Some(schema::<RoleView>),
            ..Route::op(
                Method::GET,
                "/roles/{role}",
                "getRole",
                "Read a role and who holds it",
                "roles",
                get(read_role),
            )
        },
        Route {
            request: Some(schema::<RoleUpdate>),
            response: Some(schema::<RoleView>),
            ..Route::op(
                Method::PATCH,
                "/roles/{role}",
                "updateRole",
                "Change a role's description or permissions",
                "roles",
                axum::routing::patch(update_role),
            )
        },
        Route {
            status: StatusCode::NO_CONTENT,
            response: None,
            ..Route::op(
                Method::DELETE,
                "/roles/{role}",
                "deleteRole",
                "Delete a role (not admin); whoever held it no longer does",
                "roles",
                delete(delete_role),
            )
        },
        Route {
            response: Some(schema::<MembershipView>),
            ..Route::op(
                Method::PUT,
                "/roles/{role}/users/{user_id}",
                "assignRoleToUser",
                "Give a role to a user",
                "roles",
                put(assign_user),
            )
        },
        Route {
            response: Some(schema::<MembershipView>),
            ..Route::op(
                Method::DELETE,
                "/roles/{role}/users/{user_id}",
                "unassignRoleFromUser",
                "Take a role away from a user",
                "roles",
                delete(unassign_user),
            )
        },
        Route {
            response: Some(schema::<MembershipView>),
            ..Route::op(
                Method::PUT,
                "/roles/{role}/clients/{client_id}",
                "assignRoleToClient",
                "Give a role to a client (carried by its client-credentials tokens)",
                "roles",
                put(assign_client),
            )
        },
        Route {
            response: Some(schema::<MembershipView>),
            ..Route::op(
                Method::DELETE,
                "/roles/{role}/clients/{client_id}",
                "unassignRoleFromClient",
                "Take a role away from a client",
                "roles",
                delete(unassign_client),
            )
        },
        Route {
            response: Some(schema::<Vec<GroupView>>),
            ..Route::op(
                Method::GET,
                "/groups",
                "listGroups",
                "List groups",
                "groups",
                get(list_groups),
            )
        },
        Route {
            request: Some(schema::<GroupInput>),
            status: StatusCode::CREATED,
            response: Some(schema::<GroupView>),
            ..Route::op(
                Method::POST,
                "/groups",
                "createGroup",
                "Create a group",
                "groups",
                post(create_group),
            )
        },
        Route {
            response: Some(schema::<GroupView>),
            ..Route::op(
                Method::GET,
                "/groups/{group}",
                "getGroup",
                "Read a group and its members",
                "groups",
                get(read_group),
            )
        },
        Route {
            status: StatusCode::NO_CONTENT,
            response: None,
            ..Route::op(
                Method::DELETE,
                "/groups/{group}",
                "deleteGroup",
                "Delete a group",
                "groups",
                delete(delete_group),
            )
        },
        Route {
            response: Some(schema::<MembershipView>),
            ..Route::op(
                Method::PUT,
                "/groups/{group}/members/{user_id}",
                "addGroupMember",
                "Add a user to a group",
                "groups",
                put(add_member),
            )
        },
        Route {
            response: Some(schema::<MembershipView>),
            ..Route::op(
                Method::DELETE,
                "/groups/{group}/members/{user_id}",
                "removeGroupMember",
                "Remove a user from a group",
                "groups",
                delete(remove_member),
            )
        },
    ]
}

fn check_name(what: &str, name: &str) -> ApiResult<()> {
    if valid_name(name) {
        Ok(())
    } else {
        Err(ApiError::invalid(&format!(
            "{what} names are 1 to 64 characters of A-Z a-z 0-9 . _ : - beginning with a letter or digit"
        )))
    }
}

fn check_description(d: &str) -> ApiResult<()> {
    if !gatehouse_core::is_plain_text(d, 500) {
        return Err(ApiError::invalid(
            "description: at most 500 bytes, no control characters",
        ));
    }
    Ok(())
}

fn check_permissions(p: &[String]) -> ApiResult<()> {
    if p.len() > 100 {
        return Err(ApiError::invalid("at most 100 permissions"));
    }
    p.iter().try_for_each(|p| check_name("permission", p))
}

pub(crate) async fn create_role_for(
    state: &AdminState,
    admin: &Admin,
    input: RoleInput,
) -> ApiResult<Role> {
    check_name("role", &input.name)?;
    check_description(&input.description)?;
    check_permissions(&input.permissions)?;
    let role = Role {
        name: input.name,
        description: input.description,
        permissions: input.permissions,
        created_at: state.oidc().now(),
    };
    Ok(state
        .oidc()
        .store
        .create_role(
            &role,
            &admin
                .audit("role.create", &role.name)
                .detail(json!({"permissions": role.permissions})),
        )
        .await?)
}

pub(crate) async fn delete_role_for(
    state: &AdminState,
    admin: &Admin,
    name: &str,
) -> ApiResult<()> {
    if name == ADMIN_ROLE {
        return Err(ApiError::invalid(
            "the role admin is built in and cannot be deleted",
        ));
    }
    if !state
        .oidc()
        .store
        .delete_role(name, &admin.audit("role.delete", name), state.oidc().now())
        .await?
    {
        return Err(ApiError::not_found("role"));
    }
    Ok(())
}

/// Gives or takes a role or group membership; answers whether it now holds.
pub(crate) async fn set_role(
    state: &AdminState,
    admin: &Admin,
    role: &str,
    kind: SubjectKind,
    id: &str,
    hold: bool,
) -> ApiResult<MembershipView> {
    let store = &state.oidc().store;
    let now = state.oidc().now();
    let detail = json!({"kind": kind.as_str(), "id": id});
    if hold {
        let audit = admin.audit("role.assign", role).detail(detail);
        membership(
            store.assign_role(role, kind, id, &audit, now).await?,
            "role",
        )
    } else {
        if kind == SubjectKind::User && role == ADMIN_ROLE {
            super::users::guard_admin_change(admin, id, "take the admin role from")?;
        }
        let audit = admin.audit("role.unassign", role).detail(detail);
        store.unassign_role(role, kind, id, &audit, now).await?;
        Ok(MembershipView { member: false })
    }
}

pub(crate) async fn set_member(
    state: &AdminState,
    admin: &Admin,
    group: &str,
    user_id: &str,
    member: bool,
) -> ApiResult<MembershipView> {
    let store = &state.oidc().store;
    let now = state.oidc().now();
    let detail = json!({"user": user_id});
    if member {
        let audit = admin.audit("group.add", group).detail(detail);
        membership(
            store.add_group_member(group, user_id, &audit, now).await?,
            "group",
        )
    } else {
        let audit = admin.audit("group.remove", group).detail(detail);
        store
            .remove_group_member(group, user_id, &audit, now)
            .await?;
        Ok(MembershipView { member: false })
    }
}

fn membership(m: Membership, what: &str) -> ApiResult<MembershipView> {
    match m {
        Membership::Added | Membership::AlreadyThere => Ok(MembershipView { member: true }),
        Membership::NoSuchSet => Err(ApiError::not_found(what)),
        Membership::NoSuchSubject => Err(ApiError::not_found("user or client")),
    }
}

async fn list_roles(State(state): State<AdminState>) -> ApiResult<Json<Vec<RoleView>>> {
    let roles = state.oidc().store.list_roles().await?;
    Ok(Json(roles.into_iter().map(RoleView::from).collect()))
}

async fn create_role(
    State(state): State<AdminState>,
    admin: Admin,
    JsonBody(input): JsonBody<RoleInput>,
) -> ApiResult<(StatusCode, Json<RoleView>)> {
    let role = create_role_for(&state, &admin, input).await?;
    Ok((StatusCode::CREATED, Json(role.into())))
}

async fn read_role(
    State(state): State<AdminState>,
    Path(name): Path<String>,
) -> ApiResult<Json<RoleView>> {
    let store = &state.oidc().store;
    let role = store
        .find_role(&name)
        .await?
        .ok_or_else(|| ApiError::not_found("role"))?;
    let holders = store.role_holders(&name).await?;
    let mut view = RoleView::from(role);
    view.holders = Some(
        holders
            .into_iter()
            .map(|(k, id)| Holder {
                kind: k.as_str().to_owned(),
                id,
            })
            .collect(),
    );
    Ok(Json(view))
}

async fn update_role(
    State(state): State<AdminState>,
    admin: Admin,
    Path(name): Path<String>,
    JsonBody(input): JsonBody<RoleUpdate>,
) -> ApiResult<Json<RoleView>> {
    Ok(Json(
        update_role_for(&state, &admin, &name, input).await?.into(),
    ))
}

/// Changes a role's description or permissions; shared by the API and the console.
pub(crate) async fn update_role_for(
    state: &AdminState,
    admin: &Admin,
    name: &str,
    input: RoleUpdate,
) -> ApiResult<Role> {
    let store = &state.oidc().store;
    let mut role = store
        .find_role(name)
        .await?
        .ok_or_else(|| ApiError::not_found("role"))?;
    if let Some(d) = input.description {
        check_description(&d)?;
        role.description = d;
    }
    if let Some(p) = input.permissions {
        check_permissions(&p)?;
        role.permissions = p;
    }
    let audit = admin
        .audit("role.update", name)
        .detail(json!({"permissions": role.permissions}));
    if !store.update_role(&role, &audit, state.oidc().now()).await? {
        return Err(ApiError::not_found("role"));
    }
    Ok(role)
}

async fn delete_role(
    State(state): State<AdminState>,
    admin: Admin,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    delete_role_for(&state, &admin, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn assign_user(
    State(state): State<AdminState>,
    admin: Admin,
    Path((role, id)): Path<(String, String)>,
) -> ApiResult<Json<MembershipView>> {
    Ok(Json(
        set_role(&state, &admin, &role, SubjectKind::User, &id, true).await?,
    ))
}

async fn unassign_user(
    State(state): State<AdminState>,
    admin: Admin,
    Path((role, id)): Path<(String, String)>,
) -> ApiResult<Json<MembershipView>> {
    Ok(Json(
        set_role(&state, &admin, &role, SubjectKind::User, &id, false).await?,
    ))
}

async fn assign_client(
    State(state): State<AdminState>,
    admin: Admin,
    Path((role, id)): Path<(String, String)>,
) -> ApiResult<Json<MembershipView>> {
    Ok(Json(
        set_role(&state, &admin, &role, SubjectKind::Client, &id, true).await?,
    ))
}

async fn unassign_client(
    State(state): State<AdminState>,
    admin: Admin,
    Path((role, id)): Path<(String, String)>,
) -> ApiResult<Json<MembershipView>> {
    Ok(Json(
        set_role(&state, &admin, &role, SubjectKind::Client, &id, false).await?,
    ))
}

async fn list_groups(State(state): State<AdminState>) -> ApiResult<Json<Vec<GroupView>>> {
    let groups = state.oidc().store.list_groups().await?;
    Ok(Json(groups.into_iter().map(GroupView::from).collect()))
}

pub(crate) async fn create_group_for(
    state: &AdminState,
    admin: &Admin,
    input: GroupInput,
) -> ApiResult<Group> {
    check_name("group", &input.name)?;
    check_description(&input.description)?;
    let group = Group {
        name: input.name,
        description: input.description,
        created_at: state.oidc().now(),
    };
    Ok(state
        .oidc()
        .store
        .create_group(&group, &admin.audit("group.create", &group.name))
        .await?)
}

async fn create_group(
    State(state): State<AdminState>,
    admin: Admin,
    JsonBody(input): JsonBody<GroupInput>,
) -> ApiResult<(StatusCode, Json<GroupView>)> {
    let group = create_group_for(&state, &admin, input).await?;
    Ok((StatusCode::CREATED, Json(group.into())))
}

async fn read_group(
    State(state): State<AdminState>,
    Path(name): Path<String>,
) -> ApiResult<Json<GroupView>> {
    let store = &state.oidc().store;
    let group = store
        .find_group(&name)
        .await?
        .ok_or_else(|| ApiError::not_found("group"))?;
    let mut view = GroupView::from(group);
    view.members = Some(store.group_members(&name).await?);
    Ok(Json(view))
}

pub(crate) async fn delete_group_for(
    state: &AdminState,
    admin: &Admin,
    name: &str,
) -> ApiResult<()> {
    if !state
        .oidc()
        .store
        .delete_group(name, &admin.audit("group.delete", name), state.oidc().now())
        .await?
    {
        return Err(ApiError::not_found("group"));
    }
    Ok(())
}

async fn delete_group(
    State(state): State<AdminState>,
    admin: Admin,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    delete_group_for(&state, &admin, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn add_member(
    State(state): State<AdminState>,
    admin: Admin,
    Path((group, user_id)): Path<(String, String)>,
) -> ApiResult<Json<MembershipView>> {
    Ok(Json(
        set_member(&state, &admin, &group, &user_id, true).await?,
    ))
}

async fn remove_member(
    State(state): State<AdminState>,
    admin: Admin,
    Path((group, user_id)): Path<(String, String)>,
) -> ApiResult<Json<MembershipView>> {
    Ok(Json(
        set_member(&state, &admin, &group, &user_id, false).await?,
    ))
}
