//! The console's handlers: each reads its form, calls the same function the admin API
//! calls, and answers a page (or 303 to one, so a reload does not resend the form).

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use gatehouse_core::{Query, SubjectKind};
use gatehouse_storage::GrantFilter;

use super::pages::{self, *};
use super::reauth::confirm_recent_password;
use crate::AdminState;
use crate::api::clients::{self, ClientInput, ClientPatch, ClientView, GrantView};
use crate::api::users::{self, UserInput, UserView};
use crate::api::{ApiError, access, system};
use crate::auth::Admin;

const PAGE_SIZE: u64 = 25;

/// A submitted form: every pair in order, repeated names kept (checkbox groups).
pub struct FormData(Vec<(String, String)>);

impl FormData {
    pub fn parse(body: &[u8]) -> Self {
        Self(form_urlencoded::parse(body).into_owned().collect())
    }

    /// The first value of `name`, or "".
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// Control characters other than the line breaks and tabs a text area may hold.
    pub fn has_control_characters(&self) -> bool {
        self.0.iter().any(|(k, v)| {
            k.chars()
                .chain(v.chars())
                .any(|c| c.is_control() && !matches!(c, '\r' | '\n' | '\t'))
        })
    }

    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    pub(super) fn optional(&self, name: &str) -> Option<String> {
        Some(self.get(name).trim().to_owned()).filter(|v| !v.is_empty())
    }
}

/// One URI per line (blank lines ignored).
fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Notices are chosen by code, never echoed from the URL.
pub(super) fn notice(query: Option<&str>) -> Option<String> {
    let params = gatehouse_core::Params::parse(query.unwrap_or("").as_bytes());
    let text = match params.get("notice")? {
        "saved" => "Saved.",
        "client-deleted" => "Client deleted.",
        "user-deleted" => "User deleted.",
        "disabled" => "User disabled: sessions ended and grants revoked.",
        "enabled" => "User enabled.",
        "password" => "Password changed: the user's sessions ended and grants were revoked.",
        "sessions" => "Sessions ended.",
        "grants" => "Grants revoked.",
        "role" => "Roles updated.",
        "group" => "Groups updated.",
        "deleted" => "Deleted.",
        "created" => "Created.",
        "rotated" => "New key published; it signs on every node after the lead time.",
        "resource-created" => "API registered.",
        "resource-deleted" => "API removed.",
        "withdrawn" => "Registration token withdrawn.",
        _ => return None,
    };
    Some(text.to_owned())
}

pub(super) fn layout(
    state: &AdminState,
    admin: &Admin,
    notice: Option<String>,
    error: Option<String>,
) -> Layout {
    Layout {
        issuer: state.oidc().issuer.as_str().to_owned(),
        csrf_token: admin
            .session
            .as_ref()
            .map(|s| s.csrf_token.clone())
            .unwrap_or_default(),
        admin: admin.name.clone(),
        notice,
        error,
    }
}

pub(super) fn see_other(state: &AdminState, path: &str) -> Response {
    let mut res = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(&state.oidc().issuer.url(path)) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res
}

pub(super) fn failed(state: &AdminState, e: ApiError) -> Response {
    if e.status() == StatusCode::SERVICE_UNAVAILABLE {
        return pages::unavailable(state.oidc().issuer.as_str(), e.description());
    }
    gatehouse_authorize::pages::error_page(
        state.oidc().issuer.as_str(),
        e.status(),
        "Not done",
        e.description(),
    )
}

/// `?search=&offset=` of a listing page.
pub(super) fn listing_query(query: Option<&str>) -> Query {
    let params = gatehouse_core::Params::parse(query.unwrap_or("").as_bytes());
    Query {
        search: params
            .get("search")
            .map(|s| {
                s.trim()
                    .chars()
                    .filter(|c| !c.is_control())
                    .take(200)
                    .collect::<String>()
            })
            .filter(|s| !s.is_empty()),
        offset: params
            .get("offset")
            .and_then(|o| o.parse().ok())
            .unwrap_or(0)
            .min(crate::api::MAX_OFFSET),
        limit: PAGE_SIZE,
    }
}

pub async fn home(State(state): State<AdminState>, admin: Admin) -> Response {
    let store = &state.oidc().store;
    let one = Query {
        search: None,
        offset: 0,
        limit: 1,
    };
    let recent = Query {
        limit: 10,
        ..one.clone()
    };
    let loaded = async {
        Ok::<_, ApiError>((
            store.list_clients_page(&one).await?.total,
            store.list_users_page(&one).await?.total,
            system::audit_page(&state, &recent).await?,
        ))
    }
    .await;
    match loaded {
        Ok((clients, users, audit)) => pages::render(
            StatusCode::OK,
            &HomePage {
                layout: layout(&state, &admin, None, None),
                clients,
                users,
                audit: audit.items.into_iter().map(AuditRow::from).collect(),
            },
        ),
        Err(e) => failed(&state, e),
    }
}

async fn clients_page(
    state: &AdminState,
    admin: &Admin,
    query: Option<&str>,
    status: StatusCode,
    form: ClientForm,
    error: Option<String>,
) -> Response {
    let q = listing_query(query);
    match state.oidc().store.list_clients_page(&q).await {
        Ok(listing) => {
            let (search, pager) = Pager::for_listing("/admin/clients", &q, listing.total);
            pages::render(
                status,
                &ClientsPage {
                    layout: layout(state, admin, notice(query), error),
                    search,
                    clients: listing.items.into_iter().map(ClientView::from).collect(),
                    pager,
                    form,
                },
            )
        }
        Err(e) => pages::unavailable(state.oidc().issuer.as_str(), e),
    }
}

pub async fn clients(
    State(state): State<AdminState>,
    admin: Admin,
    RawQuery(query): RawQuery,
) -> Response {
    clients_page(
        &state,
        &admin,
        query.as_deref(),
        StatusCode::OK,
        ClientForm::default(),
        None,
    )
    .await
}

pub async fn create_client(State(state): State<AdminState>, admin: Admin, body: Bytes) -> Response {
    let form = FormData::parse(&body);
    let sticky = ClientForm {
        client_name: form.get("client_name").to_owned(),
        redirect_uris: form.get("redirect_uris").to_owned(),
        scope: form.get("scope").to_owned(),
        auth_method: form.get("token_endpoint_auth_method").to_owned(),
        application_type: form.get("application_type").to_owned(),
        grant_types: form.all("grant_types"),
    };
    let grant_types = form.all("grant_types");
    let input = ClientInput {
        client_name: form.get("client_name").to_owned(),
        redirect_uris: lines(form.get("redirect_uris")),
        grant_types: (!grant_types.is_empty()).then_some(grant_types),
        scope: form.optional("scope"),
        token_endpoint_auth_method: form.optional("token_endpoint_auth_method"),
        application_type: form.optional("application_type"),
        ..ClientInput::default()
    };
    let created = match clients::new_client(input) {
        Ok(new) => clients::create_client(&state, &admin, new).await,
        Err(e) => Err(e),
    };
    match created {
        Ok(c) => pages::render(
            StatusCode::OK,
            &SecretPage {
                layout: layout(&state, &admin, None, None),
                title: "Client created".into(),
                client_id: c.client.client_id,
                client_name: c.client.client_name,
                secret: c.client_secret,
            },
        ),
        Err(e) if e.status() == StatusCode::BAD_REQUEST => {
            let message = e.description().to_owned();
            clients_page(
                &state,
                &admin,
                None,
                StatusCode::BAD_REQUEST,
                sticky,
                Some(message),
            )
            .await
        }
        Err(e) => failed(&state, e),
    }
}

async fn client_page(
    state: &AdminState,
    admin: &Admin,
    client_id: &str,
    status: StatusCode,
    notice: Option<String>,
    error: Option<String>,
) -> Response {
    let store = &state.oidc().store;
    let loaded = async {
        let c = store
            .find_client(client_id)
            .await?
            .ok_or_else(|| ApiError::not_found("client"))?;
        let roles = store.roles_of(SubjectKind::Client, client_id).await?;
        let all_roles = store.list_roles().await?;
        let grants = store
            .list_grants(GrantFilter {
                client_id: Some(client_id),
                ..GrantFilter::default()
            })
            .await?;
        Ok::<_, ApiError>((c, roles, all_roles, grants))
    }
    .await;
    match loaded {
        Ok((c, roles, all_roles, grants)) => {
            let view = ClientView::from(c);
            pages::render(
                status,
                &ClientPage {
                    layout: layout(state, admin, notice, error),
                    created: pages::when(view.created_at),
                    redirect_uris: view.redirect_uris.join("\n"),
                    post_logout_redirect_uris: view.post_logout_redirect_uris.join("\n"),
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
            )
        }
        Err(e) => failed(state, e),
    }
}

pub async fn client(
    State(state): State<AdminState>,
    admin: Admin,
    Path(client_id): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    client_page(
        &state,
        &admin,
        &client_id,
        StatusCode::OK,
        notice(query.as_deref()),
        None,
    )
    .await
}

pub async fn update_client(
    State(state): State<AdminState>,
    admin: Admin,
    Path(client_id): Path<String>,
    body: Bytes,
) -> Response {
    let form = FormData::parse(&body);
    let grant_types = form.all("grant_types");
    let patch = ClientPatch {
        grant_types: Some(grant_types),
        client_name: Some(form.get("client_name").to_owned()),
        redirect_uris: Some(lines(form.get("redirect_uris"))),
        post_logout_redirect_uris: Some(lines(form.get("post_logout_redirect_uris"))),
        scope: Some(form.get("scope").trim().to_owned()),
        logo_uri: Some(form.get("logo_uri").trim().to_owned()),
        policy_uri: Some(form.get("policy_uri").trim().to_owned()),
        tos_uri: Some(form.get("tos_uri").trim().to_owned()),
    };
    match clients::update_client(&state, &admin, &client_id, patch).await {
        Ok(_) => see_other(&state, &format!("/admin/clients/{client_id}?notice=saved")),
        Err(e) if e.status() == StatusCode::BAD_REQUEST => {
            let message = e.description().to_owned();
            client_page(
                &state,
                &admin,
                &client_id,
                StatusCode::BAD_REQUEST,
                None,
                Some(message),
            )
            .await
        }
        Err(e) => failed(&state, e),
    }
}

pub async fn rotate_secret(
    State(state): State<AdminState>,
    admin: Admin,
    Path(client_id): Path<String>,
    body: Bytes,
) -> Response {
    if let Err(res) = confirm_recent_password(&state, &admin, &FormData::parse(&body)).await {
        return res;
    }
    let name = match state.oidc().store.find_client(&client_id).await {
        Ok(Some(c)) => c.name,
        Ok(None) => return failed(&state, ApiError::not_found("client")),
        Err(e) => return pages::unavailable(state.oidc().issuer.as_str(), e),
    };
    match clients::rotate_client_secret(&state, &admin, &client_id).await {
        Ok(r) => pages::render(
            StatusCode::OK,
            &SecretPage {
                layout: layout(&state, &admin, None, None),
                title: "New client secret".into(),
                client_id: r.client_id,
                client_name: name,
                secret: Some(r.client_secret),
            },
        ),
        Err(e) => failed(&state, e),
    }
}

pub async fn delete_client(
    State(state): State<AdminState>,
    admin: Admin,
    Path(client_id): Path<String>,
) -> Response {
    match clients::delete_client(&state, &admin, &client_id).await {
        Ok(()) => see_other(&state, "/admin/clients?notice=client-deleted"),
        Err(e) => failed(&state, e),
    }
}

pub async fn revoke_client_grants(
    State(state): State<AdminState>,
    admin: Admin,
    Path(client_id): Path<String>,
    body: Bytes,
) -> Response {
    let form = FormData::parse(&body);
    let grant = form.optional("grant_id");
    let filter = GrantFilter {
        client_id: Some(&client_id),
        grant_id: grant.as_deref(),
        ..GrantFilter::default()
    };
    let target = grant.as_deref().unwrap_or(&client_id);
    match clients::revoke(&state, &admin, filter, target).await {
        Ok(_) => see_other(&state, &format!("/admin/clients/{client_id}?notice=grants")),
        Err(e) => failed(&state, e),
    }
}

pub async fn client_roles(
    State(state): State<AdminState>,
    admin: Admin,
    Path(client_id): Path<String>,
    body: Bytes,
) -> Response {
    let form = FormData::parse(&body);
    let hold = form.get("action") != "remove";
    if hold
        && form.get("role") == gatehouse_core::access::ADMIN_ROLE
        && let Err(res) = confirm_recent_password(&state, &admin, &form).await
    {
        return res;
    }
    match access::set_role(
        &state,
        &admin,
        form.get("role"),
        SubjectKind::Client,
        &client_id,
        hold,
    )
    .await
    {
        Ok(_) => see_other(&state, &format!("/admin/clients/{client_id}?notice=role")),
        Err(e) => failed(&state, e),
    }
}

async fn users_page(
    state: &AdminState,
    admin: &Admin,
    query: Option<&str>,
    status: StatusCode,
    form: UserForm,
    error: Option<String>,
) -> Response {
    let q = listing_query(query);
    match state.oidc().store.list_users_page(&q).await {
        Ok(listing) => {
            let (search, pager) = Pager::for_listing("/admin/users", &q, listing.total);
            pages::render(
                status,
                &UsersPage {
                    layout: layout(state, admin, notice(query), error),
                    search,
                    users: listing.items.into_iter().map(UserView::from).collect(),
                    pager,
                    form,
                },
            )
        }
        Err(e) => pages::unavailable(state.oidc().issuer.as_str(), e),
    }
}

pub async fn users(
    State(state): State<AdminState>,
    admin: Admin,
    RawQuery(query): RawQuery,
) -> Response {
    users_page(
        &state,
        &admin,
        query.as_deref(),
        StatusCode::OK,
        UserForm::default(),
        None,
    )
    .await
}

pub async fn create_user(State(state): State<AdminState>, admin: Admin, body: Bytes) -> Response {
    let form = FormData::parse(&body);
    if !form.get("admin").is_empty()
        && let Err(res) = confirm_recent_password(&state, &admin, &form).await
    {
        return res;
    }
    let sticky = UserForm {
        username: form.get("username").to_owned(),
        email: form.get("email").to_owned(),
        name: form.get("name").to_owned(),
    };
    let input = UserInput {
        username: form.get("username").to_owned(),
        password: form.get("password").to_owned(),
        email: form.optional("email"),
        name: form.optional("name"),
        roles: if form.get("admin").is_empty() {
            vec![]
        } else {
            vec![gatehouse_core::access::ADMIN_ROLE.to_owned()]
        },
    };
    match users::create_user(&state, &admin, input).await {
        Ok(u) => see_other(&state, &format!("/admin/users/{}?notice=created", u.id)),
        Err(e) if matches!(e.status(), StatusCode::BAD_REQUEST | StatusCode::CONFLICT) => {
            let message = e.description().to_owned();
            users_page(&state, &admin, None, e.status(), sticky, Some(message)).await
        }
        Err(e) => failed(&state, e),
    }
}

async fn user_page(
    state: &AdminState,
    admin: &Admin,
    user_id: &str,
    status: StatusCode,
    notice: Option<String>,
    error: Option<String>,
) -> Response {
    let store = &state.oidc().store;
    let now = state.oidc().now();
    let loaded = async {
        let u = users::find_user(state, user_id).await?;
        let roles = store.roles_of(SubjectKind::User, user_id).await?;
        let groups = store.groups_of(user_id).await?;
        let all_roles = store.list_roles().await?;
        let all_groups = store.list_groups().await?;
        let sessions = store.list_user_sessions(user_id, now).await?;
        let grants = store
            .list_grants(GrantFilter {
                user_id: Some(user_id),
                ..GrantFilter::default()
            })
            .await?;
        Ok::<_, ApiError>((u, roles, groups, all_roles, all_groups, sessions, grants))
    }
    .await;
    match loaded {
        Ok((u, roles, groups, all_roles, all_groups, sessions, grants)) => pages::render(
            status,
            &UserPage {
                layout: layout(state, admin, notice, error),
                created: pages::when(u.created_at),
                user: UserView::from(u),
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
                        session: users::SessionView {
                            sid: s.sid,
                            auth_time: s.auth_time,
                            created_at: s.created_at,
                            expires_at: s.expires_at,
                        },
                    })
                    .collect(),
                grants: grants
                    .into_iter()
                    .map(|g| GrantRow::from(GrantView::from(g)))
                    .collect(),
            },
        ),
        Err(e) => failed(state, e),
    }
}

pub async fn user(
    State(state): State<AdminState>,
    admin: Admin,
    Path(user_id): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    user_page(
        &state,
        &admin,
        &user_id,
        StatusCode::OK,
        notice(query.as_deref()),
        None,
    )
    .await
}

/// After an action on a user: back to their page, or the page again with the error.
async fn after_user_action(
    state: &AdminState,
    admin: &Admin,
    user_id: &str,
    result: Result<(), ApiError>,
    notice: &str,
) -> Response {
    match result {
        Ok(()) => see_other(state, &format!("/admin/users/{user_id}?notice={notice}")),
        Err(e) if e.status() == StatusCode::BAD_REQUEST => {
            let message = e.description().to_owned();
            user_page(
                state,
                admin,
                user_id,
                StatusCode::BAD_REQUEST,
                None,
                Some(message),
            )
            .await
        }
        Err(e) => failed(state, e),
    }
}

pub async fn disable_user(
    State(state): State<AdminState>,
    admin: Admin,
    Path(user_id): Path<String>,
) -> Response {
    let result = users::set_disabled(&state, &admin, &user_id, true)
        .await
        .map(|_| ());
    after_user_action(&state, &admin, &user_id, result, "disabled").await
}

pub async fn enable_user(
    State(state): State<AdminState>,
    admin: Admin,
    Path(user_id): Path<String>,
) -> Response {
    let result = users::set_disabled(&state, &admin, &user_id, false)
        .await
        .map(|_| ());
    after_user_action(&state, &admin, &user_id, result, "enabled").await
}

pub async fn reset_password(
    State(state): State<AdminState>,
    admin: Admin,
    Path(user_id): Path<String>,
    body: Bytes,
) -> Response {
    let form = FormData::parse(&body);
    let result =
        users::reset_password(&state, &admin, &user_id, form.get("password").to_owned()).await;
    after_user_action(&state, &admin, &user_id, result, "password").await
}

pub async fn delete_user(
    State(state): State<AdminState>,
    admin: Admin,
    Path(user_id): Path<String>,
) -> Response {
    match users::delete_user(&state, &admin, &user_id).await {
        Ok(()) => see_other(&state, "/admin/users?notice=user-deleted"),
        Err(e) => after_user_action(&state, &admin, &user_id, Err(e), "user-deleted").await,
    }
}

pub async fn end_sessions(
    State(state): State<AdminState>,
    admin: Admin,
    Path(user_id): Path<String>,
    body: Bytes,
) -> Response {
    let form = FormData::parse(&body);
    let sid = form.optional("sid");
    let result = users::end_sessions(&state, &admin, &user_id, sid.as_deref())
        .await
        .map(|_| ());
    after_user_action(&state, &admin, &user_id, result, "sessions").await
}

pub async fn revoke_user_grants(
    State(state): State<AdminState>,
    admin: Admin,
    Path(user_id): Path<String>,
    body: Bytes,
) -> Response {
    let form = FormData::parse(&body);
    let grant = form.optional("grant_id");
    let filter = GrantFilter {
        user_id: Some(&user_id),
        grant_id: grant.as_deref(),
        ..GrantFilter::default()
    };
    let target = grant.as_deref().unwrap_or(&user_id);
    let result = clients::revoke(&state, &admin, filter, target)
        .await
        .map(|_| ());
    after_user_action(&state, &admin, &user_id, result, "grants").await
}

pub async fn user_roles(
    State(state): State<AdminState>,
    admin: Admin,
    Path(user_id): Path<String>,
    body: Bytes,
) -> Response {
    let form = FormData::parse(&body);
    let hold = form.get("action") != "remove";
    let result = access::set_role(
        &state,
        &admin,
        form.get("role"),
        SubjectKind::User,
        &user_id,
        hold,
    )
    .await
    .map(|_| ());
    after_user_action(&state, &admin, &user_id, result, "role").await
}

pub async fn user_groups(
    State(state): State<AdminState>,
    admin: Admin,
    Path(user_id): Path<String>,
    body: Bytes,
) -> Response {
    let form = FormData::parse(&body);
    let member = form.get("action") != "remove";
    let result = access::set_member(&state, &admin, form.get("group"), &user_id, member)
        .await
        .map(|_| ());
    after_user_action(&state, &admin, &user_id, result, "group").await
}

async fn access_page(
    state: &AdminState,
    admin: &Admin,
    status: StatusCode,
    notice: Option<String>,
    error: Option<String>,
) -> Response {
    let store = &state.oidc().store;
    let loaded =
        async { Ok::<_, ApiError>((store.list_roles().await?, store.list_groups().await?)) }.await;
    match loaded {
        Ok((roles, groups)) => pages::render(
            status,
            &AccessPage {
                layout: layout(state, admin, notice, error),
                roles: roles
                    .into_iter()
                    .map(|r| NamedRow {
                        builtin: r.name == gatehouse_core::access::ADMIN_ROLE,
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
        ),
        Err(e) => failed(state, e),
    }
}

pub async fn access(
    State(state): State<AdminState>,
    admin: Admin,
    RawQuery(query): RawQuery,
) -> Response {
    access_page(
        &state,
        &admin,
        StatusCode::OK,
        notice(query.as_deref()),
        None,
    )
    .await
}

async fn after_access_action(
    state: &AdminState,
    admin: &Admin,
    result: Result<(), ApiError>,
    notice: &str,
) -> Response {
    match result {
        Ok(()) => see_other(state, &format!("/admin/roles?notice={notice}")),
        Err(e) if matches!(e.status(), StatusCode::BAD_REQUEST | StatusCode::CONFLICT) => {
            let message = e.description().to_owned();
            access_page(state, admin, e.status(), None, Some(message)).await
        }
        Err(e) => failed(state, e),
    }
}

pub async fn create_role(State(state): State<AdminState>, admin: Admin, body: Bytes) -> Response {
    let form = FormData::parse(&body);
    let input = access::RoleInput {
        name: form.get("name").trim().to_owned(),
        description: form.get("description").trim().to_owned(),
        permissions: form
            .get("permissions")
            .split_whitespace()
            .map(str::to_owned)
            .collect(),
    };
    let result = access::create_role_for(&state, &admin, input)
        .await
        .map(|_| ());
    after_access_action(&state, &admin, result, "created").await
}

pub async fn update_role(
    State(state): State<AdminState>,
    admin: Admin,
    Path(role): Path<String>,
    body: Bytes,
) -> Response {
    let form = FormData::parse(&body);
    let input = access::RoleUpdate {
        description: Some(form.get("description").trim().to_owned()),
        permissions: Some(
            form.get("permissions")
                .split_whitespace()
                .map(str::to_owned)
                .collect(),
        ),
    };
    let result = access::update_role_for(&state, &admin, &role, input)
        .await
        .map(|_| ());
    after_access_action(&state, &admin, result, "saved").await
}

pub async fn delete_role(
    State(state): State<AdminState>,
    admin: Admin,
    Path(role): Path<String>,
) -> Response {
    let result = access::delete_role_for(&state, &admin, &role).await;
    after_access_action(&state, &admin, result, "deleted").await
}

pub async fn create_group(State(state): State<AdminState>, admin: Admin, body: Bytes) -> Response {
    let form = FormData::parse(&body);
    let input = access::GroupInput {
        name: form.get("name").trim().to_owned(),
        description: form.get("description").trim().to_owned(),
    };
    let result = access::create_group_for(&state, &admin, input)
        .await
        .map(|_| ());
    after_access_action(&state, &admin, result, "created").await
}

pub async fn delete_group(
    State(state): State<AdminState>,
    admin: Admin,
    Path(group): Path<String>,
) -> Response {
    let result = access::delete_group_for(&state, &admin, &group).await;
    after_access_action(&state, &admin, result, "deleted").await
}
