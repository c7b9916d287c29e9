//! Introspection (RFC 7662) and revocation (RFC 7009), checked with the `oauth2` crate's
//! own introspection and revocation clients and probed for what they must not reveal or do.

#![allow(clippy::unwrap_used)]

use gatehouse_core::{ClientAuthMethod, GrantType};
use gatehouse_tests::*;
use oauth2::basic::BasicClient;
use oauth2::{
    AccessToken, AuthUrl, ClientId, ClientSecret, IntrospectionUrl, TokenIntrospectionResponse,
    TokenUrl,
};
use serde_json::Value;

fn refreshing() -> ClientSpec {
    ClientSpec {
        grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        ..ClientSpec::default()
    }
}

async fn setup() -> (TestApp, TestClient, TestClient) {
    let app = TestApp::start().await;
    app.create_user("alice").await;
    let client = app.create_client(refreshing()).await;
    // A resource server: a confidential client that only checks tokens.
    let api = app
        .create_client(ClientSpec {
            name: "API".into(),
            redirect_uris: vec![],
            post_logout_redirect_uris: vec![],
            grant_types: vec![GrantType::ClientCredentials],
            ..ClientSpec::default()
        })
        .await;
    (app, client, api)
}

async fn introspect(app: &TestApp, caller: &TestClient, token: &str) -> Value {
    let (status, body) = post_as(app, caller, "/introspect", &[("token", token)]).await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn post_as(
    app: &TestApp,
    caller: &TestClient,
    path: &str,
    form: &[(&str, &str)],
) -> (u16, Value) {
    let mut req = app.http().post(app.url(path));
    let mut form = form.to_vec();
    match &caller.secret {
        Some(s) => req = req.basic_auth(&caller.id, Some(s)),
        None => form.push(("client_id", &caller.id)),
    }
    let res = req.form(&form).send().await.unwrap();
    let status = res.status().as_u16();
    assert_eq!(res.headers()["cache-control"], "no-store", "{path}");
    let text = res.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[tokio::test]
async fn the_oauth2_crate_introspects_and_revokes() {
    let (app, client, api) = setup().await;
    let tokens = sign_in(&app, &client, "alice", "openid email offline_access").await;
    let at = tokens["access_token"].as_str().unwrap().to_owned();
    let rt = tokens["refresh_token"].as_str().unwrap().to_owned();
    let http = http_client();
    let rs = BasicClient::new(ClientId::new(api.id.clone()))
        .set_client_secret(ClientSecret::new(api.secret.clone().unwrap()))
        .set_auth_uri(AuthUrl::new(app.url("/authorize")).unwrap())
        .set_token_uri(TokenUrl::new(app.url("/token")).unwrap())
        .set_introspection_url(IntrospectionUrl::new(app.url("/introspect")).unwrap());
    let info = rs
        .introspect(&AccessToken::new(at.clone()))
        .request_async(&http)
        .await
        .unwrap();
    assert!(info.active());
    assert_eq!(info.client_id().unwrap().as_str(), client.id);
    // The login name goes only to the client the user authorized, not to resource servers.
    assert_eq!(info.username(), None);
    assert_eq!(introspect(&app, &client, &at).await["username"], "alice");
    let scopes: Vec<String> = info
        .scopes()
        .unwrap()
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(scopes.join(" "), "email offline_access openid");
    assert!(info.exp().is_some() && info.iat().is_some());

    // The app revokes its refresh token: the grant dies, access token included. (The
    // oauth2 crate's revocation client insists on https, which a loopback test server is
    // not, so this request is sent by hand.)
    let (status, _) = post_as(
        &app,
        &client,
        "/revoke",
        &[("token", &rt), ("token_type_hint", "refresh_token")],
    )
    .await;
    assert_eq!(status, 200);
    let info = rs
        .introspect(&AccessToken::new(at.clone()))
        .request_async(&http)
        .await
        .unwrap();
    assert!(!info.active());
    let (status, _) = token_request(
        &app,
        &client,
        &[("grant_type", "refresh_token"), ("refresh_token", &rt)],
    )
    .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn revoking_an_access_token_is_honoured_by_introspection_and_userinfo() {
    let (app, client, api) = setup().await;
    let tokens = sign_in(&app, &client, "alice", "openid offline_access").await;
    let at = tokens["access_token"].as_str().unwrap();
    let rt = tokens["refresh_token"].as_str().unwrap();
    let (status, _) = post_as(
        &app,
        &client,
        "/revoke",
        &[("token", at), ("token_type_hint", "access_token")],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        introspect(&app, &api, at).await,
        serde_json::json!({"active": false})
    );
    let res = app
        .http()
        .get(app.url("/userinfo"))
        .bearer_auth(at)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    // Revoking the access token leaves the refresh token alone.
    assert_eq!(introspect(&app, &client, rt).await["active"], true);
}

#[tokio::test]
async fn other_clients_tokens_and_unknown_tokens_get_200_and_no_effect() {
    let (app, client, api) = setup().await;
    let tokens = sign_in(&app, &client, "alice", "openid offline_access").await;
    let at = tokens["access_token"].as_str().unwrap();
    let rt = tokens["refresh_token"].as_str().unwrap();
    let other = app.create_client(refreshing()).await;
    for token in [at, rt, "unknown-token", "' OR 1=1 --"] {
        let (status, _) = post_as(&app, &other, "/revoke", &[("token", token)]).await;
        assert_eq!(status, 200, "{token}");
    }
    assert_eq!(introspect(&app, &api, at).await["active"], true);
    assert_eq!(introspect(&app, &client, rt).await["active"], true);
}

#[tokio::test]
async fn introspection_reports_only_live_tokens_and_only_to_whom_it_may() {
    let (app, client, api) = setup().await;
    let tokens = sign_in(&app, &client, "alice", "openid offline_access").await;
    let at = tokens["access_token"].as_str().unwrap().to_owned();
    let rt = tokens["refresh_token"].as_str().unwrap().to_owned();

    let info = introspect(&app, &client, &rt).await;
    assert_eq!(
        (info["active"].as_bool(), info["token_type"].as_str()),
        (Some(true), Some("refresh_token"))
    );
    // A refresh token is the business of its own client only.
    assert_eq!(
        introspect(&app, &api, &rt).await,
        serde_json::json!({"active": false})
    );

    for junk in ["garbage", "a.b.c", "", "x\u{0}y"] {
        if junk.is_empty() {
            let (status, body) = post_as(&app, &api, "/introspect", &[]).await;
            assert_eq!(
                (status, body["error"].as_str()),
                (400, Some("invalid_request"))
            );
        } else {
            assert_eq!(
                introspect(&app, &api, junk).await["active"],
                false,
                "{junk:?}"
            );
        }
    }
    // Unauthenticated callers and public clients are refused.
    let res = app
        .http()
        .post(app.url("/introspect"))
        .form(&[("token", at.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let public = app
        .create_client(ClientSpec {
            auth_method: ClientAuthMethod::None,
            ..ClientSpec::default()
        })
        .await;
    let (status, body) = post_as(&app, &public, "/introspect", &[("token", &at)]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );

    // Expiry.
    app.clock.advance(901);
    assert_eq!(introspect(&app, &api, &at).await["active"], false);
}

#[tokio::test]
async fn client_credentials_tokens_can_be_introspected_and_revoked() {
    let (app, _, api) = setup().await;
    let (_, body) = token_request(&app, &api, &[("grant_type", "client_credentials")]).await;
    let at = body["access_token"].as_str().unwrap();
    let info = introspect(&app, &api, at).await;
    assert_eq!(
        (info["active"].as_bool(), info["sub"].as_str()),
        (Some(true), Some(api.id.as_str()))
    );
    assert!(info.get("username").is_none());
    let (status, _) = post_as(&app, &api, "/revoke", &[("token", at)]).await;
    assert_eq!(status, 200);
    assert_eq!(introspect(&app, &api, at).await["active"], false);
}

#[tokio::test]
async fn discovery_advertises_both_endpoints() {
    let (app, _, _) = setup().await;
    let doc: Value = discovery(&app).await;
    assert_eq!(doc["revocation_endpoint"], app.url("/revoke"));
    assert_eq!(doc["introspection_endpoint"], app.url("/introspect"));
}

/// `/revoke`, `/introspect` and `/device_authorization` read their form and authenticate
/// their client by the token endpoint's rules (RFC 6749 §2.3, §3.2, §5.2), and answer a
/// refusal the same way.
#[tokio::test]
async fn the_client_endpoints_refuse_bad_forms_and_bad_clients_alike() {
    let (app, client, _) = setup().await;
    let secret = client.secret.clone().unwrap();
    for path in ["/revoke", "/introspect", "/device_authorization"] {
        let url = app.url(path);
        let cases = [
            (
                "a wrong secret by Basic",
                app.http()
                    .post(&url)
                    .basic_auth(&client.id, Some("wrong"))
                    .form(&[("token", "x")]),
                401,
                "invalid_client",
                true,
            ),
            (
                "a wrong secret in the form",
                app.http().post(&url).form(&[
                    ("token", "x"),
                    ("client_id", client.id.as_str()),
                    ("client_secret", "wrong"),
                ]),
                401,
                "invalid_client",
                false,
            ),
            (
                "no credentials",
                app.http().post(&url).form(&[("token", "x")]),
                401,
                "invalid_client",
                false,
            ),
            (
                "parameters in the URL",
                app.http()
                    .post(format!("{url}?token=x"))
                    .basic_auth(&client.id, Some(&secret))
                    .form(&[("scope", "openid")]),
                400,
                "invalid_request",
                false,
            ),
            (
                "a repeated parameter",
                app.http()
                    .post(&url)
                    .basic_auth(&client.id, Some(&secret))
                    .form(&[("token", "x"), ("token", "y")]),
                400,
                "invalid_request",
                false,
            ),
            (
                "a body that is not a form",
                app.http()
                    .post(&url)
                    .basic_auth(&client.id, Some(&secret))
                    .header("content-type", "application/json")
                    .body(r#"{"token":"x"}"#),
                400,
                "invalid_request",
                false,
            ),
        ];
        for (what, req, status, error, challenge) in cases {
            let res = req.send().await.unwrap();
            assert_eq!(res.status(), status, "{path}: {what}");
            assert_eq!(res.headers()["cache-control"], "no-store", "{path}: {what}");
            let basic = res
                .headers()
                .get("www-authenticate")
                .map(|v| v.to_str().unwrap().starts_with("Basic "));
            assert_eq!(basic, challenge.then_some(true), "{path}: {what}");
            let body: Value = res.json().await.unwrap();
            assert_eq!(body["error"], error, "{path}: {what}");
        }
    }
}
