//! When the database is gone the server fails closed: no token, no code, no "fine"; and it
//! recovers by itself when the database returns (RFC 6749 §4.1.2.1 temporarily_unavailable,
//! RFC 7009 §2.2.1; fosite's "no token without a commit").
//!
//! The outage is real: PostgreSQL stops accepting connections to the test database and
//! terminates the open ones. On SQLite runs there is no server to stop, so the test says so
//! and passes trivially; the PostgreSQL pass of `scripts/test` runs it for real.

#![allow(clippy::unwrap_used)]

use gatehouse_tests::*;
use serde_json::Value;

fn outage(base: &str, name: &str, on: bool) {
    let sql = if on {
        format!(
            "ALTER DATABASE {name} ALLOW_CONNECTIONS false; \
             SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
        )
    } else {
        format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true")
    };
    assert!(psql(base, &sql));
}

#[tokio::test]
async fn a_lost_database_fails_closed_and_recovers() {
    let app = TestApp::start().await;
    let Some((base, name)) = app.postgres.clone() else {
        eprintln!("database_outage: needs GATEHOUSE_TEST_POSTGRES; nothing to stop on SQLite");
        return;
    };
    app.create_user("alice").await;
    let client = app.create_client(ClientSpec::default()).await;
    let (verifier, challenge) = pkce_pair();
    let mut browser = app.browser();
    let callback = browser
        .authorize(
            &authorize_url(&app, &code_request(&client, &challenge, "openid")),
            "alice",
        )
        .await;
    let code = query_of(&callback)["code"].clone();
    let earlier = sign_in(&app, &client, "alice", "openid").await;
    let access_token = earlier["access_token"].as_str().unwrap().to_owned();

    outage(&base, &name, true);

    let ready = app
        .http()
        .get(app.url("/health/ready"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 503);

    // The token endpoint issues nothing.
    let (status, body) = exchange_code(&app, &client, &code, Some(&verifier)).await;
    assert!(status >= 500, "{status} {body}");
    assert_eq!(body["error"], "server_error");
    assert!(body.get("access_token").is_none());

    // Userinfo neither accepts nor rejects the token: it cannot know.
    let res = app
        .http()
        .get(app.url("/userinfo"))
        .bearer_auth(&access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 503);

    // Revocation cannot be confirmed: 503, never a 200 that would be a lie (RFC 7009 §2.2.1).
    let res = app
        .http()
        .post(app.url("/revoke"))
        .basic_auth(&client.id, client.secret.as_deref())
        .form(&[("token", access_token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 503);

    // Nor can introspection tell, even for a token naming a key this node has never seen
    // (it would reload the key ring to decide): 503, never "inactive".
    let forged_kid = format!(
        "{}.{}",
        base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            format!(
                r#"{{"alg":"ES256","typ":"at+jwt","kid":"{}"}}"#,
                "k".repeat(43)
            )
        ),
        access_token.split_once('.').unwrap().1
    );
    for token in [access_token.as_str(), forged_kid.as_str()] {
        for endpoint in ["/introspect", "/revoke"] {
            let res = app
                .http()
                .post(app.url(endpoint))
                .basic_auth(&client.id, client.secret.as_deref())
                .form(&[("token", token)])
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 503, "{endpoint}");
        }
    }

    // The authorization endpoint cannot look up the client: an error page, no redirect.
    let page = browser
        .get(&authorize_url(
            &app,
            &code_request(&client, &challenge, "openid"),
        ))
        .await;
    assert_eq!(page.status, 503);
    assert!(page.location.is_none());

    // Nor can the sign-in pages read the session: the 503 page, with the issuer's links and
    // the security headers, never a page that acts as if nobody were signed in.
    // The console reads the session too: the same 503 page, never the sign-in redirect.
    for path in ["/", "/login", "/device", "/admin", "/admin/users"] {
        let page = browser.get(path).await;
        assert_eq!(page.status, 503, "{path}");
        assert!(page.body.contains("Temporarily unavailable"), "{path}");
        assert!(
            page.body
                .contains(&format!("{}/static/gatehouse.css", app.url(""))),
            "{path}"
        );
        assert_eq!(page.headers["x-frame-options"], "DENY", "{path}");
    }

    outage(&base, &name, false);

    // Back without a restart, and the code that could not be spent still works once.
    let ready = app
        .http()
        .get(app.url("/health/ready"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    let (status, body) = exchange_code(&app, &client, &code, Some(&verifier)).await;
    assert_eq!(status, 200, "{body}");
    let _: Value = body;
}
