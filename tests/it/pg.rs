//! The behaviour tests on a PostgreSQL registry (SPEC §11.5): a representative subset of the
//! engine and façade tests run again with every engine they open on a fresh PostgreSQL
//! database, and the cross-instance tests (two engines, one registry).
//!
//! The server comes from `CEE_TEST_POSTGRES` (or `CEE_POSTGRES`), a conninfo such as
//! `.ci/pg-cluster start` prints. Without one a test prints that it is skipped and passes —
//! unless `CEE_REQUIRE_POSTGRES=1` (as `.ci/run` sets), then it fails. Needs the feature
//! `postgres` (`cargo test --features postgres --test it pg::`).

#[cfg(feature = "postgres")]
mod failover;
#[cfg(feature = "postgres")]
mod freshness;
#[cfg(feature = "postgres")]
mod race;

/// `on_postgres!(test, …)` in a test module: a child module `on_postgres` with each named
/// test run again inside [`on_postgres`] (every engine it opens through
/// `common::fresh_config`, hence `engine_at` and the façade's `Fx`, on PostgreSQL).
#[macro_export]
macro_rules! on_postgres {
    ($($test:ident),+ $(,)?) => {
        #[cfg(feature = "postgres")]
        mod on_postgres {
            $(
                #[test]
                fn $test() {
                    let name = concat!(module_path!(), "::", stringify!($test));
                    if let Some(outcome) = $crate::pg::on_postgres(name, super::$test) {
                        $crate::pg::passed(outcome);
                    }
                }
            )+
        }
    };
}

#[cfg(feature = "postgres")]
pub use support::{fresh_database, on_postgres, passed};

#[cfg(feature = "postgres")]
pub mod support {
    use std::cell::RefCell;
    use std::sync::atomic::{AtomicU32, Ordering};

    use cee_eligibility::Config;

    thread_local! {
        /// The server the current test's engines go to (set by `on_postgres`).
        static SERVER: RefCell<Option<String>> = const { RefCell::new(None) };
    }

    /// The test server's conninfo; `None` (after saying so) when there is none and none is
    /// required.
    pub fn server(test: &str) -> Option<String> {
        let found = std::env::var("CEE_TEST_POSTGRES")
            .or_else(|_| std::env::var("CEE_POSTGRES"))
            .ok();
        if found.is_none() {
            assert!(
                std::env::var("CEE_REQUIRE_POSTGRES").as_deref() != Ok("1"),
                "{test}: CEE_REQUIRE_POSTGRES=1 but neither CEE_TEST_POSTGRES nor CEE_POSTGRES is set"
            );
            eprintln!("{test}: skipped (set CEE_TEST_POSTGRES to a PostgreSQL conninfo, see .ci/pg-cluster)");
        }
        found
    }

    /// Runs `test` with every engine it opens through `common::fresh_config` on its own fresh
    /// PostgreSQL database; skips (or fails, when required) without a server.
    pub fn on_postgres<T>(name: &str, test: impl FnOnce() -> T) -> Option<T> {
        let base = server(name)?;
        SERVER.with(|s| *s.borrow_mut() = Some(base));
        crate::common::FRESH.with(|f| f.set(Some(fresh_config)));
        let out = test();
        crate::common::FRESH.with(|f| f.set(None));
        SERVER.with(|s| *s.borrow_mut() = None);
        Some(out)
    }

    /// What a test returned, as a pass or a failure (tests return `R` or `()`).
    pub trait Passed {
        fn check(self);
    }
    impl Passed for () {
        fn check(self) {}
    }
    impl Passed for crate::common::R {
        fn check(self) {
            if let Err(e) = self {
                panic!("{e}");
            }
        }
    }
    pub fn passed(outcome: impl Passed) {
        outcome.check();
    }

    /// A fresh, empty database on `base`, as a conninfo (one per engine: tests run in parallel).
    pub fn fresh_database(base: &str) -> String {
        static N: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "cee_it_{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        // CREATE DATABASE copies template1 and fails while another session uses it.
        static CREATE: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _one = CREATE.lock().unwrap_or_else(|e| e.into_inner());
        let mut admin = postgres::Client::connect(base, postgres::NoTls)
            .unwrap_or_else(|e| panic!("cannot connect to the test server: {e}"));
        let mut attempt = 0;
        while let Err(e) = admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))
            .and_then(|()| admin.batch_execute(&format!("CREATE DATABASE {name}")))
        {
            attempt += 1;
            assert!(attempt < 50, "cannot create database {name}: {e}");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        // In a key=value conninfo a later key wins.
        format!("{base} dbname={name}")
    }

    /// Inside `on_postgres`: a registry on a fresh database (with a fixed secret).
    pub fn fresh_config() -> Config {
        let base = SERVER
            .with(|s| s.borrow().clone())
            .expect("inside on_postgres");
        let mut secret = [0u8; 32];
        for (i, b) in secret.iter_mut().enumerate() {
            *b = u8::try_from(i).unwrap() ^ 0x5a;
        }
        Config::postgres(&fresh_database(&base)).secret(secret)
    }
}
