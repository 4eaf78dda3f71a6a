//! The race across processes: the test binary runs itself N times (`child`, ignored unless
//! `CEE_RACE_DB` is set); the children meet at a barrier table each round, insert the same key,
//! and record their wins in the database, which the parent counts.

use std::process::Command;
use std::time::{Duration, Instant};

use super::testing::{connect, fresh_database};
use super::tests::{insert_once, open, quiet};
use super::PgOptions;

const PROCESSES: usize = 3;
const ROUNDS: i32 = 30;

/// Runs the children; wins per round.
fn race(db: &str, unlocked: bool) -> Vec<i64> {
    connect(db)
        .batch_execute(
            "CREATE TABLE race_arrive (round int, child int);
             CREATE TABLE race_win (round int, child int)",
        )
        .unwrap();
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..PROCESSES)
        .map(|i| {
            Command::new(&exe)
                .args([
                    "--exact",
                    "store::postgres::race_process::child",
                    "--ignored",
                    "--test-threads=1",
                ])
                .env("CEE_RACE_DB", db)
                .env("CEE_RACE_CHILD", i.to_string())
                .env("CEE_RACE_UNLOCKED", if unlocked { "1" } else { "0" })
                .spawn()
                .unwrap()
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success(), "a child failed");
    }
    let mut c = connect(db);
    (0..ROUNDS)
        .map(|r| {
            c.query_one("SELECT count(*) FROM race_win WHERE round = $1", &[&r])
                .unwrap()
                .get(0)
        })
        .collect()
}

#[test]
fn across_processes_exactly_one_of_concurrent_matching_writes_succeeds() {
    let Some(db) = fresh_database("race_processes") else {
        return;
    };
    let wins = race(&db, false);
    assert!(wins.iter().all(|&w| w == 1), "wins per round: {wins:?}");
}

#[test]
fn across_processes_without_the_lock_duplicates_get_through() {
    let Some(db) = fresh_database("race_processes_unlocked") else {
        return;
    };
    let wins = race(&db, true);
    assert!(
        wins.iter().any(|&w| w > 1),
        "the negative control must fail: {wins:?}"
    );
}

#[test]
#[ignore = "a child of the multi-process race tests"]
fn child() {
    let Ok(db) = std::env::var("CEE_RACE_DB") else {
        return;
    };
    let me: i32 = std::env::var("CEE_RACE_CHILD").unwrap().parse().unwrap();
    let unlocked = std::env::var("CEE_RACE_UNLOCKED").as_deref() == Ok("1");
    let (s, r) = open(
        &db,
        PgOptions {
            unlocked,
            ..quiet()
        },
    );
    let mut c = connect(&db);
    for round in 0..ROUNDS {
        c.execute("INSERT INTO race_arrive VALUES ($1, $2)", &[&round, &me])
            .unwrap();
        let t = Instant::now();
        loop {
            let n: i64 = c
                .query_one(
                    "SELECT count(*) FROM race_arrive WHERE round = $1",
                    &[&round],
                )
                .unwrap()
                .get(0);
            if n == PROCESSES as i64 {
                break;
            }
            assert!(t.elapsed() < Duration::from_secs(20), "barrier timed out");
            std::thread::sleep(Duration::from_micros(200));
        }
        let key = format!("\x01round {round}");
        if insert_once(&s, &r, key.as_bytes(), Duration::from_millis(1)) {
            c.execute("INSERT INTO race_win VALUES ($1, $2)", &[&round, &me])
                .unwrap();
        }
    }
}
