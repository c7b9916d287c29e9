//! The hardening issue's smaller findings, each tried as an attacker would.

#![allow(clippy::unwrap_used)]

use gatehouse_tests::*;

/// Total request headers are limited: 431 beyond 16 KiB (a 64 KiB header used to be taken).
#[tokio::test]
async fn oversized_request_headers_get_431() {
    let app = TestApp::start().await;
    for (size, expect) in [(8 * 1024, 200), (20 * 1024, 431), (64 * 1024, 431)] {
        let res = app
            .http()
            .get(app.url("/.well-known/openid-configuration"))
            .header("x-padding", "a".repeat(size))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), expect, "{size} bytes");
    }
    // Many small headers add up the same way.
    let mut req = app.http().get(app.url("/jwks.json"));
    for i in 0..40 {
        req = req.header(format!("x-h{i}"), "b".repeat(500));
    }
    assert_eq!(req.send().await.unwrap().status(), 431);
}

/// Node clocks differ: a token whose `iat`/`nbf` is up to a minute ahead of this node's
/// clock is accepted; further ahead, it is not.
#[tokio::test]
async fn a_minute_of_clock_skew_is_tolerated_and_no_more() {
    let app = TestApp::start().await;
    app.create_user("alice").await;
    let client = app.create_client(ClientSpec::default()).await;
    let tokens = sign_in(&app, &client, "alice", "openid").await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let userinfo = |t: String| {
        let app = &app;
        async move {
            app.http()
                .get(app.url("/userinfo"))
                .bearer_auth(t)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    // This node's clock is 45 s behind the node that issued the token.
    app.clock.advance(-45);
    assert_eq!(userinfo(access.clone()).await, 200);
    app.clock.advance(-60);
    assert_eq!(userinfo(access).await, 401);
}

/// Wrong client secrets are counted (a security event in the log) but never lock the
/// client out: its real secret keeps working after a hundred wrong ones.
#[tokio::test]
async fn wrong_client_secrets_are_counted_without_a_lockout() {
    let app = TestApp::start().await;
    let svc = robot(&app, "reports").await;
    let before = app.store.count_throttle_rows().await.unwrap();
    let wrong = TestClient {
        secret: Some("not the secret".into()),
        ..svc.clone()
    };
    for _ in 0..100 {
        let (status, body) =
            token_request(&app, &wrong, &[("grant_type", "client_credentials")]).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("invalid_client"))
        );
    }
    assert_eq!(
        app.store.count_throttle_rows().await.unwrap(),
        before + 1,
        "one counter for the client"
    );
    let (status, _) = token_request(&app, &svc, &[("grant_type", "client_credentials")]).await;
    assert_eq!(status, 200, "no lockout");
}

/// The sign-in pages' forms may post only to this server (CSP `form-action 'self'`), so an
/// injected form cannot send a password elsewhere.
#[tokio::test]
async fn sign_in_pages_only_post_to_this_server() {
    let app = TestApp::start_with(gatehouse_server::RawConfig {
        signup: Some(true),
        ..Default::default()
    })
    .await;
    for path in ["/login", "/signup", "/device", "/logout"] {
        let res = app.http().get(app.url(path)).send().await.unwrap();
        let csp = res.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(csp.contains("form-action 'self'"), "{path}: {csp}");
    }
}

/// Browsers apply `form-action` to the redirects that follow a form: the pages whose form
/// ends at a client (sign-in and consent for a pending request) admit that client's
/// origin, and only that one.
#[tokio::test]
async fn pages_that_end_at_a_client_admit_only_its_origin() {
    let app = TestApp::start().await;
    app.create_user("alice").await;
    let client = app.create_client(ClientSpec::default()).await;
    let mut browser = app.browser();
    let (_, challenge) = pkce_pair();
    let page = browser
        .get(&authorize_url(
            &app,
            &code_request(&client, &challenge, "openid"),
        ))
        .await;
    let login = browser.get(page.location.as_deref().unwrap()).await;
    let csp = login.headers["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("form-action 'self' https://app.example;"),
        "{csp}"
    );
    let done = browser
        .login(page.location.as_deref().unwrap(), "alice", PASSWORD)
        .await;
    let next = browser.get(done.location.as_deref().unwrap()).await;
    let consent = browser.get(next.location.as_deref().unwrap()).await;
    assert_eq!(consent.status, 200);
    let csp = consent.headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("form-action 'self' https://app.example;"),
        "{csp}"
    );
    // A page without a pending request admits no other origin.
    let plain = app.http().get(app.url("/login")).send().await.unwrap();
    let csp = plain.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("form-action 'self';"), "{csp}");
}
