//! The authorization request (RFC 6749 §4.1.1, OIDC Core §3.1.2.1) and its validation in
//! two steps: [`load`] reads the client and the key ring, then [`check`], a pure function,
//! establishes the redirect URI and runs [`CHECKS`], a table of small named checks, in
//! order. Until the client and its redirect URI are established every failure is shown on
//! an error page; after that, failures go back to the client (RFC 6749 §4.1.2.1, RFC 9700
//! §4.11.2).

use gatehouse_core::{Client, GrantType, Scopes, pkce, secret};
use gatehouse_oidc::Oidc;
use gatehouse_oidc::tokens::IdTokenHint;
use serde::{Deserialize, Serialize};

use gatehouse_core::Params;

/// The longest `state`, `nonce` or hint echoed or stored; longer values are refused.
const MAX_VALUE_LEN: usize = 2048;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prompt {
    pub none: bool,
    pub login: bool,
    pub consent: bool,
}

/// How the answer goes back to the client: in the redirect URI's query (the default for
/// `response_type=code`), or POSTed by an auto-submitting form (OAuth 2.0 Form Post
/// Response Mode), which keeps the code out of the URL and the browser's history.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseMode {
    #[default]
    Query,
    FormPost,
}

impl ResponseMode {
    /// The `response_mode` parameter, if it is one this server speaks.
    pub fn parse(value: Option<&str>) -> Option<Self> {
        match value {
            None | Some("query") => Some(Self::Query),
            Some("form_post") => Some(Self::FormPost),
            Some(_) => None,
        }
    }
}

/// A validated authorization request: what is stored while the user logs in and consents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizationRequest {
    pub client_id: String,
    /// Where the response goes: the registered URI the request named (or the only one).
    pub redirect_uri: String,
    /// Whether `redirect_uri` was sent, in which case the token request must repeat it.
    pub redirect_uri_sent: bool,
    pub scopes: Scopes,
    pub state: Option<String>,
    pub nonce: Option<String>,
    /// Stored form of the PKCE challenge.
    pub pkce_challenge: Option<String>,
    pub prompt: Prompt,
    pub max_age: Option<i64>,
    pub login_hint: Option<String>,
    /// `sub` of a verified `id_token_hint`.
    pub hint_sub: Option<String>,
    /// How the answer goes back (requests stored before form_post existed are `query`).
    #[serde(default)]
    pub response_mode: ResponseMode,
}

/// Where an error or a code goes back to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectTarget {
    pub redirect_uri: String,
    pub state: Option<String>,
    pub mode: ResponseMode,
}

impl AuthorizationRequest {
    pub fn target(&self) -> RedirectTarget {
        RedirectTarget {
            redirect_uri: self.redirect_uri.clone(),
            state: self.state.clone(),
            mode: self.response_mode,
        }
    }
}

/// Why an authorization request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Shown to the user: the client or redirect URI cannot be trusted with a redirect.
    Page {
        description: String,
        unavailable: bool,
    },
    /// Returned to the client with `error`, `error_description`, `state` and `iss`.
    Redirect {
        target: RedirectTarget,
        error: &'static str,
        description: String,
    },
}

impl Refusal {
    fn page(description: impl Into<String>) -> Self {
        Self::Page {
            description: description.into(),
            unavailable: false,
        }
    }
}

/// Validates an authorization request completely: [`load`] reads what the checks need,
/// then [`check`] runs them.
pub async fn validate(
    oidc: &Oidc,
    params: &Params,
) -> Result<(Client, AuthorizationRequest), Refusal> {
    let loaded = load(oidc, params).await?;
    check(params, loaded)
}

/// What the checks need from the store and the key ring.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The client the request names.
    pub client: Client,
    /// The `id_token_hint`, if one was sent: `Some(None)` if it is not an ID token this
    /// server issued.
    pub hint: Option<Option<IdTokenHint>>,
}

/// The I/O step: the client (after the checks that decide whether its id is worth a
/// lookup) and the verified `id_token_hint`. Nothing here judges the request otherwise.
pub async fn load(oidc: &Oidc, params: &Params) -> Result<Loaded, Refusal> {
    let client_id = requested_client_id(params)?;
    let client = match oidc.store.find_client(client_id).await {
        Ok(Some(c)) => c,
        Ok(None) => return Err(Refusal::page("The client is not registered here.")),
        Err(e) => {
            tracing::error!(error = %e, "authorize: storage failed looking up the client");
            return Err(Refusal::Page {
                description: "The service is temporarily unavailable. Try again shortly.".into(),
                unavailable: true,
            });
        }
    };
    let hint = match params.get("id_token_hint") {
        None => None,
        Some(h) => Some(
            oidc.minter
                .verify_id_token_hint(&*oidc.verification_keys(h).await, h)
                .ok(),
        ),
    };
    Ok(Loaded { client, hint })
}

/// `client_id`, once and well-formed, and `redirect_uri` at most once: before the client
/// is looked up, failures are error pages.
fn requested_client_id(params: &Params) -> Result<&str, Refusal> {
    if params.is_duplicated("client_id") {
        return Err(Refusal::page("client_id was sent more than once."));
    }
    if params.is_duplicated("redirect_uri") {
        return Err(Refusal::page("redirect_uri was sent more than once."));
    }
    let client_id = params
        .get("client_id")
        .ok_or_else(|| Refusal::page("The request has no client_id."))?;
    if !secret::is_vschar(client_id) || client_id.len() > 255 {
        return Err(Refusal::page("client_id is malformed."));
    }
    Ok(client_id)
}

/// The pure step: the redirect URI (failures are error pages: it is not trusted yet),
/// then [`CHECKS`] in order (failures go back to the client).
pub fn check(params: &Params, loaded: Loaded) -> Result<(Client, AuthorizationRequest), Refusal> {
    let req = checked(params, &loaded).map_err(|(_, refusal)| refusal)?;
    Ok((loaded.client, req))
}

/// As [`check`], naming the check that refused.
fn checked(
    params: &Params,
    loaded: &Loaded,
) -> Result<AuthorizationRequest, (&'static str, Refusal)> {
    let (target, redirect_uri_sent) =
        redirect_target(params, &loaded.client).map_err(|r| ("redirect_uri", r))?;
    let input = Input {
        params,
        client: &loaded.client,
        hint: loaded.hint.as_ref(),
        state_sent: params.get("state").is_some(),
    };
    let mut req = AuthorizationRequest {
        client_id: loaded.client.client_id.clone(),
        redirect_uri: target.redirect_uri.clone(),
        redirect_uri_sent,
        scopes: Scopes::default(),
        state: target.state.clone(),
        nonce: None,
        pkce_challenge: None,
        prompt: Prompt::default(),
        max_age: None,
        login_hint: None,
        hint_sub: None,
        response_mode: target.mode,
    };
    for (name, check) in CHECKS {
        check(&input, &mut req).map_err(|Rejected { error, description }| {
            let refusal = Refusal::Redirect {
                target: target.clone(),
                error,
                description,
            };
            (*name, refusal)
        })?;
    }
    Ok(req)
}

/// Where answers go (RFC 6749 §3.1.2.3): the registered URI the request names, or the
/// client's only one; and whether the request named it. `state` is echoed only when it is
/// bounded and free of control characters.
fn redirect_target(params: &Params, client: &Client) -> Result<(RedirectTarget, bool), Refusal> {
    let (redirect_uri, sent) = match params.get("redirect_uri") {
        Some(requested) => match client.find_redirect_uri(requested) {
            // Native loopback redirects may differ in port: answer at the requested URI.
            Some(_) => (requested.to_owned(), true),
            None => {
                return Err(Refusal::page(
                    "The redirect_uri is not registered for this client.",
                ));
            }
        },
        None => match client.redirect_uris.as_slice() {
            [only] => (only.clone(), false),
            [] => return Err(Refusal::page("The client has no registered redirect_uri.")),
            _ => {
                return Err(Refusal::page(
                    "The client has several redirect URIs, so the request must name one.",
                ));
            }
        },
    };
    let state = match params.get("state") {
        Some(s) if bounded(s) => Some(s.to_owned()),
        _ => None,
    };
    // An error about the response mode itself goes back the default way.
    let mode = ResponseMode::parse(params.get("response_mode")).unwrap_or_default();
    Ok((
        RedirectTarget {
            redirect_uri,
            state,
            mode,
        },
        sent,
    ))
}

/// What every check may read.
struct Input<'a> {
    params: &'a Params,
    client: &'a Client,
    hint: Option<&'a Option<IdTokenHint>>,
    state_sent: bool,
}

/// A check's refusal: the `error` code and `error_description` for the client.
struct Rejected {
    error: &'static str,
    description: String,
}

impl Rejected {
    fn new(error: &'static str, description: impl Into<String>) -> Self {
        Self {
            error,
            description: description.into(),
        }
    }

    fn invalid(description: impl Into<String>) -> Self {
        Self::new("invalid_request", description)
    }
}

/// A named check: it reads the request and fills in its part of the validated one.
type Check = fn(&Input<'_>, &mut AuthorizationRequest) -> Result<(), Rejected>;

/// The checks after the client and redirect URI are established, in the order they run.
const CHECKS: &[(&str, Check)] = &[
    ("no_repeated_parameters", no_repeated_parameters),
    ("state", state),
    ("no_request_objects", no_request_objects),
    ("response_type", response_type),
    ("response_mode", response_mode),
    ("grant_type", grant_type),
    ("scope", scope),
    ("pkce", pkce_challenge),
    ("prompt", prompt),
    ("max_age", max_age),
    ("display", display),
    ("bounded_values", bounded_values),
    ("id_token_hint", id_token_hint),
];

/// A value short enough to echo or store, without control characters.
fn bounded(value: &str) -> bool {
    value.len() <= MAX_VALUE_LEN && !value.chars().any(char::is_control)
}

/// RFC 6749 §3.1: parameters must not be included more than once.
fn no_repeated_parameters(i: &Input<'_>, _: &mut AuthorizationRequest) -> Result<(), Rejected> {
    match i.params.first_duplicated() {
        Some(name) => Err(Rejected::invalid(format!(
            "parameter {name} was sent more than once"
        ))),
        None => Ok(()),
    }
}

/// A `state` that cannot be echoed is refused (it was not put in the redirect target).
fn state(i: &Input<'_>, req: &mut AuthorizationRequest) -> Result<(), Rejected> {
    if i.state_sent && req.state.is_none() {
        return Err(Rejected::invalid(
            "state is longer than 2048 bytes or holds control characters",
        ));
    }
    Ok(())
}

/// OIDC Core §6: request objects are not supported, and say so with their own codes.
fn no_request_objects(i: &Input<'_>, _: &mut AuthorizationRequest) -> Result<(), Rejected> {
    if i.params.get("request").is_some() {
        return Err(Rejected::new(
            "request_not_supported",
            "request objects are not supported",
        ));
    }
    if i.params.get("request_uri").is_some() {
        return Err(Rejected::new(
            "request_uri_not_supported",
            "request_uri is not supported",
        ));
    }
    Ok(())
}

/// Only the authorization code flow (RFC 9700 §2.1.2).
fn response_type(i: &Input<'_>, _: &mut AuthorizationRequest) -> Result<(), Rejected> {
    match i.params.get("response_type") {
        None => Err(Rejected::invalid("response_type is required")),
        Some("code") => Ok(()),
        Some(_) => Err(Rejected::new(
            "unsupported_response_type",
            "only response_type=code is supported (RFC 9700 §2.1.2)",
        )),
    }
}

fn response_mode(i: &Input<'_>, _: &mut AuthorizationRequest) -> Result<(), Rejected> {
    match ResponseMode::parse(i.params.get("response_mode")) {
        Some(_) => Ok(()),
        None => Err(Rejected::invalid(
            "response_mode must be query or form_post",
        )),
    }
}

fn grant_type(i: &Input<'_>, _: &mut AuthorizationRequest) -> Result<(), Rejected> {
    if !i.client.allows_grant(GrantType::AuthorizationCode) {
        return Err(Rejected::new(
            "unauthorized_client",
            "the client is not registered for the authorization_code grant",
        ));
    }
    Ok(())
}

/// RFC 6749 §3.3: well-formed, and only scopes the client may ask for.
fn scope(i: &Input<'_>, req: &mut AuthorizationRequest) -> Result<(), Rejected> {
    let scope = i.params.get("scope").unwrap_or("");
    if scope.len() > MAX_VALUE_LEN {
        return Err(Rejected::new(
            "invalid_scope",
            "scope is longer than 2048 bytes",
        ));
    }
    let scopes = Scopes::parse(scope).map_err(|e| Rejected::new("invalid_scope", e.to_string()))?;
    let not_allowed = scopes.difference(&i.client.allowed_scopes());
    if !not_allowed.is_empty() {
        // Name a few, not all: the description travels back in a URL.
        let named: Vec<&str> = not_allowed.iter().take(3).copied().collect();
        return Err(Rejected::new(
            "invalid_scope",
            format!("scope not allowed for this client: {}", named.join(" ")),
        ));
    }
    req.scopes = scopes;
    Ok(())
}

/// RFC 7636, RFC 9700 §2.1.1: S256 only, and required of public clients.
fn pkce_challenge(i: &Input<'_>, req: &mut AuthorizationRequest) -> Result<(), Rejected> {
    req.pkce_challenge = pkce::accept_challenge(
        i.params.get("code_challenge"),
        i.params.get("code_challenge_method"),
        i.client.is_public(),
    )
    .map_err(|e| Rejected::invalid(e.to_string()))?;
    Ok(())
}

fn prompt(i: &Input<'_>, req: &mut AuthorizationRequest) -> Result<(), Rejected> {
    req.prompt = parse_prompt(i.params.get("prompt")).map_err(Rejected::invalid)?;
    Ok(())
}

fn max_age(i: &Input<'_>, req: &mut AuthorizationRequest) -> Result<(), Rejected> {
    if let Some(v) = i.params.get("max_age") {
        let m = v
            .parse::<i64>()
            .ok()
            .filter(|m| *m >= 0)
            .ok_or_else(|| Rejected::invalid("max_age must be a non-negative integer"))?;
        req.max_age = Some(m);
    }
    Ok(())
}

fn display(i: &Input<'_>, _: &mut AuthorizationRequest) -> Result<(), Rejected> {
    match i.params.get("display") {
        None | Some("page" | "popup" | "touch" | "wap") => Ok(()),
        Some(_) => Err(Rejected::invalid(
            "display must be page, popup, touch or wap",
        )),
    }
}

/// Values that are stored or shown (`nonce`, `login_hint`) and the ones merely accepted
/// are bounded and free of control characters.
fn bounded_values(i: &Input<'_>, req: &mut AuthorizationRequest) -> Result<(), Rejected> {
    let value = |name: &str| match i.params.get(name) {
        Some(v) if !bounded(v) => Err(Rejected::invalid(format!(
            "{name} is too long or holds control characters"
        ))),
        v => Ok(v.map(str::to_owned)),
    };
    req.nonce = value("nonce")?;
    req.login_hint = value("login_hint")?;
    for name in ["ui_locales", "claims_locales", "acr_values"] {
        value(name)?;
    }
    Ok(())
}

/// OIDC Core §3.1.2.1: an ID token this server issued to this client.
fn id_token_hint(i: &Input<'_>, req: &mut AuthorizationRequest) -> Result<(), Rejected> {
    req.hint_sub = match i.hint {
        None => None,
        Some(None) => {
            return Err(Rejected::invalid(
                "id_token_hint is not an ID token issued by this server to this client",
            ));
        }
        Some(Some(h)) if h.client_id != i.client.client_id => {
            return Err(Rejected::invalid(
                "id_token_hint was issued to another client",
            ));
        }
        Some(Some(h)) => Some(h.sub.clone()),
    };
    Ok(())
}

/// `prompt` (OIDC Core §3.1.2.1): space-delimited; `none` stands alone.
fn parse_prompt(value: Option<&str>) -> Result<Prompt, &'static str> {
    let mut prompt = Prompt::default();
    let Some(value) = value else {
        return Ok(prompt);
    };
    let mut count = 0;
    for v in value.split(' ').filter(|v| !v.is_empty()) {
        count += 1;
        match v {
            "none" => prompt.none = true,
            "login" => prompt.login = true,
            "consent" => prompt.consent = true,
            // Gatehouse holds one account per session, so choosing one means signing in.
            "select_account" => prompt.login = true,
            _ => return Err("prompt must be none, login, consent or select_account"),
        }
    }
    if prompt.none && count > 1 {
        return Err("prompt=none cannot be combined with other values");
    }
    Ok(prompt)
}

#[cfg(test)]
mod tests;
