//! The admin console (`/admin`) over HTTP: every page and form refused to anyone but an
//! administrator with this session's CSRF token; the main paths work on both databases.
//! (The same paths in a real browser: tests/browser/admin.test.mjs.)

#![allow(clippy::unwrap_used)]

use gatehouse_tests::*;
use serde_json::json;

async fn signed_in(app: &TestApp, username: &str) -> Browser {
    let mut browser = app.browser();
    let page = browser.login("/login?next=admin", username, PASSWORD).await;
    assert_eq!(page.status, 303, "{}", page.body);
    browser
}

async fn make_admin(app: &TestApp, username: &str) -> String {
    let id = app.create_user(username).await;
    app.store
        .assign_role(
            "admin",
            gatehouse_core::SubjectKind::User,
            &id,
            &test_audit("role.assign"),
            app.now(),
        )
        .await
        .unwrap();
    id
}

fn concrete(path: &str) -> String {
    path.split('/')
        .map(|s| if s.starts_with('{') { "x" } else { s })
        .collect::<Vec<_>>()
        .join("/")
}

async fn audit_count(app: &TestApp) -> u64 {
    app.store
        .list_audit(&gatehouse_core::Query {
            search: None,
            offset: 0,
            limit: 1,
        })
        .await
        .unwrap()
        .total
}

#[tokio::test]
async fn every_console_route_refuses_anyone_but_an_administrator() {
    let app = TestApp::start().await;
    make_admin(&app, "root").await;
    app.create_user("bob").await;
    let mut bob = signed_in(&app, "bob").await;
    let mut root = signed_in(&app, "root").await;
    let paths = gatehouse_admin::console::paths();
    assert!(paths.len() >= 30, "{}", paths.len());
    let before = audit_count(&app).await;
    for (method, path) in &paths {
        let url = concrete(path);
        let post = method.as_str() == "POST";
        // Anonymous: sent to sign in, back to the console afterwards.
        let mut anon = app.browser();
        let page = if post {
            anon.post(&url, &[("csrf_token", "x")]).await
        } else {
            anon.get(&url).await
        };
        assert_eq!(page.status, 303, "{method} {url}");
        assert_eq!(
            page.location.as_deref(),
            Some(app.url("/login?next=admin").as_str())
        );
        // A signed-in user without the role: 403, even with their own CSRF token.
        let csrf = input_value(&bob.get("/login").await.body, "csrf_token").unwrap();
        let page = if post {
            bob.post(&url, &[("csrf_token", &csrf)]).await
        } else {
            bob.get(&url).await
        };
        assert_eq!(page.status, 403, "{method} {url}");
        assert!(page.body.contains("Not an administrator"), "{method} {url}");
        // An administrator's POST without the session's CSRF token: 403.
        if post {
            let page = root.post(&url, &[("csrf_token", "forged")]).await;
            assert_eq!(page.status, 403, "{method} {url}");
            let page = root.post(&url, &[]).await;
            assert_eq!(page.status, 403, "{method} {url}");
        }
    }
    assert_eq!(audit_count(&app).await, before, "nothing changed");
    // An encoded control character in a path never reaches a handler (or the database).
    for path in [
        "/admin/users/%00",
        "/admin/clients/a%1Fb",
        "/admin/roles/x%7F/delete",
    ] {
        let page = if path.ends_with("delete") {
            let csrf = input_value(&root.get("/admin/roles").await.body, "csrf_token").unwrap();
            root.post(path, &[("csrf_token", &csrf)]).await
        } else {
            root.get(path).await
        };
        assert_eq!(page.status, 404, "{path}");
    }
    // Pages carry a CSP that forbids scripts and other origins, and are not framed.
    let page = root.get("/admin").await;
    assert_eq!(page.status, 200);
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("form-action 'self'"),
        "{csp}"
    );
    assert_eq!(page.headers["x-frame-options"], "DENY");
}

#[tokio::test]
async fn an_admin_manages_a_client_in_the_console() {
    let app = TestApp::start().await;
    make_admin(&app, "root").await;
    let mut root = signed_in(&app, "root").await;
    let home = root.get("/admin").await;
    assert!(home.body.contains("Administration"));
    let csrf = input_value(&root.get("/admin/clients").await.body, "csrf_token").unwrap();

    // Bad input: the form again, with the reason, and nothing created.
    let page = root
        .post(
            "/admin/clients",
            &[
                ("csrf_token", &csrf),
                ("client_name", "Shop"),
                ("redirect_uris", "http://shop.example/cb"),
            ],
        )
        .await;
    assert_eq!(page.status, 400);
    assert!(page.body.contains("class=\"error\""), "{}", page.body);
    assert!(
        page.body.contains("value=\"Shop\""),
        "the form keeps what was typed"
    );

    let page = root
        .post(
            "/admin/clients",
            &[
                ("csrf_token", &csrf),
                ("client_name", "Shop <b>&"),
                ("redirect_uris", "https://shop.example/cb\r\n\r\n"),
                ("token_endpoint_auth_method", "client_secret_basic"),
                ("grant_types", "authorization_code"),
                ("grant_types", "refresh_token"),
            ],
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(!page.body.contains("Shop <b>"), "escaped");
    assert!(page.body.contains("Shop &#60;b&#62;&#38;"), "escaped");
    let secret = page
        .body
        .split("id=\"client-secret\" class=\"secret\">")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_owned();
    let id = page
        .body
        .split("id=\"client-id\">")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_owned();
    assert_eq!(secret.len(), 43);
    let client = app.store.find_client(&id).await.unwrap().unwrap();
    assert_eq!(client.grant_types.len(), 2);
    assert_eq!(client.redirect_uris, ["https://shop.example/cb"]);

    let page = root.get(&format!("/admin/clients/{id}")).await;
    assert_eq!(page.status, 200);
    assert!(
        !page.body.contains(&secret),
        "the secret is shown once only"
    );
    // Every grant type unticked: refused, nothing changed.
    let page = root
        .post(
            &format!("/admin/clients/{id}"),
            &[
                ("csrf_token", &csrf),
                ("client_name", "Shop"),
                ("redirect_uris", "https://shop.example/cb"),
            ],
        )
        .await;
    assert_eq!(page.status, 400, "{}", page.body);
    let page = root
        .post(
            &format!("/admin/clients/{id}"),
            &[
                ("csrf_token", &csrf),
                ("client_name", "Shop"),
                (
                    "redirect_uris",
                    "https://shop.example/a\nhttps://shop.example/b",
                ),
                ("post_logout_redirect_uris", ""),
                ("grant_types", "authorization_code"),
                ("grant_types", "refresh_token"),
                ("scope", "orders:read"),
                ("logo_uri", ""),
                ("policy_uri", "https://shop.example/privacy"),
                ("tos_uri", ""),
            ],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let page = root.get(page.location.as_deref().unwrap()).await;
    assert!(page.body.contains("Saved."));
    assert!(
        page.body
            .contains("https://shop.example/a\nhttps://shop.example/b")
    );
    let client = app.store.find_client(&id).await.unwrap().unwrap();
    assert_eq!(
        client.links.policy_uri.as_deref(),
        Some("https://shop.example/privacy")
    );
    let update = app
        .store
        .list_audit(&gatehouse_core::Query {
            search: Some("client.update".into()),
            offset: 0,
            limit: 1,
        })
        .await
        .unwrap();
    assert_eq!(
        update.items[0].detail,
        json!({"changed": ["client_name", "redirect_uris", "scope", "policy_uri"]}),
        "the audit names only the fields that changed"
    );

    let page = root
        .post(
            &format!("/admin/clients/{id}/secret"),
            &[("csrf_token", &csrf)],
        )
        .await;
    assert!(page.body.contains("New client secret"));
    assert!(!page.body.contains(&secret));
    let page = root
        .post(
            &format!("/admin/clients/{id}/delete"),
            &[("csrf_token", &csrf)],
        )
        .await;
    assert_eq!(page.status, 303);
    assert!(app.store.find_client(&id).await.unwrap().is_none());

    let page = root.get(&format!("/admin/audit?search={id}")).await;
    for action in [
        "client.create",
        "client.update",
        "client.rotate_secret",
        "client.delete",
    ] {
        assert!(page.body.contains(action), "{action} in the audit page");
    }
    assert!(page.body.contains("127.0.0.1"));
}

#[tokio::test]
async fn an_admin_manages_users_roles_and_keys_in_the_console() {
    let app = TestApp::start().await;
    let root_id = make_admin(&app, "root").await;
    let mut root = signed_in(&app, "root").await;
    let csrf = input_value(&root.get("/admin/users").await.body, "csrf_token").unwrap();

    let page = root
        .post(
            "/admin/users",
            &[
                ("csrf_token", &csrf),
                ("username", "erin"),
                ("password", "password123"),
            ],
        )
        .await;
    assert_eq!(page.status, 400);
    let page = root
        .post(
            "/admin/users",
            &[
                ("csrf_token", &csrf),
                ("username", "erin"),
                ("password", PASSWORD),
                ("email", "erin@example.com"),
            ],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let erin_page = page.location.unwrap();
    let erin = erin_page
        .rsplit('/')
        .next()
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_owned();

    root.post(
        "/admin/roles",
        &[
            ("csrf_token", &csrf),
            ("name", "editor"),
            ("permissions", "posts.write posts.read"),
        ],
    )
    .await;
    root.post("/admin/groups", &[("csrf_token", &csrf), ("name", "staff")])
        .await;
    root.post(
        &format!("/admin/users/{erin}/roles"),
        &[("csrf_token", &csrf), ("role", "editor")],
    )
    .await;
    root.post(
        &format!("/admin/users/{erin}/groups"),
        &[("csrf_token", &csrf), ("group", "staff")],
    )
    .await;
    let page = root.get(&format!("/admin/users/{erin}")).await;
    assert!(
        page.body.contains("<span class=\"tag\">editor</span>")
            && page.body.contains("<span class=\"tag\">staff</span>")
    );
    let role = app.store.find_role("editor").await.unwrap().unwrap();
    assert_eq!(role.permissions, ["posts.write", "posts.read"]);
    let page = root
        .post(
            "/admin/roles/editor",
            &[
                ("csrf_token", &csrf),
                ("permissions", "posts.read"),
                ("description", "Reads posts"),
            ],
        )
        .await;
    assert_eq!(page.status, 303);
    let role = app.store.find_role("editor").await.unwrap().unwrap();
    assert_eq!(
        (role.permissions, role.description.as_str()),
        (vec!["posts.read".to_owned()], "Reads posts")
    );
    let page = root
        .post(
            "/admin/roles/editor",
            &[("csrf_token", &csrf), ("permissions", "bad/perm")],
        )
        .await;
    assert_eq!(page.status, 400);

    // Disable ends access; the admin cannot disable or delete themselves.
    let page = root
        .post(
            &format!("/admin/users/{erin}/disable"),
            &[("csrf_token", &csrf)],
        )
        .await;
    assert_eq!(page.status, 303);
    assert!(app.store.find_user(&erin).await.unwrap().unwrap().disabled);
    let page = root
        .post(
            &format!("/admin/users/{root_id}/disable"),
            &[("csrf_token", &csrf)],
        )
        .await;
    assert_eq!(page.status, 400);
    let page = root
        .post(
            &format!("/admin/users/{root_id}/delete"),
            &[("csrf_token", &csrf)],
        )
        .await;
    assert_eq!(page.status, 400);
    let page = root
        .post(
            &format!("/admin/users/{erin}/roles"),
            &[("csrf_token", &csrf), ("role", "a\u{0}b")],
        )
        .await;
    assert_eq!(page.status, 400, "control characters in a form");
    let page = root
        .post(
            &format!("/admin/users/{root_id}/roles"),
            &[
                ("csrf_token", &csrf),
                ("role", "admin"),
                ("action", "remove"),
            ],
        )
        .await;
    assert_eq!(page.status, 400, "an admin cannot demote themselves");

    // Keys and registration tokens.
    let before = app
        .store
        .list_audit(&gatehouse_core::Query {
            search: Some("key.rotate".into()),
            offset: 0,
            limit: 5,
        })
        .await
        .unwrap()
        .total;
    let page = root
        .post(
            "/admin/keys/rotate",
            &[("csrf_token", &csrf), ("alg", "RS256")],
        )
        .await;
    assert_eq!(page.status, 303);
    let after = app
        .store
        .list_audit(&gatehouse_core::Query {
            search: Some("key.rotate".into()),
            offset: 0,
            limit: 5,
        })
        .await
        .unwrap()
        .total;
    assert_eq!(after, before + 1);
    let page = root
        .post(
            "/admin/registration-tokens",
            &[("csrf_token", &csrf), ("ttl", "600"), ("uses", "1")],
        )
        .await;
    assert_eq!(page.status, 200);
    let token = page
        .body
        .split("id=\"registration-token\" class=\"secret\">")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_owned();
    let res = app
        .http()
        .post(app.url("/register"))
        .bearer_auth(&token)
        .json(&json!({"redirect_uris": ["https://dev.example/cb"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let page = root
        .post(
            "/admin/registration-tokens",
            &[("csrf_token", &csrf), ("ttl", "soon")],
        )
        .await;
    assert_eq!(page.status, 400);

    // A token that also allows client_credentials and an API scope.
    let page = root
        .post(
            "/admin/registration-tokens",
            &[
                ("csrf_token", &csrf),
                ("allow_scopes", "orders:read"),
                ("allow_grant_types", "client_credentials"),
            ],
        )
        .await;
    assert_eq!(page.status, 200);
    let keys = root.get("/admin/keys").await;
    assert!(
        keys.body.contains("orders:read client_credentials"),
        "{}",
        keys.body
    );

    // APIs (RFC 8707): registered and removed from the same page.
    let api = "https://orders.example/api";
    let page = root
        .post(
            "/admin/resources",
            &[
                ("csrf_token", &csrf),
                ("identifier", api),
                ("name", "Orders <script>"),
                ("scopes", "orders:read orders:write"),
            ],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let keys = root.get("/admin/keys").await;
    assert!(keys.body.contains(api) && keys.body.contains("Orders "));
    assert!(!keys.body.contains("Orders <script>"), "names are escaped");
    let page = root
        .post(
            "/admin/resources",
            &[
                ("csrf_token", &csrf),
                ("identifier", "https://other.example"),
                ("name", "Other"),
                ("scopes", "orders:read"),
            ],
        )
        .await;
    assert_eq!(
        page.status, 409,
        "a scope belongs to one API (409, as the API answers)"
    );
    assert!(page.body.contains("already belongs"));
    let page = root
        .post(
            "/admin/resources/delete",
            &[("csrf_token", &csrf), ("identifier", api)],
        )
        .await;
    assert_eq!(page.status, 303);
    assert_eq!(app.store.list_resources().await.unwrap(), vec![]);
}

#[tokio::test]
async fn an_admin_session_reaches_the_api_with_its_csrf_token() {
    let app = TestApp::start().await;
    make_admin(&app, "root").await;
    let mut root = signed_in(&app, "root").await;
    let csrf = input_value(&root.get("/admin/users").await.body, "csrf_token").unwrap();
    let cookie: String = root.cookie_header();
    let api = |method: reqwest::Method, path: &str| {
        app.http()
            .request(method, app.url(path))
            .header("cookie", &cookie)
    };
    let res = api(reqwest::Method::GET, "/admin/api/users")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body = json!({"name": "auditor"});
    let res = api(reqwest::Method::POST, "/admin/api/roles")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403, "a cookie alone cannot change anything");
    let res = api(reqwest::Method::POST, "/admin/api/roles")
        .header("x-csrf-token", "forged")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let res = api(reqwest::Method::POST, "/admin/api/roles")
        .header("x-csrf-token", &csrf)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
}

/// A session left open is not enough for the most sensitive changes: a new signing key, a
/// new administrator or a new client secret need the admin's password again once it was
/// last entered more than 15 minutes ago.
#[tokio::test]
async fn sensitive_changes_ask_for_the_password_after_fifteen_minutes() {
    let app = TestApp::start().await;
    make_admin(&app, "root").await;
    let client = app.create_client(ClientSpec::default()).await;
    let mut root = signed_in(&app, "root").await;
    let csrf = input_value(&root.get("/admin/keys").await.body, "csrf_token").unwrap();
    // Fresh from signing in: no password needed.
    let page = root
        .post(
            "/admin/keys/rotate",
            &[("csrf_token", &csrf), ("alg", "ES256")],
        )
        .await;
    assert_eq!(page.status, 303);

    app.clock.advance(16 * 60);
    let before = audit_count(&app).await;
    let secret_path = format!("/admin/clients/{}/secret", client.id);
    for (path, form) in [
        ("/admin/keys/rotate", vec![("alg", "ES256")]),
        (secret_path.as_str(), vec![]),
        (
            "/admin/users",
            vec![
                ("username", "second-admin"),
                ("password", "a long enough new password"),
                ("admin", "1"),
            ],
        ),
    ] {
        for password in [None, Some("not my password")] {
            let mut f = form.clone();
            f.push(("csrf_token", &csrf));
            if let Some(p) = password {
                f.push(("current_password", p));
            }
            let page = root.post(path, &f).await;
            assert_eq!(page.status, 403, "{path} {password:?}");
            assert!(page.body.contains("Confirm with your password"));
        }
    }
    assert_eq!(audit_count(&app).await, before, "nothing changed");
    // With the password, it goes through; and for the next 15 minutes it is not asked.
    let page = root
        .post(
            "/admin/keys/rotate",
            &[
                ("csrf_token", &csrf),
                ("alg", "ES256"),
                ("current_password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let page = root.post(&secret_path, &[("csrf_token", &csrf)]).await;
    assert_eq!(page.status, 200, "{}", page.body);
}
