//! The in-memory read path: every active identity index entry, by pseudonym.
//!
//! It holds every index entry the stored records imply (stored beside them, or implied by
//! import segment rows): built from the backend at open, and updated with each committed
//! change set's delta under the write lock. Readers (`simulate`) take one shard's read lock
//! per identifier and never touch the store unless they must describe a blocking application
//! of the caller's own.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::RwLock;

use crate::fields::JourneyType;
use crate::identity::Pseudonym;
use crate::policy::Prior;

const SHARDS: usize = 64;

/// What the index holds per application and identifier: the rules' view of it.
pub(crate) type Entry = Prior;

/// Entries kept in place in a map bucket.
const INLINE: usize = 3;

/// Entries of one pseudonym. Up to [`INLINE`] (a person's usual history: one per importing
/// operator or journey type) sit in the map bucket itself, so a check reads the bucket and
/// nothing else; more go to an exact-size boxed slice (no spare capacity: memory matters more
/// than the rare insert's copy).
#[derive(Debug, Clone)]
enum Slot {
    /// `1..=INLINE` entries; those past the count are copies of the first.
    Inline(u8, [Entry; INLINE]),
    Many(Box<[Entry]>),
}

impl Slot {
    fn entries(&self) -> &[Entry] {
        match self {
            Slot::Inline(n, a) => &a[..usize::from(*n)],
            Slot::Many(v) => v,
        }
    }

    /// The slot holding `v`; `None` when `v` is empty.
    fn of(v: &[Entry]) -> Option<Slot> {
        let first = *v.first()?;
        Some(if v.len() <= INLINE {
            let mut a = [first; INLINE];
            a[..v.len()].copy_from_slice(v);
            Slot::Inline(v.len() as u8, a)
        } else {
            Slot::Many(v.into())
        })
    }

    /// Replaces the entry of the same application, else appends `e`.
    fn upsert(&mut self, e: Entry) {
        match self {
            Slot::Inline(n, a) => {
                let len = usize::from(*n);
                if let Some(x) = a[..len].iter_mut().find(|x| x.app == e.app) {
                    *x = e;
                } else if len < INLINE {
                    a[len] = e;
                    *n += 1;
                } else {
                    *self = Slot::Many(a.iter().copied().chain([e]).collect());
                }
            }
            Slot::Many(v) => match v.iter_mut().find(|x| x.app == e.app) {
                Some(x) => *x = e,
                None => *self = Slot::Many(v.iter().copied().chain([e]).collect()),
            },
        }
    }
}

/// Pseudonyms are keyed-hash outputs, already uniformly distributed: hash = low 64 bits.
#[derive(Default)]
struct PseudonymHasher(u64);

impl Hasher for PseudonymHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            self.0 = self.0.rotate_left(5) ^ u64::from_le_bytes(b);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

/// A pseudonym as two words: 8-byte aligned, so a map bucket is 56 bytes, not 64 (a `u128`
/// key would align buckets to 16 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Key(u64, u64);

impl std::hash::Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.0);
    }
}

type Map = HashMap<Key, Slot, BuildHasherDefault<PseudonymHasher>>;

/// One shard, alone on its cache lines: a reader's lock-count update must not invalidate the
/// line holding a neighbouring shard's lock (false sharing between threads).
#[repr(align(128))]
struct Shard(RwLock<Map>);

impl std::ops::Deref for Shard {
    type Target = RwLock<Map>;
    fn deref(&self) -> &RwLock<Map> {
        &self.0
    }
}

pub(crate) struct MemIndex {
    shards: Box<[Shard]>,
}

fn split(p: &Pseudonym) -> (usize, Key) {
    let mut lo = [0u8; 8];
    let mut hi = [0u8; 8];
    lo.copy_from_slice(&p.0[..8]);
    hi.copy_from_slice(&p.0[8..]);
    let (lo, hi) = (u64::from_le_bytes(lo), u64::from_le_bytes(hi));
    // The top bits pick the shard; the map hashes the low word.
    ((hi >> 58) as usize % SHARDS, Key(lo, hi))
}

impl MemIndex {
    pub(crate) fn new() -> Self {
        MemIndex {
            shards: (0..SHARDS)
                .map(|_| Shard(RwLock::new(Map::default())))
                .collect(),
        }
    }

    /// Which shard holds `p` (`0..64`).
    pub(crate) fn shard_of(&self, p: &Pseudonym) -> usize {
        split(p).0
    }

    pub(crate) fn insert(&self, p: &Pseudonym, e: Entry) {
        let (s, k) = split(p);
        let mut map = self.shards[s].write().unwrap_or_else(|e| e.into_inner());
        match map.get_mut(&k) {
            Some(slot) => slot.upsert(e),
            None => {
                map.insert(k, Slot::Inline(1, [e; INLINE]));
            }
        }
    }

    pub(crate) fn remove(&self, p: &Pseudonym, app: &[u8; 16]) {
        let (s, k) = split(p);
        let mut map = self.shards[s].write().unwrap_or_else(|e| e.into_inner());
        let Some(slot) = map.get_mut(&k) else {
            return;
        };
        if slot.entries().iter().any(|e| e.app == *app) {
            let rest: Vec<Entry> = slot
                .entries()
                .iter()
                .filter(|e| e.app != *app)
                .copied()
                .collect();
            match Slot::of(&rest) {
                Some(new) => *slot = new,
                None => {
                    map.remove(&k);
                }
            }
        }
    }

    /// Runs `f` on the entries of `p` (under the shard's read lock); `None` when `p` has
    /// none. The index finds, the rules (`policy`) judge.
    pub(crate) fn find<R>(&self, p: &Pseudonym, f: impl FnOnce(&[Entry]) -> R) -> Option<R> {
        let (s, k) = split(p);
        let map = self.shards[s].read().unwrap_or_else(|e| e.into_inner());
        map.get(&k).map(|slot| f(slot.entries()))
    }

    /// Takes `other`'s entries in place of these (a rebuilt index swapped in), shard by shard:
    /// a reader sees one shard's old or new map, never half of one.
    pub(crate) fn replace_with(&self, other: MemIndex) {
        for (mine, theirs) in self.shards.iter().zip(other.shards.into_vec()) {
            let new = theirs.0.into_inner().unwrap_or_else(|e| e.into_inner());
            *mine.write().unwrap_or_else(|e| e.into_inner()) = new;
        }
    }

    /// Gives back the memory of removed entries (after a purge): each shard in turn is
    /// rebuilt at its current size, its readers waiting for that shard only.
    pub(crate) fn shrink(&self) {
        for shard in self.shards.iter() {
            shard
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .shrink_to_fit();
        }
    }

    /// Has `operator` a live standardized application of type `jt` dated exactly `datetime`
    /// under pseudonym `p` (the standardized-import `Conflict` rule, SPEC §11.2)?
    pub(crate) fn standardized_at(
        &self,
        p: &Pseudonym,
        operator: u32,
        jt: JourneyType,
        datetime: i64,
    ) -> bool {
        let (s, k) = split(p);
        let map = self.shards[s].read().unwrap_or_else(|e| e.into_inner());
        map.get(&k).is_some_and(|slot| {
            slot.entries().iter().any(|e| {
                e.operator == operator
                    && e.journey_type() == jt
                    && e.datetime == datetime
                    && e.is_standardized()
            })
        })
    }

    /// Number of pseudonyms and entries held.
    pub(crate) fn len(&self) -> (usize, usize) {
        let mut keys = 0;
        let mut entries = 0;
        for shard in self.shards.iter() {
            let map = shard.read().unwrap_or_else(|e| e.into_inner());
            keys += map.len();
            entries += map.values().map(|s| s.entries().len()).sum::<usize>();
        }
        (keys, entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields::JourneyType;
    use crate::policy::{most_recent_blocking, Thresholds};
    use proptest::prelude::*;

    fn pseudonym(i: u8) -> Pseudonym {
        // Two pseudonyms in one shard, one elsewhere: both map paths are exercised.
        let mut p = [i; 16];
        p[15] = if i == 2 { 0xFF } else { 0 };
        Pseudonym(p)
    }

    fn entry(app: u8, datetime: i64, operator: u32, flags: u8) -> Entry {
        let jt = if flags & 1 != 0 {
            JourneyType::Long
        } else {
            JourneyType::Short
        };
        Prior::new(datetime, operator, jt, flags & 2 != 0, [app; 16])
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u8, Entry),
        Remove(u8, u8),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            3 => (0u8..3, 0u8..6, 0i64..10, 1u32..4, 0u8..4)
                .prop_map(|(p, a, d, o, f)| Op::Insert(p, entry(a, d, o, f))),
            1 => (0u8..3, 0u8..6).prop_map(|(p, a)| Op::Remove(p, a)),
        ]
    }

    proptest! {
        /// Inline and boxed slots, and the moves between them, behave as a plain list with
        /// upsert-by-application.
        #[test]
        fn index_matches_a_list_model(ops in proptest::collection::vec(op(), 0..60)) {
            let index = MemIndex::new();
            let mut model: Vec<Vec<Entry>> = vec![Vec::new(); 3];
            for op in ops {
                match op {
                    Op::Insert(p, e) => {
                        index.insert(&pseudonym(p), e);
                        let list = &mut model[usize::from(p)];
                        match list.iter_mut().find(|x| x.app == e.app) {
                            Some(x) => *x = e,
                            None => list.push(e),
                        }
                    }
                    Op::Remove(p, a) => {
                        index.remove(&pseudonym(p), &[a; 16]);
                        model[usize::from(p)].retain(|x| x.app != [a; 16]);
                    }
                }
                let keys = model.iter().filter(|l| !l.is_empty()).count();
                let entries = model.iter().map(Vec::len).sum::<usize>();
                prop_assert_eq!(index.len(), (keys, entries));
                for (p, list) in model.iter().enumerate() {
                    let ps = pseudonym(p as u8);
                    for jt in [JourneyType::Short, JourneyType::Long] {
                        for th in [
                            Thresholds { standardized_min: 0, specific_min: 0 },
                            Thresholds { standardized_min: 5, specific_min: 3 },
                        ] {
                            let want = most_recent_blocking(list, jt, &th, 2);
                            let got = index
                                .find(&ps, |es| most_recent_blocking(es, jt, &th, 2))
                                .flatten();
                            prop_assert_eq!(got, want);
                        }
                        let mut sorted = list.clone();
                        sorted.sort_by_key(|e| e.app);
                        let mut got = index.find(&ps, <[Entry]>::to_vec).unwrap_or_default();
                        got.sort_by_key(|e| e.app);
                        prop_assert_eq!(got, sorted);
                    }
                }
            }
        }
    }
}
