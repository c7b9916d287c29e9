//! Least privilege for registered clients: the registration policy (RFC 7591 §3.2.2),
//! resource indicators (RFC 8707) and the admin API's own audience. Each test performs the
//! attack the hardening issue describes against a real server.

#![allow(clippy::unwrap_used)]

use gatehouse_core::client::RegistrationPolicy;
use gatehouse_core::{GrantType, Scopes};
use gatehouse_tests::*;
use serde_json::{Value, json};

fn robot_metadata(scope: &str) -> Value {
    json!({
        "client_name": "Self-made robot",
        "grant_types": ["client_credentials"],
        "response_types": [],
        "scope": scope,
    })
}

/// The attack: a client registered at /register gives itself an API's scope and the
/// client_credentials grant, then mints tokens any resource server would accept. By
/// default registration allows the OpenID scopes and sign-in grants only.
#[tokio::test]
async fn self_registration_cannot_give_itself_scopes_or_grants() {
    let app = TestApp::start_with(gatehouse_server::RawConfig {
        open_registration: Some(true),
        ..Default::default()
    })
    .await;
    let (status, body) = register(&app, None, &robot_metadata("payments:write")).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "invalid_client_metadata");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("payments:write")
    );

    let (status, body) = register(
        &app,
        None,
        &json!({"redirect_uris": ["https://app.example/cb"], "scope": "payments:write"}),
    )
    .await;
    assert_eq!(
        status, 400,
        "a web client cannot take an API scope either: {body}"
    );

    let (status, body) = register(&app, None, &robot_metadata("")).await;
    assert_eq!(
        status, 400,
        "client_credentials is not in the default policy: {body}"
    );
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("client_credentials")
    );

    // What a relying party needs still works.
    let (status, body) = register(
        &app,
        None,
        &json!({
            "redirect_uris": ["https://app.example/cb"],
            "grant_types": ["authorization_code", "refresh_token"],
            "scope": "openid profile email offline_access",
        }),
    )
    .await;
    assert_eq!(status, 201, "{body}");
}

/// An initial access token can carry an allowance an administrator chose; the client keeps
/// to it when it updates its registration (RFC 7592), and `gatehouse:` scopes are never
/// within any allowance.
#[tokio::test]
async fn an_initial_access_token_may_allow_more_and_updates_keep_to_it() {
    let app = TestApp::start().await;
    let allows = RegistrationPolicy {
        scopes: Scopes::parse("reports:read").unwrap(),
        grant_types: vec![GrantType::ClientCredentials],
    };
    let t = initial_token(&app, Some(&allows), None, 3600).await;
    let (status, reg) = register(&app, Some(&t), &robot_metadata("reports:read")).await;
    assert_eq!(status, 201, "{reg}");
    let rat = reg["registration_access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let client_id = reg["client_id"].as_str().unwrap().to_owned();

    // A plain token does not allow it.
    let plain = initial_token(&app, None, None, 3600).await;
    let (status, _) = register(&app, Some(&plain), &robot_metadata("reports:read")).await;
    assert_eq!(status, 400);

    // Updating beyond the allowance is refused and changes nothing.
    let mut update = robot_metadata("reports:read payments:write");
    update["client_id"] = json!(client_id);
    let res = app
        .http()
        .put(app.url(&format!("/register/{client_id}")))
        .bearer_auth(&rat)
        .json(&update)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client_metadata");
    let client = app.store.find_client(&client_id).await.unwrap().unwrap();
    assert_eq!(client.scopes.to_string(), "reports:read");

    // An allowance can never include Gatehouse's own scopes.
    assert!(RegistrationPolicy::allowance(&["gatehouse:admin".into()], &[]).is_err());
}

/// A client-credentials request without `scope` used to receive every registered scope,
/// `gatehouse:admin` included, in a token for the issuer. Now the admin scope comes only
/// when asked for by name, in a token whose audience is the admin API, for five minutes.
#[tokio::test]
async fn the_admin_scope_is_issued_only_by_name_for_the_admin_api_and_briefly() {
    let app = TestApp::start().await;
    let svc = robot(&app, "gatehouse:admin reports").await;
    let (status, body) = token_request(&app, &svc, &[("grant_type", "client_credentials")]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["scope"], "reports");
    let plain = body["access_token"].as_str().unwrap().to_owned();
    let claims = jwt_payload(&plain);
    assert_eq!(claims["aud"], app.base.as_str());
    assert_eq!(claims["scope"], "reports");
    let res = app
        .http()
        .get(app.url("/admin/api/clients"))
        .bearer_auth(&plain)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403, "a token without the admin scope");

    let (status, body) = token_request(
        &app,
        &svc,
        &[
            ("grant_type", "client_credentials"),
            ("scope", "gatehouse:admin"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let admin = body["access_token"].as_str().unwrap().to_owned();
    let claims = jwt_payload(&admin);
    assert_eq!(claims["aud"], app.url("/admin/api"));
    assert_eq!(claims["scope"], "gatehouse:admin");
    assert!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap() <= 300);
    assert!(body["expires_in"].as_i64().unwrap() <= 300);
    let res = app
        .http()
        .get(app.url("/admin/api/clients"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // Asking for the admin scope together with another is one token for two audiences.
    let (status, body) = token_request(
        &app,
        &svc,
        &[
            ("grant_type", "client_credentials"),
            ("scope", "gatehouse:admin reports"),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_scope"))
    );
    // And the admin token expires with its five minutes.
    app.clock.advance(301);
    let res = app
        .http()
        .get(app.url("/admin/api/clients"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
}

/// The admin token's lifetime is a setting, never more than five minutes.
#[tokio::test]
async fn the_admin_token_lifetime_is_configurable() {
    let app = TestApp::start_with(gatehouse_server::RawConfig {
        admin_token_ttl: Some(60),
        ..Default::default()
    })
    .await;
    let (_, token) = service_token(&app, "gatehouse:admin").await;
    let claims = jwt_payload(&token);
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        60
    );
    let err = gatehouse_server::Config::load(gatehouse_server::RawConfig {
        admin_token_ttl: Some(3600),
        ..Default::default()
    })
    .unwrap_err();
    assert!(err.setting.starts_with("GATEHOUSE_ADMIN_TOKEN_TTL"));
}

/// RFC 8707: an API registered by an administrator gets tokens whose `aud` is its
/// identifier and which carry only its scopes; such a token opens neither the admin API
/// nor userinfo, and another API's scope cannot ride along.
#[tokio::test]
async fn tokens_for_one_api_are_refused_by_every_other() {
    let app = TestApp::start().await;
    let (_, admin_token) = service_token(&app, "gatehouse:admin").await;
    let orders = "https://orders.example/api";
    let res = app
        .http()
        .post(app.url("/admin/api/resources"))
        .bearer_auth(&admin_token)
        .json(&json!({"identifier": orders, "name": "Orders", "scopes": ["orders:read", "orders:write"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    // A scope belongs to one API only.
    let res = app
        .http()
        .post(app.url("/admin/api/resources"))
        .bearer_auth(&admin_token)
        .json(&json!({"identifier": "https://other.example", "name": "Other", "scopes": ["orders:read"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);

    let svc = robot(&app, "orders:read reports gatehouse:admin").await;
    // Without a resource: the issuer, and no API's scope.
    let (status, body) = token_request(&app, &svc, &[("grant_type", "client_credentials")]).await;
    assert_eq!((status, body["scope"].as_str()), (200, Some("reports")));
    // With the resource: that audience and its scopes only.
    let (status, body) = token_request(
        &app,
        &svc,
        &[("grant_type", "client_credentials"), ("resource", orders)],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["scope"], "orders:read");
    let token = body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(jwt_payload(&token)["aud"], orders);

    // The orders API, having seen the token, replays it at the admin API and at userinfo.
    let res = app
        .http()
        .get(app.url("/admin/api/clients"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert!(
        matches!(res.status().as_u16(), 401 | 403),
        "{}",
        res.status()
    );
    let res = app
        .http()
        .get(app.url("/userinfo"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);

    // Introspection tells a resource server the audience to check.
    let res = app
        .http()
        .post(app.url("/introspect"))
        .basic_auth(&svc.id, svc.secret.as_deref())
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    let info: Value = res.json().await.unwrap();
    assert_eq!(info["active"], true);
    assert_eq!(info["aud"], orders);

    for (form, error) in [
        (
            vec![("resource", "https://unknown.example")],
            "invalid_target",
        ),
        (
            vec![("resource", "https://orders.example/api#x")],
            "invalid_target",
        ),
        (
            vec![("resource", orders), ("scope", "reports")],
            "invalid_scope",
        ),
        (
            vec![("resource", orders), ("scope", "gatehouse:admin")],
            "invalid_scope",
        ),
        (vec![("scope", "orders:read reports")], "invalid_scope"),
    ] {
        let mut f = vec![("grant_type", "client_credentials")];
        f.extend(form.iter().copied());
        let (status, body) = token_request(&app, &svc, &f).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some(error)),
            "{form:?}"
        );
    }
}

/// Resource indicators at the code exchange and at refresh: the access token is for the
/// API named, the ID token still speaks of the whole sign-in, and a refused resource does
/// not spend the code.
#[tokio::test]
async fn a_signed_in_user_grants_tokens_for_one_api_at_a_time() {
    let app = TestApp::start().await;
    app.create_user("alice").await;
    let (_, admin_token) = service_token(&app, "gatehouse:admin").await;
    let orders = "https://orders.example/api";
    app.http()
        .post(app.url("/admin/api/resources"))
        .bearer_auth(&admin_token)
        .json(&json!({"identifier": orders, "name": "Orders", "scopes": ["orders:read"], "access_token_ttl": 120}))
        .send()
        .await
        .unwrap();
    let client = app
        .create_client(ClientSpec {
            scopes: "orders:read".into(),
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
                &code_request(&client, &challenge, "openid orders:read offline_access"),
            ),
            "alice",
        )
        .await;
    let code = query_of(&callback)["code"].clone();
    let form = |resource: &'static str| {
        vec![
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", client.redirect_uri.as_str()),
            ("code_verifier", verifier.as_str()),
            ("resource", resource),
        ]
    };
    let (status, body) = token_request(&app, &client, &form("https://unknown.example")).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_target"))
    );
    // The code was not spent by the refused request.
    let (status, body) = token_request(&app, &client, &form(orders)).await;
    assert_eq!(status, 200, "{body}");
    let at = jwt_payload(body["access_token"].as_str().unwrap());
    assert_eq!(at["aud"], orders);
    assert_eq!(at["scope"], "orders:read");
    assert_eq!(body["expires_in"], 120);
    let id = jwt_payload(body["id_token"].as_str().unwrap());
    assert_eq!(id["aud"], json!([client.id]));

    // A refresh without a resource gives the issuer's token: no API scope in it.
    let refresh = body["refresh_token"].as_str().unwrap().to_owned();
    let (status, body) = token_request(
        &app,
        &client,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh.as_str()),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let at = jwt_payload(body["access_token"].as_str().unwrap());
    assert_eq!(at["aud"], app.base.as_str());
    assert!(!at["scope"].as_str().unwrap().contains("orders:read"));
    let userinfo = app
        .http()
        .get(app.url("/userinfo"))
        .bearer_auth(body["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(userinfo.status(), 200);
}
