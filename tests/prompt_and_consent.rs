//! `prompt` and consent (OIDC Core §3.1.2.1, §3.1.2.6; RFC 6749 §4.1.2.1, §10.12).

#![allow(clippy::unwrap_used)]

use gatehouse_tests::*;

async fn setup() -> (TestApp, TestClient) {
    let app = TestApp::start().await;
    app.create_user("alice").await;
    let client = app.create_client(ClientSpec::default()).await;
    (app, client)
}

fn url_with(app: &TestApp, client: &TestClient, scope: &str, extra: &[(&str, &str)]) -> String {
    let (_, challenge) = pkce_pair();
    let mut pairs = code_request(client, &challenge, scope);
    pairs.extend_from_slice(extra);
    authorize_url(app, &pairs)
}

fn assert_back_with(
    page: &Page,
    client: &TestClient,
    key: &str,
    value: Option<&str>,
    issuer: &str,
) {
    assert_eq!(page.status, 303, "{}", page.body);
    let loc = page.location.as_deref().unwrap();
    assert!(loc.starts_with(&client.redirect_uri), "{loc}");
    let q = query_of(loc);
    match value {
        Some(v) => assert_eq!(q.get(key).map(String::as_str), Some(v), "{loc}"),
        None => assert!(q.contains_key(key), "{loc}"),
    }
    assert_eq!(q["state"], "st-123");
    assert_eq!(q["iss"], issuer);
}

#[tokio::test]
async fn prompt_none_never_shows_a_page() {
    let (app, client) = setup().await;
    let mut browser = app.browser();
    let none = [("prompt", "none")];

    let page = browser.get(&url_with(&app, &client, "openid", &none)).await;
    assert_back_with(&page, &client, "error", Some("login_required"), &app.base);

    browser.login("/login", "alice", PASSWORD).await;
    let page = browser.get(&url_with(&app, &client, "openid", &none)).await;
    assert_back_with(&page, &client, "error", Some("consent_required"), &app.base);

    browser
        .authorize(&url_with(&app, &client, "openid", &[]), "alice")
        .await;
    let page = browser.get(&url_with(&app, &client, "openid", &none)).await;
    assert_back_with(&page, &client, "code", None, &app.base);
}

#[tokio::test]
async fn consent_is_remembered_until_a_new_scope_is_asked() {
    let (app, client) = setup().await;
    let mut browser = app.browser();
    browser
        .authorize(&url_with(&app, &client, "openid", &[]), "alice")
        .await;

    // Same scope again: straight back with a code.
    let page = browser.get(&url_with(&app, &client, "openid", &[])).await;
    assert_back_with(&page, &client, "code", None, &app.base);

    // A new scope asks again, and the page names the client and the scopes.
    let page = browser
        .get(&url_with(&app, &client, "openid email", &[]))
        .await;
    let consent_url = page.location.unwrap();
    assert!(consent_url.contains("/consent?"), "{consent_url}");
    let consent = browser.get(&consent_url).await;
    assert!(consent.body.contains("Test App"));
    assert!(consent.body.contains("<code>email</code>"));
    assert!(consent.body.contains("<code>openid</code>"));

    // prompt=consent asks even for what was granted before.
    let page = browser
        .get(&url_with(&app, &client, "openid", &[("prompt", "consent")]))
        .await;
    assert!(page.location.unwrap().contains("/consent?"));
}

#[tokio::test]
async fn deny_sends_access_denied() {
    let (app, client) = setup().await;
    let mut browser = app.browser();
    let page = browser.get(&url_with(&app, &client, "openid", &[])).await;
    let done = browser
        .login(page.location.as_deref().unwrap(), "alice", PASSWORD)
        .await;
    let cont = browser.get(done.location.as_deref().unwrap()).await;
    let denied = browser
        .consent(cont.location.as_deref().unwrap(), "deny")
        .await;
    assert_back_with(&denied, &client, "error", Some("access_denied"), &app.base);
    // Nothing was remembered: the next request asks again.
    let page = browser.get(&url_with(&app, &client, "openid", &[])).await;
    assert!(page.location.unwrap().contains("/consent?"));
}

#[tokio::test]
async fn the_consent_form_cannot_change_the_request_or_be_replayed() {
    let (app, client) = setup().await;
    let mut browser = app.browser();
    let (verifier, challenge) = pkce_pair();
    let page = browser
        .get(&authorize_url(
            &app,
            &code_request(&client, &challenge, "openid"),
        ))
        .await;
    let done = browser
        .login(page.location.as_deref().unwrap(), "alice", PASSWORD)
        .await;
    let cont = browser.get(done.location.as_deref().unwrap()).await;
    let consent = browser.get(cont.location.as_deref().unwrap()).await;
    let csrf = input_value(&consent.body, "csrf_token").unwrap();
    let request = input_value(&consent.body, "request").unwrap();
    let other = app.create_client(ClientSpec::default()).await;
    let form = [
        ("csrf_token", csrf.as_str()),
        ("request", request.as_str()),
        ("decision", "allow"),
        ("scope", "openid email profile"),
        ("client_id", other.id.as_str()),
        ("redirect_uri", "https://evil.example/cb"),
    ];
    let res = browser.post("/consent", &form).await;
    let loc = res.location.unwrap();
    assert!(loc.starts_with(&client.redirect_uri), "{loc}");
    let (status, tokens) =
        exchange_code(&app, &client, &query_of(&loc)["code"], Some(&verifier)).await;
    assert_eq!(status, 200);
    assert_eq!(
        tokens["scope"], "openid",
        "only what was asked and consented"
    );

    // Replaying the same form: the request is finished, no second code.
    let replay = browser.post("/consent", &form).await;
    assert_eq!(replay.status, 400);
    assert!(replay.location.is_none());
}

#[tokio::test]
async fn untrusted_values_are_escaped_on_pages() {
    let app = TestApp::start().await;
    app.create_user("alice").await;
    let client = app
        .create_client(ClientSpec {
            name: "<script>alert('name')</script>".into(),
            ..ClientSpec::default()
        })
        .await;
    let mut browser = app.browser();
    let page = browser
        .get(&url_with(
            &app,
            &client,
            "openid",
            &[("login_hint", "\"><script>alert(1)</script>{{x}}")],
        ))
        .await;
    let login = browser.get(page.location.as_deref().unwrap()).await;
    assert!(!login.body.contains("<script>"), "{}", login.body);
    assert!(login.body.contains("&#60;script&#62;") || login.body.contains("&lt;script&gt;"));
    let done = browser
        .login(page.location.as_deref().unwrap(), "alice", PASSWORD)
        .await;
    let cont = browser.get(done.location.as_deref().unwrap()).await;
    let consent = browser.get(cont.location.as_deref().unwrap()).await;
    assert!(!consent.body.contains("<script>"), "{}", consent.body);
}

#[tokio::test]
async fn an_expired_or_unknown_pending_request_shows_a_page() {
    let (app, client) = setup().await;
    let mut browser = app.browser();
    let page = browser.get(&url_with(&app, &client, "openid", &[])).await;
    let login_url = page.location.unwrap();
    app.clock.advance(31 * 60);
    let page = browser.get(&login_url).await;
    assert_eq!(page.status, 400);
    let page = browser.get("/consent?request=does-not-exist").await;
    assert_eq!(page.status, 400);
    let page = browser.get("/authorize/continue?request=' OR 1=1 --").await;
    assert_eq!(page.status, 400);
}

/// Finding of the security review: a pending request must belong to the browser that
/// started it. Here the attacker prepares a request for their client, consents and signs in
/// as themselves (which also satisfies prompt=login), then sends the victim, who is signed
/// in, to finish it. The victim must get a page, not a code for the attacker.
#[tokio::test]
async fn another_browser_cannot_finish_a_pending_request() {
    let app = TestApp::start().await;
    app.create_user("alice").await;
    app.create_user("mallory").await;
    let evil = app
        .create_client(ClientSpec {
            name: "Evil".into(),
            redirect_uris: vec!["https://evil.example/cb".into()],
            ..ClientSpec::default()
        })
        .await;
    // The victim has a session of her own.
    let mut victim = app.browser();
    let own = app.create_client(ClientSpec::default()).await;
    victim
        .authorize(&url_with(&app, &own, "openid", &[]), "alice")
        .await;

    let mut attacker = app.browser();
    let page = attacker
        .get(&url_with(
            &app,
            &evil,
            "openid email profile",
            &[("prompt", "login")],
        ))
        .await;
    let login_url = page.location.unwrap();
    let request = query_of(&format!(
        "http://x{}",
        login_url
            .split_once('?')
            .map(|(_, q)| format!("/?{q}"))
            .unwrap()
    ))["request"]
        .clone();
    let done = attacker.login(&login_url, "mallory", PASSWORD).await;
    assert_eq!(done.status, 303);

    for path in [
        format!("/authorize/continue?request={request}"),
        format!("/consent?request={request}"),
        format!("/login?request={request}"),
    ] {
        let page = victim.get(&path).await;
        assert_eq!(page.status, 400, "{path}: {}", page.body);
        assert!(page.location.is_none(), "{path} must not redirect anywhere");
    }
    // A POSTed consent from the victim's session, with her own CSRF token, fails the same way.
    let home = victim.get("/login").await;
    let csrf = input_value(&home.body, "csrf_token").unwrap();
    let res = victim
        .post(
            "/consent",
            &[
                ("csrf_token", &csrf),
                ("request", &request),
                ("decision", "allow"),
            ],
        )
        .await;
    assert_eq!(res.status, 400);
    assert!(res.location.is_none());
}

/// Security review finding: two tabs allowing at once made the consent upsert fail with
/// SQLITE_BUSY (or a duplicate key on PostgreSQL) and answered 503.
#[tokio::test]
async fn consenting_in_several_tabs_at_once_works() {
    let (app, client) = setup().await;
    let mut browser = app.browser();
    browser.login("/login", "alice", PASSWORD).await;
    let mut forms = Vec::new();
    for _ in 0..8 {
        let page = browser
            .get(&url_with(&app, &client, "openid email", &[]))
            .await;
        let consent = browser.get(page.location.as_deref().unwrap()).await;
        forms.push((
            input_value(&consent.body, "csrf_token").unwrap(),
            input_value(&consent.body, "request").unwrap(),
        ));
    }
    let cookie = format!("gatehouse-session={}", browser.cookies["gatehouse-session"]);
    let mut tasks = Vec::new();
    for (csrf, request) in forms {
        let (http, url, cookie) = (app.http(), app.url("/consent"), cookie.clone());
        tasks.push(tokio::spawn(async move {
            let res = http
                .post(url)
                .header("cookie", cookie)
                .form(&[
                    ("csrf_token", csrf.as_str()),
                    ("request", request.as_str()),
                    ("decision", "allow"),
                ])
                .send()
                .await
                .unwrap();
            (res.status().as_u16(), location(&res).unwrap_or_default())
        }));
    }
    for t in tasks {
        let (status, loc) = t.await.unwrap();
        assert_eq!(status, 303, "{loc}");
        assert!(query_of(&loc).contains_key("code"), "{loc}");
    }
}
