//! Dynamic client registration (RFC 7591) and its management protocol (RFC 7592).

#![allow(clippy::unwrap_used)]

use gatehouse_tests::*;
use serde_json::{Value, json};

/// An initial access token that also allows the scopes and grants these tests register
/// (`tests/least_privilege.rs` tests the default policy).
async fn token(app: &TestApp, uses: Option<i64>, ttl: i64) -> String {
    let allows = gatehouse_core::client::RegistrationPolicy::allowance(
        &["api:read".into(), "reports".into()],
        &[
            "client_credentials".into(),
            "urn:ietf:params:oauth:grant-type:device_code".into(),
        ],
    )
    .unwrap();
    initial_token(app, allows.as_ref(), uses, ttl).await
}

/// A relying party within the default registration policy (no initial access token).
fn plain_web_app() -> Value {
    json!({
        "client_name": "Open App",
        "redirect_uris": ["https://registered.example/cb"],
        "scope": "openid profile",
    })
}

fn web_app() -> Value {
    json!({
        "client_name": "Registered App",
        "redirect_uris": ["https://registered.example/cb"],
        "scope": "api:read",
    })
}

#[tokio::test]
async fn a_registered_client_completes_a_code_flow() {
    let app = TestApp::start().await;
    app.create_user("alice").await;
    let t = token(&app, None, 3600).await;
    let (status, reg) = register(&app, Some(&t), &web_app()).await;
    assert_eq!(status, 201, "{reg}");
    assert_eq!(reg["grant_types"], json!(["authorization_code"]));
    assert_eq!(reg["response_types"], json!(["code"]));
    assert_eq!(reg["token_endpoint_auth_method"], "client_secret_basic");
    assert_eq!(reg["client_secret_expires_at"], 0);
    assert!(reg["registration_access_token"].is_string());
    let client = TestClient {
        id: reg["client_id"].as_str().unwrap().into(),
        secret: Some(reg["client_secret"].as_str().unwrap().into()),
        redirect_uri: "https://registered.example/cb".into(),
    };
    let tokens = sign_in(&app, &client, "alice", "openid api:read").await;
    assert!(tokens["id_token"].is_string());
    let doc = discovery(&app).await;
    assert_eq!(doc["registration_endpoint"], app.url("/register"));
}

#[tokio::test]
async fn initial_access_tokens_are_required_limited_and_expire() {
    let app = TestApp::start().await;
    let (status, _) = register(&app, None, &web_app()).await;
    assert_eq!(status, 401);
    let (status, _) = register(&app, Some("not-a-token"), &web_app()).await;
    assert_eq!(status, 401);
    let twice = token(&app, Some(2), 3600).await;
    assert_eq!(register(&app, Some(&twice), &web_app()).await.0, 201);
    assert_eq!(register(&app, Some(&twice), &web_app()).await.0, 201);
    assert_eq!(
        register(&app, Some(&twice), &web_app()).await.0,
        401,
        "used up"
    );
    let short = token(&app, None, 60).await;
    app.clock.advance(61);
    assert_eq!(
        register(&app, Some(&short), &web_app()).await.0,
        401,
        "expired"
    );

    let open = TestApp::start_with(gatehouse_server::RawConfig {
        open_registration: Some(true),
        ..Default::default()
    })
    .await;
    assert_eq!(
        register(&open, None, &plain_web_app()).await.0,
        201,
        "open registration needs no token"
    );
}

#[tokio::test]
async fn metadata_is_validated() {
    let app = TestApp::start().await;
    let t = token(&app, None, 3600).await;
    for (body, error) in [
        (json!({"client_name": "x"}), "invalid_redirect_uri"),
        (
            json!({"redirect_uris": ["https://a.example/c\u{0}b"]}),
            "invalid_redirect_uri",
        ),
        (
            json!({"client_name": "a\u{0}b", "redirect_uris": ["https://a.example/cb"]}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": ["http://insecure.example/cb"]}),
            "invalid_redirect_uri",
        ),
        (
            json!({"redirect_uris": ["https://a.example/cb#frag"]}),
            "invalid_redirect_uri",
        ),
        (
            json!({"redirect_uris": ["not a uri"]}),
            "invalid_redirect_uri",
        ),
        (
            json!({"redirect_uris": ["https://a.example/cb"], "response_types": ["token"]}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": ["https://a.example/cb"], "grant_types": ["password"]}),
            "invalid_client_metadata",
        ),
        (
            json!({"grant_types": ["client_credentials"], "response_types": ["code"]}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": ["https://a.example/cb"], "token_endpoint_auth_method": "client_secret_jwt"}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": ["https://a.example/cb"], "token_endpoint_auth_method": "private_key_jwt",
                "jwks": {"keys": [{"kty": "EC", "crv": "P-256", "x": "a", "y": "b"}]}, "jwks_uri": "https://a.example/jwks"}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": ["https://a.example/cb"], "token_endpoint_auth_method": "private_key_jwt",
                "jwks": {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}}),
            "invalid_client_metadata",
        ),
    ] {
        let (status, reply) = register(&app, Some(&t), &body).await;
        assert_eq!(
            (status, reply["error"].as_str()),
            (400, Some(error)),
            "{body}"
        );
    }
    let res = app
        .http()
        .post(app.url("/register"))
        .bearer_auth(&t)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("redirect_uris=https://a.example/cb")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);

    // A public native client with a loopback redirect and the device grant is fine.
    let (status, reg) = register(
        &app,
        Some(&t),
        &json!({"application_type": "native", "token_endpoint_auth_method": "none",
                "redirect_uris": ["http://127.0.0.1/cb"],
                "grant_types": ["authorization_code", "urn:ietf:params:oauth:grant-type:device_code"]}),
    )
    .await;
    assert_eq!(status, 201, "{reg}");
    assert!(reg.get("client_secret").is_none());
}

#[tokio::test]
async fn the_registration_access_token_reads_replaces_and_deletes() {
    let app = TestApp::start().await;
    let t = token(&app, None, 3600).await;
    let (_, reg) = register(&app, Some(&t), &web_app()).await;
    let uri = reg["registration_client_uri"].as_str().unwrap().to_owned();
    let rat = reg["registration_access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let id = reg["client_id"].as_str().unwrap().to_owned();
    assert_eq!(uri, app.url(&format!("/register/{id}")));

    let http = app.http();
    let res = http.get(&uri).bearer_auth(&rat).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.json::<Value>().await.unwrap()["client_name"],
        "Registered App"
    );
    for bad in ["wrong", t.as_str()] {
        let res = http.get(&uri).bearer_auth(bad).send().await.unwrap();
        assert_eq!(res.status(), 401, "{bad}");
    }
    // Another client's token cannot reach this one.
    let (_, other) = register(&app, Some(&t), &web_app()).await;
    let res = http
        .get(&uri)
        .bearer_auth(other["registration_access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);

    let mut replaced = web_app();
    replaced["client_id"] = json!(id);
    replaced["redirect_uris"] = json!(["https://registered.example/new"]);
    let res = http
        .put(&uri)
        .bearer_auth(&rat)
        .json(&replaced)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.json::<Value>().await.unwrap()["redirect_uris"],
        json!(["https://registered.example/new"])
    );
    replaced["client_id"] = json!("someone-else");
    let res = http
        .put(&uri)
        .bearer_auth(&rat)
        .json(&replaced)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);

    let res = http.delete(&uri).bearer_auth(&rat).send().await.unwrap();
    assert_eq!(res.status(), 204);
    let res = http.get(&uri).bearer_auth(&rat).send().await.unwrap();
    assert_eq!(res.status(), 401);
    let gone = TestClient {
        id,
        secret: Some(reg["client_secret"].as_str().unwrap().into()),
        redirect_uri: String::new(),
    };
    let (status, _) = token_request(
        &app,
        &gone,
        &[("grant_type", "authorization_code"), ("code", "x")],
    )
    .await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn the_consent_page_shows_what_the_client_registered_about_itself() {
    let app = TestApp::start().await;
    app.create_user("alice").await;
    let t = token(&app, None, 3600).await;
    for (field, bad) in [
        ("logo_uri", "javascript:alert(1)"),
        ("policy_uri", "http://registered.example/privacy"),
        ("tos_uri", "https://registered.example/tos#frag"),
    ] {
        let mut meta = web_app();
        meta[field] = json!(bad);
        let (status, answer) = register(&app, Some(&t), &meta).await;
        assert_eq!(
            (status, answer["error"].as_str()),
            (400, Some("invalid_client_metadata")),
            "{field}"
        );
    }
    let mut meta = web_app();
    meta["logo_uri"] = json!("https://cdn.registered.example/logo.png");
    meta["policy_uri"] = json!("https://registered.example/privacy");
    meta["tos_uri"] = json!("https://registered.example/tos");
    let (status, reg) = register(&app, Some(&t), &meta).await;
    assert_eq!(status, 201, "{reg}");
    assert_eq!(reg["logo_uri"], "https://cdn.registered.example/logo.png");
    let client = TestClient {
        id: reg["client_id"].as_str().unwrap().into(),
        secret: Some(reg["client_secret"].as_str().unwrap().into()),
        redirect_uri: "https://registered.example/cb".into(),
    };
    let (_, challenge) = pkce_pair();
    let url = authorize_url(&app, &code_request(&client, &challenge, "openid"));
    let mut browser = app.browser();
    let page = browser.get(&url).await;
    let page = browser
        .login(page.location.as_deref().unwrap(), "alice", PASSWORD)
        .await;
    let page = browser.get(page.location.as_deref().unwrap()).await;
    let consent = browser.get(page.location.as_deref().unwrap()).await;
    assert_eq!(consent.status, 200);
    assert!(consent.body.contains("Registered App"));
    assert!(
        consent
            .body
            .contains("src=\"https://cdn.registered.example/logo.png\""),
        "{}",
        consent.body
    );
    assert!(
        consent
            .body
            .contains("href=\"https://registered.example/privacy\"")
    );
    assert!(
        consent
            .body
            .contains("href=\"https://registered.example/tos\"")
    );
    // The page may load the logo from its origin, and nothing else from elsewhere.
    let csp = consent.headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("img-src 'self' https://cdn.registered.example;"),
        "{csp}"
    );
    assert!(csp.contains("default-src 'none'"));

    // A host with characters that mean something in a CSP never reaches the header.
    let mut odd = web_app();
    odd["logo_uri"] = json!("https://a;script-src*.example/logo.png");
    let (status, reg) = register(&app, Some(&t), &odd).await;
    // The URL parser allows these characters in a host, so registration takes it.
    assert_eq!(status, 201, "{reg}");
    {
        let client = TestClient {
            id: reg["client_id"].as_str().unwrap().into(),
            secret: Some(reg["client_secret"].as_str().unwrap().into()),
            redirect_uri: "https://registered.example/cb".into(),
        };
        let url = authorize_url(&app, &code_request(&client, &challenge, "openid"));
        let page = browser.get(&url).await;
        let consent = browser.get(page.location.as_deref().unwrap()).await;
        let consent = match consent.location.as_deref() {
            Some(l) => browser.get(l).await,
            None => consent,
        };
        assert_eq!(consent.status, 200, "{}", consent.body);
        let csp = consent.headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("img-src 'self';"), "{csp}");
        assert!(!csp.contains("script-src"), "{csp}");
        assert!(!consent.body.contains("client-logo"));
    }
}

#[tokio::test]
async fn gatehouse_scopes_cannot_be_self_registered() {
    // A developer with an initial access token must not mint an admin robot.
    let app = TestApp::start().await;
    let t = token(&app, None, 3600).await;
    let robot = json!({
        "client_name": "robot",
        "grant_types": ["client_credentials"],
        "scope": "reports gatehouse:admin",
    });
    let (status, answer) = register(&app, Some(&t), &robot).await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer["error"], "invalid_client_metadata");
    assert!(app.store.list_clients().await.unwrap().is_empty());
    // Nor can a registered client add it later through RFC 7592.
    let (status, reg) = register(&app, Some(&t), &web_app()).await;
    assert_eq!(status, 201);
    let mut update = web_app();
    update["client_id"] = reg["client_id"].clone();
    update["scope"] = json!("gatehouse:admin");
    let res = app
        .http()
        .put(reg["registration_client_uri"].as_str().unwrap())
        .bearer_auth(reg["registration_access_token"].as_str().unwrap())
        .json(&update)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let client = app
        .store
        .find_client(reg["client_id"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(!client.scopes.contains("gatehouse:admin"));
}

#[tokio::test]
async fn open_registration_is_throttled_per_address() {
    let app = TestApp::start_with(gatehouse_server::RawConfig {
        open_registration: Some(true),
        ..Default::default()
    })
    .await;
    let mut statuses = Vec::new();
    for _ in 0..22 {
        statuses.push(register(&app, None, &plain_web_app()).await.0);
    }
    assert!(statuses[..20].iter().all(|s| *s == 201), "{statuses:?}");
    assert!(statuses[20..].iter().all(|s| *s == 429), "{statuses:?}");
}

/// RFC 7591 §3.2.1: the response carries every registered value, defaults included; and
/// metadata asking for what this server does not do is refused, never silently dropped
/// (a client registering `userinfo_signed_response_alg` would otherwise get plain JSON).
#[tokio::test]
async fn unsupported_metadata_is_refused_and_defaults_are_stated() {
    let app = TestApp::start().await;
    let t = token(&app, None, 3600).await;
    let with = |member: &str, value: Value| {
        let mut body = web_app();
        body[member] = value;
        body
    };
    for (member, value) in [
        ("userinfo_signed_response_alg", json!("RS256")),
        ("id_token_signed_response_alg", json!("HS256")),
        ("id_token_signed_response_alg", json!("none")),
        ("subject_type", json!("pairwise")),
        ("request_object_signing_alg", json!("RS256")),
        (
            "backchannel_logout_uri",
            json!("https://registered.example/logout"),
        ),
        ("require_pushed_authorization_requests", json!(true)),
        ("dpop_bound_access_tokens", json!(true)),
        (
            "sector_identifier_uri",
            json!("https://registered.example/sector.json"),
        ),
    ] {
        let (status, body) = register(&app, Some(&t), &with(member, value.clone())).await;
        assert_eq!(status, 400, "{member}={value}: {body}");
        assert_eq!(body["error"], "invalid_client_metadata", "{member}");
        assert!(
            body["error_description"].as_str().unwrap().contains(member),
            "{member}: {body}"
        );
    }
    // What the server does is accepted, asking for nothing is fine, and an unknown member
    // is ignored (RFC 7591 §2).
    let mut body = with("id_token_signed_response_alg", json!("RS256"));
    body["subject_type"] = json!("public");
    body["dpop_bound_access_tokens"] = json!(false);
    body["software_statement_note"] = json!("ignored");
    let (status, registered) = register(&app, Some(&t), &body).await;
    assert_eq!(status, 201, "{registered}");
    assert_eq!(registered["id_token_signed_response_alg"], "RS256");
    assert_eq!(registered["subject_type"], "public");
    assert_eq!(
        registered["token_endpoint_auth_method"],
        "client_secret_basic"
    );
    assert_eq!(registered["application_type"], "web");
    assert_eq!(registered["response_types"], json!(["code"]));
    assert!(registered.get("software_statement_note").is_none());
    // A client registered without them is told the defaults too.
    let (_, plain) = register(&app, Some(&t), &web_app()).await;
    assert_eq!(plain["id_token_signed_response_alg"], "RS256");
    assert_eq!(plain["subject_type"], "public");
    // RFC 7592: an update is held to the same rule.
    let id = plain["client_id"].as_str().unwrap();
    let access = plain["registration_access_token"].as_str().unwrap();
    let mut update = web_app();
    update["client_id"] = json!(id);
    update["userinfo_signed_response_alg"] = json!("RS256");
    let res = app
        .http()
        .put(app.url(&format!("/register/{id}")))
        .bearer_auth(access)
        .json(&update)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
}
