//! Golden bytes of the on-disk formats: every key and value family encoded from fixed inputs
//! and compared with `tests/fixtures/format-4.hex` (this build's format), and decoded back
//! from those committed bytes; the committed bytes of formats 2 and 3
//! (`tests/fixtures/format-2.hex`, `format-3.hex`, never rewritten) still decode to the same
//! values, and the families later formats did not change still encode to them. A change of layout fails here; it must come with a new format version
//! (and a new fixture file, written with
//! `CEE_WRITE_FIXTURES=1 cargo test -p cee-eligibility --lib golden::encoding`).

use std::collections::BTreeMap;

use super::codec;
use super::imported_uuid::UuidMask;
use super::keys;
use super::records::{
    AppKind, AppRecord, AuditAction, AuditRecord, IndexEntry, JournalKind, JournalRecord,
    JourneyRecord, PastApplication, PointRecord, Segment, SegmentRow,
};
use super::segment;
use crate::fields::{JourneyStatus, JourneyType, OperatorClass};
use crate::identity::{IdKind, Keys, Pseudonym};

const FIXTURE_2: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/format-2.hex");
const FIXTURE_3: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/format-3.hex");
const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/format-4.hex");

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex fixture"))
        .collect()
}

pub(super) fn app() -> AppRecord {
    AppRecord {
        kind: AppKind::Standardized,
        journey_type: JourneyType::Short,
        operator_id: 7,
        datetime: 1_717_236_000_000,
        created_at: 1_718_452_800_000,
        application_timestamp: Some(1_717_977_600_000),
        journey: Some((42, "journey-1".into())),
        token: Some("dG9rZW4=".into()),
        deleted_at: None,
        name_phone: [0x11; 16],
        license: Some([0x22; 16]),
        identity_key: Some([0x33; 16]),
        past: None,
    }
}

/// A past standardized application imported with its kept uuid (format 3).
pub(super) fn past_app() -> AppRecord {
    AppRecord {
        kind: AppKind::Standardized,
        journey_type: JourneyType::Short,
        operator_id: 8,
        datetime: 1_686_787_200_000,
        created_at: 1_718_452_800_000,
        application_timestamp: Some(1_686_700_800_000),
        journey: None,
        token: Some("b2xkIHRva2Vu".into()),
        deleted_at: None,
        name_phone: [0x77; 16],
        license: Some([0x88; 16]),
        identity_key: None,
        past: Some(PastApplication {
            operator_journey_id: Some("old-journey-7".into()),
        }),
    }
}

/// A kept uuid that has the UUIDv7 shape (stored under `OVERRIDE`, like changed imports).
const KEPT_V7: [u8; 16] = [
    0x01, 0x88, 0xbb, 0x9a, 0x3c, 0x00, 0x7a, 0xbc, 0x8d, 0xef, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab,
];

fn point(datetime: i64, lat: f64, lon: f64) -> PointRecord {
    PointRecord {
        datetime,
        lat,
        lon,
        geo_code: Some("75056".into()),
    }
}

pub(super) fn journey() -> JourneyRecord {
    JourneyRecord {
        id: 42,
        operator_journey_id: "journey-1".into(),
        operator_trip_id: None,
        operator_class: OperatorClass::C,
        start: point(1_717_228_800_000, 48.8566, 2.3522),
        end: point(1_717_232_400_000, 48.8049, 2.1204),
        distance: 21_000,
        incentives: vec![(1, 1.5, "89248032800012".into())],
        driver_phone_sealed: Some(vec![0xa5; 10]),
        driver_identity_key: Some([0x33; 16]),
        status: JourneyStatus::Ok,
        application: Some([0x44; 16]),
        created_at: 1_717_236_000_000,
        updated_at: 1_717_236_000_000,
    }
}

pub(super) fn journal() -> JournalRecord {
    JournalRecord {
        kind: JournalKind::Conflict,
        operator_id: 7,
        journey_type: JourneyType::Long,
        at: 1_718_452_800_000,
        application: Some([0x44; 16]),
    }
}

/// An accepted registration in the audit journal (format 4).
pub(super) fn audit_registered() -> AuditRecord {
    AuditRecord {
        action: AuditAction::Registered,
        operator_id: 7,
        at: 1_718_452_800_000,
        application: Some([0x44; 16]),
        journey_type: Some(JourneyType::Short),
        segment: None,
        rows: 1,
        uuids: vec![],
    }
}

/// A standardized import of two rows in the audit journal (format 4).
fn audit_standardized() -> AuditRecord {
    AuditRecord {
        action: AuditAction::StandardizedImported,
        operator_id: 8,
        at: 1_718_452_800_001,
        application: None,
        journey_type: None,
        segment: None,
        rows: 2,
        uuids: vec![[0x45; 16], KEPT_V7],
    }
}

/// A specific import (one segment of two rows) in the audit journal (format 4).
pub(super) fn audit_imported() -> AuditRecord {
    AuditRecord {
        action: AuditAction::Imported,
        operator_id: 7,
        at: 1_718_452_800_000,
        application: None,
        journey_type: None,
        segment: Some(3),
        rows: 2,
        uuids: vec![],
    }
}

pub(super) fn index_entry() -> IndexEntry {
    IndexEntry {
        id_kind: IdKind::License,
        pseudonym: Pseudonym([0x22; 16]),
        journey_type: JourneyType::Short,
        datetime: 1_717_236_000_000,
        app: [0x44; 16],
        app_kind: AppKind::Standardized,
        operator: 7,
    }
}

pub(super) fn segment() -> Segment {
    Segment {
        id: 3,
        operator: 7,
        created_at: 1_718_452_800_000,
        rows: vec![
            SegmentRow {
                journey_type: JourneyType::Long,
                datetime: 1_640_995_200_000,
                name_phone: [0x55; 16],
            },
            SegmentRow {
                journey_type: JourneyType::Short,
                datetime: -1,
                name_phone: [0x66; 16],
            },
        ],
    }
}

/// The uuid mask of the golden segment: the one secret `[5; 32]` derives for its instant.
fn mask() -> UuidMask {
    let instant = UuidMask::instant(segment().created_at);
    UuidMask::new(Keys::new(&[5; 32]).uuid_mask(instant))
}

/// Every (name → bytes) of the format, from the fixed inputs above.
fn encoded() -> BTreeMap<&'static str, Vec<u8>> {
    let e = index_entry();
    let s = segment();
    BTreeMap::from([
        ("meta_format_key", keys::META_FORMAT.to_vec()),
        ("meta_format_value", vec![keys::FORMAT_VERSION]),
        ("meta_keycheck_key", keys::META_KEYCHECK.to_vec()),
        ("index_key", e.key().to_vec()),
        ("index_value", e.value().to_vec()),
        ("app_key", keys::app_key(&[0x44; 16]).to_vec()),
        ("app_value", codec::encode(&app())),
        ("override_key", keys::app_key(&s.uuid(1, &mask())).to_vec()),
        ("journey_key", keys::journey_key(7, "journey-1")),
        ("journey_value", codec::encode(&journey())),
        (
            "journal_key",
            keys::journal_key(1_718_452_800_000, 9).to_vec(),
        ),
        ("journal_value", codec::encode(&journal())),
        ("segment_key", segment::key(s.id).to_vec()),
        ("segment_value", s.encode()),
        ("segment_row_1_uuid", s.uuid(1, &mask()).to_vec()),
        ("uuid_mask_secret_5", mask().bits().to_be_bytes().to_vec()),
        ("past_app_key_v4", keys::app_key(&[0x45; 16]).to_vec()),
        ("past_app_key_v7", keys::app_key(&KEPT_V7).to_vec()),
        ("past_app_value", codec::encode(&past_app())),
        ("audit_key", keys::audit_key(1_718_452_800_000, 10).to_vec()),
        ("audit_value_registered", codec::encode(&audit_registered())),
        ("audit_value_imported", codec::encode(&audit_imported())),
        (
            "audit_value_standardized",
            codec::encode(&audit_standardized()),
        ),
    ])
}

/// The entries format 4 added (absent from the older fixtures).
const NEW_IN_4: [&str; 4] = [
    "audit_key",
    "audit_value_registered",
    "audit_value_imported",
    "audit_value_standardized",
];

/// The entries of format 2 that format 3 encodes differently (the version, and application
/// records now carry `past`): checked in the decoding direction only.
const CHANGED_SINCE_2: [&str; 2] = ["meta_format_value", "app_value"];

fn fixture_at(path: &str) -> BTreeMap<String, Vec<u8>> {
    let text = std::fs::read_to_string(path).expect("tests/fixtures/format-N.hex");
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (name, bytes) = l.split_once(' ').expect("`name hex` lines");
            (name.to_owned(), unhex(bytes.trim()))
        })
        .collect()
}

fn fixture() -> BTreeMap<String, Vec<u8>> {
    fixture_at(FIXTURE)
}

#[test]
fn encoding_matches_the_committed_bytes() {
    let now = encoded();
    if std::env::var_os("CEE_WRITE_FIXTURES").is_some() {
        let mut out =
            String::from("# On-disk format 4, written by src/store/golden.rs. Do not edit.\n");
        for (name, bytes) in &now {
            out.push_str(&format!("{name} {}\n", hex(bytes)));
        }
        std::fs::write(FIXTURE, out).expect("write fixture");
    }
    let committed = fixture();
    assert_eq!(committed.len(), now.len(), "fixture entries");
    for (name, bytes) in &now {
        assert_eq!(
            committed.get(*name).map(|b| hex(b)),
            Some(hex(bytes)),
            "{name}: the layout changed"
        );
    }
}

#[test]
fn committed_bytes_decode_to_the_same_values() {
    let f = fixture();
    let get = |name: &str| f.get(name).cloned().expect(name);
    assert_eq!(
        IndexEntry::decode(&get("index_key"), &get("index_value")),
        Some(index_entry())
    );
    let what = || "fixture".to_owned();
    assert_eq!(
        codec::decode::<AppRecord>(&get("app_value"), what).ok(),
        Some(app())
    );
    assert_eq!(
        codec::decode::<JourneyRecord>(&get("journey_value"), what).ok(),
        Some(journey())
    );
    assert_eq!(
        codec::decode::<JournalRecord>(&get("journal_value"), what).ok(),
        Some(journal())
    );
    let s = Segment::decode(&get("segment_key"), &get("segment_value"));
    assert_eq!(s, Ok(segment()));
    let uuid: [u8; 16] = get("segment_row_1_uuid").try_into().expect("16 bytes");
    assert_eq!(
        segment::names_row(&segment(), &uuid, &mask()),
        Some(segment().rows[1])
    );
    assert_eq!(get("override_key")[0], keys::OVERRIDE);
    assert_eq!(get("app_key")[0], keys::APP);
    assert_eq!(get("meta_format_value"), [4]);
    assert_eq!(
        codec::decode::<AppRecord>(&get("past_app_value"), what).ok(),
        Some(past_app())
    );
    assert_eq!(get("past_app_value")[0], 2, "application record version");
    assert_eq!(get("past_app_key_v4")[0], keys::APP);
    assert_eq!(get("past_app_key_v7")[0], keys::OVERRIDE);
    assert_eq!(
        keys::audit_id(&get("audit_key")),
        Some((1_718_452_800_000, 10))
    );
    assert_eq!(get("audit_key")[0], keys::AUDIT);
    for (name, record) in [
        ("audit_value_registered", audit_registered()),
        ("audit_value_imported", audit_imported()),
        ("audit_value_standardized", audit_standardized()),
    ] {
        assert_eq!(get(name)[0], 1, "{name}: record version");
        assert_eq!(
            codec::decode::<AuditRecord>(&get(name), what).ok(),
            Some(record),
            "{name}"
        );
    }
}

/// Format 3's committed bytes: every family but the version byte encodes to them unchanged
/// (format 4 only added the audit family), and every value still decodes.
#[test]
fn format_3_bytes_still_decode_and_unchanged_families_encode_alike() {
    let f = fixture_at(FIXTURE_3);
    let now = encoded();
    assert_eq!(f.len(), now.len() - NEW_IN_4.len());
    for (name, bytes) in &f {
        if name == "meta_format_value" {
            continue;
        }
        assert_eq!(
            now.get(name.as_str()).map(|b| hex(b)),
            Some(hex(bytes)),
            "{name}: format 4 changed a format-3 family"
        );
    }
    let get = |name: &str| f.get(name).cloned().expect(name);
    assert_eq!(get("meta_format_value"), [3]);
    let what = || "fixture".to_owned();
    assert_eq!(
        codec::decode::<AppRecord>(&get("app_value"), what).ok(),
        Some(app())
    );
    assert_eq!(
        codec::decode::<AppRecord>(&get("past_app_value"), what).ok(),
        Some(past_app())
    );
    assert_eq!(
        codec::decode::<JourneyRecord>(&get("journey_value"), what).ok(),
        Some(journey())
    );
    assert_eq!(
        codec::decode::<JournalRecord>(&get("journal_value"), what).ok(),
        Some(journal())
    );
    assert_eq!(
        IndexEntry::decode(&get("index_key"), &get("index_value")),
        Some(index_entry())
    );
    assert_eq!(
        Segment::decode(&get("segment_key"), &get("segment_value")),
        Ok(segment())
    );
}

/// Format 2's committed bytes: what formats 3 and 4 did not change still encodes to them, and
/// every value still decodes (an application record of version 1 with `past: None`).
#[test]
fn format_2_bytes_still_decode_and_unchanged_families_encode_alike() {
    let f = fixture_at(FIXTURE_2);
    let now = encoded();
    let mut compared = 0;
    for (name, bytes) in &f {
        if CHANGED_SINCE_2.contains(&name.as_str()) {
            continue;
        }
        assert_eq!(
            now.get(name.as_str()).map(|b| hex(b)),
            Some(hex(bytes)),
            "{name}: a later format changed a format-2 family"
        );
        compared += 1;
    }
    assert_eq!(compared, f.len() - CHANGED_SINCE_2.len());
    let get = |name: &str| f.get(name).cloned().expect(name);
    assert_eq!(get("meta_format_value"), [2]);
    assert_eq!(get("app_value")[0], 1, "application record version 1");
    assert_eq!(
        codec::decode::<AppRecord>(&get("app_value"), || "fixture".to_owned()).ok(),
        Some(app())
    );
    assert_ne!(codec::encode(&app()), get("app_value"));
}
