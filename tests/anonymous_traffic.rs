//! Anonymous traffic cannot grow the database (the hardening issue, item 3): a browser that
//! has not posted a form costs no row. `GET /authorize`, `/login` and `/signup` write
//! nothing (the pending request travels sealed, bound to the browser's cookie, and the
//! session row is created at the first successful sign-in), and `/device_authorization`
//! is throttled per client and per address, a refused request writing nothing at all.
//! `bench/anonymous_flood.py` runs the same flood at 10,000 requests per kind.

#![allow(clippy::unwrap_used)]

use gatehouse_core::{ApplicationType, ClientAuthMethod, GrantType};
use gatehouse_server::RawConfig;
use gatehouse_tests::*;

async fn total_rows(app: &TestApp) -> (u64, Vec<(&'static str, u64)>) {
    let counts = app.store.row_counts().await.unwrap();
    (counts.iter().map(|(_, n)| n).sum(), counts)
}

async fn flood(app: &TestApp, web: &TestClient, tv: &TestClient, rounds: usize, addresses: usize) {
    let http = app.http();
    for i in 0..rounds {
        let address = format!("198.18.{}.{}", (i % addresses) / 256, (i % addresses) % 256);
        let (_, challenge) = pkce_pair();
        let url = authorize_url(app, &code_request(web, &challenge, "openid"));
        let res = http
            .get(&url)
            .header("x-forwarded-for", &address)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303);
        let login = res.headers()["location"].to_str().unwrap().to_owned();
        assert!(login.contains("/login?request="), "{login}");
        let res = http
            .get(&login)
            .header("x-forwarded-for", &address)
            .send()
            .await
            .unwrap();
        assert_eq!(
            res.status(),
            400,
            "the sealed request is bound to a cookie the flood never kept"
        );
        for path in ["/login", "/signup"] {
            let res = http
                .get(app.url(path))
                .header("x-forwarded-for", &address)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200, "{path}");
        }
        let res = http
            .post(app.url("/device_authorization"))
            .header("x-forwarded-for", &address)
            .form(&[("client_id", tv.id.as_str()), ("scope", "openid")])
            .send()
            .await
            .unwrap();
        assert!(
            matches!(res.status().as_u16(), 200 | 429),
            "{}",
            res.status()
        );
    }
}

async fn setup() -> (TestApp, TestClient, TestClient) {
    let app = TestApp::start_with(RawConfig {
        trusted_proxies: Some(vec!["127.0.0.1".into()]),
        signup: Some(true),
        ..Default::default()
    })
    .await;
    app.create_user("alice").await;
    let web = app.create_client(ClientSpec::default()).await;
    let tv = app
        .create_client(ClientSpec {
            name: "TV".into(),
            redirect_uris: vec![],
            auth_method: ClientAuthMethod::None,
            application_type: ApplicationType::Native,
            grant_types: vec![GrantType::DeviceCode],
            ..ClientSpec::default()
        })
        .await;
    (app, web, tv)
}

#[tokio::test]
async fn anonymous_requests_from_one_address_add_almost_no_rows() {
    let (app, web, tv) = setup().await;
    let (before, _) = total_rows(&app).await;
    flood(&app, &web, &tv, 300, 1).await;
    let (after, counts) = total_rows(&app).await;
    eprintln!(
        "300 rounds from one address: {} rows added ({counts:?})",
        after - before
    );
    // The device requests allowed to the address (10) and their two counters.
    assert!(
        after - before <= 12,
        "{} rows added: {counts:?}",
        after - before
    );
    let rows: std::collections::HashMap<_, _> = counts.into_iter().collect();
    assert_eq!(rows["sessions"], 0);
    assert_eq!(rows["authorization_requests"], 0);

    // A real sign-in still works, and only it writes its session and request.
    let mut browser = app.browser().from_address("203.0.113.1");
    let (verifier, challenge) = pkce_pair();
    let callback = browser
        .authorize(
            &authorize_url(&app, &code_request(&web, &challenge, "openid")),
            "alice",
        )
        .await;
    let (status, _) =
        exchange_code(&app, &web, &query_of(&callback)["code"], Some(&verifier)).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn anonymous_requests_from_many_addresses_add_a_bounded_number_of_rows() {
    let (app, web, tv) = setup().await;
    let (before, _) = total_rows(&app).await;
    flood(&app, &web, &tv, 300, 300).await;
    let (after, counts) = total_rows(&app).await;
    eprintln!(
        "300 rounds from 300 addresses: {} rows added ({counts:?})",
        after - before
    );
    // The client's allowance (30 device requests), one counter per address that got one
    // in, and the client's counter: the rest of the flood is refused before any write.
    assert!(
        after - before <= 61,
        "{} rows added: {counts:?}",
        after - before
    );
    // The device flow still answers, after the client's rate step.
    app.clock.advance(6);
    let res = app
        .http()
        .post(app.url("/device_authorization"))
        .header("x-forwarded-for", "203.0.113.2")
        .form(&[("client_id", tv.id.as_str()), ("scope", "openid")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

/// A sealed pending request works only in the browser that started it, and only until it
/// expires; it cannot be read, and a changed one is refused.
#[tokio::test]
async fn a_sealed_request_belongs_to_its_browser_and_its_time() {
    let (app, web, _) = setup().await;
    let mut browser = app.browser();
    let (_, challenge) = pkce_pair();
    let page = browser
        .get(&authorize_url(
            &app,
            &code_request(&web, &challenge, "openid"),
        ))
        .await;
    let login = page.location.unwrap();
    let sealed = query_of(&login)["request"].clone();
    assert!(!sealed.contains(&web.id), "the request is encrypted");
    assert_eq!(browser.get(&login).await.status, 200);
    // Another browser cannot use it.
    let mut other = app.browser();
    assert_eq!(other.get(&login).await.status, 400);
    // A tampered one is refused.
    let mut tampered = sealed.clone();
    tampered.replace_range(sealed.len() - 4.., "AAAA");
    let url = login.replace(&sealed, &tampered);
    assert_eq!(browser.get(&url).await.status, 400);
    // It expires with the pending request's lifetime (30 minutes).
    app.clock.advance(30 * 60 + 1);
    assert_eq!(browser.get(&login).await.status, 400);
}
