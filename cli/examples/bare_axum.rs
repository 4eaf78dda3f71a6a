//! The baseline of `bench/load/serve.sh`: a bare axum handler on the same runtime shape as
//! `cee serve` (multi-thread tokio, same worker count), answering `POST
//! /policies/cee/simulate` with 200 after reading the body — the HTTP stack's own limit.
//!
//! `cargo run --release -p cee-cli --example bare_axum -- 127.0.0.1:18080 [WORKERS]`

use axum::body::Bytes;
use axum::routing::post;
use axum::Router;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:18080".into());
    let workers: Option<usize> = args.next().map(|w| w.parse()).transpose()?;
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = workers {
        rt.worker_threads(n);
    }
    rt.enable_all().build()?.block_on(async {
        let app = Router::new().route(
            "/policies/cee/simulate",
            post(|body: Bytes| async move {
                std::hint::black_box(body);
            }),
        );
        let listener = tokio::net::TcpListener::bind(&addr).await?;
        eprintln!("bare axum on {}", listener.local_addr()?);
        axum::serve(listener, app).await
    })?;
    Ok(())
}
