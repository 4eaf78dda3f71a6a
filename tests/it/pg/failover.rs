//! Failover through the engine (run by `.ci/pg-failover`, which sets up a primary and a
//! synchronous standby): registrations go on through a multi-host conninfo while the primary
//! is killed and the standby promoted; every acknowledged registration is on the new primary
//! and seen by another engine that followed throughout.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cee_eligibility::clock::ManualClock;
use cee_eligibility::*;

use crate::common::*;
use crate::pg::fresh_database;

fn person(i: u32) -> (RegisterRequest, SimulateRequest) {
    let licence = format!("{:012}", 200_000 + i);
    let mut req = long_req(
        &format!("+336{i:06}"),
        "ABC",
        &licence,
        'a',
        "2024-06-01T00:00:00Z",
        "2024-06-10T00:00:00Z",
    );
    req.identity_key = format!("{:064x}", i + 1).parse().unwrap();
    let sim = SimulateRequest {
        driving_license: Some(licence.parse().unwrap()),
        ..sim("long", "+336999999", "ZZZ")
    };
    (req, sim)
}

#[test]
fn acknowledged_registrations_survive_a_failover_and_reach_other_engines() {
    let Ok(both) = std::env::var("CEE_TEST_FAILOVER_BOTH") else {
        assert!(
            std::env::var("CEE_REQUIRE_FAILOVER").as_deref() != Ok("1"),
            "CEE_REQUIRE_FAILOVER=1 but CEE_TEST_FAILOVER_BOTH is not set"
        );
        eprintln!("engine failover: skipped (run .ci/pg-failover)");
        return;
    };
    let cmd = std::env::var("CEE_TEST_FAILOVER_CMD").expect("CEE_TEST_FAILOVER_CMD");
    let primary = std::env::var("CEE_TEST_POSTGRES").expect("CEE_TEST_POSTGRES (the primary)");
    let on_primary = fresh_database(&primary);
    let dbname = on_primary.rsplit("dbname=").next().unwrap().to_owned();
    let db = format!("{both} dbname={dbname}");
    let clock = ManualClock::new(ts("2024-06-15T12:00:00Z"));
    let open = || {
        Engine::open(
            Config::postgres(&db)
                .secret([6; 32])
                .clock(clock.clone())
                .staleness_bound(Duration::from_secs(5)),
        )
        .unwrap()
    };
    let a = open();
    let b = open();
    let o = op(1);

    let acked = Arc::new(Mutex::new(Vec::<(u32, ApplicationId)>::new()));
    let errors = Arc::new(Mutex::new(0u32));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (a, acked, errors, stop, o) = (
            a.clone(),
            acked.clone(),
            errors.clone(),
            stop.clone(),
            o.clone(),
        );
        std::thread::spawn(move || {
            let mut i = 0u32;
            while !stop.load(Ordering::Acquire) {
                match a.register(&o, &person(i).0) {
                    Ok(RegisterOutcome::Registered(r)) => {
                        acked.lock().unwrap().push((i, r.uuid));
                        i += 1;
                    }
                    Ok(refused) => panic!("person {i} refused: {refused:?}"),
                    Err(_) => {
                        // No server, or the outcome is unknown (the connection went during
                        // COMMIT): not acknowledged; the next person (this one may be
                        // registered after all).
                        *errors.lock().unwrap() += 1;
                        i += 1;
                        std::thread::sleep(Duration::from_millis(20));
                    }
                }
            }
        })
    };
    let wait_for = |n: usize, limit: Duration| {
        let t = Instant::now();
        while acked.lock().unwrap().len() < n && t.elapsed() < limit {
            std::thread::sleep(Duration::from_millis(5));
        }
    };
    wait_for(50, Duration::from_secs(20));
    let before = acked.lock().unwrap().len();
    let status = std::process::Command::new("sh")
        .args(["-c", &cmd])
        .status()
        .unwrap();
    assert!(status.success(), "failover command failed");
    let failed_over = Instant::now();
    wait_for(before + 50, Duration::from_secs(30));
    stop.store(true, Ordering::Release);
    writer.join().unwrap();
    let acked = acked.lock().unwrap().clone();
    eprintln!(
        "engine failover: {before} registrations acknowledged before, {} after; {} failed attempts; resumed within {:?}",
        acked.len() - before,
        errors.lock().unwrap(),
        failed_over.elapsed()
    );
    assert!(acked.len() >= before + 50, "registrations resumed");

    // Every acknowledged registration is on the new primary (a new engine finds it) …
    let c = open();
    for (i, uuid) in &acked {
        assert!(c.find(&o, uuid).is_ok(), "registration {i} is missing");
    }
    // … and the engine that followed throughout sees every one of them.
    let t = Instant::now();
    for (i, _) in &acked {
        loop {
            match b.simulate(&op(2), &person(*i).1) {
                Ok(Simulation::Blocked(_)) => break,
                _ if t.elapsed() < Duration::from_secs(10) => {
                    std::thread::sleep(Duration::from_millis(10))
                }
                other => panic!("B does not see registration {i}: {other:?}"),
            }
        }
    }
}
