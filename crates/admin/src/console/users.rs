//! The console's user pages: list, create, read, disable, enable, reset the password,
//! delete; the user's sessions, grants, roles and groups.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use gatehouse_core::SubjectKind;
use gatehouse_core::access::ADMIN_ROLE;
use gatehouse_storage::GrantFilter;

use super::form::{FormData, listing_query, notice};
use super::pages::{self, GrantRow, Pager, SessionRow, UserForm, UserPage, UsersPage};
use super::reauth::confirm_recent_password;
use super::{ConsoleResult, done_or_again, layout, see_other};
use crate::AdminState;
use crate::api::clients::GrantView;
use crate::api::users::{SessionView, UserView};
use crate::auth::Admin;
use crate::ops::users::{self, UserInput};
use crate::ops::{AdminError, access, clients};

async fn list_page(
    state: &AdminState,
    admin: &Admin,
    query: Option<&str>,
    status: StatusCode,
    form: UserForm,
    error: Option<String>,
) -> ConsoleResult {
    let q = listing_query(query);
    let listing = state.oidc().store.list_users_page(&q).await?;
    let (search, pager) = Pager::for_listing("/admin/users", &q, listing.total);
    Ok(pages::render(
        status,
        &UsersPage {
            layout: layout(state, admin, notice(query), error),
            search,
            users: listing.items.into_iter().map(UserView::from).collect(),
            pager,
            form,
        },
    ))
}

pub async fn list(
    State(state): State<AdminState>,
    admin: Admin,
    RawQuery(query): RawQuery,
) -> ConsoleResult {
    let form = UserForm::default();
    list_page(&state, &admin, query.as_deref(), StatusCode::OK, form, None).await
}

pub async fn create(State(state): State<AdminState>, admin: Admin, body: Bytes) -> ConsoleResult {
    let form = FormData::parse(&body);
    let make_admin = !form.get("admin").is_empty();
    if make_admin {
        confirm_recent_password(&state, &admin, &form).await?;
    }
    let input = UserInput {
        username: form.get("username").to_owned(),
        password: form.get("password").to_owned(),
        email: form.optional("email"),
        name: form.optional("name"),
        roles: if make_admin {
            vec![ADMIN_ROLE.to_owned()]
        } else {
            vec![]
        },
    };
    let result = users::create(admin.ops(&state), input).await;
    let to = match &result {
        Ok(u) => format!("/admin/users/{}?notice=created", u.id),
        Err(_) => String::new(),
    };
    done_or_again(&state, result.map(drop), &to, async |status, error| {
        let sticky = UserForm {
            username: form.get("username").to_owned(),
            email: form.get("email").to_owned(),
            name: form.get("name").to_owned(),
        };
        list_page(&state, &admin, None, status, sticky, Some(error)).await
    })
    .await
}

async fn user_page(
    state: &AdminState,
    admin: &Admin,
    user_id: &str,
    status: StatusCode,
    notice: Option<String>,
    error: Option<String>,
) -> ConsoleResult {
    let ops = admin.ops(state);
    let detail = users::read(ops, user_id).await?;
    let all_roles = ops.store.list_roles().await?;
    let all_groups = ops.store.list_groups().await?;
    let sessions = users::sessions(ops, user_id).await?;
    let grants = clients::grants(ops, clients::of_user(user_id)).await?;
    let (roles, groups) = (detail.roles, detail.groups);
    Ok(pages::render(
        status,
        &UserPage {
            layout: layout(state, admin, notice, error),
            created: pages::when(detail.user.created_at),
            user: UserView::from(detail.user),
            all_roles: all_roles
                .into_iter()
                .map(|r| r.name)
                .filter(|r| !roles.contains(r))
                .collect(),
            all_groups: all_groups
                .into_iter()
                .map(|g| g.name)
                .filter(|g| !groups.contains(g))
                .collect(),
            roles,
            groups,
            sessions: sessions
                .into_iter()
                .map(|s| SessionRow {
                    signed_in: s.auth_time.map(pages::when).unwrap_or_default(),
                    expires: pages::when(s.expires_at),
                    session: SessionView::from(s),
                })
                .collect(),
            grants: grants
                .into_iter()
                .map(|g| GrantRow::from(GrantView::from(g)))
                .collect(),
        },
    ))
}

pub async fn read(
    State(state): State<AdminState>,
    admin: Admin,
    Path(user_id): Path<String>,
    RawQuery(query): RawQuery,
) -> ConsoleResult {
    let notice = notice(query.as_deref());
    user_page(&state, &admin, &user_id, StatusCode::OK, notice, None).await
}

/// After an action on a user: back to their page, or the page again with the error.
async fn after(
    state: &AdminState,
    admin: &Admin,
    user_id: &str,
    result: Result<(), AdminError>,
    notice: &str,
) -> ConsoleResult {
    let to = format!("/admin/users/{user_id}?notice={notice}");
    done_or_again(state, result, &to, async |status, error| {
        user_page(state, admin, user_id, status, None, Some(error)).await
    })
    .await
}

pub async fn disable(
    State(state): State<AdminState>,
    admin: Admin,
    Path(user_id): Path<String>,
) -> ConsoleResult {
    let result = users::set_disabled(admin.ops(&state), &user_id, true).await;
    after(&state, &admin, &user_id, result.map(drop), "disabled").await
}

pub async fn enable(
    State(state): State<AdminState>,
    admin: Admin,
    Path(user_id): Path<String>,
) -> ConsoleResult {
    let result = users::set_disabled(admin.ops(&state), &user_id, false).await;
    after(&state, &admin, &user_id, result.map(drop), "enabled").await
}

pub async fn set_password(
    State(state): State<AdminState>,
    admin: Admin,
    Path(user_id): Path<String>,
    body: Bytes,
) -> ConsoleResult {
    let password = FormData::parse(&body).get("password").to_owned();
    let result = users::set_password(admin.ops(&state), &user_id, password).await;
    after(&state, &admin, &user_id, result, "password").await
}

pub async fn delete(
    State(state): State<AdminState>,
    admin: Admin,
    Path(user_id): Path<String>,
) -> ConsoleResult {
    match users::delete(admin.ops(&state), &user_id).await {
        Ok(()) => Ok(see_other(&state, "/admin/users?notice=user-deleted")),
        Err(e) => after(&state, &admin, &user_id, Err(e), "user-deleted").await,
    }
}

pub async fn end_sessions(
    State(state): State<AdminState>,
    admin: Admin,
    Path(user_id): Path<String>,
    body: Bytes,
) -> ConsoleResult {
    let sid = FormData::parse(&body).optional("sid");
    let result = users::end_sessions(admin.ops(&state), &user_id, sid.as_deref()).await;
    after(&state, &admin, &user_id, result.map(drop), "sessions").await
}

pub async fn sign_out_everywhere(
    State(state): State<AdminState>,
    admin: Admin,
    Path(user_id): Path<String>,
) -> ConsoleResult {
    let result = users::sign_out_everywhere(admin.ops(&state), &user_id).await;
    after(&state, &admin, &user_id, result.map(drop), "signed-out").await
}

pub async fn revoke_grants(
    State(state): State<AdminState>,
    admin: Admin,
    Path(user_id): Path<String>,
    body: Bytes,
) -> ConsoleResult {
    let grant = FormData::parse(&body).optional("grant_id");
    let filter = GrantFilter {
        user_id: Some(&user_id),
        grant_id: grant.as_deref(),
        ..GrantFilter::default()
    };
    let target = grant.as_deref().unwrap_or(&user_id);
    let result = clients::revoke_grants(admin.ops(&state), filter, target).await;
    after(&state, &admin, &user_id, result.map(drop), "grants").await
}

pub async fn roles(
    State(state): State<AdminState>,
    admin: Admin,
    Path(user_id): Path<String>,
    body: Bytes,
) -> ConsoleResult {
    let form = FormData::parse(&body);
    let ops = admin.ops(&state);
    let role = form.get("role");
    let result = access::set_role(ops, role, SubjectKind::User, &user_id, form.adds()).await;
    after(&state, &admin, &user_id, result.map(drop), "role").await
}

pub async fn groups(
    State(state): State<AdminState>,
    admin: Admin,
    Path(user_id): Path<String>,
    body: Bytes,
) -> ConsoleResult {
    let form = FormData::parse(&body);
    let ops = admin.ops(&state);
    let result = access::set_member(ops, form.get("group"), &user_id, form.adds()).await;
    after(&state, &admin, &user_id, result.map(drop), "group").await
}
