//! `/authorize` (RFC 6749 §4.1.1), `/authorize/continue` (after sign-in), `/consent`,
//! and the home page.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use gatehouse_core::{
    AUTHORIZATION_CODE_TTL_SECS, AuthorizationCode, BrowserSession, Client, Grant, User, secret,
};
use gatehouse_oidc::is_form;
use gatehouse_storage::PendingRequest;
use url::Url;

use crate::AuthorizeState;
use crate::decision::{self, Context, Outcome};
use crate::error::PageError;
use crate::pages::{self, ConsentPage, IndexPage};
use crate::request::{self, AuthorizationRequest, RedirectTarget, Refusal, ResponseMode};
use gatehouse_core::Params;

pub fn routes() -> Router<AuthorizeState> {
    Router::new()
        .route("/", get(index))
        .route("/authorize", get(authorize_get).post(authorize_post))
        .route("/authorize/continue", get(continue_request))
        .route("/consent", get(consent_page).post(consent_submit))
}

/// Answers that go back to the client.
impl AuthorizeState {
    /// A 303 to one of the client's redirect URIs, with the response parameters and `iss`
    /// (RFC 9207 §2).
    pub(crate) fn redirect_to_client(
        &self,
        target: &RedirectTarget,
        pairs: &[(&str, &str)],
    ) -> Result<Response, PageError> {
        if target.mode == ResponseMode::FormPost {
            let mut fields: Vec<(String, String)> = pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
            if let Some(state) = &target.state {
                fields.push(("state".into(), state.clone()));
            }
            fields.push(("iss".into(), self.issuer().to_owned()));
            return Ok(pages::form_post(
                self.issuer(),
                &target.redirect_uri,
                fields,
            ));
        }
        let Ok(mut url) = Url::parse(&target.redirect_uri) else {
            return Err(PageError::bad_request(
                "Invalid redirect",
                "The redirect URI is malformed.",
            ));
        };
        {
            let mut q = url.query_pairs_mut();
            for (k, v) in pairs {
                q.append_pair(k, v);
            }
            if let Some(state) = &target.state {
                q.append_pair("state", state);
            }
            q.append_pair("iss", self.issuer());
        }
        Ok(see_other(url.as_str()))
    }

    /// An error for the client (RFC 6749 §4.1.2.1), as a redirect to it.
    fn redirect_error(
        &self,
        target: &RedirectTarget,
        error: &str,
        description: &str,
    ) -> Result<Response, PageError> {
        let description = gatehouse_core::error_description(description);
        self.redirect_to_client(
            target,
            &[("error", error), ("error_description", &description)],
        )
    }

    /// The same error as a `PageError`, to return with `?`.
    fn to_client(&self, target: &RedirectTarget, error: &str, description: &str) -> PageError {
        match self.redirect_error(target, error, description) {
            Ok(res) => res.into(),
            Err(e) => e,
        }
    }

    /// Storage failed after the client was established: tell the client (RFC 6749
    /// §4.1.2.1) rather than show the 503 page. Other errors pass unchanged.
    fn outage_to_client(&self, target: &RedirectTarget, e: PageError) -> PageError {
        match e {
            PageError::Unavailable => self.to_client(
                target,
                "temporarily_unavailable",
                "the server cannot complete this request right now",
            ),
            other => other,
        }
    }

    fn refusal(&self, r: Refusal) -> PageError {
        match r {
            Refusal::Page {
                description,
                unavailable,
            } => {
                let status = if unavailable {
                    StatusCode::SERVICE_UNAVAILABLE
                } else {
                    StatusCode::BAD_REQUEST
                };
                PageError::page(status, "Invalid authorization request", description)
            }
            Refusal::Redirect {
                target,
                error,
                description,
            } => self.to_client(&target, error, &description),
        }
    }
}

pub(crate) fn see_other(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(v) => (StatusCode::SEE_OTHER, [(header::LOCATION, v)]).into_response(),
        Err(_) => (StatusCode::BAD_REQUEST, "invalid redirect").into_response(),
    }
}

fn with_cookie(mut res: Response, cookie: Option<HeaderValue>) -> Response {
    if let Some(c) = cookie {
        res.headers_mut().append(header::SET_COOKIE, c);
    }
    res
}

async fn index(
    State(state): State<AuthorizeState>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let session = state.load_session(&headers).await?;
    let user = state.signed_in_user(session.as_ref()).await?;
    Ok(pages::render(
        StatusCode::OK,
        &IndexPage {
            issuer: state.issuer(),
            username: user.as_ref().map(|(u, _)| u.username.as_str()),
        },
    ))
}

async fn authorize_get(
    State(state): State<AuthorizeState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let params = Params::parse(query.unwrap_or_default().as_bytes());
    authorize(state, params, headers).await
}

/// OIDC Core §3.1.2.1: the authorization endpoint also accepts POST with a form body.
/// Parameters in the query and the body together count as one set, so a parameter in both
/// is a duplicate.
async fn authorize_post(
    State(state): State<AuthorizeState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    if !is_form(&headers) {
        return Err(PageError::bad_request(
            "Invalid authorization request",
            "A POST to the authorization endpoint must be application/x-www-form-urlencoded.",
        ));
    }
    let mut params = Params::parse(query.unwrap_or_default().as_bytes());
    params.extend(&body);
    authorize(state, params, headers).await
}

async fn authorize(
    state: AuthorizeState,
    params: Params,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let (client, req) = request::validate(&state.oidc, &params)
        .await
        .map_err(|r| state.refusal(r))?;
    let session = state
        .load_session(&headers)
        .await
        .map_err(|e| state.outage_to_client(&req.target(), e.into()))?;
    proceed(&state, &client, req, session, None, &headers).await
}

/// Decides what a request needs next and does it. From here on the client is known, so a
/// storage failure is told to the client.
async fn proceed(
    state: &AuthorizeState,
    client: &Client,
    req: AuthorizationRequest,
    session: Option<BrowserSession>,
    pending: Option<PendingRequest>,
    headers: &HeaderMap,
) -> Result<Response, PageError> {
    let target = req.target();
    next_step(state, client, req, session, pending, headers)
        .await
        .map_err(|e| state.outage_to_client(&target, e))
}

async fn next_step(
    state: &AuthorizeState,
    client: &Client,
    req: AuthorizationRequest,
    session: Option<BrowserSession>,
    pending: Option<PendingRequest>,
    headers: &HeaderMap,
) -> Result<Response, PageError> {
    let user = state.signed_in_user(session.as_ref()).await?;
    let consented = match &user {
        Some((u, _)) => {
            state
                .oidc
                .store
                .find_consent(&u.id, &client.client_id)
                .await?
        }
        None => None,
    };
    let outcome = decision::decide(
        &req,
        Context {
            session: user.as_ref().map(|(u, t)| (u.id.as_str(), *t)),
            consented: consented.as_ref(),
            logged_in_for_request: pending.as_ref().is_some_and(|p| p.logged_in_at.is_some()),
            consented_for_request: pending.as_ref().is_some_and(|p| p.consented_at.is_some()),
            now: state.oidc.now(),
        },
    );
    let step = match outcome {
        Outcome::Issue => {
            let (Some((user, auth_time)), Some(session)) = (user, session) else {
                return Err(PageError::expired_request());
            };
            return issue_code(state, &req, &user, auth_time, &session, pending.as_ref()).await;
        }
        Outcome::Error(error) => {
            if let Some(p) = &pending {
                let _ = state.oidc.store.take_pending_request(&p.id).await;
            }
            return state.redirect_error(&req.target(), error.code(), error.description());
        }
        Outcome::Login => "login",
        Outcome::Consent => "consent",
    };
    let current = state.ensure_session(headers).await?;
    let pending_id = match (&pending, &session) {
        (Some(p), _) => p.id.clone(),
        // A browser with a session row keeps the request server-side.
        (None, Some(s)) => save_pending(state, &req, &s.id_hash).await?,
        // An anonymous browser gets it sealed and bound to its cookie: nothing is written
        // until it signs in.
        (None, None) => seal_pending(state, &req, &current.session.id_hash)
            .ok_or_else(|| PageError::unavailable("sealing the request failed"))?,
    };
    let location = format!("{}/{step}?request={pending_id}", state.issuer());
    Ok(with_cookie(see_other(&location), current.set_cookie))
}

/// A pending request sealed for the browser that started it (`session_hash` is its
/// cookie's hash): what the row would hold, encrypted and authenticated, expiring with it.
#[derive(serde::Serialize, serde::Deserialize)]
struct SealedRequest {
    request: String,
    session_hash: String,
    created_at: i64,
    expires_at: i64,
}

const SEALED_REQUEST: &str = "pending-request";

fn seal_pending(
    state: &AuthorizeState,
    req: &AuthorizationRequest,
    session_hash: &str,
) -> Option<String> {
    let now = state.oidc.now();
    let sealed = SealedRequest {
        request: serde_json::to_string(req).ok()?,
        session_hash: session_hash.to_owned(),
        created_at: now,
        expires_at: now + state.request_ttl,
    };
    state
        .oidc
        .sealer
        .seal(SEALED_REQUEST, &serde_json::to_vec(&sealed).ok()?)
}

/// Is this pending-request reference a sealed request rather than a row id?
pub(crate) fn is_sealed(id: &str) -> bool {
    id.contains('.')
}

/// After a sign-in: the pending request, now owned by the signed-in session `session_hash`
/// and marked signed in for. A sealed request becomes a row only now; a row is rebound.
/// Returns the row id to continue with.
async fn bind_pending(
    state: &AuthorizeState,
    id: &str,
    req: &AuthorizationRequest,
    session_hash: &str,
    now: i64,
) -> Result<String, gatehouse_storage::StoreError> {
    let store = &state.oidc.store;
    if !is_sealed(id) {
        store.mark_request_logged_in(id, session_hash, now).await?;
        return Ok(id.to_owned());
    }
    let row = secret::new_secret();
    store
        .save_pending_request(&PendingRequest {
            id: row.clone(),
            client_id: req.client_id.clone(),
            request: serde_json::to_string(req)
                .map_err(|e| gatehouse_storage::StoreError::Corrupt(e.to_string()))?,
            session_hash: Some(session_hash.to_owned()),
            logged_in_at: Some(now),
            consented_at: None,
            created_at: now,
            expires_at: now + state.request_ttl,
        })
        .await?;
    Ok(row)
}

async fn save_pending(
    state: &AuthorizeState,
    req: &AuthorizationRequest,
    session_hash: &str,
) -> Result<String, gatehouse_storage::StoreError> {
    let now = state.oidc.now();
    let id = secret::new_secret();
    let request = serde_json::to_string(req)
        .map_err(|e| gatehouse_storage::StoreError::Corrupt(e.to_string()))?;
    state
        .oidc
        .store
        .save_pending_request(&PendingRequest {
            id: id.clone(),
            client_id: req.client_id.clone(),
            request,
            session_hash: Some(session_hash.to_owned()),
            logged_in_at: None,
            consented_at: None,
            created_at: now,
            expires_at: now + state.request_ttl,
        })
        .await?;
    Ok(id)
}

/// Issues the authorization code (RFC 6749 §4.1.2): 256 random bits, stored hashed, good
/// for one minute and one use, bound to everything the token endpoint must check.
async fn issue_code(
    state: &AuthorizeState,
    req: &AuthorizationRequest,
    user: &User,
    auth_time: i64,
    session: &BrowserSession,
    pending: Option<&PendingRequest>,
) -> Result<Response, PageError> {
    // A pending request finishes once: a second tab or a replayed form gets nothing.
    if let Some(p) = pending
        && !state.oidc.store.take_pending_request(&p.id).await?
    {
        return Err(PageError::expired_request());
    }
    let now = state.oidc.now();
    let code = secret::new_secret();
    let grant = Grant {
        id: secret::random_token(16),
        client_id: req.client_id.clone(),
        user_id: Some(user.id.clone()),
        scopes: req.scopes.clone(),
        sid: Some(session.sid.clone()),
        auth_time: Some(auth_time),
        created_at: now,
        revoked_at: None,
    };
    let row = AuthorizationCode {
        code_hash: secret::hash_secret(&code),
        grant_id: grant.id.clone(),
        client_id: req.client_id.clone(),
        user_id: user.id.clone(),
        redirect_uri: req.redirect_uri_sent.then(|| req.redirect_uri.clone()),
        scopes: req.scopes.clone(),
        nonce: req.nonce.clone(),
        pkce_challenge: req.pkce_challenge.clone(),
        sid: session.sid.clone(),
        auth_time,
        created_at: now,
        expires_at: now + AUTHORIZATION_CODE_TTL_SECS,
        consumed_at: None,
    };
    state
        .oidc
        .store
        .create_grant_with_code(&grant, &row)
        .await?;
    state.redirect_to_client(&req.target(), &[("code", &code)])
}

/// Loads a pending request and its client, or says why not.
/// The request must belong to `session`, the browser session that started it (or the one
/// its sign-in replaced it with): a request id sent to another browser is worth nothing.
pub(crate) async fn load_pending(
    state: &AuthorizeState,
    id: Option<&str>,
    session: Option<&BrowserSession>,
) -> Result<(PendingRequest, AuthorizationRequest, Client), PageError> {
    let session = session.ok_or_else(PageError::expired_request)?;
    let now = state.oidc.now();
    let pending = match id {
        // Sealed for an anonymous browser: it must be this browser's and not expired.
        Some(sealed) if is_sealed(sealed) => open_sealed(state, sealed, session, now)?,
        // Ids are 256-bit base64url values: anything else is unknown without asking the
        // store.
        Some(id)
            if id.len() == 43
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
        {
            state
                .oidc
                .store
                .find_pending_request(id, now)
                .await?
                .filter(|p| p.session_hash.as_deref() == Some(session.id_hash.as_str()))
                .ok_or_else(PageError::expired_request)?
        }
        _ => return Err(PageError::expired_request()),
    };
    let req = serde_json::from_str::<AuthorizationRequest>(&pending.request)
        .map_err(|_| PageError::expired_request())?;
    let client = state
        .oidc
        .store
        .find_client(&req.client_id)
        .await?
        .ok_or_else(PageError::expired_request)?;
    Ok((pending, req, client))
}

/// A sealed request as the row it stands for, if it is this browser's and unexpired.
fn open_sealed(
    state: &AuthorizeState,
    sealed: &str,
    session: &BrowserSession,
    now: i64,
) -> Result<PendingRequest, PageError> {
    let r = state
        .oidc
        .sealer
        .open(SEALED_REQUEST, sealed)
        .and_then(|b| serde_json::from_slice::<SealedRequest>(&b).ok())
        .filter(|r| r.session_hash == session.id_hash && r.expires_at > now)
        .ok_or_else(PageError::expired_request)?;
    Ok(PendingRequest {
        id: sealed.to_owned(),
        client_id: String::new(),
        request: r.request,
        session_hash: Some(r.session_hash),
        logged_in_at: None,
        consented_at: None,
        created_at: r.created_at,
        expires_at: r.expires_at,
    })
}

/// The pending request a page or form names, if it names one (see [`load_pending`]).
pub(crate) async fn named_pending(
    state: &AuthorizeState,
    id: Option<&str>,
    session: &BrowserSession,
) -> Result<Option<(PendingRequest, AuthorizationRequest, Client)>, PageError> {
    match id {
        Some(id) => Ok(Some(load_pending(state, Some(id), Some(session)).await?)),
        None => Ok(None),
    }
}

/// Where a browser that just signed in (or up) as the session `fresh` goes to finish the
/// pending request `pending`: the request, now bound to that session.
pub(crate) async fn continue_url(
    state: &AuthorizeState,
    pending: &PendingRequest,
    req: &AuthorizationRequest,
    fresh: &BrowserSession,
) -> Result<String, gatehouse_storage::StoreError> {
    let now = state.oidc.now();
    let id = bind_pending(state, &pending.id, req, &fresh.id_hash, now).await?;
    Ok(state
        .oidc
        .issuer
        .url(&format!("/authorize/continue?request={id}")))
}

async fn continue_request(
    State(state): State<AuthorizeState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let params = Params::parse(query.unwrap_or_default().as_bytes());
    let session = state.load_session(&headers).await?;
    let (pending, req, client) =
        load_pending(&state, params.get("request"), session.as_ref()).await?;
    proceed(&state, &client, req, session, Some(pending), &headers).await
}

async fn consent_page(
    State(state): State<AuthorizeState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let params = Params::parse(query.unwrap_or_default().as_bytes());
    let session = state.load_session(&headers).await?;
    let (pending, req, client) =
        load_pending(&state, params.get("request"), session.as_ref()).await?;
    let user = state.signed_in_user(session.as_ref()).await?;
    let (Some(session), Some((user, _))) = (session, user) else {
        return Ok(see_other(&format!(
            "{}/login?request={}",
            state.issuer(),
            pending.id
        )));
    };
    let redirect_host = Url::parse(&req.redirect_uri)
        .ok()
        .and_then(|u| {
            u.host_str()
                .map(str::to_owned)
                .or_else(|| Some(u.scheme().to_owned()))
        })
        .unwrap_or_default();
    let links = &client.links;
    let logo = links.logo_uri.as_deref().and_then(logo_origin);
    let mut res = pages::render(
        StatusCode::OK,
        &ConsentPage {
            issuer: state.issuer(),
            csrf_token: &session.csrf_token,
            request_id: &pending.id,
            client_name: &client.name,
            username: &user.username,
            redirect_host: &redirect_host,
            scopes: pages::scope_lines(&req.scopes),
            logo_uri: logo.as_ref().map(|(u, _)| *u),
            policy_uri: links.policy_uri.as_deref(),
            tos_uri: links.tos_uri.as_deref(),
        },
    );
    if let Some((_, origin)) = logo {
        res.extensions_mut().insert(pages::ImageOrigin(origin));
    }
    Ok(pages::with_form_target(res, Some(&req.redirect_uri)))
}

/// The logo and its origin, when it is one a browser may load (https, or http on loopback
/// as registration allows); the consent page's CSP then admits images from it and nothing
/// else.
fn logo_origin(uri: &str) -> Option<(&str, String)> {
    let parsed = url::Url::parse(uri).ok()?;
    // Only plain host names and IP literals go into the header: some characters a URL host
    // may hold (`;`, `,`, `'`, `*`) mean something in a CSP.
    let plain = match parsed.host()? {
        url::Host::Domain(d) => d
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-'),
        url::Host::Ipv4(_) | url::Host::Ipv6(_) => true,
    };
    let origin = parsed.origin();
    (plain && origin.is_tuple()).then(|| (uri, origin.ascii_serialization()))
}

async fn consent_submit(
    State(state): State<AuthorizeState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    let (form, session) = state.csrf_form(&headers, &body).await?;
    let (pending, req, client) = load_pending(&state, form.get("request"), Some(&session)).await?;
    let Some((user, _)) = state.signed_in_user(Some(&session)).await? else {
        return Ok(see_other(&format!(
            "{}/login?request={}",
            state.issuer(),
            pending.id
        )));
    };
    match form.get("decision") {
        Some("allow") => {
            let now = state.oidc.now();
            let store = &state.oidc.store;
            store
                .add_consent(&user.id, &client.client_id, &req.scopes, now)
                .await?;
            store.mark_request_consented(&pending.id, now).await?;
            let pending = PendingRequest {
                consented_at: Some(now),
                ..pending
            };
            proceed(&state, &client, req, Some(session), Some(pending), &headers).await
        }
        Some("deny") => {
            if !state.oidc.store.take_pending_request(&pending.id).await? {
                return Err(PageError::expired_request());
            }
            state.redirect_error(
                &req.target(),
                "access_denied",
                "the user denied the request",
            )
        }
        _ => Err(PageError::bad_request(
            "Invalid answer",
            "Choose Allow or Deny.",
        )),
    }
}
