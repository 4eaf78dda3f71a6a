//! Timeouts, authentication before the body, rate limits, kill switches, shutdown.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::common::*;

#[test]
fn slowloris_is_closed_within_the_header_timeout() -> R {
    let server = Server::start(&["--header-timeout-secs", "1"], &[])?;
    let start = Instant::now();
    let mut s = TcpStream::connect(server.addr)?;
    s.set_read_timeout(Some(Duration::from_secs(8)))?;
    s.write_all(b"POST /policies/cee/simulate HTTP/1.1\r\nHost: x\r\n")?;
    // Trickle a header byte now and then: the head never completes.
    let mut closed = false;
    for _ in 0..20 {
        std::thread::sleep(Duration::from_millis(200));
        if s.write_all(b"X").is_err() {
            closed = true;
            break;
        }
        s.set_nonblocking(true)?;
        let mut buf = [0u8; 256];
        let r = s.read(&mut buf);
        s.set_nonblocking(false)?;
        if matches!(r, Ok(0)) || matches!(&r, Err(e) if e.kind() != std::io::ErrorKind::WouldBlock)
        {
            closed = true;
            break;
        }
        if let Ok(n) = r {
            // hyper may answer 408 before closing.
            let _ = n;
            closed = true;
            break;
        }
    }
    let elapsed = start.elapsed();
    assert!(closed, "the connection is still open after {elapsed:?}");
    assert!(
        elapsed < Duration::from_millis(2500),
        "closed after {elapsed:?}"
    );

    // An idle keep-alive connection is closed by the same timer.
    let mut idle = TcpStream::connect(server.addr)?;
    idle.set_read_timeout(Some(Duration::from_secs(5)))?;
    let start = Instant::now();
    idle.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")?;
    let mut all = Vec::new();
    let _ = idle.read_to_end(&mut all);
    let text = String::from_utf8_lossy(&all);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(
        start.elapsed() < Duration::from_millis(2500),
        "{:?}",
        start.elapsed()
    );
    Ok(())
}

#[test]
fn unauthenticated_is_answered_before_the_body_is_sent() -> R {
    let server = Server::start(&[], &[])?;
    let mut s = TcpStream::connect(server.addr)?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    // Announce 2 MB, send none of it.
    s.write_all(head("POST", "/policies/cee/import", &[], 2_000_000).as_bytes())?;
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let r = parse_reply(&out);
    assert_eq!(r.status, 401, "{r:?}");
    assert_eq!(r.header("www-authenticate").as_deref(), Some("Bearer"));
    assert_eq!(r.json()["error"]["code"], json!(-32501));

    // With a wrong token, same answer.
    let r = server.call(
        Some("nope"),
        "POST",
        "/policies/cee/simulate",
        Some(&json!({})),
    );
    assert_eq!(r.status, 401);
    // Known path, other method: 405 with Allow (no token needed to learn that).
    let r = server.call(None, "GET", "/policies/cee/simulate", None);
    assert_eq!(
        (r.status, r.header("allow").as_deref()),
        (405, Some("POST")),
        "{r:?}"
    );
    let r = server.call(None, "GET", "/nowhere", None);
    assert_eq!(r.status, 404);
    Ok(())
}

#[test]
fn rate_limit_per_operator_and_per_address() -> R {
    let server = Server::start(&["--rate-limit", "3", "--auth-failure-limit", "2"], &[])?;
    let sim =
        json!({"journey_type": "long", "phone_trunc": "+336273488", "last_name_trunc": "ABC"});
    for _ in 0..3 {
        let r = server.call(Some(OP1), "POST", "/policies/cee/simulate", Some(&sim));
        assert_eq!(r.status, 200, "{r:?}");
    }
    let r = server.call(Some(OP1), "POST", "/policies/cee/simulate", Some(&sim));
    assert_eq!(r.status, 429, "{r:?}");
    let retry: u64 = r.header("retry-after").ok_or("no Retry-After")?.parse()?;
    assert!((1..=60).contains(&retry), "{retry}");
    // Another operator is unaffected.
    let r = server.call(Some(OP2), "POST", "/policies/cee/simulate", Some(&sim));
    assert_eq!(r.status, 200, "{r:?}");

    // Failed authentications from one address: 2 answered 401, then 429.
    for _ in 0..2 {
        assert_eq!(
            server
                .call(Some("bad"), "GET", "/policies/cee/public-key", None)
                .status,
            401
        );
    }
    let r = server.call(Some("bad"), "GET", "/policies/cee/public-key", None);
    assert_eq!(r.status, 429, "{r:?}");
    assert!(r.header("retry-after").is_some());
    Ok(())
}

#[test]
fn failed_auth_limit_per_forwarded_client() -> R {
    let server = Server::start(&["--auth-failure-limit", "1", "--forwarded-for"], &[])?;
    let call = |xff: &str| {
        raw(
            server.addr,
            "GET",
            "/policies/cee/public-key",
            &[("Authorization", "Bearer bad"), ("X-Forwarded-For", xff)],
            b"",
        )
        .status
    };
    assert_eq!(call("203.0.113.9, 10.0.0.1"), 401);
    assert_eq!(call("10.0.0.1"), 429);
    assert_eq!(call("10.0.0.2"), 401);
    Ok(())
}

#[test]
fn kill_switches() -> R {
    let server = Server::start(
        &["--disable", "simulate"],
        &[
            ("APP_DISABLE_CEE_REGISTER", "true"),
            ("APP_DISABLE_CEE_IMPORT", "false"),
        ],
    )?;
    let sim =
        json!({"journey_type": "long", "phone_trunc": "+336273488", "last_name_trunc": "ABC"});
    let r = server.call(Some(OP1), "POST", "/v3/policies/cee/simulate", Some(&sim));
    assert_eq!(r.status, 405, "{r:?}");
    assert_eq!(
        r.json()["error"]["message"],
        json!("This service is disabled")
    );
    let r = server.call(Some(OP1), "POST", "/policies/cee", Some(&json!({})));
    assert_eq!(r.status, 405, "{r:?}");
    // Import stays on ("false"): a bad body is its own 400.
    let r = server.call(Some(OP1), "POST", "/policies/cee/import", Some(&json!([])));
    assert_eq!(r.status, 400, "{r:?}");
    Ok(())
}

#[test]
fn db_typo_is_refused_without_create() -> R {
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("tokens.json"), tokens_json().to_string())?;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cee"))
        .args([
            "serve",
            "--db",
            "dbb",
            "--addr",
            "127.0.0.1:0",
            "--tokens",
            "tokens.json",
        ])
        .current_dir(dir.path())
        .env("CEE_SECRET", SECRET)
        .output()?;
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--create"), "{err}");
    assert!(!dir.path().join("dbb").exists());

    // Flags also come from the environment (CEE_<FLAG>).
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cee"))
        .args(["serve"])
        .current_dir(dir.path())
        .env("CEE_SECRET", SECRET)
        .env("CEE_DB", "other")
        .env("CEE_TOKENS", "tokens.json")
        .env("CEE_ADDR", "127.0.0.1:0")
        .output()?;
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--db other"), "{err}");
    Ok(())
}

#[test]
fn shutdown_completes_the_request_in_flight_and_flushes() -> R {
    let server = Server::start(&["--shutdown-timeout-secs", "5"], &[])?;
    let body = json!([
        {"journey_type": "long", "phone_trunc": "+336273488", "last_name_trunc": "ABC", "datetime": "2020-01-01T00:00:00Z"}
    ])
    .to_string();
    let auth = format!("Bearer {OP1}");
    let mut s = TcpStream::connect(server.addr)?;
    s.set_read_timeout(Some(Duration::from_secs(8)))?;
    s.write_all(
        head(
            "POST",
            "/policies/cee/import",
            &[("Authorization", &auth)],
            body.len(),
        )
        .as_bytes(),
    )?;
    let (first, rest) = body.as_bytes().split_at(10);
    s.write_all(first)?;
    std::thread::sleep(Duration::from_millis(300));
    server.signal("TERM")?;
    server.wait_log("draining", Duration::from_secs(5))?;
    // The server stopped accepting but waits for this request.
    let ready = std::net::TcpStream::connect(server.addr);
    assert!(ready.is_err(), "still accepting after SIGTERM");
    s.write_all(rest)?;
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let r = parse_reply(&out);
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(r.json()["imported"], json!(1));
    let (ok, log, dir) = server.wait_exit(Duration::from_secs(10))?;
    assert!(ok, "{log}");
    assert!(log.contains("registry flushed"), "{log}");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cee"))
        .args(["stats", "--db", "db", "--json"])
        .current_dir(dir.path())
        .env("CEE_SECRET", SECRET)
        .output()?;
    let stats: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(stats["specific"]["long"], json!(1), "{stats}");
    Ok(())
}

#[test]
fn body_timeout_and_max_connections() -> R {
    let server = Server::start(&["--body-timeout-secs", "1", "--max-connections", "1"], &[])?;
    let auth = format!("Bearer {OP1}");
    // A body that stops arriving: 408 after the body timeout.
    let mut s = TcpStream::connect(server.addr)?;
    s.set_read_timeout(Some(Duration::from_secs(6)))?;
    let start = Instant::now();
    s.write_all(
        head(
            "POST",
            "/policies/cee/import",
            &[("Authorization", &auth)],
            100,
        )
        .as_bytes(),
    )?;
    s.write_all(b"[{\"journey")?;
    // Meanwhile the only connection slot is taken: another client waits in the backlog.
    let mut waiting = TcpStream::connect(server.addr)?;
    waiting.set_read_timeout(Some(Duration::from_millis(400)))?;
    waiting.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")?;
    let mut buf = [0u8; 64];
    assert!(
        waiting.read(&mut buf).is_err(),
        "answered beyond --max-connections"
    );
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let r = parse_reply(&out);
    assert_eq!(r.status, 408, "{r:?}");
    assert!(
        start.elapsed() < Duration::from_secs(4),
        "{:?}",
        start.elapsed()
    );
    drop(s);
    // The slot is free again: the waiting client is served.
    waiting.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut all = Vec::new();
    let _ = waiting.read_to_end(&mut all);
    assert_eq!(parse_reply(&all).status, 200);
    Ok(())
}
