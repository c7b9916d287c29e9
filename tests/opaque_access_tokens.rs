//! Opaque access tokens, the per-client alternative to JWTs: random values stored hashed,
//! honoured by userinfo and introspection, dead at once when revoked or expired.

#![allow(clippy::unwrap_used)]

use gatehouse_core::{AccessTokenFormat, GrantType};
use gatehouse_tests::*;
use serde_json::Value;

#[tokio::test]
async fn an_opaque_token_works_until_revoked() {
    let app = TestApp::start().await;
    app.create_user("alice").await;
    let client = app
        .create_client(ClientSpec {
            access_token_format: AccessTokenFormat::Opaque,
            grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            ..ClientSpec::default()
        })
        .await;
    let api = app
        .create_client(ClientSpec {
            redirect_uris: vec![],
            grant_types: vec![GrantType::ClientCredentials],
            ..ClientSpec::default()
        })
        .await;
    let tokens = sign_in(&app, &client, "alice", "openid email offline_access").await;
    let at = tokens["access_token"].as_str().unwrap().to_owned();
    assert!(!at.contains('.'), "not a JWT: {at}");
    assert_eq!(at.len(), 43, "256 bits, base64url");
    // The ID token's at_hash covers the opaque value like any other.
    let res = app
        .http()
        .get(app.url("/userinfo"))
        .bearer_auth(&at)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.json::<Value>().await.unwrap()["email"],
        "alice@example.com"
    );
    let info = introspect(&app, &api, &at).await;
    assert_eq!(
        (info["active"].as_bool(), info["client_id"].as_str()),
        (Some(true), Some(client.id.as_str()))
    );
    assert!(
        app.store
            .find_access_token(&at, app.now())
            .await
            .unwrap()
            .is_none(),
        "stored only hashed"
    );

    // A refresh gives another opaque token.
    let (_, refreshed) = token_request(
        &app,
        &client,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
        ],
    )
    .await;
    let at2 = refreshed["access_token"].as_str().unwrap().to_owned();
    assert!(!at2.contains('.'));

    // Revocation kills it at once.
    let res = app
        .http()
        .post(app.url("/revoke"))
        .basic_auth(&client.id, client.secret.as_deref())
        .form(&[("token", at.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(introspect(&app, &api, &at).await["active"], false);
    let res = app
        .http()
        .get(app.url("/userinfo"))
        .bearer_auth(&at)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);

    // Expiry.
    assert_eq!(introspect(&app, &api, &at2).await["active"], true);
    app.clock.advance(901);
    assert_eq!(introspect(&app, &api, &at2).await["active"], false);
}

async fn introspect(app: &TestApp, caller: &TestClient, token: &str) -> Value {
    app.http()
        .post(app.url("/introspect"))
        .basic_auth(&caller.id, caller.secret.as_deref())
        .form(&[("token", token)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}
