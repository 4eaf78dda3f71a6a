//! `cee serve`: the JSON façade over HTTP (axum on a small tokio runtime).
//!
//! Every request is authenticated with `Authorization: Bearer <token>`: the SHA-256 of the
//! token is looked up in the tokens file, which maps hashes to operators (the server never
//! stores a token in clear). Then method, path and body go unchanged to the façade
//! (`cee_eligibility::api::Api::handle`), whose status and JSON body are sent back. Engine
//! calls run on tokio's blocking pool (a register waits for its fsync). Bodies are limited to
//! 2 MiB. SIGINT / SIGTERM stop accepting, let running requests finish, then flush the engine.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use cee_eligibility::{Engine, Operator, Siret};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::{DbArgs, Outcome, Result};

/// Largest accepted request body.
pub const BODY_LIMIT: usize = 2 * 1024 * 1024;

/// Arguments of `cee serve`.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    db: DbArgs,
    #[command(flatten)]
    policy: crate::policy_args::PolicyArgs,
    /// Address to listen on.
    #[arg(long, value_name = "IP:PORT", default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// JSON file mapping token hashes to operators:
    /// [{"token_sha256": "<64 hex>", "operator_id": 1, "siret": "<14 digits>"}]
    /// (hash a token with `cee token-hash`).
    #[arg(long, value_name = "FILE")]
    tokens: PathBuf,
}

/// What the server hands authenticated requests to: the JSON façade's contract
/// (`Api::handle(Option<&Operator>, method, path, body) -> Response { status, body }`).
pub trait Handler: Send + Sync + 'static {
    /// Answers one request: HTTP status and optional JSON body.
    fn handle(
        &self,
        operator: Option<&Operator>,
        method: &str,
        path: &str,
        body: &[u8],
    ) -> (u16, Option<Value>);
}

impl Handler for cee_eligibility::api::Api {
    fn handle(
        &self,
        op: Option<&Operator>,
        method: &str,
        path: &str,
        body: &[u8],
    ) -> (u16, Option<Value>) {
        let r = cee_eligibility::api::Api::handle(self, op, method, path, body);
        (r.status, r.body)
    }
}

/// The façade serving `engine`.
fn facade(engine: &Engine) -> Result<cee_eligibility::api::Api> {
    Ok(cee_eligibility::api::Api::new(engine.clone()))
}

/// Runs `cee serve` until SIGINT or SIGTERM.
pub fn run(args: &Args) -> Result<Outcome> {
    let tokens = Tokens::load(&args.tokens)?;
    let policy = args.policy.resolve()?;
    let engine = args.db.open(|c| c.policy(policy))?;
    let handler = facade(&engine)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let served = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(args.addr)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", args.addr))?;
        eprintln!(
            "cee serve: listening on http://{} ({} operator tokens); Ctrl-C to stop",
            listener.local_addr()?,
            tokens.len()
        );
        crate::policy_args::announce(&engine);
        serve(listener, handler, tokens, shutdown_signal()).await?;
        Ok::<_, Box<dyn std::error::Error>>(())
    });
    // Flush whatever happened, even if serving failed.
    let flushed = engine.flush();
    served?;
    flushed?;
    eprintln!("cee serve: stopped; database flushed");
    Ok(Outcome::Positive)
}

/// Serves `handler` on `listener` until `shutdown` completes, then waits for running requests.
pub async fn serve(
    listener: tokio::net::TcpListener,
    handler: impl Handler,
    tokens: Tokens,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(handler, tokens))
        .with_graceful_shutdown(shutdown)
        .await
}

struct AppState {
    handler: Box<dyn Handler>,
    tokens: Tokens,
}

fn router(handler: impl Handler, tokens: Tokens) -> Router {
    let state = Arc::new(AppState {
        handler: Box::new(handler),
        tokens,
    });
    Router::new()
        .fallback(handle)
        .with_state(state)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
}

async fn handle(
    State(state): State<Arc<AppState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Response {
    let Some(operator) = state.tokens.authenticate(&headers) else {
        return (
            StatusCode::UNAUTHORIZED,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            UNAUTHORIZED,
        )
            .into_response();
    };
    let body = match body {
        Ok(b) => b,
        Err(rejection) => {
            let status = rejection.status().as_u16();
            let message = if status == 413 {
                "Payload Too Large"
            } else {
                "Invalid Request"
            };
            return json_response(status, Some(rpc_error(-32600, message)));
        }
    };
    let path = uri.path().to_owned();
    let answer = tokio::task::spawn_blocking(move || {
        state
            .handler
            .handle(Some(&operator), method.as_str(), &path, &body)
    })
    .await;
    match answer {
        Ok((status, body)) => json_response(status, body),
        Err(_) => json_response(500, Some(rpc_error(-32603, "Internal Error"))),
    }
}

/// The answer to a request without a known bearer token.
const UNAUTHORIZED: &str =
    r#"{"id":1,"jsonrpc":"2.0","error":{"code":-32501,"message":"Unauthorized Error"}}"#;

/// The JSON-RPC error envelope of the public API.
fn rpc_error(code: i32, message: &str) -> Value {
    json!({ "id": 1, "jsonrpc": "2.0", "error": { "code": code, "message": message } })
}

fn json_response(status: u16, body: Option<Value>) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    match body {
        None => status.into_response(),
        Some(v) => (
            status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            v.to_string(),
        )
            .into_response(),
    }
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
    eprintln!("cee serve: shutting down (finishing running requests)");
}

/// Token hashes → operators.
#[derive(Debug, Default)]
pub struct Tokens(HashMap<[u8; 32], Operator>);

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenEntry {
    token_sha256: String,
    operator_id: u32,
    siret: Siret,
}

impl Tokens {
    /// Reads a tokens file: `[{"token_sha256": "<hex>", "operator_id": 1, "siret": "…"}]`.
    ///
    /// # Errors
    /// Unreadable file, not that shape, a hash that is not 64 hex characters, a hash listed
    /// twice.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the tokens file {}: {e}", path.display()))?;
        Self::parse(&text).map_err(|e| format!("tokens file {}: {e}", path.display()).into())
    }

    fn parse(text: &str) -> Result<Self, String> {
        let entries: Vec<TokenEntry> = serde_json::from_str(text).map_err(|e| {
            format!(
                "{e} (expected [{{\"token_sha256\": \"<64 hex>\", \"operator_id\": 1, \"siret\": \"<14 digits>\"}}])"
            )
        })?;
        let mut map = HashMap::with_capacity(entries.len());
        for (i, e) in entries.into_iter().enumerate() {
            let hash = crate::secret::parse_hex(e.token_sha256.trim()).map_err(|why| {
                format!("entry {i}: token_sha256 must be 64 hex characters ({why})")
            })?;
            if map
                .insert(hash, Operator::new(e.operator_id, e.siret))
                .is_some()
            {
                return Err(format!("entry {i}: this token_sha256 is listed twice"));
            }
        }
        Ok(Tokens(map))
    }

    /// How many tokens are known.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The operator of the request's bearer token, if known.
    fn authenticate(&self, headers: &HeaderMap) -> Option<Operator> {
        let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
        let (scheme, token) = value.trim().split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return None;
        }
        let token = token.trim();
        if token.is_empty() {
            return None;
        }
        let hash: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        self.0.get(&hash).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    /// Echoes what it received, so the tests see what the façade would get.
    struct Echo;

    impl Handler for Echo {
        fn handle(
            &self,
            op: Option<&Operator>,
            method: &str,
            path: &str,
            body: &[u8],
        ) -> (u16, Option<Value>) {
            if path == "/empty" {
                return (204, None);
            }
            (
                201,
                Some(json!({
                    "operator": op.map(|o| o.id),
                    "siret": op.map(|o| o.siret.to_string()),
                    "method": method,
                    "path": path,
                    "body_len": body.len(),
                })),
            )
        }
    }

    const SIRET: &str = "89248032800012";

    fn tokens() -> Tokens {
        let hash = crate::secret::to_hex(&Sha256::digest(b"good-token"));
        Tokens::parse(&format!(
            r#"[{{"token_sha256": "{hash}", "operator_id": 7, "siret": "{SIRET}"}}]"#
        ))
        .expect("tokens")
    }

    /// Starts a server on an ephemeral port in a background thread; returns its address and
    /// a sender that stops it.
    fn start() -> (
        SocketAddr,
        std::sync::mpsc::Sender<()>,
        std::thread::JoinHandle<()>,
    ) {
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("bind");
                addr_tx
                    .send(listener.local_addr().expect("addr"))
                    .expect("send");
                serve(listener, Echo, tokens(), async move {
                    let _ = tokio::task::spawn_blocking(move || rx.recv()).await;
                })
                .await
                .expect("serve");
            });
        });
        (addr_rx.recv().expect("addr"), tx, thread)
    }

    /// One raw HTTP/1.1 request; returns (status, body).
    fn request(
        addr: SocketAddr,
        method: &str,
        path: &str,
        auth: Option<&str>,
        body: &[u8],
    ) -> (u16, String) {
        let mut s = std::net::TcpStream::connect(addr).expect("connect");
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        );
        if let Some(a) = auth {
            head.push_str(&format!("Authorization: {a}\r\n"));
        }
        head.push_str("\r\n");
        s.write_all(head.as_bytes()).expect("write head");
        let _ = s.write_all(body);
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        let text = String::from_utf8_lossy(&out).into_owned();
        let status = text.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
        let body = text
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_owned())
            .unwrap_or_default();
        (status, body)
    }

    #[test]
    fn auth_routing_and_limits() {
        let (addr, stop, thread) = start();
        let unauthorized =
            r#"{"id":1,"jsonrpc":"2.0","error":{"code":-32501,"message":"Unauthorized Error"}}"#;

        let (status, body) = request(addr, "POST", "/v3/policies/cee/simulate", None, b"{}");
        assert_eq!((status, body.as_str()), (401, unauthorized));
        let (status, _) = request(
            addr,
            "POST",
            "/policies/cee",
            Some("Bearer wrong-token"),
            b"{}",
        );
        assert_eq!(status, 401);
        let (status, _) = request(addr, "GET", "/", Some("Basic good-token"), b"");
        assert_eq!(status, 401);

        let (status, body) = request(
            addr,
            "PATCH",
            "/v3.3/journeys/abc?x=1",
            Some("Bearer good-token"),
            b"{\"a\":1}",
        );
        assert_eq!(status, 201);
        let v: Value = serde_json::from_str(&body).expect("json");
        assert_eq!(
            v,
            json!({"operator": 7, "siret": SIRET, "method": "PATCH",
                   "path": "/v3.3/journeys/abc", "body_len": 7})
        );
        let (status, body) = request(addr, "DELETE", "/empty", Some("bearer good-token"), b"");
        assert_eq!((status, body.as_str()), (204, ""));

        let big = vec![b' '; BODY_LIMIT + 1];
        let (status, _) = request(
            addr,
            "POST",
            "/policies/cee/import",
            Some("Bearer good-token"),
            &big,
        );
        assert_eq!(status, 413);
        let ok = vec![b' '; BODY_LIMIT];
        let (status, _) = request(
            addr,
            "POST",
            "/policies/cee/import",
            Some("Bearer good-token"),
            &ok,
        );
        assert_eq!(status, 201);

        let _ = stop.send(());
        thread.join().expect("server thread");
    }

    #[test]
    fn tokens_file_errors() {
        assert!(Tokens::parse("{}").is_err());
        assert!(Tokens::parse(
            r#"[{"token_sha256": "ab", "operator_id": 1, "siret": "89248032800012"}]"#
        )
        .is_err());
        let h = "0".repeat(64);
        let one =
            format!(r#"{{"token_sha256": "{h}", "operator_id": 1, "siret": "89248032800012"}}"#);
        assert_eq!(Tokens::parse(&format!("[{one}]")).map(|t| t.len()), Ok(1));
        assert!(Tokens::parse(&format!("[{one}, {one}]")).is_err());
        let bad_siret = format!(r#"[{{"token_sha256": "{h}", "operator_id": 1, "siret": "123"}}]"#);
        assert!(Tokens::parse(&bad_siret).is_err());
        let extra = format!(
            r#"[{{"token_sha256": "{h}", "operator_id": 1, "siret": "89248032800012", "x": 1}}]"#
        );
        assert!(Tokens::parse(&extra).is_err());
    }
}
