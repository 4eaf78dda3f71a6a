//! Record codec: `[format version byte][bincode 2 standard encoding]`, decoded from slices
//! with a size limit. The only place that says `bincode::` — swap it here if needed.

use bincode::{Decode, Encode};

use crate::error::Error;
use crate::fields::{OperatorJourneyId, Timestamp};
use crate::store::keys::check4;

/// Version byte written in front of journey and journal records (format 2 and 3).
pub(crate) const RECORD_VERSION: u8 = 1;
/// Version byte written in front of application records since format 3 ([`AppRecord`] with
/// `past`); version 1 (format 2) application records still decode, with `past: None`.
pub(crate) const APP_RECORD_VERSION: u8 = 2;
/// No record is larger than this (journeys with 20 incentives are < 4 KiB).
const LIMIT: usize = 64 * 1024;

fn config() -> impl bincode::config::Config {
    bincode::config::standard().with_limit::<LIMIT>()
}

/// Field ranges a decoded record must respect; a record outside them is corrupt.
pub(crate) trait Validate {
    /// `Err(what is wrong)` when a field is out of range.
    fn validate(&self) -> Result<(), String>;
}

/// A stored record type: the version byte this build writes, and how older versions decode.
pub(crate) trait Record: Encode + Decode<()> + Validate + Sized {
    /// The version byte written in front of the body.
    const VERSION: u8 = RECORD_VERSION;

    /// Decodes the bincode body of an older version `v`; `None` when `v` is not one.
    fn decode_older(_v: u8, _body: &[u8]) -> Option<Result<(Self, usize), String>> {
        None
    }
}

impl Record for JourneyRecord {}
impl Record for JournalRecord {}

impl Record for AppRecord {
    const VERSION: u8 = APP_RECORD_VERSION;

    fn decode_older(v: u8, body: &[u8]) -> Option<Result<(Self, usize), String>> {
        (v == RECORD_VERSION).then(|| {
            bincode::decode_from_slice::<AppRecordV1, _>(body, config())
                .map(|(r, n)| (r.into(), n))
                .map_err(|e| e.to_string())
        })
    }
}

/// Encodes a record: `[version][bincode body][check ×4 over version and body]`.
pub(crate) fn encode<T: Record>(value: &T) -> Vec<u8> {
    let mut out = vec![T::VERSION];
    // Encoding into a Vec only fails past the limit, which no record reaches; an error here
    // would be a bug, surfaced as an empty (and therefore corrupt-on-read) body.
    if let Ok(body) = bincode::encode_to_vec(value, config()) {
        out.extend_from_slice(&body);
    }
    let check = check4(&[&out]);
    out.extend_from_slice(&check);
    out
}

/// Decodes and validates a record; `what` names it in the error (never an identifier).
pub(crate) fn decode<T: Record>(bytes: &[u8], what: impl FnOnce() -> String) -> Result<T, Error> {
    let corrupt = |reason: String| Error::Corrupt {
        record: what(),
        reason,
    };
    let Some((payload, check)) = bytes.len().checked_sub(4).map(|n| bytes.split_at(n)) else {
        return Err(corrupt(format!(
            "{} bytes is too short for a record",
            bytes.len()
        )));
    };
    if check != check4(&[payload]) {
        return Err(corrupt("checksum mismatch (damaged bytes)".into()));
    }
    let Some((&version, body)) = payload.split_first() else {
        return Err(corrupt("empty value".into()));
    };
    if body.len() > LIMIT {
        return Err(corrupt(format!(
            "{} bytes exceeds the record size limit",
            body.len()
        )));
    }
    let decoded = if version == T::VERSION {
        bincode::decode_from_slice::<T, _>(body, config()).map_err(|e| e.to_string())
    } else {
        match T::decode_older(version, body) {
            Some(r) => r,
            None => return Err(corrupt(format!("unknown record version {version}"))),
        }
    };
    let v = match decoded {
        Ok((v, n)) if n == body.len() => v,
        Ok((_, n)) => return Err(corrupt(format!("{} trailing bytes", body.len() - n))),
        Err(e) => return Err(corrupt(e)),
    };
    v.validate().map_err(corrupt)?;
    Ok(v)
}

/// Is `ms` a representable instant (years 0000–9999)?
fn instant(ms: i64, field: &str) -> Result<(), String> {
    Timestamp::from_millis(ms)
        .map(|_| ())
        .ok_or_else(|| format!("{field} out of range"))
}

fn byte_below(b: u8, n: u8, field: &str) -> Result<(), String> {
    if b < n {
        Ok(())
    } else {
        Err(format!("{field} {b} out of range"))
    }
}

fn journey_id_text(ojid: &str) -> Result<(), String> {
    ojid.parse::<OperatorJourneyId>()
        .map(|_| ())
        .map_err(|_| "operator_journey_id invalid".into())
}

impl Validate for AppRecord {
    fn validate(&self) -> Result<(), String> {
        if !(1..=2).contains(&self.kind) {
            return Err(format!("kind {} out of range", self.kind));
        }
        byte_below(self.journey_type, 2, "journey type")?;
        instant(self.datetime, "datetime")?;
        instant(self.created_at, "created_at")?;
        for t in [self.application_timestamp, self.deleted_at]
            .into_iter()
            .flatten()
        {
            instant(t, "timestamp")?;
        }
        if let Some((_, ojid)) = &self.journey {
            journey_id_text(ojid)?;
        }
        match &self.past {
            None => Ok(()),
            Some(_) if self.kind != 2 || self.journey.is_some() => {
                Err("an imported standardized application of another kind or with a journey".into())
            }
            Some(PastApplication {
                operator_journey_id: Some(ojid),
            }) if self.journey_type == 0 => journey_id_text(ojid),
            Some(PastApplication {
                operator_journey_id: Some(_),
            }) => Err("a long imported application with an operator_journey_id".into()),
            Some(PastApplication {
                operator_journey_id: None,
            }) => Ok(()),
        }
    }
}

impl Validate for JourneyRecord {
    fn validate(&self) -> Result<(), String> {
        journey_id_text(&self.operator_journey_id)?;
        byte_below(self.operator_class, 3, "operator class")?;
        byte_below(self.status, 7, "status")?;
        for p in [&self.start, &self.end] {
            instant(p.datetime, "point datetime")?;
            if !(p.lat.is_finite() && (-90.0..=90.0).contains(&p.lat)) {
                return Err("latitude out of range".into());
            }
            if !(p.lon.is_finite() && (-180.0..=180.0).contains(&p.lon)) {
                return Err("longitude out of range".into());
            }
        }
        if self.distance > 1_000_000 {
            return Err("distance out of range".into());
        }
        instant(self.created_at, "created_at")?;
        instant(self.updated_at, "updated_at")
    }
}

impl Validate for JournalRecord {
    fn validate(&self) -> Result<(), String> {
        byte_below(self.kind, 3, "kind")?;
        byte_below(self.journey_type, 2, "journey type")?;
        instant(self.at, "time")
    }
}

/// A stored CEE application (specific or standardized).
#[derive(Debug, Clone, PartialEq, Encode, Decode)]
pub(crate) struct AppRecord {
    /// `AppKind` as u8.
    pub kind: u8,
    /// Journey type byte (0 short, 1 long).
    pub journey_type: u8,
    pub operator_id: u32,
    /// Operation date (UTC ms): import `datetime`, or `D` of the registration.
    pub datetime: i64,
    pub created_at: i64,
    pub application_timestamp: Option<i64>,
    /// Short registrations: the journey's internal id and operator_journey_id.
    pub journey: Option<(u64, String)>,
    pub token: Option<String>,
    pub deleted_at: Option<i64>,
    /// The name+phone pseudonym (import uniqueness, identity matching).
    pub name_phone: [u8; 16],
    /// The licence pseudonym, if any.
    pub license: Option<[u8; 16]>,
    /// The identity-key pseudonym, if any.
    pub identity_key: Option<[u8; 16]>,
    /// Record version 2 (format 3): a past standardized application imported from the
    /// decommissioned registry (SPEC §11.2) — its uuid and token are the ones it had there,
    /// it refers to no journey record here. `None` for every other application.
    pub past: Option<PastApplication>,
}

/// What an imported standardized application keeps beyond [`AppRecord`]'s fields.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub(crate) struct PastApplication {
    /// Short: the `operator_journey_id` it was sent with (no journey record is needed).
    pub operator_journey_id: Option<String>,
}

/// An application record as format 2 wrote it (record version 1): [`AppRecord`] without
/// `past`. Decoded, never written.
#[derive(Debug, Clone, PartialEq, Decode)]
struct AppRecordV1 {
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

impl From<AppRecordV1> for AppRecord {
    fn from(r: AppRecordV1) -> Self {
        AppRecord {
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

/// A journey point.
#[derive(Debug, Clone, PartialEq, Encode, Decode)]
pub(crate) struct PointRecord {
    pub datetime: i64,
    pub lat: f64,
    pub lon: f64,
    pub geo_code: Option<String>,
}

/// A stored journey.
#[derive(Debug, Clone, PartialEq, Encode, Decode)]
pub(crate) struct JourneyRecord {
    pub id: u64,
    pub operator_journey_id: String,
    pub operator_trip_id: Option<String>,
    pub operator_class: u8,
    pub start: PointRecord,
    pub end: PointRecord,
    pub distance: u32,
    /// (index, amount in cents, siret)
    pub incentives: Vec<(u8, f64, String)>,
    /// The driver's `phone_trunc`, sealed under a key derived from the secret.
    pub driver_phone_sealed: Option<Vec<u8>>,
    /// The driver's identity-key pseudonym.
    pub driver_identity_key: Option<[u8; 16]>,
    /// Index in `JourneyStatus::ALL`.
    pub status: u8,
    /// The CEE application that refers to this journey.
    pub application: Option<[u8; 16]>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// An error journal entry.
#[derive(Debug, Clone, PartialEq, Encode, Decode)]
pub(crate) struct JournalRecord {
    pub kind: u8,
    pub operator_id: u32,
    pub journey_type: u8,
    pub at: i64,
    pub application: Option<[u8; 16]>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> JournalRecord {
        JournalRecord {
            kind: 2,
            operator_id: 7,
            journey_type: 1,
            at: 123,
            application: Some([1; 16]),
        }
    }

    fn past() -> AppRecord {
        AppRecord {
            kind: 2,
            journey_type: 0,
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
            AppRecord { kind: 1, ..past() },
            AppRecord {
                journey: Some((4, "j-1".into())),
                ..past()
            },
            AppRecord {
                journey_type: 1,
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
        let body = bincode::encode_to_vec(&v1, config()).expect("encodes");
        // Version 1 is the version-2 body without its last field (`past: None` is one 0 byte).
        assert_eq!(body.last(), Some(&0));
        bytes.extend_from_slice(&body[..body.len() - 1]);
        let check = check4(&[&bytes]);
        bytes.extend_from_slice(&check);
        assert_eq!(decode::<AppRecord>(&bytes, || "x".into()).ok(), Some(v1));
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
        let out_of_range = JournalRecord {
            journey_type: 7,
            ..sample()
        };
        let err = decode::<JournalRecord>(&encode(&out_of_range), || "journal".into());
        assert!(
            matches!(err, Err(Error::Corrupt { reason, .. }) if reason.contains("journey type"))
        );
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert!(decode::<JournalRecord>(&trailing, || "x".into()).is_err());
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
    if let Ok(r) = decode::<AppRecord>(bytes, || "fuzz".into()) {
        // Round trip: what decodes re-encodes to the same bytes.
        assert_eq!(
            decode::<AppRecord>(&encode(&r), || "fuzz".into()).ok(),
            Some(r)
        );
    }
}
