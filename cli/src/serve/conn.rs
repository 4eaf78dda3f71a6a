//! The accept loop: hyper's HTTP/1 server with a timer (so the header-read timeout is on),
//! at most `max_connections` connections, optional TLS (rustls), graceful shutdown with a
//! deadline.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;

use super::app::App;

/// Connection limits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Time to receive a whole request head; also how long a keep-alive connection may stay
    /// idle (hyper starts this timer whenever it waits for a request head).
    pub header_timeout: Duration,
    /// Most connections open at once (more wait in the kernel's backlog).
    pub max_connections: usize,
    /// After shutdown is asked, how long running requests may take to finish.
    pub shutdown_timeout: Duration,
}

/// Serves `app` on `listener` until `shutdown` resolves, then lets running requests finish
/// (up to the shutdown deadline).
pub async fn serve(
    listener: TcpListener,
    app: Arc<App>,
    limits: Limits,
    tls: Option<TlsAcceptor>,
    shutdown: impl Future<Output = ()>,
) {
    let graceful = GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true);
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            s = Arc::clone(&slots).acquire_owned() => match s {
                Ok(s) => s,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    // EMFILE and the like: wait a little rather than spin.
                    tracing::warn!(event = "accept_failed", error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let watcher = graceful.watcher();
        let http = http.clone();
        let app = Arc::clone(&app);
        let tls = tls.clone();
        let header_timeout = limits.header_timeout;
        tokio::spawn(async move {
            app.metrics.connections.inc();
            let service = {
                let app = Arc::clone(&app);
                service_fn(move |req| Arc::clone(&app).handle(peer.ip(), req))
            };
            match tls {
                None => {
                    let conn = http.serve_connection(TokioIo::new(stream), service);
                    let _ = watcher.watch(conn).await;
                }
                Some(acceptor) => {
                    // The handshake counts as part of the head: same deadline.
                    let handshake = tokio::time::timeout(header_timeout, acceptor.accept(stream));
                    if let Ok(Ok(s)) = handshake.await {
                        let conn = http.serve_connection(TokioIo::new(s), service);
                        let _ = watcher.watch(conn).await;
                    }
                }
            }
            app.metrics.connections.dec();
            drop(slot);
        });
    }
    drop(listener);
    app.set_not_ready();
    tracing::info!(
        event = "draining",
        deadline_secs = limits.shutdown_timeout.as_secs(),
        "stopped accepting; finishing running requests"
    );
    if tokio::time::timeout(limits.shutdown_timeout, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            event = "shutdown_deadline",
            "shutdown deadline reached with requests still running"
        );
    }
}
