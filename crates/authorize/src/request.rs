//! The authorization request (RFC 6749 §4.1.1, OIDC Core §3.1.2.1) and its validation:
//! a table of small named checks, run in order. Until the client and its redirect URI
//! are established every failure is shown on an error page; after that, failures go back
//! to the client (RFC 6749 §4.1.2.1, RFC 9700 §4.11.2).

use gatehouse_core::{Client, GrantType, Scopes, pkce, secret};
use gatehouse_oidc::Oidc;
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
}

/// Where an error or a code goes back to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectTarget {
    pub redirect_uri: String,
    pub state: Option<String>,
}

impl AuthorizationRequest {
    pub fn target(&self) -> RedirectTarget {
        RedirectTarget {
            redirect_uri: self.redirect_uri.clone(),
            state: self.state.clone(),
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

/// The part of validation that decides whether redirects are safe: the client and the
/// redirect URI (RFC 6749 §3.1.2.3, §4.1.2.1).
pub async fn establish_client(
    oidc: &Oidc,
    params: &Params,
) -> Result<(Client, RedirectTarget, bool), Refusal> {
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
        Some(s) if s.len() <= MAX_VALUE_LEN && !s.chars().any(char::is_control) => {
            Some(s.to_owned())
        }
        _ => None,
    };
    Ok((
        client,
        RedirectTarget {
            redirect_uri,
            state,
        },
        sent,
    ))
}

/// Validates an authorization request completely.
pub async fn validate(
    oidc: &Oidc,
    params: &Params,
) -> Result<(Client, AuthorizationRequest), Refusal> {
    let (client, target, redirect_uri_sent) = establish_client(oidc, params).await?;
    let refuse = |error: &'static str, description: String| Refusal::Redirect {
        target: target.clone(),
        error,
        description,
    };
    let invalid = |d: &str| refuse("invalid_request", d.to_owned());

    if let Some(name) = params.first_duplicated() {
        return Err(invalid(&format!(
            "parameter {name} was sent more than once"
        )));
    }
    if params.get("state").is_some() && target.state.is_none() {
        return Err(invalid(
            "state is longer than 2048 bytes or holds control characters",
        ));
    }
    // OIDC Core §6: request objects are not supported, and say so with their own codes.
    if params.get("request").is_some() {
        return Err(refuse(
            "request_not_supported",
            "request objects are not supported".into(),
        ));
    }
    if params.get("request_uri").is_some() {
        return Err(refuse(
            "request_uri_not_supported",
            "request_uri is not supported".into(),
        ));
    }
    match params.get("response_type") {
        None => return Err(invalid("response_type is required")),
        Some("code") => {}
        Some(_) => {
            return Err(refuse(
                "unsupported_response_type",
                "only response_type=code is supported (RFC 9700 §2.1.2)".into(),
            ));
        }
    }
    match params.get("response_mode") {
        None | Some("query") => {}
        Some(_) => return Err(invalid("only response_mode=query is supported")),
    }
    if !client.allows_grant(GrantType::AuthorizationCode) {
        return Err(refuse(
            "unauthorized_client",
            "the client is not registered for the authorization_code grant".into(),
        ));
    }
    let scope = params.get("scope").unwrap_or("");
    if scope.len() > MAX_VALUE_LEN {
        return Err(refuse(
            "invalid_scope",
            "scope is longer than 2048 bytes".into(),
        ));
    }
    let scopes = Scopes::parse(scope).map_err(|e| refuse("invalid_scope", e.to_string()))?;
    let not_allowed = scopes.difference(&client.allowed_scopes());
    if !not_allowed.is_empty() {
        // Name a few, not all: the description travels back in a URL.
        let named: Vec<&str> = not_allowed.iter().take(3).copied().collect();
        return Err(refuse(
            "invalid_scope",
            format!("scope not allowed for this client: {}", named.join(" ")),
        ));
    }
    let pkce_challenge = pkce::accept_challenge(
        params.get("code_challenge"),
        params.get("code_challenge_method"),
        client.is_public(),
    )
    .map_err(|e| invalid(&e.to_string()))?;
    let prompt = parse_prompt(params.get("prompt")).map_err(invalid)?;
    let max_age = match params.get("max_age") {
        None => None,
        Some(v) => Some(
            v.parse::<i64>()
                .ok()
                .filter(|m| *m >= 0)
                .ok_or_else(|| invalid("max_age must be a non-negative integer"))?,
        ),
    };
    match params.get("display") {
        None | Some("page" | "popup" | "touch" | "wap") => {}
        Some(_) => return Err(invalid("display must be page, popup, touch or wap")),
    }
    let bounded = |name: &str| -> Result<Option<String>, Refusal> {
        match params.get(name) {
            None => Ok(None),
            Some(v) if v.len() <= MAX_VALUE_LEN && !v.chars().any(char::is_control) => {
                Ok(Some(v.to_owned()))
            }
            Some(_) => Err(invalid(&format!(
                "{name} is too long or holds control characters"
            ))),
        }
    };
    let nonce = bounded("nonce")?;
    let login_hint = bounded("login_hint")?;
    for name in ["ui_locales", "claims_locales", "acr_values"] {
        bounded(name)?;
    }
    let hint_sub = match params.get("id_token_hint") {
        None => None,
        Some(hint) => Some(
            oidc.minter
                .verify_id_token_hint(&*oidc.verification_keys(hint).await, hint)
                .map_err(|_| {
                    invalid("id_token_hint is not an ID token issued by this server to this client")
                })
                .and_then(|h| {
                    if h.client_id == client.client_id {
                        Ok(h.sub)
                    } else {
                        Err(invalid("id_token_hint was issued to another client"))
                    }
                })?,
        ),
    };
    Ok((
        client.clone(),
        AuthorizationRequest {
            client_id: client.client_id,
            redirect_uri: target.redirect_uri.clone(),
            redirect_uri_sent,
            scopes,
            state: target.state.clone(),
            nonce,
            pkce_challenge,
            prompt,
            max_age,
            login_hint,
            hint_sub,
        },
    ))
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
mod tests {
    use super::*;

    #[test]
    fn prompt_values() {
        assert_eq!(parse_prompt(None), Ok(Prompt::default()));
        assert_eq!(
            parse_prompt(Some("login consent")),
            Ok(Prompt {
                none: false,
                login: true,
                consent: true
            })
        );
        assert!(parse_prompt(Some("none login")).is_err());
        assert!(parse_prompt(Some("bogus")).is_err());
    }
}
