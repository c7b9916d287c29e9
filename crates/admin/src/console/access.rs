//! The console's roles and groups page: create, change and delete roles; create and
//! delete groups.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use gatehouse_core::access::ADMIN_ROLE;

use super::form::{FormData, notice};
use super::pages::{self, AccessPage, NamedRow};
use super::{ConsoleResult, done_or_again, layout};
use crate::AdminState;
use crate::auth::Admin;
use crate::ops::AdminError;
use crate::ops::access::{self, GroupInput, RoleInput, RoleUpdate};

async fn access_page(
    state: &AdminState,
    admin: &Admin,
    status: StatusCode,
    notice: Option<String>,
    error: Option<String>,
) -> ConsoleResult {
    let store = &state.oidc().store;
    let roles = store.list_roles().await?;
    let groups = store.list_groups().await?;
    Ok(pages::render(
        status,
        &AccessPage {
            layout: layout(state, admin, notice, error),
            roles: roles
                .into_iter()
                .map(|r| NamedRow {
                    builtin: r.name == ADMIN_ROLE,
                    permissions: r.permissions.join(" "),
                    name: r.name,
                    description: r.description,
                })
                .collect(),
            groups: groups
                .into_iter()
                .map(|g| NamedRow {
                    name: g.name,
                    description: g.description,
                    permissions: String::new(),
                    builtin: false,
                })
                .collect(),
        },
    ))
}

pub async fn list(
    State(state): State<AdminState>,
    admin: Admin,
    RawQuery(query): RawQuery,
) -> ConsoleResult {
    let notice = notice(query.as_deref());
    access_page(&state, &admin, StatusCode::OK, notice, None).await
}

/// After a change: back to the page, or the page again with the error.
async fn after(
    state: &AdminState,
    admin: &Admin,
    result: Result<(), AdminError>,
    notice: &str,
) -> ConsoleResult {
    let to = format!("/admin/roles?notice={notice}");
    done_or_again(state, result, &to, async |status, error| {
        access_page(state, admin, status, None, Some(error)).await
    })
    .await
}

fn permissions(form: &FormData) -> Vec<String> {
    form.get("permissions")
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

pub async fn create_role(
    State(state): State<AdminState>,
    admin: Admin,
    body: Bytes,
) -> ConsoleResult {
    let form = FormData::parse(&body);
    let input = RoleInput {
        name: form.get("name").trim().to_owned(),
        description: form.get("description").trim().to_owned(),
        permissions: permissions(&form),
    };
    let result = access::create_role(admin.ops(&state), input).await;
    after(&state, &admin, result.map(drop), "created").await
}

pub async fn update_role(
    State(state): State<AdminState>,
    admin: Admin,
    Path(role): Path<String>,
    body: Bytes,
) -> ConsoleResult {
    let form = FormData::parse(&body);
    let input = RoleUpdate {
        description: Some(form.get("description").trim().to_owned()),
        permissions: Some(permissions(&form)),
    };
    let result = access::update_role(admin.ops(&state), &role, input).await;
    after(&state, &admin, result.map(drop), "saved").await
}

pub async fn delete_role(
    State(state): State<AdminState>,
    admin: Admin,
    Path(role): Path<String>,
) -> ConsoleResult {
    let result = access::delete_role(admin.ops(&state), &role).await;
    after(&state, &admin, result, "deleted").await
}

pub async fn create_group(
    State(state): State<AdminState>,
    admin: Admin,
    body: Bytes,
) -> ConsoleResult {
    let form = FormData::parse(&body);
    let input = GroupInput {
        name: form.get("name").trim().to_owned(),
        description: form.get("description").trim().to_owned(),
    };
    let result = access::create_group(admin.ops(&state), input).await;
    after(&state, &admin, result.map(drop), "created").await
}

pub async fn delete_group(
    State(state): State<AdminState>,
    admin: Admin,
    Path(group): Path<String>,
) -> ConsoleResult {
    let result = access::delete_group(admin.ops(&state), &group).await;
    after(&state, &admin, result, "deleted").await
}
