//! Roles (with permissions; held by users and clients) and groups (of users).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::routing::{delete, get, post, put};
use gatehouse_core::{Group, Role, SubjectKind};
use schemars::JsonSchema;
use serde::Serialize;

use super::{ApiResult, JsonBody, Route, schema};
use crate::AdminState;
use crate::auth::Admin;
use crate::ops::access;
pub use crate::ops::access::{GroupInput, RoleInput, RoleUpdate};

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

async fn list_roles(State(state): State<AdminState>) -> ApiResult<Json<Vec<RoleView>>> {
    let roles = state.oidc().store.list_roles().await?;
    Ok(Json(roles.into_iter().map(RoleView::from).collect()))
}

async fn create_role(
    State(state): State<AdminState>,
    admin: Admin,
    JsonBody(input): JsonBody<RoleInput>,
) -> ApiResult<(StatusCode, Json<RoleView>)> {
    let role = access::create_role(admin.ops(&state), input).await?;
    Ok((StatusCode::CREATED, Json(role.into())))
}

async fn read_role(
    State(state): State<AdminState>,
    admin: Admin,
    Path(name): Path<String>,
) -> ApiResult<Json<RoleView>> {
    let (role, holders) = access::read_role(admin.ops(&state), &name).await?;
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
    let role = access::update_role(admin.ops(&state), &name, input).await?;
    Ok(Json(role.into()))
}

async fn delete_role(
    State(state): State<AdminState>,
    admin: Admin,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    access::delete_role(admin.ops(&state), &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn set_role(
    state: &AdminState,
    admin: &Admin,
    (role, id): (String, String),
    kind: SubjectKind,
    hold: bool,
) -> ApiResult<Json<MembershipView>> {
    let member = access::set_role(admin.ops(state), &role, kind, &id, hold).await?;
    Ok(Json(MembershipView { member }))
}

async fn assign_user(
    State(state): State<AdminState>,
    admin: Admin,
    Path(names): Path<(String, String)>,
) -> ApiResult<Json<MembershipView>> {
    set_role(&state, &admin, names, SubjectKind::User, true).await
}

async fn unassign_user(
    State(state): State<AdminState>,
    admin: Admin,
    Path(names): Path<(String, String)>,
) -> ApiResult<Json<MembershipView>> {
    set_role(&state, &admin, names, SubjectKind::User, false).await
}

async fn assign_client(
    State(state): State<AdminState>,
    admin: Admin,
    Path(names): Path<(String, String)>,
) -> ApiResult<Json<MembershipView>> {
    set_role(&state, &admin, names, SubjectKind::Client, true).await
}

async fn unassign_client(
    State(state): State<AdminState>,
    admin: Admin,
    Path(names): Path<(String, String)>,
) -> ApiResult<Json<MembershipView>> {
    set_role(&state, &admin, names, SubjectKind::Client, false).await
}

async fn list_groups(State(state): State<AdminState>) -> ApiResult<Json<Vec<GroupView>>> {
    let groups = state.oidc().store.list_groups().await?;
    Ok(Json(groups.into_iter().map(GroupView::from).collect()))
}

async fn create_group(
    State(state): State<AdminState>,
    admin: Admin,
    JsonBody(input): JsonBody<GroupInput>,
) -> ApiResult<(StatusCode, Json<GroupView>)> {
    let group = access::create_group(admin.ops(&state), input).await?;
    Ok((StatusCode::CREATED, Json(group.into())))
}

async fn read_group(
    State(state): State<AdminState>,
    admin: Admin,
    Path(name): Path<String>,
) -> ApiResult<Json<GroupView>> {
    let (group, members) = access::read_group(admin.ops(&state), &name).await?;
    let mut view = GroupView::from(group);
    view.members = Some(members);
    Ok(Json(view))
}

async fn delete_group(
    State(state): State<AdminState>,
    admin: Admin,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    access::delete_group(admin.ops(&state), &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn set_member(
    state: &AdminState,
    admin: &Admin,
    (group, user_id): (String, String),
    member: bool,
) -> ApiResult<Json<MembershipView>> {
    let member = access::set_member(admin.ops(state), &group, &user_id, member).await?;
    Ok(Json(MembershipView { member }))
}

async fn add_member(
    State(state): State<AdminState>,
    admin: Admin,
    Path(names): Path<(String, String)>,
) -> ApiResult<Json<MembershipView>> {
    set_member(&state, &admin, names, true).await
}

async fn remove_member(
    State(state): State<AdminState>,
    admin: Admin,
    Path(names): Path<(String, String)>,
) -> ApiResult<Json<MembershipView>> {
    set_member(&state, &admin, names, false).await
}
