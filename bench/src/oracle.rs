//! The in-memory limit: a `HashMap` from pseudonym to its entries, hashed by the pseudonym's
//! own low 64 bits (pseudonyms are uniformly random already), scanned linearly.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use cee_eligibility::SimulateRequest;

use crate::pseudonym::Pseudonymizer;
use crate::workload::{jt_byte, Baseline, Entry, Found, Thresholds, SECRET};
use crate::Error;

/// A hasher for keys that are already random: keeps the low 64 bits.
#[derive(Default, Clone, Copy, Debug)]
pub struct IdentityHasher(u64);

impl Hasher for IdentityHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes.iter().take(8) {
            self.0 = (self.0 << 8) | u64::from(*b);
        }
    }
    fn write_u128(&mut self, i: u128) {
        self.0 = i as u64;
    }
}

#[derive(Debug, Clone, Copy)]
struct Item {
    datetime: i64,
    operator: u32,
    journey_type: u8,
    uuid: [u8; 16],
}

/// The `HashMap` oracle.
#[derive(Debug)]
pub struct Oracle {
    map: HashMap<u128, Vec<Item>, BuildHasherDefault<IdentityHasher>>,
    pz: Pseudonymizer,
    thr: Thresholds,
}

fn key(kind: u8, p: &[u8; 16]) -> u128 {
    // The kind is part of the hashed input already; fold it in to keep kinds apart anyway.
    u128::from_le_bytes(*p) ^ (u128::from(kind) << 120)
}

impl Oracle {
    /// Builds the map from `entries`.
    pub fn new(entries: &[Entry], thr: Thresholds) -> Self {
        let mut map: HashMap<u128, Vec<Item>, BuildHasherDefault<IdentityHasher>> =
            HashMap::default();
        for e in entries {
            map.entry(key(e.kind, &e.pseudonym))
                .or_default()
                .push(Item {
                    datetime: e.datetime,
                    operator: e.operator,
                    journey_type: e.journey_type,
                    uuid: e.uuid,
                });
        }
        Oracle {
            map,
            pz: Pseudonymizer::new(&SECRET),
            thr,
        }
    }
}

impl Baseline for Oracle {
    fn name(&self) -> &'static str {
        "hashmap"
    }

    fn check(&mut self, req: &SimulateRequest) -> Result<Option<Found>, Error> {
        let jt = jt_byte(req.journey_type);
        let threshold = self.thr.for_type(req.journey_type);
        let mut best: Option<Found> = None;
        for (kind, p) in self.pz.request(req).as_slice() {
            for it in self.map.get(&key(*kind, p)).into_iter().flatten() {
                if it.journey_type == jt
                    && it.datetime >= threshold
                    && best.is_none_or(|b| it.datetime > b.datetime)
                {
                    best = Some(Found {
                        datetime: it.datetime,
                        operator: it.operator,
                        uuid: it.uuid,
                    });
                }
            }
        }
        Ok(best)
    }
}
