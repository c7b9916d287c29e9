//! Bearer tokens (RFC 6750 §2.1) are read one way by every resource Gatehouse serves:
//! userinfo, the admin API and client configuration (RFC 7592). The scheme in any case, one
//! or more spaces, a b64token; an empty or malformed credential is refused alike, 401, before
//! any token is looked up.

#![allow(clippy::unwrap_used)]

use gatehouse_tests::*;
use serde_json::{Value, json};

/// One resource, the token that opens it, and what its refusal says.
struct Resource {
    name: &'static str,
    url: String,
    token: String,
}

async fn resources(app: &TestApp) -> Vec<Resource> {
    app.create_user("alice").await;
    let client = app.create_client(ClientSpec::default()).await;
    let user_token = sign_in(app, &client, "alice", "openid").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, admin_token) = service_token(app, "gatehouse:admin").await;
    let initial = initial_token(app, None, None, 3600).await;
    let (status, reg) = register(
        app,
        Some(&initial),
        &json!({
            "client_name": "Registered App",
            "redirect_uris": ["https://registered.example/cb"],
            "scope": "openid",
        }),
    )
    .await;
    assert_eq!(status, 201, "{reg}");
    vec![
        Resource {
            name: "userinfo",
            url: app.url("/userinfo"),
            token: user_token,
        },
        Resource {
            name: "the admin API",
            url: app.url("/admin/api/clients"),
            token: admin_token,
        },
        Resource {
            name: "client configuration",
            url: reg["registration_client_uri"].as_str().unwrap().to_owned(),
            token: reg["registration_access_token"]
                .as_str()
                .unwrap()
                .to_owned(),
        },
    ]
}

async fn get(app: &TestApp, url: &str, authorization: &str) -> (u16, Option<String>, Value) {
    let res = app
        .http()
        .get(url)
        .header("authorization", authorization)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let challenge = res
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, challenge, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_well_formed_bearer_credential_opens_every_resource() {
    let app = TestApp::start().await;
    for r in resources(&app).await {
        for authorization in [
            format!("Bearer {}", r.token),
            // The scheme is case-insensitive, and one or more spaces separate it.
            format!("bearer {}", r.token),
            format!("BEARER   {}", r.token),
        ] {
            let (status, _, body) = get(&app, &r.url, &authorization).await;
            assert_eq!(status, 200, "{}: {authorization:?}: {body}", r.name);
        }
    }
}

#[tokio::test]
async fn empty_and_malformed_bearer_credentials_are_refused_everywhere_alike() {
    let app = TestApp::start().await;
    for r in resources(&app).await {
        let t = &r.token;
        for authorization in [
            // Empty.
            "Bearer ".to_owned(),
            "Bearer".to_owned(),
            "Bearer ==".to_owned(),
            // Malformed: characters a b64token cannot hold, around a token that is good.
            format!("Bearer {t} {t}"),
            format!("Bearer {t},"),
            format!("Bearer \"{t}\""),
            format!("Bearer ={t}"),
            // Not a Bearer credential.
            format!("Bearer\t{t}"),
            format!("Bearer:{t}"),
            format!("Token {t}"),
        ] {
            let (status, challenge, body) = get(&app, &r.url, &authorization).await;
            let what = format!("{}: {authorization:?}", r.name);
            assert_eq!(status, 401, "{what}: {body}");
            let challenge = challenge.unwrap_or_else(|| panic!("{what}: no WWW-Authenticate"));
            assert!(challenge.starts_with("Bearer "), "{what}: {challenge}");
            // Userinfo and client configuration say why (RFC 6750 §3.1); the admin API
            // answers in its own error format.
            let error = body["error"].as_str().unwrap_or_default();
            match r.name {
                "the admin API" => assert_eq!(error, "unauthorized", "{what}"),
                _ => {
                    assert_eq!(error, "invalid_token", "{what}");
                    assert!(
                        challenge.contains("error=\"invalid_token\""),
                        "{what}: {challenge}"
                    );
                }
            }
        }
    }
}
