//! Golden bytes of on-disk format 2: every key and value family encoded from fixed inputs and
//! compared with `tests/fixtures/format-2.hex`, and decoded back from those committed bytes.
//! A change of layout fails here; it must come with a new format version (and a new fixture
//! file, written with
//! `CEE_WRITE_FIXTURES=1 cargo test -p cee-eligibility --lib golden::encoding`).

use std::collections::BTreeMap;

use super::codec;
use super::imported_uuid::UuidMask;
use super::keys;
use super::records::{
    AppKind, AppRecord, IndexEntry, JournalKind, JournalRecord, JourneyRecord, PointRecord,
    Segment, SegmentRow,
};
use super::segment;
use crate::fields::{JourneyStatus, JourneyType, OperatorClass};
use crate::identity::{IdKind, Keys, Pseudonym};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/format-2.hex");

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex fixture"))
        .collect()
}

fn app() -> AppRecord {
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
    }
}

fn point(datetime: i64, lat: f64, lon: f64) -> PointRecord {
    PointRecord {
        datetime,
        lat,
        lon,
        geo_code: Some("75056".into()),
    }
}

fn journey() -> JourneyRecord {
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

fn journal() -> JournalRecord {
    JournalRecord {
        kind: JournalKind::Conflict,
        operator_id: 7,
        journey_type: JourneyType::Long,
        at: 1_718_452_800_000,
        application: Some([0x44; 16]),
    }
}

fn index_entry() -> IndexEntry {
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

fn segment() -> Segment {
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
    ])
}

fn fixture() -> BTreeMap<String, Vec<u8>> {
    let text = std::fs::read_to_string(FIXTURE).expect("tests/fixtures/format-2.hex");
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (name, bytes) = l.split_once(' ').expect("`name hex` lines");
            (name.to_owned(), unhex(bytes.trim()))
        })
        .collect()
}

#[test]
fn encoding_matches_the_committed_bytes() {
    let now = encoded();
    if std::env::var_os("CEE_WRITE_FIXTURES").is_some() {
        let mut out =
            String::from("# On-disk format 2, written by src/store/golden.rs. Do not edit.\n");
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
    assert_eq!(get("meta_format_value"), [2]);
}
