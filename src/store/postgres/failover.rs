//! Failover (run by `.ci/pg-failover`, which sets up a primary and a synchronous standby):
//! writes go on through a multi-host conninfo while the primary is killed and the standby
//! promoted; every acknowledged write is on the new primary, the log is gap-free, and a
//! following instance catches up without a false divergence.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::testing::{connect, fresh_database};
use super::tests::{quiet, MapReplica};
use super::{ChangeSet, Decision, PgOptions, PgStore};
use crate::identity::Keys;
use crate::Durability;

#[test]
fn acknowledged_writes_survive_a_failover_to_a_synchronous_standby() {
    let Ok(both) = std::env::var("CEE_TEST_FAILOVER_BOTH") else {
        assert!(
            std::env::var("CEE_REQUIRE_FAILOVER").as_deref() != Ok("1"),
            "CEE_REQUIRE_FAILOVER=1 but CEE_TEST_FAILOVER_BOTH is not set"
        );
        eprintln!("failover: skipped (run .ci/pg-failover)");
        return;
    };
    let cmd = std::env::var("CEE_TEST_FAILOVER_CMD").expect("CEE_TEST_FAILOVER_CMD");
    let primary = fresh_database("failover").expect("CEE_TEST_POSTGRES (the primary)");
    let dbname = primary.rsplit("dbname=").next().unwrap().to_owned();
    let db = format!("{both} dbname={dbname}");
    let keys = Keys::new(&[3; 32]);

    let ra = Arc::new(MapReplica::default());
    let a = Arc::new(PgStore::open(&db, &keys, quiet(), ra.clone()).unwrap());
    let rb = Arc::new(MapReplica::default());
    let b = PgStore::open(
        &db,
        &keys,
        PgOptions {
            poll: Duration::from_millis(50),
            ..PgOptions::default()
        },
        rb.clone(),
    )
    .unwrap();

    let acked = Arc::new(Mutex::new(Vec::<Vec<u8>>::new()));
    let errors = Arc::new(Mutex::new(0u32));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (a, acked, errors, stop) = (a.clone(), acked.clone(), errors.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut i = 0u32;
            while !stop.load(Ordering::Acquire) {
                let key = format!("\x01key {i}").into_bytes();
                let res = a.write(Durability::Immediate, |_| {
                    let mut cs = ChangeSet::default();
                    cs.put(&key, b"v");
                    Ok(Decision::Commit(cs, ()))
                });
                match res {
                    Ok(()) => {
                        acked.lock().unwrap().push(key);
                        i += 1;
                    }
                    Err(_) => {
                        *errors.lock().unwrap() += 1;
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
    wait_for(100, Duration::from_secs(20));
    let before = acked.lock().unwrap().len();
    let status = std::process::Command::new("sh")
        .args(["-c", &cmd])
        .status()
        .unwrap();
    assert!(status.success(), "failover command failed");
    let failed_over = Instant::now();
    wait_for(before + 100, Duration::from_secs(30));
    stop.store(true, Ordering::Release);
    writer.join().unwrap();
    let acked = acked.lock().unwrap().clone();
    eprintln!(
        "failover: {before} writes acknowledged before, {} after; {} failed attempts; 100 more within {:?} of the failover",
        acked.len() - before,
        errors.lock().unwrap(),
        failed_over.elapsed()
    );
    assert!(
        acked.len() >= before + 100,
        "writes resumed on the promoted standby"
    );

    // Every acknowledged write is on the new primary; the log is gap-free.
    let mut c = connect(&db);
    for k in &acked {
        let n: i64 = c
            .query_one("SELECT count(*) FROM cee_kv WHERE k = $1", &[k])
            .unwrap()
            .get(0);
        assert_eq!(n, 1, "an acknowledged write is missing");
    }
    let row = c
        .query_one(
            "SELECT head, (SELECT count(*) FROM cee_change), (SELECT max(seq) FROM cee_change)
             FROM cee_meta",
            &[],
        )
        .unwrap();
    let (head, rows, max): (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
    assert_eq!((head, rows), (max, max), "gap-free log");

    // The follower reconnected and caught up, without a divergence (nothing was lost).
    let head = u64::try_from(head).unwrap();
    let t = Instant::now();
    while b.applied() < head && t.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(b.applied(), head);
    assert_eq!(b.rebuilds(), 0);
    assert!(acked.iter().all(|k| rb.has(k)));
    assert!(b.fresh().is_ok());
}
