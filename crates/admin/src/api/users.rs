//! Users: list, search, create, read, disable, enable, reset the password, delete; and
//! their browser sessions and grants.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::routing::{delete, get, post, put};
use gatehouse_core::{SubjectKind, User, secret};
use gatehouse_storage::{GrantFilter, NewUser};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::clients::GrantView;
use super::{
    ApiError, ApiResult, Count, JsonBody, PAGING, Page, Paging, QueryParams, Route, schema,
};
use crate::AdminState;
use crate::auth::Admin;

#[derive(Debug, Serialize, JsonSchema)]
pub struct UserView {
    pub id: String,
    pub username: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
    pub disabled: bool,
    pub created_at: i64,
    pub updated_at: i64,
    /// Roles and groups (shown when one user is read).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<String>>,
}

impl From<User> for UserView {
    fn from(u: User) -> Self {
        Self {
            id: u.id,
            username: u.username,
            email: u.email,
            email_verified: u.email_verified,
            name: u.name,
            disabled: u.disabled,
            created_at: u.created_at,
            updated_at: u.updated_at,
            roles: None,
            groups: None,
        }
    }
}

/// A user to create. The password follows NIST SP 800-63B: at least 12 characters, any
/// Unicode, not among the most common passwords.
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

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordInput {
    pub password: String,
}

/// A live browser session, named by its public `sid` (the cookie is never shown).
#[derive(Debug, Serialize, JsonSchema)]
pub struct SessionView {
    pub sid: String,
    pub auth_time: Option<i64>,
    pub created_at: i64,
    pub expires_at: i64,
}

pub(super) fn routes() -> Vec<Route> {
    vec![
        Route {
            query: PAGING,
            response: Some(schema::<Page<UserView>>),
            ..Route::op(
                Method::GET,
                "/users",
                "listUsers",
                "List users by username, with paging and search (username, name, email, id)",
                "users",
                get(list),
            )
        },
        Route {
            request: Some(schema::<UserInput>),
            status: StatusCode::CREATED,
            response: Some(schema::<UserView>),
            ..Route::op(
                Method::POST,
                "/users",
                "createUser",
                "Create a user",
                "users",
                post(create),
            )
        },
        Route {
            response: Some(schema::<UserView>),
            ..Route::op(
                Method::GET,
                "/users/{user_id}",
                "getUser",
                "Read a user, with roles and groups",
                "users",
                get(read),
            )
        },
        Route {
            status: StatusCode::NO_CONTENT,
            ..Route::op(
                Method::DELETE,
                "/users/{user_id}",
                "deleteUser",
                "Delete a user: sessions end, grants are revoked",
                "users",
                delete(remove),
            )
        },
        Route {
            response: Some(schema::<UserView>),
            ..Route::op(
                Method::POST,
                "/users/{user_id}/disable",
                "disableUser",
                "Disable a user: sessions end, grants are revoked, sign-in is refused",
                "users",
                post(disable),
            )
        },
        Route {
            response: Some(schema::<UserView>),
            ..Route::op(
                Method::POST,
                "/users/{user_id}/enable",
                "enableUser",
                "Enable a disabled user",
                "users",
                post(enable),
            )
        },
        Route {
            request: Some(schema::<PasswordInput>),
            status: StatusCode::NO_CONTENT,
            ..Route::op(
                Method::PUT,
                "/users/{user_id}/password",
                "setUserPassword",
                "Reset a user's password; their sessions end and their grants are revoked",
                "users",
                put(set_password),
            )
        },
        Route {
            response: Some(schema::<Vec<SessionView>>),
            ..Route::op(
                Method::GET,
                "/users/{user_id}/sessions",
                "listUserSessions",
                "A user's live browser sessions",
                "sessions",
                get(sessions),
            )
        },
        Route {
            response: Some(schema::<Count>),
            ..Route::op(
                Method::DELETE,
                "/users/{user_id}/sessions",
                "endUserSessions",
                "End every browser session of a user",
                "sessions",
                delete(end_all_sessions),
            )
        },
        Route {
            response: Some(schema::<SignedOut>),
            ..Route::op(
                Method::POST,
                "/users/{user_id}/sign-out-everywhere",
                "signOutEverywhere",
                "End every session of a user and revoke every grant, in one step",
                "sessions",
                post(sign_out_everywhere_route),
            )
        },
        Route {
            response: Some(schema::<Count>),
            ..Route::op(
                Method::DELETE,
                "/users/{user_id}/sessions/{sid}",
                "endUserSession",
                "End one browser session of a user",
                "sessions",
                delete(end_session),
            )
        },
        Route {
            response: Some(schema::<Vec<GrantView>>),
            ..Route::op(
                Method::GET,
                "/users/{user_id}/grants",
                "listUserGrants",
                "The live grants a user gave",
                "grants",
                get(grants),
            )
        },
        Route {
            response: Some(schema::<Count>),
            ..Route::op(
                Method::DELETE,
                "/users/{user_id}/grants",
                "revokeUserGrants",
                "Revoke every grant a user gave, and the tokens issued from them",
                "grants",
                delete(revoke_grants),
            )
        },
    ]
}

/// Refuses a change that takes administration away from `user_id` (disable, delete, or
/// taking the admin role) when an admin would do it to their own account. (That no change
/// leaves Gatehouse without an enabled admin is the store's rule, checked in the change's
/// own transaction.)
pub(crate) fn guard_admin_change(admin: &Admin, user_id: &str, what: &str) -> ApiResult<()> {
    if admin.actor == format!("user:{user_id}") {
        return Err(ApiError::invalid(&format!(
            "an administrator cannot {what} their own account"
        )));
    }
    Ok(())
}

pub(crate) async fn find_user(state: &AdminState, user_id: &str) -> ApiResult<User> {
    state
        .oidc()
        .store
        .find_user(user_id)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))
}

/// Creates a user for an admin; shared by the API and the console.
pub(crate) async fn create_user(
    state: &AdminState,
    admin: &Admin,
    input: UserInput,
) -> ApiResult<User> {
    let username = input.username.trim();
    if !gatehouse_core::user::valid_username(username) {
        return Err(ApiError::invalid(
            "username must be 1 to 64 characters without spaces",
        ));
    }
    gatehouse_authorize::password::check_new_password(&input.password, username)
        .map_err(|e| ApiError::invalid(&e))?;
    let email = input.email.filter(|e| !e.trim().is_empty());
    if email
        .as_deref()
        .is_some_and(|e| !gatehouse_core::user::valid_email(e))
    {
        return Err(ApiError::invalid("email is not an address"));
    }
    let name = input.name.filter(|n| !n.trim().is_empty());
    if name
        .as_deref()
        .is_some_and(|n| !gatehouse_core::is_plain_text(n, 200))
    {
        return Err(ApiError::invalid(
            "name: at most 200 bytes, no control characters",
        ));
    }
    let hash = gatehouse_authorize::password::hash_async(input.password)
        .await
        .map_err(ApiError::unavailable)?;
    let id = secret::random_token(16);
    let mut roles: Vec<&str> = input.roles.iter().map(String::as_str).collect();
    roles.sort_unstable();
    roles.dedup();
    let user = state
        .oidc()
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
            state.oidc().now(),
            &admin
                .audit("user.create", &id)
                .detail(json!({"username": username, "roles": roles})),
        )
        .await?;
    Ok(user)
}

pub(crate) async fn set_disabled(
    state: &AdminState,
    admin: &Admin,
    user_id: &str,
    disabled: bool,
) -> ApiResult<User> {
    let action = if disabled {
        guard_admin_change(admin, user_id, "disable")?;
        "user.disable"
    } else {
        "user.enable"
    };
    if !state
        .oidc()
        .store
        .set_user_disabled(
            user_id,
            disabled,
            state.oidc().now(),
            &admin.audit(action, user_id),
        )
        .await?
    {
        return Err(ApiError::not_found("user"));
    }
    find_user(state, user_id).await
}

pub(crate) async fn reset_password(
    state: &AdminState,
    admin: &Admin,
    user_id: &str,
    password: String,
) -> ApiResult<()> {
    let user = find_user(state, user_id).await?;
    gatehouse_authorize::password::check_new_password(&password, &user.username)
        .map_err(|e| ApiError::invalid(&e))?;
    let hash = gatehouse_authorize::password::hash_async(password)
        .await
        .map_err(ApiError::unavailable)?;
    if !state
        .oidc()
        .store
        .set_user_password(
            user_id,
            &hash,
            state.oidc().now(),
            &admin.audit("user.set_password", user_id),
        )
        .await?
    {
        return Err(ApiError::not_found("user"));
    }
    Ok(())
}

pub(crate) async fn delete_user(state: &AdminState, admin: &Admin, user_id: &str) -> ApiResult<()> {
    let user = find_user(state, user_id).await?;
    guard_admin_change(admin, user_id, "delete")?;
    if !state
        .oidc()
        .store
        .delete_user(
            user_id,
            state.oidc().now(),
            &admin
                .audit("user.delete", user_id)
                .detail(json!({"username": user.username})),
        )
        .await?
    {
        return Err(ApiError::not_found("user"));
    }
    Ok(())
}

pub(crate) async fn end_sessions(
    state: &AdminState,
    admin: &Admin,
    user_id: &str,
    sid: Option<&str>,
) -> ApiResult<u64> {
    Ok(state
        .oidc()
        .store
        .end_user_sessions(
            user_id,
            sid,
            state.oidc().now(),
            &admin
                .audit("session.end", user_id)
                .detail(json!({"sid": sid})),
        )
        .await?)
}

fn of_user(user_id: &str) -> GrantFilter<'_> {
    GrantFilter {
        user_id: Some(user_id),
        ..GrantFilter::default()
    }
}

async fn list(
    State(state): State<AdminState>,
    QueryParams(p): QueryParams<Paging>,
) -> ApiResult<Json<Page<UserView>>> {
    let q = p.query()?;
    let listing = state.oidc().store.list_users_page(&q).await?;
    Ok(Json(Page::of(listing, &q, UserView::from)))
}

async fn create(
    State(state): State<AdminState>,
    admin: Admin,
    JsonBody(input): JsonBody<UserInput>,
) -> ApiResult<(StatusCode, Json<UserView>)> {
    let user = create_user(&state, &admin, input).await?;
    Ok((StatusCode::CREATED, Json(user.into())))
}

async fn read(
    State(state): State<AdminState>,
    Path(user_id): Path<String>,
) -> ApiResult<Json<UserView>> {
    let user = find_user(&state, &user_id).await?;
    let store = &state.oidc().store;
    let mut view = UserView::from(user);
    view.roles = Some(store.roles_of(SubjectKind::User, &user_id).await?);
    view.groups = Some(store.groups_of(&user_id).await?);
    Ok(Json(view))
}

async fn remove(
    State(state): State<AdminState>,
    admin: Admin,
    Path(user_id): Path<String>,
) -> ApiResult<StatusCode> {
    delete_user(&state, &admin, &user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn disable(
    State(state): State<AdminState>,
    admin: Admin,
    Path(user_id): Path<String>,
) -> ApiResult<Json<UserView>> {
    Ok(Json(
        set_disabled(&state, &admin, &user_id, true).await?.into(),
    ))
}

async fn enable(
    State(state): State<AdminState>,
    admin: Admin,
    Path(user_id): Path<String>,
) -> ApiResult<Json<UserView>> {
    Ok(Json(
        set_disabled(&state, &admin, &user_id, false).await?.into(),
    ))
}

async fn set_password(
    State(state): State<AdminState>,
    admin: Admin,
    Path(user_id): Path<String>,
    JsonBody(input): JsonBody<PasswordInput>,
) -> ApiResult<StatusCode> {
    reset_password(&state, &admin, &user_id, input.password).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn sessions(
    State(state): State<AdminState>,
    Path(user_id): Path<String>,
) -> ApiResult<Json<Vec<SessionView>>> {
    find_user(&state, &user_id).await?;
    let sessions = state
        .oidc()
        .store
        .list_user_sessions(&user_id, state.oidc().now())
        .await?;
    Ok(Json(
        sessions
            .into_iter()
            .map(|s| SessionView {
                sid: s.sid,
                auth_time: s.auth_time,
                created_at: s.created_at,
                expires_at: s.expires_at,
            })
            .collect(),
    ))
}

async fn end_sessions_route(
    state: &AdminState,
    admin: &Admin,
    user_id: &str,
    sid: Option<&str>,
) -> ApiResult<Json<Count>> {
    find_user(state, user_id).await?;
    let count = end_sessions(state, admin, user_id, sid).await?;
    if sid.is_some() && count == 0 {
        return Err(ApiError::not_found("session"));
    }
    Ok(Json(Count { count }))
}

/// What "sign out everywhere" ended.
#[derive(Debug, Serialize, JsonSchema)]
pub struct SignedOut {
    pub sessions_ended: u64,
    pub grants_revoked: u64,
}

pub(crate) async fn sign_out_everywhere(
    state: &AdminState,
    admin: &Admin,
    user_id: &str,
) -> ApiResult<SignedOut> {
    find_user(state, user_id).await?;
    let (sessions_ended, grants_revoked) = state
        .oidc()
        .store
        .sign_out_everywhere(
            user_id,
            state.oidc().now(),
            &admin.audit("user.sign_out_everywhere", user_id),
        )
        .await?;
    Ok(SignedOut {
        sessions_ended,
        grants_revoked,
    })
}

async fn sign_out_everywhere_route(
    State(state): State<AdminState>,
    admin: Admin,
    Path(user_id): Path<String>,
) -> ApiResult<Json<SignedOut>> {
    Ok(Json(sign_out_everywhere(&state, &admin, &user_id).await?))
}

async fn end_all_sessions(
    State(state): State<AdminState>,
    admin: Admin,
    Path(user_id): Path<String>,
) -> ApiResult<Json<Count>> {
    end_sessions_route(&state, &admin, &user_id, None).await
}

async fn end_session(
    State(state): State<AdminState>,
    admin: Admin,
    Path((user_id, sid)): Path<(String, String)>,
) -> ApiResult<Json<Count>> {
    end_sessions_route(&state, &admin, &user_id, Some(&sid)).await
}

async fn grants(
    State(state): State<AdminState>,
    Path(user_id): Path<String>,
) -> ApiResult<Json<Vec<GrantView>>> {
    find_user(&state, &user_id).await?;
    Ok(Json(
        super::clients::grants(&state, of_user(&user_id)).await?,
    ))
}

async fn revoke_grants(
    State(state): State<AdminState>,
    admin: Admin,
    Path(user_id): Path<String>,
) -> ApiResult<Json<Count>> {
    find_user(&state, &user_id).await?;
    let count = super::clients::revoke(&state, &admin, of_user(&user_id), &user_id).await?;
    Ok(Json(Count { count }))
}
