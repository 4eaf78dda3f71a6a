//! Two engines on one PostgreSQL registry (SPEC §11.5): a write acknowledged by one is
//! refused at once by the other's `register` and seen by its `simulate` within 1 s, also after
//! its connections (the notification one included) were killed; an engine that cannot sync
//! for longer than its bound answers `simulate` with `Error::Unavailable`, then recovers.

use std::time::{Duration, Instant};

use cee_eligibility::clock::ManualClock;
use cee_eligibility::*;

use crate::common::*;
use crate::pg::{fresh_database, support::server};

const NOW: &str = "2024-06-15T12:00:00Z";
const APPLIED: &str = "2024-06-15T11:00:00Z";

fn open(conninfo: &str, clock: &ManualClock, staleness: Duration) -> Engine {
    Engine::open(
        Config::postgres(conninfo)
            .secret([9; 32])
            .clock(clock.clone())
            .staleness_bound(staleness),
    )
    .unwrap()
}

/// How long until `simulate` on `e` answers blocked (panics after `limit`).
fn blocked_within(e: &Engine, req: &SimulateRequest, limit: Duration) -> Duration {
    let t = Instant::now();
    loop {
        if let Ok(Simulation::Blocked(_)) = e.simulate(&op(2), req) {
            return t.elapsed();
        }
        assert!(t.elapsed() < limit, "not seen within {limit:?}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn by_license(license: &str) -> SimulateRequest {
    SimulateRequest {
        driving_license: Some(license.parse().unwrap()),
        ..sim("long", "+336111111", "ZZZ")
    }
}

fn kill(conninfo: &str, application: &str) -> u64 {
    let mut c = postgres::Client::connect(conninfo, postgres::NoTls).unwrap();
    let killed = c
        .query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE application_name = $1 AND pid <> pg_backend_pid()",
            &[&application],
        )
        .unwrap();
    killed.len() as u64
}

#[test]
fn a_write_on_one_instance_is_seen_by_another_at_once_and_within_a_second() {
    let Some(base) = server("freshness") else {
        return;
    };
    let db = fresh_database(&base);
    let clock = ManualClock::new(ts(NOW));
    let a = open(&db, &clock, Duration::from_secs(5));
    let b_conninfo = format!("{db} application_name=cee_b");
    let b = open(&b_conninfo, &clock, Duration::from_secs(5));
    let (o1, o2) = (op(1), op(2));

    for (round, license) in ["1A", "2B"].into_iter().enumerate() {
        if round == 1 {
            // Every connection of B — its listener's among them — is killed: it reconnects.
            assert!(kill(&db, "cee_b") >= 1, "B's connections found");
        }
        let phone = format!("+3361234{round}{round}");
        // Identity keys differ between rounds: matching goes by licence and key.
        let keys = if round == 0 {
            ['a', 'b', 'c']
        } else {
            ['d', 'e', 'f']
        };
        let req = long_req(
            &phone,
            "ABC",
            license,
            keys[0],
            "2024-06-01T00:00:00Z",
            APPLIED,
        );
        assert!(matches!(
            b.simulate(&o2, &by_license(license)).unwrap(),
            Simulation::Eligible
        ));
        registered(a.register(&o1, &req).unwrap());
        // B's register is refused at once: its writer catches up under the lock.
        let other = long_req(
            &phone,
            "XYZ",
            license,
            keys[1],
            "2024-06-02T00:00:00Z",
            APPLIED,
        );
        let r = refusal(b.register(&o2, &other).unwrap());
        assert!(matches!(r, Refusal::Conflict(_)), "round {round}: {r:?}");
        // A third engine that neither wrote nor listened long enough: its simulate within 1 s.
        let c = open(&db, &clock, Duration::from_secs(5));
        let license2 = if round == 0 { "3C" } else { "4D" };
        let req = long_req(
            &phone,
            "DEF",
            license2,
            keys[2],
            "2024-06-01T00:00:00Z",
            APPLIED,
        );
        registered(a.register(&o1, &req).unwrap());
        let seen = blocked_within(&c, &by_license(license2), Duration::from_secs(1));
        eprintln!("round {round}: seen by another instance's simulate after {seen:?}");
        let seen = blocked_within(&b, &by_license(license2), Duration::from_secs(1));
        eprintln!("round {round}: seen by B's simulate after {seen:?}");
    }
}

#[test]
fn an_instance_that_cannot_sync_answers_unavailable_then_recovers() {
    let Some(base) = server("staleness") else {
        return;
    };
    let db = fresh_database(&base);
    let clock = ManualClock::new(ts(NOW));
    let b = open(&db, &clock, Duration::from_millis(1000));
    let req = by_license("1A");
    assert!(matches!(b.simulate(&op(2), &req), Ok(Simulation::Eligible)));
    // Hold the meta row's table locked: B's listener waits in its sync, B's index may go stale.
    let mut blocker = postgres::Client::connect(&db, postgres::NoTls).unwrap();
    let mut tx = blocker.transaction().unwrap();
    tx.batch_execute("LOCK TABLE cee_meta IN ACCESS EXCLUSIVE MODE")
        .unwrap();
    let t = Instant::now();
    let refused = loop {
        match b.simulate(&op(2), &req) {
            Err(Error::Unavailable(_)) => break t.elapsed(),
            Ok(_) => {}
            Err(e) => panic!("unexpected error {e}"),
        }
        assert!(t.elapsed() < Duration::from_secs(5), "never unavailable");
        std::thread::sleep(Duration::from_millis(10));
    };
    eprintln!("unavailable after {refused:?} (bound 1 s)");
    assert!(refused >= Duration::from_millis(400), "{refused:?}");
    assert!(matches!(b.check_fresh(), Err(Error::Unavailable(_))));
    tx.rollback().unwrap();
    let t = Instant::now();
    while b.simulate(&op(2), &req).is_err() {
        assert!(t.elapsed() < Duration::from_secs(2), "never fresh again");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(b.check_fresh().is_ok());
}

/// A conninfo may carry a password: `Config`'s `Debug` never shows it (no server needed).
#[test]
fn a_config_never_prints_its_conninfo() {
    let c = Config::postgres("host=db1 user=cee password=hunter2 dbname=cee").secret([1; 32]);
    let shown = format!("{c:?}");
    assert!(shown.contains("<conninfo>"), "{shown}");
    assert!(
        !shown.contains("hunter2") && !shown.contains("db1"),
        "{shown}"
    );
}

/// A registry given a new epoch (a restore procedure) under a running engine: its next
/// registration finds the divergence under the lock, the index is rebuilt, and the
/// registration goes through — it is not refused or failed for it.
#[test]
fn a_write_after_a_divergence_rebuilds_and_goes_through() {
    let Some(base) = server("divergence") else {
        return;
    };
    let db = fresh_database(&base);
    let clock = ManualClock::new(ts(NOW));
    let a = open(&db, &clock, Duration::from_secs(5));
    let o = op(1);
    let first = long_req(
        "+336111111",
        "ABC",
        "1A",
        'a',
        "2024-06-01T00:00:00Z",
        APPLIED,
    );
    registered(a.register(&o, &first).unwrap());
    let mut admin = postgres::Client::connect(&db, postgres::NoTls).unwrap();
    for round in 0..5 {
        admin
            .execute("UPDATE cee_meta SET epoch = epoch + 1 WHERE id = 1", &[])
            .unwrap();
        let phone = format!("+33622222{round}");
        let license = format!("{round}B");
        let key = char::from(b'b' + round);
        let next = long_req(
            &phone,
            "DEF",
            &license,
            key,
            "2024-06-01T00:00:00Z",
            APPLIED,
        );
        registered(a.register(&o, &next).unwrap());
        // The rebuilt index still holds the first registration.
        let again = long_req(
            "+336111111",
            "ABC",
            "1A",
            'a',
            "2024-06-02T00:00:00Z",
            APPLIED,
        );
        assert!(matches!(
            refusal(a.register(&o, &again).unwrap()),
            Refusal::Conflict(_)
        ));
    }
}

/// A rebuild that fails (here: a damaged index row in the registry) leaves the engine
/// unavailable — never answering from the index it had before the divergence — and the
/// rebuild is tried again until it succeeds.
#[test]
fn a_failed_rebuild_keeps_the_engine_unavailable_until_one_succeeds() {
    let Some(base) = server("failed rebuild") else {
        return;
    };
    let db = fresh_database(&base);
    let clock = ManualClock::new(ts(NOW));
    let a = open(&db, &clock, Duration::from_secs(5));
    let req = long_req(
        "+336111111",
        "ABC",
        "1A",
        'a',
        "2024-06-01T00:00:00Z",
        APPLIED,
    );
    registered(a.register(&op(1), &req).unwrap());
    let sim = by_license("1A");
    assert!(matches!(
        a.simulate(&op(2), &sim),
        Ok(Simulation::Blocked(_))
    ));

    let mut admin = postgres::Client::connect(&db, postgres::NoTls).unwrap();
    // An index-family row that decodes to nothing, then a new epoch: the engine must rebuild.
    admin
        .batch_execute(
            "INSERT INTO cee_kv (k, v) VALUES ('\\x01ff'::bytea, '\\x00'::bytea);
             UPDATE cee_meta SET epoch = epoch + 1 WHERE id = 1",
        )
        .unwrap();
    let t = Instant::now();
    while !matches!(a.simulate(&op(2), &sim), Err(Error::Unavailable(_))) {
        assert!(
            t.elapsed() < Duration::from_secs(2),
            "the divergence was never noticed"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    // The rebuild keeps failing: unavailable throughout, never the old index's answer.
    let t = Instant::now();
    while t.elapsed() < Duration::from_millis(1500) {
        let got = a.simulate(&op(2), &sim);
        assert!(matches!(got, Err(Error::Unavailable(_))), "{got:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
    admin
        .execute("DELETE FROM cee_kv WHERE k = '\\x01ff'::bytea", &[])
        .unwrap();
    let t = Instant::now();
    while !matches!(a.simulate(&op(2), &sim), Ok(Simulation::Blocked(_))) {
        assert!(t.elapsed() < Duration::from_secs(3), "never rebuilt");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(a.check_fresh().is_ok());
}
