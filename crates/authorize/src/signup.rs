//! Self-service sign-up at `/signup`, off unless the configuration opens it.
//!
//! The password policy is NIST SP 800-63B's (see `gatehouse_core::password::check_new_password`): at
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

use std::borrow::Cow;

use crate::endpoint::{continue_url, named_pending, see_other};
use crate::error::PageError;
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
            min_chars: gatehouse_core::password::MIN_NEW_PASSWORD_CHARS,
            error,
        },
    );
    pages::with_form_target(res, form.redirect_uri)
}

fn closed() -> PageError {
    PageError::page(
        StatusCode::NOT_FOUND,
        "Not found",
        "Accounts are created by an administrator here.",
    )
}

async fn signup_page(
    State(state): State<AuthorizeState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    if !state.signup {
        return Err(closed());
    }
    let params = Params::parse(query.unwrap_or_default().as_bytes());
    let current = state.ensure_session(&headers).await?;
    let request = named_pending(&state, params.get("request"), &current.session).await?;
    let mut res = render(
        &state,
        StatusCode::OK,
        &Form {
            csrf_token: &current.session.csrf_token,
            request_id: request.as_ref().map(|(p, _, _)| p.id.as_str()),
            username: "",
            email: "",
            redirect_uri: request.as_ref().map(|(_, r, _)| r.redirect_uri.as_str()),
        },
        None,
    );
    if let Some(c) = current.set_cookie {
        res.headers_mut().append(header::SET_COOKIE, c);
    }
    Ok(res)
}

/// A sign-up: check the CSRF token and the pending request, create the account under the
/// address throttle, then sign it in and go on.
async fn signup_submit(
    State(state): State<AuthorizeState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    if !state.signup {
        return Err(closed());
    }
    let (form, session) = state.csrf_form(&headers, &body).await?;
    let request = named_pending(&state, form.get("request"), &session).await?;
    let username = form.get("username").unwrap_or("").trim();
    let email = form.get("email").unwrap_or("").trim();
    let page = Form {
        csrf_token: &session.csrf_token,
        request_id: request.as_ref().map(|(p, _, _)| p.id.as_str()),
        username: if username.len() <= 64 { username } else { "" },
        email: if email.len() <= 254 { email } else { "" },
        redirect_uri: request.as_ref().map(|(_, r, _)| r.redirect_uri.as_str()),
    };
    let new_password = form.get("password").unwrap_or("");
    let id = create_account(&state, &ip, username, email, new_password)
        .await
        .map_err(|refused| refused.answer(&state, &page))?;

    // Signed in at once, in a fresh session (nothing from before survives, CSRF included).
    let (cookie, fresh) = state.sign_in(&session, &id).await?;
    let location = match &request {
        Some((pending, req, _)) => continue_url(&state, pending, req, &fresh).await?,
        None => state.oidc.issuer.url("/"),
    };
    tracing::info!(user = %id, "account created by sign-up");
    let mut res = see_other(&location);
    res.headers_mut().append(header::SET_COOKIE, cookie);
    Ok(res)
}

/// Why a sign-up created no account.
enum Refused {
    /// Too many sign-ups from this address: 429 with `Retry-After`.
    TooMany {
        retry_after: i64,
    },
    /// A name, address or password the rules refuse: 400 with the rule.
    Invalid(Cow<'static, str>),
    /// The username (or one confusable with it) is taken: 409.
    Taken,
    /// No password-hashing slot was free: 429, try again in a second.
    Busy,
    Page(PageError),
}

impl From<StoreError> for Refused {
    #[track_caller]
    fn from(e: StoreError) -> Self {
        Self::Page(e.into())
    }
}

impl Refused {
    /// The sign-up form again with the reason, or the error page.
    fn answer(self, state: &AuthorizeState, page: &Form<'_>) -> PageError {
        match self {
            Self::TooMany { retry_after } => {
                let mut res = render(
                    state,
                    StatusCode::TOO_MANY_REQUESTS,
                    page,
                    Some("Too many sign-ups from this address. Wait a moment and try again."),
                );
                if let Ok(v) = HeaderValue::from_str(&retry_after.max(1).to_string()) {
                    res.headers_mut().insert(header::RETRY_AFTER, v);
                }
                res.into()
            }
            Self::Invalid(message) => {
                render(state, StatusCode::BAD_REQUEST, page, Some(&message)).into()
            }
            Self::Taken => render(
                state,
                StatusCode::CONFLICT,
                page,
                Some("That username is taken. Choose another."),
            )
            .into(),
            Self::Busy => {
                PageError::busy("Too many sign-ups are in progress. Try again in a moment.")
            }
            Self::Page(e) => e,
        }
    }
}

/// Creates the account, after counting the attempt against the address (sign-up is not a
/// way around the limits) and checking the name, address and password. Returns its id.
async fn create_account(
    state: &AuthorizeState,
    ip: &str,
    username: &str,
    email: &str,
    new_password: &str,
) -> Result<String, Refused> {
    let store = &state.oidc.store;
    let now = state.oidc.now();
    let key = format!("signup:{}", gatehouse_core::net::address_bucket_of(ip));
    if let Attempt::Refused { until } = store
        .count_attempt(&[(key.as_str(), &crate::throttle::ADDRESS)], now)
        .await?
    {
        return Err(Refused::TooMany {
            retry_after: until - now,
        });
    }
    if !gatehouse_core::user::valid_username(username) {
        return Err(Refused::Invalid(
            "Choose a username of 1 to 64 characters: letters, digits and symbols, without spaces or invisible characters.".into(),
        ));
    }
    if !email.is_empty() && !gatehouse_core::user::valid_email(email) {
        return Err(Refused::Invalid(
            "That email address does not look right.".into(),
        ));
    }
    gatehouse_core::password::check_new_password(new_password, username)
        .map_err(|message| Refused::Invalid(message.into()))?;
    // Hashing holds 19 MiB: a new account is nobody's yet, so sign-up gets the bounded
    // share of the slots that likely guesses get, and is told at once when it is full.
    let permit = state.hash_slots.try_suspect().ok_or(Refused::Busy)?;
    let hash = password::hash_async(new_password.to_owned()).await;
    drop(permit);
    let hash = hash.map_err(|e| Refused::Page(PageError::unavailable(e)))?;
    let id = secret::random_token(16);
    let mut audit = Audit::new(format!("signup:{id}"), "user.signup", id.clone())
        .detail(json!({"username": username}));
    audit.address = Some(ip.to_owned());
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
        Ok(_) => Ok(id),
        Err(StoreError::Conflict(_)) => Err(Refused::Taken),
        Err(StoreError::Refused(why)) => Err(Refused::Invalid(why.into())),
        Err(e) => Err(e.into()),
    }
}
