//! The console's keys page: signing keys, registered APIs (RFC 8707), registration tokens,
//! and the audit log.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::pages::{self, *};
use crate::AdminState;
use crate::api::{ApiError, system};
use crate::auth::Admin;

use super::handlers::{FormData, failed, layout, listing_query, notice, see_other};
use super::reauth::confirm_recent_password;

async fn keys_page(
    state: &AdminState,
    admin: &Admin,
    status: StatusCode,
    notice: Option<String>,
    error: Option<String>,
) -> Response {
    let listed = match crate::api::resources::list_resources(state).await {
        Ok(r) => system::registration_tokens(state).await.map(|t| (t, r)),
        Err(e) => Err(e),
    };
    match listed {
        Ok((tokens, resources)) => pages::render(
            status,
            &KeysPage {
                layout: layout(state, admin, notice, error),
                keys: system::key_views(state)
                    .await
                    .into_iter()
                    .map(|k| KeyRow {
                        created: pages::when(k.created_at),
                        key: k,
                    })
                    .collect(),
                tokens: tokens
                    .into_iter()
                    .map(|t| TokenRow {
                        short_id: t.id.chars().take(12).collect(),
                        expires: pages::when(t.expires_at),
                        token: t,
                    })
                    .collect(),
                resources,
            },
        ),
        Err(e) => failed(state, e),
    }
}

pub async fn keys(
    State(state): State<AdminState>,
    admin: Admin,
    RawQuery(query): RawQuery,
) -> Response {
    keys_page(
        &state,
        &admin,
        StatusCode::OK,
        notice(query.as_deref()),
        None,
    )
    .await
}

pub async fn rotate_key(State(state): State<AdminState>, admin: Admin, body: Bytes) -> Response {
    let form = FormData::parse(&body);
    if let Err(res) = confirm_recent_password(&state, &admin, &form).await {
        return res;
    }
    match system::rotate(&state, &admin, form.get("alg")).await {
        Ok(_) => see_other(&state, "/admin/keys?notice=rotated"),
        Err(e) if e.status() == StatusCode::BAD_REQUEST => {
            let message = e.description().to_owned();
            keys_page(&state, &admin, StatusCode::BAD_REQUEST, None, Some(message)).await
        }
        Err(e) => failed(&state, e),
    }
}

pub async fn create_resource(
    State(state): State<AdminState>,
    admin: Admin,
    body: Bytes,
) -> Response {
    use crate::api::resources;
    let form = FormData::parse(&body);
    let ttl = match form.optional("access_token_ttl").map(|v| v.parse::<i64>()) {
        None => Ok(None),
        Some(Ok(t)) => Ok(Some(t)),
        Some(Err(_)) => Err(ApiError::invalid("access_token_ttl must be a whole number")),
    };
    let created = match ttl {
        Ok(access_token_ttl) => {
            resources::create_resource(
                &state,
                &admin,
                resources::ResourceInput {
                    identifier: form.get("identifier").to_owned(),
                    name: form.get("name").to_owned(),
                    scopes: form
                        .get("scopes")
                        .split_whitespace()
                        .map(str::to_owned)
                        .collect(),
                    access_token_ttl,
                },
            )
            .await
        }
        Err(e) => Err(e),
    };
    match created {
        Ok(_) => see_other(&state, "/admin/keys?notice=resource-created"),
        Err(e) if e.status() == StatusCode::BAD_REQUEST || e.status() == StatusCode::CONFLICT => {
            let message = e.description().to_owned();
            keys_page(&state, &admin, StatusCode::BAD_REQUEST, None, Some(message)).await
        }
        Err(e) => failed(&state, e),
    }
}

pub async fn delete_resource(
    State(state): State<AdminState>,
    admin: Admin,
    body: Bytes,
) -> Response {
    let form = FormData::parse(&body);
    match crate::api::resources::delete_resource(&state, &admin, form.get("identifier")).await {
        Ok(()) => see_other(&state, "/admin/keys?notice=resource-deleted"),
        Err(e) => failed(&state, e),
    }
}

pub async fn create_registration_token(
    State(state): State<AdminState>,
    admin: Admin,
    body: Bytes,
) -> Response {
    let form = FormData::parse(&body);
    let number = |name: &str| -> Result<Option<i64>, ApiError> {
        match form.optional(name) {
            None => Ok(None),
            Some(v) => v
                .parse()
                .map(Some)
                .map_err(|_| ApiError::invalid(&format!("{name} must be a whole number"))),
        }
    };
    let words = |name: &str| -> Vec<String> {
        form.optional(name)
            .map(|v| {
                v.split(|c: char| c == ',' || c.is_whitespace())
                    .filter(|w| !w.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    let input = match (number("ttl"), number("uses")) {
        (Ok(ttl), Ok(uses)) => Ok(system::RegistrationTokenInput {
            ttl,
            uses,
            allow_scopes: words("allow_scopes"),
            allow_grant_types: words("allow_grant_types"),
        }),
        (Err(e), _) | (_, Err(e)) => Err(e),
    };
    let created = match input {
        Ok(i) => system::create_registration_token(&state, &admin, i).await,
        Err(e) => Err(e),
    };
    match created {
        Ok(t) => pages::render(
            StatusCode::OK,
            &TokenPage {
                layout: layout(&state, &admin, None, None),
                token: t.registration_token,
                expires: pages::when(t.expires_at),
            },
        ),
        Err(e) if e.status() == StatusCode::BAD_REQUEST => {
            let message = e.description().to_owned();
            keys_page(&state, &admin, StatusCode::BAD_REQUEST, None, Some(message)).await
        }
        Err(e) => failed(&state, e),
    }
}

pub async fn delete_registration_token(
    State(state): State<AdminState>,
    admin: Admin,
    Path(id): Path<String>,
) -> Response {
    match system::delete_registration_token(&state, &admin, &id).await {
        Ok(()) => see_other(&state, "/admin/keys?notice=withdrawn"),
        Err(e) => failed(&state, e),
    }
}

pub async fn audit(
    State(state): State<AdminState>,
    admin: Admin,
    RawQuery(query): RawQuery,
) -> Response {
    let q = listing_query(query.as_deref());
    match system::audit_page(&state, &q).await {
        Ok(page) => {
            let (search, pager) = Pager::for_listing("/admin/audit", &q, page.total);
            pages::render(
                StatusCode::OK,
                &AuditPage {
                    layout: layout(&state, &admin, None, None),
                    pager,
                    search,
                    rows: page.items.into_iter().map(AuditRow::from).collect(),
                },
            )
        }
        Err(e) => failed(&state, e),
    }
}
