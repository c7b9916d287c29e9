//! The console's home page, its keys page (signing keys, registered APIs (RFC 8707),
//! registration tokens) and the audit log.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use gatehouse_core::Query;

use super::form::{FormData, listing_query, notice};
use super::pages::{
    self, AuditPage, AuditRow, HomePage, KeyRow, KeysPage, Pager, TokenPage, TokenRow,
};
use super::reauth::confirm_recent_password;
use super::{ConsoleResult, done_or_again, layout, see_other};
use crate::AdminState;
use crate::api::resources::ResourceView;
use crate::api::system::{AuditView, KeyView, RegistrationTokenView};
use crate::auth::Admin;
use crate::ops::resources::{self, ResourceInput, ResourceUpdate};
use crate::ops::system::{self, RegistrationTokenInput};
use crate::ops::{AdminError, AdminResult};

pub async fn home(State(state): State<AdminState>, admin: Admin) -> ConsoleResult {
    let ops = admin.ops(&state);
    let one = Query {
        search: None,
        offset: 0,
        limit: 1,
    };
    let recent = Query {
        limit: 10,
        ..one.clone()
    };
    let clients = ops.store.list_clients_page(&one).await?.total;
    let users = ops.store.list_users_page(&one).await?.total;
    let audit = system::audit_log(ops, &recent).await?;
    Ok(pages::render(
        StatusCode::OK,
        &HomePage {
            layout: layout(&state, &admin, None, None),
            clients,
            users,
            audit: audit
                .items
                .into_iter()
                .map(|e| AuditRow::from(AuditView::from(e)))
                .collect(),
        },
    ))
}

async fn keys_page(
    state: &AdminState,
    admin: &Admin,
    status: StatusCode,
    notice: Option<String>,
    error: Option<String>,
) -> ConsoleResult {
    let ops = admin.ops(state);
    let admin_api = state.oidc().admin_resource();
    let resources = resources::list(ops, &admin_api).await?;
    let tokens = system::registration_tokens(ops).await?;
    let keys = system::keys(ops).await?;
    Ok(pages::render(
        status,
        &KeysPage {
            layout: layout(state, admin, notice, error),
            keys: keys
                .into_iter()
                .map(|k| KeyRow {
                    created: pages::when(k.created_at),
                    key: KeyView::from(k),
                })
                .collect(),
            tokens: tokens
                .into_iter()
                .map(|t| TokenRow {
                    short_id: t.token_hash.chars().take(12).collect(),
                    expires: pages::when(t.expires_at),
                    token: RegistrationTokenView::from(t),
                })
                .collect(),
            resources: resources
                .into_iter()
                .map(|r| {
                    let built_in = r.identifier == admin_api.identifier;
                    ResourceView::new(r, built_in)
                })
                .collect(),
        },
    ))
}

pub async fn keys(
    State(state): State<AdminState>,
    admin: Admin,
    RawQuery(query): RawQuery,
) -> ConsoleResult {
    let notice = notice(query.as_deref());
    keys_page(&state, &admin, StatusCode::OK, notice, None).await
}

/// After a change on the keys page: back to it with `notice`, or the page again with the
/// error.
async fn after(
    state: &AdminState,
    admin: &Admin,
    result: AdminResult<()>,
    notice: &str,
) -> ConsoleResult {
    let to = format!("/admin/keys?notice={notice}");
    done_or_again(state, result, &to, async |status, error| {
        keys_page(state, admin, status, None, Some(error)).await
    })
    .await
}

pub async fn rotate_key(
    State(state): State<AdminState>,
    admin: Admin,
    body: Bytes,
) -> ConsoleResult {
    let form = FormData::parse(&body);
    confirm_recent_password(&state, &admin, &form).await?;
    let ring = &state.oidc().keys;
    let result = system::rotate_key(admin.ops(&state), ring, form.get("alg")).await;
    after(&state, &admin, result.map(drop), "rotated").await
}

pub async fn create_resource(
    State(state): State<AdminState>,
    admin: Admin,
    body: Bytes,
) -> ConsoleResult {
    let form = FormData::parse(&body);
    let created = async {
        let input = ResourceInput {
            identifier: form.get("identifier").to_owned(),
            name: form.get("name").to_owned(),
            scopes: form
                .get("scopes")
                .split_whitespace()
                .map(str::to_owned)
                .collect(),
            access_token_ttl: form
                .number("access_token_ttl")
                .map_err(AdminError::Invalid)?,
        };
        let admin_api = state.oidc().admin_resource();
        resources::create(admin.ops(&state), &admin_api, input).await
    };
    let result = created.await;
    after(&state, &admin, result.map(drop), "resource-created").await
}

pub async fn update_resource(
    State(state): State<AdminState>,
    admin: Admin,
    body: Bytes,
) -> ConsoleResult {
    let form = FormData::parse(&body);
    let scopes = form.get("scopes").split_whitespace().map(str::to_owned);
    let changed = async {
        let input = ResourceUpdate {
            name: form.optional("name"),
            scopes: Some(scopes.collect::<Vec<_>>()).filter(|s| !s.is_empty()),
            access_token_ttl: form
                .number("access_token_ttl")
                .map_err(AdminError::Invalid)?,
        };
        let admin_api = state.oidc().admin_resource();
        let identifier = form.get("identifier");
        resources::update(admin.ops(&state), &admin_api, identifier, input).await
    };
    let result = changed.await;
    after(&state, &admin, result.map(drop), "resource-updated").await
}

pub async fn delete_resource(
    State(state): State<AdminState>,
    admin: Admin,
    body: Bytes,
) -> ConsoleResult {
    let form = FormData::parse(&body);
    resources::delete(admin.ops(&state), form.get("identifier")).await?;
    Ok(see_other(&state, "/admin/keys?notice=resource-deleted"))
}

pub async fn create_registration_token(
    State(state): State<AdminState>,
    admin: Admin,
    body: Bytes,
) -> ConsoleResult {
    let form = FormData::parse(&body);
    let created = async {
        let input = RegistrationTokenInput {
            ttl: form.number("ttl").map_err(AdminError::Invalid)?,
            uses: form.number("uses").map_err(AdminError::Invalid)?,
            allow_scopes: form.words("allow_scopes"),
            allow_grant_types: form.words("allow_grant_types"),
        };
        system::create_registration_token(admin.ops(&state), input).await
    };
    match created.await {
        Ok(t) => Ok(pages::render(
            StatusCode::OK,
            &TokenPage {
                layout: layout(&state, &admin, None, None),
                token: t.token,
                expires: pages::when(t.expires_at),
            },
        )),
        Err(e) => after(&state, &admin, Err(e), "").await,
    }
}

pub async fn delete_registration_token(
    State(state): State<AdminState>,
    admin: Admin,
    Path(id): Path<String>,
) -> ConsoleResult {
    system::delete_registration_token(admin.ops(&state), &id).await?;
    Ok(see_other(&state, "/admin/keys?notice=withdrawn"))
}

pub async fn audit(
    State(state): State<AdminState>,
    admin: Admin,
    RawQuery(query): RawQuery,
) -> ConsoleResult {
    let q = listing_query(query.as_deref());
    let page = system::audit_log(admin.ops(&state), &q).await?;
    let (search, pager) = Pager::for_listing("/admin/audit", &q, page.total);
    Ok(pages::render(
        StatusCode::OK,
        &AuditPage {
            layout: layout(&state, &admin, None, None),
            pager,
            search,
            rows: page
                .items
                .into_iter()
                .map(|e| AuditRow::from(AuditView::from(e)))
                .collect(),
        },
    ))
}
