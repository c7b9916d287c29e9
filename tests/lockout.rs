//! Lockout that an attacker cannot turn against the owner (RFC 6819 §5.1.4.2.3; ASVS 6.3.1;
//! OWASP Authentication Cheat Sheet): guessing is slowed per account and address, per
//! address, and per account from everywhere, but the owner always gets in from a browser
//! that signed in before, or from an address that has not failed. Time is the test's clock;
//! addresses are `X-Forwarded-For` values from the trusted loopback proxy.

#![allow(clippy::unwrap_used)]

use gatehouse_server::RawConfig;
use gatehouse_tests::*;

async fn start() -> TestApp {
    let app = TestApp::start_with(RawConfig {
        trusted_proxies: Some(vec!["127.0.0.1".into()]),
        ..Default::default()
    })
    .await;
    app.create_user("admin").await;
    app.create_user("alice").await;
    app
}

/// One password attempt on the login form, as the browser's address and cookies say.
async fn attempt(browser: &mut Browser, username: &str, password: &str) -> Page {
    let page = browser.get("/login").await;
    let csrf = input_value(&page.body, "csrf_token").unwrap();
    browser
        .post(
            "/login",
            &[
                ("csrf_token", csrf.as_str()),
                ("username", username),
                ("password", password),
            ],
        )
        .await
}

fn retry_after(page: &Page) -> i64 {
    page.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// The owner signs in, then signs out again (the known-device cookie stays).
async fn owner_signs_in(browser: &mut Browser, label: &str) {
    let page = attempt(browser, "admin", PASSWORD).await;
    assert_eq!(page.status, 303, "{label}: {}", page.body);
    browser.cookies.remove("gatehouse-session");
}

/// The simulation: an attacker guesses the administrator's password once a second
/// for an hour from one address. The owner signs in every minute, from a browser that has
/// signed in before (on the attacker's very address, say behind the same NAT) and from an
/// address that has never failed; every one of those sign-ins succeeds at once, and the
/// attacker's guesses that are even checked stay far below a hundred.
#[tokio::test]
async fn an_attacker_guessing_for_an_hour_cannot_lock_the_owner_out() {
    let app = start().await;
    let mut known = app.browser().from_address("192.0.2.66");
    owner_signs_in(&mut known, "first sign-in").await;
    assert!(known.cookies.contains_key("gatehouse-device"));
    let mut fresh = app.browser().from_address("203.0.113.77");
    let mut attacker = app.browser().from_address("192.0.2.66");

    let (mut checked, mut refused) = (0, 0);
    for second in 0..3600 {
        if second % 600 == 0 {
            // The attacker keeps a live session to post the form from.
            attacker.cookies.clear();
        }
        let page = attempt(&mut attacker, "admin", &format!("guess {second}")).await;
        match page.status {
            401 => checked += 1,
            429 => {
                refused += 1;
                assert!(retry_after(&page) <= 15 * 60, "locks are bounded");
            }
            other => panic!("second {second}: unexpected {other}: {}", page.body),
        }
        if second % 60 == 30 {
            owner_signs_in(&mut known, &format!("known device at {second}")).await;
            owner_signs_in(&mut fresh, &format!("fresh address at {second}")).await;
        }
        app.clock.advance(1);
    }
    eprintln!("one address, one guess a second for an hour: {checked} checked, {refused} refused");
    // 5 free guesses, then locks doubling to 15 minutes while the count drains by one
    // every 12 minutes: about a dozen checked guesses in the hour.
    assert!(checked <= 20, "{checked} guesses were checked in an hour");
    assert_eq!(checked + refused, 3600);
}

/// Password spraying: a guess a second at one account for an hour, each from a new
/// address. The account-wide rate lets about a hundred of them be checked, no more; the
/// owner's known browser signs in every minute throughout, and the owner from a fresh
/// address is at worst asked to wait one rate step.
#[tokio::test]
async fn spraying_from_many_addresses_is_held_to_about_a_hundred_guesses_an_hour() {
    let app = start().await;
    let mut known = app.browser().from_address("198.51.100.1");
    owner_signs_in(&mut known, "first sign-in").await;
    let mut attacker = app.browser();
    let mut checked = 0;
    for second in 0..3600u32 {
        if second % 600 == 0 {
            attacker.cookies.clear();
        }
        attacker.forwarded_for = Some(format!(
            "10.{}.{}.{}",
            second >> 16,
            (second >> 8) & 255,
            second & 255
        ));
        let page = attempt(&mut attacker, "admin", &format!("guess {second}")).await;
        match page.status {
            401 => checked += 1,
            429 => assert!(
                retry_after(&page) <= 40,
                "the account-wide rate never locks"
            ),
            other => panic!("second {second}: unexpected {other}"),
        }
        if second % 60 == 30 {
            owner_signs_in(&mut known, &format!("known device at {second}")).await;
            let mut fresh = app
                .browser()
                .from_address(&format!("203.0.113.{}", second / 60));
            let page = attempt(&mut fresh, "admin", PASSWORD).await;
            if page.status == 429 {
                assert!(retry_after(&page) <= 40, "{}", page.body);
            } else {
                assert_eq!(page.status, 303, "{}", page.body);
            }
        }
        app.clock.advance(1);
    }
    eprintln!("3,600 addresses, one guess a second for an hour: {checked} checked");
    assert!(
        (90..=101).contains(&checked),
        "{checked} sprayed guesses were checked in an hour"
    );
}

/// A locked account, an unknown one and an existing one answer alike: same statuses, same
/// page, same `Retry-After`, so the throttle tells nobody which accounts exist.
#[tokio::test]
async fn locked_unknown_and_existing_accounts_answer_alike() {
    let app = start().await;
    let mut seen = Vec::new();
    for (name, address) in [("alice", "192.0.2.1"), ("nobody", "192.0.2.2")] {
        let mut browser = app.browser().from_address(address);
        let mut answers = Vec::new();
        for _ in 0..7 {
            let page = attempt(&mut browser, name, "wrong password").await;
            let retry = page
                .headers
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_owned());
            let csrf = input_value(&page.body, "csrf_token").unwrap_or_default();
            let body = page.body.replace(name, "NAME").replace(&csrf, "CSRF");
            answers.push((page.status, retry, body));
        }
        // The right password of a locked account is refused like any guess.
        if name == "alice" {
            let page = attempt(&mut browser, "alice", PASSWORD).await;
            assert_eq!(page.status, 429);
        }
        seen.push(answers);
    }
    let statuses: Vec<u16> = seen[0].iter().map(|a| a.0).collect();
    assert_eq!(statuses, [401, 401, 401, 401, 401, 429, 429]);
    assert_eq!(seen[0], seen[1]);
}

/// A known-device cookie counts only for the account that earned it, and only if the
/// server signed it.
#[tokio::test]
async fn a_known_device_cookie_is_bound_to_its_account_and_cannot_be_forged() {
    let app = start().await;
    let mut browser = app.browser().from_address("192.0.2.10");
    let page = attempt(&mut browser, "alice", PASSWORD).await;
    assert_eq!(page.status, 303);
    browser.cookies.remove("gatehouse-session");
    // Alice's device cookie does not exempt guesses at the administrator.
    for _ in 0..5 {
        assert_eq!(attempt(&mut browser, "admin", "guess").await.status, 401);
    }
    assert_eq!(attempt(&mut browser, "admin", "guess").await.status, 429);
    // Nor does a cookie the server did not sign, or one with its payload changed.
    let real = browser.cookies["gatehouse-device"].clone();
    let mut parts: Vec<&str> = real.split('.').collect();
    let forged_payload = {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mut claims = jwt_payload(&real);
        let admin = app
            .store
            .find_user_by_username("admin")
            .await
            .unwrap()
            .unwrap();
        claims["sub"] = admin.id.into();
        b64.encode(serde_json::to_vec(&claims).unwrap())
    };
    parts[1] = &forged_payload;
    browser
        .cookies
        .insert("gatehouse-device".into(), parts.join("."));
    let page = attempt(&mut browser, "admin", PASSWORD).await;
    assert_eq!(
        page.status, 429,
        "a forged device cookie is no device cookie"
    );
}

/// Every per-address limit groups IPv6 by /64: a subscriber's 2^64 addresses are one.
#[tokio::test]
async fn ipv6_addresses_of_one_64_share_an_allowance() {
    let app = start().await;
    for i in 1..=20 {
        let mut b = app.browser().from_address(&format!("2001:db8:0:7::{i:x}"));
        assert_eq!(attempt(&mut b, &format!("n{i}"), "guess").await.status, 401);
    }
    let mut b = app.browser().from_address("2001:db8:0:7:ffff::1");
    assert_eq!(attempt(&mut b, "n-last", "guess").await.status, 429);
    let mut neighbour = app.browser().from_address("2001:db8:0:8::1");
    assert_eq!(attempt(&mut neighbour, "alice", PASSWORD).await.status, 303);
}

/// Throttle keys are stored as digests (a 64 KiB username is not a 64 KiB key), a name that
/// cannot exist is counted only against the address, and drained counters are pruned.
#[tokio::test]
async fn throttle_rows_are_small_and_pruned() {
    let app = start().await;
    let long = "x".repeat(60 * 1024);
    let mut b = app.browser().from_address("192.0.2.30");
    let page = attempt(&mut b, &long, "guess").await;
    assert_eq!(page.status, 401);
    assert!(!page.body.contains(&long[..300]), "the name is not echoed");
    assert_eq!(
        app.store.count_throttle_rows().await.unwrap(),
        1,
        "only the address was counted"
    );
    let marker = "needle-user-name";
    assert_eq!(attempt(&mut b, marker, "guess").await.status, 401);
    assert_eq!(app.store.count_throttle_rows().await.unwrap(), 3);
    if app.postgres.is_none() {
        let db = app.database_path().unwrap();
        for file in ["gatehouse.db", "gatehouse.db-wal"] {
            let bytes = std::fs::read(db.with_file_name(file)).unwrap_or_default();
            assert!(
                !bytes.windows(marker.len()).any(|w| w == marker.as_bytes()),
                "{file} holds a username in a throttle key"
            );
        }
    }
    // Nothing is pruned while a counter still holds a failure; all is, once drained.
    assert_eq!(app.store.prune_throttle(app.now()).await.unwrap(), 0);
    app.clock.advance(3600);
    assert_eq!(app.store.prune_throttle(app.now()).await.unwrap(), 3);
    assert_eq!(app.store.count_throttle_rows().await.unwrap(), 0);
}

/// A flood of guesses at unknown accounts from many addresses cannot make a real user wait:
/// likely guesses get a bounded share of the hashing slots and are turned away at once with
/// 429 when it is full, never with 503 after a wait, while the owner's sign-in goes through.
#[tokio::test]
async fn a_hashing_flood_does_not_starve_real_sign_ins() {
    let app = start().await;
    let mut tasks = Vec::new();
    for i in 0..40 {
        let base = app.base.clone();
        tasks.push(tokio::spawn(async move {
            let mut b = Browser::new(&base).from_address(&format!("198.18.0.{i}"));
            let page = attempt(&mut b, &format!("ghost{i}"), "guess").await;
            page.status
        }));
    }
    let mut owner = app.browser().from_address("203.0.113.5");
    let page = attempt(&mut owner, "admin", PASSWORD).await;
    assert_eq!(page.status, 303, "{}", page.body);
    for t in tasks {
        let status = t.await.unwrap();
        assert!(status == 401 || status == 429, "{status}");
    }
}
