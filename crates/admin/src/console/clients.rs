//! The console's client pages: list, register, read, change, rotate the secret, delete;
//! the client's grants and roles.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use gatehouse_core::SubjectKind;
use gatehouse_core::access::ADMIN_ROLE;
use gatehouse_storage::GrantFilter;

use super::form::{FormData, listing_query, notice};
use super::pages::{self, ClientForm, ClientPage, ClientsPage, GrantRow, Pager, SecretPage};
use super::reauth::confirm_recent_password;
use super::{ConsoleResult, done_or_again, layout, see_other};
use crate::AdminState;
use crate::api::clients::{ClientView, GrantView};
use crate::auth::Admin;
use crate::ops::clients::{self, ClientInput, ClientPatch};
use crate::ops::{AdminError, access};

async fn list_page(
    state: &AdminState,
    admin: &Admin,
    query: Option<&str>,
    status: StatusCode,
    form: ClientForm,
    error: Option<String>,
) -> ConsoleResult {
    let q = listing_query(query);
    let listing = state.oidc().store.list_clients_page(&q).await?;
    let (search, pager) = Pager::for_listing("/admin/clients", &q, listing.total);
    Ok(pages::render(
        status,
        &ClientsPage {
            layout: layout(state, admin, notice(query), error),
            search,
            clients: listing.items.into_iter().map(ClientView::from).collect(),
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
    let form = ClientForm::default();
    list_page(&state, &admin, query.as_deref(), StatusCode::OK, form, None).await
}

pub async fn create(State(state): State<AdminState>, admin: Admin, body: Bytes) -> ConsoleResult {
    let form = FormData::parse(&body);
    let grant_types = form.all("grant_types");
    let input = ClientInput {
        client_name: form.get("client_name").to_owned(),
        redirect_uris: form.lines("redirect_uris"),
        grant_types: (!grant_types.is_empty()).then_some(grant_types),
        scope: form.optional("scope"),
        token_endpoint_auth_method: form.optional("token_endpoint_auth_method"),
        application_type: form.optional("application_type"),
        ..ClientInput::default()
    };
    let created = match clients::create(admin.ops(&state), input).await {
        Ok(c) => c,
        Err(e) => {
            let sticky = ClientForm {
                client_name: form.get("client_name").to_owned(),
                redirect_uris: form.get("redirect_uris").to_owned(),
                scope: form.get("scope").to_owned(),
                auth_method: form.get("token_endpoint_auth_method").to_owned(),
                application_type: form.get("application_type").to_owned(),
                grant_types: form.all("grant_types"),
            };
            return done_or_again(&state, Err(e), "", async |status, error| {
                list_page(&state, &admin, None, status, sticky, Some(error)).await
            })
            .await;
        }
    };
    Ok(pages::render(
        StatusCode::OK,
        &SecretPage {
            layout: layout(&state, &admin, None, None),
            title: "Client created".into(),
            client_id: created.client.client_id,
            client_name: created.client.name,
            secret: created.client_secret,
        },
    ))
}

async fn client_page(
    state: &AdminState,
    admin: &Admin,
    client_id: &str,
    status: StatusCode,
    notice: Option<String>,
    error: Option<String>,
) -> ConsoleResult {
    let ops = admin.ops(state);
    let (client, roles) = clients::read(ops, client_id).await?;
    let all_roles = ops.store.list_roles().await?;
    let grants = clients::grants(ops, clients::of_client(client_id)).await?;
    let view = ClientView::from(client);
    Ok(pages::render(
        status,
        &ClientPage {
            layout: layout(state, admin, notice, error),
            created: pages::when(view.created_at),
            redirect_uris: view.redirect_uris.join("\n"),
            post_logout_redirect_uris: view.post_logout_redirect_uris.join("\n"),
            allowed_origins: view.allowed_origins.join("\n"),
            all_roles: all_roles
                .into_iter()
                .map(|r| r.name)
                .filter(|r| !roles.contains(r))
                .collect(),
            roles,
            grants: grants
                .into_iter()
                .map(|g| GrantRow::from(GrantView::from(g)))
                .collect(),
            client: view,
        },
    ))
}

pub async fn read(
    State(state): State<AdminState>,
    admin: Admin,
    Path(client_id): Path<String>,
    RawQuery(query): RawQuery,
) -> ConsoleResult {
    let notice = notice(query.as_deref());
    client_page(&state, &admin, &client_id, StatusCode::OK, notice, None).await
}

/// After a change to a client: back to its page, or the page again with the error.
async fn after(
    state: &AdminState,
    admin: &Admin,
    client_id: &str,
    result: Result<(), AdminError>,
    notice: &str,
) -> ConsoleResult {
    let to = format!("/admin/clients/{client_id}?notice={notice}");
    done_or_again(state, result, &to, async |status, error| {
        client_page(state, admin, client_id, status, None, Some(error)).await
    })
    .await
}

pub async fn update(
    State(state): State<AdminState>,
    admin: Admin,
    Path(client_id): Path<String>,
    body: Bytes,
) -> ConsoleResult {
    let form = FormData::parse(&body);
    let patch = ClientPatch {
        grant_types: Some(form.all("grant_types")),
        client_name: Some(form.get("client_name").to_owned()),
        redirect_uris: Some(form.lines("redirect_uris")),
        post_logout_redirect_uris: Some(form.lines("post_logout_redirect_uris")),
        scope: Some(form.get("scope").trim().to_owned()),
        logo_uri: Some(form.get("logo_uri").trim().to_owned()),
        policy_uri: Some(form.get("policy_uri").trim().to_owned()),
        tos_uri: Some(form.get("tos_uri").trim().to_owned()),
        allowed_origins: Some(form.lines("allowed_origins")),
    };
    let result = clients::update(admin.ops(&state), &client_id, patch).await;
    after(&state, &admin, &client_id, result.map(drop), "saved").await
}

pub async fn rotate_secret(
    State(state): State<AdminState>,
    admin: Admin,
    Path(client_id): Path<String>,
    body: Bytes,
) -> ConsoleResult {
    confirm_recent_password(&state, &admin, &FormData::parse(&body)).await?;
    let ops = admin.ops(&state);
    let name = clients::find(ops, &client_id).await?.name;
    let secret = clients::rotate_secret(ops, &client_id).await?;
    Ok(pages::render(
        StatusCode::OK,
        &SecretPage {
            layout: layout(&state, &admin, None, None),
            title: "New client secret".into(),
            client_id,
            client_name: name,
            secret: Some(secret),
        },
    ))
}

pub async fn delete(
    State(state): State<AdminState>,
    admin: Admin,
    Path(client_id): Path<String>,
) -> ConsoleResult {
    clients::delete(admin.ops(&state), &client_id).await?;
    Ok(see_other(&state, "/admin/clients?notice=client-deleted"))
}

pub async fn revoke_grants(
    State(state): State<AdminState>,
    admin: Admin,
    Path(client_id): Path<String>,
    body: Bytes,
) -> ConsoleResult {
    let form = FormData::parse(&body);
    let grant = form.optional("grant_id");
    let filter = GrantFilter {
        client_id: Some(&client_id),
        grant_id: grant.as_deref(),
        ..GrantFilter::default()
    };
    let target = grant.as_deref().unwrap_or(&client_id);
    clients::revoke_grants(admin.ops(&state), filter, target).await?;
    let path = format!("/admin/clients/{client_id}?notice=grants");
    Ok(see_other(&state, &path))
}

pub async fn roles(
    State(state): State<AdminState>,
    admin: Admin,
    Path(client_id): Path<String>,
    body: Bytes,
) -> ConsoleResult {
    let form = FormData::parse(&body);
    let hold = form.adds();
    if hold && form.get("role") == ADMIN_ROLE {
        confirm_recent_password(&state, &admin, &form).await?;
    }
    let ops = admin.ops(&state);
    let result =
        access::set_role(ops, form.get("role"), SubjectKind::Client, &client_id, hold).await;
    after(&state, &admin, &client_id, result.map(drop), "role").await
}
