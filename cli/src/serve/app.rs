//! One request, from head to answer: route, authenticate (before the body is read), rate
//! limit, kill switch, body (bounded in size and time), then the façade or a server route;
//! every answer is counted, logged on one line and carries `X-Request-Id`.

use std::convert::Infallible;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use cee_eligibility::api::Api;
use cee_eligibility::{
    AuditAction, AuditEntry, JournalEntry, JournalItem, JournalKind, JourneyStatus, Operator,
    OperatorJourneyId,
};
use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Request, Response};
use serde_json::{json, Value};

use super::metrics::Metrics;
use super::routes::{self, Access, Kind, Resolved, Route, Service};
use super::tokens::{Caller, Role, Tokens};
use cee_eligibility::api::{rpc_code, MAX_BODY_BYTES as BODY_LIMIT};

/// How old the registry counts of `/metrics` may be.
const STATS_MAX_AGE: Duration = Duration::from_secs(10);

/// The answer type of every route.
pub type Answer = Response<Full<Bytes>>;

/// What the server shares between requests.
pub struct App {
    api: Api,
    tokens: RwLock<Arc<Tokens>>,
    tokens_path: PathBuf,
    limiter: DefaultKeyedRateLimiter<u32>,
    auth_failures: DefaultKeyedRateLimiter<IpAddr>,
    disabled: Vec<Service>,
    body_timeout: Duration,
    forwarded_for: bool,
    backup_dir: Option<PathBuf>,
    never_inline: bool,
    pub metrics: Metrics,
    /// Registry counts for `/metrics`, recounted at most every [`STATS_MAX_AGE`] (a count scans
    /// the registry); one scrape counts while concurrent ones wait for its result.
    stats_cache: tokio::sync::Mutex<Option<(Instant, cee_eligibility::Stats)>>,
    ready: AtomicBool,
    openapi: Bytes,
    public_key: Bytes,
    id_prefix: u32,
    id_counter: AtomicU64,
}

/// How `App` is built.
pub struct Settings {
    pub tokens_path: PathBuf,
    pub rate_limit_per_minute: NonZeroU32,
    pub auth_failures_per_minute: NonZeroU32,
    pub disabled: Vec<Service>,
    pub body_timeout: Duration,
    /// Behind a reverse proxy: the client address is the last `X-Forwarded-For` entry.
    pub forwarded_for: bool,
    /// Where `POST /admin/backup` writes (none: the route answers 501).
    pub backup_dir: Option<PathBuf>,
    /// Every engine call on the blocking pool, also those that read memory only on sled (a
    /// PostgreSQL registry: its client blocks and panics on an async worker).
    pub never_inline: bool,
}

/// `status` with the JSON-RPC error envelope of the public API (the façade's own
/// [`api::rpc_error`](cee_eligibility::api::rpc_error): one definition of the shape).
pub fn rpc_error(status: u16, code: i32, message: &str, data: Option<&str>) -> Answer {
    let body = cee_eligibility::api::rpc_error(code, message, data.map(Value::from));
    json_answer(status, Some(body.to_string().into()))
}

/// `status` with a JSON body (or none).
fn json_answer(status: u16, body: Option<Bytes>) -> Answer {
    let mut r = Response::new(Full::new(body.clone().unwrap_or_default()));
    *r.status_mut() =
        hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    if body.is_some() {
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
    }
    r
}

/// A façade response.
fn facade_answer(r: &cee_eligibility::api::Response) -> Answer {
    json_answer(r.status, r.body.as_ref().map(|_| r.body_bytes().into()))
}

fn value_answer(status: u16, v: &Value) -> Answer {
    json_answer(status, Some(v.to_string().into()))
}

fn with_header(mut r: Answer, name: header::HeaderName, value: &str) -> Answer {
    if let Ok(v) = HeaderValue::from_str(value) {
        r.headers_mut().insert(name, v);
    }
    r
}

/// 429 with `Retry-After` (whole seconds, at least 1).
fn too_many(wait: Duration) -> Answer {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    with_header(
        rpc_error(429, -32029, "Too Many Requests", None),
        header::RETRY_AFTER,
        &secs.max(1).to_string(),
    )
}

/// How the request ended, for the log line and metrics.
struct Outcome {
    route: &'static str,
    operator_id: Option<u32>,
    answer: Answer,
}

impl App {
    pub fn new(
        api: Api,
        tokens: Tokens,
        settings: Settings,
        openapi: &Value,
    ) -> crate::Result<Self> {
        let key = api.engine().public_key();
        let public_key = json!({
            "algorithm": key.algorithm(),
            "public_key_pem": key.to_spki_pem()?,
        });
        let metrics = Metrics::new();
        metrics
            .tokens
            .set(i64::try_from(tokens.len()).unwrap_or(i64::MAX));
        let mut prefix = [0u8; 4];
        getrandom::fill(&mut prefix).map_err(|e| format!("no randomness: {e}"))?;
        Ok(App {
            api,
            tokens: RwLock::new(Arc::new(tokens)),
            tokens_path: settings.tokens_path,
            limiter: RateLimiter::keyed(Quota::per_minute(settings.rate_limit_per_minute)),
            auth_failures: RateLimiter::keyed(Quota::per_minute(settings.auth_failures_per_minute)),
            disabled: settings.disabled,
            body_timeout: settings.body_timeout,
            forwarded_for: settings.forwarded_for,
            backup_dir: settings.backup_dir,
            never_inline: settings.never_inline,
            metrics,
            stats_cache: tokio::sync::Mutex::new(None),
            ready: AtomicBool::new(true),
            openapi: openapi.to_string().into(),
            public_key: public_key.to_string().into(),
            id_prefix: u32::from_le_bytes(prefix),
            id_counter: AtomicU64::new(0),
        })
    }

    /// Stops answering `/ready` with 200 (shutting down).
    pub fn set_not_ready(&self) {
        self.ready.store(false, Ordering::SeqCst);
    }

    /// Re-reads the tokens file; on error the tokens in force stay and the reason is logged.
    pub fn reload_tokens(&self) {
        match Tokens::load(&self.tokens_path) {
            Ok(t) => {
                let n = t.len();
                self.metrics
                    .tokens
                    .set(i64::try_from(n).unwrap_or(i64::MAX));
                if let Ok(mut w) = self.tokens.write() {
                    *w = Arc::new(t);
                }
                tracing::info!(event = "tokens_reloaded", tokens = n, "tokens file re-read");
            }
            Err(e) => {
                tracing::warn!(
                    event = "tokens_reload_failed",
                    error = %e,
                    "tokens file not reloaded; the previous tokens stay in force"
                );
            }
        }
    }

    fn tokens(&self) -> Arc<Tokens> {
        match self.tokens.read() {
            Ok(t) => Arc::clone(&t),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    fn request_id(&self, req: &Request<Incoming>) -> String {
        let given = req
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .filter(|s| {
                (1..=128).contains(&s.len())
                    && s.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
            });
        match given {
            Some(s) => s.to_owned(),
            None => {
                let n = self.id_counter.fetch_add(1, Ordering::Relaxed);
                format!("{:08x}-{n:012x}", self.id_prefix)
            }
        }
    }

    /// Answers one request (never fails: every error is an HTTP answer).
    pub async fn handle(
        self: Arc<Self>,
        peer: IpAddr,
        req: Request<Incoming>,
    ) -> Result<Answer, Infallible> {
        let start = Instant::now();
        let request_id = self.request_id(&req);
        let peer = if self.forwarded_for {
            forwarded_client(&req).unwrap_or(peer)
        } else {
            peer
        };
        let method = static_method(req.method());
        let Outcome {
            route,
            operator_id,
            answer,
        } = self.dispatch(peer, req).await;
        let mut answer = answer;
        if let Ok(v) = HeaderValue::from_str(&request_id) {
            answer.headers_mut().insert("x-request-id", v);
        }
        let status = answer.status().as_u16();
        let elapsed = start.elapsed();
        self.metrics
            .observe(route, method, status, elapsed.as_secs_f64());
        tracing::info!(
            target: "cee::request",
            request_id = %request_id,
            method,
            route,
            operator_id,
            status,
            duration_ms = elapsed.as_secs_f64() * 1000.0,
        );
        Ok(answer)
    }

    async fn dispatch(&self, peer: IpAddr, req: Request<Incoming>) -> Outcome {
        let done = |route, operator_id, answer| Outcome {
            route,
            operator_id,
            answer,
        };
        let route = match routes::resolve(req.method().as_str(), req.uri().path()) {
            Resolved::Found(r) => r,
            Resolved::MethodNotAllowed(allow, template) => {
                let data = format!("allowed methods: {allow}");
                let a = rpc_error(
                    405,
                    rpc_code::METHOD_NOT_FOUND,
                    "Method not found",
                    Some(&data),
                );
                return done(template, None, with_header(a, header::ALLOW, &allow));
            }
            Resolved::NotFound => {
                let a = rpc_error(404, -32504, "Not found", Some("unknown path"));
                return done("unmatched", None, a);
            }
        };
        let t = route.template;
        let caller = match route.access {
            Access::Public => None,
            Access::Operator | Access::Admin => match self.authenticate(peer, &req) {
                Ok(c) => Some(c),
                Err(a) => return done(t, None, a),
            },
        };
        let op_id = caller.as_ref().map(|c| c.operator.id);
        if let Some(c) = &caller {
            if route.access == Access::Admin && c.role != Role::Admin {
                let a = rpc_error(
                    403,
                    -32503,
                    "Forbidden Error",
                    Some("an admin token is required"),
                );
                return done(t, op_id, a);
            }
            if let Err(nu) = self.limiter.check_key(&c.operator.id) {
                let wait = nu.wait_time_from(DefaultClock::default().now());
                return done(t, op_id, too_many(wait));
            }
        }
        if let Kind::Facade {
            switch: Some(s), ..
        } = route.kind
        {
            if self.disabled.contains(&s) {
                let a = rpc_error(
                    405,
                    rpc_code::METHOD_NOT_FOUND,
                    "This service is disabled",
                    None,
                );
                return done(t, op_id, with_header(a, header::ALLOW, ""));
            }
        }
        done(t, op_id, self.serve_route(route, caller, req).await)
    }

    /// The caller of the bearer token, or the answer: 401 (`WWW-Authenticate: Bearer`), or 429
    /// once this address failed too often.
    #[expect(
        clippy::result_large_err,
        reason = "the answer is returned at once, never stored or propagated far"
    )]
    fn authenticate(&self, peer: IpAddr, req: &Request<Incoming>) -> Result<Caller, Answer> {
        if let Some(c) = self.tokens().authenticate(req.headers()) {
            return Ok(c);
        }
        if let Err(nu) = self.auth_failures.check_key(&peer) {
            return Err(too_many(nu.wait_time_from(DefaultClock::default().now())));
        }
        Err(with_header(
            rpc_error(401, rpc_code::UNAUTHORIZED, "Unauthorized Error", None),
            header::WWW_AUTHENTICATE,
            "Bearer",
        ))
    }

    /// Reads the body: at most [`BODY_LIMIT`] bytes, within the body timeout.
    async fn body(&self, req: Request<Incoming>) -> Result<Bytes, Answer> {
        let too_large = || {
            rpc_error(
                413,
                -32600,
                "Payload Too Large",
                Some(&format!("body must not exceed {BODY_LIMIT} bytes")),
            )
        };
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > BODY_LIMIT as u64) {
            return Err(too_large());
        }
        let body = Limited::new(req.into_body(), BODY_LIMIT);
        match tokio::time::timeout(self.body_timeout, body.collect()).await {
            Err(_) => Err(rpc_error(
                408,
                -32600,
                "Request Timeout",
                Some("the body was not received in time"),
            )),
            Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => Err(too_large()),
            Ok(Err(_)) => Err(rpc_error(
                400,
                -32600,
                "Invalid Request",
                Some("unreadable body"),
            )),
            Ok(Ok(c)) => Ok(c.to_bytes()),
        }
    }

    async fn serve_route(
        &self,
        route: &'static Route,
        caller: Option<Caller>,
        req: Request<Incoming>,
    ) -> Answer {
        let path = req.uri().path().to_owned();
        match (route.kind, caller) {
            (Kind::Health, _) => value_answer(200, &json!({ "status": "ok" })),
            (Kind::Ready, _) => {
                if !self.ready.load(Ordering::SeqCst) {
                    value_answer(503, &json!({ "status": "shutting_down" }))
                } else if self.api.engine().check_fresh().is_err() {
                    // A shared registry this instance is out of step with: simulate would
                    // answer 503 too (atomics and a clock read: no I/O on this worker).
                    value_answer(503, &json!({ "status": "out_of_step" }))
                } else {
                    value_answer(200, &json!({ "status": "ok" }))
                }
            }
            (Kind::OpenApi, _) => json_answer(200, Some(self.openapi.clone())),
            (_, None) => rpc_error(
                500,
                rpc_code::INTERNAL,
                "Internal error",
                Some("route without a caller"),
            ),
            (Kind::PublicKey, Some(_)) => json_answer(200, Some(self.public_key.clone())),
            (Kind::Backup, Some(_)) => self.backup().await,
            (Kind::Purge, Some(_)) => {
                let engine = self.api.engine().clone();
                match tokio::task::spawn_blocking(move || engine.purge()).await {
                    Ok(Ok(report)) => match serde_json::to_value(&report) {
                        Ok(v) => value_answer(200, &v),
                        Err(_) => rpc_error(500, rpc_code::INTERNAL, "Internal error", None),
                    },
                    Ok(Err(e)) => engine_error(e),
                    Err(_) => rpc_error(500, rpc_code::INTERNAL, "Internal error", None),
                }
            }
            (Kind::Facade { inline, .. }, Some(c)) => {
                let method = req.method().as_str().to_owned();
                let body = match self.body(req).await {
                    Ok(b) => b,
                    Err(a) => return a,
                };
                let r = if inline && !self.never_inline {
                    // Reads the in-memory index only: no hop to the blocking pool.
                    self.api.handle(Some(&c.operator), &method, &path, &body)
                } else {
                    let api = self.api.clone();
                    let joined = tokio::task::spawn_blocking(move || {
                        api.handle(Some(&c.operator), &method, &path, &body)
                    })
                    .await;
                    match joined {
                        Ok(r) => r,
                        Err(_) => {
                            return rpc_error(500, rpc_code::INTERNAL, "Internal error", None)
                        }
                    }
                };
                facade_answer(&r)
            }
            (Kind::Metrics, Some(_)) => {
                let mut cache = self.stats_cache.lock().await;
                let fresh = cache
                    .as_ref()
                    .filter(|(at, _)| at.elapsed() < STATS_MAX_AGE)
                    .map(|(_, s)| s.clone());
                let stats = match fresh {
                    Some(s) => s,
                    None => {
                        let engine = self.api.engine().clone();
                        match tokio::task::spawn_blocking(move || engine.stats()).await {
                            Ok(Ok(s)) => {
                                *cache = Some((Instant::now(), s.clone()));
                                s
                            }
                            Ok(Err(e)) => return engine_error(e),
                            Err(_) => {
                                return rpc_error(500, rpc_code::INTERNAL, "Internal error", None)
                            }
                        }
                    }
                };
                drop(cache);
                match self.metrics.render(&stats) {
                    Ok(text) => {
                        let mut a = json_answer(200, Some(text.into()));
                        a.headers_mut().insert(
                            header::CONTENT_TYPE,
                            HeaderValue::from_static(
                                "application/openmetrics-text; version=1.0.0; charset=utf-8",
                            ),
                        );
                        a
                    }
                    Err(_) => rpc_error(500, rpc_code::INTERNAL, "Internal error", None),
                }
            }
            (Kind::Stats, Some(_)) => {
                let engine = self.api.engine().clone();
                match tokio::task::spawn_blocking(move || engine.stats()).await {
                    Ok(Ok(s)) => value_answer(
                        200,
                        &json!({
                            "specific": { "short": s.specific.0, "long": s.specific.1 },
                            "standardized": { "short": s.standardized.0, "long": s.standardized.1 },
                            "deleted": s.deleted,
                            "journeys": s.journeys,
                            "error_journal": s.journal,
                            "index": { "pseudonyms": s.index.0, "entries": s.index.1 },
                            "size_on_disk": s.size_on_disk,
                        }),
                    ),
                    Ok(Err(e)) => engine_error(e),
                    Err(_) => rpc_error(500, rpc_code::INTERNAL, "Internal error", None),
                }
            }
            (Kind::Journal, Some(_)) => self.journal(req.uri().query()).await,
            (Kind::JourneyStatus, Some(c)) => {
                let params = routes::params(route.template, &path);
                let (op, id) = match (params.first(), params.get(1)) {
                    (Some(op), Some(id)) => (op.to_string(), id.to_string()),
                    _ => return rpc_error(404, -32504, "Not found", Some("unknown path")),
                };
                let body = match self.body(req).await {
                    Ok(b) => b,
                    Err(a) => return a,
                };
                self.set_status(&c, &op, &id, &body).await
            }
        }
    }

    /// `POST /admin/backup`: a new directory under `--backup-dir`, named after the instant
    /// (UTC, to the millisecond) and a random suffix so that two backups never collide.
    async fn backup(&self) -> Answer {
        let Some(dir) = self.backup_dir.clone() else {
            return rpc_error(
                501,
                rpc_code::METHOD_NOT_FOUND,
                "Not implemented",
                Some("start cee serve with --backup-dir to take backups"),
            );
        };
        let mut suffix = [0u8; 4];
        if getrandom::fill(&mut suffix).is_err() {
            return rpc_error(500, rpc_code::INTERNAL, "Internal error", None);
        }
        let name = format!(
            "cee-backup-{}-{:08x}",
            chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ"),
            u32::from_be_bytes(suffix)
        );
        let dest = dir.join(name);
        let engine = self.api.engine().clone();
        let target = dest.clone();
        let made = tokio::task::spawn_blocking(move || {
            std::fs::create_dir_all(&dir).map_err(|e| format!("--backup-dir: {e}"))?;
            engine.backup(&target).map_err(|e| e.to_string())
        });
        match made.await {
            Ok(Ok(())) => value_answer(201, &json!({ "path": dest.display().to_string() })),
            Ok(Err(e)) => {
                tracing::error!(event = "backup_failed", error = %e, "backup failed");
                rpc_error(
                    500,
                    rpc_code::INTERNAL,
                    "Internal error",
                    Some("backup failed"),
                )
            }
            Err(_) => rpc_error(500, rpc_code::INTERNAL, "Internal error", None),
        }
    }

    async fn journal(&self, query: Option<&str>) -> Answer {
        let mut after = 0u64;
        let mut limit = 100u64;
        for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let n = v.parse::<u64>();
            match (k, n) {
                ("after", Ok(n)) => after = n,
                ("limit", Ok(n)) if (1..=1000).contains(&n) => limit = n,
                ("after", Err(_)) => {
                    return invalid("/after: must be a non-negative integer");
                }
                ("limit", _) => return invalid("/limit: must be an integer in 1..=1000"),
                _ => {}
            }
        }
        let engine = self.api.engine().clone();
        // Both journals, merged in journal order (time, then sequence number).
        let entries = match tokio::task::spawn_blocking(move || engine.journal()).await {
            Ok(Ok(e)) => e,
            Ok(Err(e)) => return engine_error(e),
            Err(_) => return rpc_error(500, rpc_code::INTERNAL, "Internal error", None),
        };
        let skip = usize::try_from(after).unwrap_or(usize::MAX);
        let take = usize::try_from(limit).unwrap_or(1000);
        let mut last = after;
        let out: Vec<Value> = entries
            .iter()
            .enumerate()
            .skip(skip)
            .take(take)
            .map(|(i, item)| {
                let seq = i as u64 + 1;
                last = seq;
                journal_item(seq, item)
            })
            .collect();
        value_answer(200, &json!({ "entries": out, "last": last }))
    }

    async fn set_status(&self, caller: &Caller, op: &str, id: &str, body: &[u8]) -> Answer {
        let Ok(operator_id) = op.parse::<u32>() else {
            return invalid("/operator_id: must be an integer in 0..=4294967295");
        };
        let Some(id) = percent_decode(id) else {
            return invalid("/operator_journey_id: invalid percent-encoding");
        };
        let journey: OperatorJourneyId = match id.parse() {
            Ok(j) => j,
            Err(e) => return invalid(&format!("/operator_journey_id: {e}")),
        };
        let status: JourneyStatus = match serde_json::from_slice::<Value>(body) {
            Ok(v) => match v.get("status").and_then(Value::as_str).map(str::parse) {
                Some(Ok(s)) => s,
                Some(Err(e)) => return invalid(&format!("/status: {e}")),
                None => return invalid("/status: required, a journey status string"),
            },
            Err(_) => return invalid("/: body must be a JSON object {\"status\": …}"),
        };
        // Only the operator id selects the journey; the SIRET is the one its tokens carry
        // (the admin's otherwise).
        let siret = self
            .tokens()
            .siret_of(operator_id)
            .unwrap_or(caller.operator.siret);
        let operator = Operator::new(operator_id, siret);
        let engine = self.api.engine().clone();
        let (jid, st) = (journey.clone(), status);
        match tokio::task::spawn_blocking(move || engine.set_journey_status(&operator, &jid, st))
            .await
        {
            Ok(Ok(())) => value_answer(
                200,
                &json!({
                    "operator_id": operator_id,
                    "operator_journey_id": journey.to_string(),
                    "status": status.to_string(),
                }),
            ),
            Ok(Err(e)) => engine_error(e),
            Err(_) => rpc_error(500, rpc_code::INTERNAL, "Internal error", None),
        }
    }
}

fn invalid(data: &str) -> Answer {
    rpc_error(400, rpc_code::INVALID_PARAMS, "Invalid params", Some(data))
}

/// An engine failure as the façade answers it.
fn engine_error(e: cee_eligibility::Error) -> Answer {
    let r = cee_eligibility::api::Response::from(e);
    facade_answer(&r)
}

/// The last address of `X-Forwarded-For` (the one the proxy in front of us added).
fn forwarded_client(req: &Request<Incoming>) -> Option<IpAddr> {
    let v = req
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .next_back()?;
    v.to_str().ok()?.rsplit(',').next()?.trim().parse().ok()
}

fn static_method(m: &hyper::Method) -> &'static str {
    match *m {
        hyper::Method::GET => "GET",
        hyper::Method::POST => "POST",
        hyper::Method::PUT => "PUT",
        hyper::Method::PATCH => "PATCH",
        hyper::Method::DELETE => "DELETE",
        hyper::Method::HEAD => "HEAD",
        hyper::Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Percent-decodes a path segment; `None` for a malformed escape or non-UTF-8 bytes.
fn percent_decode(segment: &str) -> Option<String> {
    let b = segment.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c == b'%' {
            let hex = |c: u8| char::from(c).to_digit(16);
            let hi = b.get(i + 1).copied().and_then(hex)?;
            let lo = b.get(i + 2).copied().and_then(hex)?;
            out.push(u8::try_from(hi * 16 + lo).ok()?);
            i += 3;
        } else {
            out.push(c);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// One entry of `GET /admin/journal`: `"journal": "error"` (a register refusal, in the shape
/// the error journal always had) or `"audit"` (a committed write).
fn journal_item(seq: u64, item: &JournalItem) -> Value {
    match item {
        JournalItem::Error(e) => error_item(seq, e),
        JournalItem::Audit(a) => audit_item(seq, a),
        _ => json!({ "seq": seq, "journal": "unknown" }),
    }
}

fn error_item(seq: u64, e: &JournalEntry) -> Value {
    json!({
        "seq": seq,
        "journal": "error",
        "kind": match e.kind {
            JournalKind::Date => "date",
            JournalKind::NotFound => "not_found",
            _ => "conflict",
        },
        "operator_id": e.operator_id,
        "journey_type": e.journey_type.to_string(),
        "at": e.at.to_string(),
        "application": e.application.map(|a| a.to_string()),
    })
}

fn audit_item(seq: u64, a: &AuditEntry) -> Value {
    let mut v = json!({
        "seq": seq,
        "journal": "audit",
        "action": match a.action {
            AuditAction::Registered => "registered",
            AuditAction::Deleted => "deleted",
            AuditAction::Imported => "imported",
            AuditAction::IdentityImported => "identity_imported",
            AuditAction::StandardizedImported => "standardized_imported",
            _ => "unknown",
        },
        "operator_id": a.operator_id,
        "at": a.at.to_string(),
        "rows": a.rows,
        "uuids": a.uuids.iter().map(ToString::to_string).collect::<Vec<_>>(),
    });
    if let Some(u) = a.application {
        v["uuid"] = json!(u.to_string());
    }
    if let Some(jt) = a.journey_type {
        v["journey_type"] = json!(jt.to_string());
    }
    if let Some(s) = a.segment {
        v["segment"] = json!(s);
    }
    v
}
