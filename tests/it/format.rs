//! Databases written by formats 2, 3 and 4 and committed (`tests/fixtures/db-format-2/`,
//! `db-format-3/`, `db-format-4/`): this build must open them and give the same answers
//! (formats 2 and 3 are migrated to format 4 on open: the version byte only). Formats 2 and 3
//! can no longer be written; `db-format-4/` holds the same workload written by format 4 (with
//! its audit journal): regenerate it only with a new format version:
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

fn fixture_dir_3() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/db-format-3")
}

fn fixture_dir_4() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/db-format-4")
}

/// The kept uuids of the format-3 fixture's past applications.
const KEPT_V4: &str = "0f8fad5b-d9cb-469f-a165-70867728950e";
const KEPT_V7: &str = "0188bb9a-3c00-7abc-8def-0123456789ab";
const KEPT_DELETED: &str = "6a1b1d5e-6f3c-4c1e-9a8b-2b7c3d4e5f60";

/// Format 3's additions: past standardized applications of operator 2 (a short one with a
/// kept v4 uuid, token and journey id; a long one with a kept v7 uuid and an identity key; one
/// deleted) — written on top of the format-2 workload.
fn past_applications(e: &Engine) {
    let row = |jt: &str, datetime: &str, dl: &str, uuid: &str| StandardizedRow {
        journey_type: jt.into(),
        datetime: datetime.into(),
        last_name_trunc: "KKK".into(),
        phone_trunc: "+336200006".into(),
        driving_license: dl.into(),
        uuid: Some(uuid.into()),
        ..StandardizedRow::default()
    };
    let mut short = row("short", "2023-09-01T10:00:00Z", "PASTSHORT1", KEPT_V4);
    short.token = Some("b2xkIHRva2Vu".into());
    short.operator_journey_id = Some("old-j-1".into());
    short.application_timestamp = Some("2023-08-30T00:00:00Z".into());
    let mut long = row("long", "2024-02-01T00:00:00Z", "PASTLONG2", KEPT_V7);
    long.identity_key = Some("f".repeat(64));
    let rep = e
        .import_standardized(
            &op(2),
            &[
                short,
                long,
                row("long", "2023-03-03T00:00:00Z", "PASTDEL3", KEPT_DELETED),
            ],
        )
        .unwrap();
    assert_eq!(rep.imported, 3, "{rep:?}");
    e.delete(&op(2), &KEPT_DELETED.parse().unwrap()).unwrap();
}

/// The answers about format 3's additions.
fn past_applications_answer(e: &Engine) {
    let (o1, o2) = (op(1), op(2));
    let short = e.find(&o2, &KEPT_V4.parse().unwrap()).unwrap();
    assert_eq!(short.token.as_deref(), Some("b2xkIHRva2Vu"));
    assert_eq!(short.datetime, ts("2023-09-01T10:00:00Z"));
    assert_eq!(short.journey_id, None);
    let mut q = sim("short", "+336500000", "ZZZ");
    q.driving_license = Some("PASTSHORT1".parse().unwrap());
    let c = blocked(e.simulate(&o1, &q).unwrap());
    assert_eq!((c.datetime, c.uuid), (ts("2023-09-01T10:00:00Z"), None));
    // The long one has an identity key: by key, not by name and phone.
    let mut q = sim("long", "+336500000", "ZZZ");
    q.identity_key = Some(key('f'));
    let c = blocked(e.simulate(&o2, &q).unwrap());
    assert_eq!(c.uuid, Some(KEPT_V7.parse().unwrap()));
    assert!(e
        .simulate(&o1, &sim("long", "+336200006", "KKK"))
        .unwrap()
        .is_eligible());
    assert!(matches!(
        e.find(&o2, &KEPT_DELETED.parse().unwrap()),
        Err(Error::NotFound { .. })
    ));
    let mut q = sim("long", "+336500000", "ZZZ");
    q.driving_license = Some("PASTDEL3".parse().unwrap());
    assert!(e.simulate(&o1, &q).unwrap().is_eligible());
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

/// Writes the format-4 fixture: the workload that wrote formats 2 and 3 — imports (one row
/// later given an identity key, one later deleted, one of another operator), a journey with a
/// short registration, a long registration, a refusal — then past standardized applications;
/// format 4 keeps an audit entry for each successful write.
#[test]
#[ignore = "writes tests/fixtures/db-format-4; run with CEE_WRITE_FIXTURES=1"]
fn write() {
    if std::env::var_os("CEE_WRITE_FIXTURES").is_none() {
        return;
    }
    let dir = fixture_dir_4();
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
    past_applications(&e);
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

fn format_byte(dir: &Path) -> Vec<u8> {
    let db = retry_locked(|| sled::open(dir)).unwrap();
    db.get(b"\x00format").unwrap().unwrap().to_vec()
}

#[test]
fn the_committed_format_2_database_opens_with_the_same_answers() {
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&fixture_dir(), tmp.path());
    assert_eq!(format_byte(tmp.path()), [2]);
    let e = open(tmp.path());
    format_2_answers(&e);
    let s = e.stats().unwrap();
    assert_eq!(
        (s.specific, s.standardized, s.deleted, s.journeys, s.journal),
        ((1, 2), (1, 1), 1, 1, 1)
    );
    // Migrated (format 4 now, checked below), and past applications go in beside format 2's
    // records, with their audit entries (format 2 had no audit journal).
    assert!(e.audit_journal().unwrap().is_empty());
    past_applications(&e);
    drop(e);
    assert_eq!(format_byte(tmp.path()), [4]);
    audit_of_past_applications(&open(tmp.path()));
    let e = open(tmp.path());
    format_2_answers(&e);
    past_applications_answer(&e);
    import_uniqueness_survives(&e);
}

#[test]
fn the_committed_format_3_database_opens_with_the_same_answers() {
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&fixture_dir_3(), tmp.path());
    assert_eq!(format_byte(tmp.path()), [3]);
    // Migrated to format 4 on open (the version byte only).
    drop(open(tmp.path()));
    assert_eq!(format_byte(tmp.path()), [4]);
    let e = open(tmp.path());
    assert!(e.audit_journal().unwrap().is_empty());
    format_2_answers(&e);
    past_applications_answer(&e);
    let s = e.stats().unwrap();
    assert_eq!(
        (s.specific, s.standardized, s.deleted, s.journeys, s.journal),
        ((1, 2), (2, 2), 2, 1, 1)
    );
    import_uniqueness_survives(&e);
    // The import of that check is the first audit entry of this registry.
    let audit = e.audit_journal().unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!((audit[0].action, audit[0].rows), (AuditAction::Imported, 1));
    drop(e);
    assert_eq!(open(tmp.path()).audit_journal().unwrap().len(), 1);
}

#[test]
fn the_committed_format_4_database_opens_with_the_same_answers() {
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&fixture_dir_4(), tmp.path());
    assert_eq!(format_byte(tmp.path()), [4]);
    let e = open(tmp.path());
    format_2_answers(&e);
    past_applications_answer(&e);
    let s = e.stats().unwrap();
    assert_eq!(
        (s.specific, s.standardized, s.deleted, s.journeys, s.journal),
        ((1, 2), (2, 2), 2, 1, 1)
    );
    // The workload's audit journal, merged with its one refusal in journal order.
    let journal: Vec<String> = e
        .journal()
        .unwrap()
        .iter()
        .map(|item| match item {
            JournalItem::Error(r) => format!("refused {:?} {}", r.kind, r.operator_id),
            JournalItem::Audit(a) => format!(
                "{:?} {} {:?} {} {}",
                a.action,
                a.operator_id,
                a.journey_type,
                a.rows,
                a.uuids.len()
            ),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        journal,
        [
            "Imported 1 None 3 0",
            "IdentityImported 1 None 1 1",
            "Imported 2 None 1 0",
            "Registered 1 Some(Short) 1 0",
            "Registered 1 Some(Long) 1 0",
            "refused Conflict 1",
            "Deleted 1 Some(Short) 1 0",
            "StandardizedImported 2 None 3 3",
            "Deleted 2 Some(Long) 1 0",
        ]
    );
    import_uniqueness_survives(&e);
}

/// The audit entries `past_applications` leaves: the import (3 kept uuids), then the delete.
fn audit_of_past_applications(e: &Engine) {
    let audit = e.audit_journal().unwrap();
    let actions: Vec<_> = audit.iter().map(|a| a.action).collect();
    assert_eq!(
        actions,
        [AuditAction::StandardizedImported, AuditAction::Deleted]
    );
    let uuids: Vec<String> = audit[0].uuids.iter().map(|u| u.to_string()).collect();
    assert_eq!(uuids, [KEPT_V4, KEPT_V7, KEPT_DELETED]);
    assert_eq!((audit[0].operator_id, audit[0].rows), (2, 3));
    assert_eq!(audit[1].application, Some(KEPT_DELETED.parse().unwrap()));
    assert_eq!(audit[1].journey_type, Some(JourneyType::Long));
    assert!(audit.iter().all(|a| a.at == ts(NOW)));
}

/// The answers format 2's workload gives (its import-uniqueness check imports one row more).
fn format_2_answers(e: &Engine) {
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
    assert_eq!(e.error_journal().unwrap().len(), 1);
}

/// Import uniqueness survives: B (keyed) is a conflict, A's deleted short may come back.
fn import_uniqueness_survives(e: &Engine) {
    let o1 = op(1);
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
