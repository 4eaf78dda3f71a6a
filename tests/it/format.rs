//! A database written by format 2 and committed (`tests/fixtures/db-format-2/`): this build must
//! open it and give the same answers. Regenerate it only with a new format version:
//! `CEE_WRITE_FIXTURES=1 cargo test -p cee-eligibility --test it format::write -- --ignored`.

use std::path::{Path, PathBuf};

use cee_eligibility::clock::ManualClock;
use cee_eligibility::*;

use crate::common::*;
use crate::corruption::retry_locked;

const NOW: &str = "2024-06-15T12:00:00Z";
const APPLIED: &str = "2024-06-10T00:00:00Z";
const SECRET: [u8; 32] = [5; 32];
const P_A: &str = "+336200001";
const P_B: &str = "+336200002";
const P_C: &str = "+336200003";
const P_D: &str = "+336200004";
const P_J: &str = "+336200005";

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/db-format-2")
}

fn open(dir: &Path) -> Engine {
    retry_locked(|| {
        Engine::open(
            Config::new(dir)
                .secret(SECRET)
                .clock(ManualClock::new(ts(NOW))),
        )
    })
    .unwrap()
}

/// Writes the fixture: imports (one row later given an identity key, one later deleted, one of
/// another operator), a journey with a short registration, a long registration, a refusal.
#[test]
#[ignore = "writes tests/fixtures/db-format-2; run with CEE_WRITE_FIXTURES=1"]
fn write() {
    if std::env::var_os("CEE_WRITE_FIXTURES").is_none() {
        return;
    }
    let dir = fixture_dir();
    let _ = std::fs::remove_dir_all(&dir);
    let e = open(&dir);
    let (o1, o2) = (op(1), op(2));
    let rep = e
        .import(
            &o1,
            &[
                row("long", P_A, "AAA", "2022-01-01T00:00:00Z"),
                row("short", P_A, "AAA", "2022-06-01T00:00:00Z"),
                row("short", P_B, "BBB", "2023-03-01T00:00:00Z"),
            ],
        )
        .unwrap();
    assert_eq!(rep.imported, 3);
    let rep = e
        .import_identity(
            &o1,
            &[IdentityRow::Specific {
                identity_key: "c".repeat(64),
                phone_trunc: P_B.into(),
                last_name_trunc: "BBB".into(),
                journey_type: "short".into(),
                datetime: "2023-03-01T00:00:00Z".into(),
            }],
        )
        .unwrap();
    assert_eq!(rep.imported, 1);
    let rep = e
        .import(&o2, &[row("long", P_C, "CCC", "2019-05-01T00:00:00Z")])
        .unwrap();
    assert_eq!(rep.imported, 1);
    e.put_journey(
        &o1,
        &journey("j1", P_J, "2024-05-01T08:00:00Z", "2024-05-01T09:00:00Z"),
    )
    .unwrap();
    registered(
        e.register(&o1, &short_req("j1", "JJJ", "LICSHORT01", 'd', APPLIED))
            .unwrap(),
    );
    let long = long_req(
        P_D,
        "DDD",
        "LICLONG02",
        'e',
        "2024-05-01T00:00:00Z",
        APPLIED,
    );
    registered(e.register(&o1, &long).unwrap());
    refusal(e.register(&o1, &long).unwrap());
    let a_short = blocked(e.simulate(&o1, &sim("short", P_A, "AAA")).unwrap());
    e.delete(&o1, &a_short.uuid.unwrap()).unwrap();
    e.flush().unwrap();
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

#[test]
fn the_committed_format_2_database_opens_with_the_same_answers() {
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&fixture_dir(), tmp.path());
    let e = open(tmp.path());
    let (o1, o2) = (op(1), op(2));

    // Imported long of A: blocks, and its uuid (a UUIDv7) finds the row.
    let c = blocked(e.simulate(&o1, &sim("long", P_A, "AAA")).unwrap());
    assert_eq!(c.datetime, ts("2022-01-01T00:00:00Z"));
    let a = e.find(&o1, &c.uuid.unwrap()).unwrap();
    assert!(a.specific);
    assert_eq!(a.journey_type, JourneyType::Long);
    assert_eq!(c.uuid.unwrap().to_string().as_bytes()[14], b'7');
    // A's short was deleted.
    assert!(e
        .simulate(&o1, &sim("short", P_A, "AAA"))
        .unwrap()
        .is_eligible());
    // B's row has an identity key: it matches by key only.
    assert!(e
        .simulate(&o1, &sim("short", P_B, "BBB"))
        .unwrap()
        .is_eligible());
    let mut q = sim("short", "+336500000", "ZZZ");
    q.identity_key = Some(key('c'));
    let c = blocked(e.simulate(&o1, &q).unwrap());
    assert_eq!(c.datetime, ts("2023-03-01T00:00:00Z"));
    // C: another operator's import, no uuid for operator 1.
    let c = blocked(e.simulate(&o1, &sim("long", P_C, "CCC")).unwrap());
    assert_eq!((c.datetime, c.uuid), (ts("2019-05-01T00:00:00Z"), None));
    assert!(blocked(e.simulate(&o2, &sim("long", P_C, "CCC")).unwrap())
        .uuid
        .is_some());
    // The registrations, their journey and token.
    let mut q = sim("short", "+336500000", "ZZZ");
    q.driving_license = Some("LICSHORT01".parse().unwrap());
    let c = blocked(e.simulate(&o1, &q).unwrap());
    assert_eq!(c.status, Some(JourneyStatus::Pending));
    let mut q = sim("long", "+336500000", "ZZZ");
    q.driving_license = Some("LICLONG02".parse().unwrap());
    let c = blocked(e.simulate(&o1, &q).unwrap());
    let long = e.find(&o1, &c.uuid.unwrap()).unwrap();
    let dl: DrivingLicense = "LICLONG02".parse().unwrap();
    let message = token::message(&o1.siret, JourneyType::Long, &dl, long.datetime);
    assert!(e.verify(&message, long.token.as_deref().unwrap()));
    let s = e.stats().unwrap();
    assert_eq!(
        (s.specific, s.standardized, s.deleted, s.journeys, s.journal),
        ((1, 2), (1, 1), 1, 1, 1)
    );
    assert_eq!(e.error_journal().unwrap().len(), 1);
    // Import uniqueness survives: B (keyed) is a conflict, A's deleted short may come back.
    let rep = e
        .import(
            &o1,
            &[
                row("short", P_B, "BBB", "2023-03-01T00:00:00Z"),
                row("short", P_A, "AAA", "2022-06-01T00:00:00Z"),
            ],
        )
        .unwrap();
    assert_eq!((rep.imported, rep.failed), (1, 1));
    assert_eq!(rep.failed_details[0].row.phone_trunc, P_B);
}

/// The retention purge (written after this fixture) on a format-2 database: it scrubs the
/// deleted import's tombstone, turns the superseded rows of the first segment into holes
/// (cutting them off: they are its last rows), keeps every answer and every kept uuid, and
/// the result still opens.
#[test]
fn the_committed_format_2_database_purges_with_the_same_answers() {
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&fixture_dir(), tmp.path());
    let e = open(tmp.path());
    let o1 = op(1);
    let mut queries = Vec::new();
    for (jt, p, n) in [
        ("long", P_A, "AAA"),
        ("short", P_A, "AAA"),
        ("short", P_B, "BBB"),
        ("long", P_C, "CCC"),
    ] {
        queries.push(sim(jt, p, n));
    }
    let mut q = sim("short", "+336500000", "ZZZ");
    q.identity_key = Some(key('c'));
    queries.push(q);
    for (jt, dl) in [("short", "LICSHORT01"), ("long", "LICLONG02")] {
        let mut q = sim(jt, "+336500000", "ZZZ");
        q.driving_license = Some(dl.parse().unwrap());
        queries.push(q);
    }
    let answers = |e: &Engine| -> Vec<String> {
        queries
            .iter()
            .flat_map(|q| [op(1), op(2)].map(|o| format!("{:?}", e.simulate(&o, q).unwrap())))
            .collect()
    };
    let before = answers(&e);
    let a_long = blocked(e.simulate(&o1, &sim("long", P_A, "AAA")).unwrap())
        .uuid
        .unwrap();
    let rep = e.purge().unwrap();
    assert_eq!(
        (
            rep.tombstones_scrubbed,
            rep.segments_rewritten,
            rep.rows_removed,
            rep.journeys_removed,
            rep.journal_removed
        ),
        (1, 1, 0, 0, 0),
        "{rep:?}"
    );
    assert_eq!(answers(&e), before);
    assert_eq!(e.find(&o1, &a_long).unwrap().uuid, a_long);
    drop(e);
    let e = open(tmp.path());
    assert_eq!(answers(&e), before);
    assert_eq!(e.find(&o1, &a_long).unwrap().uuid, a_long);
    let s = e.stats().unwrap();
    assert_eq!(
        (s.specific, s.standardized, s.deleted, s.journeys, s.journal),
        ((1, 2), (1, 1), 1, 1, 1)
    );
}
