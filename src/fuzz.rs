//! Entry points for the fuzz targets in `fuzz/` (feature `arbitrary`): not part of the API.

/// Decodes arbitrary bytes as every stored record type.
pub fn decode_records(bytes: &[u8]) {
    crate::store::codec::fuzz_decode_all(bytes);
}

/// Decodes arbitrary bytes as an import segment under key `[06][id]` (never a panic; what
/// decodes re-encodes to the same bytes, and each row's uuid locates that row).
pub fn decode_segment(id: u64, value: &[u8]) {
    use crate::store::segment;
    use crate::store::Segment;
    use crate::store::UuidMask;
    let key = segment::key(id);
    if let Ok(s) = Segment::decode(&key, value) {
        assert_eq!(s.encode(), value);
        let mask = UuidMask::new(u128::from(id) * 0x9E37_79B9_7F4A_7C15);
        for (i, row) in s.rows.iter().enumerate() {
            // A purge's hole names no row.
            let expected = (!row.is_hole()).then_some(*row);
            assert_eq!(segment::names_row(&s, &s.uuid(i, &mask), &mask), expected);
        }
    }
    // A value sealed with a valid check reaches the field validation.
    if value.len() >= 4 {
        let body = &value[..value.len() - 4];
        let mut sealed = body.to_vec();
        sealed.extend_from_slice(&crate::store::keys::check4(&[&key, body]));
        if let Ok(s) = Segment::decode(&key, &sealed) {
            assert_eq!(s.encode(), sealed);
        }
    }
}

/// Decodes arbitrary key/value bytes as an identity index entry.
pub fn decode_index_entry(key: &[u8], value: &[u8]) {
    if let Some(e) = crate::store::IndexEntry::decode(key, value) {
        assert_eq!(
            crate::store::IndexEntry::decode(&e.key(), &e.value()),
            Some(e)
        );
    }
}
