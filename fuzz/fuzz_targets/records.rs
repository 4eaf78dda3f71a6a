//! Record decoder fuzz target: arbitrary bytes decoded as every stored record type
//! (applications, journeys, error and audit journal entries; never a panic; what decodes
//! re-encodes to the same record), split at byte 47 as an identity
//! index key/value pair (never a panic; what decodes re-encodes to the same bytes), and as an
//! import segment, raw and with its check recomputed so that field validation is reached.
//!
//! Wire it as `[[bin]] name = "records", path = "fuzz_targets/records.rs"` in the cargo-fuzz
//! workspace, with `cee-eligibility = { path = "..", features = ["arbitrary"] }` and
//! `libfuzzer-sys = "0.4"`. Seeds: any stored value (`sled` export of a test database), e.g.
//! `01` followed by a bincode `AppRecord`; and 47-byte index keys starting with `01`.
#![no_main]

use libfuzzer_sys::fuzz_target;

/// Length of an identity index key:
/// `[01][kind][pseudonym ×16][jt][bucket u32][time i64][uuid ×16]`.
const INDEX_KEY_LEN: usize = 47;

fuzz_target!(|data: &[u8]| {
    cee_eligibility::__fuzz::decode_records(data);
    cee_eligibility::__fuzz::decode_segment(3, data);
    if data.len() > INDEX_KEY_LEN {
        cee_eligibility::__fuzz::decode_index_entry(&data[..INDEX_KEY_LEN], &data[INDEX_KEY_LEN..]);
    }
});
