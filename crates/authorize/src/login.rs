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

use crate::endpoint::{load_pending, see_other};
use crate::pages::{self, LoginPage};
use crate::throttle::{self, SignInKeys};
use crate::{AuthorizeState, ClientIp, password};
use gatehouse_core::Params;
use gatehouse_storage::Attempt;

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
) -> Response {
    let params = Params::parse(query.unwrap_or_default().as_bytes());
    let current = match state.ensure_session(&headers).await {
        Ok(c) => c,
        Err(e) => return state.unavailable("login", e),
    };
    let device = device_param(params.get("device"));
    let (request_id, client_name, hint, redirect_uri) = match params.get("request") {
        Some(id) => match load_pending(&state, Some(id), Some(&current.session)).await {
            Ok((p, req, client)) => (
                Some(p.id),
                Some(client.name),
                req.login_hint,
                Some(req.redirect_uri),
            ),
            Err(res) => return res,
        },
        None => (None, None, None, None),
    };
    let mut res = render(
        &state,
        StatusCode::OK,
        &Form {
            csrf_token: &current.session.csrf_token,
            request_id: request_id.as_deref(),
            device: device.as_deref(),
            next: next_param(params.get("next")),
            client_name: client_name.as_deref(),
            username: hint.as_deref().unwrap_or(""),
            redirect_uri: redirect_uri.as_deref(),
        },
        None,
    );
    if let Some(c) = current.set_cookie {
        res.headers_mut().append(header::SET_COOKIE, c);
    }
    res
}

async fn login_submit(
    State(state): State<AuthorizeState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (form, session) = match state.csrf_form(&headers, &body, "login").await {
        Ok(v) => v,
        Err(res) => return res,
    };
    let request = match form.get("request") {
        Some(id) => match load_pending(&state, Some(id), Some(&session)).await {
            Ok((p, req, client)) => Some((p.id, client.name, req)),
            Err(res) => return res,
        },
        None => None,
    };
    let device = device_param(form.get("device"));
    let username = form.get("username").unwrap_or("").trim();
    let password = form.get("password").unwrap_or("");
    let page = Form {
        csrf_token: &session.csrf_token,
        request_id: request.as_ref().map(|(id, _, _)| id.as_str()),
        device: device.as_deref(),
        next: next_param(form.get("next")),
        client_name: request.as_ref().map(|(_, n, _)| n.as_str()),
        redirect_uri: request.as_ref().map(|(_, _, r)| r.redirect_uri.as_str()),
        username: if username.len() <= throttle::MAX_USERNAME_BYTES {
            username
        } else {
            ""
        },
    };

    let now = state.oidc.now();
    let store = &state.oidc.store;
    let bucket = gatehouse_core::net::address_bucket_of(&ip);
    // Usernames are visible ASCII or Unicode without control characters, at most 64 bytes;
    // a name that cannot exist is refused before anything is counted against it or hashed
    // (it still counts against the address).
    let account =
        gatehouse_core::user::username_key(username).unwrap_or_else(|| username.to_lowercase());
    let plausible = !username.is_empty()
        && username.len() <= throttle::MAX_USERNAME_BYTES
        && password.len() <= MAX_PASSWORD
        && !username.chars().any(char::is_control);
    if !plausible {
        let address = format!("ip:{bucket}");
        return match store
            .count_attempt(&[(address.as_str(), &throttle::ADDRESS)], now)
            .await
        {
            Ok(Attempt::Refused { until }) => too_many(&state, &page, until - now),
            Ok(Attempt::Counted { .. }) => render(
                &state,
                StatusCode::UNAUTHORIZED,
                &page,
                Some(BAD_CREDENTIALS),
            ),
            Err(e) => state.unavailable("login", e),
        };
    }
    let credentials = match store.find_user_credentials(username).await {
        Ok(c) => c,
        Err(e) => return state.unavailable("login", e),
    };
    // A disabled account verifies against its real hash and then fails like a wrong password.
    let (user, hash) = match credentials {
        Some((u, h)) => (Some(u), Some(h)),
        None => (None, None),
    };
    let known = match &user {
        Some(u) => state.known_device(&headers, &u.id).await,
        None => None,
    };
    let keys = SignInKeys::new(&account, &bucket, known.as_deref());
    // Counted before any hashing: a burst of parallel guesses is counted one by one and
    // what exceeds an allowance is refused without hashing.
    let prior = match store.count_attempt(&keys.refs(), now).await {
        Ok(Attempt::Counted { prior, .. }) => prior,
        Ok(Attempt::Refused { until }) => return too_many(&state, &page, until - now),
        Err(e) => return state.unavailable("login", e),
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
        if let Err(e) = store.forgive_attempt(&keys.refs(), now).await {
            return state.unavailable("login", e);
        }
        let mut res = state.page_error(
            StatusCode::TOO_MANY_REQUESTS,
            "Busy",
            "Too many sign-ins are in progress. Try again in a moment.",
        );
        res.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        return res;
    };
    let verified = password::verify(hash, password.to_owned()).await;
    drop(permit);
    let user = user.filter(|u| verified && !u.disabled);

    let Some(user) = user else {
        // A guess that was checked is answered as wrong even when it locked a key: the lock
        // is for the attempts after it.
        tracing::info!(ip = %ip, known_device = known.is_some(), "failed sign-in");
        return render(
            &state,
            StatusCode::UNAUTHORIZED,
            &page,
            Some(BAD_CREDENTIALS),
        );
    };

    // This address (or device) proved itself: its lock on the account goes; the shared
    // keys only take back this attempt.
    if let Err(e) = store.clear_attempts(&keys.clear).await {
        return state.unavailable("login", e);
    }
    if let Err(e) = store.forgive_attempt(&keys.refs(), now).await {
        return state.unavailable("login", e);
    }
    let (cookie_value, fresh) = state.new_session(Some((&user.id, now)));
    if let Err(e) = state
        .oidc
        .store
        .replace_session(Some(&session.id_hash), &fresh)
        .await
    {
        return state.unavailable("login", e);
    }
    let location = match &request {
        Some((id, _, req)) => {
            let id = match crate::endpoint::bind_pending(&state, id, req, &fresh.id_hash, now).await
            {
                Ok(id) => id,
                Err(e) => return state.unavailable("login", e),
            };
            format!(
                "{}/authorize/continue?request={id}",
                state.oidc.issuer.as_str()
            )
        }
        // On the way to the device page: back there, with the code typed so far. Only a
        // fixed path and a validated code, so no open redirect.
        None if device.is_some() => state.oidc.issuer.url(&device_path(device.as_deref())),
        None if page.next == Some("admin") => state.oidc.issuer.url("/admin"),
        None => state.oidc.issuer.url("/"),
    };
    tracing::info!(user = %user.id, "signed in");
    // RFC 9700 §4.12: 303, so the browser does not resend the password to the next hop.
    let mut res = see_other(&location);
    res.headers_mut()
        .append(header::SET_COOKIE, state.cookie.set(&cookie_value));
    if let Some(c) = state.known_device_cookie(&user.id).await {
        res.headers_mut().append(header::SET_COOKIE, c);
    }
    res
}

fn too_many(state: &AuthorizeState, page: &Form<'_>, retry_after: i64) -> Response {
    let mut res = render(
        state,
        StatusCode::TOO_MANY_REQUESTS,
        page,
        Some("Too many failed sign-in attempts. Wait a moment and try again."),
    );
    if let Ok(v) = HeaderValue::from_str(&retry_after.max(1).to_string()) {
        res.headers_mut().insert(header::RETRY_AFTER, v);
    }
    res
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
