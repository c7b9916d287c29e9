//! What administering accounts and clients does to what they already hold: disabling or
//! deleting a user, changing a password, rotating a secret, deleting a client.

#![allow(clippy::unwrap_used)]

use gatehouse_core::GrantType;
use gatehouse_tests::*;

#[tokio::test]
async fn disabling_a_user_ends_sessions_grants_and_tokens() {
    let app = TestApp::start().await;
    let alice = app.create_user("alice").await;
    let client = app
        .create_client(ClientSpec {
            grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            ..ClientSpec::default()
        })
        .await;
    let mut browser = app.browser();
    let (verifier, challenge) = pkce_pair();
    let callback = browser
        .authorize(
            &authorize_url(
                &app,
                &code_request(&client, &challenge, "openid offline_access"),
            ),
            "alice",
        )
        .await;
    let (_, tokens) =
        exchange_code(&app, &client, &query_of(&callback)["code"], Some(&verifier)).await;

    assert!(
        app.store
            .set_user_disabled(&alice, true, app.now(), &test_audit("user.disable"))
            .await
            .unwrap()
    );
    let res = app
        .http()
        .get(app.url("/userinfo"))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let (status, _) = token_request(
        &app,
        &client,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        !browser.get("/").await.body.contains("Signed in as"),
        "the session ended"
    );
    let page = browser.login("/login", "alice", PASSWORD).await;
    assert_eq!(page.status, 401, "a disabled account cannot sign in");

    // Enabled again, the password works; old tokens stay dead.
    assert!(
        app.store
            .set_user_disabled(&alice, false, app.now(), &test_audit("user.enable"))
            .await
            .unwrap()
    );
    let page = browser.login("/login", "alice", PASSWORD).await;
    assert_eq!(page.status, 303);
}

#[tokio::test]
async fn deleting_a_client_revokes_what_it_holds() {
    let app = TestApp::start().await;
    app.create_user("alice").await;
    let client = app.create_client(ClientSpec::default()).await;
    let tokens = sign_in(&app, &client, "alice", "openid").await;
    assert!(
        app.store
            .delete_client(&client.id, app.now(), &test_audit("client.delete"))
            .await
            .unwrap()
    );
    let res = app
        .http()
        .get(app.url("/userinfo"))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let (status, body) = token_request(
        &app,
        &client,
        &[("grant_type", "authorization_code"), ("code", "x")],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
}

#[tokio::test]
async fn a_rotated_secret_replaces_the_old_one_at_once() {
    let app = TestApp::start().await;
    let client = app
        .create_client(ClientSpec {
            redirect_uris: vec![],
            grant_types: vec![GrantType::ClientCredentials],
            ..ClientSpec::default()
        })
        .await;
    let new_secret = gatehouse_core::secret::new_secret();
    assert!(
        app.store
            .set_client_secret(
                &client.id,
                &gatehouse_core::secret::hash_secret(&new_secret),
                app.now(),
                &test_audit("client.rotate_secret"),
            )
            .await
            .unwrap()
    );
    let (status, _) = token_request(&app, &client, &[("grant_type", "client_credentials")]).await;
    assert_eq!(status, 401, "the old secret no longer works");
    let rotated = TestClient {
        secret: Some(new_secret),
        ..client
    };
    let (status, _) = token_request(&app, &rotated, &[("grant_type", "client_credentials")]).await;
    assert_eq!(status, 200);
}
