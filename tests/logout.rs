//! RP-Initiated Logout 1.0 at the end_session_endpoint.

#![allow(clippy::unwrap_used)]

use gatehouse_tests::*;

const COOKIE: &str = "gatehouse-session";

/// Signs alice in with `browser` and returns her ID token.
async fn signed_in(app: &TestApp, client: &TestClient, browser: &mut Browser) -> String {
    let (verifier, challenge) = pkce_pair();
    let callback = browser
        .authorize(
            &authorize_url(app, &code_request(client, &challenge, "openid")),
            "alice",
        )
        .await;
    let (_, tokens) =
        exchange_code(app, client, &query_of(&callback)["code"], Some(&verifier)).await;
    tokens["id_token"].as_str().unwrap().to_owned()
}

async fn setup() -> (TestApp, TestClient) {
    let app = TestApp::start().await;
    app.create_user("alice").await;
    let client = app.create_client(ClientSpec::default()).await;
    (app, client)
}

fn logout_url(app: &TestApp, pairs: &[(&str, &str)]) -> String {
    let q: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    app.url(&format!("/logout?{q}"))
}

#[tokio::test]
async fn logout_with_a_hint_returns_to_the_registered_uri_and_kills_the_session() {
    let (app, client) = setup().await;
    let mut browser = app.browser();
    let id_token = signed_in(&app, &client, &mut browser).await;
    let old_cookie = browser.cookies[COOKIE].clone();
    let page = browser
        .get(&logout_url(
            &app,
            &[
                ("id_token_hint", &id_token),
                ("post_logout_redirect_uri", "https://app.example/signed-out"),
                ("state", "bye"),
            ],
        ))
        .await;
    assert_eq!(page.status, 303);
    assert_eq!(
        page.location.as_deref(),
        Some("https://app.example/signed-out?state=bye")
    );
    assert!(
        !browser.cookies.contains_key(COOKIE),
        "the cookie is cleared"
    );

    // Replaying the old cookie finds no session.
    let mut replay = app.browser();
    replay.cookies.insert(COOKIE.into(), old_cookie);
    let page = replay
        .get(&authorize_url(
            &app,
            &code_request(&client, &pkce_pair().1, "openid"),
        ))
        .await;
    assert!(page.location.unwrap().contains("/login?"));
}

#[tokio::test]
async fn an_unregistered_post_logout_redirect_uri_is_refused() {
    let (app, client) = setup().await;
    let mut browser = app.browser();
    let id_token = signed_in(&app, &client, &mut browser).await;
    for (uri, hint) in [
        ("https://evil.example/", Some(id_token.as_str())),
        ("https://app.example/signed-out/", Some(id_token.as_str())),
        ("https://app.example/signed-out", None),
    ] {
        let mut pairs = vec![("post_logout_redirect_uri", uri)];
        if let Some(h) = hint {
            pairs.push(("id_token_hint", h));
        }
        let page = browser.get(&logout_url(&app, &pairs)).await;
        assert_eq!(page.status, 400, "{uri}");
        assert!(page.location.is_none());
    }
    // Still signed in.
    let home = browser.get("/").await;
    assert!(home.body.contains("Signed in as"));
}

#[tokio::test]
async fn logout_without_a_hint_asks_for_confirmation() {
    let (app, client) = setup().await;
    let mut browser = app.browser();
    signed_in(&app, &client, &mut browser).await;
    let page = browser
        .get(&logout_url(
            &app,
            &[
                ("client_id", &client.id),
                ("post_logout_redirect_uri", "https://app.example/signed-out"),
                ("state", "s1"),
            ],
        ))
        .await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Sign out?"));
    assert!(
        browser.get("/").await.body.contains("Signed in as"),
        "nothing happened yet"
    );

    let csrf = input_value(&page.body, "csrf_token").unwrap();
    let refused = browser
        .post(
            "/logout/confirm",
            &[("csrf_token", "forged"), ("client_id", &client.id)],
        )
        .await;
    assert_eq!(refused.status, 403);

    let done = browser
        .post(
            "/logout/confirm",
            &[
                ("csrf_token", &csrf),
                ("client_id", &client.id),
                ("post_logout_redirect_uri", "https://app.example/signed-out"),
                ("state", "s1"),
            ],
        )
        .await;
    assert_eq!(
        done.location.as_deref(),
        Some("https://app.example/signed-out?state=s1")
    );
    assert!(!browser.get("/").await.body.contains("Signed in as"));
}

#[tokio::test]
async fn forged_id_token_hints_are_refused() {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let (app, client) = setup().await;
    let mut browser = app.browser();
    let id_token = signed_in(&app, &client, &mut browser).await;
    let parts: Vec<&str> = id_token.split('.').collect();
    let mut payload: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    payload["sub"] = "someone-else".into();
    let altered = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(payload.to_string()),
        parts[2]
    );
    let none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#),
        parts[1]
    );
    let hs256 = format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","typ":"JWT"}"#),
        parts[1],
        parts[2]
    );
    for hint in [altered, none, hs256, "garbage".to_owned()] {
        let page = browser
            .get(&logout_url(
                &app,
                &[
                    ("id_token_hint", &hint),
                    ("post_logout_redirect_uri", "https://app.example/signed-out"),
                ],
            ))
            .await;
        assert_eq!(page.status, 400, "{hint}");
        assert!(page.location.is_none());
    }
    assert!(browser.get("/").await.body.contains("Signed in as"));
}

/// No open redirect through a client anyone may register: without a valid
/// `id_token_hint`, a signed-out browser is not sent to `post_logout_redirect_uri`; the page
/// offers it as a link for the user to follow.
#[tokio::test]
async fn without_a_valid_hint_the_redirect_is_only_offered() {
    let (app, client) = setup().await;
    let mut browser = app.browser();
    let page = browser
        .get(&logout_url(
            &app,
            &[
                ("client_id", &client.id),
                ("post_logout_redirect_uri", "https://app.example/signed-out"),
                ("state", "s2"),
            ],
        ))
        .await;
    assert_eq!(page.status, 200, "no redirect on the request's word alone");
    assert!(page.location.is_none());
    assert!(
        page.body
            .contains("href=\"https://app.example/signed-out?state=s2\""),
        "{}",
        page.body
    );
    // With a valid hint (even with nobody signed in any more) the redirect is followed.
    let mut other = app.browser();
    let id_token = signed_in(&app, &client, &mut other).await;
    let mut fresh = app.browser();
    let page = fresh
        .get(&logout_url(
            &app,
            &[
                ("id_token_hint", &id_token),
                ("post_logout_redirect_uri", "https://app.example/signed-out"),
            ],
        ))
        .await;
    assert_eq!(page.status, 303);
}

/// "Sign out everywhere" on the confirmation page ends every session of the account and
/// revokes every grant, so every token an app holds dies; and the admin API does the same.
#[tokio::test]
async fn signing_out_everywhere_ends_every_session_and_grant() {
    let (app, client) = setup().await;
    let mut laptop = app.browser();
    let mut phone = app.browser();
    signed_in(&app, &client, &mut laptop).await;
    let (verifier, challenge) = pkce_pair();
    let callback = phone
        .authorize(
            &authorize_url(&app, &code_request(&client, &challenge, "openid")),
            "alice",
        )
        .await;
    let (_, tokens) =
        exchange_code(&app, &client, &query_of(&callback)["code"], Some(&verifier)).await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let userinfo = |token: String| {
        let app = &app;
        async move {
            app.http()
                .get(app.url("/userinfo"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(userinfo(access.clone()).await, 200);

    let page = laptop.get(&logout_url(&app, &[])).await;
    assert!(page.body.contains("Sign out everywhere"));
    let csrf = input_value(&page.body, "csrf_token").unwrap();
    let done = laptop
        .post(
            "/logout/confirm",
            &[("csrf_token", &csrf), ("everywhere", "1")],
        )
        .await;
    assert_eq!(done.status, 200);
    assert!(done.body.contains("signed out everywhere"), "{}", done.body);
    assert!(
        !phone.get("/").await.body.contains("Signed in as"),
        "the phone's session ended"
    );
    assert!(!laptop.get("/").await.body.contains("Signed in as"));
    assert_eq!(
        userinfo(access).await,
        401,
        "the app's token died with its grant"
    );

    // Through the admin API.
    let mut again = app.browser();
    signed_in(&app, &client, &mut again).await;
    let (_, admin) = service_token(&app, "gatehouse:admin").await;
    let alice = app
        .store
        .find_user_by_username("alice")
        .await
        .unwrap()
        .unwrap();
    let res = app
        .http()
        .post(app.url(&format!(
            "/admin/api/users/{}/sign-out-everywhere",
            alice.id
        )))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["sessions_ended"], 1);
    assert_eq!(body["grants_revoked"], 1);
    assert!(!again.get("/").await.body.contains("Signed in as"));
}
