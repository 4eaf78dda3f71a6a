//! Record codec: `[format version byte][bincode 2 standard encoding]`, decoded from slices
//! with a size limit. The only place that says `bincode::` — swap it here if needed.
//!
//! The bytes are those of private *wire* structs (one-byte codes, as format 2 writes them);
//! the records the rest of the crate sees (`records.rs`) are typed, and each enum has its own
//! stable on-disk code here (never an array position).

use bincode::{Decode, Encode};

use crate::error::Error;
use crate::fields::{JourneyStatus, JourneyType, OperatorClass, OperatorJourneyId, Timestamp};
use crate::store::decode_error::DecodeError;
use crate::store::keys::{app_kind_code, app_kind_from_code, check4, jt_byte, jt_from_byte};
use crate::store::records::{
    AppKind, AppRecord, AuditAction, AuditRecord, JournalKind, JournalRecord, JourneyRecord,
    PastApplication, PointRecord,
};

/// Version byte written in front of journey, journal and audit records (formats 2 to 4), and of
/// application records in format 2.
pub(crate) const RECORD_VERSION: u8 = 1;
/// Version byte written in front of application records since format 3 ([`AppRecord`] with
/// `past`); version 1 (format 2) application records still decode, with `past: None`.
pub(crate) const APP_RECORD_VERSION: u8 = 2;
/// No record is larger than this (journeys with 20 incentives are < 4 KiB; the largest audit
/// entry, a standardized import of 1000 rows, holds 1000 uuids: about 16 KiB).
const LIMIT: usize = 64 * 1024;

/// Most uuids an audit entry holds: one import call's rows (`engine::MAX_IMPORT_ROWS`).
const MAX_AUDIT_UUIDS: usize = 1000;

fn config() -> impl bincode::config::Config {
    bincode::config::standard().with_limit::<LIMIT>()
}

/// A record with a wire form.
pub(crate) trait Record: Sized {
    /// The bincode-encoded form.
    type Wire: Encode + Decode<()>;
    /// The wire form of `self`.
    fn to_wire(&self) -> Self::Wire;
    /// The record a decoded wire form holds, when every field is in range.
    fn from_wire(w: Self::Wire) -> Result<Self, DecodeError>;
    /// The version byte written in front of the body.
    const VERSION: u8 = RECORD_VERSION;
    /// The wire form of an older version `v`'s body; `None` when `v` is not one.
    fn decode_older(_v: u8, _body: &[u8]) -> Option<Result<Self::Wire, DecodeError>> {
        None
    }
}

/// Encodes a record: `[version][bincode body][check ×4 over version and body]`.
pub(crate) fn encode<T: Record>(value: &T) -> Vec<u8> {
    encode_wire(T::VERSION, &value.to_wire())
}

fn encode_wire<W: Encode>(version: u8, wire: &W) -> Vec<u8> {
    let mut out = vec![version];
    // Encoding into a Vec only fails past the limit, which no record reaches; an error here
    // would be a bug, surfaced as an empty (and therefore corrupt-on-read) body.
    if let Ok(body) = bincode::encode_to_vec(wire, config()) {
        out.extend_from_slice(&body);
    }
    let check = check4(&[&out]);
    out.extend_from_slice(&check);
    out
}

/// Decodes and validates a record; `what` names it in the error (never an identifier).
pub(crate) fn decode<T: Record>(bytes: &[u8], what: impl FnOnce() -> String) -> Result<T, Error> {
    decode_bytes(bytes).map_err(|e| e.corrupt(what()))
}

fn decode_bytes<T: Record>(bytes: &[u8]) -> Result<T, DecodeError> {
    let Some((payload, check)) = bytes.len().checked_sub(4).map(|n| bytes.split_at(n)) else {
        return Err(DecodeError::TooShort(bytes.len()));
    };
    if check != check4(&[payload]) {
        return Err(DecodeError::Checksum);
    }
    let Some((&version, body)) = payload.split_first() else {
        return Err(DecodeError::Empty);
    };
    if body.len() > LIMIT {
        return Err(DecodeError::TooLarge(body.len()));
    }
    let wire = if version == T::VERSION {
        decode_body::<T::Wire>(body)?
    } else {
        match T::decode_older(version, body) {
            Some(w) => w?,
            None => {
                return Err(DecodeError::Version {
                    what: "record",
                    found: version,
                })
            }
        }
    };
    T::from_wire(wire)
}

/// The wire struct `body` holds, all of it.
fn decode_body<W: Decode<()>>(body: &[u8]) -> Result<W, DecodeError> {
    match bincode::decode_from_slice::<W, _>(body, config()) {
        Ok((w, n)) if n == body.len() => Ok(w),
        Ok((_, n)) => Err(DecodeError::Trailing(body.len() - n)),
        Err(e) => Err(DecodeError::Body(e.to_string())),
    }
}

/// Is `ms` a representable instant (years 0000–9999)?
fn instant(ms: i64, field: &'static str) -> Result<i64, DecodeError> {
    Timestamp::from_millis(ms)
        .map(|_| ms)
        .ok_or(DecodeError::OutOfRange(field))
}

fn journey_id_text(ojid: String) -> Result<String, DecodeError> {
    ojid.parse::<OperatorJourneyId>()
        .map(|_| ojid)
        .map_err(|_| DecodeError::JourneyId)
}

fn code<T>(field: &'static str, value: u8, f: impl Fn(u8) -> Option<T>) -> Result<T, DecodeError> {
    f(value).ok_or(DecodeError::Code { field, value })
}

/// On-disk code of a journey status (format 2: the order the statuses were first listed in).
pub(crate) fn status_code(s: JourneyStatus) -> u8 {
    match s {
        JourneyStatus::Pending => 0,
        JourneyStatus::Ok => 1,
        JourneyStatus::AcquisitionError => 2,
        JourneyStatus::FraudError => 3,
        JourneyStatus::AnomalyError => 4,
        JourneyStatus::Canceled => 5,
        JourneyStatus::TermsViolationError => 6,
    }
}

pub(crate) fn status_from_code(b: u8) -> Option<JourneyStatus> {
    Some(match b {
        0 => JourneyStatus::Pending,
        1 => JourneyStatus::Ok,
        2 => JourneyStatus::AcquisitionError,
        3 => JourneyStatus::FraudError,
        4 => JourneyStatus::AnomalyError,
        5 => JourneyStatus::Canceled,
        6 => JourneyStatus::TermsViolationError,
        _ => return None,
    })
}

fn class_code(c: OperatorClass) -> u8 {
    match c {
        OperatorClass::A => 0,
        OperatorClass::B => 1,
        OperatorClass::C => 2,
    }
}

fn class_from_code(b: u8) -> Option<OperatorClass> {
    match b {
        0 => Some(OperatorClass::A),
        1 => Some(OperatorClass::B),
        2 => Some(OperatorClass::C),
        _ => None,
    }
}

fn journal_code(k: JournalKind) -> u8 {
    match k {
        JournalKind::Date => 0,
        JournalKind::NotFound => 1,
        JournalKind::Conflict => 2,
    }
}

fn journal_from_code(b: u8) -> Option<JournalKind> {
    match b {
        0 => Some(JournalKind::Date),
        1 => Some(JournalKind::NotFound),
        2 => Some(JournalKind::Conflict),
        _ => None,
    }
}

/// An application record as format 3 writes it (record version 2).
#[derive(Debug, Clone, PartialEq, Encode, Decode)]
pub(crate) struct AppWire {
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
    /// A past standardized application imported from the decommissioned registry (SPEC §11.2).
    past: Option<PastWire>,
}

/// What a past application keeps beyond the other fields.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub(crate) struct PastWire {
    operator_journey_id: Option<String>,
}

/// An application record as format 2 wrote it (record version 1): [`AppWire`] without
/// `past`. Decoded, never written.
#[derive(Debug, Clone, PartialEq, Decode)]
struct AppWireV1 {
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
}

impl From<AppWireV1> for AppWire {
    fn from(r: AppWireV1) -> Self {
        AppWire {
            kind: r.kind,
            journey_type: r.journey_type,
            operator_id: r.operator_id,
            datetime: r.datetime,
            created_at: r.created_at,
            application_timestamp: r.application_timestamp,
            journey: r.journey,
            token: r.token,
            deleted_at: r.deleted_at,
            name_phone: r.name_phone,
            license: r.license,
            identity_key: r.identity_key,
            past: None,
        }
    }
}

impl Record for AppRecord {
    type Wire = AppWire;
    const VERSION: u8 = APP_RECORD_VERSION;

    fn decode_older(v: u8, body: &[u8]) -> Option<Result<AppWire, DecodeError>> {
        (v == RECORD_VERSION).then(|| decode_body::<AppWireV1>(body).map(AppWire::from))
    }

    fn to_wire(&self) -> AppWire {
        AppWire {
            kind: app_kind_code(self.kind),
            journey_type: jt_byte(self.journey_type),
            operator_id: self.operator_id,
            datetime: self.datetime,
            created_at: self.created_at,
            application_timestamp: self.application_timestamp,
            journey: self.journey.clone(),
            token: self.token.clone(),
            deleted_at: self.deleted_at,
            name_phone: self.name_phone,
            license: self.license,
            identity_key: self.identity_key,
            past: self.past.as_ref().map(|p| PastWire {
                operator_journey_id: p.operator_journey_id.clone(),
            }),
        }
    }

    fn from_wire(w: AppWire) -> Result<Self, DecodeError> {
        for t in [w.application_timestamp, w.deleted_at]
            .into_iter()
            .flatten()
        {
            instant(t, "timestamp")?;
        }
        let kind = code("kind", w.kind, app_kind_from_code)?;
        let journey_type = code("journey type", w.journey_type, jt_from_byte)?;
        let past = match w.past {
            None => None,
            Some(_) if kind != AppKind::Standardized || w.journey.is_some() => {
                return Err(DecodeError::Past(
                    "of another kind than standardized or with a journey",
                ))
            }
            Some(PastWire {
                operator_journey_id: Some(ojid),
            }) if journey_type == JourneyType::Short => Some(PastApplication {
                operator_journey_id: Some(journey_id_text(ojid)?),
            }),
            Some(PastWire {
                operator_journey_id: Some(_),
            }) => return Err(DecodeError::Past("long with an operator_journey_id")),
            Some(PastWire {
                operator_journey_id: None,
            }) => Some(PastApplication {
                operator_journey_id: None,
            }),
        };
        Ok(AppRecord {
            kind,
            journey_type,
            operator_id: w.operator_id,
            datetime: instant(w.datetime, "datetime")?,
            created_at: instant(w.created_at, "created_at")?,
            application_timestamp: w.application_timestamp,
            journey: match w.journey {
                Some((id, ojid)) => Some((id, journey_id_text(ojid)?)),
                None => None,
            },
            token: w.token,
            deleted_at: w.deleted_at,
            name_phone: w.name_phone,
            license: w.license,
            identity_key: w.identity_key,
            past,
        })
    }
}

/// A journey point as format 2 writes it.
#[derive(Debug, Clone, PartialEq, Encode, Decode)]
pub(crate) struct PointWire {
    datetime: i64,
    lat: f64,
    lon: f64,
    geo_code: Option<String>,
}

fn point_wire(p: &PointRecord) -> PointWire {
    PointWire {
        datetime: p.datetime,
        lat: p.lat,
        lon: p.lon,
        geo_code: p.geo_code.clone(),
    }
}

fn point_record(p: PointWire) -> Result<PointRecord, DecodeError> {
    if !(p.lat.is_finite() && (-90.0..=90.0).contains(&p.lat)) {
        return Err(DecodeError::OutOfRange("latitude"));
    }
    if !(p.lon.is_finite() && (-180.0..=180.0).contains(&p.lon)) {
        return Err(DecodeError::OutOfRange("longitude"));
    }
    Ok(PointRecord {
        datetime: instant(p.datetime, "point datetime")?,
        lat: p.lat,
        lon: p.lon,
        geo_code: p.geo_code,
    })
}

/// A journey as format 2 writes it.
#[derive(Debug, Clone, PartialEq, Encode, Decode)]
pub(crate) struct JourneyWire {
    id: u64,
    operator_journey_id: String,
    operator_trip_id: Option<String>,
    operator_class: u8,
    start: PointWire,
    end: PointWire,
    distance: u32,
    incentives: Vec<(u8, f64, String)>,
    driver_phone_sealed: Option<Vec<u8>>,
    driver_identity_key: Option<[u8; 16]>,
    status: u8,
    application: Option<[u8; 16]>,
    created_at: i64,
    updated_at: i64,
}

impl Record for JourneyRecord {
    type Wire = JourneyWire;

    fn to_wire(&self) -> JourneyWire {
        JourneyWire {
            id: self.id,
            operator_journey_id: self.operator_journey_id.clone(),
            operator_trip_id: self.operator_trip_id.clone(),
            operator_class: class_code(self.operator_class),
            start: point_wire(&self.start),
            end: point_wire(&self.end),
            distance: self.distance,
            incentives: self.incentives.clone(),
            driver_phone_sealed: self.driver_phone_sealed.clone(),
            driver_identity_key: self.driver_identity_key,
            status: status_code(self.status),
            application: self.application,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }

    fn from_wire(w: JourneyWire) -> Result<Self, DecodeError> {
        if w.distance > 1_000_000 {
            return Err(DecodeError::OutOfRange("distance"));
        }
        Ok(JourneyRecord {
            id: w.id,
            operator_journey_id: journey_id_text(w.operator_journey_id)?,
            operator_trip_id: w.operator_trip_id,
            operator_class: code("operator class", w.operator_class, class_from_code)?,
            start: point_record(w.start)?,
            end: point_record(w.end)?,
            distance: w.distance,
            incentives: w.incentives,
            driver_phone_sealed: w.driver_phone_sealed,
            driver_identity_key: w.driver_identity_key,
            status: code("status", w.status, status_from_code)?,
            application: w.application,
            created_at: instant(w.created_at, "created_at")?,
            updated_at: instant(w.updated_at, "updated_at")?,
        })
    }
}

/// An error journal entry as format 2 writes it.
#[derive(Debug, Clone, PartialEq, Encode, Decode)]
pub(crate) struct JournalWire {
    kind: u8,
    operator_id: u32,
    journey_type: u8,
    at: i64,
    application: Option<[u8; 16]>,
}

impl Record for JournalRecord {
    type Wire = JournalWire;

    fn to_wire(&self) -> JournalWire {
        JournalWire {
            kind: journal_code(self.kind),
            operator_id: self.operator_id,
            journey_type: jt_byte(self.journey_type),
            at: self.at,
            application: self.application,
        }
    }

    fn from_wire(w: JournalWire) -> Result<Self, DecodeError> {
        Ok(JournalRecord {
            kind: code("kind", w.kind, journal_from_code)?,
            operator_id: w.operator_id,
            journey_type: code("journey type", w.journey_type, jt_from_byte)?,
            at: instant(w.at, "time")?,
            application: w.application,
        })
    }
}

/// On-disk code of an audit action (format 4).
pub(crate) fn audit_code(a: AuditAction) -> u8 {
    match a {
        AuditAction::Registered => 0,
        AuditAction::Deleted => 1,
        AuditAction::Imported => 2,
        AuditAction::IdentityImported => 3,
        AuditAction::StandardizedImported => 4,
    }
}

pub(crate) fn audit_from_code(b: u8) -> Option<AuditAction> {
    Some(match b {
        0 => AuditAction::Registered,
        1 => AuditAction::Deleted,
        2 => AuditAction::Imported,
        3 => AuditAction::IdentityImported,
        4 => AuditAction::StandardizedImported,
        _ => return None,
    })
}

/// An audit journal entry as format 4 writes it (record version 1).
#[derive(Debug, Clone, PartialEq, Encode, Decode)]
pub(crate) struct AuditWire {
    action: u8,
    operator_id: u32,
    at: i64,
    application: Option<[u8; 16]>,
    journey_type: Option<u8>,
    segment: Option<u64>,
    rows: u32,
    uuids: Vec<[u8; 16]>,
}

impl Record for AuditRecord {
    type Wire = AuditWire;

    fn to_wire(&self) -> AuditWire {
        AuditWire {
            action: audit_code(self.action),
            operator_id: self.operator_id,
            at: self.at,
            application: self.application,
            journey_type: self.journey_type.map(jt_byte),
            segment: self.segment,
            rows: self.rows,
            uuids: self.uuids.clone(),
        }
    }

    fn from_wire(w: AuditWire) -> Result<Self, DecodeError> {
        let action = code("action", w.action, audit_from_code)?;
        let journey_type = match w.journey_type {
            Some(b) => Some(code("journey type", b, jt_from_byte)?),
            None => None,
        };
        // What each action carries, and nothing else.
        let one_application = w.application.is_some()
            && journey_type.is_some()
            && w.segment.is_none()
            && w.rows == 1
            && w.uuids.is_empty();
        let rows = usize::try_from(w.rows).unwrap_or(usize::MAX);
        let many = w.application.is_none()
            && journey_type.is_none()
            && (1..=MAX_AUDIT_UUIDS).contains(&rows);
        let consistent = match action {
            AuditAction::Registered | AuditAction::Deleted => one_application,
            AuditAction::Imported => many && w.segment.is_some() && w.uuids.is_empty(),
            AuditAction::IdentityImported | AuditAction::StandardizedImported => {
                many && w.segment.is_none() && w.uuids.len() == rows
            }
        };
        if !consistent {
            return Err(DecodeError::OutOfRange("audit entry fields"));
        }
        Ok(AuditRecord {
            action,
            operator_id: w.operator_id,
            at: instant(w.at, "time")?,
            application: w.application,
            journey_type,
            segment: w.segment,
            rows: w.rows,
            uuids: w.uuids,
        })
    }
}

/// Decodes `bytes` as every record type; for the record-decoder fuzz target. Never panics.
#[cfg(feature = "arbitrary")]
pub(crate) fn fuzz_decode_all(raw: &[u8]) {
    // Random bytes almost never carry a valid check: also decode them with one appended, so
    // the fuzzer reaches the bincode decoder and the field validation.
    let mut checked = raw.to_vec();
    checked.extend_from_slice(&check4(&[raw]));
    let bytes = &checked[..];
    let _ = decode::<AppRecord>(raw, || "fuzz".into());
    let _ = decode::<AppRecord>(bytes, || "fuzz".into());
    let _ = decode::<JourneyRecord>(bytes, || "fuzz".into());
    let _ = decode::<JournalRecord>(bytes, || "fuzz".into());
    if let Ok(r) = decode::<AuditRecord>(bytes, || "fuzz".into()) {
        assert_eq!(
            decode::<AuditRecord>(&encode(&r), || "fuzz".into()).ok(),
            Some(r)
        );
    }
    if let Ok(r) = decode::<AppRecord>(bytes, || "fuzz".into()) {
        // Round trip: what decodes re-encodes to the same bytes.
        assert_eq!(
            decode::<AppRecord>(&encode(&r), || "fuzz".into()).ok(),
            Some(r)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::fields::JourneyType;

    fn sample() -> JournalRecord {
        JournalRecord {
            kind: JournalKind::Conflict,
            operator_id: 7,
            journey_type: JourneyType::Long,
            at: 123,
            application: Some([1; 16]),
        }
    }

    fn past() -> AppRecord {
        AppRecord {
            kind: AppKind::Standardized,
            journey_type: JourneyType::Short,
            operator_id: 3,
            datetime: 1_700_000_000_000,
            created_at: 1_700_000_000_000,
            application_timestamp: Some(1_699_000_000_000),
            journey: None,
            token: Some("kept".into()),
            deleted_at: None,
            name_phone: [1; 16],
            license: Some([2; 16]),
            identity_key: None,
            past: Some(PastApplication {
                operator_journey_id: Some("j-1".into()),
            }),
        }
    }

    /// A past application is standardized, without a journey record, and only a short one
    /// carries a valid `operator_journey_id`; a version-1 record decodes with `past: None`.
    #[test]
    fn past_applications_are_validated() {
        let ok = past();
        assert_eq!(
            decode::<AppRecord>(&encode(&ok), || "x".into()).ok(),
            Some(ok)
        );
        let bad = [
            AppRecord {
                kind: AppKind::Specific,
                ..past()
            },
            AppRecord {
                journey: Some((4, "j-1".into())),
                ..past()
            },
            AppRecord {
                journey_type: JourneyType::Long,
                ..past()
            },
            AppRecord {
                past: Some(PastApplication {
                    operator_journey_id: Some("a b".into()),
                }),
                ..past()
            },
        ];
        for r in bad {
            let err = decode::<AppRecord>(&encode(&r), || "application".into());
            assert!(matches!(err, Err(Error::Corrupt { .. })), "{r:?}");
        }
        let v1 = AppRecord {
            past: None,
            ..past()
        };
        let mut bytes = vec![RECORD_VERSION];
        let body = bincode::encode_to_vec(v1.to_wire(), config()).expect("encodes");
        // Version 1 is the version-2 body without its last field (`past: None` is one 0 byte).
        assert_eq!(body.last(), Some(&0));
        bytes.extend_from_slice(&body[..body.len() - 1]);
        let check = check4(&[&bytes]);
        bytes.extend_from_slice(&check);
        assert_eq!(decode::<AppRecord>(&bytes, || "x".into()).ok(), Some(v1));
    }

    fn audit(action: AuditAction) -> AuditRecord {
        let one = matches!(action, AuditAction::Registered | AuditAction::Deleted);
        let listed = matches!(
            action,
            AuditAction::IdentityImported | AuditAction::StandardizedImported
        );
        AuditRecord {
            action,
            operator_id: 9,
            at: 1_700_000_000_000,
            application: one.then_some([3; 16]),
            journey_type: one.then_some(JourneyType::Short),
            segment: (action == AuditAction::Imported).then_some(12),
            rows: if listed { 2 } else { 1 },
            uuids: if listed {
                vec![[4; 16], [5; 16]]
            } else {
                vec![]
            },
        }
    }

    const ACTIONS: [AuditAction; 5] = [
        AuditAction::Registered,
        AuditAction::Deleted,
        AuditAction::Imported,
        AuditAction::IdentityImported,
        AuditAction::StandardizedImported,
    ];

    /// Every action round-trips with its own code; an entry whose fields do not fit its action
    /// (or an unknown code) is corrupt.
    #[test]
    fn audit_records_round_trip_and_are_validated() {
        for (i, a) in ACTIONS.into_iter().enumerate() {
            assert_eq!(usize::from(audit_code(a)), i);
            assert_eq!(audit_from_code(audit_code(a)), Some(a));
            let r = audit(a);
            assert_eq!(
                decode::<AuditRecord>(&encode(&r), || "x".into()).ok(),
                Some(r)
            );
        }
        assert_eq!(audit_from_code(5), None);
        let bad = [
            AuditRecord {
                application: None,
                ..audit(AuditAction::Registered)
            },
            AuditRecord {
                journey_type: None,
                ..audit(AuditAction::Deleted)
            },
            AuditRecord {
                segment: None,
                ..audit(AuditAction::Imported)
            },
            AuditRecord {
                rows: 0,
                ..audit(AuditAction::Imported)
            },
            AuditRecord {
                rows: 3,
                ..audit(AuditAction::StandardizedImported)
            },
            AuditRecord {
                segment: Some(1),
                ..audit(AuditAction::IdentityImported)
            },
            AuditRecord {
                uuids: vec![[1; 16]],
                ..audit(AuditAction::Registered)
            },
            AuditRecord {
                at: i64::MAX,
                ..audit(AuditAction::Imported)
            },
        ];
        for r in bad {
            let err = decode::<AuditRecord>(&encode(&r), || "audit".into());
            assert!(matches!(err, Err(Error::Corrupt { .. })), "{r:?}");
        }
        let unknown = AuditWire {
            action: 5,
            ..audit(AuditAction::Imported).to_wire()
        };
        let err = decode::<AuditRecord>(&encode_wire(RECORD_VERSION, &unknown), || "a".into());
        assert!(matches!(err, Err(Error::Corrupt { reason, .. }) if reason.contains("action")));
    }

    /// The largest audit entry (a standardized import of 1000 rows: 1000 uuids) fits under the
    /// record size limit, and one more uuid than a call can import is refused.
    #[test]
    fn the_largest_audit_entry_fits_the_limit() {
        let mut r = audit(AuditAction::StandardizedImported);
        r.uuids = (0..1000u32)
            .map(|i| {
                let mut u = [0xff; 16];
                u[..4].copy_from_slice(&i.to_be_bytes());
                u
            })
            .collect();
        r.rows = 1000;
        let bytes = encode(&r);
        assert!(
            bytes.len() > 16_000 && bytes.len() < LIMIT,
            "{}",
            bytes.len()
        );
        assert_eq!(
            decode::<AuditRecord>(&bytes, || "x".into()).ok(),
            Some(r.clone())
        );
        r.uuids.push([0xee; 16]);
        r.rows = 1001;
        assert!(decode::<AuditRecord>(&encode(&r), || "x".into()).is_err());
    }

    /// Format 2 stored a journey status as its position in `JourneyStatus::ALL`: the codes
    /// are that, written down, so that reordering the list cannot change the bytes.
    #[test]
    fn status_codes_are_format_2() {
        for (i, s) in JourneyStatus::ALL.into_iter().enumerate() {
            assert_eq!(usize::from(status_code(s)), i, "{s}");
            assert_eq!(status_from_code(status_code(s)), Some(s));
        }
        assert_eq!(status_from_code(7), None);
    }

    #[test]
    fn round_trip_and_corruption() {
        let bytes = encode(&sample());
        assert_eq!(
            decode::<JournalRecord>(&bytes, || "x".into()).ok(),
            Some(sample())
        );
        let mut unknown = bytes[..bytes.len() - 4].to_vec();
        unknown[0] = 9;
        let check = check4(&[&unknown]);
        unknown.extend_from_slice(&check);
        assert!(matches!(
            decode::<JournalRecord>(&unknown, || "x".into()),
            Err(Error::Corrupt { .. })
        ));
        for cut in 0..bytes.len() {
            assert!(decode::<JournalRecord>(&bytes[..cut], || "x".into()).is_err());
        }
        for i in 0..bytes.len() {
            let mut flipped = bytes.clone();
            flipped[i] ^= 0x04;
            assert!(
                decode::<JournalRecord>(&flipped, || "x".into()).is_err(),
                "byte {i}"
            );
        }
        let out_of_range = JournalWire {
            journey_type: 7,
            ..sample().to_wire()
        };
        let err = decode::<JournalRecord>(&encode_wire(RECORD_VERSION, &out_of_range), || {
            "journal".into()
        });
        assert!(
            matches!(err, Err(Error::Corrupt { reason, .. }) if reason.contains("journey type"))
        );
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert!(decode::<JournalRecord>(&trailing, || "x".into()).is_err());
    }
}
