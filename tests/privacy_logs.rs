//! Logs at `trace` level never contain an identifier (SPEC §3).
//!
//! Its own test binary (an exception to the one-binary rule): tracing caches each callsite's
//! interest process-wide, so other tests running in parallel threads without a subscriber
//! would hide this test's spans.
#![allow(clippy::unwrap_used, missing_docs)]

#[path = "it/common.rs"]
#[allow(dead_code)]
mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use tracing_subscriber::fmt::format::FmtSpan;

use common::*;

#[derive(Clone, Default)]
struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn trace_logs_hold_no_identifier() -> R {
    let sink = Sink::default();
    let writer = sink.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_span_events(FmtSpan::FULL)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let ik = "f44ff5364363e53da750d8b7b44fa3176ea36228c5f951a9c1e606c915093d30";
    tracing::subscriber::with_default(subscriber, || -> R {
        let (e, _) = engine_at("2024-06-15T12:00:00Z");
        let o = op(1);
        e.import(
            &o,
            &[
                row("long", "+336273488", "QXZ", "2020-01-01T00:00:00Z"),
                row("long", "bip", "QXZ", "x"),
            ],
        )?;
        let mut q = sim("long", "+336273488", "QXZ");
        q.driving_license = Some("ZQ9X7W5V3T1R2468".parse()?);
        q.identity_key = Some(ik.parse()?);
        let _ = e.simulate(&o, &q)?;
        let mut req = long_req(
            "+336273488",
            "QXZ",
            "ZQ9X7W5V3T1R2468",
            'a',
            "2024-06-01T00:00:00Z",
            "2024-06-10T00:00:00Z",
        );
        req.identity_key = ik.parse()?;
        let _ = e.register(&o, &req)?;
        e.put_journey(
            &o,
            &journey(
                "j1",
                "+336999999",
                "2024-06-01T08:00:00Z",
                "2024-06-01T09:00:00Z",
            ),
        )?;
        let _ = e.register(
            &o,
            &short_req("j1", "QXZ", "ZQ9X7W5V3T1R2468", 'b', "2024-06-10T00:00:00Z"),
        )?;
        // SPEC §11.3: a v3 journey's personal data, valid or not, is never logged either.
        #[cfg(feature = "api")]
        {
            let api = cee_eligibility::api::Api::new(e.clone());
            let body = serde_json::json!({
                "operator_journey_id": "j2", "operator_trip_id": "t2", "operator_class": "C",
                "start": {"datetime": "2024-06-01T08:00:00Z", "lat": 48.85, "lon": 2.35},
                "end": {"datetime": "2024-06-01T09:00:00Z", "lat": 48.80, "lon": 2.12},
                "distance": 20000, "incentives": [],
                "driver": {"revenue": 1, "identity": {"identity_key": "c".repeat(64),
                    "operator_user_id": "UserQXZ42", "firstname": "Xavierine",
                    "email": "xavierine@example.org", "phone": "+33612345678"}},
                "passenger": {"contribution": 1, "identity": {"identity_key": "d".repeat(64),
                    "operator_user_id": "PassQXZ43", "lastname": "Quibbleton"}}
            });
            let r = api.handle(Some(&o), "POST", "/journeys", body.to_string().as_bytes());
            assert_eq!(r.status, 201, "{:?}", r.body);
            let mut bad = body.clone();
            bad["driver"]["identity"]["email"] = serde_json::json!("xavierine@@example");
            let r = api.handle(Some(&o), "POST", "/journeys", bad.to_string().as_bytes());
            assert_eq!(r.status, 400);
            let r = api.handle(Some(&o), "POST", "/journeys/j2/cancel", b"");
            assert_eq!(r.status, 200);
        }
        Ok(())
    })?;
    let logs = String::from_utf8(sink.0.lock().unwrap().clone())?;
    assert!(
        logs.contains("register") && logs.contains("operator=1"),
        "spans were recorded: {logs}"
    );
    for secret in [
        "+336273488",
        "6273488",
        "QXZ",
        "ZQ9X7W5V3T1R2468",
        ik,
        "+336999999",
        &"a".repeat(64),
        "UserQXZ42",
        "Xavierine",
        "xavierine@",
        "+33612345678",
        "+336123456",
        "PassQXZ43",
        "Quibbleton",
        &"c".repeat(64),
        &"d".repeat(64),
    ] {
        assert!(!logs.contains(secret), "{secret} leaked into logs:\n{logs}");
    }
    Ok(())
}
