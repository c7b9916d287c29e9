//! CORS: a single-page app on a client's own origin may call the token, userinfo,
//! revocation, introspection and device endpoints with `fetch`; a page on any other origin
//! cannot read their answers; discovery and the JWKS are readable from anywhere; the
//! authorization endpoint, the sign-in pages, the console and the admin API answer no
//! origin at all. (Issue 10, point 1: origins are those of the client's redirect URIs.)

#![allow(clippy::unwrap_used)]

use gatehouse_core::{ApplicationType, ClientAuthMethod, GrantType};
use gatehouse_tests::*;
use reqwest::Method;
use reqwest::header::HeaderMap;

const SPA: &str = "http://127.0.0.1:5173";

async fn spa(app: &TestApp) -> TestClient {
    app.create_client(ClientSpec {
        name: "Single-page app".into(),
        redirect_uris: vec![format!("{SPA}/callback")],
        auth_method: ClientAuthMethod::None,
        application_type: ApplicationType::Web,
        grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        ..ClientSpec::default()
    })
    .await
}

async fn preflight(app: &TestApp, path: &str, origin: &str, method: &str) -> HeaderMap {
    let res = app
        .http()
        .request(Method::OPTIONS, app.url(path))
        .header("origin", origin)
        .header("access-control-request-method", method)
        .header(
            "access-control-request-headers",
            "authorization, content-type",
        )
        .send()
        .await
        .unwrap();
    assert!(
        res.status().is_success(),
        "OPTIONS {path}: {}",
        res.status()
    );
    res.headers().clone()
}

fn allowed(h: &HeaderMap) -> Option<&str> {
    h.get("access-control-allow-origin")
        .map(|v| v.to_str().unwrap())
}

#[tokio::test]
async fn a_single_page_app_on_its_own_origin_reads_token_and_userinfo() {
    let app = TestApp::start().await;
    app.create_user("alice").await;
    let client = spa(&app).await;

    for (path, method) in [
        ("/token", "POST"),
        ("/userinfo", "GET"),
        ("/revoke", "POST"),
        ("/introspect", "POST"),
        ("/device_authorization", "POST"),
    ] {
        let h = preflight(&app, path, SPA, method).await;
        assert_eq!(allowed(&h), Some(SPA), "{path}");
        let methods = h["access-control-allow-methods"].to_str().unwrap();
        assert!(methods.contains(method), "{path}: {methods}");
        let headers = h["access-control-allow-headers"].to_str().unwrap();
        for name in ["Authorization", "Content-Type", "DPoP"] {
            assert!(headers.contains(name), "{path}: {headers}");
        }
        assert_eq!(h["vary"], "Origin", "{path}");
    }

    // The code flow as the app runs it: PKCE, then fetch from its own origin.
    let (verifier, challenge) = pkce_pair();
    let url = authorize_url(&app, &code_request(&client, &challenge, "openid profile"));
    let callback = app.browser().authorize(&url, "alice").await;
    let code = query_of(&callback).remove("code").unwrap();
    let exchange = async || {
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", client.redirect_uri.as_str()),
            ("client_id", client.id.as_str()),
            ("code_verifier", verifier.as_str()),
        ];
        let req = app.http().post(app.url("/token")).header("origin", SPA);
        req.form(&form).send().await.unwrap()
    };
    let res = exchange().await;
    assert_eq!(res.status(), 200);
    assert_eq!(allowed(res.headers()), Some(SPA));
    assert_eq!(res.headers()["vary"], "Origin");
    let tokens: serde_json::Value = res.json().await.unwrap();
    let access = tokens["access_token"].as_str().unwrap();

    let res = app
        .http()
        .get(app.url("/userinfo"))
        .header("origin", SPA)
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(allowed(res.headers()), Some(SPA));

    // An error after the client is known is the client's to read too: the code is spent.
    let res = exchange().await;
    assert_eq!(res.status(), 400);
    assert_eq!(allowed(res.headers()), Some(SPA));

    // Revocation from the app's page.
    let res = app
        .http()
        .post(app.url("/revoke"))
        .header("origin", SPA)
        .form(&[("token", access), ("client_id", client.id.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(allowed(res.headers()), Some(SPA));
}

/// A page on an origin the client did not register sends its request (a browser may),
/// but cannot read the answer: no `Access-Control-Allow-Origin`, at any endpoint.
#[tokio::test]
async fn a_page_on_another_origin_cannot_read_the_answers() {
    let app = TestApp::start().await;
    app.create_user("alice").await;
    let client = spa(&app).await;
    let tokens = sign_in(&app, &client, "alice", "openid").await;
    let access = tokens["access_token"].as_str().unwrap();
    let evil = "https://evil.example";

    let res = app
        .http()
        .get(app.url("/userinfo"))
        .header("origin", evil)
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        200,
        "the token is good; only the origin is not"
    );
    assert_eq!(allowed(res.headers()), None);
    assert_eq!(res.headers()["vary"], "Origin");

    let res = app
        .http()
        .post(app.url("/token"))
        .header("origin", evil)
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", "not-a-token"),
            ("client_id", client.id.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(allowed(res.headers()), None);

    // A confidential client's redirect origin does not open another client's answers.
    let other = app.create_client(ClientSpec::default()).await;
    let res = app
        .http()
        .post(app.url("/token"))
        .header("origin", SPA)
        .basic_auth(&other.id, other.secret.as_deref())
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        allowed(res.headers()),
        None,
        "SPA is not this client's origin"
    );

    // Before the client is known nothing is readable, whatever the origin.
    let res = app
        .http()
        .post(app.url("/token"))
        .header("origin", SPA)
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "nobody"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(allowed(res.headers()), None);
}

#[tokio::test]
async fn discovery_and_jwks_are_public_and_nothing_else_answers_an_origin() {
    let app = TestApp::start().await;
    for path in ["/.well-known/openid-configuration", "/jwks.json"] {
        let res = app
            .http()
            .get(app.url(path))
            .header("origin", "https://anyone.example")
            .send()
            .await
            .unwrap();
        assert_eq!(allowed(res.headers()), Some("*"), "{path}");
    }
    // Pages and administration never answer another origin, preflight or not.
    for path in [
        "/authorize",
        "/login",
        "/consent",
        "/logout",
        "/device",
        "/admin",
        "/admin/api/clients",
        "/register",
    ] {
        for method in [Method::OPTIONS, Method::GET, Method::POST] {
            let res = app
                .http()
                .request(method.clone(), app.url(path))
                .header("origin", SPA)
                .header("access-control-request-method", "POST")
                .send()
                .await
                .unwrap();
            assert_eq!(allowed(res.headers()), None, "{method} {path}");
            assert!(
                res.headers().get("access-control-allow-methods").is_none(),
                "{method} {path}"
            );
        }
    }
}

/// A client may name its origins instead (an app served from another origin than its
/// callback): then only those may read the answers.
#[tokio::test]
async fn an_explicit_origin_list_replaces_the_redirect_origins() {
    let app = TestApp::start().await;
    let app_origin = "https://app.example";
    let client = app
        .create_client(ClientSpec {
            redirect_uris: vec![format!("{SPA}/callback")],
            grant_types: vec![GrantType::ClientCredentials],
            allowed_origins: vec![app_origin.into()],
            ..ClientSpec::default()
        })
        .await;
    for (origin, readable) in [(app_origin, true), (SPA, false)] {
        let res = app
            .http()
            .post(app.url("/token"))
            .header("origin", origin)
            .basic_auth(&client.id, client.secret.as_deref())
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let expected = readable.then_some(origin);
        assert_eq!(allowed(res.headers()), expected, "{origin}");
    }
}

/// Origins are checked where clients are registered: as browsers send them, https (http
/// on loopback only), without a path; the admin API and registration refuse anything else.
#[tokio::test]
async fn allowed_origins_are_checked_at_registration() {
    let app = TestApp::start().await;
    let token = initial_token(&app, None, None, 3600).await;
    let (_, admin) = service_token(&app, "gatehouse:admin").await;
    for bad in [
        "https://app.example/",
        "https://app.example/path",
        "http://app.example",
        "*",
        "null",
    ] {
        let body = serde_json::json!({
            "client_name": "SPA",
            "redirect_uris": [format!("{SPA}/callback")],
            "allowed_origins": [bad],
        });
        let (status, answer) = register(&app, Some(&token), &body).await;
        assert_eq!(status, 400, "{bad}");
        assert_eq!(answer["error"], "invalid_client_metadata", "{bad}");
        let res = app
            .http()
            .post(app.url("/admin/api/clients"))
            .bearer_auth(&admin)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "{bad}");
    }
    let body = serde_json::json!({
        "client_name": "SPA",
        "redirect_uris": [format!("{SPA}/callback")],
        "allowed_origins": ["https://app.example"],
    });
    let (status, answer) = register(&app, Some(&token), &body).await;
    assert_eq!(status, 201, "{answer}");
    assert_eq!(
        answer["allowed_origins"],
        serde_json::json!(["https://app.example"])
    );
}
