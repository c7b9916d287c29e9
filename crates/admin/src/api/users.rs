//! Users: list, search, create, read, disable, enable, reset the password, delete; and
//! their browser sessions and grants.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::routing::{delete, get, post, put};
use gatehouse_core::{BrowserSession, User};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::clients::GrantView;
use super::{ApiResult, Count, JsonBody, PAGING, Page, Paging, QueryParams, Route, schema};
use crate::AdminState;
use crate::auth::Admin;
pub use crate::ops::users::{SignedOut, UserInput};
use crate::ops::{clients, users};

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
                post(sign_out_everywhere),
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
    let user = users::create(admin.ops(&state), input).await?;
    Ok((StatusCode::CREATED, Json(user.into())))
}

async fn read(
    State(state): State<AdminState>,
    admin: Admin,
    Path(user_id): Path<String>,
) -> ApiResult<Json<UserView>> {
    let detail = users::read(admin.ops(&state), &user_id).await?;
    let mut view = UserView::from(detail.user);
    view.roles = Some(detail.roles);
    view.groups = Some(detail.groups);
    Ok(Json(view))
}

async fn remove(
    State(state): State<AdminState>,
    admin: Admin,
    Path(user_id): Path<String>,
) -> ApiResult<StatusCode> {
    users::delete(admin.ops(&state), &user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn disable(
    State(state): State<AdminState>,
    admin: Admin,
    Path(user_id): Path<String>,
) -> ApiResult<Json<UserView>> {
    let user = users::set_disabled(admin.ops(&state), &user_id, true).await?;
    Ok(Json(user.into()))
}

async fn enable(
    State(state): State<AdminState>,
    admin: Admin,
    Path(user_id): Path<String>,
) -> ApiResult<Json<UserView>> {
    let user = users::set_disabled(admin.ops(&state), &user_id, false).await?;
    Ok(Json(user.into()))
}

async fn set_password(
    State(state): State<AdminState>,
    admin: Admin,
    Path(user_id): Path<String>,
    JsonBody(input): JsonBody<PasswordInput>,
) -> ApiResult<StatusCode> {
    users::set_password(admin.ops(&state), &user_id, input.password).await?;
    Ok(StatusCode::NO_CONTENT)
}

impl From<BrowserSession> for SessionView {
    fn from(s: BrowserSession) -> Self {
        Self {
            sid: s.sid,
            auth_time: s.auth_time,
            created_at: s.created_at,
            expires_at: s.expires_at,
        }
    }
}

async fn sessions(
    State(state): State<AdminState>,
    admin: Admin,
    Path(user_id): Path<String>,
) -> ApiResult<Json<Vec<SessionView>>> {
    let sessions = users::sessions(admin.ops(&state), &user_id).await?;
    Ok(Json(sessions.into_iter().map(SessionView::from).collect()))
}

async fn sign_out_everywhere(
    State(state): State<AdminState>,
    admin: Admin,
    Path(user_id): Path<String>,
) -> ApiResult<Json<SignedOut>> {
    Ok(Json(
        users::sign_out_everywhere(admin.ops(&state), &user_id).await?,
    ))
}

async fn end_all_sessions(
    State(state): State<AdminState>,
    admin: Admin,
    Path(user_id): Path<String>,
) -> ApiResult<Json<Count>> {
    let count = users::end_sessions(admin.ops(&state), &user_id, None).await?;
    Ok(Json(Count { count }))
}

async fn end_session(
    State(state): State<AdminState>,
    admin: Admin,
    Path((user_id, sid)): Path<(String, String)>,
) -> ApiResult<Json<Count>> {
    let count = users::end_sessions(admin.ops(&state), &user_id, Some(&sid)).await?;
    Ok(Json(Count { count }))
}

async fn grants(
    State(state): State<AdminState>,
    admin: Admin,
    Path(user_id): Path<String>,
) -> ApiResult<Json<Vec<GrantView>>> {
    let ops = admin.ops(&state);
    users::find(ops, &user_id).await?;
    let grants = clients::grants(ops, clients::of_user(&user_id)).await?;
    Ok(Json(grants.into_iter().map(GrantView::from).collect()))
}

async fn revoke_grants(
    State(state): State<AdminState>,
    admin: Admin,
    Path(user_id): Path<String>,
) -> ApiResult<Json<Count>> {
    let ops = admin.ops(&state);
    users::find(ops, &user_id).await?;
    let count = clients::revoke_grants(ops, clients::of_user(&user_id), &user_id).await?;
    Ok(Json(Count { count }))
}
