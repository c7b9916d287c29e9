//! Self-service sign-up: closed by default; when open, NIST SP 800-63B passwords, the new
//! account signed in at once, throttled per address, and able to continue a sign-in.

#![allow(clippy::unwrap_used)]

use gatehouse_server::RawConfig;
use gatehouse_tests::*;

async fn open_app() -> TestApp {
    TestApp::start_with(RawConfig {
        signup: Some(true),
        ..RawConfig::default()
    })
    .await
}

async fn submit(browser: &mut Browser, username: &str, password: &str) -> Page {
    let page = browser.get("/signup").await;
    assert_eq!(page.status, 200);
    let csrf = input_value(&page.body, "csrf_token").unwrap();
    let mut form = vec![
        ("csrf_token", csrf.as_str()),
        ("username", username),
        ("password", password),
    ];
    let request = input_value(&page.body, "request");
    if let Some(r) = &request {
        form.push(("request", r));
    }
    browser.post("/signup", &form).await
}

#[tokio::test]
async fn sign_up_is_closed_unless_configured() {
    let app = TestApp::start().await;
    let mut browser = app.browser();
    assert_eq!(browser.get("/signup").await.status, 404);
    assert_eq!(
        browser.post("/signup", &[("username", "x")]).await.status,
        404
    );
    assert!(!browser.get("/login").await.body.contains("signup-link"));
}

#[tokio::test]
async fn passwords_follow_nist_800_63b_and_the_account_is_signed_in() {
    let app = open_app().await;
    let mut browser = app.browser();
    assert!(
        browser
            .get("/login")
            .await
            .body
            .contains("id=\"signup-link\"")
    );
    for (password, why) in [
        ("elevenchars", "at least 12"),
        ("unbelievable", "most commonly used"),
        ("newcomer-one", "not be the username"),
    ] {
        let page = submit(&mut browser, "newcomer-one", password).await;
        assert_eq!(page.status, 400, "{password}");
        assert!(page.body.contains(why), "{password}: {}", page.body);
        assert!(
            page.body.contains("value=\"newcomer-one\""),
            "the username is kept"
        );
    }
    assert!(
        app.store
            .find_user_by_username("newcomer-one")
            .await
            .unwrap()
            .is_none()
    );
    // No composition rules; any Unicode; 128 characters are fine.
    let long: String = "😀ñ ".repeat(43);
    assert!(long.chars().count() >= 128);
    let page = submit(&mut browser, "newcomer-one", &long).await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(page.location.as_deref(), Some(app.url("/").as_str()));
    // Signed in: the console knows who this is (and refuses a non-admin).
    assert_eq!(browser.get("/admin").await.status, 403);
    // The password works at sign-in; the name is taken now.
    let mut other = app.browser();
    assert_eq!(
        other.login("/login", "newcomer-one", &long).await.status,
        303
    );
    let page = submit(
        &mut app.browser(),
        "newcomer-one",
        "another fine passphrase",
    )
    .await;
    assert_eq!(page.status, 409);
    let user = app
        .store
        .find_user_by_username("newcomer-one")
        .await
        .unwrap()
        .unwrap();
    let log = app
        .store
        .list_audit(&gatehouse_core::Query {
            search: Some(user.id.clone()),
            offset: 0,
            limit: 5,
        })
        .await
        .unwrap();
    assert_eq!(log.items[0].action, "user.signup");
    assert_eq!(log.items[0].address.as_deref(), Some("127.0.0.1"));
}

#[tokio::test]
async fn a_sign_up_continues_the_authorization_request() {
    let app = open_app().await;
    let client = app.create_client(ClientSpec::default()).await;
    let (verifier, challenge) = pkce_pair();
    let url = authorize_url(&app, &code_request(&client, &challenge, "openid"));
    let mut browser = app.browser();
    let page = browser.get(&url).await;
    let login = page.location.unwrap();
    let login_page = browser.get(&login).await;
    assert!(
        login_page.body.contains("/signup?request="),
        "the sign-up link keeps the request"
    );
    let href = login_page
        .body
        .split("id=\"signup-link\" href=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .replace("&amp;", "&");
    let page = browser.get(&href).await;
    let csrf = input_value(&page.body, "csrf_token").unwrap();
    let request = input_value(&page.body, "request").unwrap();
    let page = browser
        .post(
            "/signup",
            &[
                ("csrf_token", &csrf),
                ("request", &request),
                ("username", "fresh"),
                ("password", "a fresh long passphrase"),
            ],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let mut page = browser.get(page.location.as_deref().unwrap()).await;
    if page
        .location
        .as_deref()
        .is_some_and(|l| l.contains("/consent"))
    {
        page = browser
            .consent(page.location.as_deref().unwrap(), "allow")
            .await;
    }
    let callback = page.location.unwrap();
    let code = query_of(&callback)
        .remove("code")
        .expect("a code after sign-up and consent");
    let (status, body) = exchange_code(&app, &client, &code, Some(&verifier)).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn sign_ups_are_throttled_per_address() {
    let app = open_app().await;
    let mut statuses = Vec::new();
    for n in 0..24 {
        let mut browser = app.browser();
        statuses.push(
            submit(&mut browser, &format!("bot{n}"), "short")
                .await
                .status,
        );
    }
    assert!(statuses[..20].iter().all(|s| *s == 400), "{statuses:?}");
    assert!(statuses[20..].iter().all(|s| *s == 429), "{statuses:?}");
}
