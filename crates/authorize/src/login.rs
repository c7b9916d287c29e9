//! Sign-in with username and password.
//!
//! One message for an unknown user and a wrong password, and the same work for both (a
//! dummy argon2 verify). Attempts are counted before hashing on the keys `throttle.rs`
//! describes (account and address, address, account-wide rate, or a known device); a
//! locked key answers 429 with `Retry-After`, the same for any name. The session id, and
//! with it the CSRF token, changes at every successful sign-in (session fixation, ASVS
//! 7.2.4), and the browser gets a known-device cookie for the account.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::get;

use crate::endpoint::{continue_url, named_pending, see_other};
use crate::error::PageError;
use crate::pages::{self, LoginPage};
use crate::request::AuthorizationRequest;
use crate::throttle::{self, SignInKeys};
use crate::{AuthorizeState, ClientIp, password};
use gatehouse_core::{BrowserSession, Client, Params, User};
use gatehouse_storage::{Attempt, PendingRequest};

const BAD_CREDENTIALS: &str = "Wrong username or password.";
const MAX_PASSWORD: usize = 1024;
/// How long a sign-in may wait for a free password-hashing slot.
const PASSWORD_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

pub fn routes() -> Router<AuthorizeState> {
    Router::new().route("/login", get(login_page).post(login_submit))
}

struct Form<'a> {
    csrf_token: &'a str,
    request_id: Option<&'a str>,
    device: Option<&'a str>,
    /// Where to go after signing in without a request: only `admin` (the console).
    next: Option<&'a str>,
    client_name: Option<&'a str>,
    username: &'a str,
    /// The redirect URI the sign-in may end at (for the CSP's `form-action`).
    redirect_uri: Option<&'a str>,
}

impl<'a> Form<'a> {
    fn new(
        session: &'a BrowserSession,
        request: Option<&'a (PendingRequest, AuthorizationRequest, Client)>,
        device: Option<&'a str>,
        next: Option<&str>,
        username: &'a str,
    ) -> Self {
        Self {
            csrf_token: &session.csrf_token,
            request_id: request.map(|(p, _, _)| p.id.as_str()),
            device,
            next: next_param(next),
            client_name: request.map(|(_, _, c)| c.name.as_str()),
            redirect_uri: request.map(|(_, r, _)| r.redirect_uri.as_str()),
            username,
        }
    }
}

fn render(
    state: &AuthorizeState,
    status: StatusCode,
    form: &Form<'_>,
    error: Option<&str>,
) -> Response {
    let res = pages::render(
        status,
        &LoginPage {
            issuer: state.oidc.issuer.as_str(),
            csrf_token: form.csrf_token,
            request_id: form.request_id,
            device: form.device,
            next: form.next,
            signup: state.signup,
            client_name: form.client_name,
            username: form.username,
            error,
        },
    );
    pages::with_form_target(res, form.redirect_uri)
}

async fn login_page(
    State(state): State<AuthorizeState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let params = Params::parse(query.unwrap_or_default().as_bytes());
    let current = state.ensure_session(&headers).await?;
    let request = named_pending(&state, params.get("request"), &current.session).await?;
    let hint = request
        .as_ref()
        .and_then(|(_, r, _)| r.login_hint.as_deref());
    let device = device_param(params.get("device"));
    let page = Form::new(
        &current.session,
        request.as_ref(),
        device.as_deref(),
        params.get("next"),
        hint.unwrap_or(""),
    );
    let mut res = render(&state, StatusCode::OK, &page, None);
    if let Some(c) = current.set_cookie {
        res.headers_mut().append(header::SET_COOKIE, c);
    }
    Ok(res)
}

/// A sign-in: the CSRF token and the pending request, the password under the throttle,
/// then a fresh session and on to wherever the user was going.
async fn login_submit(
    State(state): State<AuthorizeState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    let (form, session) = state.csrf_form(&headers, &body).await?;
    let request = named_pending(&state, form.get("request"), &session).await?;
    let username = form.get("username").unwrap_or("").trim();
    let device = device_param(form.get("device"));
    // A name too long to be one is not shown back.
    let shown = if username.len() <= throttle::MAX_USERNAME_BYTES {
        username
    } else {
        ""
    };
    let page = Form::new(
        &session,
        request.as_ref(),
        device.as_deref(),
        form.get("next"),
        shown,
    );
    let password = form.get("password").unwrap_or("");
    let user = check_password(&state, &headers, &ip, username, password)
        .await
        .map_err(|refused| refused.answer(&state, &page))?;

    let (cookie, fresh) = state.sign_in(&session, &user.id).await?;
    let location = match &request {
        Some((pending, req, _)) => continue_url(&state, pending, req, &fresh).await?,
        // On the way to the device page: back there, with the code typed so far. Only a
        // fixed path and a validated code, so no open redirect.
        None if device.is_some() => state.oidc.issuer.url(&device_path(device.as_deref())),
        None if page.next == Some("admin") => state.oidc.issuer.url("/admin"),
        None => state.oidc.issuer.url("/"),
    };
    tracing::info!(user = %user.id, "signed in");
    // RFC 9700 §4.12: 303, so the browser does not resend the password to the next hop.
    let mut res = see_other(&location);
    res.headers_mut().append(header::SET_COOKIE, cookie);
    if let Some(c) = state.known_device_cookie(&user.id).await {
        res.headers_mut().append(header::SET_COOKIE, c);
    }
    Ok(res)
}

/// Why a sign-in attempt signed nobody in.
enum Refused {
    /// A wrong password, an unknown or disabled account, or a name that cannot exist: one
    /// answer for all (401).
    BadCredentials,
    /// A throttle key is locked: 429 with `Retry-After`.
    Locked {
        retry_after: i64,
    },
    /// No password-hashing slot was free: 429, try again in a second.
    Busy,
    Page(PageError),
}

impl From<gatehouse_storage::StoreError> for Refused {
    #[track_caller]
    fn from(e: gatehouse_storage::StoreError) -> Self {
        Self::Page(e.into())
    }
}

impl Refused {
    /// The sign-in form again with the reason, or the error page.
    fn answer(self, state: &AuthorizeState, page: &Form<'_>) -> PageError {
        match self {
            Self::BadCredentials => {
                render(state, StatusCode::UNAUTHORIZED, page, Some(BAD_CREDENTIALS)).into()
            }
            Self::Locked { retry_after } => {
                let mut res = render(
                    state,
                    StatusCode::TOO_MANY_REQUESTS,
                    page,
                    Some("Too many failed sign-in attempts. Wait a moment and try again."),
                );
                if let Ok(v) = HeaderValue::from_str(&retry_after.max(1).to_string()) {
                    res.headers_mut().insert(header::RETRY_AFTER, v);
                }
                res.into()
            }
            Self::Busy => {
                PageError::busy("Too many sign-ins are in progress. Try again in a moment.")
            }
            Self::Page(e) => e,
        }
    }
}

/// The account whose password this is, counted against the throttle keys before any
/// hashing (see `throttle.rs`).
async fn check_password(
    state: &AuthorizeState,
    headers: &HeaderMap,
    ip: &str,
    username: &str,
    password: &str,
) -> Result<User, Refused> {
    let now = state.oidc.now();
    let store = &state.oidc.store;
    let bucket = gatehouse_core::net::address_bucket_of(ip);
    // Usernames are visible ASCII or Unicode without control characters, at most 64 bytes;
    // a name that cannot exist is refused before anything is counted against it or hashed
    // (it still counts against the address).
    let plausible = !username.is_empty()
        && username.len() <= throttle::MAX_USERNAME_BYTES
        && password.len() <= MAX_PASSWORD
        && !username.chars().any(char::is_control);
    if !plausible {
        let address = format!("ip:{bucket}");
        return match store
            .count_attempt(&[(address.as_str(), &throttle::ADDRESS)], now)
            .await?
        {
            Attempt::Refused { until } => Err(Refused::Locked {
                retry_after: until - now,
            }),
            Attempt::Counted { .. } => Err(Refused::BadCredentials),
        };
    }
    // A disabled account verifies against its real hash and then fails like a wrong password.
    let (user, hash) = match store.find_user_credentials(username).await? {
        Some((u, h)) => (Some(u), Some(h)),
        None => (None, None),
    };
    let known = match &user {
        Some(u) => state.known_device(headers, &u.id).await,
        None => None,
    };
    let account =
        gatehouse_core::user::username_key(username).unwrap_or_else(|| username.to_lowercase());
    let keys = SignInKeys::new(&account, &bucket, known.as_deref());
    // Counted before any hashing: a burst of parallel guesses is counted one by one and
    // what exceeds an allowance is refused without hashing.
    let prior = match store.count_attempt(&keys.refs(), now).await? {
        Attempt::Counted { prior, .. } => prior,
        Attempt::Refused { until } => {
            return Err(Refused::Locked {
                retry_after: until - now,
            });
        }
    };
    // Likely guesses (an unknown account, or a key that failed recently) get a bounded
    // share of the hashing slots and never wait for one.
    let suspect = known.is_none() && (user.is_none() || prior > 0);
    let permit = if suspect {
        state.hash_slots.try_suspect()
    } else {
        state.hash_slots.acquire(PASSWORD_WAIT).await
    };
    let Some(permit) = permit else {
        // Not judged: the attempt is taken back.
        store.forgive_attempt(&keys.refs(), now).await?;
        return Err(Refused::Busy);
    };
    let verified = password::verify(hash, password.to_owned()).await;
    drop(permit);
    let Some(user) = user.filter(|u| verified && !u.disabled) else {
        // A guess that was checked is answered as wrong even when it locked a key: the lock
        // is for the attempts after it.
        tracing::info!(ip = %ip, known_device = known.is_some(), "failed sign-in");
        return Err(Refused::BadCredentials);
    };
    // This address (or device) proved itself: its lock on the account goes; the shared
    // keys only take back this attempt.
    store.clear_attempts(&keys.clear).await?;
    store.forgive_attempt(&keys.refs(), now).await?;
    Ok(user)
}

/// The `next` parameter: a fixed destination after signing in, so never an open redirect.
fn next_param(value: Option<&str>) -> Option<&'static str> {
    (value == Some("admin")).then_some("admin")
}

/// The `device` parameter: present when signing in on the way to `/device`; its value is
/// the normalised user code typed so far, or `-` when there is none yet.
fn device_param(value: Option<&str>) -> Option<String> {
    value.map(|v| gatehouse_core::device::normalize_user_code(v).unwrap_or_else(|| "-".to_owned()))
}

/// The device page to return to after signing in.
pub(crate) fn device_path(device: Option<&str>) -> String {
    match device.and_then(gatehouse_core::device::normalize_user_code) {
        Some(code) => format!("/device?user_code={code}"),
        None => "/device".to_owned(),
    }
}
