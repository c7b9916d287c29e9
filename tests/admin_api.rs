//! The admin API (`/admin/api`): refused to everyone but administrators over the whole
//! route table, and an administrator (a client-credentials robot here) managing clients,
//! users, sessions, grants, roles, groups, keys and registration tokens, each change in
//! the audit log.

#![allow(clippy::unwrap_used)]

use gatehouse_core::SubjectKind;
use gatehouse_tests::*;
use reqwest::Method;
use serde_json::{Value, json};

/// Every operation of the admin API, from the route table that builds the router.
fn operations() -> Vec<(Method, String)> {
    gatehouse_admin::api::table()
        .into_iter()
        .map(|r| {
            let path: String = r
                .path
                .split('/')
                .map(|seg| if seg.starts_with('{') { "x" } else { seg })
                .collect::<Vec<_>>()
                .join("/");
            (
                Method::from_bytes(r.method.as_str().as_bytes()).unwrap(),
                format!("/admin/api{path}"),
            )
        })
        .collect()
}

async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    auth: Option<&str>,
    cookie: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = app.http().request(method, app.url(path));
    if let Some(t) = auth {
        req = req.header("authorization", t);
    }
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

#[tokio::test]
async fn every_admin_route_refuses_anyone_but_an_administrator() {
    let app = TestApp::start().await;
    app.create_user("bob").await;
    let mut browser = app.browser();
    let page = browser.login("/login", "bob", PASSWORD).await;
    assert_eq!(page.status, 303);
    let bob_cookie: String = browser.cookie_header();
    let (_, wrong_scope) = service_token(&app, "reports:read").await;
    let client = app.create_client(ClientSpec::default()).await;
    let user_token = sign_in(&app, &client, "bob", "openid").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();

    let ops = operations();
    assert!(ops.len() >= 35, "{} operations", ops.len());
    for (method, path) in &ops {
        let body = Some(json!({}));
        for (who, auth, cookie, expect, code) in [
            ("anonymous", None, None, 401, "unauthorized"),
            (
                "a forged token",
                Some("Bearer not-a-token".to_owned()),
                None,
                401,
                "unauthorized",
            ),
            (
                "a non-admin user",
                None,
                Some(bob_cookie.as_str()),
                403,
                "forbidden",
            ),
            (
                "a client without the scope",
                Some(format!("Bearer {wrong_scope}")),
                None,
                403,
                "forbidden",
            ),
            (
                "a user's access token",
                Some(format!("Bearer {user_token}")),
                None,
                403,
                "forbidden",
            ),
        ] {
            let (status, answer) = call(
                &app,
                method.clone(),
                path,
                auth.as_deref(),
                cookie,
                body.clone(),
            )
            .await;
            assert_eq!(status, expect, "{method} {path} by {who}: {answer}");
            assert_eq!(answer["error"], code, "{method} {path} by {who}");
        }
    }
    // The document lists exactly the routes of the table.
    let doc: Value = app
        .http()
        .get(app.url("/admin/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["openapi"], "3.0.3");
    let documented: usize = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|item| item.as_object().unwrap().len())
        .sum();
    assert_eq!(documented, ops.len());
    // Nothing changed: no audit rows.
    let log = app
        .store
        .list_audit(&gatehouse_core::Query {
            search: None,
            offset: 0,
            limit: 10,
        })
        .await
        .unwrap();
    assert!(
        log.items.iter().all(|e| e.actor == "test"),
        "{:?}",
        log.items
    );
}

#[tokio::test]
async fn the_openapi_document_describes_every_operation() {
    let app = TestApp::start().await;
    let doc: Value = app
        .http()
        .get(app.url("/admin/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for name in [
        "ClientView",
        "ClientInput",
        "UserView",
        "UserInput",
        "RoleView",
        "AuditView",
        "ApiErrorBody",
    ] {
        assert!(schemas.contains_key(name), "schema {name} missing");
    }
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            assert!(op["operationId"].is_string(), "{method} {path}");
            assert!(op["responses"]["401"].is_object() && op["responses"]["403"].is_object());
            // A change that can collide says so: the API answers 409 `conflict` then.
            let changes = matches!(method.as_str(), "post" | "put" | "patch");
            assert_eq!(
                op["responses"]["409"].is_object(),
                changes,
                "{method} {path}"
            );
            // Every $ref resolves.
            let text = op.to_string();
            for r in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
                let name = r.split('"').next().unwrap();
                assert!(
                    schemas.contains_key(name),
                    "{method} {path}: dangling $ref {name}"
                );
            }
            let params: Vec<&str> = op["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|p| p["in"] == "path")
                .map(|p| p["name"].as_str().unwrap())
                .collect();
            for p in &params {
                assert!(path.contains(&format!("{{{p}}}")), "{path} {p}");
            }
        }
    }
    assert!(doc["paths"]["/admin/api/clients"]["post"]["requestBody"].is_object());
}

struct Robot<'a> {
    app: &'a TestApp,
    auth: String,
}

impl<'a> Robot<'a> {
    /// A client-credentials robot with `gatehouse:admin`, and its client.
    async fn new(app: &'a TestApp) -> (Self, TestClient) {
        let (client, token) = service_token(app, "gatehouse:admin").await;
        (
            Self {
                app,
                auth: format!("Bearer {token}"),
            },
            client,
        )
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        call(self.app, method, path, Some(&self.auth), None, body).await
    }
}

#[tokio::test]
async fn an_admin_client_manages_clients_through_the_api() {
    let app = TestApp::start().await;
    let (robot, robot_client) = Robot::new(&app).await;

    // Create: the secret is in the answer once, never again.
    let (status, created) = robot
        .call(
            Method::POST,
            "/admin/api/clients",
            Some(json!({
                "client_name": "Shop",
                "redirect_uris": ["https://shop.example/cb"],
                "scope": "orders:read",
                "logo_uri": "https://shop.example/logo.png",
            })),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["client"]["client_id"].as_str().unwrap().to_owned();
    let secret = created["client_secret"].as_str().unwrap().to_owned();
    let (status, read) = robot
        .call(Method::GET, &format!("/admin/api/clients/{id}"), None)
        .await;
    assert_eq!(status, 200);
    assert!(read.get("client_secret").is_none() && !read.to_string().contains(&secret));
    assert_eq!(read["logo_uri"], "https://shop.example/logo.png");
    assert_eq!(read["roles"], json!([]));

    // The secret works at the token endpoint; after rotation only the new one does.
    let shop = TestClient {
        id: id.clone(),
        secret: Some(secret.clone()),
        redirect_uri: "https://shop.example/cb".into(),
    };
    let probe = |c: TestClient| {
        let app = &app;
        async move {
            token_request(
                app,
                &c,
                &[
                    ("grant_type", "authorization_code"),
                    ("code", "x"),
                    ("redirect_uri", "https://shop.example/cb"),
                ],
            )
            .await
            .1["error"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    assert_eq!(probe(TestClient { ..shop.clone() }).await, "invalid_grant");
    let (status, rotated) = robot
        .call(
            Method::POST,
            &format!("/admin/api/clients/{id}/secret"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{rotated}");
    assert_eq!(probe(shop.clone()).await, "invalid_client");
    let new_secret = rotated["client_secret"].as_str().unwrap().to_owned();
    assert_eq!(
        probe(TestClient {
            secret: Some(new_secret),
            ..shop.clone()
        })
        .await,
        "invalid_grant"
    );

    // Update: redirect URIs replaced; bad metadata refused with nothing changed.
    let (status, updated) = robot
        .call(
            Method::PATCH,
            &format!("/admin/api/clients/{id}"),
            Some(json!({"redirect_uris": ["https://shop.example/callback"]})),
        )
        .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(
        updated["redirect_uris"],
        json!(["https://shop.example/callback"])
    );
    for bad in [
        json!({"redirect_uris": ["http://shop.example/cb"]}),
        json!({"redirect_uris": ["https://shop.example/cb#frag"]}),
        json!({"grant_types": ["password"]}),
        json!({"logo_uri": "javascript:alert(1)"}),
        json!({"client_secret": "chosen"}),
        json!({"scope": "bad\"scope"}),
    ] {
        let (status, answer) = robot
            .call(
                Method::PATCH,
                &format!("/admin/api/clients/{id}"),
                Some(bad.clone()),
            )
            .await;
        assert_eq!(status, 400, "{bad}: {answer}");
        assert_eq!(answer["error"], "invalid_request");
    }
    let (_, read) = robot
        .call(Method::GET, &format!("/admin/api/clients/{id}"), None)
        .await;
    assert_eq!(
        read["redirect_uris"],
        json!(["https://shop.example/callback"])
    );

    // Malformed bodies and queries are protocol errors, not 500s.
    let res = app
        .http()
        .post(app.url("/admin/api/clients"))
        .header("authorization", &robot.auth)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let (status, _) = robot
        .call(Method::GET, "/admin/api/clients?limit=0", None)
        .await;
    assert_eq!(status, 400);
    let (status, _) = robot
        .call(Method::GET, "/admin/api/clients?offset=-1", None)
        .await;
    assert_eq!(status, 400);

    // List, search, page.
    for n in 0..3 {
        robot
            .call(Method::POST, "/admin/api/clients", Some(json!({"client_name": format!("Blog {n}"), "redirect_uris": ["https://blog.example/cb"]})))
            .await;
    }
    let (_, page) = robot
        .call(Method::GET, "/admin/api/clients?search=blog&limit=2", None)
        .await;
    assert_eq!(page["total"], 3);
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    assert_eq!(page["items"][0]["client_name"], "Blog 0");
    let (_, page) = robot
        .call(
            Method::GET,
            "/admin/api/clients?search=BLOG&limit=2&offset=2",
            None,
        )
        .await;
    assert_eq!(page["items"][0]["client_name"], "Blog 2");
    let (_, page) = robot
        .call(Method::GET, "/admin/api/clients?search=%25", None)
        .await;
    assert_eq!(page["total"], 0, "% is taken literally");

    // Delete.
    let (status, _) = robot
        .call(Method::DELETE, &format!("/admin/api/clients/{id}"), None)
        .await;
    assert_eq!(status, 204);
    let (status, gone) = robot
        .call(Method::GET, &format!("/admin/api/clients/{id}"), None)
        .await;
    assert_eq!((status, gone["error"].as_str()), (404, Some("not_found")));

    // Every change is in the audit log: who, what, when, from where.
    let (_, log) = robot
        .call(Method::GET, &format!("/admin/api/audit?search={id}"), None)
        .await;
    let actions: Vec<&str> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "client.delete",
            "client.update",
            "client.rotate_secret",
            "client.create"
        ]
    );
    let entry = &log["items"][0];
    assert_eq!(entry["actor"], format!("client:{}", robot_client.id));
    assert_eq!(entry["address"], "127.0.0.1");
    assert!((entry["at"].as_i64().unwrap() - app.now()).abs() < 60);
    assert!(!log.to_string().contains(&secret), "no secret in the log");
}

#[tokio::test]
async fn an_admin_client_manages_users_sessions_and_grants() {
    let app = TestApp::start().await;
    let (robot, _) = Robot::new(&app).await;

    for (password, why) in [("short", "at least 12"), ("unbelievable", "most commonly")] {
        let (status, answer) = robot
            .call(
                Method::POST,
                "/admin/api/users",
                Some(json!({"username": "carol", "password": password})),
            )
            .await;
        assert_eq!(status, 400);
        assert!(
            answer["error_description"].as_str().unwrap().contains(why),
            "{answer}"
        );
    }
    let (status, carol) = robot
        .call(
            Method::POST,
            "/admin/api/users",
            Some(json!({"username": "carol", "password": PASSWORD, "email": "carol@example.com"})),
        )
        .await;
    assert_eq!(status, 201, "{carol}");
    let carol_id = carol["id"].as_str().unwrap().to_owned();
    let (status, dup) = robot
        .call(
            Method::POST,
            "/admin/api/users",
            Some(json!({"username": "carol", "password": PASSWORD})),
        )
        .await;
    assert_eq!((status, dup["error"].as_str()), (409, Some("conflict")));

    // Carol signs in to an app: a session and a grant appear.
    let client = app.create_client(ClientSpec::default()).await;
    let tokens = sign_in(&app, &client, "carol", "openid").await;
    let at = tokens["access_token"].as_str().unwrap();
    let (_, sessions) = robot
        .call(
            Method::GET,
            &format!("/admin/api/users/{carol_id}/sessions"),
            None,
        )
        .await;
    assert_eq!(sessions.as_array().unwrap().len(), 1, "{sessions}");
    let (_, grants) = robot
        .call(
            Method::GET,
            &format!("/admin/api/users/{carol_id}/grants"),
            None,
        )
        .await;
    assert_eq!(grants.as_array().unwrap().len(), 1);
    let (_, by_client) = robot
        .call(
            Method::GET,
            &format!("/admin/api/clients/{}/grants", client.id),
            None,
        )
        .await;
    assert_eq!(by_client, grants);

    // Revoking the grant kills the access token.
    let grant_id = grants[0]["grant_id"].as_str().unwrap();
    let (status, n) = robot
        .call(
            Method::DELETE,
            &format!("/admin/api/grants/{grant_id}"),
            None,
        )
        .await;
    assert_eq!((status, n["count"].as_u64()), (200, Some(1)));
    let res = app
        .http()
        .get(app.url("/userinfo"))
        .bearer_auth(at)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let (status, _) = robot
        .call(
            Method::DELETE,
            &format!("/admin/api/grants/{grant_id}"),
            None,
        )
        .await;
    assert_eq!(status, 404);

    // Ending one session by its sid.
    let sid = sessions[0]["sid"].as_str().unwrap();
    let (status, n) = robot
        .call(
            Method::DELETE,
            &format!("/admin/api/users/{carol_id}/sessions/{sid}"),
            None,
        )
        .await;
    assert_eq!((status, n["count"].as_u64()), (200, Some(1)));

    // Disable, enable, reset the password, delete.
    let (_, disabled) = robot
        .call(
            Method::POST,
            &format!("/admin/api/users/{carol_id}/disable"),
            None,
        )
        .await;
    assert_eq!(disabled["disabled"], true);
    let mut browser = app.browser();
    assert_eq!(browser.login("/login", "carol", PASSWORD).await.status, 401);
    robot
        .call(
            Method::POST,
            &format!("/admin/api/users/{carol_id}/enable"),
            None,
        )
        .await;
    let (status, _) = robot
        .call(
            Method::PUT,
            &format!("/admin/api/users/{carol_id}/password"),
            Some(json!({"password": "a brand new passphrase"})),
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(browser.login("/login", "carol", PASSWORD).await.status, 401);
    assert_eq!(
        browser
            .login("/login", "carol", "a brand new passphrase")
            .await
            .status,
        303
    );
    let (_, page) = robot
        .call(Method::GET, "/admin/api/users?search=EXAMPLE.com", None)
        .await;
    assert_eq!(page["total"], 1);
    let (status, _) = robot
        .call(
            Method::DELETE,
            &format!("/admin/api/users/{carol_id}"),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let (status, _) = robot
        .call(Method::GET, &format!("/admin/api/users/{carol_id}"), None)
        .await;
    assert_eq!(status, 404);
    let (_, log) = robot
        .call(
            Method::GET,
            &format!("/admin/api/audit?search={carol_id}"),
            None,
        )
        .await;
    let actions: Vec<&str> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "user.delete",
            "user.set_password",
            "user.enable",
            "user.disable",
            "session.end",
            "user.create"
        ]
    );
}

#[tokio::test]
async fn an_admin_client_manages_roles_groups_keys_and_registration_tokens() {
    let app = TestApp::start().await;
    let (robot, robot_client) = Robot::new(&app).await;
    let dave = app.create_user("dave").await;

    let (status, role) = robot
        .call(
            Method::POST,
            "/admin/api/roles",
            Some(json!({"name": "editor", "permissions": ["posts.write"]})),
        )
        .await;
    assert_eq!(status, 201, "{role}");
    let (status, _) = robot
        .call(
            Method::POST,
            "/admin/api/roles",
            Some(json!({"name": "bad name"})),
        )
        .await;
    assert_eq!(status, 400);
    let (status, m) = robot
        .call(
            Method::PUT,
            &format!("/admin/api/roles/editor/users/{dave}"),
            None,
        )
        .await;
    assert_eq!((status, &m["member"]), (200, &json!(true)));
    let (status, _) = robot
        .call(Method::PUT, "/admin/api/roles/editor/users/nobody", None)
        .await;
    assert_eq!(status, 404);
    let (status, _) = robot
        .call(
            Method::PUT,
            &format!("/admin/api/roles/ghost/users/{dave}"),
            None,
        )
        .await;
    assert_eq!(status, 404);
    robot
        .call(
            Method::POST,
            "/admin/api/groups",
            Some(json!({"name": "staff"})),
        )
        .await;
    robot
        .call(
            Method::PUT,
            &format!("/admin/api/groups/staff/members/{dave}"),
            None,
        )
        .await;
    let (_, read) = robot
        .call(Method::GET, &format!("/admin/api/users/{dave}"), None)
        .await;
    assert_eq!(
        (&read["roles"], &read["groups"]),
        (&json!(["editor"]), &json!(["staff"]))
    );
    let client = app.create_client(ClientSpec::default()).await;
    let tokens = sign_in(&app, &client, "dave", "openid roles groups").await;
    let id = jwt_payload(tokens["id_token"].as_str().unwrap());
    assert_eq!(
        (&id["roles"], &id["groups"]),
        (&json!(["editor"]), &json!(["staff"]))
    );
    let (status, _) = robot
        .call(Method::DELETE, "/admin/api/roles/admin", None)
        .await;
    assert_eq!(status, 400, "the admin role is built in");

    // A role given to the robot itself shows in its next token.
    robot
        .call(
            Method::PUT,
            &format!("/admin/api/roles/editor/clients/{}", robot_client.id),
            None,
        )
        .await;
    let (_, fresh) =
        token_request(&app, &robot_client, &[("grant_type", "client_credentials")]).await;
    assert_eq!(
        jwt_payload(fresh["access_token"].as_str().unwrap())["roles"],
        json!(["editor"])
    );
    assert_eq!(
        app.store
            .roles_of(SubjectKind::Client, &robot_client.id)
            .await
            .unwrap(),
        ["editor"]
    );

    // Keys: a rotation publishes the new key at once and signs with it after the lead
    // time (300 s); the old key stays published.
    let (_, before) = robot.call(Method::GET, "/admin/api/keys", None).await;
    let (status, key) = robot
        .call(
            Method::POST,
            "/admin/api/keys/rotate",
            Some(json!({"alg": "ES256"})),
        )
        .await;
    assert_eq!(status, 201, "{key}");
    assert_eq!(
        (&key["state"], &key["active"]),
        (&json!("next"), &json!(false))
    );
    let (_, after) = robot.call(Method::GET, "/admin/api/keys", None).await;
    assert_eq!(
        after.as_array().unwrap().len(),
        before.as_array().unwrap().len() + 1
    );
    let jwks: Value = app
        .http()
        .get(app.url("/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert!(kids.contains(&key["kid"].as_str().unwrap()));
    assert_eq!(kids.len(), after.as_array().unwrap().len());
    let kid_of = |token: &Value| -> Value {
        let header = token["access_token"]
            .as_str()
            .unwrap()
            .split('.')
            .next()
            .unwrap()
            .to_owned();
        let header: Value = serde_json::from_slice(
            &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, header)
                .unwrap(),
        )
        .unwrap();
        header["kid"].clone()
    };
    let (_, old) =
        token_request(&app, &robot_client, &[("grant_type", "client_credentials")]).await;
    assert_ne!(kid_of(&old), key["kid"], "not signing during the lead time");
    app.clock.advance(300);
    let (_, fresh) = token_request(
        &app,
        &robot_client,
        &[
            ("grant_type", "client_credentials"),
            ("scope", "gatehouse:admin"),
        ],
    )
    .await;
    assert_eq!(kid_of(&fresh), key["kid"]);
    // Tokens signed before the rotation still verify.
    let res = app
        .http()
        .post(app.url("/introspect"))
        .basic_auth(&robot_client.id, robot_client.secret.as_deref())
        .form(&[("token", old["access_token"].as_str().unwrap())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.json::<Value>().await.unwrap()["active"], true);
    let robot = Robot {
        app: &app,
        auth: format!("Bearer {}", fresh["access_token"].as_str().unwrap()),
    };
    let (status, _) = robot
        .call(
            Method::POST,
            "/admin/api/keys/rotate",
            Some(json!({"alg": "HS256"})),
        )
        .await;
    assert_eq!(status, 400);

    // Registration tokens: created once, usable at /register, withdrawn.
    let (status, created) = robot
        .call(
            Method::POST,
            "/admin/api/registration-tokens",
            Some(json!({"uses": 2})),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let rt = created["registration_token"].as_str().unwrap();
    let (_, list) = robot
        .call(Method::GET, "/admin/api/registration-tokens", None)
        .await;
    assert_eq!(list[0]["id"], created["id"]);
    assert!(!list.to_string().contains(rt));
    let register = |t: String| {
        let app = &app;
        async move {
            app.http()
                .post(app.url("/register"))
                .bearer_auth(t)
                .json(&json!({"redirect_uris": ["https://dev.example/cb"]}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(register(rt.to_owned()).await, 201);
    let (status, _) = robot
        .call(
            Method::DELETE,
            &format!(
                "/admin/api/registration-tokens/{}",
                created["id"].as_str().unwrap()
            ),
            None,
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(register(rt.to_owned()).await, 401);

    let (_, log) = robot
        .call(Method::GET, "/admin/api/audit?limit=200", None)
        .await;
    let actions: Vec<&str> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for a in [
        "role.create",
        "role.assign",
        "group.create",
        "group.add",
        "key.rotate",
        "registration_token.create",
        "client.register",
        "registration_token.delete",
    ] {
        assert!(actions.contains(&a), "{a} missing from {actions:?}");
    }
}

#[tokio::test]
async fn an_admin_robot_loses_access_with_its_scope() {
    let app = TestApp::start().await;
    let (robot_client, token) = service_token(&app, "gatehouse:admin").await;
    let (status, _) = call(
        &app,
        Method::GET,
        "/admin/api/users",
        Some(&format!("Bearer {token}")),
        None,
        None,
    )
    .await;
    assert_eq!(status, 200);
    // The admin scope is taken from the client's registration: its live token stops working.
    app.store
        .update_client(
            &robot_client.id,
            &gatehouse_core::NewClient {
                name: "Admin robot".into(),
                redirect_uris: vec![],
                post_logout_redirect_uris: vec![],
                grant_types: vec![gatehouse_core::GrantType::ClientCredentials],
                scopes: gatehouse_core::Scopes::parse("reports:read").unwrap(),
                auth_method: gatehouse_core::ClientAuthMethod::ClientSecretBasic,
                application_type: gatehouse_core::ApplicationType::Web,
                jwks: None,
                jwks_uri: None,
                access_token_format: gatehouse_core::AccessTokenFormat::Jwt,
                links: Default::default(),
                allowed_origins: vec![],
            },
            app.now(),
            &test_audit("client.update"),
        )
        .await
        .unwrap();
    let (status, _) = call(
        &app,
        Method::GET,
        "/admin/api/users",
        Some(&format!("Bearer {token}")),
        None,
        None,
    )
    .await;
    assert_eq!(status, 403);
    // And once deleted, it is unknown.
    app.store
        .delete_client(&robot_client.id, app.now(), &test_audit("client.delete"))
        .await
        .unwrap();
    let (status, _) = call(
        &app,
        Method::GET,
        "/admin/api/users",
        Some(&format!("Bearer {token}")),
        None,
        None,
    )
    .await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn hostile_searches_and_ids_are_ordinary_misses() {
    let app = TestApp::start().await;
    let (robot, _) = Robot::new(&app).await;
    app.create_user("alice").await;
    // Generated ids are base64url and may hold "_": every probe has a character they lack.
    for search in [
        "' OR '1'='1",
        "%' --",
        "%",
        "\\",
        "alice'; DROP TABLE users; --",
        "ä\u{0}",
    ] {
        let q: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("search", search)
            .finish();
        for list in ["users", "clients", "audit"] {
            let (status, page) = robot
                .call(Method::GET, &format!("/admin/api/{list}?{q}"), None)
                .await;
            if search.contains('\u{0}') {
                assert_eq!(status, 400, "{list} {search:?}: {page}");
                continue;
            }
            assert_eq!(status, 200, "{list} {search:?}: {page}");
            assert_eq!(page["total"], 0, "{list} {search:?} matched something");
        }
    }
    for id in ["' OR '1'='1", "x%27%20OR%201=1--", "%00", "a%1Fb"] {
        for path in ["clients", "users", "roles", "groups"] {
            let (status, answer) = robot
                .call(Method::GET, &format!("/admin/api/{path}/{id}"), None)
                .await;
            assert!(
                matches!(status, 400 | 404),
                "{path}/{id}: {status} {answer}"
            );
        }
    }
    // NUL inside JSON strings is refused before it reaches the database.
    for body in [
        json!({"client_name": "a\u{0}b", "redirect_uris": ["https://x.example/cb"]}),
        json!({"client_name": "ok", "redirect_uris": ["https://x.example/c\u{0}b"]}),
        json!({"client_name": "ok", "redirect_uris": ["https://x.example/cb"], "scope": "a\u{0}"}),
    ] {
        let (status, answer) = robot
            .call(Method::POST, "/admin/api/clients", Some(body.clone()))
            .await;
        assert_eq!(status, 400, "{body}: {answer}");
    }
    for body in [
        json!({"username": "nul\u{0}", "password": PASSWORD}),
        json!({"username": "nully", "password": PASSWORD, "name": "a\u{0}"}),
        json!({"username": "nully", "password": PASSWORD, "email": "a\u{0}@x"}),
    ] {
        let (status, answer) = robot
            .call(Method::POST, "/admin/api/users", Some(body.clone()))
            .await;
        assert_eq!(status, 400, "{body}: {answer}");
    }
    let (status, answer) = robot
        .call(
            Method::POST,
            "/admin/api/roles",
            Some(json!({"name": "r", "description": "a\u{0}"})),
        )
        .await;
    assert_eq!(status, 400, "{answer}");
    let (_, users) = robot.call(Method::GET, "/admin/api/users", None).await;
    assert_eq!(users["total"], 1, "the table is intact");
    // `_` is a literal underscore, not a LIKE wildcard.
    app.create_user("a_b").await;
    app.create_user("axb").await;
    let (_, page) = robot
        .call(Method::GET, "/admin/api/users?search=A_B", None)
        .await;
    let names: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["a_b"]);
}

#[tokio::test]
async fn the_last_administrator_cannot_be_removed_and_admins_cannot_remove_themselves() {
    let app = TestApp::start().await;
    let (robot, _) = Robot::new(&app).await;
    let root = app.create_user("root").await;
    let (status, _) = robot
        .call(
            Method::PUT,
            &format!("/admin/api/roles/admin/users/{root}"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    for (method, path) in [
        (Method::POST, format!("/admin/api/users/{root}/disable")),
        (Method::DELETE, format!("/admin/api/users/{root}")),
        (
            Method::DELETE,
            format!("/admin/api/roles/admin/users/{root}"),
        ),
    ] {
        let (status, answer) = robot.call(method.clone(), &path, None).await;
        assert_eq!(status, 400, "{method} {path}: {answer}");
        assert!(
            answer["error_description"]
                .as_str()
                .unwrap()
                .contains("last"),
            "{answer}"
        );
    }
    // With a second admin, the first may go, but not by their own hand.
    let second = app.create_user("second").await;
    robot
        .call(
            Method::PUT,
            &format!("/admin/api/roles/admin/users/{second}"),
            None,
        )
        .await;
    let mut browser = app.browser();
    browser.login("/login?next=admin", "root", PASSWORD).await;
    let csrf = input_value(&browser.get("/admin/users").await.body, "csrf_token").unwrap();
    let cookie: String = browser.cookie_header();
    let res = app
        .http()
        .delete(app.url(&format!("/admin/api/users/{root}")))
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400, "not by their own hand");
    let (status, _) = robot
        .call(
            Method::POST,
            &format!("/admin/api/users/{root}/disable"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = robot
        .call(Method::DELETE, &format!("/admin/api/users/{root}"), None)
        .await;
    assert_eq!(status, 204);

    // Odd but valid input is not a server error.
    let (status, _) = robot
        .call(
            Method::GET,
            "/admin/api/users?offset=18446744073709551615",
            None,
        )
        .await;
    assert_eq!(status, 400);
    let (status, answer) = robot
        .call(
            Method::POST,
            "/admin/api/users",
            Some(json!({"username": "twice", "password": PASSWORD, "roles": ["admin", "admin"]})),
        )
        .await;
    assert_eq!(status, 201, "{answer}");
}

#[tokio::test]
async fn rotating_a_robots_secret_shuts_out_its_earlier_tokens() {
    let app = TestApp::start().await;
    let (robot_client, leaked) = service_token(&app, "gatehouse:admin").await;
    let (status, _) = call(
        &app,
        Method::GET,
        "/admin/api/keys",
        Some(&format!("Bearer {leaked}")),
        None,
        None,
    )
    .await;
    assert_eq!(status, 200);
    app.clock.advance(1);
    let (status, rotated) = call(
        &app,
        Method::POST,
        &format!("/admin/api/clients/{}/secret", robot_client.id),
        Some(&format!("Bearer {leaked}")),
        None,
        None,
    )
    .await;
    assert_eq!(status, 200, "{rotated}");
    let (status, _) = call(
        &app,
        Method::GET,
        "/admin/api/keys",
        Some(&format!("Bearer {leaked}")),
        None,
        None,
    )
    .await;
    assert_eq!(status, 401, "a token from before the rotation is dead");
    let fresh_client = TestClient {
        secret: Some(rotated["client_secret"].as_str().unwrap().to_owned()),
        ..robot_client
    };
    app.clock.advance(1);
    let (_, body) = token_request(
        &app,
        &fresh_client,
        &[
            ("grant_type", "client_credentials"),
            ("scope", "gatehouse:admin"),
        ],
    )
    .await;
    let fresh = body["access_token"].as_str().unwrap();
    let (status, _) = call(
        &app,
        Method::GET,
        "/admin/api/keys",
        Some(&format!("Bearer {fresh}")),
        None,
        None,
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_password_reset_takes_an_account_back() {
    let app = TestApp::start().await;
    let (robot, _) = Robot::new(&app).await;
    let user = app.create_user("mallet").await;
    let client = app
        .create_client(ClientSpec {
            grant_types: vec![
                gatehouse_core::GrantType::AuthorizationCode,
                gatehouse_core::GrantType::RefreshToken,
            ],
            ..ClientSpec::default()
        })
        .await;
    let tokens = sign_in(&app, &client, "mallet", "openid offline_access").await;
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let (status, _) = robot
        .call(
            Method::PUT,
            &format!("/admin/api/users/{user}/password"),
            Some(json!({"password": "a completely new passphrase"})),
        )
        .await;
    assert_eq!(status, 204);
    let (status, body) = token_request(
        &app,
        &client,
        &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
    let res = app
        .http()
        .get(app.url("/userinfo"))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
}

#[tokio::test]
async fn racing_removals_never_leave_gatehouse_without_an_administrator() {
    let app = TestApp::start().await;
    let (robot, _) = Robot::new(&app).await;
    let a = app.create_user("admin-a").await;
    let b = app.create_user("admin-b").await;
    for round in 0..8 {
        for id in [&a, &b] {
            robot
                .call(
                    Method::PUT,
                    &format!("/admin/api/roles/admin/users/{id}"),
                    None,
                )
                .await;
        }
        // Two different ways of removing an admin, at once: a role taken and an account
        // disabled (round by round, also both of one kind).
        let first = match round % 2 {
            0 => (Method::DELETE, format!("/admin/api/roles/admin/users/{a}")),
            _ => (Method::POST, format!("/admin/api/users/{a}/disable")),
        };
        let second = (Method::DELETE, format!("/admin/api/roles/admin/users/{b}"));
        let (one, two) = tokio::join!(
            robot.call(first.0.clone(), &first.1, None),
            robot.call(second.0.clone(), &second.1, None)
        );
        let mut statuses = [one.0, two.0];
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 400], "round {round}: {one:?} {two:?}");
        let holders = app.store.role_holders("admin").await.unwrap();
        let mut enabled = 0;
        for (_, id) in holders {
            if !app.store.find_user(&id).await.unwrap().unwrap().disabled {
                enabled += 1;
            }
        }
        assert_eq!(enabled, 1, "round {round}");
        robot
            .call(Method::POST, &format!("/admin/api/users/{a}/enable"), None)
            .await;
    }
}
