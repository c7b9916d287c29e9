//! Self-service sign-up at `/signup`, off unless the configuration opens it.
//!
//! The password policy is NIST SP 800-63B's (see [`password::check_new_password`]): at
//! least 12 characters, any Unicode, no composition rules, not among the 10,000 most
//! common passwords. Attempts count against the per-address throttle, so one address
//! cannot mass-create accounts. A new account is signed in at once (a fresh session), and
//! a sign-up that started from an authorization request continues it.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::get;
use gatehouse_core::{Audit, Params, secret};
use gatehouse_storage::{Attempt, NewUser, StoreError};
use serde_json::json;

use crate::endpoint::{load_pending, see_other};
use crate::pages::{self, SignupPage};
use crate::{AuthorizeState, ClientIp, password};

pub fn routes() -> Router<AuthorizeState> {
    Router::new().route("/signup", get(signup_page).post(signup_submit))
}

struct Form<'a> {
    csrf_token: &'a str,
    request_id: Option<&'a str>,
    username: &'a str,
    email: &'a str,
    /// The redirect URI the sign-up may end at (for the CSP's `form-action`).
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
        &SignupPage {
            issuer: state.oidc.issuer.as_str(),
            csrf_token: form.csrf_token,
            request_id: form.request_id,
            username: form.username,
            email: form.email,
            min_chars: password::MIN_NEW_PASSWORD_CHARS,
            error,
        },
    );
    pages::with_form_target(res, form.redirect_uri)
}

fn closed(state: &AuthorizeState) -> Response {
    state.page_error(
        StatusCode::NOT_FOUND,
        "Not found",
        "Accounts are created by an administrator here.",
    )
}

async fn signup_page(
    State(state): State<AuthorizeState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    if !state.signup {
        return closed(&state);
    }
    let params = Params::parse(query.unwrap_or_default().as_bytes());
    let current = match state.ensure_session(&headers).await {
        Ok(c) => c,
        Err(e) => return state.unavailable("signup", e),
    };
    let (request_id, redirect_uri) = match params.get("request") {
        Some(id) => match load_pending(&state, Some(id), Some(&current.session)).await {
            Ok((p, req, _)) => (Some(p.id), Some(req.redirect_uri)),
            Err(res) => return res,
        },
        None => (None, None),
    };
    let mut res = render(
        &state,
        StatusCode::OK,
        &Form {
            csrf_token: &current.session.csrf_token,
            request_id: request_id.as_deref(),
            username: "",
            email: "",
            redirect_uri: redirect_uri.as_deref(),
        },
        None,
    );
    if let Some(c) = current.set_cookie {
        res.headers_mut().append(header::SET_COOKIE, c);
    }
    res
}

async fn signup_submit(
    State(state): State<AuthorizeState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !state.signup {
        return closed(&state);
    }
    let (form, session) = match state.csrf_form(&headers, &body, "signup").await {
        Ok(v) => v,
        Err(res) => return res,
    };
    let (request_id, pending_req) = match form.get("request") {
        Some(id) => match load_pending(&state, Some(id), Some(&session)).await {
            Ok((p, req, _)) => (Some(p.id), Some(req)),
            Err(res) => return res,
        },
        None => (None, None),
    };
    let username = form.get("username").unwrap_or("").trim();
    let email = form.get("email").unwrap_or("").trim();
    let new_password = form.get("password").unwrap_or("");
    let page = Form {
        csrf_token: &session.csrf_token,
        request_id: request_id.as_deref(),
        username: if username.len() <= 64 { username } else { "" },
        email: if email.len() <= 254 { email } else { "" },
        redirect_uri: pending_req.as_ref().map(|r| r.redirect_uri.as_str()),
    };
    let bad = |message: &str| render(&state, StatusCode::BAD_REQUEST, &page, Some(message));

    let store = &state.oidc.store;
    let now = state.oidc.now();
    // Every attempt counts against the address: sign-up is not a way around the limits.
    let key = format!("signup:{}", gatehouse_core::net::address_bucket_of(&ip));
    match store
        .count_attempt(&[(key.as_str(), &crate::throttle::ADDRESS)], now)
        .await
    {
        Ok(Attempt::Counted { .. }) => {}
        Ok(Attempt::Refused { until }) => {
            let mut res = render(
                &state,
                StatusCode::TOO_MANY_REQUESTS,
                &page,
                Some("Too many sign-ups from this address. Wait a moment and try again."),
            );
            if let Ok(v) = HeaderValue::from_str(&(until - now).max(1).to_string()) {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
            return res;
        }
        Err(e) => return state.unavailable("signup", e),
    }
    if !gatehouse_core::user::valid_username(username) {
        return bad(
            "Choose a username of 1 to 64 characters: letters, digits and symbols, without spaces or invisible characters.",
        );
    }
    if !email.is_empty() && !gatehouse_core::user::valid_email(email) {
        return bad("That email address does not look right.");
    }
    if let Err(message) = password::check_new_password(new_password, username) {
        return bad(&message);
    }
    // Hashing holds 19 MiB: a new account is nobody's yet, so sign-up gets the bounded
    // share of the slots that likely guesses get, and is told at once when it is full.
    let Some(permit) = state.hash_slots.try_suspect() else {
        let mut res = state.page_error(
            StatusCode::TOO_MANY_REQUESTS,
            "Busy",
            "Too many sign-ups are in progress. Try again in a moment.",
        );
        res.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        return res;
    };
    let hash = password::hash_async(new_password.to_owned()).await;
    drop(permit);
    let hash = match hash {
        Ok(h) => h,
        Err(e) => return state.unavailable("signup", e),
    };
    let id = secret::random_token(16);
    let mut audit = Audit::new(format!("signup:{id}"), "user.signup", id.clone())
        .detail(json!({"username": username}));
    audit.address = Some(ip.clone());
    let created = store
        .create_user(
            NewUser {
                id: &id,
                username,
                password_hash: &hash,
                email: (!email.is_empty()).then_some(email),
                name: None,
                roles: &[],
            },
            now,
            &audit,
        )
        .await;
    match created {
        Ok(_) => {}
        Err(StoreError::Conflict(_)) => {
            return render(
                &state,
                StatusCode::CONFLICT,
                &page,
                Some("That username is taken. Choose another."),
            );
        }
        Err(StoreError::Refused(why)) => {
            return render(&state, StatusCode::BAD_REQUEST, &page, Some(why));
        }
        Err(e) => return state.unavailable("signup", e),
    }
    // Signed in at once, in a fresh session (nothing from before survives, CSRF included).
    let (cookie_value, fresh) = state.new_session(Some((&id, now)));
    if let Err(e) = store.replace_session(Some(&session.id_hash), &fresh).await {
        return state.unavailable("signup", e);
    }
    let location = match (&request_id, &pending_req) {
        (Some(rid), Some(req)) => {
            let rid =
                match crate::endpoint::bind_pending(&state, rid, req, &fresh.id_hash, now).await {
                    Ok(id) => id,
                    Err(e) => return state.unavailable("signup", e),
                };
            state
                .oidc
                .issuer
                .url(&format!("/authorize/continue?request={rid}"))
        }
        _ => state.oidc.issuer.url("/"),
    };
    tracing::info!(user = %id, "account created by sign-up");
    let mut res = see_other(&location);
    res.headers_mut()
        .append(header::SET_COOKIE, state.cookie.set(&cookie_value));
    res
}
