//! The imported-application uuid scheme: a row of an import segment is named by a UUIDv7
//! (RFC 9562) computed, never stored:
//!
//! ```text
//! [created_at ms, 48 bits][ver 7][12 bits][variant 10][62 bits]
//! ```
//!
//! where the 74 low bits are `(row << 62 | segment id)` XOR a mask keyed by the secret and
//! `created_at` ([`UuidMask::of`]). So `find` and `delete` go from a uuid straight to its row,
//! while the uuid looks random and tells an operator nothing about other operators' imports
//! (segment ids are a global counter). Registered applications keep random v4 uuids, so the
//! version nibble tells the two apart.

use crate::identity::Keys;

/// Segment ids are 62 bits (what a UUIDv7 has room for after the row).
pub(crate) const MAX_SEGMENT_ID: u64 = (1 << 62) - 1;
/// More rows than any import call accepts, fewer than the 12 bits a uuid has for them.
pub(crate) const MAX_ROWS: usize = 4095;

/// The 74 bits that hide `(row, segment id)` in the uuids of the segments created at one
/// millisecond: derived from the secret and that instant (see `identity::Keys::uuid_mask`).
/// One keyed BLAKE3 call: computed once per segment, when it is written or loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct UuidMask(u128);

impl UuidMask {
    const BITS: u128 = (1 << 74) - 1;

    /// Takes the low 74 bits of `bits`.
    pub(crate) fn new(bits: u128) -> Self {
        UuidMask(bits & Self::BITS)
    }

    /// The mask of the uuids of the segments created at `created_at` (ms).
    pub(crate) fn of(keys: &Keys, created_at: i64) -> Self {
        Self::new(keys.uuid_mask(Self::instant(created_at)))
    }

    /// The 74 bits.
    #[cfg(test)]
    pub(crate) fn bits(&self) -> u128 {
        self.0
    }

    /// The instant a mask is derived from: the low 48 bits of `created_at`, as in the uuid.
    pub(crate) fn instant(created_at: i64) -> u64 {
        (created_at as u64) & ((1 << 48) - 1)
    }
}

/// The UUIDv7 of row `row` of segment `id` created at `created_at` (ms).
pub(crate) fn uuid(id: u64, created_at: i64, row: usize, mask: &UuidMask) -> [u8; 16] {
    let payload = ((row as u128 & 0x0FFF) << 62 | u128::from(id & MAX_SEGMENT_ID)) ^ mask.0;
    let mut u = [0u8; 16];
    u[..6].copy_from_slice(&UuidMask::instant(created_at).to_be_bytes()[2..]);
    u[6] = 0x70 | (payload >> 70) as u8 & 0x0F;
    u[7] = (payload >> 62) as u8;
    u[8] = 0x80 | (payload >> 56) as u8 & 0x3F;
    u[9..].copy_from_slice(&(payload as u64).to_be_bytes()[1..]);
    u
}

/// Is `u` a UUIDv7 — an imported application's id (registered ones are v4)?
pub(crate) fn is_imported(u: &[u8; 16]) -> bool {
    u[6] >> 4 == 7 && u[8] >> 6 == 0b10
}

/// The instant (low 48 bits of `created_at`) of an imported application's uuid.
pub(crate) fn instant_of(u: &[u8; 16]) -> Option<u64> {
    let mut ts = [0u8; 8];
    ts[2..].copy_from_slice(&u[..6]);
    is_imported(u).then(|| u64::from_be_bytes(ts))
}

/// Where an imported application's row is: `(segment id, row)`, given the mask of the uuid's
/// instant ([`instant_of`]); `None` when `u` is not a UUIDv7.
pub(crate) fn locate(u: &[u8; 16], mask: &UuidMask) -> Option<(u64, usize)> {
    if !is_imported(u) {
        return None;
    }
    let mut low = [0u8; 8];
    low[1..].copy_from_slice(&u[9..]);
    let payload = u128::from(u[6] & 0x0F) << 70
        | u128::from(u[7]) << 62
        | u128::from(u[8] & 0x3F) << 56
        | u128::from(u64::from_be_bytes(low));
    let payload = payload ^ mask.0;
    Some((
        (payload & u128::from(MAX_SEGMENT_ID)) as u64,
        (payload >> 62) as usize,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_v7_and_locate_their_row() {
        for mask in [
            UuidMask::new(0),
            UuidMask::new(u128::MAX),
            UuidMask::new(0x5a5a << 60),
        ] {
            for (id, row) in [(0, 0), (1, 4095), (MAX_SEGMENT_ID, 7), (0x1234_5678, 999)] {
                let u = uuid(id, 1_718_000_000_123, row, &mask);
                let parsed = uuid::Uuid::from_bytes(u);
                assert_eq!(parsed.get_version_num(), 7);
                assert_eq!(parsed.get_variant(), uuid::Variant::RFC4122);
                assert!(is_imported(&u));
                assert_eq!(locate(&u, &mask), Some((id, row)));
                assert_eq!(instant_of(&u), Some(UuidMask::instant(1_718_000_000_123)));
            }
            assert_eq!(locate(uuid::Uuid::new_v4().as_bytes(), &mask), None);
        }
        // The mask hides the counter: consecutive segments' uuids share no visible pattern.
        let mask = UuidMask::new(0x1234_5678_9abc_def0_1234_5678);
        let (a, b) = (uuid(1, 0, 0, &mask), uuid(2, 0, 0, &mask));
        assert_ne!(a[9..], b[9..]);
        assert_ne!(uuid(1, 0, 0, &mask), uuid(1, 0, 0, &UuidMask::new(0)));
    }
}
