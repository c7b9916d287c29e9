//! Test support: a real Gatehouse on a loopback port over a fresh database, a controllable
//! clock, and a small cookie-keeping browser that follows nothing on its own.
//!
//! The database is a fresh SQLite file per test, or, when `GATEHOUSE_TEST_POSTGRES` names a
//! PostgreSQL server (`postgres://user@host:port`), a fresh database on it.

use std::collections::HashMap;
use std::sync::Arc;

use gatehouse_core::{
    ApplicationType, ClientAuthMethod, Clock, GrantType, ManualClock, NewClient, Scopes, secret,
};
use gatehouse_server::{App, Config, RawConfig};
use gatehouse_storage::{NewUser, Store};
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use tokio::sync::oneshot;

pub use reqwest;

pub const PASSWORD: &str = "correct horse battery staple";

pub struct TestApp {
    /// The issuer, e.g. `http://127.0.0.1:41234`.
    pub base: String,
    pub clock: Arc<ManualClock>,
    pub store: Store,
    _dir: tempfile::TempDir,
    shutdown: Option<oneshot::Sender<()>>,
    /// (server URL, database name) of this app's PostgreSQL test database, if any.
    pub postgres: Option<(String, String)>,
    database_url: String,
    /// The configuration the server was built from (the command line runs with it too).
    pub config: gatehouse_server::Config,
}

/// What a second node shares with the first.
struct Shared {
    issuer: String,
    database_url: String,
    postgres: Option<(String, String)>,
    clock: Arc<ManualClock>,
    kek_file: std::path::PathBuf,
}

/// A registered client as a test knows it.
#[derive(Debug, Clone)]
pub struct TestClient {
    pub id: String,
    pub secret: Option<String>,
    pub redirect_uri: String,
}

/// How to register a test client; `Default` is a confidential web client using
/// client_secret_basic with one redirect URI.
#[derive(Debug, Clone)]
pub struct ClientSpec {
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub auth_method: ClientAuthMethod,
    pub application_type: ApplicationType,
    pub scopes: String,
    pub grant_types: Vec<GrantType>,
    pub jwks: Option<String>,
    pub jwks_uri: Option<String>,
    pub access_token_format: gatehouse_core::AccessTokenFormat,
    pub links: gatehouse_core::ClientLinks,
    /// Origins for CORS; empty: those of the redirect URIs.
    pub allowed_origins: Vec<String>,
}

/// The claims of a JWT, read without verifying it (the signature is checked elsewhere, by
/// the `openidconnect` crate and the resource-server tests).
pub fn jwt_payload(jwt: &str) -> serde_json::Value {
    use base64::Engine;
    let part = jwt.split('.').nth(1).expect("a JWT has three parts");
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .expect("base64url payload"),
    )
    .expect("JSON payload")
}

/// An audit entry for changes the tests make behind the server's back.
pub fn test_audit(action: &str) -> gatehouse_core::Audit {
    gatehouse_core::Audit::new("test", action, "-")
}

impl Default for ClientSpec {
    fn default() -> Self {
        Self {
            name: "Test App".into(),
            redirect_uris: vec!["https://app.example/callback".into()],
            post_logout_redirect_uris: vec!["https://app.example/signed-out".into()],
            auth_method: ClientAuthMethod::ClientSecretBasic,
            application_type: ApplicationType::Web,
            scopes: String::new(),
            grant_types: vec![GrantType::AuthorizationCode],
            jwks: None,
            jwks_uri: None,
            access_token_format: gatehouse_core::AccessTokenFormat::Jwt,
            links: Default::default(),
            allowed_origins: vec![],
        }
    }
}

/// Runs SQL on the test PostgreSQL server (in its `postgres` database).
pub fn psql(base: &str, sql: &str) -> bool {
    std::process::Command::new("psql")
        .arg(format!("{base}/postgres"))
        .args(["-q", "-c", sql])
        .status()
        .expect("psql must be installed when GATEHOUSE_TEST_POSTGRES is set")
        .success()
}

/// A fresh database on the server named by `GATEHOUSE_TEST_POSTGRES`: (server, name).
fn postgres_database() -> Option<(String, String)> {
    let base = std::env::var("GATEHOUSE_TEST_POSTGRES").ok()?;
    let base = base.trim_end_matches('/').to_owned();
    let name = format!(
        "gh_{}",
        secret::random_token(9)
            .to_lowercase()
            .replace(['-', '_'], "x")
    );
    assert!(
        psql(&base, &format!("CREATE DATABASE {name}")),
        "creating test database {name} failed"
    );
    Some((base, name))
}

impl TestApp {
    pub async fn start() -> Self {
        Self::start_with(RawConfig::default()).await
    }

    /// Starts with extra settings; issuer, listen address, database and keys are the test's.
    pub async fn start_with(extra: RawConfig) -> Self {
        Self::start_at_path("", extra).await
    }

    /// Starts with an issuer that has a path, e.g. `http://127.0.0.1:PORT/tenant`.
    pub async fn start_at_path(path: &str, extra: RawConfig) -> Self {
        Self::try_start(path, extra, None).await.expect("app")
    }

    /// A second server (its own listener, pools and key ring in memory) on this one's
    /// database, with its issuer, key-encryption key and clock: a second node behind the
    /// same name. Its `base` is its own address.
    pub async fn start_sharing(&self, extra: RawConfig) -> Self {
        self.try_start_sharing(extra).await.expect("second node")
    }

    /// As [`TestApp::start_sharing`], returning the start-up error.
    pub async fn try_start_sharing(&self, extra: RawConfig) -> Result<Self, String> {
        let shared = Shared {
            issuer: self.base.clone(),
            database_url: self.database_url.clone(),
            postgres: self.postgres.clone(),
            clock: self.clock.clone(),
            kek_file: self._dir.path().join("keys").join("key-encryption-key"),
        };
        Self::try_start("", extra, Some(shared)).await
    }

    async fn try_start(
        path: &str,
        extra: RawConfig,
        shared: Option<Shared>,
    ) -> Result<Self, String> {
        let dir = tempfile::tempdir().expect("temp dir");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let base = format!("http://{addr}{path}");
        let (postgres, database_url) = match &shared {
            Some(s) => (s.postgres.clone(), s.database_url.clone()),
            None => {
                let postgres = postgres_database();
                let url = match &postgres {
                    Some((base, name)) => format!("{base}/{name}"),
                    None => format!("sqlite://{}", dir.path().join("gatehouse.db").display()),
                };
                (postgres, url)
            }
        };
        let kek_file = match &shared {
            Some(s) if extra.key_encryption_key.is_none() => Some(s.kek_file.clone()),
            _ => extra.key_encryption_key_file.clone(),
        };
        // Nodes behind one balancer share the issuer; each listens on its own port.
        let issuer = match &shared {
            Some(s) => s.issuer.clone(),
            None => base.clone(),
        };
        let config = Config::load(RawConfig {
            issuer: Some(issuer),
            listen: Some(addr.to_string()),
            database_url: Some(database_url.clone()),
            keys_dir: Some(
                extra
                    .keys_dir
                    .clone()
                    .unwrap_or_else(|| dir.path().join("keys")),
            ),
            key_encryption_key_file: kek_file,
            ..extra
        })
        .map_err(|e| e.to_string())?;
        // The clock starts at the real time (independent clients check expiry against it)
        // and then moves only when a test says so.
        let clock = match &shared {
            Some(s) => s.clock.clone(),
            None => Arc::new(ManualClock::new(gatehouse_core::SystemClock.now())),
        };
        let app = App::build(config.clone(), clock.clone())
            .await
            .map_err(|e| e.to_string())?;
        let store = app.store.clone();
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(app.serve(listener, async {
            let _ = rx.await;
        }));
        Ok(Self {
            base,
            clock,
            store,
            _dir: dir,
            shutdown: Some(tx),
            postgres,
            database_url,
            config,
        })
    }

    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    /// The SQLite database file, when the test runs on SQLite.
    pub fn database_path(&self) -> Option<std::path::PathBuf> {
        self.postgres
            .is_none()
            .then(|| self._dir.path().join("gatehouse.db"))
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn create_user(&self, username: &str) -> String {
        self.create_user_with(
            username,
            Some(&format!("{username}@example.com")),
            Some("Test User"),
        )
        .await
    }

    pub async fn create_user_with(
        &self,
        username: &str,
        email: Option<&str>,
        name: Option<&str>,
    ) -> String {
        let hash = gatehouse_authorize::password::hash_async(PASSWORD.into())
            .await
            .expect("hash");
        let id = secret::random_token(16);
        self.store
            .create_user(
                NewUser {
                    id: &id,
                    username,
                    password_hash: &hash,
                    email,
                    name,
                    roles: &[],
                },
                self.now(),
                &test_audit("user.create"),
            )
            .await
            .expect("create user");
        id
    }

    pub async fn create_client(&self, spec: ClientSpec) -> TestClient {
        let new = NewClient {
            name: spec.name,
            redirect_uris: spec.redirect_uris.clone(),
            post_logout_redirect_uris: spec.post_logout_redirect_uris,
            grant_types: spec.grant_types,
            scopes: Scopes::parse(&spec.scopes).expect("scopes"),
            auth_method: spec.auth_method,
            application_type: spec.application_type,
            jwks: spec.jwks,
            jwks_uri: spec.jwks_uri,
            access_token_format: spec.access_token_format,
            links: spec.links,
            allowed_origins: spec.allowed_origins,
        };
        new.validate().expect("valid client");
        let id = secret::new_client_id();
        let client_secret = matches!(
            spec.auth_method,
            ClientAuthMethod::ClientSecretBasic | ClientAuthMethod::ClientSecretPost
        )
        .then(secret::new_secret);
        self.store
            .create_client(
                &id,
                client_secret.as_deref().map(secret::hash_secret),
                None,
                &new,
                self.now(),
                &test_audit("client.create"),
            )
            .await
            .expect("create client");
        TestClient {
            id,
            secret: client_secret,
            redirect_uri: spec.redirect_uris.first().cloned().unwrap_or_default(),
        }
    }

    pub fn browser(&self) -> Browser {
        Browser::new(&self.base)
    }

    /// A plain HTTP client that does not follow redirects.
    pub fn http(&self) -> reqwest::Client {
        http_client()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        // PostgreSQL test databases are not dropped here: DROP DATABASE waits for every
        // backend to acknowledge it, which stalled tests for a minute while this app's pool
        // was still open. `scripts/test` removes the leftovers before each run.
    }
}

pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// PKCE pair: (verifier, S256 challenge).
pub fn pkce_pair() -> (String, String) {
    let verifier = secret::new_secret();
    let challenge = secret::sha256_b64(verifier.as_bytes());
    (verifier, challenge)
}

/// Builds `/authorize?...` from pairs.
pub fn authorize_url(app: &TestApp, pairs: &[(&str, &str)]) -> String {
    let query: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    app.url(&format!("/authorize?{query}"))
}

/// The standard pairs of an OpenID code request with PKCE.
pub fn code_request<'a>(
    client: &'a TestClient,
    challenge: &'a str,
    scope: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("response_type", "code"),
        ("client_id", &client.id),
        ("redirect_uri", &client.redirect_uri),
        ("scope", scope),
        ("state", "st-123"),
        ("nonce", "n-456"),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
    ]
}

/// The query parameters of a URL.
pub fn query_of(url: &str) -> HashMap<String, String> {
    let parsed = url::Url::parse(url).expect("absolute URL");
    parsed.query_pairs().into_owned().collect()
}

pub fn location(res: &reqwest::Response) -> Option<String> {
    res.headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// The value of a hidden or text input in an HTML page.
pub fn input_value(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_owned())
}

/// A browser: keeps cookies per name, never follows redirects on its own.
pub struct Browser {
    base: String,
    http: reqwest::Client,
    pub cookies: HashMap<String, String>,
    /// Sent as `X-Forwarded-For` on every request: the address this browser appears to
    /// come from when the server trusts the loopback proxy (`trusted_proxies`).
    pub forwarded_for: Option<String>,
}

pub struct Page {
    pub status: u16,
    pub headers: HeaderMap,
    pub location: Option<String>,
    pub body: String,
}

impl Browser {
    pub fn new(base: &str) -> Self {
        Self {
            base: base.to_owned(),
            http: http_client(),
            cookies: HashMap::new(),
            forwarded_for: None,
        }
    }

    fn absolute(&self, url: &str) -> String {
        if url.starts_with("http") {
            url.to_owned()
        } else {
            format!("{}{url}", self.base)
        }
    }

    /// The `Cookie` header this browser sends.
    pub fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn finish(&mut self, res: reqwest::Response) -> Page {
        for value in res.headers().get_all(SET_COOKIE) {
            let value = value.to_str().expect("ascii cookie");
            let pair = value.split(';').next().unwrap_or_default();
            if let Some((k, v)) = pair.split_once('=') {
                if v.is_empty() || value.contains("Max-Age=0") {
                    self.cookies.remove(k);
                } else {
                    self.cookies.insert(k.to_owned(), v.to_owned());
                }
            }
        }
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let location = location(&res);
        let body = res.text().await.unwrap_or_default();
        Page {
            status,
            headers,
            location,
            body,
        }
    }

    /// This browser, appearing to come from `address` (see `forwarded_for`).
    pub fn from_address(mut self, address: &str) -> Self {
        self.forwarded_for = Some(address.to_owned());
        self
    }

    fn request(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        let req = req.header("cookie", self.cookie_header());
        match &self.forwarded_for {
            Some(a) => req.header("x-forwarded-for", a),
            None => req,
        }
    }

    pub async fn get(&mut self, url: &str) -> Page {
        let res = self
            .request(self.http.get(self.absolute(url)))
            .send()
            .await
            .expect("GET");
        self.finish(res).await
    }

    pub async fn post(&mut self, url: &str, form: &[(&str, &str)]) -> Page {
        let body: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let res = self
            .request(self.http.post(self.absolute(url)))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .expect("POST");
        self.finish(res).await
    }

    /// Submits the login form shown at `login_url`.
    pub async fn login(&mut self, login_url: &str, username: &str, password: &str) -> Page {
        let page = self.get(login_url).await;
        assert_eq!(page.status, 200, "login page: {}", page.body);
        let csrf = input_value(&page.body, "csrf_token").expect("csrf token on login page");
        let request = input_value(&page.body, "request");
        let device = input_value(&page.body, "device");
        let mut form = vec![
            ("csrf_token", csrf.as_str()),
            ("username", username),
            ("password", password),
        ];
        if let Some(r) = &request {
            form.push(("request", r));
        }
        if let Some(d) = &device {
            form.push(("device", d));
        }
        self.post("/login", &form).await
    }

    /// Answers the consent page shown at `consent_url` with `decision` (allow or deny).
    pub async fn consent(&mut self, consent_url: &str, decision: &str) -> Page {
        let page = self.get(consent_url).await;
        assert_eq!(page.status, 200, "consent page: {}", page.body);
        let csrf = input_value(&page.body, "csrf_token").expect("csrf token on consent page");
        let request = input_value(&page.body, "request").expect("request id on consent page");
        self.post(
            "/consent",
            &[
                ("csrf_token", &csrf),
                ("request", &request),
                ("decision", decision),
            ],
        )
        .await
    }

    /// Walks an authorization request through sign-in and consent as a user would, and
    /// returns the redirect to the client.
    pub async fn authorize(&mut self, url: &str, username: &str) -> String {
        let mut page = self.get(url).await;
        for _ in 0..6 {
            let loc = page.location.clone().expect("a redirect at every step");
            if loc.contains("/login?") {
                page = self.login(&loc, username, PASSWORD).await;
            } else if loc.contains("/consent?") {
                page = self.consent(&loc, "allow").await;
            } else if loc.contains("/authorize/continue?") {
                page = self.get(&loc).await;
            } else {
                return loc;
            }
        }
        panic!("authorization did not finish");
    }
}

/// Exchanges a code at the token endpoint with client_secret_basic (or none, for public
/// clients) and returns (status, JSON body).
pub async fn exchange_code(
    app: &TestApp,
    client: &TestClient,
    code: &str,
    verifier: Option<&str>,
) -> (u16, serde_json::Value) {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", client.redirect_uri.as_str()),
    ];
    if let Some(v) = verifier {
        form.push(("code_verifier", v));
    }
    token_request(app, client, &form).await
}

/// POSTs a form to /token authenticating as `client` and returns (status, JSON body).
pub async fn token_request(
    app: &TestApp,
    client: &TestClient,
    form: &[(&str, &str)],
) -> (u16, serde_json::Value) {
    let mut req = app.http().post(app.url("/token"));
    let mut form: Vec<(&str, &str)> = form.to_vec();
    match &client.secret {
        Some(s) => req = req.basic_auth(&client.id, Some(s)),
        None => form.push(("client_id", &client.id)),
    }
    let res = req.form(&form).send().await.expect("token request");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(serde_json::Value::Null))
}

/// Runs a whole code flow for `username` and returns the token response.
pub async fn sign_in(
    app: &TestApp,
    client: &TestClient,
    username: &str,
    scope: &str,
) -> serde_json::Value {
    let (verifier, challenge) = pkce_pair();
    let url = authorize_url(app, &code_request(client, &challenge, scope));
    let callback = app.browser().authorize(&url, username).await;
    let code = query_of(&callback)
        .remove("code")
        .expect("code in callback");
    let (status, body) = exchange_code(app, client, &code, Some(&verifier)).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// The discovery document, as a client reads it.
pub async fn discovery(app: &TestApp) -> serde_json::Value {
    app.http()
        .get(app.url("/.well-known/openid-configuration"))
        .send()
        .await
        .expect("discovery")
        .json()
        .await
        .expect("discovery JSON")
}

/// A client-credentials client registered for `scope`, and a fresh access token for it.
/// A confidential client-credentials client ("a robot") registered for `scopes`.
pub async fn robot(app: &TestApp, scopes: &str) -> TestClient {
    app.create_client(ClientSpec {
        name: "Robot".into(),
        redirect_uris: vec![],
        grant_types: vec![GrantType::ClientCredentials],
        scopes: scopes.into(),
        ..ClientSpec::default()
    })
    .await
}

/// `POST /register` (RFC 7591) with an optional initial access token.
pub async fn register(
    app: &TestApp,
    bearer: Option<&str>,
    body: &serde_json::Value,
) -> (u16, serde_json::Value) {
    let mut req = app.http().post(app.url("/register")).json(body);
    if let Some(b) = bearer {
        req = req.bearer_auth(b);
    }
    let res = req.send().await.expect("register");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(serde_json::Value::Null))
}

/// An initial access token for registration, allowing `allows` beyond the policy.
pub async fn initial_token(
    app: &TestApp,
    allows: Option<&gatehouse_core::client::RegistrationPolicy>,
    uses: Option<i64>,
    ttl: i64,
) -> String {
    let t = secret::new_secret();
    app.store
        .create_registration_token(
            &secret::hash_secret(&t),
            uses,
            allows,
            app.now(),
            app.now() + ttl,
            &test_audit("registration_token.create"),
        )
        .await
        .expect("registration token");
    t
}

pub async fn service_token(app: &TestApp, scope: &str) -> (TestClient, String) {
    let svc = app
        .create_client(ClientSpec {
            name: "Admin robot".into(),
            redirect_uris: vec![],
            grant_types: vec![GrantType::ClientCredentials],
            scopes: scope.into(),
            ..ClientSpec::default()
        })
        .await;
    // Asked for by name: an API's scope (gatehouse:admin is the admin API's) never comes
    // by default (RFC 8707).
    let mut form = vec![("grant_type", "client_credentials")];
    if !scope.is_empty() {
        form.push(("scope", scope));
    }
    let (status, body) = token_request(app, &svc, &form).await;
    assert_eq!(status, 200, "{body}");
    let token = body["access_token"]
        .as_str()
        .expect("access token")
        .to_owned();
    (svc, token)
}
