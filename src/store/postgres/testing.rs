//! Test support: a PostgreSQL server from `CEE_TEST_POSTGRES` (a conninfo, e.g. printed by
//! `.ci/pg-cluster start`), one fresh database per test so tests run in parallel.
//!
//! Without the variable a test prints a skip message and passes — unless
//! `CEE_REQUIRE_POSTGRES=1` (set by `.ci/run`), then it fails.

use std::sync::atomic::{AtomicU32, Ordering};

/// A fresh, empty database on the test server, as a conninfo; `None` (after printing why)
/// when no server is configured and none is required.
pub(crate) fn fresh_database(test: &str) -> Option<String> {
    let Ok(base) = std::env::var("CEE_TEST_POSTGRES") else {
        assert!(
            std::env::var("CEE_REQUIRE_POSTGRES").as_deref() != Ok("1"),
            "{test}: CEE_REQUIRE_POSTGRES=1 but CEE_TEST_POSTGRES is not set"
        );
        eprintln!(
            "{test}: skipped (set CEE_TEST_POSTGRES to a PostgreSQL conninfo, see .ci/pg-cluster)"
        );
        return None;
    };
    static N: AtomicU32 = AtomicU32::new(0);
    let name = format!(
        "cee_t_{}_{}_{}",
        test.chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(30)
            .collect::<String>(),
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    );
    // CREATE DATABASE copies template1 and fails while another session uses it: one at a time
    // here, and retried for other processes doing the same.
    static CREATE: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = CREATE.lock().unwrap_or_else(|e| e.into_inner());
    let mut admin = postgres::Client::connect(&base, postgres::NoTls)
        .unwrap_or_else(|e| panic!("{test}: cannot connect to CEE_TEST_POSTGRES: {e:?}"));
    let mut attempt = 0;
    while let Err(e) = admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))
        .and_then(|()| admin.batch_execute(&format!("CREATE DATABASE {name}")))
    {
        attempt += 1;
        assert!(attempt < 50, "{test}: cannot create database {name}: {e:?}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // In a key=value conninfo a later key wins.
    Some(format!("{base} dbname={name}"))
}

/// A plain connection for a test to inspect or damage the registry behind the store's back.
pub(crate) fn connect(conninfo: &str) -> postgres::Client {
    postgres::Client::connect(conninfo, postgres::NoTls).expect("connect to the test database")
}
