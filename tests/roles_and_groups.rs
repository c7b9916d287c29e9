//! Roles and groups reach relying parties and resource servers (RFC 9068 §7.2.1.1): the
//! scopes `roles` and `groups` release them in the ID token, the JWT access token,
//! userinfo and introspection; client-credentials tokens carry the client's own roles.

#![allow(clippy::unwrap_used)]

use gatehouse_core::{GrantType, Group, Role, SubjectKind};
use gatehouse_storage::Membership;
use gatehouse_tests::*;
use serde_json::{Value, json};

async fn role(app: &TestApp, name: &str) {
    app.store
        .create_role(
            &Role {
                name: name.into(),
                description: String::new(),
                permissions: vec![format!("{name}.read")],
                created_at: app.now(),
            },
            &test_audit("role.create"),
        )
        .await
        .unwrap();
}

async fn group(app: &TestApp, name: &str) {
    app.store
        .create_group(
            &Group {
                name: name.into(),
                description: String::new(),
                created_at: app.now(),
            },
            &test_audit("group.create"),
        )
        .await
        .unwrap();
}

async fn userinfo(app: &TestApp, token: &str) -> Value {
    app.http()
        .get(app.url("/userinfo"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_roles_and_groups_scopes_release_them_everywhere() {
    let app = TestApp::start().await;
    let alice = app.create_user("alice").await;
    app.create_user("bob").await;
    let client = app.create_client(ClientSpec::default()).await;
    role(&app, "editor").await;
    role(&app, "billing").await;
    group(&app, "team-a").await;
    for r in ["editor", "billing"] {
        let added = app
            .store
            .assign_role(
                r,
                SubjectKind::User,
                &alice,
                &test_audit("role.assign"),
                app.now(),
            )
            .await
            .unwrap();
        assert_eq!(added, Membership::Added);
    }
    app.store
        .add_group_member("team-a", &alice, &test_audit("group.add"), app.now())
        .await
        .unwrap();

    let tokens = sign_in(&app, &client, "alice", "openid roles groups").await;
    let id = jwt_payload(tokens["id_token"].as_str().unwrap());
    assert_eq!(id["roles"], json!(["billing", "editor"]));
    assert_eq!(id["groups"], json!(["team-a"]));
    let at = tokens["access_token"].as_str().unwrap();
    let access = jwt_payload(at);
    assert_eq!(access["roles"], json!(["billing", "editor"]));
    assert_eq!(access["groups"], json!(["team-a"]));
    let info = userinfo(&app, at).await;
    assert_eq!(info["roles"], json!(["billing", "editor"]));
    assert_eq!(info["groups"], json!(["team-a"]));

    // Without the scopes nothing is released; a user with none gets empty lists.
    let plain = sign_in(&app, &client, "alice", "openid profile").await;
    for jwt in [&plain["id_token"], &plain["access_token"]] {
        let claims = jwt_payload(jwt.as_str().unwrap());
        assert!(
            claims.get("roles").is_none() && claims.get("groups").is_none(),
            "{claims}"
        );
    }
    let info = userinfo(&app, plain["access_token"].as_str().unwrap()).await;
    assert!(info.get("roles").is_none(), "{info}");
    let bob = sign_in(&app, &client, "bob", "openid roles groups").await;
    let id = jwt_payload(bob["id_token"].as_str().unwrap());
    assert_eq!((&id["roles"], &id["groups"]), (&json!([]), &json!([])));

    // Taking a role away shows in userinfo at once (it reads the live assignment).
    app.store
        .unassign_role(
            "billing",
            SubjectKind::User,
            &alice,
            &test_audit("role.unassign"),
            app.now(),
        )
        .await
        .unwrap();
    assert_eq!(userinfo(&app, at).await["roles"], json!(["editor"]));

    // Discovery says these scopes and claims exist.
    let meta = discovery(&app).await;
    for (list, name) in [
        ("scopes_supported", "roles"),
        ("scopes_supported", "groups"),
        ("claims_supported", "roles"),
        ("claims_supported", "groups"),
    ] {
        assert!(
            meta[list].as_array().unwrap().contains(&json!(name)),
            "{list} lacks {name}"
        );
    }
}

#[tokio::test]
async fn client_credentials_tokens_carry_the_clients_own_roles() {
    let app = TestApp::start().await;
    let svc = app
        .create_client(ClientSpec {
            redirect_uris: vec![],
            grant_types: vec![GrantType::ClientCredentials],
            scopes: "reports:read".into(),
            ..ClientSpec::default()
        })
        .await;
    let (status, body) = token_request(&app, &svc, &[("grant_type", "client_credentials")]).await;
    assert_eq!(status, 200, "{body}");
    let claims = jwt_payload(body["access_token"].as_str().unwrap());
    assert!(claims.get("roles").is_none(), "no roles assigned: {claims}");

    role(&app, "reporter").await;
    assert_eq!(
        app.store
            .assign_role(
                "reporter",
                SubjectKind::Client,
                &svc.id,
                &test_audit("role.assign"),
                app.now()
            )
            .await
            .unwrap(),
        Membership::Added
    );
    let (_, body) = token_request(&app, &svc, &[("grant_type", "client_credentials")]).await;
    let at = body["access_token"].as_str().unwrap();
    assert_eq!(jwt_payload(at)["roles"], json!(["reporter"]));
    // A resource server introspecting the token sees the same roles.
    let res = app
        .http()
        .post(app.url("/introspect"))
        .basic_auth(&svc.id, svc.secret.as_deref())
        .form(&[("token", at)])
        .send()
        .await
        .unwrap();
    let intro: Value = res.json().await.unwrap();
    assert_eq!(intro["active"], true);
    assert_eq!(intro["roles"], json!(["reporter"]));
}

#[tokio::test]
async fn assignments_need_an_existing_role_and_holder_and_deleting_forgets_them() {
    let app = TestApp::start().await;
    let alice = app.create_user("alice").await;
    let audit = test_audit("role.assign");
    assert_eq!(
        app.store
            .assign_role("ghost", SubjectKind::User, &alice, &audit, app.now())
            .await
            .unwrap(),
        Membership::NoSuchSet
    );
    role(&app, "editor").await;
    assert_eq!(
        app.store
            .assign_role("editor", SubjectKind::User, "nobody", &audit, app.now())
            .await
            .unwrap(),
        Membership::NoSuchSubject
    );
    assert!(app.store.role_holders("editor").await.unwrap().is_empty());
    app.store
        .assign_role("editor", SubjectKind::User, &alice, &audit, app.now())
        .await
        .unwrap();
    assert_eq!(
        app.store
            .assign_role("editor", SubjectKind::User, &alice, &audit, app.now())
            .await
            .unwrap(),
        Membership::AlreadyThere
    );
    app.store
        .delete_user(&alice, app.now(), &test_audit("user.delete"))
        .await
        .unwrap();
    assert!(app.store.role_holders("editor").await.unwrap().is_empty());
    // The audit log holds each change that happened, and only those.
    let log = app
        .store
        .list_audit(&gatehouse_core::Query {
            search: None,
            offset: 0,
            limit: 50,
        })
        .await
        .unwrap();
    let actions: Vec<&str> = log.items.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        ["user.delete", "role.assign", "role.create", "user.create"]
    );
}
