//! A change set (the key puts and removes of one mutation, as in a sled batch), its encoding
//! in the `cee_change` log, and the hash chain that links the log's rows.

use std::collections::BTreeMap;

/// Encoding version of a change row's `delta`.
const DELTA_V1: u8 = 1;
/// Domain separation of the chain hash.
const CHAIN_TAG: &[u8] = b"cee-eligibility change chain v1";

/// The chain value before the first change (head 0).
pub(crate) const GENESIS: [u8; 32] = [0; 32];

/// The writes of one mutation, applied atomically, in order (a later op on the same key wins).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct ChangeSet {
    ops: Vec<(Vec<u8>, Option<Vec<u8>>)>,
}

/// The net effect of a change set on the key/value table: what is written, what is removed.
type Net = (Vec<(Vec<u8>, Vec<u8>)>, Vec<Vec<u8>>);

impl ChangeSet {
    pub(crate) fn put(&mut self, key: &[u8], value: &[u8]) {
        self.ops.push((key.to_vec(), Some(value.to_vec())));
    }

    pub(crate) fn remove(&mut self, key: &[u8]) {
        self.ops.push((key.to_vec(), None));
    }

    /// The operations in the order they were added.
    #[cfg_attr(
        not(test),
        expect(
            dead_code,
            reason = "the store-level protocol harness: tests.rs drives the write protocol through it with a key/value replica; the engine goes through PgTxn (backend.rs)"
        )
    )]
    pub(crate) fn ops(&self) -> &[(Vec<u8>, Option<Vec<u8>>)] {
        &self.ops
    }

    /// The final state per key (last op wins), split into puts and removes, in key order: one
    /// SQL statement each (an `INSERT … ON CONFLICT` may not touch one row twice).
    pub(crate) fn net(&self) -> Net {
        let mut last: BTreeMap<&[u8], Option<&[u8]>> = BTreeMap::new();
        for (k, v) in &self.ops {
            last.insert(k, v.as_deref());
        }
        let mut puts = Vec::new();
        let mut removes = Vec::new();
        for (k, v) in last {
            match v {
                Some(v) => puts.push((k.to_vec(), v.to_vec())),
                None => removes.push(k.to_vec()),
            }
        }
        (puts, removes)
    }

    /// `[01] count u32` then per op `[1] klen u32 key vlen u32 value` or `[0] klen u32 key`
    /// (lengths little-endian).
    pub(crate) fn encode(&self) -> Vec<u8> {
        let size: usize = self
            .ops
            .iter()
            .map(|(k, v)| 9 + k.len() + v.as_ref().map_or(0, |v| 4 + v.len()))
            .sum();
        let mut out = Vec::with_capacity(5 + size);
        out.push(DELTA_V1);
        out.extend_from_slice(&len32(self.ops.len()).to_le_bytes());
        for (k, v) in &self.ops {
            out.push(u8::from(v.is_some()));
            out.extend_from_slice(&len32(k.len()).to_le_bytes());
            out.extend_from_slice(k);
            if let Some(v) = v {
                out.extend_from_slice(&len32(v.len()).to_le_bytes());
                out.extend_from_slice(v);
            }
        }
        out
    }

    /// Decodes a `delta`; any malformation is an error naming what is wrong, never a panic.
    #[cfg_attr(
        not(test),
        expect(
            dead_code,
            reason = "the store-level protocol harness: tests.rs drives the write protocol through it with a key/value replica; the engine goes through PgTxn (backend.rs)"
        )
    )]
    pub(crate) fn decode(bytes: &[u8]) -> Result<Self, String> {
        let mut r = Reader(bytes);
        match r.byte()? {
            DELTA_V1 => {}
            v => return Err(format!("unknown change encoding {v}")),
        }
        let count = r.u32()? as usize;
        // Every op takes at least 5 bytes: a count beyond that is a lie, not an allocation.
        if count > r.0.len() / 5 {
            return Err("operation count exceeds the data".into());
        }
        let mut ops = Vec::with_capacity(count);
        for _ in 0..count {
            let tag = r.byte()?;
            let k = r.bytes()?.to_vec();
            let v = match tag {
                0 => None,
                1 => Some(r.bytes()?.to_vec()),
                t => return Err(format!("unknown operation tag {t}")),
            };
            ops.push((k, v));
        }
        if !r.0.is_empty() {
            return Err("trailing bytes".into());
        }
        Ok(ChangeSet { ops })
    }
}

/// Lengths are bounded by what PostgreSQL stores in one `bytea` (1 GB), far below `u32::MAX`.
fn len32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if self.0.len() < n {
            return Err("truncated".into());
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn byte(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }

    fn u32(&mut self) -> Result<u32, String> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn bytes(&mut self) -> Result<&'a [u8], String> {
        let n = self.u32()? as usize;
        self.take(n)
    }
}

/// `chain' = BLAKE3(tag ‖ chain ‖ seq u64 BE ‖ delta)`: two instances that applied the same
/// sequence number with different chains have seen different histories.
pub(crate) fn next_chain(chain: &[u8; 32], seq: u64, delta: &[u8]) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    h.update(CHAIN_TAG);
    h.update(chain);
    h.update(&seq.to_be_bytes());
    h.update(delta);
    *h.finalize().as_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn net_keeps_the_last_op_per_key() {
        let mut cs = ChangeSet::default();
        cs.put(b"b", b"1");
        cs.put(b"a", b"1");
        cs.remove(b"b");
        cs.remove(b"c");
        cs.put(b"c", b"2");
        let (puts, removes) = cs.net();
        assert_eq!(
            puts,
            vec![
                (b"a".to_vec(), b"1".to_vec()),
                (b"c".to_vec(), b"2".to_vec())
            ]
        );
        assert_eq!(removes, vec![b"b".to_vec()]);
    }

    #[test]
    fn chain_depends_on_every_input() {
        let c = next_chain(&GENESIS, 1, b"x");
        assert_ne!(c, next_chain(&GENESIS, 2, b"x"));
        assert_ne!(c, next_chain(&GENESIS, 1, b"y"));
        assert_ne!(c, next_chain(&c, 1, b"x"));
    }

    fn arb_change() -> impl Strategy<Value = ChangeSet> {
        let op = (
            proptest::collection::vec(any::<u8>(), 0..20),
            proptest::option::of(proptest::collection::vec(any::<u8>(), 0..40)),
        );
        proptest::collection::vec(op, 0..8).prop_map(|ops| ChangeSet { ops })
    }

    proptest! {
        #[test]
        fn roundtrip(cs in arb_change()) {
            prop_assert_eq!(ChangeSet::decode(&cs.encode()), Ok(cs));
        }

        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = ChangeSet::decode(&bytes);
        }

        #[test]
        fn a_truncated_delta_is_an_error(cs in arb_change(), cut in 1usize..8) {
            let enc = cs.encode();
            let cut = cut.min(enc.len());
            prop_assert!(ChangeSet::decode(&enc[..enc.len() - cut]).is_err());
        }
    }
}
