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
