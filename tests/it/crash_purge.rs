//! Crash test of the retention purge (SPEC §11.6): a child process purges a registry and is
//! killed (SIGKILL) at random moments; reopened, the registry must be exactly as before the
//! purge or exactly as after it (counts, index size, answers), never in between.
//!
//! Knob: `CEE_CRASH_PURGE_KILLS` (default 10).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cee_eligibility::clock::ManualClock;
use cee_eligibility::*;

use crate::common::*;
use crate::crash::{env_u64, Rng};

const DIR_VAR: &str = "CEE_CRASH_PURGE_DIR";
const SECRET: [u8; 32] = [11; 32];
/// Imports and refusals happen here; the purge runs at [`PURGE_AT`] (before the period:
/// the horizon is then, and the journal entries are older than 400 days).
const BUILT_AT: &str = "2021-06-01T00:00:00Z";
const PURGE_AT: &str = "2022-08-01T00:00:00Z";
const BATCHES: u64 = 12;

fn open(dir: &Path, now: &str) -> Engine {
    Engine::open(
        Config::new(dir)
            .secret(SECRET)
            .clock(ManualClock::new(ts(now))),
    )
    .unwrap()
}

fn phone(b: u64, i: u64) -> String {
    format!("+336{b:02}{i:04}")
}

/// Rows of batch `b`: even batches mix expired (2016–2019) and kept (2020–2021) short rows,
/// odd ones hold expired rows only, so segments are both rewritten and dropped.
fn batch(b: u64) -> Vec<ImportRow> {
    (0..1000)
        .map(|i| {
            let year = if b % 2 == 1 || i % 3 == 0 {
                2016 + i % 4
            } else {
                2020 + i % 2
            };
            row(
                "short",
                &phone(b, i),
                "PQR",
                &format!("{year}-03-0{}T10:00:00Z", 1 + i % 9),
            )
        })
        .collect()
}

fn build(dir: &Path) {
    let e = open(dir, BUILT_AT);
    let o = op(1);
    for b in 0..BATCHES {
        assert_eq!(e.import(&o, &batch(b)).unwrap().imported, 1000);
    }
    // Overrides: identity keys on half of batch 0 (some expired, some kept).
    let rows: Vec<IdentityRow> = batch(0)
        .into_iter()
        .take(500)
        .enumerate()
        .map(|(i, r)| IdentityRow::Specific {
            identity_key: format!("{:064x}", i + 1),
            phone_trunc: r.phone_trunc,
            last_name_trunc: r.last_name_trunc,
            journey_type: r.journey_type,
            datetime: r.datetime,
        })
        .collect();
    assert_eq!(e.import_identity(&o, &rows).unwrap().imported, 500);
    // Journal entries (a long registration outside the period) and old journeys.
    for n in 0..50 {
        let req = long_req(
            "+336999999",
            "PQR",
            "L9",
            'f',
            "2021-05-01T00:00:00Z",
            "2021-05-02T00:00:00Z",
        );
        refusal(e.register(&o, &req).unwrap());
        let j = journey(
            &format!("old{n}"),
            "+336999998",
            "2021-01-01T08:00:00Z",
            "2021-01-01T09:00:00Z",
        );
        e.put_journey(&o, &j).unwrap();
    }
    e.flush().unwrap();
}

/// What must be entirely before or entirely after: counts, index size, journal length.
fn state(e: &Engine) -> String {
    let s = e.stats().unwrap();
    format!(
        "specific {:?} deleted {} journeys {} journal {} audit {} index {:?}",
        s.specific,
        s.deleted,
        s.journeys,
        e.error_journal().unwrap().len(),
        e.audit_journal().unwrap().len(),
        s.index
    )
}

/// Answers at the purge time for a sample of every batch: must never change.
fn answers(e: &Engine) -> Vec<bool> {
    (0..BATCHES)
        .flat_map(|b| (0..1000).step_by(37).map(move |i| (b, i)))
        .map(|(b, i)| {
            e.simulate(&op(2), &sim("short", &phone(b, i), "PQR"))
                .unwrap()
                .is_eligible()
        })
        .collect()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// The child: purges, then waits to be killed.
#[test]
#[ignore = "child process of crash_purge::interrupted_purge_leaves_before_or_after"]
fn child() {
    let Ok(dir) = std::env::var(DIR_VAR) else {
        return;
    };
    let e = open(Path::new(&dir), PURGE_AT);
    println!("START PURGE");
    e.purge().unwrap();
    println!("PURGED");
    std::thread::sleep(Duration::from_secs(60));
}

#[test]
fn interrupted_purge_leaves_before_or_after() -> R {
    let kills = env_u64("CEE_CRASH_PURGE_KILLS").unwrap_or(10);
    let tmp = tempfile::tempdir()?;
    let template = tmp.path().join("template");
    build(&template);
    let (before, expected) = {
        let e = open(&template, PURGE_AT);
        (state(&e), answers(&e))
    };
    // The state after, and how long a purge takes here (the kill delays span it).
    let reference = tmp.path().join("reference");
    copy_dir(&template, &reference);
    let (after, took) = {
        let e = open(&reference, PURGE_AT);
        let started = Instant::now();
        let r = e.purge()?;
        assert!(r.rows_removed > 0 && r.segments_dropped > 0 && r.segments_rewritten > 0);
        // 50 refusals, and the audit entries of the 12 imports and the identity import.
        assert!(r.journal_removed == 63 && r.journeys_removed == 50, "{r:?}");
        let took = started.elapsed();
        assert_eq!(answers(&e), expected, "the purge changed an answer");
        (state(&e), took)
    };
    assert_ne!(before, after);
    let mut rng = Rng::new(0x9E3C_0DE5);
    let (mut as_before, mut as_after) = (0, 0);
    for round in 0..kills {
        let dir = tmp.path().join(format!("round{round}"));
        copy_dir(&template, &dir);
        let mut child = Command::new(std::env::current_exe()?)
            .args(["crash_purge::child", "--exact", "--nocapture", "--ignored"])
            .env(DIR_VAR, &dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        // Every other round is killed during open (recovery included); the others while
        // the purge runs: after its START line, within 1.5 times its duration here.
        if round % 2 == 0 {
            let stdout = child.stdout.take().ok_or("child stdout")?;
            // The test harness writes its own lines first.
            let started = std::io::BufRead::lines(std::io::BufReader::new(stdout))
                .map_while(Result::ok)
                .any(|l| l.starts_with("START PURGE"));
            assert!(started, "the child never started purging");
            let span = took.as_millis() as u64 * 3 / 2 + 1;
            std::thread::sleep(Duration::from_millis(rng.between(0, span)));
        } else {
            std::thread::sleep(Duration::from_millis(rng.between(0, 400)));
        }
        child.kill()?;
        child.wait()?;
        let e = open(&dir, PURGE_AT);
        let got = state(&e);
        assert!(
            got == before || got == after,
            "round {round}: neither before nor after the purge:\n{got}\nbefore {before}\nafter  {after}"
        );
        assert_eq!(answers(&e), expected, "round {round}: an answer changed");
        if got == before {
            as_before += 1;
        } else {
            as_after += 1;
        }
    }
    eprintln!(
        "crash_purge: {kills} kills (purge alone {took:.1?}): {as_before} as before, {as_after} as after"
    );
    Ok(())
}
