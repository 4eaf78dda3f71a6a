//! Record codec: `[format version byte][bincode 2 standard encoding]`, decoded from slices
//! with a size limit. The only place that says `bincode::` — swap it here if needed.

use bincode::{Decode, Encode};

use crate::error::Error;

/// Version byte written in front of every record.
pub(crate) const RECORD_VERSION: u8 = 1;
/// No record is larger than this (journeys with 20 incentives are < 4 KiB).
const LIMIT: usize = 64 * 1024;

fn config() -> impl bincode::config::Config {
    bincode::config::standard().with_limit::<LIMIT>()
}

/// Encodes a record with its version byte.
pub(crate) fn encode<T: Encode>(value: &T) -> Vec<u8> {
    let mut out = vec![RECORD_VERSION];
    // Encoding into a Vec only fails past the limit, which no record reaches; an error here
    // would be a bug, surfaced as an empty (and therefore corrupt-on-read) body.
    if let Ok(body) = bincode::encode_to_vec(value, config()) {
        out.extend_from_slice(&body);
    }
    out
}

/// Decodes a record; `what` names it in the error (never an identifier).
pub(crate) fn decode<T: Decode<()>>(
    bytes: &[u8],
    what: impl FnOnce() -> String,
) -> Result<T, Error> {
    let corrupt = |reason: String| Error::Corrupt {
        record: what(),
        reason,
    };
    match bytes.split_first() {
        None => Err(corrupt("empty value".into())),
        Some((&RECORD_VERSION, body)) => {
            if body.len() > LIMIT {
                return Err(corrupt(format!(
                    "{} bytes exceeds the record size limit",
                    body.len()
                )));
            }
            match bincode::decode_from_slice::<T, _>(body, config()) {
                Ok((v, n)) if n == body.len() => Ok(v),
                Ok((_, n)) => Err(corrupt(format!("{} trailing bytes", body.len() - n))),
                Err(e) => Err(corrupt(e.to_string())),
            }
        }
        Some((v, _)) => Err(corrupt(format!("unknown record version {v}"))),
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

    #[test]
    fn round_trip_and_corruption() {
        let bytes = encode(&sample());
        assert_eq!(
            decode::<JournalRecord>(&bytes, || "x".into()).ok(),
            Some(sample())
        );
        let mut unknown = bytes.clone();
        unknown[0] = 9;
        assert!(matches!(
            decode::<JournalRecord>(&unknown, || "x".into()),
            Err(Error::Corrupt { .. })
        ));
        for cut in 0..bytes.len() {
            assert!(decode::<JournalRecord>(&bytes[..cut], || "x".into()).is_err());
        }
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert!(decode::<JournalRecord>(&trailing, || "x".into()).is_err());
    }
}

/// Decodes `bytes` as every record type; for the record-decoder fuzz target. Never panics.
#[cfg(feature = "arbitrary")]
pub(crate) fn fuzz_decode_all(bytes: &[u8]) {
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
