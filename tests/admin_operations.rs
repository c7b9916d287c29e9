//! The command line, the admin API and the console are three adapters over one set of
//! administrative operations (`gatehouse_admin::ops`). Each operation here is run through
//! all three, on objects of its own, and must leave the same audit row: the same action,
//! target and detail (names and ids of each run's own objects aside), with the actor each
//! way names — `client:<id>` for an API token, `user:<id>` for a console session,
//! `cli:<account>` for the command line. Both databases.

#![allow(clippy::unwrap_used)]

use gatehouse_core::{Actor, AuditEntry, Query, SubjectKind};
use gatehouse_server::cli::{Session, parse_command, run};
use gatehouse_tests::*;
use serde_json::{Value, json};

#[derive(Clone, Copy, Debug)]
enum Via {
    Api,
    Console,
    Cli,
}

impl Via {
    const ALL: [Via; 3] = [Via::Api, Via::Console, Via::Cli];

    /// Each way works on objects named after it.
    fn tag(self) -> &'static str {
        match self {
            Via::Api => "api",
            Via::Console => "console",
            Via::Cli => "cli",
        }
    }
}

const NEW_PASSWORD: &str = "another long passphrase";

struct Admins {
    app: TestApp,
    /// A client-credentials token for the admin API, and the robot's client id.
    token: String,
    robot: String,
    /// A console session of the administrator `root`.
    console: Browser,
    csrf: String,
    root: String,
}

impl Admins {
    async fn start() -> Self {
        let app = TestApp::start().await;
        let root = app.create_user("root").await;
        app.store
            .assign_role(
                "admin",
                SubjectKind::User,
                &root,
                &test_audit("role.assign"),
                app.now(),
            )
            .await
            .unwrap();
        let (robot, token) = service_token(&app, "gatehouse:admin").await;
        let mut console = app.browser();
        let page = console.login("/login?next=admin", "root", PASSWORD).await;
        assert_eq!(page.status, 303, "{}", page.body);
        let home = console.get("/admin/clients").await;
        let csrf = input_value(&home.body, "csrf_token").expect("console CSRF token");
        Self {
            app,
            token,
            robot: robot.id,
            console,
            csrf,
            root,
        }
    }

    async fn api(&self, method: &str, path: &str, body: Option<Value>) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self
            .app
            .http()
            .request(method.clone(), self.app.url(&format!("/admin/api{path}")))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        assert!(
            (200..300).contains(&status),
            "{method} {path}: {status} {text}"
        );
    }

    async fn console(&mut self, path: &str, form: &[(&str, &str)]) {
        let mut fields = vec![("csrf_token", self.csrf.as_str())];
        fields.extend_from_slice(form);
        let page = self.console.post(path, &fields).await;
        // A refused form comes back with 400 or 409 and the error above it.
        assert!(
            matches!(page.status, 200 | 303),
            "POST {path}: {} {}",
            page.status,
            page.body
        );
    }

    async fn cli(&self, args: &[&str], input: Option<&str>) {
        let command = parse_command(args.iter().copied()).unwrap();
        let session = Session {
            store: &self.app.store,
            config: &self.app.config,
            actor: Actor::cli("tester"),
            now: self.app.now(),
            input: input.map(str::to_owned),
        };
        run(&session, command)
            .await
            .unwrap_or_else(|e| panic!("gatehouse {}: {e}", args.join(" ")));
    }

    async fn newest_audit(&self) -> AuditEntry {
        let q = Query {
            search: None,
            offset: 0,
            limit: 1,
        };
        let page = self.app.store.list_audit(&q).await.unwrap();
        page.items.into_iter().next().expect("an audit row")
    }

    fn actor(&self, via: Via) -> String {
        match via {
            Via::Api => format!("client:{}", self.robot),
            Via::Console => format!("user:{}", self.root),
            Via::Cli => "cli:tester".into(),
        }
    }

    /// Runs `op` through all three ways and checks their audit rows agree. `op` does the
    /// operation the given way and answers the values (ids, names) that differ between
    /// the runs, to be read as placeholders.
    async fn same_audit<F>(&mut self, action: &str, mut op: F)
    where
        F: AsyncFnMut(&mut Admins, Via) -> Vec<(String, &'static str)>,
    {
        let mut rows = Vec::new();
        for via in Via::ALL {
            let own = op(self, via).await;
            let entry = self.newest_audit().await;
            assert_eq!(entry.action, action, "{via:?}");
            assert_eq!(entry.actor, self.actor(via), "{action} {via:?}");
            if !matches!(via, Via::Cli) {
                assert_eq!(
                    entry.address.as_deref(),
                    Some("127.0.0.1"),
                    "{action} {via:?}"
                );
            }
            let mut text = json!([entry.target, entry.detail]).to_string();
            for (value, placeholder) in &own {
                text = text.replace(value.as_str(), placeholder);
            }
            rows.push((via, text));
        }
        let (_, first) = &rows[0];
        for (via, row) in &rows[1..] {
            assert_eq!(row, first, "{action}: {via:?} differs from the API");
        }
    }

    async fn user(&self, username: &str) -> String {
        self.app.create_user(username).await
    }

    async fn role(&self, name: &str) {
        let role = gatehouse_core::Role {
            name: name.into(),
            description: "Reads reports".into(),
            permissions: vec!["reports.read".into()],
            created_at: self.app.now(),
        };
        self.app
            .store
            .create_role(&role, &test_audit("role.create"))
            .await
            .unwrap();
    }

    async fn group(&self, name: &str) {
        let group = gatehouse_core::Group {
            name: name.into(),
            description: "People".into(),
            created_at: self.app.now(),
        };
        self.app
            .store
            .create_group(&group, &test_audit("group.create"))
            .await
            .unwrap();
    }
}

fn s(v: &str) -> String {
    v.to_owned()
}

#[tokio::test]
async fn user_operations_leave_the_same_audit_row_every_way() {
    let mut a = Admins::start().await;

    a.same_audit("user.create", async |a, via| {
        let name = format!("made-{}", via.tag());
        match via {
            Via::Api => {
                let body =
                    json!({"username": name, "password": PASSWORD, "email": "x@example.com"});
                a.api("POST", "/users", Some(body)).await;
            }
            Via::Console => {
                let form = [
                    ("username", name.as_str()),
                    ("password", PASSWORD),
                    ("email", "x@example.com"),
                ];
                a.console("/admin/users", &form).await;
            }
            Via::Cli => {
                let args = [
                    "user",
                    "create",
                    &name,
                    "--password-stdin",
                    "--email",
                    "x@example.com",
                ];
                a.cli(&args, Some(PASSWORD)).await;
            }
        }
        let user = a
            .app
            .store
            .find_user_by_username(&name)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(user.email.as_deref(), Some("x@example.com"));
        vec![(user.id, "<id>"), (name, "<name>")]
    })
    .await;

    for (action, path, command) in [
        ("user.disable", "disable", "disable"),
        ("user.enable", "enable", "enable"),
        ("user.delete", "delete", "delete"),
    ] {
        a.same_audit(action, async |a, via| {
            let name = format!("{path}-{}", via.tag());
            let id = a.user(&name).await;
            match via {
                Via::Api if path == "delete" => {
                    a.api("DELETE", &format!("/users/{id}"), None).await
                }
                Via::Api => a.api("POST", &format!("/users/{id}/{path}"), None).await,
                Via::Console => a.console(&format!("/admin/users/{id}/{path}"), &[]).await,
                Via::Cli => a.cli(&["user", command, &name], None).await,
            }
            vec![(id, "<id>"), (name, "<name>")]
        })
        .await;
    }

    a.same_audit("user.set_password", async |a, via| {
        let name = format!("pw-{}", via.tag());
        let id = a.user(&name).await;
        match via {
            Via::Api => {
                let body = json!({"password": NEW_PASSWORD});
                a.api("PUT", &format!("/users/{id}/password"), Some(body))
                    .await;
            }
            Via::Console => {
                let path = format!("/admin/users/{id}/password");
                a.console(&path, &[("password", NEW_PASSWORD)]).await;
            }
            Via::Cli => {
                let args = ["user", "set-password", &name, "--password-stdin"];
                a.cli(&args, Some(NEW_PASSWORD)).await;
            }
        }
        vec![(id, "<id>"), (name, "<name>")]
    })
    .await;
}

#[tokio::test]
async fn client_operations_leave_the_same_audit_row_every_way() {
    let mut a = Admins::start().await;
    let uri = "https://app.example/callback";

    a.same_audit("client.create", async |a, via| {
        let name = format!("Made {}", via.tag());
        match via {
            Via::Api => {
                let body = json!({"client_name": name, "redirect_uris": [uri]});
                a.api("POST", "/clients", Some(body)).await;
            }
            Via::Console => {
                let form = [("client_name", name.as_str()), ("redirect_uris", uri)];
                a.console("/admin/clients", &form).await;
            }
            Via::Cli => {
                let args = ["client", "create", "--name", &name, "--redirect-uri", uri];
                a.cli(&args, None).await;
            }
        }
        let all = a.app.store.list_clients().await.unwrap();
        let c = all.into_iter().find(|c| c.name == name).expect("created");
        vec![(c.client_id, "<id>"), (name, "<name>")]
    })
    .await;

    a.same_audit("client.update", async |a, via| {
        let spec = ClientSpec {
            name: format!("Old {}", via.tag()),
            ..ClientSpec::default()
        };
        let id = a.app.create_client(spec).await.id;
        let name = format!("New {}", via.tag());
        match via {
            Via::Api => {
                let body = json!({"client_name": name});
                a.api("PATCH", &format!("/clients/{id}"), Some(body)).await;
            }
            Via::Console => {
                let form = [
                    ("client_name", name.as_str()),
                    ("redirect_uris", uri),
                    (
                        "post_logout_redirect_uris",
                        "https://app.example/signed-out",
                    ),
                    ("grant_types", "authorization_code"),
                    ("scope", ""),
                ];
                a.console(&format!("/admin/clients/{id}"), &form).await;
            }
            Via::Cli => {
                a.cli(&["client", "update", &id, "--name", &name], None)
                    .await
            }
        }
        vec![(id, "<id>")]
    })
    .await;

    for (action, command) in [
        ("client.rotate_secret", "rotate-secret"),
        ("client.delete", "delete"),
    ] {
        a.same_audit(action, async |a, via| {
            let id = a.app.create_client(ClientSpec::default()).await.id;
            match (via, command) {
                (Via::Api, "delete") => a.api("DELETE", &format!("/clients/{id}"), None).await,
                (Via::Api, _) => a.api("POST", &format!("/clients/{id}/secret"), None).await,
                (Via::Console, "delete") => {
                    a.console(&format!("/admin/clients/{id}/delete"), &[]).await;
                }
                (Via::Console, _) => a.console(&format!("/admin/clients/{id}/secret"), &[]).await,
                (Via::Cli, _) => a.cli(&["client", command, &id], None).await,
            }
            vec![(id, "<id>")]
        })
        .await;
    }
}

#[tokio::test]
async fn role_and_group_operations_leave_the_same_audit_row_every_way() {
    let mut a = Admins::start().await;

    a.same_audit("role.create", async |a, via| {
        let name = format!("made-{}", via.tag());
        match via {
            Via::Api => {
                let body = json!({"name": name, "description": "Reads reports", "permissions": ["reports.read", "reports.list"]});
                a.api("POST", "/roles", Some(body)).await;
            }
            Via::Console => {
                let form = [
                    ("name", name.as_str()),
                    ("description", "Reads reports"),
                    ("permissions", "reports.read reports.list"),
                ];
                a.console("/admin/roles", &form).await;
            }
            Via::Cli => {
                let args = [
                    "role", "create", &name, "--description", "Reads reports",
                    "--permission", "reports.read", "--permission", "reports.list",
                ];
                a.cli(&args, None).await;
            }
        }
        vec![(name, "<name>")]
    })
    .await;

    a.same_audit("role.update", async |a, via| {
        let name = format!("changed-{}", via.tag());
        a.role(&name).await;
        match via {
            Via::Api => {
                let body = json!({"description": "Writes", "permissions": ["reports.write"]});
                a.api("PATCH", &format!("/roles/{name}"), Some(body)).await;
            }
            Via::Console => {
                let form = [("description", "Writes"), ("permissions", "reports.write")];
                a.console(&format!("/admin/roles/{name}"), &form).await;
            }
            Via::Cli => {
                let args = [
                    "role",
                    "update",
                    &name,
                    "--description",
                    "Writes",
                    "--permission",
                    "reports.write",
                ];
                a.cli(&args, None).await;
            }
        }
        vec![(name, "<name>")]
    })
    .await;

    a.same_audit("role.delete", async |a, via| {
        let name = format!("gone-{}", via.tag());
        a.role(&name).await;
        match via {
            Via::Api => a.api("DELETE", &format!("/roles/{name}"), None).await,
            Via::Console => a.console(&format!("/admin/roles/{name}/delete"), &[]).await,
            Via::Cli => a.cli(&["role", "delete", &name], None).await,
        }
        vec![(name, "<name>")]
    })
    .await;

    for (action, hold) in [("role.assign", true), ("role.unassign", false)] {
        a.same_audit(action, async |a, via| {
            let role = format!("held-{}-{hold}", via.tag());
            let user = format!("holder-{}-{hold}", via.tag());
            a.role(&role).await;
            let id = a.user(&user).await;
            if !hold {
                a.app
                    .store
                    .assign_role(
                        &role,
                        SubjectKind::User,
                        &id,
                        &test_audit("role.assign"),
                        a.app.now(),
                    )
                    .await
                    .unwrap();
            }
            match via {
                Via::Api => {
                    let method = if hold { "PUT" } else { "DELETE" };
                    a.api(method, &format!("/roles/{role}/users/{id}"), None)
                        .await;
                }
                Via::Console => {
                    let action = if hold { "add" } else { "remove" };
                    let form = [("role", role.as_str()), ("action", action)];
                    a.console(&format!("/admin/users/{id}/roles"), &form).await;
                }
                Via::Cli => {
                    let command = if hold { "assign" } else { "unassign" };
                    a.cli(&["role", command, &role, "--user", &user], None)
                        .await;
                }
            }
            let roles = a.app.store.roles_of(SubjectKind::User, &id).await.unwrap();
            assert_eq!(roles.contains(&role), hold, "{via:?}");
            vec![(id, "<id>"), (role, "<role>")]
        })
        .await;
    }

    a.same_audit("group.create", async |a, via| {
        let name = format!("team-{}", via.tag());
        match via {
            Via::Api => {
                let body = json!({"name": name, "description": "People"});
                a.api("POST", "/groups", Some(body)).await;
            }
            Via::Console => {
                let form = [("name", name.as_str()), ("description", "People")];
                a.console("/admin/groups", &form).await;
            }
            Via::Cli => {
                let args = ["group", "create", &name, "--description", "People"];
                a.cli(&args, None).await;
            }
        }
        vec![(name, "<name>")]
    })
    .await;

    a.same_audit("group.delete", async |a, via| {
        let name = format!("old-team-{}", via.tag());
        a.group(&name).await;
        match via {
            Via::Api => a.api("DELETE", &format!("/groups/{name}"), None).await,
            Via::Console => {
                a.console(&format!("/admin/groups/{name}/delete"), &[])
                    .await
            }
            Via::Cli => a.cli(&["group", "delete", &name], None).await,
        }
        vec![(name, "<name>")]
    })
    .await;

    for (action, add) in [("group.add", true), ("group.remove", false)] {
        a.same_audit(action, async |a, via| {
            let group = format!("crew-{}-{add}", via.tag());
            let user = format!("member-{}-{add}", via.tag());
            a.group(&group).await;
            let id = a.user(&user).await;
            if !add {
                a.app
                    .store
                    .add_group_member(&group, &id, &test_audit("group.add"), a.app.now())
                    .await
                    .unwrap();
            }
            match via {
                Via::Api => {
                    let method = if add { "PUT" } else { "DELETE" };
                    a.api(method, &format!("/groups/{group}/members/{id}"), None)
                        .await;
                }
                Via::Console => {
                    let action = if add { "add" } else { "remove" };
                    let form = [("group", group.as_str()), ("action", action)];
                    a.console(&format!("/admin/users/{id}/groups"), &form).await;
                }
                Via::Cli => {
                    let command = if add { "add" } else { "remove" };
                    a.cli(&["group", command, &group, &user], None).await;
                }
            }
            let groups = a.app.store.groups_of(&id).await.unwrap();
            assert_eq!(groups.contains(&group), add, "{via:?}");
            vec![(id, "<id>"), (group, "<group>")]
        })
        .await;
    }
}

#[tokio::test]
async fn key_token_and_api_operations_leave_the_same_audit_row_every_way() {
    let mut a = Admins::start().await;

    a.same_audit("key.rotate", async |a, via| {
        match via {
            Via::Api => {
                a.api("POST", "/keys/rotate", Some(json!({"alg": "ES256"})))
                    .await
            }
            Via::Console => a.console("/admin/keys/rotate", &[("alg", "ES256")]).await,
            Via::Cli => a.cli(&["keys", "rotate", "--alg", "ES256"], None).await,
        }
        let kid = a.newest_audit().await.detail["kid"]
            .as_str()
            .unwrap()
            .to_owned();
        vec![(kid, "<kid>")]
    })
    .await;

    a.same_audit("registration_token.create", async |a, via| {
        match via {
            Via::Api => {
                let body =
                    json!({"ttl": 3600, "uses": 2, "allow_grant_types": ["client_credentials"]});
                a.api("POST", "/registration-tokens", Some(body)).await;
            }
            Via::Console => {
                let form = [
                    ("ttl", "3600"),
                    ("uses", "2"),
                    ("allow_grant_types", "client_credentials"),
                ];
                a.console("/admin/registration-tokens", &form).await;
            }
            Via::Cli => {
                let args = [
                    "registration-token",
                    "create",
                    "--ttl",
                    "3600",
                    "--uses",
                    "2",
                    "--allow-grant-type",
                    "client_credentials",
                ];
                a.cli(&args, None).await;
            }
        }
        let id = a.newest_audit().await.target;
        vec![(id, "<id>")]
    })
    .await;

    a.same_audit("registration_token.delete", async |a, via| {
        let token = initial_token(&a.app, None, None, 3600).await;
        let id = gatehouse_core::secret::hash_secret(&token);
        match via {
            Via::Api => {
                a.api("DELETE", &format!("/registration-tokens/{id}"), None)
                    .await
            }
            Via::Console => {
                a.console(&format!("/admin/registration-tokens/{id}/delete"), &[])
                    .await;
            }
            Via::Cli => a.cli(&["registration-token", "delete", &id], None).await,
        }
        vec![(id, "<id>")]
    })
    .await;

    a.same_audit("resource.create", async |a, via| {
        let identifier = format!("https://{}.api.example", via.tag());
        let scope = format!("{}:read", via.tag());
        match via {
            Via::Api => {
                let body = json!({"identifier": identifier, "name": "Reports", "scopes": [scope]});
                a.api("POST", "/resources", Some(body)).await;
            }
            Via::Console => {
                let form = [
                    ("identifier", identifier.as_str()),
                    ("name", "Reports"),
                    ("scopes", scope.as_str()),
                ];
                a.console("/admin/resources", &form).await;
            }
            Via::Cli => {
                let args = [
                    "resource",
                    "create",
                    &identifier,
                    "--name",
                    "Reports",
                    "--scope",
                    &scope,
                ];
                a.cli(&args, None).await;
            }
        }
        vec![(identifier, "<identifier>"), (scope, "<scope>")]
    })
    .await;

    a.same_audit("resource.delete", async |a, via| {
        let identifier = format!("https://{}.api.example", via.tag());
        match via {
            Via::Api => {
                let path = format!(
                    "/resources/{}",
                    identifier.replace(':', "%3A").replace('/', "%2F")
                );
                a.api("DELETE", &path, None).await;
            }
            Via::Console => {
                a.console("/admin/resources/delete", &[("identifier", &identifier)])
                    .await
            }
            Via::Cli => a.cli(&["resource", "delete", &identifier], None).await,
        }
        vec![(identifier, "<identifier>")]
    })
    .await;
}

/// The rules are the operations', so every way refuses the same input with the same
/// words: the command line once checked less (a user's email and name, a role's
/// description and permission count) and now checks the same.
#[tokio::test]
async fn every_way_refuses_the_same_input_alike() {
    let a = Admins::start().await;
    let many: Vec<String> = (0..101).map(|i| format!("p{i}")).collect();
    let cases: Vec<(Vec<String>, Value, &str)> = vec![
        (
            vec![
                s("user"),
                s("create"),
                s("eve"),
                s("--password-stdin"),
                s("--email"),
                s("not an address"),
            ],
            json!({"username": "eve", "password": PASSWORD, "email": "not an address"}),
            "email is not an address",
        ),
        (
            vec![
                s("user"),
                s("create"),
                s("eve"),
                s("--password-stdin"),
                s("--name"),
                s("bad\u{202e}name"),
            ],
            json!({"username": "eve", "password": PASSWORD, "name": "bad\u{202e}name"}),
            "name: at most 200 bytes",
        ),
        (
            vec![
                s("role"),
                s("create"),
                s("r1"),
                s("--description"),
                s("bad\u{202e}text"),
            ],
            json!({"name": "r1", "description": "bad\u{202e}text"}),
            "description: at most 500 bytes",
        ),
        (
            [s("role"), s("create"), s("r2")]
                .into_iter()
                .chain(many.iter().flat_map(|p| [s("--permission"), p.clone()]))
                .collect(),
            json!({"name": "r2", "permissions": many}),
            "at most 100 permissions",
        ),
    ];
    for (args, body, words) in cases {
        let command = parse_command(args.iter().map(String::as_str)).unwrap();
        let session = Session {
            store: &a.app.store,
            config: &a.app.config,
            actor: Actor::cli("tester"),
            now: a.app.now(),
            input: Some(PASSWORD.into()),
        };
        let refused = run(&session, command).await.unwrap_err().to_string();
        assert!(refused.contains(words), "CLI {args:?}: {refused}");
        let path = if args[0] == "user" {
            "/users"
        } else {
            "/roles"
        };
        let res = a
            .app
            .http()
            .post(a.app.url(&format!("/admin/api{path}")))
            .bearer_auth(&a.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400);
        let answer: Value = res.json().await.unwrap();
        assert_eq!(answer["error"], "invalid_request");
        let described = answer["error_description"].as_str().unwrap();
        assert!(described.contains(words), "API {path}: {described}");
    }
    // The built-in role is refused by the store itself, whichever way asks.
    let command = parse_command(["role", "delete", "admin"]).unwrap();
    let session = Session {
        store: &a.app.store,
        config: &a.app.config,
        actor: Actor::cli("tester"),
        now: a.app.now(),
        input: None,
    };
    let refused = run(&session, command).await.unwrap_err().to_string();
    assert!(refused.contains("built in"), "{refused}");
    let res = a
        .app
        .http()
        .delete(a.app.url("/admin/api/roles/admin"))
        .bearer_auth(&a.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let store_only = a
        .app
        .store
        .delete_role("admin", &test_audit("role.delete"), a.app.now())
        .await;
    assert!(matches!(
        store_only,
        Err(gatehouse_storage::StoreError::Refused(_))
    ));
}

#[tokio::test]
async fn session_grant_and_api_changes_leave_the_same_audit_row_every_way() {
    let mut a = Admins::start().await;
    let client = a.app.create_client(ClientSpec::default()).await;

    // A user signed in to the client: one live session and one grant.
    async fn signed_in(a: &Admins, client: &TestClient, name: &str) -> String {
        let id = a.user(name).await;
        sign_in(&a.app, client, name, "openid").await;
        id
    }
    // The live grants `filter` names, as placeholders (each run revokes its own).
    async fn grant_ids(
        a: &Admins,
        filter: gatehouse_storage::GrantFilter<'_>,
    ) -> Vec<(String, &'static str)> {
        let grants = a.app.store.list_grants(filter).await.unwrap();
        grants.into_iter().map(|g| (g.id, "<grant>")).collect()
    }

    a.same_audit("session.end", async |a, via| {
        let name = format!("ended-{}", via.tag());
        let id = signed_in(a, &client, &name).await;
        match via {
            Via::Api => {
                a.api("DELETE", &format!("/users/{id}/sessions"), None)
                    .await
            }
            Via::Console => {
                a.console(&format!("/admin/users/{id}/sessions/end"), &[])
                    .await;
            }
            Via::Cli => a.cli(&["user", "end-sessions", &name], None).await,
        }
        let live = a.app.store.list_user_sessions(&id, a.app.now()).await;
        assert!(live.unwrap().is_empty(), "{via:?}");
        vec![(id, "<id>")]
    })
    .await;

    a.same_audit("session.end", async |a, via| {
        let name = format!("one-ended-{}", via.tag());
        let id = signed_in(a, &client, &name).await;
        let sessions = a.app.store.list_user_sessions(&id, a.app.now()).await;
        let sid = sessions.unwrap()[0].sid.clone();
        match via {
            Via::Api => {
                a.api("DELETE", &format!("/users/{id}/sessions/{sid}"), None)
                    .await;
            }
            Via::Console => {
                let path = format!("/admin/users/{id}/sessions/end");
                a.console(&path, &[("sid", &sid)]).await;
            }
            Via::Cli => {
                a.cli(&["user", "end-sessions", &name, "--sid", &sid], None)
                    .await;
            }
        }
        vec![(id, "<id>"), (sid, "<sid>")]
    })
    .await;

    a.same_audit("grant.revoke", async |a, via| {
        let name = format!("revoked-{}", via.tag());
        let id = signed_in(a, &client, &name).await;
        let mut own = grant_ids(
            a,
            gatehouse_storage::GrantFilter {
                user_id: Some(&id),
                ..Default::default()
            },
        )
        .await;
        match via {
            Via::Api => a.api("DELETE", &format!("/users/{id}/grants"), None).await,
            Via::Console => {
                a.console(&format!("/admin/users/{id}/grants/revoke"), &[])
                    .await;
            }
            Via::Cli => a.cli(&["user", "revoke-grants", &name], None).await,
        }
        let filter = gatehouse_storage::GrantFilter {
            user_id: Some(&id),
            ..Default::default()
        };
        assert!(a.app.store.list_grants(filter).await.unwrap().is_empty());
        own.push((id, "<id>"));
        own
    })
    .await;

    a.same_audit("grant.revoke", async |a, via| {
        let own = a.app.create_client(ClientSpec::default()).await;
        signed_in(a, &own, &format!("granted-{}", via.tag())).await;
        let id = own.id;
        let mut own = grant_ids(
            a,
            gatehouse_storage::GrantFilter {
                client_id: Some(&id),
                ..Default::default()
            },
        )
        .await;
        match via {
            Via::Api => {
                a.api("DELETE", &format!("/clients/{id}/grants"), None)
                    .await
            }
            Via::Console => {
                a.console(&format!("/admin/clients/{id}/grants/revoke"), &[])
                    .await;
            }
            Via::Cli => a.cli(&["client", "revoke-grants", &id], None).await,
        }
        own.push((id, "<id>"));
        own
    })
    .await;

    a.same_audit("user.sign_out_everywhere", async |a, via| {
        let name = format!("everywhere-{}", via.tag());
        let id = signed_in(a, &client, &name).await;
        let mut own = grant_ids(
            a,
            gatehouse_storage::GrantFilter {
                user_id: Some(&id),
                ..Default::default()
            },
        )
        .await;
        match via {
            Via::Api => {
                a.api("POST", &format!("/users/{id}/sign-out-everywhere"), None)
                    .await;
            }
            Via::Console => {
                let path = format!("/admin/users/{id}/sign-out-everywhere");
                a.console(&path, &[]).await;
            }
            Via::Cli => a.cli(&["user", "sign-out-everywhere", &name], None).await,
        }
        let live = a.app.store.list_user_sessions(&id, a.app.now()).await;
        assert!(live.unwrap().is_empty(), "{via:?}");
        own.push((id, "<id>"));
        own
    })
    .await;

    a.same_audit("role.assign", async |a, via| {
        let role = format!("robot-role-{}", via.tag());
        a.role(&role).await;
        let id = a.app.create_client(ClientSpec::default()).await.id;
        match via {
            Via::Api => {
                a.api("PUT", &format!("/roles/{role}/clients/{id}"), None)
                    .await
            }
            Via::Console => {
                let path = format!("/admin/clients/{id}/roles");
                a.console(&path, &[("role", &role)]).await;
            }
            Via::Cli => {
                a.cli(&["role", "assign", &role, "--client", &id], None)
                    .await
            }
        }
        let roles = a.app.store.roles_of(SubjectKind::Client, &id).await;
        assert!(roles.unwrap().contains(&role), "{via:?}");
        vec![(id, "<id>"), (role, "<role>")]
    })
    .await;

    a.same_audit("resource.update", async |a, via| {
        let identifier = format!("https://{}.orders.example", via.tag());
        let old = format!("{}-orders:read", via.tag());
        let new = format!("{}-orders:write", via.tag());
        let body = json!({"identifier": identifier, "name": "Orders", "scopes": [old]});
        a.api("POST", "/resources", Some(body)).await;
        match via {
            Via::Api => {
                let path = format!("/resources/{}", urlencode(&identifier));
                let body = json!({"name": "Orders v2", "scopes": [new]});
                a.api("PUT", &path, Some(body)).await;
            }
            Via::Console => {
                let form = [
                    ("identifier", identifier.as_str()),
                    ("name", "Orders v2"),
                    ("scopes", new.as_str()),
                ];
                a.console("/admin/resources/update", &form).await;
            }
            Via::Cli => {
                let args = [
                    "resource",
                    "update",
                    &identifier,
                    "--name",
                    "Orders v2",
                    "--scope",
                    &new,
                ];
                a.cli(&args, None).await;
            }
        }
        let r = a
            .app
            .store
            .find_resource(&identifier)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(r.name, "Orders v2", "{via:?}");
        vec![(identifier, "<identifier>"), (new, "<scope>")]
    })
    .await;
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Reading the audit log is an operation too: the three ways list the same entries.
#[tokio::test]
async fn the_audit_log_reads_the_same_every_way() {
    let mut a = Admins::start().await;
    for name in ["audited-1", "audited-2", "audited-3"] {
        a.cli(&["group", "create", name], None).await;
    }
    let res = a
        .app
        .http()
        .get(a.app.url("/admin/api/audit?search=audited&limit=2"))
        .bearer_auth(&a.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let api: Value = res.json().await.unwrap();
    let targets = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["target"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(api["total"], 3);
    assert_eq!(targets(&api), ["audited-3", "audited-2"], "newest first");

    let command = parse_command(["audit", "--search", "audited", "--limit", "2", "--json"]);
    let session = Session {
        store: &a.app.store,
        config: &a.app.config,
        actor: Actor::cli("tester"),
        now: a.app.now(),
        input: None,
    };
    // The command prints; what it reads is the operation's answer, checked through the
    // same function the command calls.
    run(&session, command.unwrap()).await.unwrap();
    let q = gatehouse_admin::ops::listing(Some("audited".into()), None, Some(2)).unwrap();
    let cli = gatehouse_admin::ops::system::audit_log(session.ops(), &q)
        .await
        .unwrap();
    let cli_targets: Vec<_> = cli.items.iter().map(|e| e.target.clone()).collect();
    assert_eq!(cli_targets, targets(&api));

    let page = a.console.get("/admin/audit?search=audited").await;
    assert_eq!(page.status, 200);
    for t in ["audited-1", "audited-2", "audited-3"] {
        assert!(page.body.contains(t), "{t}");
    }
    assert!(!page.body.contains(">group.delete<"));
    // The same limits refuse the same paging.
    let refused = a
        .app
        .http()
        .get(a.app.url("/admin/api/audit?limit=201"))
        .bearer_auth(&a.token)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
    let command = parse_command(["audit", "--limit", "201"]).unwrap();
    let refused = run(&session, command).await.unwrap_err().to_string();
    assert!(refused.contains("limit must be 1 to 200"), "{refused}");
}
