//! `cee serve`: the JSON façade as an internet-facing service (SPEC §7, §11.4).
//!
//! * [`conn`]: the accept loop — hyper HTTP/1 with a timer (header-read timeout, which also
//!   bounds idle keep-alive), `--max-connections`, rustls TLS, graceful shutdown with a
//!   deadline.
//! * [`app`]: one request — route, authenticate before the body is read, per-operator rate
//!   limit, kill switches, bounded body, then the façade (`simulate` on the async worker,
//!   every other engine call on the blocking pool) or a server route; metrics and one JSON log
//!   line per request.
//! * [`routes`]: the route table; [`openapi`] builds `/openapi.json` from it.
//! * [`tokens`]: the tokens file (hashes, operators, roles), re-read on SIGHUP.
//! * [`log`]: JSON lines on stderr with a field allow-list. [`metrics`]: Prometheus text.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use cee_eligibility::token::Signer;

use crate::{DbArgs, Outcome, Result};

mod app;
mod conn;
mod log;
mod metrics;
mod openapi;
mod routes;
mod tokens;

pub use routes::Service;

/// Log verbosity.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
}

/// Arguments of `cee serve` (each also read from the environment as `CEE_<FLAG>`).
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    db: DbArgs,
    #[command(flatten)]
    policy: crate::policy_args::PolicyArgs,
    /// Accept a --db directory that holds no registry yet (and create one). Without it a
    /// mistyped --db is refused rather than served empty (where everyone is eligible).
    #[arg(long, env = "CEE_CREATE")]
    create: bool,
    /// Address to listen on.
    #[arg(
        long,
        value_name = "IP:PORT",
        default_value = "127.0.0.1:8080",
        env = "CEE_ADDR"
    )]
    addr: SocketAddr,
    /// JSON file mapping token hashes to operators and roles:
    /// [{"token_sha256": "<64 hex>", "operator_id": 1, "siret": "<14 digits>", "role": "operator"|"admin"}]
    /// (hash a token with `cee token-hash`). Re-read on SIGHUP.
    #[arg(long, value_name = "FILE", env = "CEE_TOKENS")]
    tokens: PathBuf,
    /// Seconds a client has to send a whole request head (also the idle keep-alive limit).
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 10,
        env = "CEE_HEADER_TIMEOUT_SECS"
    )]
    header_timeout_secs: u64,
    /// Seconds a client has to send a request body.
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 30,
        env = "CEE_BODY_TIMEOUT_SECS"
    )]
    body_timeout_secs: u64,
    /// Seconds running requests may take to finish after SIGINT / SIGTERM.
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 30,
        env = "CEE_SHUTDOWN_TIMEOUT_SECS"
    )]
    shutdown_timeout_secs: u64,
    /// Most connections open at once.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 10_000,
        env = "CEE_MAX_CONNECTIONS"
    )]
    max_connections: usize,
    /// Requests per minute allowed to each operator (429 beyond, with Retry-After).
    #[arg(long, value_name = "PER_MINUTE", default_value_t = NonZeroU32::new(20_000).unwrap_or(NonZeroU32::MIN), env = "CEE_RATE_LIMIT")]
    rate_limit: NonZeroU32,
    /// Failed authentications per minute allowed from one client address (429 beyond).
    #[arg(long, value_name = "PER_MINUTE", default_value_t = NonZeroU32::new(60).unwrap_or(NonZeroU32::MIN), env = "CEE_AUTH_FAILURE_LIMIT")]
    auth_failure_limit: NonZeroU32,
    /// Behind a reverse proxy: take the client address (for the failed-authentication limit)
    /// from the last X-Forwarded-For entry, which the proxy must set.
    #[arg(long, env = "CEE_FORWARDED_FOR")]
    forwarded_for: bool,
    /// Switch a service off (405 "This service is disabled"); repeatable. Also
    /// APP_DISABLE_CEE_REGISTER, APP_DISABLE_CEE_IMPORT, APP_DISABLE_CEE_IMPORT_IDENTITY = "true".
    #[arg(
        long,
        value_name = "SERVICE",
        value_enum,
        env = "CEE_DISABLE",
        value_delimiter = ','
    )]
    disable: Vec<Service>,
    /// TLS certificate chain (PEM); with --tls-key, serves HTTPS.
    #[arg(long, value_name = "PEM", requires = "tls_key", env = "CEE_TLS_CERT")]
    tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, value_name = "PEM", requires = "tls_cert", env = "CEE_TLS_KEY")]
    tls_key: Option<PathBuf>,
    /// Token-signing key (PKCS#8 PEM, Ed25519, or RSA when built with the `rsa` feature),
    /// independent of the registry secret. Default: the key derived from the secret.
    #[arg(long, value_name = "PEM", env = "CEE_SIGNING_KEY")]
    signing_key: Option<PathBuf>,
    /// Directory where `POST /admin/backup` writes its backups (one new directory each;
    /// restore = open a copy with `--db`). Without it the route answers 501.
    #[arg(long, value_name = "DIR", env = "CEE_BACKUP_DIR")]
    backup_dir: Option<PathBuf>,
    /// Async worker threads (default: one per CPU).
    #[arg(long, value_name = "N", env = "CEE_WORKERS")]
    workers: Option<usize>,
    /// Least severe log level written to stderr.
    #[arg(
        long,
        value_name = "LEVEL",
        value_enum,
        default_value = "info",
        env = "CEE_LOG_LEVEL"
    )]
    log_level: LogLevel,
}

/// Does `dir` hold a (sled) registry?
fn registry_exists(dir: &Path) -> bool {
    dir.join("conf").is_file() && dir.join("db").is_file()
}

/// The services switched off by flags and by the decommissioned registry's environment names.
fn disabled(args: &Args) -> Vec<Service> {
    let mut out = args.disable.clone();
    for s in Service::ALL {
        let on = s
            .env_name()
            .and_then(|n| std::env::var(n).ok())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
        if on && !out.contains(&s) {
            out.push(s);
        }
    }
    out
}

fn tls_acceptor(cert: &Path, key: &Path) -> Result<tokio_rustls::TlsAcceptor> {
    use rustls_pki_types::pem::PemObject as _;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_file_iter(cert)
        .and_then(|it| it.collect::<std::result::Result<Vec<_>, _>>())
        .map_err(|e| format!("--tls-cert {}: {e}", cert.display()))?;
    if certs.is_empty() {
        return Err(format!("--tls-cert {}: no certificate in the file", cert.display()).into());
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| format!("--tls-key {}: {e}", key.display()))?;
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let mut config = tokio_rustls::rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("--tls-cert/--tls-key: {e}"))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

fn signer(path: &Path) -> Result<Signer> {
    let pem = std::fs::read_to_string(path)
        .map_err(|e| format!("--signing-key {}: {e}", path.display()))?;
    Signer::from_pkcs8_pem(&pem)
        .map_err(|e| format!("--signing-key {}: {e}", path.display()).into())
}

/// Logs the policy in force, and a warning when now is past its end date (SPEC §11.1).
fn announce_policy(engine: &cee_eligibility::Engine) {
    let p = engine.policy();
    tracing::info!(
        event = "policy",
        start_date = %p.start_date,
        end_date = %p.end_date,
        delay_days = p.registration_delay.as_secs() / 86_400,
        "cee serve: {}",
        crate::policy_args::describe(p)
    );
    let now = engine.now();
    if now >= p.end_date {
        tracing::warn!(
            event = "policy_over",
            end_date = %p.end_date,
            "cee serve: now ({now}) is past the end of the operation period ({}): every \
             registration will be refused; set --end-date, --policy or APP_CEE_END_DATE",
            p.end_date
        );
    }
}

/// Runs `cee serve` until SIGINT or SIGTERM.
pub fn run(args: &Args) -> Result<Outcome> {
    let level = match args.log_level {
        LogLevel::Error => tracing::Level::ERROR,
        LogLevel::Warn => tracing::Level::WARN,
        LogLevel::Info => tracing::Level::INFO,
        LogLevel::Debug => tracing::Level::DEBUG,
    };
    let _log = log::init(level)?;
    let result = serve_until_signal(args);
    if let Err(e) = &result {
        tracing::error!(event = "failed", error = %crate::error_chain(&**e), "cee serve failed");
    }
    result
}

fn serve_until_signal(args: &Args) -> Result<Outcome> {
    if args.db.shared() && args.backup_dir.is_some() {
        return Err(
            "--backup-dir: a PostgreSQL registry is backed up with PostgreSQL's tools \
                    (pg_basebackup with WAL archiving, or pg_dump), not by cee serve"
                .into(),
        );
    }
    // A PostgreSQL database must exist already (the server does not create databases); its
    // tables are created by the first instance that opens it.
    if let Some(dir) = args.db.dir() {
        if !args.create && !registry_exists(dir) {
            return Err(format!(
                "--db {}: no registry there (a typo?); pass --create to create one",
                dir.display()
            )
            .into());
        }
    }
    let tokens = tokens::Tokens::load(&args.tokens)?;
    let signing = args.signing_key.as_deref().map(signer).transpose()?;
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(c), Some(k)) => Some(tls_acceptor(c, k)?),
        _ => None,
    };
    let policy = args.policy.resolve()?;
    let engine = args.db.open(|c| {
        let c = c.policy(policy);
        match signing {
            Some(s) => c.signer(s),
            None => c,
        }
    })?;
    let disabled = disabled(args);
    let settings = app::Settings {
        tokens_path: args.tokens.clone(),
        rate_limit_per_minute: args.rate_limit,
        auth_failures_per_minute: args.auth_failure_limit,
        disabled: disabled.clone(),
        body_timeout: Duration::from_secs(args.body_timeout_secs),
        forwarded_for: args.forwarded_for,
        backup_dir: args.backup_dir.clone(),
        // The PostgreSQL client blocks and must not run on an async worker: every engine call
        // goes to the blocking pool.
        never_inline: args.db.shared(),
    };
    let n_tokens = tokens.len();
    let api = cee_eligibility::api::Api::new(engine.clone());
    let app = Arc::new(app::App::new(api, tokens, settings, &openapi::document())?);
    let limits = conn::Limits {
        header_timeout: Duration::from_secs(args.header_timeout_secs.max(1)),
        max_connections: args.max_connections,
        shutdown_timeout: Duration::from_secs(args.shutdown_timeout_secs),
    };
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = args.workers {
        rt.worker_threads(n.max(1));
    }
    let runtime = rt.enable_all().build()?;
    let served = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(args.addr)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", args.addr))?;
        let addr = listener.local_addr()?;
        // Installed before "listening" is announced: from then on SIGHUP reloads, never kills.
        let hangup = hangup_signal();
        tracing::info!(
            event = "listening",
            addr = %addr,
            tls = tls.is_some(),
            tokens = n_tokens,
            max_connections = limits.max_connections,
            algorithm = engine.public_key().algorithm(),
            disabled = ?disabled,
            "cee serve: listening on {}://{addr}",
            if tls.is_some() { "https" } else { "http" },
        );
        announce_policy(&engine);
        tokio::spawn(reload_on_sighup(hangup, Arc::clone(&app)));
        conn::serve(listener, app, limits, tls, shutdown_signal()).await;
        Ok::<_, Box<dyn std::error::Error>>(())
    });
    // Let blocking-pool writes still running finish before the flush.
    runtime.shutdown_timeout(limits.shutdown_timeout);
    // Flush whatever happened, even if serving failed.
    let flushed = engine.flush();
    served?;
    flushed?;
    tracing::info!(event = "stopped", "cee serve: stopped; registry flushed");
    Ok(Outcome::Positive)
}

#[cfg(unix)]
type Hangup = Option<tokio::signal::unix::Signal>;
#[cfg(not(unix))]
type Hangup = Option<()>;

/// The SIGHUP stream (none where there is no SIGHUP).
fn hangup_signal() -> Hangup {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::hangup()) {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::warn!(event = "no_sighup", error = %e, "cannot listen for SIGHUP: tokens not reloadable");
                None
            }
        }
    }
    #[cfg(not(unix))]
    None
}

/// Re-reads the tokens file on every SIGHUP.
async fn reload_on_sighup(hangup: Hangup, app: Arc<app::App>) {
    #[cfg(unix)]
    if let Some(mut hup) = hangup {
        while hup.recv().await.is_some() {
            app.reload_tokens();
        }
    }
    #[cfg(not(unix))]
    let _ = (hangup, app);
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!(event = "shutting_down", "cee serve: shutting down");
}
