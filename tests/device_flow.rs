//! The device authorization grant (RFC 8628): a TV or CLI asks for codes, the user approves
//! on `/device` in a browser, the device polls. Driven by the `oauth2` crate as a real device
//! would (its sleeps move the test clock instead of waiting), and probed for what must fail.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use gatehouse_core::{ClientAuthMethod, GrantType};
use gatehouse_tests::*;
use oauth2::basic::BasicClient;
use oauth2::{
    AuthUrl, ClientId, DeviceAuthorizationUrl, Scope, StandardDeviceAuthorizationResponse,
    TokenResponse, TokenUrl,
};
use serde_json::Value;

const GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

fn tv() -> ClientSpec {
    ClientSpec {
        name: "Living Room TV".into(),
        redirect_uris: vec![],
        post_logout_redirect_uris: vec![],
        auth_method: ClientAuthMethod::None,
        application_type: gatehouse_core::ApplicationType::Native,
        grant_types: vec![GrantType::DeviceCode, GrantType::RefreshToken],
        ..ClientSpec::default()
    }
}

async fn setup() -> (TestApp, TestClient) {
    let app = TestApp::start().await;
    app.create_user("alice").await;
    let client = app.create_client(tv()).await;
    (app, client)
}

/// POST /device_authorization as `client`.
async fn start(app: &TestApp, client: &TestClient, scope: &str) -> (u16, Value) {
    let (status, body) = post(app, client, "/device_authorization", &[("scope", scope)]).await;
    (status, body)
}

async fn post(
    app: &TestApp,
    client: &TestClient,
    path: &str,
    form: &[(&str, &str)],
) -> (u16, Value) {
    let mut form = form.to_vec();
    let mut req = app.http().post(app.url(path));
    match &client.secret {
        Some(s) => req = req.basic_auth(&client.id, Some(s)),
        None => form.push(("client_id", &client.id)),
    }
    let res = req.form(&form).send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn poll(app: &TestApp, client: &TestClient, device_code: &str) -> (u16, Value) {
    post(
        app,
        client,
        "/token",
        &[("grant_type", GRANT), ("device_code", device_code)],
    )
    .await
}

/// The user, in a browser: opens `url`, signs in if asked, confirms the code, answers.
async fn approve(
    app: &TestApp,
    browser: &mut Browser,
    url: &str,
    code: &str,
    decision: &str,
) -> Page {
    let mut page = browser.get(url).await;
    if let Some(loc) = page.location.clone() {
        assert!(loc.contains("/login?device="), "{loc}");
        let done = browser.login(&loc, "alice", PASSWORD).await;
        assert_eq!(done.status, 303, "{}", done.body);
        page = browser.get(done.location.as_deref().unwrap()).await;
    }
    assert_eq!(page.status, 200, "{}", page.body);
    let csrf = input_value(&page.body, "csrf_token").expect(&page.body);
    let confirm = browser
        .post("/device", &[("csrf_token", &csrf), ("user_code", code)])
        .await;
    assert_eq!(confirm.status, 200, "{}", confirm.body);
    assert!(
        confirm.body.contains("Living Room TV"),
        "the client is named"
    );
    let csrf = input_value(&confirm.body, "csrf_token").unwrap();
    let user_code = input_value(&confirm.body, "user_code").unwrap();
    let _ = app;
    browser
        .post(
            "/device/approve",
            &[
                ("csrf_token", &csrf),
                ("user_code", &user_code),
                ("decision", decision),
            ],
        )
        .await
}

#[tokio::test]
async fn an_oauth2_device_client_is_approved_by_its_user() {
    let (app, client) = setup().await;
    let rp = BasicClient::new(ClientId::new(client.id.clone()))
        .set_auth_uri(AuthUrl::new(app.url("/authorize")).unwrap())
        .set_token_uri(TokenUrl::new(app.url("/token")).unwrap())
        .set_device_authorization_url(
            DeviceAuthorizationUrl::new(app.url("/device_authorization")).unwrap(),
        );
    let http = http_client();
    let details: StandardDeviceAuthorizationResponse = rp
        .exchange_device_code()
        .add_scope(Scope::new("openid".into()))
        .add_scope(Scope::new("offline_access".into()))
        .request_async(&http)
        .await
        .expect("device authorization");
    let code = details.user_code().secret().clone();
    assert!(regex_like_user_code(&code), "{code}");
    assert_eq!(details.verification_uri().as_str(), app.url("/device"));
    let complete = details
        .verification_uri_complete()
        .unwrap()
        .secret()
        .clone();

    // Arriving through verification_uri_complete fills the code in but decides nothing.
    let mut browser = app.browser();
    let page = approve(&app, &mut browser, &complete, &code, "allow").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Device connected"));

    // The device polls; its sleeps move the test clock instead of waiting.
    let clock = app.clock.clone();
    let tokens = rp
        .exchange_device_access_token(&details)
        .request_async(
            &http,
            move |d: Duration| {
                let clock = clock.clone();
                async move { clock.advance(d.as_secs() as i64) }
            },
            None,
        )
        .await
        .expect("tokens for the device");
    assert!(
        tokens.refresh_token().is_some(),
        "offline_access was approved"
    );
    let res = app
        .http()
        .get(app.url("/userinfo"))
        .bearer_auth(tokens.access_token().secret())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

fn regex_like_user_code(code: &str) -> bool {
    let b = code.as_bytes();
    b.len() == 9
        && b[4] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || b"BCDFGHJKLMNPQRSTVWXZ".contains(c))
}

#[tokio::test]
async fn polling_answers_follow_rfc_8628() {
    let (app, client) = setup().await;
    let (status, start) = start(&app, &client, "openid").await;
    assert_eq!(status, 200, "{start}");
    let device_code = start["device_code"].as_str().unwrap().to_owned();
    let code = start["user_code"].as_str().unwrap().to_owned();
    assert_eq!(start["interval"], 5);
    assert_eq!(start["expires_in"], 600);

    let (status, body) = poll(&app, &client, &device_code).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("authorization_pending"))
    );
    // Polling again at once: slow_down, and the interval grows by 5 s (now 10).
    let (_, body) = poll(&app, &client, &device_code).await;
    assert_eq!(body["error"], "slow_down");
    app.clock.advance(6);
    let (_, body) = poll(&app, &client, &device_code).await;
    assert_eq!(
        body["error"], "slow_down",
        "6 s is too soon once the interval is 10 s"
    );
    // Each slow_down adds 5 s more: now 15.
    app.clock.advance(15);
    let (_, body) = poll(&app, &client, &device_code).await;
    assert_eq!(body["error"], "authorization_pending");

    // The user types the code in lower case with a space instead of the dash.
    let typed = code.replace('-', " ").to_lowercase();
    let mut browser = app.browser();
    let page = approve(&app, &mut browser, "/device", &typed, "allow").await;
    assert!(page.body.contains("Device connected"));

    app.clock.advance(15);
    let (status, tokens) = poll(&app, &client, &device_code).await;
    assert_eq!(status, 200, "{tokens}");
    assert!(tokens["id_token"].is_string());
    assert!(
        tokens.get("refresh_token").is_none(),
        "no offline_access, no refresh token"
    );

    // A device code works once.
    app.clock.advance(15);
    let (status, body) = poll(&app, &client, &device_code).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

#[tokio::test]
async fn denial_expiry_and_other_clients() {
    let (app, client) = setup().await;
    let other = app.create_client(tv()).await;

    let (_, s) = start(&app, &client, "openid").await;
    let denied_code = s["device_code"].as_str().unwrap().to_owned();
    let mut browser = app.browser();
    let page = approve(
        &app,
        &mut browser,
        "/device",
        s["user_code"].as_str().unwrap(),
        "deny",
    )
    .await;
    assert!(page.body.contains("denied"));
    let (_, body) = poll(&app, &client, &denied_code).await;
    assert_eq!(body["error"], "access_denied");

    let (_, s) = start(&app, &client, "openid").await;
    let device_code = s["device_code"].as_str().unwrap().to_owned();
    // Another client cannot poll it (CVE-2023-2585).
    let (status, body) = poll(&app, &other, &device_code).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    app.clock.advance(601);
    let (_, body) = poll(&app, &client, &device_code).await;
    assert_eq!(body["error"], "expired_token");
    // And the user can no longer approve it.
    let page = browser.get("/device").await;
    let csrf = input_value(&page.body, "csrf_token").unwrap();
    let res = browser
        .post(
            "/device",
            &[
                ("csrf_token", &csrf),
                ("user_code", s["user_code"].as_str().unwrap()),
            ],
        )
        .await;
    assert_eq!(res.status, 400);
}

#[tokio::test]
async fn the_device_endpoint_checks_client_and_scope() {
    let (app, _) = setup().await;
    let web = app.create_client(ClientSpec::default()).await;
    let (status, body) = start(&app, &web, "openid").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unauthorized_client"))
    );
    let tv = app.create_client(tv()).await;
    let (status, body) = start(&app, &tv, "openid admin").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_scope"))
    );
    let res = app
        .http()
        .post(app.url("/device_authorization"))
        .form(&[("scope", "openid")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401, "no client at all");
    // Codes are secrets: the response must not be cached (RFC 8628 §3.2, RFC 6749 §5.1).
    let res = app
        .http()
        .post(app.url("/device_authorization"))
        .form(&[("scope", "openid"), ("client_id", tv.id.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
}

#[tokio::test]
async fn wrong_codes_are_throttled_and_forms_need_csrf() {
    let (app, client) = setup().await;
    let (_, s) = start(&app, &client, "openid").await;
    let mut browser = app.browser();
    let page = browser.get("/device").await;
    let login = page.location.unwrap();
    let done = browser.login(&login, "alice", PASSWORD).await;
    let page = browser.get(done.location.as_deref().unwrap()).await;
    let csrf = input_value(&page.body, "csrf_token").unwrap();

    let forged = browser
        .post(
            "/device",
            &[
                ("csrf_token", "forged"),
                ("user_code", s["user_code"].as_str().unwrap()),
            ],
        )
        .await;
    assert_eq!(forged.status, 403);

    for guess in ["BBBB-BBBB", "CCCC-CCCC", "DDDD-DDDD", "FFFF-FFFF"] {
        let res = browser
            .post("/device", &[("csrf_token", &csrf), ("user_code", guess)])
            .await;
        assert_eq!(res.status, 400, "{guess}");
    }
    let res = browser
        .post(
            "/device",
            &[("csrf_token", &csrf), ("user_code", "GGGG-GGGG")],
        )
        .await;
    assert_eq!(res.status, 429, "the fifth wrong code locks the user");
    assert!(res.headers.get("retry-after").is_some());
    // Even the right code waits out the lock.
    let res = browser
        .post(
            "/device",
            &[
                ("csrf_token", &csrf),
                ("user_code", s["user_code"].as_str().unwrap()),
            ],
        )
        .await;
    assert_eq!(res.status, 429);

    // Signing in again gives a new session, not a new allowance: the count is the user's.
    let mut again = app.browser();
    let page = again.get("/device").await;
    let done = again
        .login(&page.location.unwrap(), "alice", PASSWORD)
        .await;
    let page = again.get(done.location.as_deref().unwrap()).await;
    let csrf = input_value(&page.body, "csrf_token").unwrap();
    let res = again
        .post(
            "/device",
            &[("csrf_token", &csrf), ("user_code", "HHHH-HHHH")],
        )
        .await;
    assert_eq!(
        res.status, 429,
        "a fresh session of the same user is still locked"
    );
}

#[tokio::test]
async fn parallel_polls_of_an_approved_code_issue_tokens_once() {
    let (app, client) = setup().await;
    let (_, s) = start(&app, &client, "openid").await;
    let device_code = s["device_code"].as_str().unwrap().to_owned();
    let mut browser = app.browser();
    approve(
        &app,
        &mut browser,
        "/device",
        s["user_code"].as_str().unwrap(),
        "allow",
    )
    .await;
    let app = Arc::new(app);
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (app, client, code) = (app.clone(), client.clone(), device_code.clone());
        tasks.push(tokio::spawn(
            async move { poll(&app, &client, &code).await },
        ));
    }
    let mut ok = 0;
    for t in tasks {
        let (status, body) = t.await.unwrap();
        match status {
            200 => ok += 1,
            400 => assert!(
                ["slow_down", "invalid_grant"].contains(&body["error"].as_str().unwrap()),
                "{body}"
            ),
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(ok, 1);
}

#[tokio::test]
async fn discovery_advertises_the_device_flow() {
    let (app, _) = setup().await;
    let doc: Value = discovery(&app).await;
    assert_eq!(
        doc["device_authorization_endpoint"],
        app.url("/device_authorization")
    );
    assert!(
        doc["grant_types_supported"]
            .as_array()
            .unwrap()
            .contains(&GRANT.into())
    );
}

/// Security review finding: /device/approve looked the code up without counting it, so
/// guesses sent straight there escaped the throttle and could link a victim's device to the
/// attacker's account.
#[tokio::test]
async fn guessing_at_the_approve_step_is_throttled_too() {
    let (app, client) = setup().await;
    let (_, s) = start(&app, &client, "openid").await;
    let mut browser = app.browser();
    let page = browser.get("/device").await;
    let done = browser
        .login(page.location.as_deref().unwrap(), "alice", PASSWORD)
        .await;
    let page = browser.get(done.location.as_deref().unwrap()).await;
    let csrf = input_value(&page.body, "csrf_token").unwrap();
    let mut statuses = Vec::new();
    for guess in [
        "BBBB-BBBB",
        "CCCC-CCCC",
        "DDDD-DDDD",
        "FFFF-FFFF",
        "GGGG-GGGG",
        "HHHH-HHHH",
    ] {
        let res = browser
            .post(
                "/device/approve",
                &[
                    ("csrf_token", &csrf),
                    ("user_code", guess),
                    ("decision", "allow"),
                ],
            )
            .await;
        statuses.push(res.status);
    }
    assert_eq!(statuses, [400, 400, 400, 400, 429, 429]);
    // The real code sent now is refused too, and the device stays unapproved.
    let res = browser
        .post(
            "/device/approve",
            &[
                ("csrf_token", &csrf),
                ("user_code", s["user_code"].as_str().unwrap()),
                ("decision", "allow"),
            ],
        )
        .await;
    assert_eq!(res.status, 429);
    let (_, body) = poll(&app, &client, s["device_code"].as_str().unwrap()).await;
    assert_eq!(body["error"], "authorization_pending");
}
