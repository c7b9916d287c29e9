//! Discovery (OpenID Connect Discovery 1.0 §3, RFC 8414), JWKS (RFC 7517), and userinfo
//! as a protected resource (OIDC Core §5.3, RFC 6750).

#![allow(clippy::unwrap_used)]

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse_tests::*;
use serde_json::{Value, json};

async fn get_json(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> Value {
    let mut req = app.http().get(app.url(path));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = req.send().await.unwrap();
    assert_eq!(res.status(), 200, "{path}");
    res.json().await.unwrap()
}

#[tokio::test]
async fn metadata_lists_what_works_and_nothing_else() {
    let app = TestApp::start().await;
    for path in [
        "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server",
    ] {
        let doc = get_json(&app, path, &[]).await;
        assert_eq!(doc["issuer"], app.base);
        for (field, value) in [
            ("authorization_endpoint", json!(app.url("/authorize"))),
            ("token_endpoint", json!(app.url("/token"))),
            ("userinfo_endpoint", json!(app.url("/userinfo"))),
            ("jwks_uri", json!(app.url("/jwks.json"))),
            ("end_session_endpoint", json!(app.url("/logout"))),
            ("response_types_supported", json!(["code"])),
            ("subject_types_supported", json!(["public"])),
            ("code_challenge_methods_supported", json!(["S256"])),
            (
                "authorization_response_iss_parameter_supported",
                json!(true),
            ),
            (
                "token_endpoint_auth_methods_supported",
                json!([
                    "client_secret_basic",
                    "client_secret_post",
                    "private_key_jwt",
                    "none"
                ]),
            ),
        ] {
            assert_eq!(doc[field], value, "{path} {field}");
        }
        let algs = doc["id_token_signing_alg_values_supported"]
            .as_array()
            .unwrap();
        assert!(algs.contains(&json!("RS256")));
        assert!(
            !doc["grant_types_supported"]
                .as_array()
                .unwrap()
                .contains(&json!("password"))
        );
        assert!(
            doc["scopes_supported"]
                .as_array()
                .unwrap()
                .contains(&json!("openid"))
        );
    }
}

#[tokio::test]
async fn host_headers_do_not_change_any_url() {
    let app = TestApp::start().await;
    let client = app.create_client(ClientSpec::default()).await;
    let spoof = [
        ("host", "evil.example"),
        ("x-forwarded-host", "evil.example"),
        ("x-forwarded-proto", "https"),
    ];
    let doc = get_json(&app, "/.well-known/openid-configuration", &spoof).await;
    assert!(!doc.to_string().contains("evil.example"));
    assert_eq!(doc["issuer"], app.base);

    let mut req = app.http().get(authorize_url(
        &app,
        &code_request(&client, &pkce_pair().1, "openid"),
    ));
    for (k, v) in spoof {
        req = req.header(k, v);
    }
    let res = req.send().await.unwrap();
    let loc = location(&res).unwrap();
    assert!(loc.starts_with(&app.base), "{loc}");
    let cookie = res.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let mut req = app.http().get(loc).header("cookie", cookie);
    for (k, v) in spoof {
        req = req.header(k, v);
    }
    let body = req.send().await.unwrap().text().await.unwrap();
    assert!(
        body.contains(&format!("action=\"{}/login\"", app.base)),
        "{body}"
    );
    assert!(!body.contains("evil.example"));
}

#[tokio::test]
async fn jwks_has_public_keys_only() {
    let app = TestApp::start().await;
    let jwks = get_json(&app, "/jwks.json", &[]).await;
    let keys = jwks["keys"].as_array().unwrap();
    assert!(
        keys.iter()
            .any(|k| k["alg"] == "RS256" && k["kty"] == "RSA")
    );
    assert!(keys.iter().any(|k| k["alg"] == "ES256" && k["kty"] == "EC"));
    for k in keys {
        assert!(k["kid"].is_string() && k["use"] == "sig", "{k}");
        for private in ["d", "p", "q", "dp", "dq", "qi", "k"] {
            assert!(k.get(private).is_none(), "private member {private} in {k}");
        }
    }
}

async fn userinfo(app: &TestApp, req: reqwest::RequestBuilder) -> (u16, Option<String>, Value) {
    let _ = app;
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let challenge = res
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, challenge, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn userinfo_answers_by_scope_and_refuses_bad_tokens() {
    let app = TestApp::start().await;
    let user_id = app.create_user("alice").await;
    let client = app.create_client(ClientSpec::default()).await;
    let tokens = sign_in(&app, &client, "alice", "openid email").await;
    let at = tokens["access_token"].as_str().unwrap().to_owned();
    let http = app.http();
    let url = app.url("/userinfo");

    let (status, _, body) = userinfo(&app, http.get(&url).bearer_auth(&at)).await;
    assert_eq!(status, 200);
    assert_eq!(body["sub"], user_id);
    assert_eq!(body["email"], "alice@example.com");
    assert!(
        body.get("preferred_username").is_none(),
        "profile was not granted"
    );

    // The token in a form body (RFC 6750 §2.2).
    let (status, _, body) =
        userinfo(&app, http.post(&url).form(&[("access_token", at.as_str())])).await;
    assert_eq!(
        (status, body["sub"].as_str()),
        (200, Some(user_id.as_str()))
    );
    // Both places at once.
    let (status, _, _) = userinfo(
        &app,
        http.post(&url)
            .bearer_auth(&at)
            .form(&[("access_token", at.as_str())]),
    )
    .await;
    assert_eq!(status, 400);

    // Missing, malformed, forged, ID token instead of access token: 401 invalid_token.
    let id_token = tokens["id_token"].as_str().unwrap();
    let parts: Vec<&str> = at.split('.').collect();
    let alg_none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"at+jwt"}"#),
        parts[1]
    );
    let mut payload: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    payload["sub"] = "someone-else".into();
    let altered = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(payload.to_string()),
        parts[2]
    );
    for bad in [
        None,
        Some("garbage"),
        Some(id_token),
        Some(alg_none.as_str()),
        Some(altered.as_str()),
    ] {
        let req = match bad {
            None => http.get(&url),
            Some(t) => http.get(&url).bearer_auth(t),
        };
        let (status, challenge, _) = userinfo(&app, req).await;
        assert_eq!(status, 401, "{bad:?}");
        let challenge = challenge.expect("WWW-Authenticate");
        assert!(
            challenge.starts_with("Bearer") && challenge.contains("error=\"invalid_token\""),
            "{challenge}"
        );
    }

    // Expired.
    app.clock.advance(901);
    let (status, challenge, _) = userinfo(&app, http.get(&url).bearer_auth(&at)).await;
    assert_eq!(status, 401);
    assert!(challenge.unwrap().contains("invalid_token"));
}

#[tokio::test]
async fn userinfo_needs_the_openid_scope() {
    let app = TestApp::start().await;
    app.create_user("alice").await;
    let client = app.create_client(ClientSpec::default()).await;
    let tokens = sign_in(&app, &client, "alice", "email").await;
    let res = app
        .http()
        .get(app.url("/userinfo"))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert!(
        res.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("insufficient_scope")
    );
}

#[tokio::test]
async fn health_endpoints() {
    let app = TestApp::start().await;
    for path in ["/health/alive", "/health/ready"] {
        let res = app.http().get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 200, "{path}");
    }
    let res = app.http().get(app.url("/nope")).send().await.unwrap();
    assert_eq!(res.status(), 404);
}

#[tokio::test]
async fn an_issuer_with_a_path_serves_everything_below_it() {
    let app = TestApp::start_at_path("/tenant", gatehouse_server::RawConfig::default()).await;
    assert!(app.base.ends_with("/tenant"));
    app.create_user("alice").await;
    let client = app.create_client(ClientSpec::default()).await;

    let doc = get_json(&app, "/.well-known/openid-configuration", &[]).await;
    assert_eq!(doc["issuer"], app.base);
    assert_eq!(doc["token_endpoint"], app.url("/token"));
    // RFC 8414 §3.1: the well-known segment goes before the issuer's path.
    let origin = app.base.trim_end_matches("/tenant");
    let res = app
        .http()
        .get(format!(
            "{origin}/.well-known/oauth-authorization-server/tenant"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["issuer"], app.base);

    let tokens = sign_in(&app, &client, "alice", "openid").await;
    assert!(tokens["id_token"].is_string());
}

#[tokio::test]
async fn error_descriptions_use_only_the_characters_rfc_6749_allows() {
    let app = TestApp::start().await;
    let client = app.create_client(ClientSpec::default()).await;
    let allowed = |d: &str| {
        d.chars()
            .all(|c| matches!(c, '\x20'..='\x21' | '\x23'..='\x5b' | '\x5d'..='\x7e'))
    };
    let (_, body) = token_request(&app, &client, &[("grant_type", "é\"\\x")]).await;
    let d = body["error_description"].as_str().unwrap();
    assert!(allowed(d), "{d}");
    assert!(!d.contains('x') || !d.contains('é'));
    let (_, challenge) = pkce_pair();
    let mut pairs = code_request(&client, &challenge, "openid");
    pairs[7] = ("code_challenge_method", "plain");
    let page = app.browser().get(&authorize_url(&app, &pairs)).await;
    let d = query_of(&page.location.unwrap())["error_description"].clone();
    assert!(allowed(&d), "{d}");
}

/// Discovery shows a resource server how to check a token's audience (RFC 8414
/// `service_documentation`): the page names this issuer, its JWKS, the admin API's
/// audience and introspection, and tells it to accept only its own `aud`.
#[tokio::test]
async fn discovery_points_resource_servers_to_the_audience_check() {
    let app = TestApp::start().await;
    let doc = discovery(&app).await;
    let url = doc["service_documentation"].as_str().unwrap();
    assert_eq!(url, app.url("/docs/resource-servers"));
    let res = app.http().get(url).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = res.text().await.unwrap();
    for needle in [
        "aud is exactly YOUR API's identifier",
        doc["jwks_uri"].as_str().unwrap(),
        &app.url("/admin/api"),
        doc["introspection_endpoint"].as_str().unwrap(),
        "resource=",
    ] {
        assert!(text.contains(needle), "{needle}: {text}");
    }
}
