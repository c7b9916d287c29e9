//! `private_key_jwt` client authentication (RFC 7523 §2.2, §3; OIDC Core §9; RFC 8725):
//! a client signs a short-lived JWT with its own key. Every forgery in the security
//! checklist (item 31, 32) is tried and must end in invalid_client.

#![allow(clippy::unwrap_used)]

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse_core::{ClientAuthMethod, GrantType};
use gatehouse_tests::*;
use josekit::jwk::KeyPair;
use josekit::jws::{ES256, HS256, JwsHeader};
use josekit::jwt::{self, JwtPayload};
use serde_json::{Value, json};

const TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

struct Signer {
    pem: Vec<u8>,
    public: Value,
}

fn key(kid: &str) -> Signer {
    let pair = ES256.generate_key_pair().unwrap();
    let mut jwk = pair.to_jwk_public_key();
    jwk.set_key_id(kid);
    jwk.set_key_use("sig");
    Signer {
        pem: pair.to_pem_private_key(),
        public: Value::Object(jwk.as_ref().clone()),
    }
}

async fn setup() -> (TestApp, TestClient, Signer) {
    let app = TestApp::start().await;
    let signer = key("k1");
    let jwks = json!({ "keys": [signer.public.clone()] }).to_string();
    let client = app
        .create_client(ClientSpec {
            name: "Signing service".into(),
            redirect_uris: vec![],
            post_logout_redirect_uris: vec![],
            auth_method: ClientAuthMethod::PrivateKeyJwt,
            grant_types: vec![GrantType::ClientCredentials],
            scopes: "reports:read".into(),
            jwks: Some(jwks),
            ..ClientSpec::default()
        })
        .await;
    (app, client, signer)
}

/// A signed assertion; `edit` may change the claims first.
fn assertion(
    app: &TestApp,
    client: &TestClient,
    signer: &Signer,
    kid: Option<&str>,
    edit: impl FnOnce(&mut serde_json::Map<String, Value>),
) -> String {
    let now = app.now();
    let mut claims = serde_json::Map::new();
    claims.insert("iss".into(), json!(client.id));
    claims.insert("sub".into(), json!(client.id));
    claims.insert("aud".into(), json!(app.url("/token")));
    claims.insert("exp".into(), json!(now + 60));
    claims.insert("iat".into(), json!(now));
    claims.insert(
        "jti".into(),
        json!(gatehouse_core::secret::random_token(16)),
    );
    edit(&mut claims);
    let mut header = JwsHeader::new();
    if let Some(k) = kid {
        header.set_key_id(k);
    }
    let s = ES256.signer_from_pem(&signer.pem).unwrap();
    jwt::encode_with_signer(&JwtPayload::from_map(claims).unwrap(), &header, &s).unwrap()
}

/// A client credentials request carrying `assertion`.
async fn ask(
    app: &TestApp,
    client_id: Option<&str>,
    assertion: &str,
    extra: &[(&str, &str)],
) -> (u16, Value) {
    let mut form = vec![
        ("grant_type", "client_credentials"),
        ("client_assertion_type", TYPE),
        ("client_assertion", assertion),
    ];
    if let Some(id) = client_id {
        form.push(("client_id", id));
    }
    form.extend_from_slice(extra);
    let res = app
        .http()
        .post(app.url("/token"))
        .form(&form)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

#[tokio::test]
async fn a_signed_assertion_authenticates_once() {
    let (app, client, signer) = setup().await;
    let a = assertion(&app, &client, &signer, Some("k1"), |_| {});
    let (status, body) = ask(&app, Some(&client.id), &a, &[]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["scope"], "reports:read");
    // The same assertion again (same jti): replay (OIDC Core §9; GHSA-v3q9-2p3m-7g43).
    let (status, body) = ask(&app, Some(&client.id), &a, &[]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    // Without kid the client's only key is used; aud may also be the issuer.
    let a = assertion(&app, &client, &signer, None, |c| {
        c.insert("aud".into(), json!(app.base));
    });
    let (status, body) = ask(&app, None, &a, &[]).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn forged_and_sloppy_assertions_are_invalid_client() {
    let (app, client, signer) = setup().await;
    let now = app.now();
    let good = assertion(&app, &client, &signer, Some("k1"), |_| {});
    let parts: Vec<&str> = good.split('.').collect();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();

    // alg none.
    let none = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "kid": "k1"})),
        parts[1]
    );
    // HS256 keyed with the client's public key (the classic confusion).
    let hs = {
        let secret = serde_json::to_vec(&signer.public).unwrap();
        let s = HS256.signer_from_bytes(&secret).unwrap();
        let mut h = JwsHeader::new();
        h.set_key_id("k1");
        let map = claims.as_object().unwrap().clone();
        jwt::encode_with_signer(&JwtPayload::from_map(map).unwrap(), &h, &s).unwrap()
    };
    // A header pointing at a key elsewhere: never fetched, refused.
    let jku = format!(
        "{}.{}.{}",
        b64(&json!({"alg": "ES256", "kid": "k1", "jku": "https://evil.example/jwks"})),
        parts[1],
        parts[2]
    );
    // Someone else's key, with the registered kid.
    let other = key("k1");
    let foreign = assertion(&app, &client, &other, Some("k1"), |_| {});
    let mut cases: Vec<(&str, String)> = vec![
        ("alg none", none),
        ("HS256 with the public key", hs),
        ("jku header", jku),
        ("foreign key", foreign),
        (
            "unknown kid",
            assertion(&app, &client, &signer, Some("k2"), |_| {}),
        ),
        (
            "path kid",
            assertion(&app, &client, &signer, Some("../../x"), |_| {}),
        ),
        (
            "sql kid",
            assertion(&app, &client, &signer, Some("' OR 1=1 --"), |_| {}),
        ),
        (
            "altered payload",
            format!(
                "{}.{}.{}",
                parts[0],
                b64(
                    &json!({"iss": client.id, "sub": client.id, "aud": app.url("/token"), "exp": now + 60, "jti": "x", "scope": "admin"})
                ),
                parts[2]
            ),
        ),
    ];
    for (what, edit) in [
        (
            "no exp",
            Box::new(|c: &mut serde_json::Map<String, Value>| {
                c.remove("exp");
            }) as Box<dyn FnOnce(&mut serde_json::Map<String, Value>)>,
        ),
        (
            "expired",
            Box::new(move |c: &mut serde_json::Map<String, Value>| {
                c.insert("exp".into(), json!(now - 1));
            }),
        ),
        (
            "exp far away",
            Box::new(move |c: &mut serde_json::Map<String, Value>| {
                c.insert("exp".into(), json!(now + 86_400));
            }),
        ),
        (
            "no jti",
            Box::new(|c: &mut serde_json::Map<String, Value>| {
                c.remove("jti");
            }),
        ),
        (
            "no aud",
            Box::new(|c: &mut serde_json::Map<String, Value>| {
                c.remove("aud");
            }),
        ),
        (
            "wrong aud",
            Box::new(|c: &mut serde_json::Map<String, Value>| {
                c.insert("aud".into(), json!("https://other.example/token"));
            }),
        ),
        (
            "iss is not sub",
            Box::new(|c: &mut serde_json::Map<String, Value>| {
                c.insert("iss".into(), json!("someone-else"));
            }),
        ),
        (
            "no iss",
            Box::new(|c: &mut serde_json::Map<String, Value>| {
                c.remove("iss");
            }),
        ),
        (
            // Past the minute of clock-skew leeway.
            "not yet valid",
            Box::new(move |c: &mut serde_json::Map<String, Value>| {
                c.insert("nbf".into(), json!(now + 120));
            }),
        ),
        (
            "issued in the future",
            Box::new(move |c: &mut serde_json::Map<String, Value>| {
                c.insert("iat".into(), json!(now + 120));
            }),
        ),
    ] {
        cases.push((what, assertion(&app, &client, &signer, Some("k1"), edit)));
    }
    for (what, a) in cases {
        let (status, body) = ask(&app, None, &a, &[]).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("invalid_client")),
            "{what}: {body}"
        );
    }
}

#[tokio::test]
async fn one_method_at_a_time_and_only_the_registered_one() {
    let (app, client, signer) = setup().await;
    // An assertion together with a secret: refused (RFC 6749 §2.3).
    let a = assertion(&app, &client, &signer, Some("k1"), |_| {});
    let (status, body) = ask(&app, None, &a, &[("client_secret", "x")]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request"))
    );
    let res = app
        .http()
        .post(app.url("/token"))
        .basic_auth(&client.id, Some("x"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_assertion_type", TYPE),
            ("client_assertion", a.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    // The wrong assertion type, or a client_id other than the assertion's.
    let (status, _) = {
        let res = app
            .http()
            .post(app.url("/token"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_assertion_type", "urn:other"),
                ("client_assertion", a.as_str()),
            ])
            .send()
            .await
            .unwrap();
        (res.status().as_u16(), ())
    };
    assert_eq!(status, 401);
    let (status, _) = ask(&app, Some("another-client"), &a, &[]).await;
    assert_eq!(status, 401);
    // A client registered for client_secret_post cannot switch to an assertion.
    let post = app
        .create_client(ClientSpec {
            auth_method: ClientAuthMethod::ClientSecretPost,
            grant_types: vec![GrantType::ClientCredentials],
            redirect_uris: vec![],
            ..ClientSpec::default()
        })
        .await;
    let forged = assertion(&app, &post, &signer, None, |_| {});
    let (status, body) = ask(&app, None, &forged, &[]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    // And the private_key_jwt client cannot fall back to a secret.
    let (status, _) = token_request(
        &app,
        &TestClient {
            secret: Some("guess".into()),
            ..client.clone()
        },
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn assertions_work_at_introspection_with_its_own_audience() {
    let (app, client, signer) = setup().await;
    let a = assertion(&app, &client, &signer, Some("k1"), |_| {});
    let (_, body) = ask(&app, None, &a, &[]).await;
    let at = body["access_token"].as_str().unwrap();
    let b = assertion(&app, &client, &signer, Some("k1"), |c| {
        c.insert("aud".into(), json!(app.url("/introspect")));
    });
    let res = app
        .http()
        .post(app.url("/introspect"))
        .form(&[
            ("token", at),
            ("client_assertion_type", TYPE),
            ("client_assertion", b.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["active"], true);
}

/// A tiny HTTP server on loopback that serves whatever JWK Set `body` holds and counts
/// the requests it gets.
async fn jwks_server(
    body: std::sync::Arc<std::sync::Mutex<String>>,
) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
    let hits = std::sync::Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            counter.fetch_add(1, Ordering::SeqCst);
            let json = body.lock().unwrap().clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = socket.read(&mut buf).await;
                let reply = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{json}",
                    json.len()
                );
                let _ = socket.write_all(reply.as_bytes()).await;
            });
        }
    });
    (url, hits)
}

#[tokio::test]
async fn keys_from_a_jwks_uri_are_fetched_cached_and_refetched_on_rotation() {
    use std::sync::atomic::Ordering;
    let app = TestApp::start().await;
    let k1 = key("k1");
    let served = std::sync::Arc::new(std::sync::Mutex::new(
        json!({ "keys": [k1.public.clone()] }).to_string(),
    ));
    let (uri, hits) = jwks_server(served.clone()).await;
    let client = app
        .create_client(ClientSpec {
            redirect_uris: vec![],
            post_logout_redirect_uris: vec![],
            auth_method: ClientAuthMethod::PrivateKeyJwt,
            grant_types: vec![GrantType::ClientCredentials],
            jwks_uri: Some(uri),
            ..ClientSpec::default()
        })
        .await;

    for _ in 0..3 {
        let a = assertion(&app, &client, &k1, Some("k1"), |_| {});
        let (status, body) = ask(&app, None, &a, &[]).await;
        assert_eq!(status, 200, "{body}");
    }
    assert_eq!(hits.load(Ordering::SeqCst), 1, "fetched once, then cached");

    // The client rotates to k2. Within a minute of the last fetch an unknown kid does not
    // make us fetch again (nobody can make us fetch at will)...
    let k2 = key("k2");
    *served.lock().unwrap() = json!({ "keys": [k2.public.clone()] }).to_string();
    let a = assertion(&app, &client, &k2, Some("k2"), |_| {});
    let (status, _) = ask(&app, None, &a, &[]).await;
    assert_eq!(status, 401);
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    // ...after it, the unknown kid fetches the new set once, and the new key works.
    app.clock.advance(61);
    let a = assertion(&app, &client, &k2, Some("k2"), |_| {});
    let (status, body) = ask(&app, None, &a, &[]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(hits.load(Ordering::SeqCst), 2);

    // A jku header naming our own server is still refused, and fetches nothing.
    let parts: Vec<String> = assertion(&app, &client, &k2, Some("k2"), |_| {})
        .split('.')
        .map(str::to_owned)
        .collect();
    let jku = format!(
        "{}.{}.{}",
        b64(&json!({"alg": "ES256", "kid": "k2", "jku": "http://127.0.0.1:1/jwks"})),
        parts[1],
        parts[2]
    );
    let (status, _) = ask(&app, None, &jku, &[]).await;
    assert_eq!(status, 401);
    assert_eq!(hits.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn an_unreachable_jwks_uri_is_invalid_client_not_a_server_error() {
    let app = TestApp::start().await;
    let k1 = key("k1");
    let client = app
        .create_client(ClientSpec {
            redirect_uris: vec![],
            post_logout_redirect_uris: vec![],
            auth_method: ClientAuthMethod::PrivateKeyJwt,
            grant_types: vec![GrantType::ClientCredentials],
            // Port 1 on loopback: nothing listens there.
            jwks_uri: Some("http://127.0.0.1:1/jwks.json".into()),
            ..ClientSpec::default()
        })
        .await;
    let a = assertion(&app, &client, &k1, Some("k1"), |_| {});
    let (status, body) = ask(&app, None, &a, &[]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
}

#[tokio::test]
async fn a_failed_fetch_is_not_retried_within_the_minute() {
    use std::sync::atomic::Ordering;
    let app = TestApp::start().await;
    let k1 = key("k1");
    // The key server answers, but with something that is not a JWK Set.
    let served = std::sync::Arc::new(std::sync::Mutex::new("not json".to_owned()));
    let (uri, hits) = jwks_server(served.clone()).await;
    let client = app
        .create_client(ClientSpec {
            redirect_uris: vec![],
            post_logout_redirect_uris: vec![],
            auth_method: ClientAuthMethod::PrivateKeyJwt,
            grant_types: vec![GrantType::ClientCredentials],
            jwks_uri: Some(uri),
            ..ClientSpec::default()
        })
        .await;
    for _ in 0..5 {
        let a = assertion(&app, &client, &k1, Some("k1"), |_| {});
        let (status, body) = ask(&app, None, &a, &[]).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("invalid_client"))
        );
    }
    assert_eq!(
        hits.load(Ordering::SeqCst),
        1,
        "anyone can send assertions; they cannot make us fetch at will"
    );
    // A minute later the key server is fixed and one more fetch picks it up.
    *served.lock().unwrap() = json!({ "keys": [k1.public.clone()] }).to_string();
    app.clock.advance(60);
    let a = assertion(&app, &client, &k1, Some("k1"), |_| {});
    let (status, body) = ask(&app, None, &a, &[]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(hits.load(Ordering::SeqCst), 2);
}
