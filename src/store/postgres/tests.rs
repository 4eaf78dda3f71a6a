//! The PostgreSQL store against a real server (`CEE_TEST_POSTGRES`; skipped without one unless
//! `CEE_REQUIRE_POSTGRES=1`). Each test has its own database. The instances of a test are
//! separate `PgStore`s with their own connections and replicas: to the server they are as
//! separate as processes.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

use super::testing::{connect, fresh_database};
use super::{ChangeSet, Decision, Divergence, PgOptions, PgStore, Replica};
use crate::error::Error;
use crate::identity::Keys;
use crate::Durability;

/// A replica that mirrors every key: what an engine's index would be built from.
#[derive(Default)]
pub(super) struct MapReplica {
    map: Mutex<BTreeMap<Vec<u8>, Vec<u8>>>,
    loads: AtomicUsize,
    last_seq: AtomicU64,
    out_of_order: AtomicUsize,
}

impl MapReplica {
    pub(super) fn has(&self, k: &[u8]) -> bool {
        self.map.lock().unwrap().contains_key(k)
    }

    pub(super) fn keys(&self) -> Vec<Vec<u8>> {
        self.map.lock().unwrap().keys().cloned().collect()
    }
}

impl Replica for MapReplica {
    fn prefixes(&self) -> Vec<Vec<u8>> {
        vec![vec![]]
    }

    fn load(
        &self,
        rows: &mut dyn Iterator<Item = Result<(Vec<u8>, Vec<u8>), Error>>,
    ) -> Result<(), Error> {
        let mut map = BTreeMap::new();
        for r in rows {
            let (k, v) = r?;
            map.insert(k, v);
        }
        *self.map.lock().unwrap() = map;
        self.loads.fetch_add(1, Ordering::SeqCst);
        self.last_seq.store(u64::MAX, Ordering::SeqCst);
        Ok(())
    }

    fn apply(&self, seq: u64, delta: &[u8]) -> Result<(), Error> {
        let change = ChangeSet::decode(delta).map_err(|reason| Error::Corrupt {
            record: format!("change {seq}"),
            reason,
        })?;
        let last = self.last_seq.swap(seq, Ordering::SeqCst);
        if last != u64::MAX && seq != last + 1 {
            self.out_of_order.fetch_add(1, Ordering::SeqCst);
        }
        let mut map = self.map.lock().unwrap();
        for (k, v) in change.ops() {
            match v {
                Some(v) => map.insert(k.clone(), v.clone()),
                None => map.remove(k),
            };
        }
        Ok(())
    }
}

fn keys(n: u8) -> Keys {
    Keys::new(&[n; 32])
}

pub(super) fn quiet() -> PgOptions {
    PgOptions {
        listener: false,
        ..PgOptions::default()
    }
}

fn listening(poll_ms: u64) -> PgOptions {
    PgOptions {
        poll: Duration::from_millis(poll_ms),
        ..PgOptions::default()
    }
}

pub(super) fn open(db: &str, opts: PgOptions) -> (PgStore, Arc<MapReplica>) {
    let r = Arc::new(MapReplica::default());
    let s = PgStore::open(db, &keys(1), opts, r.clone()).expect("open");
    (s, r)
}

/// Writes `key` unless the replica has it: `true` when this call wrote it.
pub(super) fn insert_once(s: &PgStore, r: &MapReplica, key: &[u8], pause: Duration) -> bool {
    s.write(Durability::Immediate, |_| {
        if r.has(key) {
            return Ok(Decision::Refuse(false));
        }
        std::thread::sleep(pause);
        let mut cs = ChangeSet::default();
        cs.put(key, b"v");
        Ok(Decision::Commit(cs, true))
    })
    .expect("write")
}

fn put(s: &PgStore, key: &[u8]) {
    s.write(Durability::Immediate, |_| {
        let mut cs = ChangeSet::default();
        cs.put(key, b"v");
        Ok(Decision::Commit(cs, ()))
    })
    .expect("write");
}

/// Polls `cond` every 2 ms for up to `limit`; the time it took, or `None`.
fn within(limit: Duration, cond: impl Fn() -> bool) -> Option<Duration> {
    let t = Instant::now();
    while t.elapsed() < limit {
        if cond() {
            return Some(t.elapsed());
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    None
}

#[test]
fn schema_is_created_reopened_and_checked() {
    let Some(db) = fresh_database("schema") else {
        return;
    };
    let (s, _) = open(&db, quiet());
    let first = s
        .write(Durability::Immediate, |txn| {
            let first = txn.next_id()?;
            txn.next_id()?;
            txn.next_id()?;
            let mut cs = ChangeSet::default();
            cs.put(b"\x02app", b"record");
            cs.put(b"\x01gone", b"x");
            cs.remove(b"\x01gone");
            Ok(Decision::Commit(cs, first))
        })
        .unwrap();
    assert_eq!(first, 1);
    assert_eq!(s.generate_id().unwrap(), 4, "ids 1..=3 went to the write");
    drop(s);

    let (s, r) = open(&db, quiet());
    assert_eq!(r.keys(), vec![b"\x02app".to_vec()]);
    assert_eq!(s.applied(), 1);
    assert_eq!(s.get(b"\x02app").unwrap(), Some(b"record".to_vec()));
    assert_eq!(s.get(b"\x01gone").unwrap(), None);
    assert_eq!(s.scan_prefix(b"\x02").unwrap().len(), 1);
    drop(s);

    let other = PgStore::open(&db, &keys(2), quiet(), Arc::new(MapReplica::default()));
    assert!(
        matches!(other, Err(Error::WrongSecret)),
        "{other:?}",
        other = other.err()
    );

    connect(&db)
        .execute("UPDATE cee_meta SET format = 99", &[])
        .unwrap();
    let future = PgStore::open(&db, &keys(1), quiet(), Arc::new(MapReplica::default()));
    assert!(
        matches!(
            future,
            Err(Error::UnsupportedFormat {
                found: 99,
                supported: 4
            })
        ),
        "{:?}",
        future.err()
    );

    // The earlier numbers (1: format-2 values, version-1 deltas; 3: before the audit journal)
    // are migrated on open: the number moves to 4; opened with another secret, refused first.
    connect(&db)
        .execute("UPDATE cee_meta SET format = 1", &[])
        .unwrap();
    let other = PgStore::open(&db, &keys(2), quiet(), Arc::new(MapReplica::default()));
    assert!(matches!(other, Err(Error::WrongSecret)));
    let format = || -> i16 {
        connect(&db)
            .query_one("SELECT format FROM cee_meta", &[])
            .unwrap()
            .get(0)
    };
    assert_eq!(format(), 1, "a refused open migrates nothing");
    let s = PgStore::open(&db, &keys(1), quiet(), Arc::new(MapReplica::default())).unwrap();
    assert_eq!(s.get(b"\x02app").unwrap(), Some(b"record".to_vec()));
    assert_eq!(format(), 4);
    drop(s);
    connect(&db)
        .execute("UPDATE cee_meta SET format = 3", &[])
        .unwrap();
    drop(PgStore::open(&db, &keys(1), quiet(), Arc::new(MapReplica::default())).unwrap());
    assert_eq!(format(), 4);
}

#[test]
fn concurrent_opens_of_an_empty_database_agree() {
    let Some(db) = fresh_database("concurrent_open") else {
        return;
    };
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let db = db.clone();
            std::thread::spawn(move || {
                PgStore::open(&db, &keys(1), quiet(), Arc::new(MapReplica::default())).map(|_| ())
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap().unwrap();
    }
}

/// `writers` instances race to insert the same key each round; successes per round.
fn race(db: &str, writers: usize, rounds: usize, unlocked: bool) -> Vec<usize> {
    let wins: Arc<Vec<AtomicUsize>> = Arc::new((0..rounds).map(|_| AtomicUsize::new(0)).collect());
    let barrier = Arc::new(Barrier::new(writers));
    let handles: Vec<_> = (0..writers)
        .map(|_| {
            let (s, r) = open(
                db,
                PgOptions {
                    unlocked,
                    ..quiet()
                },
            );
            let (wins, barrier) = (wins.clone(), barrier.clone());
            std::thread::spawn(move || {
                for round in 0..rounds {
                    barrier.wait();
                    let key = format!("\x01round {round}");
                    if insert_once(&s, &r, key.as_bytes(), Duration::from_millis(1)) {
                        wins[round].fetch_add(1, Ordering::SeqCst);
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    wins.iter().map(|w| w.load(Ordering::SeqCst)).collect()
}

#[test]
fn of_concurrent_matching_writes_exactly_one_succeeds() {
    let Some(db) = fresh_database("race_locked") else {
        return;
    };
    let wins = race(&db, 4, 50, false);
    assert!(wins.iter().all(|&w| w == 1), "wins per round: {wins:?}");
    let mut c = connect(&db);
    let changes: i64 = c
        .query_one("SELECT count(*) FROM cee_change", &[])
        .unwrap()
        .get(0);
    let head: i64 = c
        .query_one("SELECT head FROM cee_meta", &[])
        .unwrap()
        .get(0);
    assert_eq!(
        (changes, head),
        (50, 50),
        "gap-free log, one change per round"
    );
}

#[test]
fn without_the_lock_duplicates_get_through() {
    let Some(db) = fresh_database("race_unlocked") else {
        return;
    };
    let wins = race(&db, 4, 50, true);
    let duplicated = wins.iter().filter(|&&w| w > 1).count();
    assert!(duplicated > 0, "the negative control must fail: {wins:?}");
}

#[test]
fn a_write_is_refused_at_once_by_another_instance() {
    let Some(db) = fresh_database("refused_at_once") else {
        return;
    };
    let (a, ra) = open(&db, quiet());
    let (b, rb) = open(&db, quiet());
    assert!(insert_once(&a, &ra, b"\x01k", Duration::ZERO));
    assert!(
        !rb.has(b"\x01k"),
        "b has no listener: only its writer catches up"
    );
    assert!(!insert_once(&b, &rb, b"\x01k", Duration::ZERO));
    assert!(rb.has(b"\x01k"));
    assert_eq!(rb.out_of_order.load(Ordering::SeqCst), 0);
}

#[test]
fn another_instance_sees_a_write_within_a_second_also_after_losing_its_listener() {
    let Some(db) = fresh_database("freshness") else {
        return;
    };
    let (a, _) = open(&db, quiet());
    // The default poll (500 ms): the notification is what makes it fast.
    let (b, rb) = open(&db, listening(500));
    within(Duration::from_secs(2), || b.listener_pid() != 0).expect("listener connected");
    put(&a, b"\x01first");
    let took = within(Duration::from_secs(1), || rb.has(b"\x01first"));
    assert!(took.is_some(), "not seen within 1 s");

    let pid = b.listener_pid();
    let killed: bool = connect(&db)
        .query_one("SELECT pg_terminate_backend($1)", &[&pid])
        .unwrap()
        .get(0);
    assert!(killed);
    put(&a, b"\x01second");
    let took = within(Duration::from_secs(1), || rb.has(b"\x01second"));
    assert!(
        took.is_some(),
        "not seen within 1 s after the listener was killed"
    );
    within(Duration::from_secs(2), || {
        let p = b.listener_pid();
        p != 0 && p != pid
    })
    .expect("the listener reconnected");
    assert!(b.fresh().is_ok());
    assert_eq!(rb.out_of_order.load(Ordering::SeqCst), 0);
}

#[test]
fn an_instance_that_cannot_sync_reports_unavailable_then_recovers() {
    let Some(db) = fresh_database("staleness") else {
        return;
    };
    let (b, _) = open(
        &db,
        PgOptions {
            staleness: Duration::from_secs(1),
            ..listening(50)
        },
    );
    assert!(b.fresh().is_ok());
    let mut admin = connect(&db);
    admin
        .batch_execute("ALTER TABLE cee_meta RENAME TO cee_meta_away")
        .unwrap();
    let stale = within(Duration::from_secs(3), || {
        matches!(b.fresh(), Err(Error::Unavailable(_)))
    });
    admin
        .batch_execute("ALTER TABLE cee_meta_away RENAME TO cee_meta")
        .unwrap();
    let took = stale.expect("unavailable once the bound passed");
    // The last sync was at most a poll tick (plus scheduling) before the rename.
    assert!(
        took >= Duration::from_millis(500),
        "not before the bound: {took:?}"
    );
    within(Duration::from_secs(2), || b.fresh().is_ok()).expect("fresh again");
}

#[test]
fn divergence_is_detected_and_answered_by_a_reload() {
    let Some(db) = fresh_database("divergence") else {
        return;
    };
    let (a, ra) = open(&db, quiet());
    let (b, rb) = open(&db, listening(50));
    for k in [b"\x01k1", b"\x01k2", b"\x01k3"] {
        put(&a, k);
    }
    within(Duration::from_secs(2), || b.applied() == 3).expect("b caught up");
    assert_eq!(b.rebuilds(), 0);

    // 1. The registry goes back to seq 1 (an older backup restored).
    let mut admin = connect(&db);
    admin
        .batch_execute(
            "DELETE FROM cee_kv WHERE k <> '\\x016b31'::bytea;
             DELETE FROM cee_change WHERE seq > 1;
             UPDATE cee_meta SET head = 1, chain = (SELECT chain FROM cee_change WHERE seq = 1)",
        )
        .unwrap();
    within(Duration::from_secs(2), || b.rebuilds() == 1).expect("b reloaded");
    assert_eq!(b.last_divergence(), Some(Divergence::Backwards));
    assert_eq!(rb.keys(), vec![b"\x01k1".to_vec()]);
    assert_eq!(b.applied(), 1);

    // 2. New history on top of seq 1: `a`, still at seq 3, sees another chain there when it
    // next writes, reloads and writes.
    let (c, _) = open(&db, quiet());
    for k in [b"\x01x2", b"\x01x3"] {
        put(&c, k);
    }
    put(&a, b"\x01a4");
    assert_eq!(a.rebuilds(), 1);
    assert_eq!(a.last_divergence(), Some(Divergence::OtherChain));
    let want: Vec<Vec<u8>> = [&b"\x01a4"[..], b"\x01k1", b"\x01x2", b"\x01x3"]
        .iter()
        .map(|k| k.to_vec())
        .collect();
    assert_eq!(ra.keys(), want);
    within(Duration::from_secs(2), || b.applied() == 4).expect("b follows the new history");
    assert_eq!(rb.keys(), want);

    // 3. A new epoch (an operator's restore procedure): everyone reloads.
    c.new_epoch().unwrap();
    within(Duration::from_secs(2), || b.rebuilds() == 2).expect("b reloaded");
    assert_eq!(b.last_divergence(), Some(Divergence::NewEpoch));
    assert_eq!(rb.keys(), want);
    assert!(b.fresh().is_ok());
}

#[test]
fn instances_behind_a_pruned_change_log_reload() {
    let Some(db) = fresh_database("prune") else {
        return;
    };
    let (a, ra) = open(
        &db,
        PgOptions {
            keep_changes: 2,
            ..quiet()
        },
    );
    // `early` is at seq 0, `b` at seq 2; then a moves the head to 7 and prunes.
    let (early, r_early) = open(&db, quiet());
    put(&a, b"\x01k1");
    put(&a, b"\x01k2");
    let (b, rb) = open(&db, quiet());
    for k in [b"\x01k3", b"\x01k4", b"\x01k5", b"\x01k6", b"\x01k7"] {
        put(&a, k);
    }
    assert_eq!(a.prune_log().unwrap(), 5, "rows 1..=5 go, 6 and 7 stay");
    assert_eq!(a.prune_log().unwrap(), 0);
    let rows: i64 = connect(&db)
        .query_one("SELECT count(*) FROM cee_change", &[])
        .unwrap()
        .get(0);
    assert_eq!(rows, 2);
    // Both find their position gone when they next write: they reload, then write.
    let mut want: Vec<Vec<u8>> = (1..=7).map(|i| format!("\x01k{i}").into_bytes()).collect();
    want.push(b"\x01mine".to_vec());
    for (s, r) in [(&b, &rb), (&early, &r_early)] {
        put(s, b"\x01mine");
        assert_eq!(s.last_divergence(), Some(Divergence::Behind));
        assert_eq!(s.rebuilds(), 1);
        assert_eq!(r.keys(), want);
    }
    // An instance within the kept rows catches up as usual (no reload).
    put(&a, b"\x01k9");
    assert_eq!(a.rebuilds(), 0);
    want.push(b"\x01k9".to_vec());
    want.sort();
    assert_eq!(ra.keys(), want);
}

#[test]
fn durability_sets_synchronous_commit_per_transaction() {
    let Some(db) = fresh_database("durability") else {
        return;
    };
    let (a, _) = open(&db, quiet());
    // The test cluster runs with synchronous_commit = off: "on" can only come from the store.
    for (durability, want) in [
        (Durability::Immediate, "on"),
        (Durability::Buffered, "off"),
        (Durability::Immediate, "on"),
    ] {
        a.write(durability, |_| Ok(Decision::Refuse(()))).unwrap();
        assert_eq!(a.seen_synchronous_commit(), want, "{durability:?}");
    }
}

#[test]
fn a_commit_whose_answer_was_lost_is_taken_from_the_log() {
    let Some(db) = fresh_database("commit_unknown") else {
        return;
    };
    let (a, ra) = open(&db, quiet());
    a.lose_next_commit_answer();
    let lost = a.write(Durability::Immediate, |_| {
        let mut cs = ChangeSet::default();
        cs.put(b"\x01k", b"v");
        Ok(Decision::Commit(cs, ()))
    });
    assert!(matches!(lost, Err(Error::Storage(_))));
    assert!(!ra.has(b"\x01k"), "nothing applied on an unknown outcome");
    assert_eq!(a.applied(), 0);
    // It did commit: the next write catches up with it and is refused.
    assert!(!insert_once(&a, &ra, b"\x01k", Duration::ZERO));
    assert_eq!(
        (a.applied(), ra.out_of_order.load(Ordering::SeqCst)),
        (1, 0)
    );
}

#[test]
fn the_store_survives_its_connections_being_killed() {
    let Some(db) = fresh_database("connections_killed") else {
        return;
    };
    let (a, ra) = open(&db, listening(50));
    put(&a, b"\x01before");
    assert_eq!(a.get(b"\x01before").unwrap(), Some(b"v".to_vec()));
    within(Duration::from_secs(2), || a.listener_pid() != 0).expect("listener connected");
    let killed: i64 = connect(&db)
        .query_one(
            "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE datname = current_database() AND pid <> pg_backend_pid()) t",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(killed >= 3, "writer, reader and listener: {killed}");
    std::thread::sleep(Duration::from_millis(50));
    assert!(insert_once(&a, &ra, b"\x01after", Duration::ZERO));
    assert_eq!(a.get(b"\x01after").unwrap(), Some(b"v".to_vec()));
    assert!(a.generate_id().is_ok());
    within(Duration::from_secs(2), || a.listener_pid() != 0).expect("listener reconnected");
}
