//! The token endpoint's authorization_code grant, probed as an attacker would
//! (RFC 6749 §2.3.1, §4.1.3, §5; RFC 7636 §4.6; RFC 9700 §2.1.1, §4.8.2; OIDC Core §3.1.3).

#![allow(clippy::unwrap_used)]

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse_core::ClientAuthMethod;
use gatehouse_tests::*;
use serde_json::Value;

/// Signs `user` in through `client` and returns (code, verifier).
async fn code_for(app: &TestApp, client: &TestClient, user: &str) -> (String, String) {
    let (verifier, challenge) = pkce_pair();
    let url = authorize_url(app, &code_request(client, &challenge, "openid email"));
    let callback = app.browser().authorize(&url, user).await;
    (query_of(&callback)["code"].clone(), verifier)
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

fn error_of(body: &Value) -> &str {
    body["error"].as_str().unwrap_or("")
}

fn claims(jwt: &str) -> (Value, Value) {
    let mut parts = jwt.split('.');
    let header =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts.next().unwrap()).unwrap()).unwrap();
    let payload =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts.next().unwrap()).unwrap()).unwrap();
    (header, payload)
}

async fn setup() -> (TestApp, TestClient) {
    let app = TestApp::start().await;
    app.create_user("alice").await;
    let client = app.create_client(ClientSpec::default()).await;
    (app, client)
}

#[tokio::test]
async fn a_code_works_once_and_reuse_revokes_what_it_issued() {
    let (app, client) = setup().await;
    let (code, verifier) = code_for(&app, &client, "alice").await;
    let (status, first) = exchange_code(&app, &client, &code, Some(&verifier)).await;
    assert_eq!(status, 200, "{first}");
    let access_token = first["access_token"].as_str().unwrap();
    assert_eq!(userinfo_status(&app, access_token).await, 200);

    let (status, second) = exchange_code(&app, &client, &code, Some(&verifier)).await;
    assert_eq!((status, error_of(&second)), (400, "invalid_grant"));
    // RFC 6749 §4.1.2: the tokens issued from the code are revoked.
    assert_eq!(userinfo_status(&app, access_token).await, 401);
}

#[tokio::test]
async fn twenty_parallel_redemptions_have_exactly_one_winner() {
    let (app, client) = setup().await;
    let (code, verifier) = code_for(&app, &client, "alice").await;
    let app = std::sync::Arc::new(app);
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (app, client, code, verifier) =
            (app.clone(), client.clone(), code.clone(), verifier.clone());
        tasks.push(tokio::spawn(async move {
            exchange_code(&app, &client, &code, Some(&verifier)).await
        }));
    }
    let mut ok = 0;
    for t in tasks {
        let (status, body) = t.await.unwrap();
        match status {
            200 => ok += 1,
            400 => assert_eq!(error_of(&body), "invalid_grant"),
            other => panic!("unexpected status {other}: {body}"),
        }
    }
    assert_eq!(ok, 1);
}

#[tokio::test]
async fn a_code_is_bound_to_its_client() {
    let (app, client) = setup().await;
    let other = app.create_client(ClientSpec::default()).await;
    let (code, verifier) = code_for(&app, &client, "alice").await;
    let (status, body) = exchange_code(&app, &other, &code, Some(&verifier)).await;
    assert_eq!((status, error_of(&body)), (400, "invalid_grant"));
    // The other client's attempt did not spend the code.
    let (status, body) = exchange_code(&app, &client, &code, Some(&verifier)).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn redirect_uri_must_repeat_the_authorization_request() {
    let (app, client) = setup().await;
    let (code, verifier) = code_for(&app, &client, "alice").await;
    for form in [
        vec![
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("code_verifier", verifier.as_str()),
        ],
        vec![
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("code_verifier", verifier.as_str()),
            ("redirect_uri", "https://app.example/callback/"),
        ],
    ] {
        let (status, body) = token_request(&app, &client, &form).await;
        assert_eq!(
            (status, error_of(&body)),
            (400, "invalid_grant"),
            "{form:?}"
        );
    }
}

#[tokio::test]
async fn pkce_verifier_missing_wrong_malformed_or_downgraded_is_refused() {
    let (app, client) = setup().await;
    let (code, _) = code_for(&app, &client, "alice").await;
    let (wrong, _) = pkce_pair();
    for verifier in [
        None,
        Some(wrong.as_str()),
        Some("short"),
        Some(&*"a".repeat(129)),
    ] {
        let (status, body) = exchange_code(&app, &client, &code, verifier).await;
        assert_eq!(
            (status, error_of(&body)),
            (400, "invalid_grant"),
            "{verifier:?}"
        );
    }

    // Downgrade (RFC 9700 §4.8.2): no challenge at /authorize, a verifier at /token.
    let pairs: Vec<_> = code_request(&client, "unused", "openid")
        .into_iter()
        .filter(|(k, _)| !k.starts_with("code_challenge"))
        .collect();
    let callback = app
        .browser()
        .authorize(&authorize_url(&app, &pairs), "alice")
        .await;
    let code = query_of(&callback)["code"].clone();
    let (verifier, _) = pkce_pair();
    let (status, body) = exchange_code(&app, &client, &code, Some(&verifier)).await;
    assert_eq!((status, error_of(&body)), (400, "invalid_grant"));
}

#[tokio::test]
async fn a_code_expires_after_a_minute() {
    let (app, client) = setup().await;
    let (code, verifier) = code_for(&app, &client, "alice").await;
    app.clock.advance(61);
    let (status, body) = exchange_code(&app, &client, &code, Some(&verifier)).await;
    assert_eq!((status, error_of(&body)), (400, "invalid_grant"));
}

#[tokio::test]
async fn guessed_and_hostile_codes_are_invalid_grants() {
    let (app, client) = setup().await;
    for code in [
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "' OR 1=1 --",
        "x\u{0}y",
        &"z".repeat(5000),
    ] {
        let (status, body) = exchange_code(&app, &client, code, Some(&pkce_pair().0)).await;
        assert_eq!(
            (status, error_of(&body)),
            (400, "invalid_grant"),
            "{code:?}"
        );
    }
}

#[tokio::test]
async fn tokens_carry_the_claims_relying_parties_check() {
    let (app, client) = setup().await;
    let tokens = sign_in(&app, &client, "alice", "openid email").await;
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["scope"], "email openid");
    assert!(tokens["expires_in"].as_i64().unwrap() > 0);

    let (header, at) = claims(tokens["access_token"].as_str().unwrap());
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(header["alg"], "ES256");
    for claim in [
        "iss",
        "sub",
        "aud",
        "exp",
        "iat",
        "jti",
        "client_id",
        "scope",
    ] {
        assert!(at.get(claim).is_some(), "access token lacks {claim}: {at}");
    }
    assert_eq!(at["client_id"], client.id);

    let (header, id) = claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(header["alg"], "RS256");
    for claim in [
        "iss",
        "sub",
        "aud",
        "exp",
        "iat",
        "auth_time",
        "nonce",
        "at_hash",
        "azp",
        "sid",
    ] {
        assert!(id.get(claim).is_some(), "ID token lacks {claim}: {id}");
    }
    assert_eq!(id["iss"], app.base);
    assert_eq!(id["aud"], serde_json::json!([client.id]));
    assert_eq!(id["azp"], client.id);
    assert_eq!(id["nonce"], "n-456");
    let jwks: Value = app
        .http()
        .get(app.url("/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["kid"] == header["kid"])
    );

    // Without openid there is no ID token.
    let tokens = sign_in(&app, &client, "alice", "email").await;
    assert!(tokens.get("id_token").is_none());
}

#[tokio::test]
async fn client_authentication_rules() {
    let (app, client) = setup().await;
    let secret = client.secret.clone().unwrap();
    let http = app.http();
    let form = |code: &str| {
        vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", code.to_owned()),
        ]
    };

    // A wrong secret: 401 with a Basic challenge.
    let res = http
        .post(app.url("/token"))
        .basic_auth(&client.id, Some("wrong"))
        .form(&form("x"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert!(
        res.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic")
    );
    let body: Value = res.json().await.unwrap();
    assert_eq!(error_of(&body), "invalid_client");

    // Malformed Basic credentials: 401, never 500.
    for header in ["Basic !!!!", "Basic bm9jb2xvbg==", "Bearer abc"] {
        let res = http
            .post(app.url("/token"))
            .header("authorization", header)
            .form(&form("x"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401, "{header}");
    }

    // Basic and a body secret together: refused (RFC 6749 §2.3).
    let mut both = form("x");
    both.push(("client_secret", secret.clone()));
    let res = http
        .post(app.url("/token"))
        .basic_auth(&client.id, Some(&secret))
        .form(&both)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);

    // A secret in the URL query: refused.
    let res = http
        .post(app.url(&format!("/token?client_secret={secret}")))
        .basic_auth(&client.id, Some(&secret))
        .form(&form("x"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);

    // A client_secret_basic client trying client_secret_post: invalid_client.
    let mut post = form("x");
    post.push(("client_id", client.id.clone()));
    post.push(("client_secret", secret.clone()));
    let res = http
        .post(app.url("/token"))
        .form(&post)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);

    // A confidential client sending no secret at all: invalid_client.
    let mut none = form("x");
    none.push(("client_id", client.id.clone()));
    let res = http
        .post(app.url("/token"))
        .form(&none)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);

    // RFC 6749 §2.3.1: id and secret are form-encoded inside Basic; encoded forms decode.
    let (code, verifier) = code_for(&app, &client, "alice").await;
    let encode = |s: &str| s.bytes().map(|b| format!("%{b:02X}")).collect::<String>();
    let credentials = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        encode(&client.id),
        encode(&secret)
    ));
    let res = http
        .post(app.url("/token"))
        .header("authorization", format!("Basic {credentials}"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("code_verifier", &verifier),
            ("redirect_uri", &client.redirect_uri),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn client_secret_post_clients_authenticate_in_the_body() {
    let app = TestApp::start().await;
    app.create_user("alice").await;
    let client = app
        .create_client(ClientSpec {
            auth_method: ClientAuthMethod::ClientSecretPost,
            ..ClientSpec::default()
        })
        .await;
    let (code, verifier) = code_for(&app, &client, "alice").await;
    let secret = client.secret.clone().unwrap();
    let res = app
        .http()
        .post(app.url("/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("code_verifier", &verifier),
            ("redirect_uri", &client.redirect_uri),
            ("client_id", &client.id),
            ("client_secret", &secret),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn malformed_token_requests_get_protocol_errors_and_no_store() {
    let (app, client) = setup().await;
    let http = app.http();
    let secret = client.secret.clone().unwrap();

    let res = http.get(app.url("/token")).send().await.unwrap();
    assert_eq!(res.status(), 405);
    assert_eq!(res.headers()["allow"], "POST");
    let body: Value = res.json().await.unwrap();
    assert_eq!(error_of(&body), "invalid_request");

    let res = http
        .post(app.url("/token"))
        .basic_auth(&client.id, Some(&secret))
        .header("content-type", "application/json")
        .body(r#"{"grant_type":"authorization_code"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(res.headers()["cache-control"], "no-store");
    assert_eq!(res.headers()["pragma"], "no-cache");
    let body: Value = res.json().await.unwrap();
    assert_eq!(error_of(&body), "invalid_request");

    for (form, expected) in [
        (
            vec![
                ("grant_type", "password"),
                ("username", "alice"),
                ("password", PASSWORD),
            ],
            "unsupported_grant_type",
        ),
        (vec![("grant_type", "implicit")], "unsupported_grant_type"),
        (vec![("code", "x")], "invalid_request"),
        (
            vec![("grant_type", "authorization_code")],
            "invalid_request",
        ),
        (
            vec![
                ("grant_type", "authorization_code"),
                ("code", "a"),
                ("code", "b"),
            ],
            "invalid_request",
        ),
    ] {
        let (status, body) = token_request(&app, &client, &form).await;
        assert_eq!((status, error_of(&body)), (400, expected), "{form:?}");
    }

    let res = http
        .post(app.url("/token"))
        .basic_auth(&client.id, Some(&secret))
        .form(&[("grant_type", "authorization_code"), ("code", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["cache-control"], "no-store");

    // A megabyte body is refused before it is read.
    let res = http
        .post(app.url("/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "grant_type=authorization_code&code={}",
            "a".repeat(1 << 20)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);

    // Successful responses are not cacheable either.
    let (code, verifier) = code_for(&app, &client, "alice").await;
    let res = http
        .post(app.url("/token"))
        .basic_auth(&client.id, Some(&secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("code_verifier", &verifier),
            ("redirect_uri", &client.redirect_uri),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    assert_eq!(res.headers()["pragma"], "no-cache");
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
}

#[tokio::test]
async fn unregistered_grant_types_are_unauthorized_client_and_discovery_lists_no_password_grant() {
    let app = TestApp::start().await;
    app.create_user("alice").await;
    let client = app
        .create_client(ClientSpec {
            grant_types: vec![gatehouse_core::GrantType::ClientCredentials],
            ..ClientSpec::default()
        })
        .await;
    let (status, body) = token_request(
        &app,
        &client,
        &[("grant_type", "authorization_code"), ("code", "x")],
    )
    .await;
    assert_eq!((status, error_of(&body)), (400, "unauthorized_client"));
    // The authorization endpoint says the same, back at the client.
    let (_, challenge) = pkce_pair();
    let page = app
        .browser()
        .get(&authorize_url(
            &app,
            &code_request(&client, &challenge, "openid"),
        ))
        .await;
    assert_eq!(page.status, 303);
    assert_eq!(
        query_of(&page.location.unwrap())["error"],
        "unauthorized_client"
    );
    let doc: Value = discovery(&app).await;
    let grants = doc["grant_types_supported"].as_array().unwrap();
    assert!(grants.contains(&serde_json::json!("authorization_code")));
    assert!(!grants.contains(&serde_json::json!("password")));
    assert_eq!(doc["response_types_supported"], serde_json::json!(["code"]));
}
