//! The bundled CRM service (`trunkd crm`): customers, number lists, call history and the
//! agent desktop's screen pop, fed by one or more gateways' CTI streams.
//!
//! Layout:
//! - [`numbers`]: Chinese number normalization and masking (pure).
//! - [`lookup`]: caller classification (pure `classify` + the DB lookup).
//! - [`db`]: the `AnyPool` (SQLite or PostgreSQL), migrations, every query.
//! - [`gateway`]: the CTI client per gateway (store events, answer lookups, backfill).
//! - [`pop`], [`hub`]: screen pops and the push fan-out to browsers.
//! - [`auth`]: argon2 passwords, tokens.
//! - [`web`]: the axum app (pages, WebSockets, recordings).
//! - [`seed`]: `trunkd demo` sample data.

pub mod auth;
pub mod db;
pub mod gateway;
pub mod hub;
pub mod lookup;
pub mod numbers;
pub mod pop;
pub mod seed;
pub mod web;

pub use db::Role;
pub use seed::{seed_demo, SeedInfo};

use serde::Deserialize;
use sqlx::AnyPool;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::watch;

/// `[crm]` configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CrmConfig {
    /// HTTP listen address (default 127.0.0.1:8780; port 0 picks one).
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// `postgres://…` for larger sites; `None` = `crm.sqlite` in `data_dir`.
    #[serde(default)]
    pub database_url: Option<String>,
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    /// Recordings are only served from under this directory.
    #[serde(default)]
    pub recordings_dir: Option<PathBuf>,
    /// Default UI language, `zh` or `en`.
    #[serde(default = "default_lang")]
    pub lang: String,
    #[serde(default)]
    pub gateway: Vec<GatewayConfig>,
}

/// One gateway's CTI stream.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayConfig {
    pub name: String,
    /// e.g. `ws://127.0.0.1:8766/cti`
    pub url: String,
    #[serde(default)]
    pub token: Option<String>,
    #[serde(default)]
    pub token_file: Option<PathBuf>,
    /// Answer this gateway's lookups (default true).
    #[serde(default = "yes")]
    pub lookup: bool,
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8780))
}
fn default_data_dir() -> PathBuf {
    PathBuf::from("/var/lib/trunkd/crm")
}
fn default_lang() -> String {
    "zh".into()
}
fn yes() -> bool {
    true
}

impl CrmConfig {
    /// Defaults with everything under `data_dir` (tests, demo).
    pub fn new(data_dir: impl Into<PathBuf>) -> CrmConfig {
        CrmConfig {
            listen: default_listen(),
            database_url: None,
            data_dir: data_dir.into(),
            recordings_dir: None,
            lang: default_lang(),
            gateway: Vec::new(),
        }
    }

    /// Reads and checks a `crm.toml` (strict: unknown keys are errors).
    pub fn load(path: &std::path::Path) -> Result<CrmConfig, CrmError> {
        let text = std::fs::read_to_string(path).map_err(|e| CrmError::Config(format!("{}: {e}", path.display())))?;
        CrmConfig::parse(&text).map_err(|e| CrmError::Config(format!("{}: {e}", path.display())))
    }

    /// Parses and checks a config text.
    pub fn parse(text: &str) -> Result<CrmConfig, String> {
        let cfg: CrmConfig = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut errs = Vec::new();
        if !["zh", "en"].contains(&cfg.lang.as_str()) {
            errs.push(format!("lang: `{}` (expected zh or en)", cfg.lang));
        }
        if let Some(u) = &cfg.database_url {
            if !(u.starts_with("sqlite:") || u.starts_with("postgres://") || u.starts_with("postgresql://")) {
                errs.push("database_url: expected sqlite:… or postgres://…".into());
            }
        }
        for (i, g) in cfg.gateway.iter().enumerate() {
            if g.url.starts_with("wss://") {
                errs.push(format!(
                    "gateway[{i}].url: this build has no TLS client; reach a remote gateway through a local TLS tunnel (stunnel, INSTALL.md) at a ws:// address"
                ));
            } else if !g.url.starts_with("ws://") {
                errs.push(format!("gateway[{i}].url: `{}` is not a ws:// URL", g.url));
            }
            if g.token.is_none() && g.token_file.is_none() {
                errs.push(format!("gateway[{i}]: needs `token` or `token_file`"));
            }
        }
        if errs.is_empty() {
            Ok(cfg)
        } else {
            Err(errs.join("; "))
        }
    }

    /// The database URL in effect.
    pub fn db_url(&self) -> String {
        match &self.database_url {
            Some(u) => u.clone(),
            None => format!("sqlite://{}?mode=rwc", self.data_dir.join("crm.sqlite").display()),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CrmError {
    #[error("config: {0}")]
    Config(String),
    #[error("creating data directory {path}: {source}")]
    DataDir { path: PathBuf, source: std::io::Error },
    #[error(transparent)]
    Db(#[from] db::DbError),
    #[error("binding {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("http server: {0}")]
    Serve(std::io::Error),
    #[error(transparent)]
    Auth(#[from] auth::AuthError),
    #[error(transparent)]
    Customer(#[from] db::CustomerError),
}

/// Now, in epoch milliseconds: the one clock read of the service (pure logic takes `now`).
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// What the gateway clients and the web app share.
pub struct Shared {
    pub pool: AnyPool,
    pub hub: hub::Hub,
    pub gateways: gateway::GatewayStatuses,
    pub recordings_dir: Option<PathBuf>,
    pub default_lang: web::i18n::Lang,
    pub shutdown: watch::Receiver<bool>,
}

/// A started (DB open, port bound) CRM, not yet serving.
pub struct Crm {
    cfg: CrmConfig,
    pool: AnyPool,
    listener: tokio::net::TcpListener,
    addr: SocketAddr,
}

impl Crm {
    /// Opens and migrates the database and binds the listener.
    pub async fn start(cfg: CrmConfig) -> Result<Crm, CrmError> {
        if web::i18n::Lang::parse(&cfg.lang).is_none() {
            return Err(CrmError::Config(format!("lang must be zh or en, not {:?}", cfg.lang)));
        }
        for g in &cfg.gateway {
            if g.token.is_some() && g.token_file.is_some() {
                return Err(CrmError::Config(format!("gateway {}: token and token_file both set", g.name)));
            }
        }
        if cfg.database_url.is_none() {
            std::fs::create_dir_all(&cfg.data_dir)
                .map_err(|source| CrmError::DataDir { path: cfg.data_dir.clone(), source })?;
        }
        let pool = db::open(&cfg.db_url()).await?;
        let listener = tokio::net::TcpListener::bind(cfg.listen)
            .await
            .map_err(|source| CrmError::Bind { addr: cfg.listen, source })?;
        let addr = listener.local_addr().map_err(|source| CrmError::Bind { addr: cfg.listen, source })?;
        Ok(Crm { cfg, pool, listener, addr })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Serves HTTP and runs the gateway clients until `shutdown` completes.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<(), CrmError> {
        let (stop_tx, stop_rx) = watch::channel(false);
        let shared = Arc::new(Shared {
            pool: self.pool.clone(),
            hub: hub::Hub::default(),
            gateways: gateway::GatewayStatuses::default(),
            recordings_dir: self.cfg.recordings_dir.clone(),
            default_lang: web::i18n::Lang::parse(&self.cfg.lang).unwrap_or(web::i18n::Lang::Zh),
            shutdown: stop_rx.clone(),
        });
        let mut tasks = Vec::new();
        for g in &self.cfg.gateway {
            tasks.push(tokio::spawn(gateway::run(shared.clone(), g.clone(), stop_rx.clone())));
        }
        tasks.push(tokio::spawn(housekeeping(shared.clone(), stop_rx.clone())));
        tracing::info!(addr = %self.addr, gateways = self.cfg.gateway.len(), "crm: serving");
        let app = web::router(shared.clone());
        let mut stop_rx2 = stop_rx.clone();
        // Small pushes (a pop, a live-view row) must leave at once, not wait on Nagle.
        let listener = axum::serve::ListenerExt::tap_io(self.listener, |tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let serve = axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(async move {
                stopped(&mut stop_rx2).await;
            });
        let signal = tokio::spawn(async move {
            shutdown.await;
            let _ = stop_tx.send(true);
        });
        let res = serve.await.map_err(CrmError::Serve);
        signal.abort();
        for t in tasks {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(5), t).await;
        }
        self.pool.close().await;
        res
    }
}

/// Resolves once the shutdown flag is set (or its sender is gone).
pub async fn stopped(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|s| *s).await;
}

/// Drops expired sessions now and then.
async fn housekeeping(shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    loop {
        if let Err(e) = db::purge_sessions(&shared.pool, now_ms()).await {
            tracing::warn!(error = %e, "crm: purging sessions failed");
        }
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_secs(3600)) => {}
            _ = stopped(&mut stop) => return,
        }
    }
}

/// Creates a user with an argon2id password hash; returns its id.
pub async fn create_user(
    pool: &AnyPool,
    login: &str,
    display: &str,
    role: Role,
    password: &str,
    contact: Option<&str>,
) -> Result<i64, CrmError> {
    if login.trim().is_empty() || password.is_empty() {
        return Err(CrmError::Config("login and password must not be empty".into()));
    }
    let hash = auth::hash_password(password)?;
    Ok(db::insert_user(pool, login.trim(), display, role, &hash, contact, now_ms()).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_is_strict_with_defaults() {
        let c: CrmConfig = serde_json::from_str(
            r#"{"data_dir":"/tmp/x","gateway":[{"name":"gw1","url":"ws://127.0.0.1:8766/cti","token_file":"/etc/trunkd/cti.token"}]}"#,
        )
        .expect("config");
        assert_eq!(c.listen, default_listen());
        assert_eq!(c.lang, "zh");
        assert!(c.gateway[0].lookup);
        assert_eq!(c.db_url(), "sqlite:///tmp/x/crm.sqlite?mode=rwc");
        assert!(serde_json::from_str::<CrmConfig>(r#"{"data_dir":"/tmp/x","listne":"1.2.3.4:5"}"#).is_err());
        assert!(serde_json::from_str::<CrmConfig>(r#"{"gateway":[{"name":"a","url":"ws://x","tokn":"t"}]}"#).is_err());
    }
}
