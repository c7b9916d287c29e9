//! The `gatehouse` binary as an administrator uses it: bootstrap commands, configuration
//! errors, and a server that starts, answers and stops on SIGTERM.

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Output, Stdio};

struct Env {
    dir: tempfile::TempDir,
    /// Every command's database, when not the SQLite default in `dir`.
    database_url: Option<String>,
}

impl Env {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            database_url: None,
        }
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_gatehouse"));
        c.current_dir(self.dir.path()).args(args);
        for (k, _) in std::env::vars() {
            if k.starts_with("GATEHOUSE_") {
                c.env_remove(k);
            }
        }
        if let Some(url) = &self.database_url {
            c.env("GATEHOUSE_DATABASE_URL", url);
        }
        c
    }

    fn run(&self, args: &[&str], stdin: &str) -> Output {
        let mut child = self
            .cmd(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }

    fn db_bytes(&self) -> Vec<u8> {
        let mut all = Vec::new();
        for f in ["gatehouse.db", "gatehouse.db-wal"] {
            if let Ok(b) = std::fs::read(self.dir.path().join(f)) {
                all.extend(b);
            }
        }
        all
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

/// A database URL in an error message never shows its password.
#[test]
fn database_errors_never_show_the_password() {
    let env = Env::new();
    for url in [
        "postgres://gatehouse:s3cret-pw-42@127.0.0.1:1/gatehouse",
        "postgresql://gatehouse:s3cret-pw-42@127.0.0.1:1/gh?sslmode=disable",
    ] {
        let out = env.run(&["--database-url", url, "user", "list"], "");
        assert!(!out.status.success());
        let err = stderr(&out);
        assert!(!err.contains("s3cret-pw-42"), "{err}");
        assert!(err.contains("database"), "{err}");
    }
}

#[test]
fn invalid_configuration_stops_with_one_line_naming_the_setting() {
    let env = Env::new();
    for (var, value, setting) in [
        (
            "GATEHOUSE_ISSUER",
            "http://auth.example.com",
            "GATEHOUSE_ISSUER",
        ),
        (
            "GATEHOUSE_DATABASE_URL",
            "mysql://x/y",
            "GATEHOUSE_DATABASE_URL",
        ),
        ("GATEHOUSE_LISTEN", "not-an-address", "GATEHOUSE_LISTEN"),
        (
            "GATEHOUSE_ACCESS_TOKEN_TTL",
            "0",
            "GATEHOUSE_ACCESS_TOKEN_TTL",
        ),
    ] {
        let out = env.cmd(&["serve"]).env(var, value).output().unwrap();
        assert!(!out.status.success(), "{var}={value}");
        let err = stderr(&out);
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(err.contains(setting), "{err}");
    }
    // A file with an unknown key is refused too.
    std::fs::write(env.dir.path().join("g.toml"), "isuer = \"x\"\n").unwrap();
    let out = env.cmd(&["--config", "g.toml", "serve"]).output().unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--config"), "{}", stderr(&out));
}

#[test]
fn users_are_created_from_stdin_and_stored_as_argon2id() {
    let env = Env::new();
    let password = "a long enough passphrase";
    let out = env.run(
        &[
            "user",
            "create",
            "alice",
            "--password-stdin",
            "--email",
            "a@example.com",
            "--json",
        ],
        &format!("{password}\n"),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let created: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(created["username"], "alice");
    let db = env.db_bytes();
    assert!(!contains(&db, password), "the password must not be stored");
    assert!(contains(&db, "$argon2id$v=19$m=19456,t=2,p=1$"));

    let again = env.run(
        &["user", "create", "alice", "--password-stdin"],
        "another long password\n",
    );
    assert!(!again.status.success());
    assert_eq!(
        stderr(&again).trim_end().lines().count(),
        1,
        "{}",
        stderr(&again)
    );
    assert!(stderr(&again).contains("already exists"));

    let short = env.run(&["user", "create", "bob", "--password-stdin"], "short\n");
    assert!(!short.status.success());

    let list = env.run(&["user", "list", "--json"], "");
    let users: serde_json::Value = serde_json::from_str(&stdout(&list)).unwrap();
    assert_eq!(users.as_array().unwrap().len(), 1);
}

#[test]
fn clients_get_a_secret_shown_once_and_stored_hashed() {
    let env = Env::new();
    let out = env.run(
        &[
            "client",
            "create",
            "--name",
            "Demo",
            "--redirect-uri",
            "https://app.example/cb",
            "--json",
        ],
        "",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let created: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let secret = created["client_secret"].as_str().unwrap();
    assert!(secret.len() >= 43, "256-bit secret");
    assert!(
        !contains(&env.db_bytes(), secret),
        "the secret must be stored only as a hash"
    );

    let list = env.run(&["client", "list", "--json"], "");
    assert!(!stdout(&list).contains(secret));
    let clients: serde_json::Value = serde_json::from_str(&stdout(&list)).unwrap();
    assert_eq!(clients[0]["client_id"], created["client_id"]);

    let public = env.run(
        &[
            "client",
            "create",
            "--name",
            "CLI",
            "--public",
            "--application-type",
            "native",
            "--redirect-uri",
            "http://127.0.0.1/cb",
            "--json",
        ],
        "",
    );
    let public: serde_json::Value = serde_json::from_str(&stdout(&public)).unwrap();
    assert!(public["client_secret"].is_null());
    assert_eq!(public["token_endpoint_auth_method"], "none");

    for bad in [
        vec![
            "client",
            "create",
            "--name",
            "X",
            "--redirect-uri",
            "http://app.example/cb",
        ],
        vec![
            "client",
            "create",
            "--name",
            "X",
            "--redirect-uri",
            "https://app.example/cb#frag",
        ],
        vec!["client", "create", "--name", "X"],
        vec![
            "client",
            "create",
            "--name",
            "X",
            "--redirect-uri",
            "https://a.example/cb",
            "--auth-method",
            "private_key_jwt",
        ],
    ] {
        let out = env.run(&bad, "");
        assert!(!out.status.success(), "{bad:?}");
        assert_eq!(
            stderr(&out).trim_end().lines().count(),
            1,
            "{}",
            stderr(&out)
        );
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn http_get(port: u16, path: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

/// One HTTP/1.1 request with `Connection: close`: (status, body).
fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out[9..12].parse().unwrap();
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// Starts `gatehouse serve` listening on `port` as `issuer`, and waits for its "listening"
/// log line (no sleeping).
fn serve(env: &Env, issuer: &str, port: u16) -> std::process::Child {
    let mut child = env
        .cmd(&[])
        .env("GATEHOUSE_ISSUER", issuer)
        .env("GATEHOUSE_LISTEN", format!("127.0.0.1:{port}"))
        .env("GATEHOUSE_KEY_ROTATION_LEAD_TIME", "0")
        .env("GATEHOUSE_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    loop {
        let line = lines.next().expect("server exited early").unwrap();
        if line.contains("is listening") {
            break;
        }
    }
    // Keep draining the log so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    child
}

/// The hardening issue's multi-node key test with two real `gatehouse serve` processes on
/// one database: a key rotated through node A's admin API signs A's next token, and node B,
/// which has not reloaded its ring yet, reloads it on seeing the unknown kid: it
/// introspects the token, publishes the key and records its revocation.
#[test]
fn two_server_processes_share_one_key_ring() {
    use base64::Engine;
    let mut env = Env::new();
    // On PostgreSQL when the test pass names a server (a fresh database, as the end-to-end
    // tests make), else on the SQLite file in the working directory.
    if let Ok(base) = std::env::var("GATEHOUSE_TEST_POSTGRES") {
        let base = base.trim_end_matches('/').to_owned();
        let name = format!("gh_cli{}", std::process::id());
        let ok = Command::new("psql")
            .arg(format!("{base}/postgres"))
            .args(["-q", "-c", &format!("CREATE DATABASE {name}")])
            .status()
            .unwrap()
            .success();
        assert!(ok, "creating {name}");
        env.database_url = Some(format!("{base}/{name}"));
    }
    let robot = json_out(&env.run(
        &[
            "client",
            "create",
            "--name",
            "Robot",
            "--grant-type",
            "client_credentials",
            "--scope",
            "gatehouse:admin",
            "--json",
        ],
        "",
    ));
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            robot["client_id"].as_str().unwrap(),
            robot["client_secret"].as_str().unwrap()
        ))
    );
    let (pa, pb) = (free_port(), free_port());
    let issuer = format!("http://127.0.0.1:{pa}");
    let mut a = serve(&env, &issuer, pa);
    let mut b = serve(&env, &issuer, pb);
    let form = [
        ("Content-Type", "application/x-www-form-urlencoded"),
        ("Authorization", basic.as_str()),
    ];
    let json = |body: &str| -> serde_json::Value { serde_json::from_str(body).unwrap() };
    let (status, t) = http(
        pa,
        "POST",
        "/token",
        &form,
        "grant_type=client_credentials&scope=gatehouse%3Aadmin",
    );
    assert_eq!(status, 200, "{t}");
    let admin = format!("Bearer {}", json(&t)["access_token"].as_str().unwrap());
    let (status, key) = http(
        pa,
        "POST",
        "/admin/api/keys/rotate",
        &[
            ("Authorization", admin.as_str()),
            ("Content-Type", "application/json"),
        ],
        r#"{"alg":"ES256"}"#,
    );
    assert_eq!(status, 201, "{key}");
    let kid = json(&key)["kid"].as_str().unwrap().to_owned();
    let (_, t) = http(pa, "POST", "/token", &form, "grant_type=client_credentials");
    let token = json(&t)["access_token"].as_str().unwrap().to_owned();
    let header = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token.split('.').next().unwrap())
        .unwrap();
    assert_eq!(
        json(&String::from_utf8(header).unwrap())["kid"],
        kid.as_str()
    );
    let (status, info) = http(pb, "POST", "/introspect", &form, &format!("token={token}"));
    assert_eq!(status, 200);
    assert_eq!(
        json(&info)["active"],
        true,
        "B reloads for the unknown kid: {info}"
    );
    let (_, jwks) = http(pb, "GET", "/jwks.json", &[], "");
    assert!(jwks.contains(&kid), "B publishes the new key");
    let (status, _) = http(pb, "POST", "/revoke", &form, &format!("token={token}"));
    assert_eq!(status, 200);
    let (_, info) = http(pa, "POST", "/introspect", &form, &format!("token={token}"));
    assert_eq!(
        json(&info)["active"],
        false,
        "the revocation on B holds on A"
    );
    for child in [&mut a, &mut b] {
        child.kill().unwrap();
        child.wait().unwrap();
    }
}

#[test]
fn serve_generates_keys_answers_and_stops_on_sigterm() {
    let env = Env::new();
    let port = free_port();
    let mut child = env
        .cmd(&[])
        .env("GATEHOUSE_ISSUER", format!("http://127.0.0.1:{port}"))
        .env("GATEHOUSE_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = Vec::new();
    loop {
        let line = lines.next().expect("server exited early").unwrap();
        let ready = line.contains("is listening");
        seen.push(line);
        if ready {
            break;
        }
    }
    let log = seen.join("\n");
    assert!(log.contains(&format!("127.0.0.1:{port}")), "{log}");

    let ready = http_get(port, "/health/ready");
    assert!(ready.starts_with("HTTP/1.1 200"), "{ready}");
    let doc = http_get(port, "/.well-known/openid-configuration");
    assert!(
        doc.contains(&format!("\"issuer\":\"http://127.0.0.1:{port}\"")),
        "{doc}"
    );

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // The signing keys are in the database; the folder holds only the key-encryption
        // key that seals them, readable by the owner alone.
        let keys: Vec<_> = std::fs::read_dir(env.dir.path().join("keys"))
            .unwrap()
            .map(|e| e.unwrap())
            .collect();
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].file_name(), "key-encryption-key");
        assert_eq!(
            keys[0].metadata().unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert!(!contains(&env.db_bytes(), "PRIVATE KEY"), "keys are sealed");
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let exit = child.wait().unwrap();
        assert!(exit.success(), "graceful shutdown exits 0: {exit:?}");
    }
    #[cfg(not(unix))]
    child.kill().unwrap();
}

fn json_out(o: &Output) -> serde_json::Value {
    assert!(o.status.success(), "{}", stderr(o));
    serde_json::from_str(&stdout(o)).unwrap()
}

#[test]
fn users_are_administered_from_the_command_line() {
    let env = Env::new();
    env.run(
        &["user", "create", "bob", "--password-stdin"],
        "first password\n",
    );
    let shown = json_out(&env.run(&["user", "show", "bob", "--json"], ""));
    assert_eq!(shown["disabled"], false);
    assert!(env.run(&["user", "disable", "bob"], "").status.success());
    assert_eq!(
        json_out(&env.run(&["user", "show", "bob", "--json"], ""))["disabled"],
        true
    );
    assert!(env.run(&["user", "enable", "bob"], "").status.success());
    assert_eq!(
        json_out(&env.run(&["user", "show", "bob", "--json"], ""))["disabled"],
        false
    );
    let before = env.db_bytes();
    assert!(
        env.run(
            &["user", "set-password", "bob", "--password-stdin"],
            "second password\n"
        )
        .status
        .success()
    );
    assert_ne!(before, env.db_bytes());
    assert!(!contains(&env.db_bytes(), "second password"));
    let deleted = json_out(&env.run(&["user", "delete", "bob", "--json"], ""));
    assert_eq!(deleted["deleted"], true);
    let gone = env.run(&["user", "show", "bob"], "");
    assert!(!gone.status.success());
    assert_eq!(stderr(&gone).trim_end().lines().count(), 1);
}

#[test]
fn clients_are_administered_from_the_command_line() {
    let env = Env::new();
    let created = json_out(&env.run(
        &[
            "client",
            "create",
            "--name",
            "Demo",
            "--redirect-uri",
            "https://app.example/cb",
            "--json",
        ],
        "",
    ));
    let id = created["client_id"].as_str().unwrap().to_owned();
    let old_secret = created["client_secret"].as_str().unwrap().to_owned();

    let updated = json_out(&env.run(
        &[
            "client",
            "update",
            &id,
            "--name",
            "Demo 2",
            "--redirect-uri",
            "https://app.example/new",
            "--json",
        ],
        "",
    ));
    assert_eq!(updated["client_name"], "Demo 2");
    assert_eq!(
        updated["redirect_uris"],
        serde_json::json!(["https://app.example/new"])
    );
    // Validation applies to updates too.
    let bad = env.run(
        &[
            "client",
            "update",
            &id,
            "--redirect-uri",
            "http://insecure.example/cb",
        ],
        "",
    );
    assert!(!bad.status.success());

    let rotated = json_out(&env.run(&["client", "rotate-secret", &id, "--json"], ""));
    let new_secret = rotated["client_secret"].as_str().unwrap();
    assert_ne!(new_secret, old_secret);
    assert!(!contains(&env.db_bytes(), new_secret), "stored only hashed");
    let shown = json_out(&env.run(&["client", "show", &id, "--json"], ""));
    assert!(shown.get("client_secret").is_none());

    assert!(env.run(&["client", "delete", &id], "").status.success());
    assert!(!env.run(&["client", "show", &id], "").status.success());
}

#[test]
fn signing_keys_are_listed_and_rotated() {
    let env = Env::new();
    // Listing never creates keys.
    let keys = json_out(&env.run(&["keys", "list", "--json"], ""));
    assert_eq!(keys.as_array().unwrap().len(), 0);
    assert!(
        !env.dir
            .path()
            .join("keys")
            .join("key-encryption-key")
            .exists()
    );
    // A rotation opens the ring (generating what a first start would), publishes the new
    // key and lets it sign after the lead time.
    let rotated = json_out(&env.run(&["keys", "rotate", "--alg", "ES256", "--json"], ""));
    let kid = rotated["kid"].as_str().unwrap();
    let keys = json_out(&env.run(&["keys", "list", "--json"], ""));
    let keys = keys.as_array().unwrap();
    assert_eq!(keys.len(), 3, "the old ES256 key stays published");
    let new = keys.iter().find(|k| k["kid"] == kid).unwrap();
    assert_eq!(new["state"], "next", "published before it signs");
    let rotated = json_out(&env.run(
        &[
            "keys",
            "rotate",
            "--alg",
            "ES256",
            "--key-rotation-lead-time",
            "0",
            "--json",
        ],
        "",
    ));
    let kid = rotated["kid"].as_str().unwrap();
    let keys = json_out(&env.run(&["keys", "list", "--json"], ""));
    let signing: Vec<&serde_json::Value> = keys
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["alg"] == "ES256" && k["signing"] == true)
        .collect();
    assert_eq!(signing.len(), 1);
    assert_eq!(signing[0]["kid"], kid);
    // The rotation is in the audit log, by the operating-system account that ran it.
    let db = env.db_bytes();
    assert!(contains(&db, "key.rotate") && contains(&db, kid), "audited");
    assert!(
        !env.run(&["keys", "rotate", "--alg", "HS256"], "")
            .status
            .success()
    );
}

#[test]
fn registration_tokens_are_created_once_and_stored_hashed() {
    let env = Env::new();
    let t = json_out(&env.run(
        &[
            "registration-token",
            "create",
            "--ttl",
            "600",
            "--uses",
            "3",
            "--json",
        ],
        "",
    ));
    let token = t["registration_token"].as_str().unwrap();
    assert!(token.len() >= 43);
    assert_eq!(t["uses"], 3);
    assert!(!contains(&env.db_bytes(), token));
    assert!(
        !env.run(&["registration-token", "create", "--uses", "0"], "")
            .status
            .success()
    );
    // An allowance beyond the registration policy; Gatehouse's own scopes never.
    let t = json_out(&env.run(
        &[
            "registration-token",
            "create",
            "--allow-scope",
            "reports:read",
            "--allow-grant-type",
            "client_credentials",
            "--json",
        ],
        "",
    ));
    assert_eq!(t["allow_scopes"], serde_json::json!(["reports:read"]));
    let refused = env.run(
        &[
            "registration-token",
            "create",
            "--allow-scope",
            "gatehouse:admin",
        ],
        "",
    );
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("reserved"),
        "{}",
        stderr(&refused)
    );
}

#[test]
fn apis_are_registered_listed_and_removed_from_the_command_line() {
    let env = Env::new();
    let api = "https://orders.example/api";
    let created = json_out(&env.run(
        &[
            "resource",
            "create",
            api,
            "--name",
            "Orders",
            "--scope",
            "orders:read",
            "--scope",
            "orders:write",
            "--json",
        ],
        "",
    ));
    assert_eq!(created["scopes"], "orders:read orders:write");
    // A scope belongs to one API; the issuer's and Gatehouse's own scopes to none.
    for (id, scope) in [
        ("https://other.example", "orders:read"),
        ("https://other.example", "openid"),
        ("https://other.example", "gatehouse:admin"),
        ("http://plain.example", "x"),
    ] {
        let out = env.run(
            &["resource", "create", id, "--name", "X", "--scope", scope],
            "",
        );
        assert!(!out.status.success(), "{id} {scope}");
    }
    let list = json_out(&env.run(&["resource", "list", "--json"], ""));
    let ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["identifier"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["http://127.0.0.1:8080/admin/api", api]);
    assert!(env.run(&["resource", "delete", api], "").status.success());
    assert!(!env.run(&["resource", "delete", api], "").status.success());
}

#[test]
fn admins_roles_and_groups_are_administered_from_the_command_line() {
    let env = Env::new();
    let admin = json_out(&env.run(
        &["admin", "create", "root", "--password-stdin", "--json"],
        "a long admin passphrase\n",
    ));
    assert_eq!(admin["roles"], serde_json::json!(["admin"]));
    let shown = json_out(&env.run(&["role", "show", "admin", "--json"], ""));
    assert_eq!(shown["holders"][0]["kind"], "user");
    assert_eq!(shown["holders"][0]["id"], admin["id"]);

    // A role with permissions, given to a user and to a client.
    let out = env.run(
        &[
            "role",
            "create",
            "editor",
            "--permission",
            "posts.write",
            "--description",
            "Edits posts",
        ],
        "",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    env.run(
        &["user", "create", "bob", "--password-stdin"],
        "bob's long password\n",
    );
    let client = json_out(&env.run(
        &[
            "client",
            "create",
            "--name",
            "svc",
            "--redirect-uri",
            "https://svc.example/cb",
            "--json",
        ],
        "",
    ));
    let client_id = client["client_id"].as_str().unwrap();
    assert!(
        env.run(&["role", "assign", "editor", "--user", "bob"], "")
            .status
            .success()
    );
    assert!(
        env.run(&["role", "assign", "editor", "--client", client_id], "")
            .status
            .success()
    );
    let editor = json_out(&env.run(&["role", "show", "editor", "--json"], ""));
    assert_eq!(editor["permissions"], serde_json::json!(["posts.write"]));
    assert_eq!(editor["holders"].as_array().unwrap().len(), 2);
    assert!(
        env.run(&["role", "unassign", "editor", "--client", client_id], "")
            .status
            .success()
    );
    let editor = json_out(&env.run(&["role", "show", "editor", "--json"], ""));
    assert_eq!(editor["holders"].as_array().unwrap().len(), 1);

    // Groups.
    assert!(env.run(&["group", "create", "team-a"], "").status.success());
    assert!(
        env.run(&["group", "add", "team-a", "bob"], "")
            .status
            .success()
    );
    let group = json_out(&env.run(&["group", "show", "team-a", "--json"], ""));
    assert_eq!(group["members"].as_array().unwrap().len(), 1);

    // Mistakes get one line and a non-zero exit.
    for (args, needle) in [
        (
            &["role", "assign", "ghost", "--user", "bob"][..],
            "no such role",
        ),
        (
            &["role", "assign", "editor", "--user", "nobody"][..],
            "no such user",
        ),
        (&["role", "create", "editor"][..], "already exists"),
        (&["role", "create", "bad name"][..], "role name"),
        (&["role", "delete", "admin"][..], "built in"),
        (&["group", "add", "ghost", "bob"][..], "no such group"),
        (&["role", "assign", "editor"][..], "--user"),
    ] {
        let out = env.run(args, "");
        assert!(!out.status.success(), "{args:?}");
        assert!(stderr(&out).contains(needle), "{args:?}: {}", stderr(&out));
    }
    assert!(env.run(&["role", "delete", "editor"], "").status.success());
    assert!(!env.run(&["role", "show", "editor"], "").status.success());
}

#[test]
fn new_passwords_follow_the_nist_policy() {
    let env = Env::new();
    for (password, needle) in [
        ("elevenchars", "at least 12"),
        ("unbelievable", "most commonly used"),
        ("carol-the-user", "username"),
    ] {
        let out = env.run(
            &["user", "create", "carol-the-user", "--password-stdin"],
            &format!("{password}\n"),
        );
        assert!(!out.status.success(), "{password}");
        assert!(
            stderr(&out).contains(needle),
            "{password}: {}",
            stderr(&out)
        );
    }
    // Any Unicode, spaces included, and long passphrases are fine.
    let long = "ünïcödé pässphrase ".repeat(7);
    let out = env.run(
        &["user", "create", "carol-the-user", "--password-stdin"],
        &format!("{long}\n"),
    );
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn the_last_administrator_stays() {
    let env = Env::new();
    env.run(
        &["admin", "create", "root", "--password-stdin"],
        "a long admin passphrase\n",
    );
    env.run(
        &["user", "create", "plain", "--password-stdin"],
        "a long plain passphrase\n",
    );
    // An ordinary user comes and goes as before.
    assert!(env.run(&["user", "disable", "plain"], "").status.success());
    for args in [
        &["user", "disable", "root"][..],
        &["user", "delete", "root"][..],
        &["role", "unassign", "admin", "--user", "root"][..],
    ] {
        let out = env.run(args, "");
        assert!(!out.status.success(), "{args:?}");
        assert!(
            stderr(&out).contains("last enabled administrator"),
            "{}",
            stderr(&out)
        );
    }
    env.run(
        &["admin", "create", "second", "--password-stdin"],
        "another admin passphrase\n",
    );
    assert!(env.run(&["user", "disable", "root"], "").status.success());
}
