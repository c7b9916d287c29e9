//! RP-Initiated Logout 1.0 at the `end_session_endpoint`.
//!
//! With a valid `id_token_hint` for the current session the user is signed out at once;
//! otherwise the user confirms on a CSRF-protected page (§2, §6: a logout request without
//! a hint may come from anyone). `post_logout_redirect_uri` is honoured only when it is
//! registered, exactly, for the client the request identifies (§3), and without a valid
//! hint it is never followed on the server's word: the user confirms (signed in) or is
//! offered a link (signed out), so a client anyone registered is no open redirector. The
//! confirmation page also offers "sign out everywhere": every session and every grant of
//! the account end.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use gatehouse_core::Client;

use crate::AuthorizeState;
use crate::endpoint::see_other;
use crate::error::PageError;
use crate::pages::{self, LogoutForm, LogoutPage};
use crate::request::RedirectTarget;
use gatehouse_core::Params;
use gatehouse_oidc::is_form;

pub fn routes() -> Router<AuthorizeState> {
    Router::new()
        .route("/logout", get(logout_get).post(logout_post))
        .route("/logout/confirm", post(logout_confirm))
}

/// A validated logout request.
struct LogoutRequest {
    client: Option<Client>,
    redirect: Option<RedirectTarget>,
    /// A valid `id_token_hint` came with it.
    hinted: bool,
    hint_sid: Option<String>,
    hint_sub: Option<String>,
}

fn bad(description: impl Into<std::borrow::Cow<'static, str>>) -> PageError {
    PageError::bad_request("Invalid sign-out request", description)
}

async fn validate(state: &AuthorizeState, params: &Params) -> Result<LogoutRequest, PageError> {
    if let Some(name) = params.first_duplicated() {
        return Err(bad(format!("Parameter {name} was sent more than once.")));
    }
    let hint = match params.get("id_token_hint") {
        None => None,
        Some(h) => Some(
            state
                .oidc
                .minter
                .verify_id_token_hint(&*state.oidc.verification_keys(h).await, h)
                .map_err(|_| bad("The id_token_hint is not an ID token issued by this server."))?,
        ),
    };
    let client_id = match (params.get("client_id"), &hint) {
        (Some(c), Some(h)) if c != h.client_id => {
            return Err(bad("client_id does not match the id_token_hint."));
        }
        (Some(c), _) => Some(c.to_owned()),
        (None, Some(h)) => Some(h.client_id.clone()),
        (None, None) => None,
    };
    if client_id
        .as_deref()
        .is_some_and(|id| id.len() > 255 || !gatehouse_core::secret::is_vschar(id))
    {
        return Err(bad("The client is not registered here."));
    }
    let client = match &client_id {
        None => None,
        Some(id) => Some(
            state
                .oidc
                .store
                .find_client(id)
                .await?
                .ok_or_else(|| bad("The client is not registered here."))?,
        ),
    };
    let redirect = match params.get("post_logout_redirect_uri") {
        None => None,
        Some(uri) => {
            let registered = client
                .as_ref()
                .is_some_and(|c| c.post_logout_redirect_uris.iter().any(|r| r == uri));
            if !registered {
                return Err(bad(
                    "The post_logout_redirect_uri is not registered for this client, or the request names no client.",
                ));
            }
            Some(RedirectTarget {
                mode: crate::request::ResponseMode::Query,
                redirect_uri: uri.to_owned(),
                state: params
                    .get("state")
                    .filter(|s| s.len() <= 2048 && !s.chars().any(char::is_control))
                    .map(str::to_owned),
            })
        }
    };
    Ok(LogoutRequest {
        client,
        redirect,
        hinted: hint.is_some(),
        hint_sid: hint.as_ref().and_then(|h| h.sid.clone()),
        hint_sub: hint.map(|h| h.sub),
    })
}

async fn logout_get(
    State(state): State<AuthorizeState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let params = Params::parse(query.unwrap_or_default().as_bytes());
    logout(state, params, headers).await
}

async fn logout_post(
    State(state): State<AuthorizeState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    if !is_form(&headers) {
        return Err(bad("Expected a form."));
    }
    logout(state, Params::parse(&body), headers).await
}

async fn logout(
    state: AuthorizeState,
    params: Params,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let req = validate(&state, &params).await?;
    let session = state.load_session(&headers).await?;
    let Some(session) = session.filter(|s| s.user_id.is_some()) else {
        // Nobody is signed in: nothing to confirm, and without a valid hint the redirect is
        // only offered.
        return finish(&state, &req, req.hinted, None, None);
    };
    let hint_matches = match (&req.hint_sid, &req.hint_sub) {
        (Some(sid), _) => *sid == session.sid,
        (None, Some(sub)) => session.user_id.as_deref() == Some(sub.as_str()),
        (None, None) => false,
    };
    if hint_matches {
        state.oidc.store.delete_session(&session.id_hash).await?;
        return finish(&state, &req, true, Some(&state), None);
    }
    let res = pages::render(
        StatusCode::OK,
        &LogoutPage {
            issuer: state.oidc.issuer.as_str(),
            confirm: Some(LogoutForm {
                csrf_token: &session.csrf_token,
                client_name: req.client.as_ref().map(|c| c.name.as_str()),
                client_id: req.client.as_ref().map(|c| c.client_id.as_str()),
                post_logout_redirect_uri: req.redirect.as_ref().map(|r| r.redirect_uri.as_str()),
                state: req.redirect.as_ref().and_then(|r| r.state.as_deref()),
            }),
            continue_to: None,
            everywhere: None,
        },
    );
    Ok(pages::with_form_target(
        res,
        req.redirect.as_ref().map(|r| r.redirect_uri.as_str()),
    ))
}

async fn logout_confirm(
    State(state): State<AuthorizeState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    let (form, session) = state.csrf_form(&headers, &body).await?;
    let req = validate(&state, &form).await?;
    // "Sign out everywhere": every session of the account and every grant (so every
    // token an app holds) end, in one transaction.
    let everywhere = match (form.get("everywhere"), session.user_id.as_deref()) {
        (Some("1"), Some(user_id)) => {
            let audit = gatehouse_core::Audit::new(
                format!("user:{user_id}"),
                "user.sign_out_everywhere",
                user_id,
            );
            let counts = state
                .oidc
                .store
                .sign_out_everywhere(user_id, state.oidc.now(), &audit)
                .await?;
            Some(counts)
        }
        _ => {
            state.oidc.store.delete_session(&session.id_hash).await?;
            None
        }
    };
    // The user confirmed on our page: the redirect is theirs to follow.
    finish(&state, &req, true, Some(&state), everywhere)
}

/// After logout: back to the client when the request carried a valid hint or the user
/// confirmed (`follow`); otherwise the signed-out page, with the client's page offered as a
/// link. `clear` removes the cookie.
fn finish(
    state: &AuthorizeState,
    req: &LogoutRequest,
    follow: bool,
    clear: Option<&AuthorizeState>,
    everywhere: Option<(u64, u64)>,
) -> Result<Response, PageError> {
    let target = req.redirect.as_ref().map(|t| {
        let mut url = url::Url::parse(&t.redirect_uri).ok();
        if let (Some(u), Some(s)) = (url.as_mut(), &t.state) {
            u.query_pairs_mut().append_pair("state", s);
        }
        url
    });
    let mut res = match target {
        Some(Some(url)) if follow => see_other(url.as_str()),
        Some(Some(url)) => pages::render(
            StatusCode::OK,
            &LogoutPage {
                issuer: state.oidc.issuer.as_str(),
                confirm: None,
                continue_to: Some(pages::ContinueLink {
                    client_name: req
                        .client
                        .as_ref()
                        .map_or("the application", |c| c.name.as_str()),
                    uri: url.as_str(),
                }),
                everywhere,
            },
        ),
        Some(None) => {
            return Err(PageError::bad_request("Invalid redirect", "Malformed URI."));
        }
        None => pages::render(
            StatusCode::OK,
            &LogoutPage {
                issuer: state.oidc.issuer.as_str(),
                confirm: None,
                continue_to: None,
                everywhere,
            },
        ),
    };
    if let Some(s) = clear {
        res.headers_mut()
            .append(header::SET_COOKIE, s.cookie.clear());
    }
    Ok(res)
}
