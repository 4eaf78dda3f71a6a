//! Corruption (SPEC §8, DESIGN "On-disk layout"): a workload is written, the engine dropped,
//! and stored values tampered with through `sled::open` directly. Every call that touches a
//! damaged record must answer `Error::Corrupt` naming the record (never an identifier) or
//! `Error::UnsupportedFormat` — never panic, never answer as if nothing were wrong; a malformed
//! identity index entry makes `Engine::open` fail.

use std::fmt::Debug;
use std::path::Path;
use std::time::{Duration, Instant};

use bincode::{Decode, Encode};
use cee_eligibility::clock::ManualClock;
use cee_eligibility::*;

use crate::common::*;

// Mirrors of the records of `src/store/codec.rs` (application records: version 2, since
// format 3; journeys and journal: version 1), to damage single fields.
// `mirrors_match_the_stored_records` fails if they drift from the real ones.

#[derive(Debug, Clone, PartialEq, Encode, Decode)]
struct AppRecord {
    kind: u8,
    journey_type: u8,
    operator_id: u32,
    datetime: i64,
    created_at: i64,
    application_timestamp: Option<i64>,
    journey: Option<(u64, String)>,
    token: Option<String>,
    deleted_at: Option<i64>,
    name_phone: [u8; 16],
    license: Option<[u8; 16]>,
    identity_key: Option<[u8; 16]>,
    past: Option<PastApplication>,
}

#[derive(Debug, Clone, PartialEq, Encode, Decode)]
struct PastApplication {
    operator_journey_id: Option<String>,
}

/// A mirror and the record version the engine writes it with.
trait Mirror: Encode + Decode<()> {
    const VERSION: u8;
}

impl Mirror for AppRecord {
    const VERSION: u8 = 2;
}

impl Mirror for JourneyRecord {
    const VERSION: u8 = 1;
}

impl Mirror for JournalRecord {
    const VERSION: u8 = 1;
}

#[derive(Debug, Clone, PartialEq, Encode, Decode)]
struct PointRecord {
    datetime: i64,
    lat: f64,
    lon: f64,
    geo_code: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Encode, Decode)]
struct JourneyRecord {
    id: u64,
    operator_journey_id: String,
    operator_trip_id: Option<String>,
    operator_class: u8,
    start: PointRecord,
    end: PointRecord,
    distance: u32,
    incentives: Vec<(u8, f64, String)>,
    driver_phone_sealed: Option<Vec<u8>>,
    driver_identity_key: Option<[u8; 16]>,
    status: u8,
    application: Option<[u8; 16]>,
    created_at: i64,
    updated_at: i64,
}

#[derive(Debug, Clone, PartialEq, Encode, Decode)]
struct JournalRecord {
    kind: u8,
    operator_id: u32,
    journey_type: u8,
    at: i64,
    application: Option<[u8; 16]>,
}

/// The 4-byte integrity check of DESIGN.md: BLAKE3 of the parts, first 4 bytes.
fn check4(parts: &[&[u8]]) -> [u8; 4] {
    let mut h = blake3::Hasher::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().as_bytes()[..4].try_into().unwrap()
}

fn decode<T: Mirror>(v: &[u8]) -> T {
    assert_eq!(v[0], T::VERSION, "record version");
    let (payload, check) = v.split_at(v.len() - 4);
    assert_eq!(check, check4(&[payload]), "record check");
    let (r, n) = bincode::decode_from_slice(&payload[1..], bincode::config::standard()).unwrap();
    assert_eq!(n, payload.len() - 1);
    r
}

/// Encodes like the engine, with a valid check: damage made this way is only caught by
/// field validation.
fn encode<T: Mirror>(r: &T) -> Vec<u8> {
    let mut v = vec![T::VERSION];
    v.extend(bincode::encode_to_vec(r, bincode::config::standard()).unwrap());
    let check = check4(&[&v]);
    v.extend_from_slice(&check);
    v
}

const NOW: &str = "2024-06-15T12:00:00Z";
const APPLIED: &str = "2024-06-10T00:00:00Z";
const NAME: &str = "QXZ";
const P_IMPORT: &str = "+336100001";
const P_JOURNEY: &str = "+336100003";
const P_LONG: &str = "+336100004";
const L_SHORT: &str = "SHORTLIC0001";
const L_LONG: &str = "LONGLIC0002";
/// Every identifier of the workload: none may appear in an error's `Display` or `Debug`.
const IDENTIFIERS: [&str; 12] = [
    P_IMPORT,
    "6100001",
    P_JOURNEY,
    "6100003",
    P_LONG,
    "6100004",
    L_SHORT,
    L_LONG,
    NAME,
    // The identity keys ('c', 'd' and 'e' repeated).
    "cccccccccccccccc",
    "dddddddddddddddd",
    "eeeeeeeeeeeeeeee",
];

struct Fixture {
    dir: tempfile::TempDir,
    /// An imported (specific, long) row of operator 1, never changed: a segment row.
    import: ApplicationId,
    /// An imported (specific, short) row of operator 1 given an identity key: a record.
    keyed: ApplicationId,
    /// A short registration on journey `j1`.
    short: ApplicationId,
    /// A long registration.
    long: ApplicationId,
}

/// sled 0.34 releases its directory lock lazily after the last `Db` handle is dropped
/// (spacejam/sled#1234, #1289: "do not rapidly open and close the same database"), so an
/// in-process reopen right after a drop may fail with "could not acquire lock". Retries those.
pub(crate) fn retry_locked<T, E: Debug>(mut f: impl FnMut() -> Result<T, E>) -> Result<T, E> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match f() {
            Err(e)
                if format!("{e:?}").contains("could not acquire lock")
                    && Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(5));
            }
            r => return r,
        }
    }
}

fn open(dir: &Path) -> Result<Engine, Error> {
    retry_locked(|| {
        Engine::open(
            Config::new(dir)
                .secret([4; 32])
                .clock(ManualClock::new(ts(NOW))),
        )
    })
}

/// Imports, a journey with a short registration, a spare journey, a long registration and a
/// refused one (a journal entry).
fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let e = open(dir.path()).unwrap();
    let o = op(1);
    e.import(
        &o,
        &[
            row("long", P_IMPORT, NAME, "2022-01-01T00:00:00Z"),
            row("short", P_IMPORT, NAME, "2022-06-01T00:00:00Z"),
        ],
    )
    .unwrap();
    let import = blocked(e.simulate(&o, &sim("long", P_IMPORT, NAME)).unwrap())
        .uuid
        .unwrap();
    let keyed = blocked(e.simulate(&o, &sim("short", P_IMPORT, NAME)).unwrap())
        .uuid
        .unwrap();
    let rep = e
        .import_identity(
            &o,
            &[IdentityRow::Specific {
                identity_key: "c".repeat(64),
                phone_trunc: P_IMPORT.into(),
                last_name_trunc: NAME.into(),
                journey_type: "short".into(),
                datetime: "2022-06-01T00:00:00Z".into(),
            }],
        )
        .unwrap();
    assert_eq!(rep.imported, 1);
    for j in ["j1", "j2"] {
        e.put_journey(
            &o,
            &journey(j, P_JOURNEY, "2024-05-01T08:00:00Z", "2024-05-01T09:00:00Z"),
        )
        .unwrap();
    }
    let short = registered(
        e.register(&o, &short_req("j1", NAME, L_SHORT, 'd', APPLIED))
            .unwrap(),
    )
    .uuid;
    let long_request = long_req(P_LONG, NAME, L_LONG, 'e', "2024-05-01T00:00:00Z", APPLIED);
    let long = registered(e.register(&o, &long_request).unwrap()).uuid;
    refusal(e.register(&o, &long_request).unwrap());
    Fixture {
        dir,
        import,
        keyed,
        short,
        long,
    }
}

/// `[02][uuid]` for a registered application, `[07][uuid]` for an imported one (UUIDv7).
fn app_key(u: &ApplicationId) -> Vec<u8> {
    let imported = u.as_bytes()[6] >> 4 == 7;
    let mut k = vec![if imported { 0x07 } else { 0x02 }];
    k.extend_from_slice(u.as_bytes());
    k
}

fn journey_key(ojid: &str) -> Vec<u8> {
    let mut k = vec![0x04, 0, 0, 0, 1];
    k.extend_from_slice(ojid.as_bytes());
    k
}

/// Runs `f` on the raw sled database (the engine must be closed), then flushes.
fn with_sled<T>(dir: &Path, f: impl FnOnce(&sled::Db) -> T) -> T {
    let db = retry_locked(|| sled::open(dir)).unwrap();
    let t = f(&db);
    db.flush().unwrap();
    t
}

fn get(db: &sled::Db, key: &[u8]) -> Vec<u8> {
    db.get(key).unwrap().unwrap().to_vec()
}

fn put(db: &sled::Db, key: &[u8], value: &[u8]) {
    db.insert(key, value).unwrap();
}

fn assert_private(e: &Error) {
    let text = format!("{e} / {e:?}");
    for id in IDENTIFIERS {
        assert!(!text.contains(id), "error shows an identifier: {text}");
    }
}

/// Is `r` an `Err(Error::Corrupt)` whose record names `what` (and no identifier)?
fn check_corrupt<T: Debug>(r: Result<T, Error>, what: &str, ctx: &str) -> Result<(), String> {
    match r {
        Err(e @ Error::Corrupt { .. }) => {
            let Error::Corrupt { record, reason } = &e else {
                unreachable!()
            };
            assert_private(&e);
            if record.contains(what) && !reason.is_empty() {
                Ok(())
            } else {
                Err(format!(
                    "{ctx}: corrupt record {record:?} does not name {what:?}"
                ))
            }
        }
        other => Err(format!(
            "{ctx}: expected Error::Corrupt naming {what:?}, got {other:?}"
        )),
    }
}

/// Asserts `Err(Error::Corrupt)` whose record names `what`.
#[track_caller]
fn assert_corrupt<T: Debug>(r: Result<T, Error>, what: &str, ctx: &str) {
    if let Err(msg) = check_corrupt(r, what, ctx) {
        panic!("{msg}");
    }
}

/// Structural damage of a record value: each must be detected.
fn damaged(original: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut out = vec![
        ("empty".to_owned(), vec![]),
        ("only the version byte".to_owned(), vec![1]),
        ("over the size limit".to_owned(), {
            let mut v = vec![1];
            v.resize(70_000, 0);
            v
        }),
    ];
    for version in [0u8, 3, 0x7f, 0xff] {
        let mut v = original.to_vec();
        v[0] = version;
        out.push((format!("version byte {version}"), v));
    }
    let len = original.len();
    for cut in [2, 3, len / 2, len - 2, len - 1] {
        out.push((format!("truncated to {cut}"), original[..cut].to_vec()));
    }
    for tail in [&[0u8][..], &[0xff, 0xff, 0xff]] {
        let mut v = original.to_vec();
        v.extend_from_slice(tail);
        out.push((format!("{} trailing bytes", tail.len()), v));
    }
    out
}

#[test]
fn mirrors_match_the_stored_records() {
    let f = fixture();
    with_sled(f.dir.path(), |db| {
        for u in [&f.keyed, &f.short, &f.long] {
            let v = get(db, &app_key(u));
            assert_eq!(encode(&decode::<AppRecord>(&v)), v);
        }
        // Never changed, the other imported row has no record: it lives in its segment.
        assert!(db.get(app_key(&f.import)).unwrap().is_none());
        assert_eq!(db.scan_prefix([0x06]).count(), 1);
        let v = get(db, &journey_key("j1"));
        let j: JourneyRecord = decode(&v);
        assert_eq!(encode(&j), v);
        assert_eq!(j.application, Some(*f.short.as_bytes()));
        let mut journal = 0;
        for kv in db.scan_prefix([0x05]) {
            let (_, v) = kv.unwrap();
            assert_eq!(encode(&decode::<JournalRecord>(&v)), v.to_vec());
            journal += 1;
        }
        assert_eq!(journal, 1);
    });
}

#[test]
fn damaged_application_records_are_corrupt_for_every_call() {
    let f = fixture();
    let o = op(1);
    let originals = with_sled(f.dir.path(), |db| {
        [&f.short, &f.long].map(|u| (app_key(u), get(db, &app_key(u))))
    });
    let variants: Vec<_> = originals.iter().map(|(_, v)| damaged(v)).collect();
    assert!(variants[0].len() > 10);
    for i in 0..variants[0].len() {
        let name = &variants[1][i].0;
        with_sled(f.dir.path(), |db| {
            for ((k, _), v) in originals.iter().zip(&variants) {
                put(db, k, &v[i].1);
            }
        });
        let e = open(f.dir.path()).unwrap();
        let ctx = |what: &str| format!("{name}: {what}");
        for u in [&f.short, &f.long] {
            let record = format!("application {u}");
            assert_corrupt(e.find(&o, u), &record, &ctx("find"));
            assert_corrupt(e.find(&op(2), u), &record, &ctx("find, other operator"));
            assert_corrupt(e.delete(&o, u), &record, &ctx("delete"));
        }
        assert_corrupt(
            e.import_identity(
                &o,
                &[IdentityRow::Standardized {
                    cee_application_uuid: f.long.to_string(),
                    identity_key: "f".repeat(64),
                }],
            ),
            "application",
            &ctx("import_identity"),
        );
        assert_corrupt(e.stats(), "application", &ctx("stats"));
        // Describing a short standardized application of the caller's reads its record.
        let mut q = sim("short", "+336500000", "ABC");
        q.driving_license = Some(L_SHORT.parse().unwrap());
        assert_corrupt(
            e.simulate(&o, &q),
            &format!("application {}", f.short),
            &ctx("simulate short"),
        );
        // The others are answered from the index alone, which is intact: the right answer.
        let mut q = sim("long", "+336500000", "ABC");
        q.driving_license = Some(L_LONG.parse().unwrap());
        let c = blocked(e.simulate(&o, &q).unwrap());
        assert_eq!(
            (c.uuid, c.datetime),
            (Some(f.long), ts("2024-05-01T00:00:00Z"))
        );
        let c = blocked(e.simulate(&o, &sim("long", P_IMPORT, NAME)).unwrap());
        assert_eq!(
            (c.uuid, c.datetime),
            (Some(f.import), ts("2022-01-01T00:00:00Z"))
        );
        drop(e);
        with_sled(f.dir.path(), |db| {
            for (k, v) in &originals {
                put(db, k, v);
            }
        });
    }
    // Restored, everything reads again.
    let e = open(f.dir.path()).unwrap();
    assert!(e.find(&o, &f.long).is_ok());
    assert!(e.stats().is_ok());
}

#[test]
fn damaged_journey_records_are_corrupt_for_every_call() {
    let f = fixture();
    let o = op(1);
    let (j1, j2) = (journey_key("j1"), journey_key("j2"));
    let originals = with_sled(f.dir.path(), |db| (get(db, &j1), get(db, &j2)));
    for ((name, v1), (_, v2)) in damaged(&originals.0).into_iter().zip(damaged(&originals.1)) {
        with_sled(f.dir.path(), |db| {
            put(db, &j1, &v1);
            put(db, &j2, &v2);
        });
        let e = open(f.dir.path()).unwrap();
        let ctx = |what: &str| format!("{name}: {what}");
        let what = "journey";
        for ojid in ["j1", "j2"] {
            let id: OperatorJourneyId = ojid.parse().unwrap();
            assert_corrupt(e.journey(&o, &id), what, &ctx("journey"));
            assert_corrupt(
                e.patch_journey(&o, &id, &JourneyPatch::default()),
                what,
                &ctx("patch"),
            );
            assert_corrupt(
                e.set_journey_status(&o, &id, JourneyStatus::Ok),
                what,
                &ctx("set status"),
            );
            assert_corrupt(
                e.register(&o, &short_req(ojid, "ABC", "OTHER1", 'f', APPLIED)),
                what,
                &ctx("register"),
            );
            // The journey exists: storing it again is a conflict, damaged or not.
            assert!(matches!(
                e.put_journey(
                    &o,
                    &journey(
                        ojid,
                        P_JOURNEY,
                        "2024-05-01T08:00:00Z",
                        "2024-05-01T09:00:00Z"
                    )
                ),
                Err(Error::Conflict(_))
            ));
        }
        assert_corrupt(e.find(&o, &f.short), what, &ctx("find"));
        let mut q = sim("short", "+336500000", "ABC");
        q.driving_license = Some(L_SHORT.parse().unwrap());
        assert_corrupt(e.simulate(&o, &q), what, &ctx("simulate"));
        assert_eq!(e.stats().unwrap().journeys, 2);
        drop(e);
        with_sled(f.dir.path(), |db| {
            put(db, &j1, &originals.0);
            put(db, &j2, &originals.1);
        });
    }
    let e = open(f.dir.path()).unwrap();
    assert_eq!(
        e.find(&o, &f.short).unwrap().status,
        Some(JourneyStatus::Pending)
    );
}

#[test]
fn damaged_journal_entries_are_corrupt() {
    let f = fixture();
    let (journal_key, journal) = with_sled(f.dir.path(), |db| {
        let (k, v) = db.scan_prefix([0x05]).next().unwrap().unwrap();
        (k.to_vec(), v.to_vec())
    });
    for (name, v) in damaged(&journal) {
        with_sled(f.dir.path(), |db| put(db, &journal_key, &v));
        let e = open(f.dir.path()).unwrap();
        assert_corrupt(e.error_journal(), "error journal entry", &name);
        assert_eq!(e.stats().unwrap().journal, 1, "{name}");
    }
    with_sled(f.dir.path(), |db| put(db, &journal_key, &journal));
    assert_eq!(
        open(f.dir.path()).unwrap().error_journal().unwrap().len(),
        1
    );
}

/// Every audit entry of the fixture (its imports and registrations), damaged in turn: the
/// audit journal and the merged journal fail with `Error::Corrupt` naming it; the registry
/// still opens and answers; restored, the entries read again.
#[test]
fn damaged_audit_entries_are_corrupt() {
    let f = fixture();
    let entries: Vec<(Vec<u8>, Vec<u8>)> = with_sled(f.dir.path(), |db| {
        db.scan_prefix([0x08])
            .map(|kv| {
                let (k, v) = kv.unwrap();
                (k.to_vec(), v.to_vec())
            })
            .collect()
    });
    // The import, the identity import, two registrations.
    assert_eq!(entries.len(), 4);
    for (key, value) in &entries {
        for (name, v) in damaged(value) {
            with_sled(f.dir.path(), |db| put(db, key, &v));
            let e = open(f.dir.path()).unwrap();
            assert_corrupt(e.audit_journal(), "audit journal entry", &name);
            assert_corrupt(e.journal(), "audit journal entry", &name);
            assert!(e.find(&op(1), &f.long).is_ok(), "{name}");
        }
        with_sled(f.dir.path(), |db| put(db, key, value));
    }
    let e = open(f.dir.path()).unwrap();
    assert_eq!(e.audit_journal().unwrap().len(), 4);
    assert_eq!(e.journal().unwrap().len(), 5);
}

/// The index is built from the import segments and the records of changed imported rows: a
/// damaged one makes `open` fail with `Error::Corrupt` naming it.
#[test]
fn damaged_segments_and_imported_records_fail_open() {
    let f = fixture();
    let o = op(1);
    let (seg_key, segment) = with_sled(f.dir.path(), |db| {
        let (k, v) = db.scan_prefix([0x06]).next().unwrap().unwrap();
        (k.to_vec(), v.to_vec())
    });
    // `[version][operator u32][created_at i64][count u16]` + 2 rows of 25 bytes + check.
    assert_eq!((seg_key.len(), segment.len()), (9, 15 + 2 * 25 + 4));
    let reseal = |mut v: Vec<u8>| {
        v.truncate(v.len() - 4);
        let c = check4(&[&seg_key, &v]);
        v.extend_from_slice(&c);
        v
    };
    let with = |i: usize, b: &[u8]| {
        let mut v = segment.clone();
        v[i..i + b.len()].copy_from_slice(b);
        reseal(v)
    };
    let mut segments: Vec<(String, Vec<u8>)> = vec![
        ("empty".into(), vec![]),
        ("check only".into(), segment[segment.len() - 4..].to_vec()),
        ("version 2".into(), with(0, &[2])),
        ("3 rows announced".into(), with(13, &[0, 3])),
        ("journey type 2".into(), with(15, &[2])),
        (
            "datetime out of range".into(),
            with(16, &i64::MAX.to_be_bytes()),
        ),
        (
            "created_at out of range".into(),
            with(5, &i64::MIN.to_be_bytes()),
        ),
        (
            "a row too many".into(),
            reseal([&segment[..], &[0; 25]].concat()),
        ),
    ];
    for i in 0..segment.len() {
        let mut v = segment.clone();
        v[i] ^= 0x01;
        segments.push((format!("byte {i} flipped"), v));
    }
    for (name, v) in &segments {
        with_sled(f.dir.path(), |db| put(db, &seg_key, v));
        assert_corrupt(open(f.dir.path()), "import segment", name);
    }
    with_sled(f.dir.path(), |db| put(db, &seg_key, &segment));

    let key = app_key(&f.keyed);
    let record = with_sled(f.dir.path(), |db| get(db, &key));
    for (name, v) in damaged(&record) {
        with_sled(f.dir.path(), |db| put(db, &key, &v));
        assert_corrupt(
            open(f.dir.path()),
            &format!("application {}", f.keyed),
            &name,
        );
    }
    with_sled(f.dir.path(), |db| put(db, &key, &record));
    let original = edit(f.dir.path(), &key, |r: &mut AppRecord| r.kind = 9);
    assert_corrupt(open(f.dir.path()), "application", "kind 9");
    restore(f.dir.path(), &key, &original);

    // Restored, both imported rows read again, and still block re-imports.
    let e = open(f.dir.path()).unwrap();
    assert!(e.find(&o, &f.import).unwrap().specific);
    assert!(e.find(&o, &f.keyed).unwrap().specific);
    let rep = e
        .import(
            &o,
            &[
                row("long", P_IMPORT, NAME, "2022-01-01T00:00:00Z"),
                row("short", P_IMPORT, NAME, "2022-06-01T00:00:00Z"),
            ],
        )
        .unwrap();
    assert_eq!((rep.imported, rep.failed), (0, 2));
}

#[test]
fn malformed_index_entries_fail_open() {
    let f = fixture();
    let (key, value) = with_sled(f.dir.path(), |db| {
        let (k, v) = db.scan_prefix([0x01]).next().unwrap().unwrap();
        (k.to_vec(), v.to_vec())
    });
    assert_eq!((key.len(), value.len()), (47, 9), "DESIGN.md layout");
    let with = |i: usize, b: u8| {
        let mut k = key.clone();
        k[i] = b;
        k
    };
    let mut longer = key.clone();
    longer.push(0);
    let mut bucket = key.clone();
    bucket[22] ^= 1;
    let mut bad_kind = value.clone();
    bad_kind[0] = 7;
    // (what, key, value): a new garbage entry, or the real key with a bad value.
    let cases: Vec<(&str, Vec<u8>, Vec<u8>)> = vec![
        ("family byte alone", vec![0x01], value.clone()),
        ("key one byte short", key[..46].to_vec(), value.clone()),
        ("key one byte long", longer, value.clone()),
        ("unknown identifier kind", with(1, 9), value.clone()),
        ("identifier kind 0", with(1, 0), value.clone()),
        ("unknown journey type", with(18, 2), value.clone()),
        ("bucket not the entry's month", bucket, value.clone()),
        ("unknown application kind", key.clone(), bad_kind),
        ("empty value", key.clone(), vec![]),
        ("value one byte short", key.clone(), value[..4].to_vec()),
        (
            "value one byte long",
            key.clone(),
            [&value[..], &[0]].concat(),
        ),
    ];
    for (what, k, v) in &cases {
        with_sled(f.dir.path(), |db| put(db, k, v));
        match open(f.dir.path()) {
            Err(e @ Error::Corrupt { .. }) => {
                assert!(
                    e.to_string().contains("identity index entry"),
                    "{what}: {e}"
                );
                assert_private(&e);
            }
            other => panic!("{what}: expected Error::Corrupt, got {other:?}"),
        }
        with_sled(f.dir.path(), |db| {
            if k != &key {
                db.remove(k).unwrap();
            }
            put(db, &key, &value);
        });
    }
    assert!(open(f.dir.path()).is_ok(), "restored");
}

#[test]
fn damaged_metadata_is_refused() {
    let f = fixture();
    let format = b"\x00format".to_vec();
    let keycheck = b"\x00keycheck".to_vec();
    let original = with_sled(f.dir.path(), |db| get(db, &keycheck));
    for bad in [&[0][..], &[1], &[5], &[0xff]] {
        with_sled(f.dir.path(), |db| put(db, &format, bad));
        let r = open(f.dir.path());
        assert!(
            matches!(r, Err(Error::UnsupportedFormat { found, supported: 4 }) if found == bad[0]),
            "format {bad:?}: {r:?}"
        );
    }
    // Not one byte: not a version at all ("version 2, this build reads 2" would mislead).
    for bad in [&[][..], &[3, 0]] {
        with_sled(f.dir.path(), |db| put(db, &format, bad));
        assert_corrupt(
            open(f.dir.path()),
            "database metadata",
            "format of odd length",
        );
    }
    with_sled(f.dir.path(), |db| db.remove(&format).unwrap());
    assert_corrupt(open(f.dir.path()), "database metadata", "format missing");
    with_sled(f.dir.path(), |db| {
        put(db, &format, &[4]);
        db.remove(&keycheck).unwrap();
    });
    assert_corrupt(open(f.dir.path()), "database metadata", "keycheck missing");
    for bad in [&original[..31], &[0; 32][..], &[]] {
        with_sled(f.dir.path(), |db| put(db, &keycheck, bad));
        assert!(matches!(open(f.dir.path()), Err(Error::WrongSecret)));
    }
    with_sled(f.dir.path(), |db| put(db, &keycheck, &original));
    assert!(open(f.dir.path()).is_ok(), "restored");
}

/// Damage done to one field of a record.
type Damage<T> = fn(&mut T);

/// Rewrites one record through its mirror; returns the original value.
fn edit<T: Mirror>(dir: &Path, key: &[u8], f: impl FnOnce(&mut T)) -> Vec<u8> {
    with_sled(dir, |db| {
        let original = get(db, key);
        let mut r: T = decode(&original);
        f(&mut r);
        put(db, key, &encode(&r));
        original
    })
}

fn restore(dir: &Path, key: &[u8], original: &[u8]) {
    with_sled(dir, |db| put(db, key, original));
}

/// Regression (found by this campaign, fixed by validating records on decode): `find`,
/// `stats` and `delete` used to fall back to defaults for out-of-range fields (journey type 7
/// read as short, a bad datetime as `Timestamp::MIN`, kind 9 as standardized).
#[test]
fn application_fields_out_of_range_are_corrupt() {
    let f = fixture();
    let o = op(1);
    let mut failures = Vec::new();
    let cases: [(&str, ApplicationId, Damage<AppRecord>); 3] = [
        ("journey type 7", f.long, |r| r.journey_type = 7),
        ("kind 9", f.short, |r| r.kind = 9),
        ("datetime past the last instant", f.long, |r| {
            r.datetime = i64::MAX
        }),
    ];
    for (name, u, damage) in cases {
        let key = app_key(&u);
        let original = edit(f.dir.path(), &key, damage);
        let e = open(f.dir.path()).unwrap();
        let record = format!("application {u}");
        failures.extend(check_corrupt(e.find(&o, &u), &record, &format!("{name}: find")).err());
        failures.extend(check_corrupt(e.stats(), "application", &format!("{name}: stats")).err());
        failures.extend(check_corrupt(e.delete(&o, &u), &record, &format!("{name}: delete")).err());
        drop(e);
        restore(f.dir.path(), &key, &original);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Regression (found by this campaign, fixed by validating records on decode): `register`
/// used to judge a journey with an unknown class byte "not eligible", and `find` reported
/// `status: None` for an unknown status byte.
#[test]
fn journey_fields_out_of_range_are_corrupt() {
    let f = fixture();
    let o = op(1);
    let mut failures = Vec::new();
    let j1 = journey_key("j1");
    let j2 = journey_key("j2");
    let j2_id: OperatorJourneyId = "j2".parse().unwrap();
    // Class: the journey reads as corrupt, and a registration must not call it "not eligible".
    let original = edit(f.dir.path(), &j2, |j: &mut JourneyRecord| {
        j.operator_class = 9
    });
    let e = open(f.dir.path()).unwrap();
    failures.extend(check_corrupt(e.journey(&o, &j2_id), "journey", "class 9: journey").err());
    failures.extend(
        check_corrupt(
            e.register(&o, &short_req("j2", "ABC", "OTHER1", 'f', APPLIED)),
            "journey",
            "class 9: register",
        )
        .err(),
    );
    drop(e);
    restore(f.dir.path(), &j2, &original);
    // Status: reading the application that refers to the journey must not drop the status.
    let original = edit(f.dir.path(), &j1, |j: &mut JourneyRecord| j.status = 42);
    let e = open(f.dir.path()).unwrap();
    failures.extend(
        check_corrupt(
            e.journey(&o, &"j1".parse().unwrap()),
            "journey",
            "status 42: journey",
        )
        .err(),
    );
    failures.extend(check_corrupt(e.find(&o, &f.short), "journey", "status 42: find").err());
    drop(e);
    restore(f.dir.path(), &j1, &original);
    // A sealed driver phone that does not unseal.
    let original = edit(f.dir.path(), &j2, |j: &mut JourneyRecord| {
        j.driver_phone_sealed = Some(vec![0xa5; 10])
    });
    let e = open(f.dir.path()).unwrap();
    failures.extend(
        check_corrupt(
            e.register(&o, &short_req("j2", "ABC", "OTHER1", 'f', APPLIED)),
            "journey",
            "sealed phone",
        )
        .err(),
    );
    drop(e);
    restore(f.dir.path(), &j2, &original);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Regression (found by this campaign, fixed by validating records on decode):
/// `error_journal` used to map an unknown kind to `Conflict`, an unknown journey type to
/// `Short` and an out-of-range time to `Timestamp::MIN`.
#[test]
fn journal_fields_out_of_range_are_corrupt() {
    let f = fixture();
    let mut failures = Vec::new();
    let key = with_sled(f.dir.path(), |db| {
        db.scan_prefix([0x05]).next().unwrap().unwrap().0.to_vec()
    });
    let cases: [(&str, Damage<JournalRecord>); 3] = [
        ("kind 9", |r| r.kind = 9),
        ("journey type 7", |r| r.journey_type = 7),
        ("time past the last instant", |r| r.at = i64::MAX),
    ];
    for (name, damage) in cases {
        let original = edit(f.dir.path(), &key, damage);
        let e = open(f.dir.path()).unwrap();
        failures.extend(check_corrupt(e.error_journal(), "error journal entry", name).err());
        drop(e);
        restore(f.dir.path(), &key, &original);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Outcomes of flipping one byte of each of many application records.
#[derive(Debug, Default)]
struct Flips {
    total: usize,
    /// `find` answered `Error::Corrupt`.
    detected: usize,
    /// `find` answered the original application (the flip hit a field it does not show).
    same: usize,
    /// `find` answered something else: another application, `NotFound`, `Forbidden`.
    wrong: Vec<String>,
}

/// Registers `2 × len` long applications, flips byte `i % len` of application `i` (XOR 0xff,
/// then XOR 0x01), reopens, and reads each back. Every answer must be a value or
/// `Error::Corrupt` naming the record: never a panic, never another error.
fn flip_every_byte() -> Flips {
    let dir = tempfile::tempdir().unwrap();
    let o = op(1);
    let register = |e: &Engine, i: usize| {
        let mut req = long_req(
            &format!("+3367{i:05}"),
            NAME,
            &format!("FLIP{i}"),
            'a',
            "2024-05-01T00:00:00Z",
            APPLIED,
        );
        req.identity_key = format!("{i:064x}").parse().unwrap();
        registered(e.register(&o, &req).unwrap()).uuid
    };
    let buffered = |dir: &Path| {
        retry_locked(|| {
            Engine::open(
                Config::new(dir)
                    .secret([4; 32])
                    .clock(ManualClock::new(ts(NOW)))
                    .durability(Durability::Buffered),
            )
        })
        .unwrap()
    };
    let e = buffered(dir.path());
    let mut uuids = vec![register(&e, 0)];
    drop(e);
    let len = with_sled(dir.path(), |db| get(db, &app_key(&uuids[0])).len());
    let e = buffered(dir.path());
    uuids.extend((1..2 * len).map(|i| register(&e, i)));
    let originals: Vec<Application> = uuids.iter().map(|u| e.find(&o, u).unwrap()).collect();
    e.flush().unwrap();
    drop(e);
    with_sled(dir.path(), |db| {
        for (i, u) in uuids.iter().enumerate() {
            let mut v = get(db, &app_key(u));
            assert_eq!(v.len(), len);
            v[i % len] ^= if i < len { 0xff } else { 0x01 };
            put(db, &app_key(u), &v);
        }
    });
    let e = open(dir.path()).unwrap();
    let mut flips = Flips::default();
    for (i, (u, original)) in uuids.iter().zip(&originals).enumerate() {
        let ctx = format!("byte {} ^ {:#x}", i % len, if i < len { 0xff } else { 1 });
        flips.total += 1;
        match e.find(&o, u) {
            Err(Error::Corrupt { .. }) => {
                assert_corrupt(e.find(&o, u), &format!("application {u}"), &ctx);
                assert_corrupt(e.delete(&o, u), &format!("application {u}"), &ctx);
                flips.detected += 1;
            }
            Ok(a) if a == *original => flips.same += 1,
            Ok(a) => flips.wrong.push(format!("{ctx}: {a:?}")),
            Err(err @ (Error::NotFound { .. } | Error::Forbidden { .. })) => {
                flips.wrong.push(format!("{ctx}: {err}"))
            }
            Err(err) => panic!("{ctx}: unexpected error {err:?}"),
        }
    }
    flips
}

#[test]
fn flipped_bytes_never_panic() {
    let flips = flip_every_byte();
    eprintln!(
        "flips: {} records, {} detected, {} unchanged answer, {} undetected wrong answer",
        flips.total,
        flips.detected,
        flips.same,
        flips.wrong.len()
    );
    assert!(flips.detected > flips.total / 4, "{flips:?}");
}

/// Regression (found by this campaign, fixed by a 4-byte check on every record): a flipped
/// byte that still decoded (a date, the operator id, a token character, a pseudonym,
/// `deleted_at`'s tag…) used to give a well-formed wrong answer. sled checksums its own log, so
/// this is damage that does not come from the disk itself (a bug writing records, a tool).
#[test]
fn flipped_bytes_never_give_a_wrong_answer() {
    let flips = flip_every_byte();
    assert!(
        flips.wrong.is_empty(),
        "{} of {} flips undetected:\n{}",
        flips.wrong.len(),
        flips.total,
        flips.wrong.join("\n")
    );
}

/// Regression (found by this campaign, fixed by deleting the keys found under the record's
/// pseudonyms): `delete` used to recompute the index keys from the record's fields, so a
/// stored datetime differing from the keys' (by 1 ms, still in range) left the sled keys
/// behind and the deleted application blocked its beneficiary again after a reopen.
#[test]
fn delete_never_leaves_index_entries_behind() {
    let f = fixture();
    let o = op(1);
    edit(f.dir.path(), &app_key(&f.long), |r: &mut AppRecord| {
        r.datetime += 1
    });
    let mut q = sim("long", "+336500000", "ABC");
    q.driving_license = Some(L_LONG.parse().unwrap());
    let e = open(f.dir.path()).unwrap();
    match e.delete(&o, &f.long) {
        Err(err) => assert_corrupt(Err::<(), _>(err), "application", "delete"),
        Ok(()) => {
            assert!(e.simulate(&o, &q).unwrap().is_eligible(), "deleted");
            drop(e);
            let e = open(f.dir.path()).unwrap();
            assert!(
                e.simulate(&o, &q).unwrap().is_eligible(),
                "the deleted application blocks again after a reopen"
            );
        }
    }
}
