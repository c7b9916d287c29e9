//! Sign-in, sessions and CSRF (RFC 6749 §10.12; ASVS 6.3, 7.2.4; OIDC Core §3.1.2.1).

#![allow(clippy::unwrap_used)]

use gatehouse_tests::*;
use serde_json::Value;

const COOKIE: &str = "gatehouse-session";

/// Starts an authorization request and returns the login page URL it leads to.
async fn start(
    app: &TestApp,
    browser: &mut Browser,
    client: &TestClient,
    extra: &[(&str, &str)],
) -> String {
    let (_, challenge) = pkce_pair();
    let mut pairs = code_request(client, &challenge, "openid");
    pairs.extend_from_slice(extra);
    let page = browser.get(&authorize_url(app, &pairs)).await;
    page.location.expect("redirect to login")
}

async fn setup() -> (TestApp, TestClient) {
    let app = TestApp::start().await;
    app.create_user("alice").await;
    let client = app.create_client(ClientSpec::default()).await;
    (app, client)
}

fn auth_time(tokens: &Value) -> i64 {
    use base64::Engine;
    let payload = tokens["id_token"]
        .as_str()
        .unwrap()
        .split('.')
        .nth(1)
        .unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice::<Value>(&bytes).unwrap()["auth_time"]
        .as_i64()
        .unwrap()
}

#[tokio::test]
async fn the_session_id_and_csrf_token_change_at_login() {
    let (app, client) = setup().await;
    let mut browser = app.browser();
    let login_url = start(&app, &mut browser, &client, &[]).await;
    let page = browser.get(&login_url).await;
    let before = browser.cookies[COOKIE].clone();
    let csrf_before = input_value(&page.body, "csrf_token").unwrap();

    let done = browser.login(&login_url, "alice", PASSWORD).await;
    assert_eq!(
        done.status, 303,
        "RFC 9700 §4.12: 303 after POSTed credentials"
    );
    let after = browser.cookies[COOKIE].clone();
    assert_ne!(before, after, "session fixation: the id must change");

    // The pre-login cookie is worth nothing now.
    let mut attacker = app.browser();
    attacker.cookies.insert(COOKIE.into(), before);
    let home = attacker.get("/").await;
    assert!(!home.body.contains("Signed in as"), "{}", home.body);
    let mut victim = app.browser();
    victim.cookies.insert(COOKIE.into(), after);
    let home = victim.get("/").await;
    assert!(
        home.body.contains("Signed in as <strong>alice</strong>"),
        "{}",
        home.body
    );

    // The old CSRF token no longer works either.
    let login = victim.get("/login").await;
    assert_ne!(input_value(&login.body, "csrf_token").unwrap(), csrf_before);
    let res = victim
        .post(
            "/login",
            &[
                ("csrf_token", &csrf_before),
                ("username", "alice"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(res.status, 403);
}

#[tokio::test]
async fn login_and_consent_forms_need_this_sessions_csrf_token() {
    let (app, client) = setup().await;
    let mut browser = app.browser();
    let login_url = start(&app, &mut browser, &client, &[]).await;
    let page = browser.get(&login_url).await;
    let request = input_value(&page.body, "request").unwrap();

    let mut other = app.browser();
    let other_page = other.get("/login").await;
    let foreign = input_value(&other_page.body, "csrf_token").unwrap();

    for csrf in [None, Some("forged-token-value"), Some(foreign.as_str())] {
        let mut form = vec![
            ("username", "alice"),
            ("password", PASSWORD),
            ("request", request.as_str()),
        ];
        if let Some(c) = csrf {
            form.push(("csrf_token", c));
        }
        let res = browser.post("/login", &form).await;
        assert_eq!(res.status, 403, "{csrf:?}");
        assert!(res.location.is_none());
    }

    // Consent: same rule, and no code is issued.
    let done = browser.login(&login_url, "alice", PASSWORD).await;
    let cont = browser.get(done.location.as_deref().unwrap()).await;
    let consent_url = cont.location.unwrap();
    assert!(consent_url.contains("/consent?"));
    let page = browser.get(&consent_url).await;
    let request = input_value(&page.body, "request").unwrap();
    for csrf in [None, Some("forged"), Some(foreign.as_str())] {
        let mut form = vec![("decision", "allow"), ("request", request.as_str())];
        if let Some(c) = csrf {
            form.push(("csrf_token", c));
        }
        let res = browser.post("/consent", &form).await;
        assert_eq!(res.status, 403, "{csrf:?}");
        assert!(res.location.is_none());
    }
}

#[tokio::test]
async fn unknown_user_and_wrong_password_look_the_same() {
    let (app, client) = setup().await;
    let mut browser = app.browser();
    let login_url = start(&app, &mut browser, &client, &[]).await;
    let wrong = browser.login(&login_url, "alice", "not the password").await;
    let unknown = browser
        .login(&login_url, "mallory", "not the password")
        .await;
    assert_eq!(wrong.status, 401);
    assert_eq!(unknown.status, wrong.status);
    assert_eq!(
        wrong.body.replace("alice", "USER"),
        unknown.body.replace("mallory", "USER")
    );
    assert!(
        wrong.headers.get("set-cookie").is_none() && unknown.headers.get("set-cookie").is_none()
    );
    assert!(wrong.body.contains("Wrong username or password."));
}

#[tokio::test]
async fn failed_logins_are_throttled_per_account_and_the_lock_expires() {
    let (app, client) = setup().await;
    let mut browser = app.browser();
    let login_url = start(&app, &mut browser, &client, &[]).await;
    // The fifth wrong guess is still answered as wrong; it locks the attempts after it.
    for attempt in 1..=5 {
        let page = browser.login(&login_url, "alice", "guess").await;
        assert_eq!(page.status, 401, "attempt {attempt}");
    }
    let locked = browser.login(&login_url, "alice", "guess").await;
    assert_eq!(locked.status, 429);
    let retry: i64 = locked.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry > 0);
    // While locked even the right password is refused, exactly like a wrong one.
    let page = browser.login(&login_url, "alice", PASSWORD).await;
    assert_eq!(page.status, 429);

    // The lock expires by itself.
    app.clock.advance(retry);
    let page = browser.login(&login_url, "alice", PASSWORD).await;
    assert_eq!(page.status, 303, "{}", page.body);
}

#[tokio::test]
async fn failed_logins_are_throttled_per_client_address() {
    let (app, client) = setup().await;
    let mut browser = app.browser();
    let login_url = start(&app, &mut browser, &client, &[]).await;
    // Each account stays under its own limit; the address as a whole does not.
    for i in 0..20 {
        let page = browser
            .login(&login_url, &format!("nobody{i}"), "guess")
            .await;
        assert_eq!(page.status, 401, "attempt {i}");
    }
    let page = browser.login(&login_url, "nobody-else", "guess").await;
    assert_eq!(
        page.status, 429,
        "the twentieth failure from one address locks it"
    );
    let page = browser.login(&login_url, "alice", PASSWORD).await;
    assert_eq!(
        page.status, 429,
        "a locked address is refused even with the right password"
    );
}

#[tokio::test]
async fn long_unicode_passwords_are_accepted_unchanged() {
    let app = TestApp::start().await;
    let client = app.create_client(ClientSpec::default()).await;
    let password = "pässwörd-🦀-".repeat(8);
    let hash = gatehouse_authorize::password::hash_async(password.clone())
        .await
        .unwrap();
    assert!(hash.starts_with("$argon2id$"));
    app.store
        .create_user(
            gatehouse_storage::NewUser {
                id: "unicode-user",
                username: "zoë",
                password_hash: &hash,
                email: None,
                name: None,
                roles: &[],
            },
            app.now(),
            &test_audit("user.create"),
        )
        .await
        .unwrap();
    let mut browser = app.browser();
    let login_url = start(&app, &mut browser, &client, &[]).await;
    let page = browser.login(&login_url, "zoë", &password).await;
    assert_eq!(page.status, 303, "{}", page.body);
    let mut other = app.browser();
    let login_url = start(&app, &mut other, &client, &[]).await;
    let page = other
        .login(&login_url, "zoë", password.trim_end_matches('-'))
        .await;
    assert_eq!(page.status, 401);
}

#[tokio::test]
async fn prompt_login_and_max_age_force_a_fresh_sign_in() {
    let (app, client) = setup().await;
    let mut browser = app.browser();
    let (verifier, challenge) = pkce_pair();
    let callback = browser
        .authorize(
            &authorize_url(&app, &code_request(&client, &challenge, "openid")),
            "alice",
        )
        .await;
    let (_, first) =
        exchange_code(&app, &client, &query_of(&callback)["code"], Some(&verifier)).await;
    let first_auth = auth_time(&first);

    // With a session and consent, a plain request goes straight back with a code.
    app.clock.advance(120);
    let (verifier, challenge) = pkce_pair();
    let page = browser
        .get(&authorize_url(
            &app,
            &code_request(&client, &challenge, "openid"),
        ))
        .await;
    let loc = page.location.unwrap();
    assert!(loc.starts_with(&client.redirect_uri), "{loc}");
    let (_, tokens) = exchange_code(&app, &client, &query_of(&loc)["code"], Some(&verifier)).await;
    assert_eq!(
        auth_time(&tokens),
        first_auth,
        "no re-authentication, same auth_time"
    );

    for extra in [("prompt", "login"), ("max_age", "60")] {
        app.clock.advance(120);
        let (verifier, challenge) = pkce_pair();
        let mut pairs = code_request(&client, &challenge, "openid");
        pairs.push(extra);
        let page = browser.get(&authorize_url(&app, &pairs)).await;
        let loc = page.location.unwrap();
        assert!(
            loc.contains("/login?"),
            "{extra:?} must ask for the password: {loc}"
        );
        let callback = browser
            .authorize(&authorize_url(&app, &pairs), "alice")
            .await;
        let (_, tokens) =
            exchange_code(&app, &client, &query_of(&callback)["code"], Some(&verifier)).await;
        assert_eq!(auth_time(&tokens), app.now(), "{extra:?} moves auth_time");
    }
}

#[tokio::test]
async fn disabled_or_deleted_sessions_are_not_trusted() {
    let (app, client) = setup().await;
    let mut browser = app.browser();
    browser
        .authorize(
            &authorize_url(&app, &code_request(&client, &pkce_pair().1, "openid")),
            "alice",
        )
        .await;
    // A session past its lifetime counts as none.
    app.clock.advance(12 * 3600 + 1);
    let page = browser
        .get(&authorize_url(
            &app,
            &code_request(&client, &pkce_pair().1, "openid"),
        ))
        .await;
    assert!(page.location.unwrap().contains("/login?"));
}

/// Logs in through `browser` with an X-Forwarded-For header.
async fn login_via(
    app: &TestApp,
    browser: &mut Browser,
    forwarded_for: &str,
    username: &str,
    password: &str,
) -> u16 {
    let page = browser.get("/login").await;
    let csrf = input_value(&page.body, "csrf_token").unwrap();
    let res = app
        .http()
        .post(app.url("/login"))
        .header(
            "cookie",
            format!("gatehouse-session={}", browser.cookies[COOKIE]),
        )
        .header("x-forwarded-for", forwarded_for)
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("username", username),
            ("password", password),
        ])
        .send()
        .await
        .unwrap();
    res.status().as_u16()
}

#[tokio::test]
async fn forged_forwarded_for_headers_do_not_dodge_the_address_limit() {
    let (app, _) = setup().await;
    let mut browser = app.browser();
    for i in 0..20 {
        let status = login_via(
            &app,
            &mut browser,
            &format!("198.51.100.{i}"),
            &format!("n{i}"),
            "guess",
        )
        .await;
        assert_eq!(status, 401);
    }
    let status = login_via(&app, &mut browser, "198.51.100.200", "n-last", "guess").await;
    assert_eq!(
        status, 429,
        "X-Forwarded-For from an untrusted peer is ignored"
    );
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_client_address_counts_alone() {
    let app = TestApp::start_with(gatehouse_server::RawConfig {
        trusted_proxies: Some(vec!["127.0.0.1".into()]),
        ..Default::default()
    })
    .await;
    app.create_user("alice").await;
    let mut browser = app.browser();
    for i in 0..20 {
        let status = login_via(&app, &mut browser, "203.0.113.9", &format!("n{i}"), "guess").await;
        assert_eq!(status, 401);
    }
    assert_eq!(
        login_via(&app, &mut browser, "203.0.113.9", "n-last", "guess").await,
        429
    );
    // Another user behind the same proxy is not affected.
    assert_eq!(
        login_via(&app, &mut browser, "203.0.113.10", "alice", PASSWORD).await,
        303
    );
}

/// Security review finding: the throttle was checked before hashing and counted after, so a
/// burst of parallel guesses all got through. Attempts are now counted first.
#[tokio::test]
async fn a_burst_of_parallel_guesses_is_counted_one_by_one() {
    let (app, client) = setup().await;
    let mut browser = app.browser();
    let login_url = start(&app, &mut browser, &client, &[]).await;
    let page = browser.get(&login_url).await;
    let csrf = input_value(&page.body, "csrf_token").unwrap();
    let cookie = format!("{COOKIE}={}", browser.cookies[COOKIE]);
    let mut tasks = Vec::new();
    for i in 0..12 {
        let (http, url, csrf, cookie) =
            (app.http(), app.url("/login"), csrf.clone(), cookie.clone());
        tasks.push(tokio::spawn(async move {
            let res = http
                .post(url)
                .header("cookie", cookie)
                .form(&[
                    ("csrf_token", csrf.as_str()),
                    ("username", "alice"),
                    ("password", &format!("guess {i}")),
                ])
                .send()
                .await
                .unwrap();
            res.status().as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    statuses.sort();
    let wrong = statuses.iter().filter(|s| **s == 401).count();
    let limited = statuses.iter().filter(|s| **s == 429).count();
    // At most the five free guesses are checked; the rest are refused (locked, or turned
    // away because likely guesses may not queue for the hashing slots).
    assert!((1..=5).contains(&wrong), "{statuses:?}");
    assert_eq!(wrong + limited, 12, "{statuses:?}");
}
