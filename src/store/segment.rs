//! Import segments: every row accepted by one `import` call, stored as **one** sled value.
//!
//! sled 0.34 costs about 15 µs per key written, even inside a batch, so one key per imported
//! row (let alone three: index entry, record, uniqueness key) caps imports far below the
//! 100 000 rows/s target. An import batch is immutable once written, so it is stored whole:
//!
//! ```text
//! key    [06][segment id u64 BE]
//! value  [version = 1][operator u32 BE][created_at i64 BE][count u16 BE]
//!        count × [journey_type u8][datetime i64 BE][name+phone pseudonym ×16]
//!        [check ×4 over key and value]
//! ```
//!
//! A row's application uuid is not stored: it is computed from the segment (see
//! `store::imported_uuid`). A row that is later changed (identity key attached, deleted) gets
//! a full record under `[07][uuid]` that supersedes it. A segment is rewritten only by a
//! retention purge, in place (same key, same row positions): a row that expired, or that an
//! override supersedes, becomes a **hole** ([`SegmentRow::HOLE`]: the all-zero pseudonym at
//! the earliest instant, `0000-01-01`), trailing holes are cut off, and a segment of holes
//! only is removed. Rows keep their positions, so every kept row keeps its uuid.

use super::decode_error::DecodeError;
use super::imported_uuid::{instant_of, locate, uuid, UuidMask, MAX_ROWS, MAX_SEGMENT_ID};
use super::keys::{check4, jt_byte, jt_from_byte, SEGMENT};
use super::records::{Segment, SegmentRow};

/// Version byte of a segment value.
const VERSION: u8 = 1;
const HEADER: usize = 1 + 4 + 8 + 2;
const ROW: usize = 1 + 8 + 16;
const MAX_ID: u64 = MAX_SEGMENT_ID;

/// `[06][id u64 BE]`
pub(crate) fn key(id: u64) -> [u8; 9] {
    let mut k = [0u8; 9];
    k[0] = SEGMENT;
    k[1..].copy_from_slice(&id.to_be_bytes());
    k
}

impl Segment {
    /// Can this segment be stored (id and row count within what uuids can name)?
    pub(crate) fn storable(&self) -> bool {
        self.id <= MAX_ID && self.rows.len() <= MAX_ROWS
    }

    /// The uuid of row `i`, under `mask` (the one of [`UuidMask::of`] this segment's
    /// `created_at`).
    pub(crate) fn uuid(&self, i: usize, mask: &UuidMask) -> [u8; 16] {
        uuid(self.id, self.created_at, i, mask)
    }

    /// The stored value (see the module docs).
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(HEADER + self.rows.len() * ROW + 4);
        v.push(VERSION);
        v.extend_from_slice(&self.operator.to_be_bytes());
        v.extend_from_slice(&self.created_at.to_be_bytes());
        v.extend_from_slice(&(self.rows.len() as u16).to_be_bytes());
        for r in &self.rows {
            v.push(jt_byte(r.journey_type));
            v.extend_from_slice(&r.datetime.to_be_bytes());
            v.extend_from_slice(&r.name_phone);
        }
        let check = check4(&[&key(self.id), &v]);
        v.extend_from_slice(&check);
        v
    }

    /// Decodes and validates a stored segment.
    pub(crate) fn decode(k: &[u8], value: &[u8]) -> Result<Segment, DecodeError> {
        let id = match k {
            [SEGMENT, rest @ ..] => {
                u64::from_be_bytes(rest.try_into().map_err(|_| DecodeError::Key(k.len()))?)
            }
            _ => return Err(DecodeError::Key(k.len())),
        };
        let Some((payload, check)) = value.len().checked_sub(4).map(|n| value.split_at(n)) else {
            return Err(DecodeError::TooShort(value.len()));
        };
        if check != check4(&[k, payload]) {
            return Err(DecodeError::Checksum);
        }
        let Some((header, body)) = payload.split_first_chunk::<HEADER>() else {
            return Err(DecodeError::TooShort(value.len()));
        };
        let [version, o0, o1, o2, o3, c0, c1, c2, c3, c4, c5, c6, c7, n0, n1] = *header;
        if version != VERSION {
            return Err(DecodeError::Version {
                what: "segment",
                found: version,
            });
        }
        let operator = u32::from_be_bytes([o0, o1, o2, o3]);
        let created_at = i64::from_be_bytes([c0, c1, c2, c3, c4, c5, c6, c7]);
        let count = usize::from(u16::from_be_bytes([n0, n1]));
        if count > MAX_ROWS || body.len() != count * ROW || id > MAX_ID {
            return Err(DecodeError::RowCount {
                count,
                bytes: body.len(),
                id,
            });
        }
        instant(created_at).ok_or(DecodeError::OutOfRange("created_at"))?;
        let mut rows = Vec::with_capacity(count);
        for (i, r) in body.chunks_exact(ROW).enumerate() {
            let bad = |field| DecodeError::Row { row: i, field };
            let (&jt, rest) = r.split_first().ok_or(bad("length"))?;
            let (dt, np) = rest.split_first_chunk::<8>().ok_or(bad("length"))?;
            let journey_type = jt_from_byte(jt).ok_or(bad("journey type"))?;
            let datetime = instant(i64::from_be_bytes(*dt)).ok_or(bad("datetime"))?;
            let name_phone = np.try_into().map_err(|_| bad("length"))?;
            rows.push(SegmentRow {
                journey_type,
                datetime,
                name_phone,
            });
        }
        Ok(Segment {
            id,
            operator,
            created_at,
            rows,
        })
    }
}

fn instant(ms: i64) -> Option<i64> {
    crate::fields::Timestamp::from_millis(ms).map(|_| ms)
}

/// The row of `segment` that `u` names, if any (its instant must be the segment's too).
pub(crate) fn names_row(segment: &Segment, u: &[u8; 16], mask: &UuidMask) -> Option<SegmentRow> {
    let (id, row) = locate(u, mask)?;
    (id == segment.id && instant_of(u) == Some(UuidMask::instant(segment.created_at)))
        .then(|| segment.rows.get(row).copied())
        .flatten()
        .filter(|r| !r.is_hole())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields::JourneyType;
    use crate::store::records::HOLE_DATETIME;

    fn sample() -> Segment {
        Segment {
            id: 0x1234_5678_9ABC,
            operator: 7,
            created_at: 1_718_000_000_123,
            rows: (0..1000)
                .map(|i| SegmentRow {
                    journey_type: if i % 3 == 0 {
                        JourneyType::Long
                    } else {
                        JourneyType::Short
                    },
                    datetime: 1_600_000_000_000 + i64::from(i),
                    name_phone: [i as u8; 16],
                })
                .collect(),
        }
    }

    #[test]
    fn round_trip_and_uuid_location() {
        let s = sample();
        let v = s.encode();
        assert_eq!(v.len(), HEADER + 1000 * ROW + 4);
        assert_eq!(Segment::decode(&key(s.id), &v), Ok(s.clone()));
        for mask in [
            UuidMask::new(0),
            UuidMask::new(u128::MAX),
            UuidMask::new(0x5a5a << 60),
        ] {
            for i in [0, 1, 255, 256, 999] {
                let u = s.uuid(i, &mask);
                assert_eq!(names_row(&s, &u, &mask), Some(s.rows[i]));
                assert_eq!(locate(&u, &mask), Some((s.id, i)));
            }
            // Past the end, another segment, another instant, a v4 uuid: no row.
            assert_eq!(names_row(&s, &s.uuid(1000, &mask), &mask), None);
            assert_eq!(
                names_row(&s, &uuid(s.id + 1, s.created_at, 0, &mask), &mask),
                None
            );
            assert_eq!(
                names_row(&s, &uuid(s.id, s.created_at + 1, 0, &mask), &mask),
                None
            );
            assert_eq!(locate(uuid::Uuid::new_v4().as_bytes(), &mask), None);
        }
    }

    #[test]
    fn holes_decode_and_name_no_row() {
        assert_eq!(
            crate::fields::Timestamp::from_millis(HOLE_DATETIME),
            Some(crate::fields::Timestamp::MIN)
        );
        let mut s = sample();
        s.rows[1] = SegmentRow::HOLE;
        let v = s.encode();
        assert_eq!(Segment::decode(&key(s.id), &v), Ok(s.clone()));
        let mask = UuidMask::new(0x77 << 40);
        assert_eq!(names_row(&s, &s.uuid(1, &mask), &mask), None);
        assert_eq!(names_row(&s, &s.uuid(2, &mask), &mask), Some(s.rows[2]));
        assert!(!s.rows[0].is_hole());
    }

    #[test]
    fn every_damage_is_detected() {
        let s = Segment {
            rows: sample().rows[..3].to_vec(),
            ..sample()
        };
        let v = s.encode();
        let k = key(s.id);
        for i in 0..v.len() {
            let mut bad = v.clone();
            bad[i] ^= 0x01;
            assert!(Segment::decode(&k, &bad).is_err(), "byte {i}");
        }
        for n in 0..v.len() {
            assert!(Segment::decode(&k, &v[..n]).is_err(), "truncated to {n}");
        }
        assert!(Segment::decode(&key(s.id + 1), &v).is_err());
        assert!(Segment::decode(&k[..8], &v).is_err());
    }

    #[test]
    fn out_of_range_fields_are_refused_even_with_a_valid_check() {
        let s = Segment {
            rows: sample().rows[..2].to_vec(),
            ..sample()
        };
        let k = key(s.id);
        let reseal = |mut v: Vec<u8>| {
            v.truncate(v.len() - 4);
            let c = check4(&[&k, &v]);
            v.extend_from_slice(&c);
            v
        };
        let mut jt = s.encode();
        jt[HEADER] = 9;
        assert!(Segment::decode(&k, &reseal(jt)).is_err());
        let mut dt = s.encode();
        dt[HEADER + 1..HEADER + 9].copy_from_slice(&i64::MAX.to_be_bytes());
        assert!(Segment::decode(&k, &reseal(dt)).is_err());
        let mut count = s.encode();
        count[13..15].copy_from_slice(&3u16.to_be_bytes());
        assert!(Segment::decode(&k, &reseal(count)).is_err());
        let mut version = s.encode();
        version[0] = 2;
        assert!(Segment::decode(&k, &reseal(version)).is_err());
    }
}
