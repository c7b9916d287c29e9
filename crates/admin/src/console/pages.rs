//! The console's templates and the small formatting they need.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use crate::api::clients::{ClientView, GrantView};
use crate::api::system::{AuditView, KeyView, RegistrationTokenView};
use crate::api::users::{SessionView, UserView};

/// What every console page shows: who is signed in, the CSRF token for its forms, and a
/// message from the last action.
pub struct Layout {
    pub issuer: String,
    pub csrf_token: String,
    pub admin: String,
    pub notice: Option<String>,
    pub error: Option<String>,
}

/// Unix seconds as `YYYY-MM-DD HH:MM UTC` (Howard Hinnant's civil-from-days).
pub fn when(t: i64) -> String {
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        secs / 3600,
        (secs % 3600) / 60
    )
}

pub fn render(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(body) => (status, Html(body)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "console: template failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// Links to the previous and next page of a listing.
pub struct Pager {
    pub prev: Option<String>,
    pub next: Option<String>,
    pub shown: String,
}

impl Pager {
    /// The pager of listing `q` at `base` with `total` rows, and the search text to show
    /// back in the search box.
    pub fn for_listing(base: &str, q: &gatehouse_core::Query, total: u64) -> (String, Self) {
        let search = q.search.clone().unwrap_or_default();
        let pager = Self::new(base, &search, q.offset, q.limit, total);
        (search, pager)
    }

    fn new(base: &str, search: &str, offset: u64, limit: u64, total: u64) -> Self {
        let link = |o: u64| {
            let q = form_urlencoded::Serializer::new(String::new())
                .append_pair("search", search)
                .append_pair("offset", &o.to_string())
                .finish();
            format!("{base}?{q}")
        };
        let end = (offset + limit).min(total);
        Self {
            prev: (offset > 0).then(|| link(offset.saturating_sub(limit))),
            next: (end < total).then(|| link(end)),
            shown: if total == 0 {
                "none".into()
            } else {
                format!("{}–{end} of {total}", offset + 1)
            },
        }
    }
}

pub struct AuditRow {
    pub when: String,
    pub entry: AuditView,
    pub detail: String,
}

impl From<AuditView> for AuditRow {
    fn from(entry: AuditView) -> Self {
        Self {
            when: when(entry.at),
            detail: if entry.detail.is_null() {
                String::new()
            } else {
                entry.detail.to_string()
            },
            entry,
        }
    }
}

#[derive(Template)]
#[template(path = "admin/home.html")]
pub struct HomePage {
    pub layout: Layout,
    pub clients: u64,
    pub users: u64,
    pub audit: Vec<AuditRow>,
}

/// The values of the create-client form, kept when it is shown again with an error.
#[derive(Default)]
pub struct ClientForm {
    pub client_name: String,
    pub redirect_uris: String,
    pub scope: String,
    pub auth_method: String,
    pub application_type: String,
    pub grant_types: Vec<String>,
}

impl ClientForm {
    pub fn has_grant(&self, g: &str) -> bool {
        self.grant_types.iter().any(|x| x == g)
    }
}

#[derive(Template)]
#[template(path = "admin/clients.html")]
pub struct ClientsPage {
    pub layout: Layout,
    pub search: String,
    pub clients: Vec<ClientView>,
    pub pager: Pager,
    pub form: ClientForm,
}

#[derive(Template)]
#[template(path = "admin/secret.html")]
pub struct SecretPage {
    pub layout: Layout,
    pub title: String,
    pub client_id: String,
    pub client_name: String,
    pub secret: Option<String>,
}

pub struct GrantRow {
    pub grant: GrantView,
    pub created: String,
}

impl From<GrantView> for GrantRow {
    fn from(grant: GrantView) -> Self {
        Self {
            created: when(grant.created_at),
            grant,
        }
    }
}

#[derive(Template)]
#[template(path = "admin/client.html")]
pub struct ClientPage {
    pub layout: Layout,
    pub client: ClientView,
    pub created: String,
    pub redirect_uris: String,
    pub post_logout_redirect_uris: String,
    pub allowed_origins: String,
    pub roles: Vec<String>,
    pub all_roles: Vec<String>,
    pub grants: Vec<GrantRow>,
}

impl ClientPage {
    pub fn has_grant(&self, g: &str) -> bool {
        self.client.grant_types.iter().any(|x| x == g)
    }
}

#[derive(Default)]
pub struct UserForm {
    pub username: String,
    pub email: String,
    pub name: String,
}

#[derive(Template)]
#[template(path = "admin/users.html")]
pub struct UsersPage {
    pub layout: Layout,
    pub search: String,
    pub users: Vec<UserView>,
    pub pager: Pager,
    pub form: UserForm,
}

pub struct SessionRow {
    pub session: SessionView,
    pub signed_in: String,
    pub expires: String,
}

#[derive(Template)]
#[template(path = "admin/user.html")]
pub struct UserPage {
    pub layout: Layout,
    pub user: UserView,
    pub created: String,
    pub roles: Vec<String>,
    pub groups: Vec<String>,
    pub all_roles: Vec<String>,
    pub all_groups: Vec<String>,
    pub sessions: Vec<SessionRow>,
    pub grants: Vec<GrantRow>,
}

pub struct NamedRow {
    pub name: String,
    pub description: String,
    pub permissions: String,
    pub builtin: bool,
}

#[derive(Template)]
#[template(path = "admin/roles.html")]
pub struct AccessPage {
    pub layout: Layout,
    pub roles: Vec<NamedRow>,
    pub groups: Vec<NamedRow>,
}

pub struct KeyRow {
    pub key: KeyView,
    pub created: String,
}

pub struct TokenRow {
    pub token: RegistrationTokenView,
    pub short_id: String,
    pub expires: String,
}

#[derive(Template)]
#[template(path = "admin/keys.html")]
pub struct KeysPage {
    pub layout: Layout,
    pub keys: Vec<KeyRow>,
    pub tokens: Vec<TokenRow>,
    pub resources: Vec<crate::api::resources::ResourceView>,
}

#[derive(Template)]
#[template(path = "admin/token.html")]
pub struct TokenPage {
    pub layout: Layout,
    pub token: String,
    pub expires: String,
}

#[derive(Template)]
#[template(path = "admin/audit.html")]
pub struct AuditPage {
    pub layout: Layout,
    pub search: String,
    pub rows: Vec<AuditRow>,
    pub pager: Pager,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_as_utc_dates() {
        assert_eq!(when(0), "1970-01-01 00:00 UTC");
        assert_eq!(when(951_782_400), "2000-02-29 00:00 UTC");
        assert_eq!(when(1_795_737_540), "2026-11-26 23:59 UTC");
    }
}
