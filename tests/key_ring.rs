//! One key ring shared by every node (the hardening issue, item 5): two Gatehouse servers
//! on one database (PostgreSQL when `GATEHOUSE_TEST_POSTGRES` is set), each with its own
//! pools, caches and key ring in memory, sharing only the database, the key-encryption key
//! and the test's clock.

#![allow(clippy::unwrap_used)]

use gatehouse_server::RawConfig;
use gatehouse_tests::*;
use serde_json::{Value, json};

async fn jwks_kids(app: &TestApp) -> Vec<String> {
    let jwks: Value = app
        .http()
        .get(app.url("/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut kids: Vec<String> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect();
    kids.sort();
    kids
}

fn kid_of(jwt: &str) -> String {
    use base64::Engine;
    let header = jwt.split('.').next().unwrap();
    let header: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(header)
            .unwrap(),
    )
    .unwrap();
    header["kid"].as_str().unwrap().to_owned()
}

async fn rotate(app: &TestApp, admin: &str) -> Value {
    let res = app
        .http()
        .post(app.url("/admin/api/keys/rotate"))
        .bearer_auth(admin)
        .json(&json!({"alg": "ES256"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    res.json().await.unwrap()
}

async fn token(app: &TestApp, client: &TestClient, scope: &str) -> String {
    let (status, body) = token_request(
        app,
        client,
        &[("grant_type", "client_credentials"), ("scope", scope)],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

async fn introspect(app: &TestApp, client: &TestClient, token: &str) -> Value {
    let res = app
        .http()
        .post(app.url("/introspect"))
        .basic_auth(&client.id, client.secret.as_deref())
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

/// The test: rotate on A; the new key is in B's JWKS within the reload bound and
/// signs on both after the lead time; a token signed by A's new key is introspected,
/// revoked and accepted by the admin API on B.
#[tokio::test]
async fn a_rotation_on_one_node_reaches_the_other_within_the_bound() {
    let a = TestApp::start().await;
    let b = a.start_sharing(RawConfig::default()).await;
    assert_eq!(jwks_kids(&a).await, jwks_kids(&b).await, "one ring");
    let before = jwks_kids(&a).await;
    assert_eq!(before.len(), 2);

    let svc = robot(&a, "gatehouse:admin reports").await;
    let admin = token(&a, &svc, "gatehouse:admin").await;
    let key = rotate(&a, &admin).await;
    let new_kid = key["kid"].as_str().unwrap().to_owned();
    assert_eq!(key["state"], "next");
    assert!(
        jwks_kids(&a).await.contains(&new_kid),
        "published at once on A"
    );

    // B picks it up within the reload bound (30 s by default).
    a.clock.advance(30);
    assert!(
        jwks_kids(&b).await.contains(&new_kid),
        "B publishes it within 30 s"
    );
    // Not signing yet on either node: the lead time (300 s) has not passed.
    let old_kid = kid_of(&token(&b, &svc, "reports").await);
    assert_ne!(old_kid, new_kid);
    assert_ne!(kid_of(&token(&a, &svc, "reports").await), new_kid);
    let old_token = token(&b, &svc, "reports").await;

    a.clock.advance(300);
    let from_a = token(&a, &svc, "reports").await;
    let from_b = token(&b, &svc, "reports").await;
    assert_eq!(
        kid_of(&from_a),
        new_kid,
        "A signs with the new key after the lead time"
    );
    assert_eq!(kid_of(&from_b), new_kid, "and so does B");

    // A's token, on B: introspected, accepted by the admin API, revoked.
    let admin_a = token(&a, &svc, "gatehouse:admin").await;
    assert_eq!(kid_of(&admin_a), new_kid);
    let res = b
        .http()
        .get(b.url("/admin/api/keys"))
        .bearer_auth(&admin_a)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "B's admin API accepts A's new-key token");
    assert_eq!(introspect(&b, &svc, &from_a).await["active"], true);
    let res = b
        .http()
        .post(b.url("/revoke"))
        .basic_auth(&svc.id, svc.secret.as_deref())
        .form(&[("token", from_a.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        introspect(&a, &svc, &from_a).await["active"],
        false,
        "the revocation on B holds on A"
    );
    // The old key still verifies what it signed, then leaves the JWKS once that expired.
    assert_eq!(introspect(&a, &svc, &old_token).await["active"], true);
    assert!(jwks_kids(&a).await.contains(&old_kid));
    a.clock.advance(3600 + 61);
    assert!(
        !jwks_kids(&a).await.contains(&old_kid),
        "retired key removed"
    );
    assert!(!jwks_kids(&b).await.contains(&old_kid));
}

/// A token signed with a key this node has not loaded yet makes it reload once before it
/// decides: no waiting for the reload interval, and no false "inactive".
#[tokio::test]
async fn an_unknown_kid_makes_a_node_reload_before_it_decides() {
    let a = TestApp::start_with(RawConfig {
        key_rotation_lead_time: Some(0),
        ..Default::default()
    })
    .await;
    let b = a
        .start_sharing(RawConfig {
            key_rotation_lead_time: Some(0),
            ..Default::default()
        })
        .await;
    let svc = robot(&a, "gatehouse:admin reports").await;
    // B loads its ring now, then A rotates with no lead time.
    jwks_kids(&b).await;
    let admin = token(&a, &svc, "gatehouse:admin").await;
    let new_kid = rotate(&a, &admin).await["kid"].as_str().unwrap().to_owned();
    let fresh = token(&a, &svc, "reports").await;
    assert_eq!(kid_of(&fresh), new_kid);
    // No clock movement: B's ring is not stale, but the unknown kid sends it to the store.
    assert_eq!(introspect(&b, &svc, &fresh).await["active"], true);
    let res = b
        .http()
        .post(b.url("/revoke"))
        .basic_auth(&svc.id, svc.secret.as_deref())
        .form(&[("token", fresh.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(introspect(&a, &svc, &fresh).await["active"], false);
}

/// Keys are stored sealed: the database holds no private key in the clear, and a node
/// with another key-encryption key refuses to start rather than split the ring.
#[tokio::test]
async fn private_keys_are_sealed_and_a_wrong_kek_is_refused() {
    let a = TestApp::start().await;
    let stored = a.store.list_signing_keys().await.unwrap();
    assert_eq!(stored.len(), 2);
    for k in &stored {
        assert!(!k.sealed_private_key.contains("PRIVATE KEY"));
        assert_eq!(k.sealed_private_key.split('.').count(), 5, "a JWE");
    }
    let other = gatehouse_core::secret::new_secret();
    let err = a
        .try_start_sharing(RawConfig {
            key_encryption_key: Some(other),
            ..Default::default()
        })
        .await
        .err()
        .expect("a node with another key-encryption key does not start");
    assert!(err.contains("key-encryption key"), "{err}");
}

/// Existing key files (from before keys lived in the database) are imported at the first
/// start, each once, and keep signing; the file is renamed so it is not imported again.
#[tokio::test]
async fn key_files_are_imported_once() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    std::fs::create_dir_all(&keys).unwrap();
    let pem = josekit::jws::ES256
        .generate_key_pair()
        .unwrap()
        .to_pem_private_key();
    let created = gatehouse_core::Clock::now(&gatehouse_core::SystemClock) - 100;
    std::fs::write(keys.join(format!("es256-{created}.pem")), &pem).unwrap();
    let app = TestApp::start_with(RawConfig {
        keys_dir: Some(keys.clone()),
        ..Default::default()
    })
    .await;
    let svc = robot(&app, "gatehouse:admin reports").await;
    let t = token(&app, &svc, "reports").await;
    let imported = app.store.list_signing_keys().await.unwrap();
    let es = imported.iter().find(|k| k.alg == "ES256").unwrap();
    assert_eq!(kid_of(&t), es.kid, "the imported key signs");
    assert!(keys.join(format!("es256-{created}.pem.imported")).exists());
    assert!(!keys.join(format!("es256-{created}.pem")).exists());
}

/// The signing key is the state's, not the newest file's: a key file named as if it was
/// written a year from now (a clock running fast) signs until the next rotation, and not
/// after it.
#[tokio::test]
async fn a_key_from_the_future_does_not_outlive_a_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    std::fs::create_dir_all(&keys).unwrap();
    let pem = josekit::jws::ES256
        .generate_key_pair()
        .unwrap()
        .to_pem_private_key();
    let future = gatehouse_core::Clock::now(&gatehouse_core::SystemClock) + 365 * 86_400;
    std::fs::write(keys.join(format!("es256-{future}.pem")), &pem).unwrap();
    let app = TestApp::start_with(RawConfig {
        keys_dir: Some(keys),
        key_rotation_lead_time: Some(0),
        ..Default::default()
    })
    .await;
    let svc = robot(&app, "gatehouse:admin reports").await;
    let first = kid_of(&token(&app, &svc, "reports").await);
    let admin = token(&app, &svc, "gatehouse:admin").await;
    let second = rotate(&app, &admin).await["kid"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(first, second);
    assert_eq!(kid_of(&token(&app, &svc, "reports").await), second);
    app.clock.advance(30);
    assert_eq!(kid_of(&token(&app, &svc, "reports").await), second);
}

/// Scheduled rotation: with `key_rotation_interval`, a key older than the interval gets a
/// successor without anyone asking.
#[tokio::test]
async fn keys_rotate_on_schedule() {
    let app = TestApp::start_with(RawConfig {
        key_rotation_interval: Some(86_400),
        key_rotation_lead_time: Some(600),
        ..Default::default()
    })
    .await;
    let before = jwks_kids(&app).await;
    app.clock.advance(86_400);
    let after = jwks_kids(&app).await;
    assert_eq!(
        after.len(),
        before.len() + 2,
        "a next key for each algorithm"
    );
    let svc = robot(&app, "gatehouse:admin reports").await;
    let old = kid_of(&token(&app, &svc, "reports").await);
    assert!(
        before.contains(&old),
        "the old key signs through the lead time"
    );
    app.clock.advance(600);
    let new = kid_of(&token(&app, &svc, "reports").await);
    assert!(!before.contains(&new), "the scheduled key signs after it");
}
