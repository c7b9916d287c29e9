//! Names people see cannot deceive (the hardening issue, item 7): usernames are compared
//! and stored in one normalised form (RFC 8265 UsernameCaseMapped), look-alikes of an
//! existing name (UTS #39 skeletons) and format characters are refused, at sign-up and at
//! creation; client names refuse format characters too.

#![allow(clippy::unwrap_used)]

use gatehouse_tests::*;
use serde_json::json;

async fn sign_up(app: &TestApp, username: &str) -> Page {
    let mut browser = app.browser();
    let page = browser.get("/signup").await;
    let csrf = input_value(&page.body, "csrf_token").unwrap();
    browser
        .post(
            "/signup",
            &[
                ("csrf_token", csrf.as_str()),
                ("username", username),
                ("password", "a long enough new password"),
            ],
        )
        .await
}

#[tokio::test]
async fn one_account_per_normalised_name_and_no_look_alikes() {
    let app = TestApp::start_with(gatehouse_server::RawConfig {
        signup: Some(true),
        ..Default::default()
    })
    .await;
    app.create_user("Admin").await;
    // The same name in another case or width is the same account, at sign-in...
    let client = app.create_client(ClientSpec::default()).await;
    for typed in ["admin", "ADMIN", "ＡＤＭＩＮ"] {
        let mut browser = app.browser();
        let (_, challenge) = pkce_pair();
        let page = browser
            .get(&authorize_url(
                &app,
                &code_request(&client, &challenge, "openid"),
            ))
            .await;
        let done = browser
            .login(page.location.as_deref().unwrap(), typed, PASSWORD)
            .await;
        assert_eq!(done.status, 303, "{typed}: {}", done.body);
    }
    // ...and cannot be taken again.
    assert_eq!(sign_up(&app, "admin").await.status, 409);
    assert_eq!(sign_up(&app, "ＡＤＭＩＮ").await.status, 409);
    // A look-alike (Cyrillic а, or "rn" for "m") is refused.
    for look_alike in ["\u{0430}dmin", "adrnin"] {
        let page = sign_up(&app, look_alike).await;
        assert_eq!(page.status, 400, "{look_alike}");
        assert!(
            page.body.contains("looks like an existing one"),
            "{}",
            page.body
        );
    }
    // Format characters: bidi overrides, zero-width characters.
    for hidden in ["ad\u{202E}nim", "ad\u{200B}min2", "\u{2066}root"] {
        assert_eq!(sign_up(&app, hidden).await.status, 400, "{hidden:?}");
    }
    assert_eq!(sign_up(&app, "someone-new").await.status, 303);

    // The admin API and the store refuse them alike.
    let (_, admin) = service_token(&app, "gatehouse:admin").await;
    for (username, status) in [("\u{0430}dmin", 400), ("ADMIN", 409), ("x\u{200D}y", 400)] {
        let res = app
            .http()
            .post(app.url("/admin/api/users"))
            .bearer_auth(&admin)
            .json(&json!({"username": username, "password": "a long enough new password"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), status, "{username:?}");
    }
}

#[tokio::test]
async fn client_names_refuse_format_characters() {
    let app = TestApp::start_with(gatehouse_server::RawConfig {
        open_registration: Some(true),
        ..Default::default()
    })
    .await;
    let res = app
        .http()
        .post(app.url("/register"))
        .json(&json!({
            "client_name": "Trusted Bank\u{202E}lanigiro",
            "redirect_uris": ["https://app.example/cb"],
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client_metadata");
}
