//! The authorization endpoint's validation, probed as an attacker would (RFC 6749 §3.1.2,
//! §4.1.2.1; RFC 9700 §2.1, §4.11; RFC 8252 §7.3; RFC 7636; RFC 9207).

#![allow(clippy::unwrap_used)]

use gatehouse_core::{ApplicationType, ClientAuthMethod};
use gatehouse_tests::*;

const REGISTERED: &str = "https://c.example/cb";

async fn app_with_client() -> (TestApp, TestClient) {
    let app = TestApp::start().await;
    let client = app
        .create_client(ClientSpec {
            redirect_uris: vec![REGISTERED.into()],
            ..ClientSpec::default()
        })
        .await;
    (app, client)
}

/// An error page: 400 HTML from the server itself, and no redirect anywhere.
fn assert_error_page(page: &Page, what: &str) {
    assert_eq!(page.status, 400, "{what}: {}", page.body);
    assert!(page.location.is_none(), "{what} must not redirect");
    assert!(
        page.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"),
        "{what}"
    );
}

fn assert_redirect_error(page: &Page, to: &str, error: &str, state: Option<&str>, issuer: &str) {
    assert_eq!(page.status, 303, "{}", page.body);
    let loc = page.location.as_deref().expect("Location");
    assert!(loc.starts_with(to), "{loc}");
    let q = query_of(loc);
    assert_eq!(q.get("error").map(String::as_str), Some(error), "{loc}");
    assert_eq!(q.get("state").map(String::as_str), state, "{loc}");
    assert_eq!(q.get("iss").map(String::as_str), Some(issuer), "{loc}");
    assert!(!q.contains_key("code"));
}

#[tokio::test]
async fn unregistered_redirect_uri_variants_get_an_error_page_without_location() {
    let (app, client) = app_with_client().await;
    let (_, challenge) = pkce_pair();
    for variant in [
        "https://c.example/cb/",
        "https://c.example:443/cb",
        "https://C.EXAMPLE/cb",
        "https://c.example/cb?x=1",
        "https://c.example/cb#f",
        "https://c.example/cb/..%2f",
        "https://c.example@evil.example/cb",
        "https://c.example.evil.example/cb",
        "https://evil.example/cb",
        "http://c.example/cb",
        "https://c.example:8443/cb",
    ] {
        let mut pairs = code_request(&client, &challenge, "openid");
        pairs[2] = ("redirect_uri", variant);
        let page = app.browser().get(&authorize_url(&app, &pairs)).await;
        assert_error_page(&page, variant);
    }
}

#[tokio::test]
async fn unknown_client_or_bad_redirect_with_other_errors_never_redirects() {
    let (app, client) = app_with_client().await;
    let mut browser = app.browser();
    let page = browser
        .get(&authorize_url(
            &app,
            &[
                ("response_type", "code"),
                ("client_id", "nope"),
                ("redirect_uri", REGISTERED),
            ],
        ))
        .await;
    assert_error_page(&page, "unknown client");
    let page = browser
        .get(&authorize_url(
            &app,
            &[
                ("response_type", "token"),
                ("client_id", &client.id),
                ("redirect_uri", "https://evil.example/cb"),
                ("scope", "bogus"),
            ],
        ))
        .await;
    assert_error_page(&page, "bad redirect_uri and bad response_type");
    let page = browser
        .get(&authorize_url(&app, &[("response_type", "code")]))
        .await;
    assert_error_page(&page, "missing client_id");
    let page = browser
        .get(&authorize_url(
            &app,
            &[("response_type", "code"), ("client_id", "a\r\nb")],
        ))
        .await;
    assert_error_page(&page, "control characters in client_id");
}

#[tokio::test]
async fn several_registered_uris_and_none_sent_is_an_error_page() {
    let app = TestApp::start().await;
    let client = app
        .create_client(ClientSpec {
            redirect_uris: vec!["https://a.example/cb".into(), "https://b.example/cb".into()],
            ..ClientSpec::default()
        })
        .await;
    let page = app
        .browser()
        .get(&authorize_url(
            &app,
            &[
                ("response_type", "code"),
                ("client_id", &client.id),
                ("scope", "openid"),
            ],
        ))
        .await;
    assert_error_page(&page, "no redirect_uri with several registered");

    // With exactly one registered URI, omitting it is fine (RFC 6749 §3.1.2.3).
    let (app, client) = app_with_client().await;
    let page = app
        .browser()
        .get(&authorize_url(
            &app,
            &[
                ("response_type", "code"),
                ("client_id", &client.id),
                ("scope", "openid"),
            ],
        ))
        .await;
    assert_eq!(page.status, 303);
    assert!(page.location.unwrap().contains("/login?request="));
}

#[tokio::test]
async fn errors_after_the_client_is_known_go_back_with_state_and_iss() {
    let (app, client) = app_with_client().await;
    let (_, challenge) = pkce_pair();
    let mut browser = app.browser();
    for (change, error) in [
        (("response_type", "token"), "unsupported_response_type"),
        (
            ("response_type", "id_token token"),
            "unsupported_response_type",
        ),
        (("scope", "openid admin"), "invalid_scope"),
        (("scope", "openid \"quoted\""), "invalid_scope"),
        (("scope", "openid offline_access"), "invalid_scope"),
        (("prompt", "none login"), "invalid_request"),
        (("max_age", "-1"), "invalid_request"),
        (("response_mode", "fragment"), "invalid_request"),
        (
            ("request", "eyJhbGciOiJub25lIn0.e30."),
            "request_not_supported",
        ),
        (
            ("request_uri", "https://evil.example/req"),
            "request_uri_not_supported",
        ),
        (("id_token_hint", "not-a-jwt"), "invalid_request"),
    ] {
        let mut pairs = code_request(&client, &challenge, "openid");
        match pairs.iter_mut().find(|(k, _)| *k == change.0) {
            Some(p) => p.1 = change.1,
            None => pairs.push(change),
        }
        let page = browser.get(&authorize_url(&app, &pairs)).await;
        assert_redirect_error(&page, REGISTERED, error, Some("st-123"), &app.base);
    }
    // No response_type at all.
    let pairs: Vec<_> = code_request(&client, &challenge, "openid")
        .into_iter()
        .filter(|(k, _)| *k != "response_type")
        .collect();
    let page = browser.get(&authorize_url(&app, &pairs)).await;
    assert_redirect_error(
        &page,
        REGISTERED,
        "invalid_request",
        Some("st-123"),
        &app.base,
    );
}

#[tokio::test]
async fn native_loopback_redirects_may_change_the_port_and_nothing_else() {
    let app = TestApp::start().await;
    let client = app
        .create_client(ClientSpec {
            redirect_uris: vec!["http://127.0.0.1/cb".into()],
            auth_method: ClientAuthMethod::None,
            application_type: ApplicationType::Native,
            ..ClientSpec::default()
        })
        .await;
    let (_, challenge) = pkce_pair();
    let mut browser = app.browser();
    for (uri, ok) in [
        ("http://127.0.0.1:49152/cb", true),
        ("http://127.0.0.1/cb", true),
        ("http://127.0.0.1:49152/cb?x=1", false),
        ("http://127.0.0.1:49152/other", false),
        ("http://localhost:49152/cb", false),
        ("http://127.0.0.2:49152/cb", false),
    ] {
        let mut pairs = code_request(&client, &challenge, "openid");
        pairs[2] = ("redirect_uri", uri);
        let page = browser.get(&authorize_url(&app, &pairs)).await;
        if ok {
            assert_eq!(page.status, 303, "{uri}");
            assert!(page.location.unwrap().contains("/login?"), "{uri}");
        } else {
            assert_error_page(&page, uri);
        }
    }

    // A web client that registered the same loopback URI gets no such latitude.
    let web = app
        .create_client(ClientSpec {
            redirect_uris: vec!["http://127.0.0.1/cb".into()],
            ..ClientSpec::default()
        })
        .await;
    let mut pairs = code_request(&web, &challenge, "openid");
    pairs[2] = ("redirect_uri", "http://127.0.0.1:49152/cb");
    assert_error_page(
        &browser.get(&authorize_url(&app, &pairs)).await,
        "web client port change",
    );
}

#[tokio::test]
async fn duplicated_parameters_are_refused() {
    let (app, client) = app_with_client().await;
    let (_, challenge) = pkce_pair();
    let mut browser = app.browser();
    let base = authorize_url(&app, &code_request(&client, &challenge, "openid"));

    for dup in [
        format!("client_id={}", client.id),
        "redirect_uri=https%3A%2F%2Fevil.example%2Fcb".to_owned(),
        format!(
            "redirect_uri={}",
            url::form_urlencoded::byte_serialize(REGISTERED.as_bytes()).collect::<String>()
        ),
    ] {
        let page = browser.get(&format!("{base}&{dup}")).await;
        assert_error_page(&page, &dup);
    }
    // Other parameters: back to the client with invalid_request; a doubled state is not echoed.
    let page = browser.get(&format!("{base}&state=other")).await;
    assert_redirect_error(&page, REGISTERED, "invalid_request", None, &app.base);
    let page = browser.get(&format!("{base}&scope=openid%20email")).await;
    assert_redirect_error(
        &page,
        REGISTERED,
        "invalid_request",
        Some("st-123"),
        &app.base,
    );

    // Split between the query and a POST body still counts as twice.
    let page = browser.post(&base, &[("scope", "openid")]).await;
    assert_redirect_error(
        &page,
        REGISTERED,
        "invalid_request",
        Some("st-123"),
        &app.base,
    );
}

#[tokio::test]
async fn the_authorization_endpoint_accepts_post() {
    let (app, client) = app_with_client().await;
    let (_, challenge) = pkce_pair();
    let page = app
        .browser()
        .post("/authorize", &code_request(&client, &challenge, "openid"))
        .await;
    assert_eq!(page.status, 303);
    assert!(page.location.unwrap().contains("/login?request="));
}

#[tokio::test]
async fn pkce_rules_at_the_authorization_endpoint() {
    let app = TestApp::start().await;
    let public = app
        .create_client(ClientSpec {
            redirect_uris: vec![REGISTERED.into()],
            auth_method: ClientAuthMethod::None,
            ..ClientSpec::default()
        })
        .await;
    let (_, challenge) = pkce_pair();
    let mut browser = app.browser();
    let without: Vec<_> = code_request(&public, &challenge, "openid")
        .into_iter()
        .filter(|(k, _)| !k.starts_with("code_challenge"))
        .collect();
    let page = browser.get(&authorize_url(&app, &without)).await;
    assert_redirect_error(
        &page,
        REGISTERED,
        "invalid_request",
        Some("st-123"),
        &app.base,
    );

    for (method, ch) in [
        ("plain", challenge.as_str()),
        ("S512", challenge.as_str()),
        ("S256", "too-short"),
    ] {
        let mut pairs = code_request(&public, &challenge, "openid");
        pairs[6] = ("code_challenge", ch);
        pairs[7] = ("code_challenge_method", method);
        let page = browser.get(&authorize_url(&app, &pairs)).await;
        assert_redirect_error(
            &page,
            REGISTERED,
            "invalid_request",
            Some("st-123"),
            &app.base,
        );
    }
    // A challenge without a method means plain (RFC 7636 §4.3), which is refused.
    let no_method: Vec<_> = code_request(&public, &challenge, "openid")
        .into_iter()
        .filter(|(k, _)| *k != "code_challenge_method")
        .collect();
    let page = browser.get(&authorize_url(&app, &no_method)).await;
    assert_redirect_error(
        &page,
        REGISTERED,
        "invalid_request",
        Some("st-123"),
        &app.base,
    );

    // A confidential client may leave PKCE out.
    let confidential = app
        .create_client(ClientSpec {
            redirect_uris: vec![REGISTERED.into()],
            ..ClientSpec::default()
        })
        .await;
    let without: Vec<_> = code_request(&confidential, &challenge, "openid")
        .into_iter()
        .filter(|(k, _)| !k.starts_with("code_challenge"))
        .collect();
    let page = browser.get(&authorize_url(&app, &without)).await;
    assert_eq!(page.status, 303);
    assert!(page.location.unwrap().contains("/login?"));
}

#[tokio::test]
async fn browser_facing_responses_carry_protective_headers_and_no_cors() {
    let (app, client) = app_with_client().await;
    let (_, challenge) = pkce_pair();
    let mut browser = app.browser();
    let first = browser
        .get(&authorize_url(
            &app,
            &code_request(&client, &challenge, "openid"),
        ))
        .await;
    let login = browser.get(first.location.as_deref().unwrap()).await;
    let error = browser
        .get(&authorize_url(&app, &[("client_id", "nope")]))
        .await;
    for page in [&first, &login, &error] {
        let h = &page.headers;
        assert!(h.get("access-control-allow-origin").is_none());
        assert_eq!(h["referrer-policy"], "no-referrer");
        assert_eq!(h["x-frame-options"], "DENY");
        assert!(
            h["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("frame-ancestors 'none'")
        );
        assert_eq!(h["cache-control"], "no-store");
    }
    // No third-party assets: every src/href on the page is on the issuer.
    for attr in ["src=\"", "href=\""] {
        for part in login.body.split(attr).skip(1) {
            let url = part.split('"').next().unwrap();
            assert!(
                url.starts_with(&app.base),
                "{url} is not served by Gatehouse"
            );
        }
    }
    let cookie = login
        .headers
        .get("set-cookie")
        .or(first.headers.get("set-cookie"))
        .expect("session cookie");
    let cookie = cookie.to_str().unwrap();
    for attr in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attr), "{cookie}");
    }
    assert!(!cookie.contains("Domain"), "{cookie}");
}

#[tokio::test]
async fn state_is_echoed_byte_for_byte() {
    let app = TestApp::start().await;
    app.create_user("carol").await;
    let client = app.create_client(ClientSpec::default()).await;
    let (_, challenge) = pkce_pair();
    let state = format!("ünïcødé & = ? / <script>'\"{}", "x".repeat(1500));
    let mut pairs = code_request(&client, &challenge, "openid");
    pairs[4] = ("state", &state);
    let callback = app
        .browser()
        .authorize(&authorize_url(&app, &pairs), "carol")
        .await;
    assert_eq!(query_of(&callback)["state"], state);

    // No state sent, none returned.
    let pairs: Vec<_> = code_request(&client, &challenge, "openid")
        .into_iter()
        .filter(|(k, _)| *k != "state")
        .collect();
    let callback = app
        .browser()
        .authorize(&authorize_url(&app, &pairs), "carol")
        .await;
    assert!(!query_of(&callback).contains_key("state"));
}

#[tokio::test]
async fn oversized_inputs_get_quick_protocol_errors() {
    let (app, client) = app_with_client().await;
    let (_, challenge) = pkce_pair();
    let mut browser = app.browser();
    // Ten thousand scopes: refused without echoing them back.
    let many: String = (0..10_000)
        .map(|i| format!("s{i}"))
        .collect::<Vec<_>>()
        .join(" ");
    let mut pairs = code_request(&client, &challenge, "openid");
    pairs[3] = ("scope", &many);
    let page = browser.get(&authorize_url(&app, &pairs)).await;
    assert_eq!(page.status, 303);
    let loc = page.location.unwrap();
    assert!(
        loc.len() < 4096,
        "the error must not echo the scopes: {}",
        &loc[..300.min(loc.len())]
    );
    assert_eq!(query_of(&loc)["error"], "invalid_scope");
    // A 60 KB state is not echoed either (http::Uri tops out at 64 KB).
    let big = "s".repeat(60_000);
    let mut pairs = code_request(&client, &challenge, "openid");
    pairs[4] = ("state", &big);
    let page = browser.get(&authorize_url(&app, &pairs)).await;
    assert!(
        page.status == 303 || page.status == 414 || page.status == 431,
        "{}",
        page.status
    );
    if let Some(loc) = page.location {
        assert!(loc.len() < 4096);
        assert_eq!(query_of(&loc)["error"], "invalid_request");
    }
}
