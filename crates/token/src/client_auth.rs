//! Client authentication at the token endpoint (RFC 6749 §2.3), once per request:
//! `client_secret_basic`, `client_secret_post`, or `none` for public clients. A client
//! uses exactly the method it registered, and never two at once.

use gatehouse_oidc::cors::CorsClient;
use std::marker::PhantomData;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use gatehouse_core::{Client, ClientAuthMethod, Params, secret};
use gatehouse_oidc::{Oidc, client_assertion, client_keys};

use crate::TokenState;
use crate::error::TokenError;

/// Credentials as presented, before we know whether they are any good.
#[derive(Debug, PartialEq, Eq)]
enum Presented {
    Basic { id: String, secret: String },
    Post { id: String, secret: String },
    Assertion { id: String, assertion: String },
    None { id: String },
}

fn invalid_client(description: &str, basic: bool) -> TokenError {
    TokenError::InvalidClient {
        description: description.to_owned(),
        basic,
    }
}

/// RFC 6749 §2.3.1: the id and secret are form-urlencoded before Basic encoding.
fn form_decode(value: &str) -> String {
    form_urlencoded::parse(format!("x={value}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

fn presented(headers: &HeaderMap, form: &Params) -> Result<Presented, TokenError> {
    let mut authorization = headers.get_all(header::AUTHORIZATION).iter();
    let basic = match authorization.next() {
        None => None,
        Some(value) => {
            if authorization.next().is_some() {
                return Err(TokenError::invalid_request(
                    "Authorization header sent more than once",
                ));
            }
            let value = value
                .to_str()
                .map_err(|_| invalid_client("malformed Authorization header", true))?;
            let (scheme, credentials) = value
                .split_once(' ')
                .ok_or_else(|| invalid_client("malformed Authorization header", true))?;
            if !scheme.eq_ignore_ascii_case("basic") {
                return Err(invalid_client(
                    "only HTTP Basic is accepted at the token endpoint",
                    true,
                ));
            }
            let decoded = STANDARD
                .decode(credentials.trim())
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| invalid_client("malformed Basic credentials", true))?;
            let (id, secret) = decoded
                .split_once(':')
                .ok_or_else(|| invalid_client("malformed Basic credentials", true))?;
            Some((form_decode(id), form_decode(secret)))
        }
    };
    let form_id = form.get("client_id");
    let form_secret = form.get("client_secret");
    // RFC 7523 §2.2: client authentication with a signed JWT, and nothing else with it.
    if form.get("client_assertion").is_some() || form.get("client_assertion_type").is_some() {
        if basic.is_some() || form_secret.is_some() {
            return Err(TokenError::invalid_request(
                "use one client authentication method, not an assertion and a secret together (RFC 6749 §2.3)",
            ));
        }
        if form.get("client_assertion_type") != Some(client_assertion::ASSERTION_TYPE) {
            return Err(invalid_client("unsupported client_assertion_type", false));
        }
        let assertion = form
            .get("client_assertion")
            .ok_or_else(|| TokenError::invalid_request("client_assertion is missing"))?;
        let id = client_assertion::claimed_client(assertion)
            .map_err(|e| invalid_client(&e.to_string(), false))?;
        if form_id.is_some_and(|f| f != id) {
            return Err(invalid_client(
                "client_id differs from the assertion's issuer",
                false,
            ));
        }
        return Ok(Presented::Assertion {
            id,
            assertion: assertion.to_owned(),
        });
    }
    match (basic, form_id, form_secret) {
        (Some(_), _, Some(_)) => Err(TokenError::invalid_request(
            "use one client authentication method, not Basic and client_secret together (RFC 6749 §2.3)",
        )),
        (Some((id, _)), Some(fid), None) if fid != id => Err(TokenError::invalid_request(
            "client_id in the body differs from the one in the Authorization header",
        )),
        (Some((id, secret)), _, None) => Ok(Presented::Basic { id, secret }),
        (None, Some(id), Some(secret)) => Ok(Presented::Post {
            id: id.to_owned(),
            secret: secret.to_owned(),
        }),
        (None, Some(id), None) => Ok(Presented::None { id: id.to_owned() }),
        (None, None, Some(_)) => Err(TokenError::invalid_request(
            "client_secret without client_id",
        )),
        (None, None, None) => Err(invalid_client("client authentication is required", false)),
    }
}

/// Authenticates the client of a token request.
/// Wrong client secrets are counted per client over about an hour and never lock.
const WRONG_SECRETS: gatehouse_storage::ThrottlePolicy = gatehouse_storage::ThrottlePolicy {
    free: i32::MAX,
    leak_secs: 3600,
    base_lock_secs: 0,
    max_lock_secs: 0,
};

pub async fn authenticate(
    oidc: &Oidc,
    headers: &HeaderMap,
    form: &Params,
    endpoint: &str,
) -> Result<Client, TokenError> {
    let store = &oidc.store;
    let presented = presented(headers, form)?;
    let (id, secret, method) = match &presented {
        Presented::Basic { id, secret } => (id, Some(secret), ClientAuthMethod::ClientSecretBasic),
        Presented::Post { id, secret } => (id, Some(secret), ClientAuthMethod::ClientSecretPost),
        Presented::Assertion { id, .. } => (id, None, ClientAuthMethod::PrivateKeyJwt),
        Presented::None { id } => (id, None, ClientAuthMethod::None),
    };
    let basic = method == ClientAuthMethod::ClientSecretBasic;
    if id.is_empty() || id.len() > 255 || !secret::is_vschar(id) {
        return Err(invalid_client("unknown client", basic));
    }
    let client = store
        .find_client(id)
        .await
        .map_err(TokenError::server)?
        .ok_or_else(|| invalid_client("unknown client or bad credentials", basic))?;
    // OIDC Core §9: a client authenticates only with the method it registered.
    // The answer does not say which method would have worked: that would tell anyone
    // which client ids exist and how they authenticate.
    if client.auth_method != method {
        tracing::debug!(client = %client.client_id, registered = %client.auth_method, used = %method, "client used another authentication method");
        return Err(invalid_client("unknown client or bad credentials", basic));
    }
    if let Some(secret) = secret {
        let ok = client
            .secret_hash
            .as_deref()
            .is_some_and(|h| secret::constant_time_eq(h, &secret::hash_secret(secret)));
        if !ok {
            // A security event, counted per client (a draining count that never locks: a
            // secret is 256 random bits, so counting is for the operator, and a lock would
            // let anyone shut a client out).
            let key = format!("client-secret:{}", client.client_id);
            let failures = match store
                .count_attempt(&[(key.as_str(), &WRONG_SECRETS)], oidc.now())
                .await
            {
                Ok(gatehouse_storage::Attempt::Counted { prior, .. }) => prior + 1,
                _ => 1,
            };
            tracing::warn!(
                event = "client_secret_rejected",
                client = %client.client_id,
                failures_last_hour = failures,
                "client authentication failed: wrong secret"
            );
            return Err(invalid_client("unknown client or bad credentials", basic));
        }
    }
    if let Presented::Assertion { assertion, .. } = &presented {
        // RFC 7523 §3: aud identifies the authorization server: its issuer, its token
        // endpoint, or the endpoint being called.
        let audiences = [
            oidc.issuer.as_str().to_owned(),
            oidc.issuer.url("/token"),
            oidc.issuer.url(endpoint),
        ];
        let now = oidc.now();
        let keys_failed = |e: client_keys::KeyFetchError| {
            tracing::warn!(client = %client.client_id, error = %e, "client keys unavailable");
            invalid_client("the client's keys could not be obtained", false)
        };
        let (jwks, fresh) = oidc
            .client_keys
            .jwks(&client, now, false)
            .await
            .map_err(keys_failed)?;
        let mut checked =
            client_assertion::verify(assertion, &client.client_id, &jwks, &audiences, now);
        // A key id the cached set lacks: the client may have rotated; look once more.
        if matches!(checked, Err(client_assertion::AssertionError::UnknownKey))
            && !fresh
            && client.jwks_uri.is_some()
        {
            let (jwks, _) = oidc
                .client_keys
                .jwks(&client, now, true)
                .await
                .map_err(keys_failed)?;
            checked =
                client_assertion::verify(assertion, &client.client_id, &jwks, &audiences, now);
        }
        let checked = checked.map_err(|e| invalid_client(&e.to_string(), false))?;
        // OIDC Core §9: an assertion may be used only once.
        if !store
            .use_assertion_jti(&client.client_id, &checked.jti, checked.exp)
            .await
            .map_err(TokenError::server)?
        {
            return Err(invalid_client("the assertion was already used", false));
        }
    }
    Ok(client)
}

/// An endpoint besides `/token` that authenticates its client the way `/token` does
/// (RFC 6749 §2.3; RFC 7009 §2.1, RFC 7662 §2.1, RFC 8628 §3.1).
pub(crate) trait ClientEndpoint: Send + Sync + 'static {
    /// The endpoint's path: a client assertion may name its URL as its audience (RFC 7523
    /// §3).
    const PATH: &'static str;
    /// A failure on our side is answered 503 `temporarily_unavailable` rather than 500
    /// `server_error`: where the answer is about a token, "we could not tell" must not read
    /// as one (RFC 7009 §2.2.1).
    const OUTAGE_IS_UNAVAILABLE: bool = false;

    /// How this endpoint answers `e`.
    fn refuse(e: TokenError) -> TokenError {
        match e {
            TokenError::Server(detail) if Self::OUTAGE_IS_UNAVAILABLE => {
                TokenError::Unavailable(detail)
            }
            e => e,
        }
    }
}

/// A POST to the endpoint `E`, as its handler takes it: the form, read by the token
/// endpoint's rules ([`crate::read_form`]: body only, form-encoded, no repeats), and the
/// client it authenticated, once. A refusal is the endpoint's `TokenError` (a failed
/// authentication is `invalid_client`, with a `WWW-Authenticate` challenge when the client
/// tried HTTP Basic).
pub(crate) struct ClientRequest<E> {
    pub client: Client,
    pub form: Params,
    endpoint: PhantomData<E>,
}

impl<E: ClientEndpoint> FromRequest<TokenState> for ClientRequest<E> {
    /// A `TokenError`'s response, or axum's for a body that could not be read (413 past
    /// the server's body limit).
    type Rejection = Response;

    async fn from_request(req: Request, state: &TokenState) -> Result<Self, Response> {
        let query = req.uri().query().map(str::to_owned);
        let headers = req.headers().clone();
        let cors = req.extensions().get::<CorsClient>().cloned();
        let body = Bytes::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let refuse = |e: TokenError| {
            tracing::debug!(endpoint = E::PATH, error = %e, "request refused");
            E::refuse(e).into_response()
        };
        let form = crate::read_form(query, &headers, &body).map_err(refuse)?;
        let client = authenticate(&state.oidc, &headers, &form, E::PATH)
            .await
            .map_err(refuse)?;
        // From here on the client's page may read the answer, errors included.
        if let Some(cors) = cors {
            cors.set(client.web_origins());
        }
        Ok(Self {
            client,
            form,
            endpoint: PhantomData,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn basic(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Basic {}", STANDARD.encode(v))).unwrap(),
        );
        h
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        let p = presented(&basic("my%20client:s%3Acret+x"), &Params::default()).unwrap();
        assert_eq!(
            p,
            Presented::Basic {
                id: "my client".into(),
                secret: "s:cret x".into()
            }
        );
    }

    #[test]
    fn malformed_and_double_credentials_are_refused() {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic !!!"));
        assert!(matches!(
            presented(&h, &Params::default()),
            Err(TokenError::InvalidClient { basic: true, .. })
        ));
        assert!(matches!(
            presented(&basic("nocolon"), &Params::default()),
            Err(TokenError::InvalidClient { .. })
        ));
        let both = Params::parse(b"client_secret=x");
        assert!(matches!(
            presented(&basic("a:b"), &both),
            Err(TokenError::InvalidRequest(_))
        ));
    }
}
