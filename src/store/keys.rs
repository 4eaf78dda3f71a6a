//! Key encoding: the only place that knows the byte layout of keys (see DESIGN.md).
//!
//! Every key starts with a one-byte prefix naming its family. Integers are big-endian so that
//! sled's lexicographic order is numeric order; signed times are stored with the sign bit
//! flipped so that order is time order across the epoch.

use crate::fields::JourneyType;
use crate::identity::{IdKind, Pseudonym};
use crate::store::records::{AppKind, IndexEntry};

/// Database metadata (`format`, `keycheck`).
pub(crate) const META: u8 = 0x00;
/// Identity index entries.
pub(crate) const INDEX: u8 = 0x01;
/// Application records by uuid.
pub(crate) const APP: u8 = 0x02;
// 0x03 held import uniqueness keys in format 1; format 2 answers that from memory.
/// Journey records by (operator, operator_journey_id).
pub(crate) const JOURNEY: u8 = 0x04;
/// Error journal entries by time.
pub(crate) const JOURNAL: u8 = 0x05;
/// Import segments: the rows of one import call in one value (see `store::segment`).
pub(crate) const SEGMENT: u8 = 0x06;
/// Records of imported applications changed since import (identity key, deletion), by uuid;
/// each supersedes its segment row.
pub(crate) const OVERRIDE: u8 = 0x07;

/// Audit journal entries by time, in the journal's sequence space (format 4).
pub(crate) const AUDIT: u8 = 0x08;

/// The on-disk format this build writes (and reads; formats 2 and 3 are migrated on open).
pub(crate) const FORMAT_VERSION: u8 = 4;
pub(crate) const META_FORMAT: &[u8] = &[META, b'f', b'o', b'r', b'm', b'a', b't'];
pub(crate) const META_KEYCHECK: &[u8] = &[META, b'k', b'e', b'y', b'c', b'h', b'e', b'c', b'k'];

/// Length of an index key.
pub(crate) const INDEX_KEY_LEN: usize = 1 + 1 + 16 + 1 + 4 + 8 + 16;

pub(crate) fn jt_byte(jt: JourneyType) -> u8 {
    match jt {
        JourneyType::Short => 0,
        JourneyType::Long => 1,
    }
}

pub(crate) fn jt_from_byte(b: u8) -> Option<JourneyType> {
    match b {
        0 => Some(JourneyType::Short),
        1 => Some(JourneyType::Long),
        _ => None,
    }
}

fn time_bytes(ms: i64) -> [u8; 8] {
    // Flip the sign bit: two's complement order becomes unsigned order.
    ((ms as u64) ^ (1 << 63)).to_be_bytes()
}

fn time_from_bytes(b: [u8; 8]) -> i64 {
    (u64::from_be_bytes(b) ^ (1 << 63)) as i64
}

/// Retention bucket: calendar month index (`year * 12 + month0`) of a UTC instant, so that a
/// purge of everything older than a month is a single range deletion per identifier.
pub(crate) fn bucket(ms: i64) -> u32 {
    use chrono::Datelike;
    let d = chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default();
    u32::try_from(d.year().max(0)).unwrap_or(0) * 12 + d.month0()
}

/// On-disk code of an application kind.
pub(crate) fn app_kind_code(k: AppKind) -> u8 {
    match k {
        AppKind::Specific => 1,
        AppKind::Standardized => 2,
    }
}

pub(crate) fn app_kind_from_code(b: u8) -> Option<AppKind> {
    match b {
        1 => Some(AppKind::Specific),
        2 => Some(AppKind::Standardized),
        _ => None,
    }
}

impl IndexEntry {
    /// `[01][id kind][pseudonym ×16][journey_type][bucket u32 BE][datetime i64 BE^sign][uuid ×16]`
    pub(crate) fn key(&self) -> [u8; INDEX_KEY_LEN] {
        let mut k = [0u8; INDEX_KEY_LEN];
        k[0] = INDEX;
        k[1] = self.id_kind as u8;
        k[2..18].copy_from_slice(&self.pseudonym.0);
        k[18] = jt_byte(self.journey_type);
        k[19..23].copy_from_slice(&bucket(self.datetime).to_be_bytes());
        k[23..31].copy_from_slice(&time_bytes(self.datetime));
        k[31..47].copy_from_slice(&self.app);
        k
    }

    /// `[app kind][operator u32 BE][check ×4]`, the check covering key and value.
    pub(crate) fn value(&self) -> [u8; 9] {
        let mut v = [0u8; 9];
        v[0] = app_kind_code(self.app_kind);
        v[1..5].copy_from_slice(&self.operator.to_be_bytes());
        let check = check4(&[&self.key(), &v[..5]]);
        v[5..9].copy_from_slice(&check);
        v
    }

    /// Decodes a stored key/value pair; `None` if malformed or damaged.
    pub(crate) fn decode(key: &[u8], value: &[u8]) -> Option<Self> {
        let k: &[u8; INDEX_KEY_LEN] = key.try_into().ok()?;
        let v: &[u8; 9] = value.try_into().ok()?;
        if k[0] != INDEX || v[5..9] != check4(&[key, &v[..5]]) {
            return None;
        }
        let datetime = time_from_bytes(k[23..31].try_into().ok()?);
        let entry = IndexEntry {
            id_kind: IdKind::from_u8(k[1])?,
            pseudonym: Pseudonym(k[2..18].try_into().ok()?),
            journey_type: jt_from_byte(k[18])?,
            datetime,
            app: k[31..47].try_into().ok()?,
            app_kind: app_kind_from_code(v[0])?,
            operator: u32::from_be_bytes(v[1..5].try_into().ok()?),
        };
        // The bucket is derived: a mismatch means the key was corrupted.
        (k[19..23] == bucket(datetime).to_be_bytes()).then_some(entry)
    }
}

/// A 4-byte integrity check (BLAKE3, unkeyed) over the concatenated parts: catches flipped
/// or truncated bytes, not deliberate forgery (whoever can write the files can recompute it).
pub(crate) fn check4(parts: &[&[u8]]) -> [u8; 4] {
    let mut h = blake3::Hasher::new();
    for p in parts {
        h.update(p);
    }
    let mut out = [0u8; 4];
    out.copy_from_slice(&h.finalize().as_bytes()[..4]);
    out
}

/// `[02][uuid ×16]` for a registered application, `[07][uuid ×16]` for an imported one
/// (a UUIDv7, see `store::segment`) changed since its import.
pub(crate) fn app_key(uuid: &[u8; 16]) -> [u8; 17] {
    let mut k = [0u8; 17];
    k[0] = if super::imported_uuid::is_imported(uuid) {
        OVERRIDE
    } else {
        APP
    };
    k[1..].copy_from_slice(uuid);
    k
}

/// `[04][operator u32 BE][operator_journey_id bytes]`
pub(crate) fn journey_key(operator: u32, operator_journey_id: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(5 + operator_journey_id.len());
    k.push(JOURNEY);
    k.extend_from_slice(&operator.to_be_bytes());
    k.extend_from_slice(operator_journey_id.as_bytes());
    k
}

/// `[05][time i64 BE^sign][sequence u64 BE]`
pub(crate) fn journal_key(at: i64, seq: u64) -> [u8; 17] {
    timed_key(JOURNAL, at, seq)
}

/// `[08][time i64 BE^sign][sequence u64 BE]`: the error journal's layout, so that one
/// `(time, sequence)` orders the entries of both journals.
pub(crate) fn audit_key(at: i64, seq: u64) -> [u8; 17] {
    timed_key(AUDIT, at, seq)
}

fn timed_key(family: u8, at: i64, seq: u64) -> [u8; 17] {
    let mut k = [0u8; 17];
    k[0] = family;
    k[1..9].copy_from_slice(&time_bytes(at));
    k[9..17].copy_from_slice(&seq.to_be_bytes());
    k
}

/// The `(time, sequence)` of an error journal key; `None` when it is not one.
pub(crate) fn journal_id(k: &[u8]) -> Option<(i64, u64)> {
    timed_id(JOURNAL, k)
}

/// The `(time, sequence)` of an audit journal key; `None` when it is not one.
pub(crate) fn audit_id(k: &[u8]) -> Option<(i64, u64)> {
    timed_id(AUDIT, k)
}

fn timed_id(family: u8, k: &[u8]) -> Option<(i64, u64)> {
    match k {
        [f, rest @ ..] if *f == family && rest.len() == 16 => {
            let at = time_from_bytes(rest[..8].try_into().ok()?);
            Some((at, u64::from_be_bytes(rest[8..].try_into().ok()?)))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_order_is_byte_order() {
        let times = [
            i64::MIN + 1,
            -62_167_219_200_000,
            -1,
            0,
            1,
            1_700_000_000_000,
        ];
        for w in times.windows(2) {
            assert!(time_bytes(w[0]) < time_bytes(w[1]));
            assert_eq!(time_from_bytes(time_bytes(w[0])), w[0]);
        }
    }

    #[test]
    fn index_entry_round_trip() {
        let e = IndexEntry {
            id_kind: IdKind::License,
            pseudonym: Pseudonym([7; 16]),
            journey_type: JourneyType::Long,
            datetime: 1_700_000_000_123,
            app: [3; 16],
            app_kind: AppKind::Standardized,
            operator: 42,
        };
        assert_eq!(IndexEntry::decode(&e.key(), &e.value()), Some(e));
        let mut bad = e.key();
        bad[20] ^= 1;
        assert_eq!(IndexEntry::decode(&bad, &e.value()), None);
        assert_eq!(IndexEntry::decode(&e.key()[..10], &e.value()), None);
        for i in 0..INDEX_KEY_LEN {
            let mut k = e.key();
            k[i] ^= 0x10;
            assert_eq!(IndexEntry::decode(&k, &e.value()), None, "key byte {i}");
        }
        for i in 0..9 {
            let mut v = e.value();
            v[i] ^= 0x01;
            assert_eq!(IndexEntry::decode(&e.key(), &v), None, "value byte {i}");
        }
    }

    /// Audit keys have the error journal's layout under their own family byte: time order is
    /// byte order, and neither parser accepts the other's keys.
    #[test]
    fn audit_keys_order_by_time_then_sequence() {
        let a = audit_key(-5, 9);
        assert!(a < audit_key(0, 1) && audit_key(0, 1) < audit_key(0, 2));
        assert_eq!(audit_id(&a), Some((-5, 9)));
        assert_eq!(audit_id(&journal_key(-5, 9)), None);
        assert_eq!(journal_id(&a), None);
        assert_eq!(audit_id(&a[..16]), None);
        assert_eq!(a[1..], journal_key(-5, 9)[1..]);
    }

    #[test]
    fn buckets_are_months() {
        assert_eq!(bucket(0), 1970 * 12);
        assert_eq!(bucket(31 * 86_400_000), 1970 * 12 + 1);
    }
}
