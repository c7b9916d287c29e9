//! Refresh tokens (RFC 6749 §6; RFC 9700 §4.14; OIDC Core §11, §12), driven by the `oauth2`
//! crate as an app that stays signed in would, and probed for reuse, theft and widening.

#![allow(clippy::unwrap_used)]

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse_core::GrantType;
use gatehouse_tests::*;
use oauth2::basic::BasicClient;
use oauth2::{AuthUrl, ClientId, ClientSecret, RefreshToken, TokenResponse, TokenUrl};
use serde_json::Value;

fn refreshing() -> ClientSpec {
    ClientSpec {
        grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        ..ClientSpec::default()
    }
}

async fn setup() -> (TestApp, TestClient) {
    let app = TestApp::start().await;
    app.create_user("alice").await;
    let client = app.create_client(refreshing()).await;
    (app, client)
}

fn claims(jwt: &str) -> Value {
    let part = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

async fn refresh(
    app: &TestApp,
    client: &TestClient,
    token: &str,
    scope: Option<&str>,
) -> (u16, Value) {
    let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", token)];
    if let Some(s) = scope {
        form.push(("scope", s));
    }
    token_request(app, client, &form).await
}

async fn userinfo_status(app: &TestApp, access_token: &str) -> u16 {
    app.http()
        .get(app.url("/userinfo"))
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn an_oauth2_client_refreshes_and_every_use_rotates() {
    let (app, client) = setup().await;
    let first = sign_in(&app, &client, "alice", "openid email offline_access").await;
    let rt1 = first["refresh_token"]
        .as_str()
        .expect("offline_access gives a refresh token");
    let rp = BasicClient::new(ClientId::new(client.id.clone()))
        .set_client_secret(ClientSecret::new(client.secret.clone().unwrap()))
        .set_auth_uri(AuthUrl::new(app.url("/authorize")).unwrap())
        .set_token_uri(TokenUrl::new(app.url("/token")).unwrap());
    let http = http_client();
    let second = rp
        .exchange_refresh_token(&RefreshToken::new(rt1.to_owned()))
        .request_async(&http)
        .await
        .expect("refresh");
    let rt2 = second.refresh_token().expect("rotated").secret().clone();
    assert_ne!(rt2, rt1);
    assert_eq!(
        userinfo_status(&app, second.access_token().secret()).await,
        200
    );

    // A refreshed ID token keeps sub and auth_time (OIDC Core §12.2).
    let (status, third) = refresh(&app, &client, &rt2, None).await;
    assert_eq!(status, 200, "{third}");
    let before = claims(first["id_token"].as_str().unwrap());
    let after = claims(third["id_token"].as_str().unwrap());
    assert_eq!(after["sub"], before["sub"]);
    assert_eq!(after["auth_time"], before["auth_time"]);
    assert!(after.get("nonce").is_none());
}

#[tokio::test]
async fn reusing_a_rotated_token_revokes_the_whole_grant_with_no_grace_period() {
    let (app, client) = setup().await;
    let first = sign_in(&app, &client, "alice", "openid offline_access").await;
    let rt1 = first["refresh_token"].as_str().unwrap().to_owned();
    let (_, second) = refresh(&app, &client, &rt1, None).await;
    let rt2 = second["refresh_token"].as_str().unwrap().to_owned();
    let at2 = second["access_token"].as_str().unwrap().to_owned();

    // The client "lost the response" and retries with rt1: no grace, this is reuse.
    let (status, body) = refresh(&app, &client, &rt1, None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    // Every descendant of the grant is dead: rt2, and the access tokens.
    let (status, _) = refresh(&app, &client, &rt2, None).await;
    assert_eq!(status, 400);
    assert_eq!(userinfo_status(&app, &at2).await, 401);
    assert_eq!(
        userinfo_status(&app, first["access_token"].as_str().unwrap()).await,
        401
    );
}

#[tokio::test]
async fn parallel_refreshes_leave_one_winner_and_no_live_family() {
    let (app, client) = setup().await;
    let first = sign_in(&app, &client, "alice", "openid offline_access").await;
    let rt = first["refresh_token"].as_str().unwrap().to_owned();
    let app = std::sync::Arc::new(app);
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (app, client, rt) = (app.clone(), client.clone(), rt.clone());
        tasks.push(tokio::spawn(async move {
            refresh(&app, &client, &rt, None).await
        }));
    }
    let mut winners = Vec::new();
    for t in tasks {
        let (status, body) = t.await.unwrap();
        match status {
            200 => winners.push(body),
            400 => assert_eq!(body["error"], "invalid_grant"),
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(winners.len(), 1);
    // The losers' reuse revoked the grant, so even the winner's new token is dead: never two
    // live families.
    let (status, _) = refresh(
        &app,
        &client,
        winners[0]["refresh_token"].as_str().unwrap(),
        None,
    )
    .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn a_refresh_token_is_bound_to_its_client_and_not_spent_by_others() {
    let (app, client) = setup().await;
    let other = app.create_client(refreshing()).await;
    let first = sign_in(&app, &client, "alice", "openid offline_access").await;
    let rt = first["refresh_token"].as_str().unwrap();
    let (status, body) = refresh(&app, &other, rt, None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let (status, _) = refresh(&app, &client, rt, None).await;
    assert_eq!(status, 200, "the rightful client's token still works");
}

#[tokio::test]
async fn scope_may_narrow_and_never_widen() {
    let (app, client) = setup().await;
    let first = sign_in(&app, &client, "alice", "openid email offline_access").await;
    let rt = first["refresh_token"].as_str().unwrap().to_owned();
    let (status, body) = refresh(&app, &client, &rt, Some("openid profile")).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_scope"))
    );
    // The refused widening did not spend the token.
    let (status, narrow) = refresh(&app, &client, &rt, Some("openid")).await;
    assert_eq!(status, 200, "{narrow}");
    assert_eq!(narrow["scope"], "openid");
    assert_eq!(
        claims(narrow["access_token"].as_str().unwrap())["scope"],
        "openid"
    );
    // The grant keeps its original scope: the next refresh may ask for all of it.
    let (status, full) = refresh(
        &app,
        &client,
        narrow["refresh_token"].as_str().unwrap(),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(full["scope"], "email offline_access openid");
}

#[tokio::test]
async fn who_gets_a_refresh_token() {
    let (app, client) = setup().await;
    // An OpenID request without offline_access: no refresh token (OIDC Core §11).
    let tokens = sign_in(&app, &client, "alice", "openid email").await;
    assert!(tokens.get("refresh_token").is_none());
    // A plain OAuth request from a client allowed to refresh: yes.
    let tokens = sign_in(&app, &client, "alice", "email").await;
    assert!(tokens["refresh_token"].is_string());
    // A client not registered for refresh tokens cannot even ask for offline_access.
    let plain = app.create_client(ClientSpec::default()).await;
    let (_, challenge) = pkce_pair();
    let page = app
        .browser()
        .get(&authorize_url(
            &app,
            &code_request(&plain, &challenge, "openid offline_access"),
        ))
        .await;
    assert_eq!(query_of(&page.location.unwrap())["error"], "invalid_scope");
}

#[tokio::test]
async fn reusing_the_code_kills_its_refresh_token_too() {
    let (app, client) = setup().await;
    let (verifier, challenge) = pkce_pair();
    let url = authorize_url(
        &app,
        &code_request(&client, &challenge, "openid offline_access"),
    );
    let callback = app.browser().authorize(&url, "alice").await;
    let code = query_of(&callback)["code"].clone();
    let (_, tokens) = exchange_code(&app, &client, &code, Some(&verifier)).await;
    let (status, _) = exchange_code(&app, &client, &code, Some(&verifier)).await;
    assert_eq!(status, 400);
    let (status, _) = refresh(
        &app,
        &client,
        tokens["refresh_token"].as_str().unwrap(),
        None,
    )
    .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn idle_and_absolute_lifetimes_end_a_family() {
    let app = TestApp::start_with(gatehouse_server::RawConfig {
        refresh_token_idle_ttl: Some(100),
        refresh_token_absolute_ttl: Some(250),
        ..Default::default()
    })
    .await;
    app.create_user("alice").await;
    let client = app.create_client(refreshing()).await;

    // Idle: unused for longer than 100 s.
    let tokens = sign_in(&app, &client, "alice", "openid offline_access").await;
    app.clock.advance(101);
    let (status, _) = refresh(
        &app,
        &client,
        tokens["refresh_token"].as_str().unwrap(),
        None,
    )
    .await;
    assert_eq!(status, 400);

    // Absolute: used every 90 s, the family still ends 250 s after sign-in.
    let tokens = sign_in(&app, &client, "alice", "openid offline_access").await;
    let mut rt = tokens["refresh_token"].as_str().unwrap().to_owned();
    for _ in 0..2 {
        app.clock.advance(90);
        let (status, next) = refresh(&app, &client, &rt, None).await;
        assert_eq!(status, 200, "{next}");
        rt = next["refresh_token"].as_str().unwrap().to_owned();
    }
    app.clock.advance(90);
    let (status, body) = refresh(&app, &client, &rt, None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

#[tokio::test]
async fn refresh_tokens_are_stored_only_hashed() {
    let (app, client) = setup().await;
    let tokens = sign_in(&app, &client, "alice", "openid offline_access").await;
    let rt = tokens["refresh_token"].as_str().unwrap();
    let stored = app
        .store
        .find_refresh_token(&gatehouse_core::secret::hash_secret(rt))
        .await
        .unwrap()
        .expect("found by hash");
    assert_ne!(stored.token_hash, rt);
    assert!(
        app.store.find_refresh_token(rt).await.unwrap().is_none(),
        "not findable by value"
    );
}
