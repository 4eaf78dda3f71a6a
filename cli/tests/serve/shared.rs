//! Two `cee serve --postgres` processes on one PostgreSQL registry (SPEC §11.5): a
//! registration through one is refused by the other, whose simulate sees it.
//!
//! Needs a server in `CEE_TEST_POSTGRES` (see `.ci/pg-cluster`); skipped with a message
//! without one, failed without one when `CEE_REQUIRE_POSTGRES=1`.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::common::*;

/// A fresh database on the test server, as a conninfo.
fn fresh_database() -> Option<String> {
    let Ok(base) = std::env::var("CEE_TEST_POSTGRES") else {
        assert!(
            std::env::var("CEE_REQUIRE_POSTGRES").as_deref() != Ok("1"),
            "CEE_REQUIRE_POSTGRES=1 but CEE_TEST_POSTGRES is not set"
        );
        eprintln!("shared registry: skipped (set CEE_TEST_POSTGRES, see .ci/pg-cluster)");
        return None;
    };
    let name = format!("cee_serve_{}", std::process::id());
    let out = std::process::Command::new("psql")
        .args([
            &base,
            "-qc",
            &format!("DROP DATABASE IF EXISTS {name}"),
            "-c",
            &format!("CREATE DATABASE {name}"),
        ])
        .output()
        .expect("psql runs");
    assert!(
        out.status.success(),
        "create database: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(format!("{base} dbname={name}"))
}

fn start(conninfo: &str) -> Result<Server, Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("tokens.json"), tokens_json().to_string())?;
    Server::start_on(dir, &[], &[], &[], &[("CEE_POSTGRES", conninfo)])
}

#[test]
fn two_servers_on_one_postgres_registry_share_it() -> R {
    let Some(db) = fresh_database() else {
        return Ok(());
    };
    let a = start(&db)?;
    let b = start(&db)?;
    let reg = |name: &str, key: char| {
        json!({"journey_type": "long", "phone_trunc": "+336273488", "last_name_trunc": name,
               "driving_license": "051227308989", "identity_key": key.to_string().repeat(64),
               "datetime": "2024-06-01T00:00:00Z", "application_timestamp": "2024-06-10T00:00:00Z"})
    };
    let sim = json!({"journey_type": "long", "phone_trunc": "+336273411", "last_name_trunc": "XYZ",
                     "driving_license": "051227308989"});
    for s in [&a, &b] {
        let r = s.call(None, "GET", "/ready", None);
        assert_eq!((r.status, r.json()["status"].clone()), (200, json!("ok")));
    }
    let before = b.call(Some(OP2), "POST", "/policies/cee/simulate", Some(&sim));
    assert_eq!(before.status, 200, "{}", before.body);

    let first = a.call(Some(OP1), "POST", "/policies/cee", Some(&reg("ABC", 'a')));
    assert_eq!(first.status, 201, "{}", first.body);
    // The other process refuses the same beneficiary (same licence) at once …
    let dup = b.call(Some(OP2), "POST", "/policies/cee", Some(&reg("XYZ", 'b')));
    assert_eq!(dup.status, 409, "{}", dup.body);
    assert_eq!(dup.json()["datetime"], "2024-06-01T00:00:00.000Z");
    // The registering operator's own simulate shows its uuid.
    let own = json!({"journey_type": "long", "phone_trunc": "+336273488", "last_name_trunc": "ABC",
                     "driving_license": "051227308989"});
    let r = a.call(Some(OP1), "POST", "/policies/cee/simulate", Some(&own));
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(r.json()["uuid"].is_string(), "{}", r.body);
    // … and so does the first one, for a duplicate sent to it.
    let again = a.call(Some(OP2), "POST", "/policies/cee", Some(&reg("DEF", 'c')));
    assert_eq!(again.status, 409, "{}", again.body);

    // A registration on B reaches A's simulate within a second.
    let reg_b = json!({"journey_type": "long", "phone_trunc": "+336273499", "last_name_trunc": "QRS",
                       "driving_license": "123456789012", "identity_key": "d".repeat(64),
                       "datetime": "2024-06-01T00:00:00Z", "application_timestamp": "2024-06-10T00:00:00Z"});
    let made = b.call(Some(OP2), "POST", "/policies/cee", Some(&reg_b));
    assert_eq!(made.status, 201, "{}", made.body);
    let sim_a = json!({"journey_type": "long", "phone_trunc": "+336000000", "last_name_trunc": "ZZZ",
                       "driving_license": "123456789012"});
    let t = Instant::now();
    loop {
        let r = a.call(Some(OP1), "POST", "/policies/cee/simulate", Some(&sim_a));
        if r.status == 409 {
            break;
        }
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(t.elapsed() < Duration::from_secs(1), "not seen within 1 s");
        std::thread::sleep(Duration::from_millis(5));
    }
    // A short registration through A, then A's own simulate of that driver: describing its
    // own short application reads the registry (the journey's status), which a PostgreSQL
    // client may only do off the async workers (`--postgres` sends every call there).
    let journey = json!({
        "operator_journey_id": "j-1", "operator_class": "C",
        "start": {"datetime": "2024-06-01T08:00:00Z", "lat": 48.8566, "lon": 2.3522},
        "end": {"datetime": "2024-06-01T09:00:00Z", "lat": 48.8049, "lon": 2.1204},
        "operator_trip_id": "t-1", "distance": 20000, "incentives": [],
        "driver": {"identity": {"operator_user_id": "u-1", "identity_key": "f".repeat(64),
                                "phone": "+33655555555"}, "revenue": 0},
        "passenger": {"identity": {"operator_user_id": "u-2", "identity_key": "e".repeat(64)},
                      "contribution": 0}
    });
    let r = a.call(Some(OP1), "POST", "/journeys", Some(&journey));
    assert_eq!(r.status, 201, "{}", r.body);
    let short = json!({"journey_type": "short", "operator_journey_id": "j-1",
                       "last_name_trunc": "SHO", "driving_license": "987654321098",
                       "identity_key": "f".repeat(64), "application_timestamp": "2024-06-10T00:00:00Z"});
    let r = a.call(Some(OP1), "POST", "/policies/cee", Some(&short));
    assert_eq!(r.status, 201, "{}", r.body);
    let own_short = json!({"journey_type": "short", "phone_trunc": "+336555555",
                           "last_name_trunc": "SHO", "driving_license": "987654321098"});
    let r = a.call(
        Some(OP1),
        "POST",
        "/policies/cee/simulate",
        Some(&own_short),
    );
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(r.json()["uuid"].is_string(), "{}", r.body);

    // No identifier in either server's log.
    for s in [&a, &b] {
        let log = s.stderr.lock().map(|l| l.clone()).unwrap_or_default();
        for id in ["6273488", "051227308989", "123456789012", "QRS", "dddddddd"] {
            assert!(!log.contains(id), "{id} logged");
        }
    }
    Ok(())
}
