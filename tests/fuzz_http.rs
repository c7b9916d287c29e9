//! Random input at every endpoint that parses what an attacker sends (the hardening issue,
//! item 9): authorization requests, token requests, Basic headers, client assertions and
//! `id_token_hint`s, user codes, registration metadata, sign-in forms. A real server on
//! SQLite or PostgreSQL; the property is the same everywhere: no 5xx, no panic (a panic
//! would drop the connection). Bounded in CI; `PROPTEST_CASES=5000` runs longer.

#![allow(clippy::unwrap_used)]

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use gatehouse_tests::*;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(48)
}

/// Text that looks like protocol input: parameter names, separators, escapes, Unicode.
fn noise() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\PC{0,80}",
        "[a-zA-Z0-9_%=&+.~-]{0,120}",
        prop::sample::select(vec![
            "",
            "%00",
            "%ZZ",
            "\u{202E}",
            "' OR 1=1 --",
            "../../etc/passwd",
            "a%0d%0aSet-Cookie:x",
            "https://evil.example/cb",
            "openid profile",
            "S256",
            "plain",
            "code",
            "none",
        ])
        .prop_map(str::to_owned),
    ]
}

/// Something shaped like a JWT: three or five base64url parts, sometimes with a JSON header
/// naming an algorithm and a kid.
fn jwt_like() -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec!["none", "HS256", "RS256", "ES256", "EdDSA", "x"]),
        "[A-Za-z0-9_-]{0,50}",
        prop::collection::vec(any::<u8>(), 0..64),
        prop::bool::ANY,
    )
        .prop_map(|(alg, kid, body, five)| {
            let header =
                URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"{alg}","kid":"{kid}","typ":"JWT"}}"#));
            let body = URL_SAFE_NO_PAD.encode(&body);
            if five {
                format!("{header}.{body}.{body}.{body}.{body}")
            } else {
                format!("{header}.{body}.{body}")
            }
        })
}

/// Runs `check` for `cases()` generated values against the live server, off the runtime's
/// worker threads.
async fn run<S>(strategy: S, check: impl Fn(S::Value) -> Result<(), TestCaseError> + Send + 'static)
where
    S: Strategy + Send + 'static,
    S::Value: std::fmt::Debug,
{
    tokio::task::spawn_blocking(move || {
        let mut runner = TestRunner::new(Config {
            cases: cases(),
            failure_persistence: None,
            ..Config::default()
        });
        runner.run(&strategy, check).unwrap();
    })
    .await
    .unwrap();
}

fn status(res: reqwest::Result<reqwest::Response>) -> Result<u16, TestCaseError> {
    let res = res.map_err(|e| TestCaseError::fail(format!("connection failed (a panic?): {e}")))?;
    let s = res.status().as_u16();
    if s >= 500 {
        return Err(TestCaseError::fail(format!("server answered {s}")));
    }
    Ok(s)
}

#[tokio::test]
async fn random_authorization_requests_get_protocol_answers() {
    let app = TestApp::start().await;
    let client = app.create_client(ClientSpec::default()).await;
    let base = app.base.clone();
    let handle = tokio::runtime::Handle::current();
    let strategy = (
        prop::collection::vec(
            (
                prop::sample::select(vec![
                    "response_type",
                    "client_id",
                    "redirect_uri",
                    "scope",
                    "state",
                    "nonce",
                    "code_challenge",
                    "code_challenge_method",
                    "prompt",
                    "max_age",
                    "id_token_hint",
                    "login_hint",
                    "request",
                    "resource",
                    "x",
                ]),
                prop_oneof![noise(), jwt_like(), Just(client.id.clone())],
            ),
            0..10,
        ),
        prop::bool::ANY,
    );
    run(strategy, move |(pairs, post)| {
        let http = http_client();
        let query: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&pairs)
            .finish();
        let url = format!("{base}/authorize");
        let res = handle.block_on(async {
            if post {
                http.post(&url)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(query)
                    .send()
                    .await
            } else {
                http.get(format!("{url}?{query}")).send().await
            }
        });
        status(res).map(|_| ())
    })
    .await;
}

#[tokio::test]
async fn random_token_requests_and_client_authentication_get_protocol_errors() {
    let app = TestApp::start().await;
    let client = app.create_client(ClientSpec::default()).await;
    let base = app.base.clone();
    let handle = tokio::runtime::Handle::current();
    let strategy = (
        prop::collection::vec(
            (
                prop::sample::select(vec![
                    "grant_type",
                    "code",
                    "redirect_uri",
                    "code_verifier",
                    "refresh_token",
                    "scope",
                    "client_id",
                    "client_secret",
                    "client_assertion",
                    "client_assertion_type",
                    "device_code",
                    "resource",
                    "token",
                ]),
                prop_oneof![noise(), jwt_like(), Just(client.id.clone())],
            ),
            0..8,
        ),
        prop_oneof![
            Just(None),
            noise().prop_map(Some),
            (noise(), noise()).prop_map(|(a, b)| Some(STANDARD.encode(format!("{a}:{b}")))),
        ],
        prop::sample::select(vec![
            "/token",
            "/introspect",
            "/revoke",
            "/device_authorization",
        ]),
    );
    run(strategy, move |(pairs, basic, path)| {
        let http = http_client();
        let body: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&pairs)
            .finish();
        let res = handle.block_on(async {
            let mut req = http
                .post(format!("{base}{path}"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body);
            if let Some(b) = basic {
                req = req.header("authorization", format!("Basic {b}"));
            }
            req.send().await
        });
        let s = status(res)?;
        prop_assert!(matches!(s, 200 | 400 | 401 | 429), "{path}: {s}");
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn random_registration_metadata_gets_invalid_client_metadata_or_a_client() {
    let app = TestApp::start_with(gatehouse_server::RawConfig {
        open_registration: Some(true),
        trusted_proxies: Some(vec!["127.0.0.1".into()]),
        ..Default::default()
    })
    .await;
    let base = app.base.clone();
    let handle = tokio::runtime::Handle::current();
    let value = prop_oneof![
        noise().prop_map(serde_json::Value::from),
        prop::collection::vec(noise(), 0..3).prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        Just(serde_json::Value::Null),
    ];
    let strategy = (
        prop::collection::btree_map(
            prop::sample::select(vec![
                "redirect_uris",
                "grant_types",
                "response_types",
                "token_endpoint_auth_method",
                "application_type",
                "client_name",
                "scope",
                "jwks",
                "jwks_uri",
                "logo_uri",
                "policy_uri",
                "tos_uri",
                "post_logout_redirect_uris",
            ]),
            value,
            0..8,
        ),
        any::<u32>(),
    );
    run(strategy, move |(meta, n)| {
        let http = http_client();
        let res = handle.block_on(
            http.post(format!("{base}/register"))
                // Each case from its own address, so the per-address limit does not mask
                // what the parser does.
                .header(
                    "x-forwarded-for",
                    format!("10.{}.{}.{}", n % 200, (n / 200) % 250, n % 251),
                )
                .json(&meta)
                .send(),
        );
        let s = status(res)?;
        prop_assert!(matches!(s, 201 | 400 | 429), "{s}");
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn random_sign_in_and_device_forms_get_pages() {
    let app = TestApp::start().await;
    app.create_user("alice").await;
    let mut browser = app.browser();
    browser.login("/login", "alice", PASSWORD).await;
    let page = browser.get("/device").await;
    let csrf = input_value(&page.body, "csrf_token").unwrap();
    let cookie = browser.cookie_header();
    let base = app.base.clone();
    let handle = tokio::runtime::Handle::current();
    let strategy = (
        prop::sample::select(vec![
            "/login",
            "/device",
            "/device/approve",
            "/consent",
            "/logout/confirm",
            "/signup",
        ]),
        prop::collection::vec(
            (
                prop::sample::select(vec![
                    "username",
                    "password",
                    "user_code",
                    "request",
                    "decision",
                    "next",
                    "device",
                ]),
                noise(),
            ),
            0..5,
        ),
        prop::bool::ANY,
    );
    run(strategy, move |(path, mut pairs, with_csrf)| {
        if with_csrf {
            pairs.push(("csrf_token", csrf.clone()));
        }
        let body: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&pairs)
            .finish();
        let http = http_client();
        let res = handle.block_on(
            http.post(format!("{base}{path}"))
                .header("cookie", &cookie)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
                .send(),
        );
        status(res).map(|_| ())
    })
    .await;
}
