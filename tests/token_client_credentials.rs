//! The client credentials grant (RFC 6749 §4.4), driven by the `oauth2` crate as a real
//! server-to-server client would, and probed for what it must refuse.

#![allow(clippy::unwrap_used)]

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse_core::{ClientAuthMethod, GrantType};
use gatehouse_tests::*;
use oauth2::basic::BasicClient;
use oauth2::{AuthUrl, ClientId, ClientSecret, Scope, TokenResponse, TokenUrl};
use serde_json::Value;

async fn service(app: &TestApp, scopes: &str) -> TestClient {
    app.create_client(ClientSpec {
        name: "Billing service".into(),
        redirect_uris: vec![],
        post_logout_redirect_uris: vec![],
        grant_types: vec![GrantType::ClientCredentials],
        scopes: scopes.into(),
        ..ClientSpec::default()
    })
    .await
}

fn payload(jwt: &str) -> Value {
    let part = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

#[tokio::test]
async fn an_oauth2_client_gets_a_token_for_itself() {
    let app = TestApp::start().await;
    let svc = service(&app, "invoices:read invoices:write").await;
    let client = BasicClient::new(ClientId::new(svc.id.clone()))
        .set_client_secret(ClientSecret::new(svc.secret.clone().unwrap()))
        .set_auth_uri(AuthUrl::new(app.url("/authorize")).unwrap())
        .set_token_uri(TokenUrl::new(app.url("/token")).unwrap());
    let http = http_client();
    let token = client
        .exchange_client_credentials()
        .add_scope(Scope::new("invoices:read".into()))
        .request_async(&http)
        .await
        .expect("client credentials token");
    assert!(
        token.refresh_token().is_none(),
        "RFC 6749 §4.4.3: no refresh token"
    );
    let scopes: Vec<String> = token
        .scopes()
        .unwrap()
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(scopes, ["invoices:read"]);
    let claims = payload(token.access_token().secret());
    assert_eq!(claims["sub"], svc.id);
    assert_eq!(claims["client_id"], svc.id);
    assert_eq!(claims["iss"], app.base);
    assert!(claims.get("gid").is_none() && claims.get("auth_time").is_none());

    // No scope asked: every registered scope.
    let token = client
        .exchange_client_credentials()
        .request_async(&http)
        .await
        .unwrap();
    assert_eq!(
        payload(token.access_token().secret())["scope"],
        "invoices:read invoices:write"
    );

    // Such a token speaks for no user: userinfo refuses it.
    let res = app
        .http()
        .get(app.url("/userinfo"))
        .bearer_auth(token.access_token().secret())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
}

#[tokio::test]
async fn scopes_beyond_the_registration_are_refused() {
    let app = TestApp::start().await;
    let svc = service(&app, "invoices:read").await;
    for scope in [
        "invoices:write",
        "openid",
        "invoices:read admin",
        "bad\"scope",
    ] {
        let (status, body) = token_request(
            &app,
            &svc,
            &[("grant_type", "client_credentials"), ("scope", scope)],
        )
        .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_scope")),
            "{scope}"
        );
    }
}

#[tokio::test]
async fn only_registered_confidential_clients_may_use_it() {
    let app = TestApp::start().await;
    // A web client registered for the code flow only.
    let web = app.create_client(ClientSpec::default()).await;
    let (status, body) = token_request(&app, &web, &[("grant_type", "client_credentials")]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unauthorized_client"))
    );

    // A public client cannot even authenticate for it.
    let public = app
        .create_client(ClientSpec {
            auth_method: ClientAuthMethod::None,
            ..ClientSpec::default()
        })
        .await;
    let (status, body) =
        token_request(&app, &public, &[("grant_type", "client_credentials")]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unauthorized_client"))
    );

    // A wrong secret is invalid_client.
    let svc = service(&app, "invoices:read").await;
    let wrong = TestClient {
        secret: Some("wrong".into()),
        ..svc
    };
    let (status, body) = token_request(&app, &wrong, &[("grant_type", "client_credentials")]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
}

#[tokio::test]
async fn discovery_advertises_the_grant() {
    let app = TestApp::start().await;
    let doc: Value = discovery(&app).await;
    assert!(
        doc["grant_types_supported"]
            .as_array()
            .unwrap()
            .contains(&"client_credentials".into())
    );
}
