//! The request checks as tables: a good request, one change per row, and the check that
//! must refuse it.

use super::*;
use gatehouse_core::{AccessTokenFormat, ApplicationType, ClientAuthMethod, ClientLinks};

const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// A request and what the store and key ring hold for it.
struct Case {
    query: Vec<(&'static str, String)>,
    client: Client,
}

impl Case {
    /// A good request from a confidential web client.
    fn good() -> Self {
        Self {
            query: vec![
                ("client_id", "app".into()),
                ("redirect_uri", "https://app.example/cb".into()),
                ("response_type", "code".into()),
                ("scope", "openid email".into()),
                ("state", "s1".into()),
                ("code_challenge", CHALLENGE.into()),
                ("code_challenge_method", "S256".into()),
                ("nonce", "n1".into()),
            ],
            client: Client {
                client_id: "app".into(),
                name: "App".into(),
                secret_hash: Some("hash".into()),
                redirect_uris: vec!["https://app.example/cb".into()],
                post_logout_redirect_uris: vec![],
                grant_types: vec![GrantType::AuthorizationCode],
                scopes: Scopes::default(),
                auth_method: ClientAuthMethod::ClientSecretBasic,
                application_type: ApplicationType::Web,
                jwks: None,
                jwks_uri: None,
                access_token_format: AccessTokenFormat::Jwt,
                links: ClientLinks::default(),
                created_at: 0,
                secret_changed_at: None,
                registration_policy: None,
                allowed_origins: vec![],
            },
        }
    }

    fn set(&mut self, name: &'static str, value: &str) {
        self.remove(name);
        self.add(name, value);
    }

    fn add(&mut self, name: &'static str, value: &str) {
        self.query.push((name, value.to_owned()));
    }

    fn remove(&mut self, name: &str) {
        self.query.retain(|(n, _)| *n != name);
    }

    /// Validates as [`validate`] does, with this case's client as the store and a key
    /// ring that knows the hints `ours` (issued to `app`) and `theirs` (to `other`).
    /// The error names the check that refused and its code (`page` for error pages).
    fn run(&self) -> Result<AuthorizationRequest, (&'static str, &'static str)> {
        let encoded = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(self.query.iter().map(|(k, v)| (*k, v.as_str())))
            .finish();
        let params = Params::parse(encoded.as_bytes());
        let code = |r: &Refusal| match r {
            Refusal::Page { .. } => "page",
            Refusal::Redirect { error, .. } => error,
        };
        let client_id = requested_client_id(&params).map_err(|r| ("client_id", code(&r)))?;
        if client_id != self.client.client_id {
            return Err(("client_lookup", "page"));
        }
        let hint = params.get("id_token_hint").map(|h| {
            let issued_to = match h {
                "ours" => "app",
                "theirs" => "other",
                _ => return None,
            };
            Some(IdTokenHint {
                sub: "alice".into(),
                client_id: issued_to.into(),
                sid: None,
            })
        });
        let loaded = Loaded {
            client: self.client.clone(),
            hint,
        };
        checked(&params, &loaded).map_err(|(name, r)| (name, code(&r)))
    }
}

type Mutation = fn(&mut Case);

/// What a row changes, and the check that must refuse it with which code (`None`:
/// accepted).
type Row = (&'static str, Mutation, Option<(&'static str, &'static str)>);

/// Each row: what is changed in a good request, the check that must refuse it and
/// with which code (`None`: accepted).
#[test]
fn the_checks_as_a_table() {
    let long = "x".repeat(MAX_VALUE_LEN + 1);
    let rows: &[Row] = &[
        ("a good request", |_| {}, None),
        (
            "no redirect_uri, one registered",
            |c| c.remove("redirect_uri"),
            None,
        ),
        (
            "a hint issued to this client",
            |c| c.set("id_token_hint", "ours"),
            None,
        ),
        // Before the client is looked up: error pages.
        (
            "no client_id",
            |c| c.remove("client_id"),
            Some(("client_id", "page")),
        ),
        (
            "client_id twice",
            |c| c.add("client_id", "app"),
            Some(("client_id", "page")),
        ),
        (
            "client_id not visible ASCII",
            |c| c.set("client_id", "äpp"),
            Some(("client_id", "page")),
        ),
        (
            "redirect_uri twice",
            |c| c.add("redirect_uri", "https://app.example/cb"),
            Some(("client_id", "page")),
        ),
        (
            "an unknown client",
            |c| c.set("client_id", "nobody"),
            Some(("client_lookup", "page")),
        ),
        // Until the redirect URI is established: error pages.
        (
            "an unregistered redirect_uri",
            |c| c.set("redirect_uri", "https://evil.example/cb"),
            Some(("redirect_uri", "page")),
        ),
        (
            "a redirect_uri with a different path",
            |c| c.set("redirect_uri", "https://app.example/cb/x"),
            Some(("redirect_uri", "page")),
        ),
        (
            "no redirect_uri, several registered",
            |c| {
                c.remove("redirect_uri");
                c.client
                    .redirect_uris
                    .push("https://app.example/other".into());
            },
            Some(("redirect_uri", "page")),
        ),
        (
            "no redirect_uri, none registered",
            |c| {
                c.remove("redirect_uri");
                c.client.redirect_uris.clear();
            },
            Some(("redirect_uri", "page")),
        ),
        // After: errors go back to the client.
        (
            "scope twice",
            |c| c.add("scope", "openid"),
            Some(("no_repeated_parameters", "invalid_request")),
        ),
        (
            "state with a control character",
            |c| c.set("state", "a\u{7}b"),
            Some(("state", "invalid_request")),
        ),
        (
            "a request object",
            |c| c.set("request", "eyJ.x.y"),
            Some(("no_request_objects", "request_not_supported")),
        ),
        (
            "a request_uri",
            |c| c.set("request_uri", "https://app.example/r"),
            Some(("no_request_objects", "request_uri_not_supported")),
        ),
        (
            "no response_type",
            |c| c.remove("response_type"),
            Some(("response_type", "invalid_request")),
        ),
        (
            "response_type=token",
            |c| c.set("response_type", "token"),
            Some(("response_type", "unsupported_response_type")),
        ),
        (
            "response_type=code id_token",
            |c| c.set("response_type", "code id_token"),
            Some(("response_type", "unsupported_response_type")),
        ),
        (
            "response_mode=fragment",
            |c| c.set("response_mode", "fragment"),
            Some(("response_mode", "invalid_request")),
        ),
        (
            "response_mode=query",
            |c| c.set("response_mode", "query"),
            None,
        ),
        (
            "response_mode=form_post",
            |c| c.set("response_mode", "form_post"),
            None,
        ),
        (
            "a client without the code grant",
            |c| c.client.grant_types = vec![GrantType::ClientCredentials],
            Some(("grant_type", "unauthorized_client")),
        ),
        (
            "a scope the client may not ask for",
            |c| c.set("scope", "openid admin:all"),
            Some(("scope", "invalid_scope")),
        ),
        (
            "a malformed scope",
            |c| c.set("scope", "openid \"x\""),
            Some(("scope", "invalid_scope")),
        ),
        (
            "offline_access without the refresh grant",
            |c| c.set("scope", "openid offline_access"),
            Some(("scope", "invalid_scope")),
        ),
        ("no scope at all", |c| c.remove("scope"), None),
        (
            "a public client without PKCE",
            |c| {
                c.client.auth_method = ClientAuthMethod::None;
                c.remove("code_challenge");
                c.remove("code_challenge_method");
            },
            Some(("pkce", "invalid_request")),
        ),
        (
            "a confidential client without PKCE",
            |c| {
                c.remove("code_challenge");
                c.remove("code_challenge_method");
            },
            None,
        ),
        (
            "PKCE plain",
            |c| c.set("code_challenge_method", "plain"),
            Some(("pkce", "invalid_request")),
        ),
        (
            "a method without a challenge",
            |c| c.remove("code_challenge"),
            Some(("pkce", "invalid_request")),
        ),
        (
            "a short challenge",
            |c| c.set("code_challenge", "abc"),
            Some(("pkce", "invalid_request")),
        ),
        (
            "prompt=none login",
            |c| c.set("prompt", "none login"),
            Some(("prompt", "invalid_request")),
        ),
        (
            "prompt=bogus",
            |c| c.set("prompt", "bogus"),
            Some(("prompt", "invalid_request")),
        ),
        (
            "prompt=login consent",
            |c| c.set("prompt", "login consent"),
            None,
        ),
        (
            "max_age=-1",
            |c| c.set("max_age", "-1"),
            Some(("max_age", "invalid_request")),
        ),
        (
            "max_age=soon",
            |c| c.set("max_age", "soon"),
            Some(("max_age", "invalid_request")),
        ),
        ("max_age=0", |c| c.set("max_age", "0"), None),
        (
            "display=fullscreen",
            |c| c.set("display", "fullscreen"),
            Some(("display", "invalid_request")),
        ),
        ("display=popup", |c| c.set("display", "popup"), None),
        (
            "a nonce with a control character",
            |c| c.set("nonce", "a\nb"),
            Some(("bounded_values", "invalid_request")),
        ),
        (
            "a login_hint with a control character",
            |c| c.set("login_hint", "a\u{0}"),
            Some(("bounded_values", "invalid_request")),
        ),
        (
            "a hint that is not our ID token",
            |c| c.set("id_token_hint", "forged"),
            Some(("id_token_hint", "invalid_request")),
        ),
        (
            "a hint issued to another client",
            |c| c.set("id_token_hint", "theirs"),
            Some(("id_token_hint", "invalid_request")),
        ),
        // The first failing check answers.
        (
            "two faults: response_type before scope",
            |c| {
                c.set("response_type", "token");
                c.set("scope", "admin:all");
            },
            Some(("response_type", "unsupported_response_type")),
        ),
        (
            "two faults: the redirect URI before everything",
            |c| {
                c.set("redirect_uri", "https://evil.example/cb");
                c.remove("response_type");
            },
            Some(("redirect_uri", "page")),
        ),
    ];
    let mut exercised = std::collections::BTreeSet::new();
    for (name, mutate, expected) in rows {
        let mut case = Case::good();
        mutate(&mut case);
        let got = case.run();
        assert_eq!(got.as_ref().err().copied(), *expected, "{name}: {got:?}");
        if let Some((check, _)) = expected {
            exercised.insert(*check);
        }
    }
    // Values too long to echo or store, in a table of their own (they need `long`).
    for (param, check) in [
        ("state", "state"),
        ("scope", "scope"),
        ("nonce", "bounded_values"),
        ("login_hint", "bounded_values"),
        ("ui_locales", "bounded_values"),
        ("claims_locales", "bounded_values"),
        ("acr_values", "bounded_values"),
    ] {
        let mut case = Case::good();
        case.set(param, &long);
        let code = if param == "scope" {
            "invalid_scope"
        } else {
            "invalid_request"
        };
        assert_eq!(case.run().err(), Some((check, code)), "{param} too long");
    }
    // Every check in the table is tried by some row.
    for (check, _) in CHECKS {
        assert!(exercised.contains(check), "no row refused by {check}");
    }
}

#[test]
fn a_good_request_is_validated_whole() {
    let mut case = Case::good();
    case.set("prompt", "login");
    case.set("max_age", "60");
    case.set("login_hint", "alice");
    case.set("id_token_hint", "ours");
    let req = case.run().expect("valid");
    assert_eq!(
        req,
        AuthorizationRequest {
            client_id: "app".into(),
            redirect_uri: "https://app.example/cb".into(),
            redirect_uri_sent: true,
            scopes: Scopes::parse("openid email").expect("scopes"),
            state: Some("s1".into()),
            nonce: Some("n1".into()),
            pkce_challenge: pkce::accept_challenge(Some(CHALLENGE), Some("S256"), false)
                .expect("challenge"),
            prompt: Prompt {
                none: false,
                login: true,
                consent: false,
            },
            max_age: Some(60),
            login_hint: Some("alice".into()),
            hint_sub: Some("alice".into()),
            response_mode: ResponseMode::Query,
        }
    );
    let mut case = Case::good();
    case.remove("redirect_uri");
    let req = case.run().expect("valid");
    assert!(!req.redirect_uri_sent);
    assert_eq!(req.redirect_uri, "https://app.example/cb");
}

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
