//! The `gatehouse` binary's library half: configuration, wiring of the endpoint crates into
//! one router, and the administrative commands. `main.rs` only parses the command line.

pub mod cli;
pub mod config;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use gatehouse_authorize::AuthorizeState;
use gatehouse_core::Clock;
use gatehouse_oidc::{Issuer, Oidc, TokenSettings};
use gatehouse_storage::Store;
use gatehouse_token::TokenState;
use tokio::net::TcpListener;

pub use config::{Config, ConfigError, KekSource, RawConfig};

/// The key-encryption key the configuration names. `create`: generate the default file
/// when it is missing (the server's first start; never for a ring that exists already).
pub fn open_kek(
    config: &Config,
    create: bool,
) -> Result<gatehouse_oidc::Kek, gatehouse_oidc::keys::KeyError> {
    match &config.key_encryption_key {
        KekSource::Value(v) => gatehouse_oidc::Kek::from_text(v),
        KekSource::File(p) => gatehouse_oidc::Kek::load(p),
        KekSource::Generated(p) if create => gatehouse_oidc::Kek::load_or_create(p),
        KekSource::Generated(p) => gatehouse_oidc::Kek::load(p),
    }
}

/// How the key ring is kept: reload and lead times from the configuration; a retired key
/// stays published as long as the longest-lived token it signed (plus a minute of skew).
pub fn ring_settings(config: &Config) -> gatehouse_oidc::RingSettings {
    gatehouse_oidc::RingSettings {
        reload_secs: config.key_reload_interval,
        lead_secs: config.key_rotation_lead_time,
        retain_secs: config.access_token_ttl.max(config.id_token_ttl) + 60,
        rotation_interval: config.key_rotation_interval,
    }
}

/// Opens the shared key ring (importing key files from before keys lived in the database).
pub async fn open_ring(
    config: &Config,
    store: &Store,
    clock: Arc<dyn Clock>,
) -> Result<(gatehouse_oidc::KeyRing, gatehouse_oidc::Sealer), StartError> {
    let has_keys = !store
        .signing_key_states()
        .await
        .map_err(|e| StartError::Keys(e.into()))?
        .is_empty();
    let kek = open_kek(config, !has_keys)?;
    let sealer = kek.sealer();
    let ring = gatehouse_oidc::KeyRing::open(
        store.clone(),
        kek,
        clock,
        ring_settings(config),
        Some(&config.keys_dir),
    )
    .await?;
    Ok((ring, sealer))
}

/// The most bytes of request headers accepted (names and values together): a sealed
/// authorization request travels in the URL, not here, so 16 KiB is plenty.
const MAX_HEADER_BYTES: usize = 16 * 1024;

/// Refuses requests whose headers add up to more than [`MAX_HEADER_BYTES`] with 431
/// (RFC 6585 §5), before any handler reads them.
async fn limit_headers(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let size: usize = req
        .headers()
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 4)
        .sum();
    if size > MAX_HEADER_BYTES {
        return (
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            axum::Json(serde_json::json!({
                "error": "invalid_request",
                "error_description": "the request headers are larger than 16 KiB"
            })),
        )
            .into_response();
    }
    next.run(req).await
}

/// The largest request body accepted anywhere: protocol forms are small (RFC 6749 requests
/// are a few hundred bytes), so a megabyte body is refused before it is read.
const MAX_BODY: usize = 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{0}")]
    Config(#[from] ConfigError),
    #[error("database {url}: {source}")]
    Database {
        url: String,
        source: gatehouse_storage::StoreError,
    },
    #[error("signing keys: {0}")]
    Keys(#[from] gatehouse_oidc::keys::KeyError),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// Opens the database named by the configuration and brings its schema up to date.
pub async fn open_store(config: &Config) -> Result<Store, StartError> {
    Store::connect(&config.database_url)
        .await
        .map_err(|source| StartError::Database {
            url: redact(&config.database_url),
            source,
        })
}

/// A database URL without its password, for messages.
fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_owned(),
    }
}

/// A running configuration: the store, the keys and the router built on them.
pub struct App {
    pub config: Config,
    pub clock: Arc<dyn Clock>,
    pub store: Store,
    pub keys: gatehouse_oidc::KeyRing,
    pub router: Router,
}

impl App {
    /// Connects to the database (running migrations), loads or generates the signing keys,
    /// and builds the router.
    pub async fn build(config: Config, clock: Arc<dyn Clock>) -> Result<Self, StartError> {
        let store = open_store(&config).await?;
        let (keys, sealer) = open_ring(&config, &store, clock.clone()).await?;
        gatehouse_authorize::password::warm_up();
        let settings = TokenSettings {
            access_token_ttl: config.access_token_ttl,
            id_token_ttl: config.id_token_ttl,
            refresh_token_idle_ttl: config.refresh_token_idle_ttl,
            refresh_token_absolute_ttl: config.refresh_token_absolute_ttl,
            admin_token_ttl: config.admin_token_ttl,
            ..TokenSettings::default()
        };
        let mut oidc = Oidc::new(
            store.clone(),
            keys.clone(),
            Issuer::new(&config.issuer),
            settings,
            clock.clone(),
            sealer,
        );
        oidc.trusted_proxies = Arc::from(config.trusted_proxies.clone());
        let mut authorize = AuthorizeState::new(oidc.clone());
        authorize.session_ttl = config.session_ttl;
        authorize.signup = config.signup;
        let app = Router::new()
            .merge(gatehouse_oidc::routes(oidc.clone()))
            .merge(gatehouse_authorize::routes(authorize.clone()))
            .merge(gatehouse_token::routes(TokenState { oidc: oidc.clone() }))
            .merge(gatehouse_admin::routes(gatehouse_admin::AdminState {
                authorize,
                open_registration: config.open_registration,
                registration_policy: config.registration_policy.clone(),
            }))
            .merge(health_routes(store.clone()))
            .fallback(not_found)
            .layer(DefaultBodyLimit::max(MAX_BODY))
            .layer(axum::middleware::from_fn(limit_headers));
        let oidc_for_paths = oidc;
        let path = config.issuer_path();
        let router = if path.is_empty() {
            app
        } else {
            Router::new()
                .nest(&path, app)
                .merge(gatehouse_oidc::discovery::path_issuer_routes(
                    oidc_for_paths,
                    &path,
                ))
        };
        Ok(Self {
            config,
            clock,
            store,
            keys,
            router,
        })
    }

    /// Serves until `shutdown` resolves, then drains in-flight requests.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let prune = tokio::spawn(prune_loop(self.store.clone(), self.clock.clone()));
        let result = axum::serve(
            listener,
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await;
        prune.abort();
        result
    }
}

/// Removes expired sessions, pending requests and codes now and then.
async fn prune_loop(store: Store, clock: Arc<dyn Clock>) {
    let mut tick = tokio::time::interval(Duration::from_secs(600));
    loop {
        tick.tick().await;
        let now = clock.now();
        let result = async {
            let s = store.prune_sessions(now).await?;
            let r = store.prune_pending_requests(now).await?;
            let c = store.prune_codes(now).await?
                + store.prune_refresh_tokens(now).await?
                + store.prune_revoked_access_tokens(now).await?
                + store.prune_device_codes(now).await?
                + store.prune_assertion_jtis(now).await?
                + store.prune_access_tokens(now).await?
                + store.prune_throttle(now).await?;
            Ok::<_, gatehouse_storage::StoreError>((s, r, c))
        }
        .await;
        match result {
            Ok((s, r, c)) if s + r + c > 0 => {
                tracing::debug!(sessions = s, requests = r, codes = c, "pruned expired rows");
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "pruning expired rows failed"),
        }
    }
}

fn health_routes(store: Store) -> Router {
    Router::new()
        .route("/health/alive", get(|| async { "ok" }))
        .route("/health/ready", get(ready))
        .with_state(store)
}

/// Readiness: 503 while the database cannot answer, so a load balancer routes elsewhere.
async fn ready(State(store): State<Store>) -> Response {
    match store.ping().await {
        Ok(()) => "ready".into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}

async fn not_found() -> Response {
    let mut res = (
        StatusCode::NOT_FOUND,
        axum::Json(serde_json::json!({"error": "not_found"})),
    )
        .into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}
