//! Deterministic synthetic beneficiaries, for the demo and for benchmarks.
//!
//! A [`Synth`] turns a seed into an endless, random-access list of fictitious people: person
//! `i` is always the same for the same seed, whatever order you ask in, on any machine. Each
//! person has a valid French mobile `phone_trunc` (`+336…`/`+337…`, 10 characters), a
//! 3-letter `last_name_trunc` (`[A-Z]{3}`), a journey type (about two thirds `short`) and an
//! operation date spread uniformly over 2015-01-01 .. 2025-01-01 UTC.
//!
//! Phones are distinct for `i < Synth::MAX_PEOPLE` (a seeded permutation of the valid mobile
//! ranges), so the first `n` people never conflict on import, and people `n..2n` are
//! guaranteed misses in a registry loaded with `0..n`.
//!
//! Each person also has a **history** of [`HISTORY_ROWS`] (3) specific operations, one per
//! operator slot `0..3` (entry 0 is the person's own `journey_type` and `datetime`; the others
//! have their own type and date drawn the same way). Each operator imports a person at most
//! once, so the 3 rows never conflict (SPEC §6): `n` people give `3n` import rows, imported
//! in 1000-row batches per operator by [`Synth::history_batches`]. This is the population of
//! the benchmark suite (1 000 000 people, 3 000 000 rows).
//!
//! ```
//! use cee_eligibility::synth::Synth;
//! use cee_eligibility::ImportRow;
//! let synth = Synth::new(42);
//! let rows: Vec<ImportRow> = synth.people(0..1000).map(|p| p.import_row()).collect();
//! let miss = synth.person(5_000).simulate_request()?; // not among the imported
//! // The three-operator history of people 0..1000: 3 batches of 1000 rows, one per operator slot.
//! let batches: Vec<(usize, Vec<ImportRow>)> = synth.history_batches(0..1000, 1000).collect();
//! assert_eq!(batches.len(), 3);
//! assert_eq!(batches[0].1[7], synth.person(7).history_row(0));
//! # Ok::<(), cee_eligibility::FieldError>(())
//! ```
//!
//! The generator is [`SplitMix64`] (no `rand` dependency); the output is part of the contract
//! of this module: changing it changes every benchmark's input, so do it deliberately.

use std::ops::Range;

use crate::{
    DrivingLicense, FieldError, IdentityKey, ImportRow, JourneyType, LastNameTrunc, PhoneTrunc,
    SimulateRequest, StandardizedRow, Timestamp,
};

/// SplitMix64 (Steele, Lea, Flood 2014): a tiny, fast, well-mixed 64-bit generator.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator starting from `seed`.
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }

    /// A number in `0..n` (`n > 0`; multiply-shift, negligible bias for small `n`).
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }
}

/// The SplitMix64 finaliser: a bijective mix of 64 bits.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The first three national digits of every French mobile range that libphonenumber accepts
/// whatever the six digits after them (`6[0-24-8]x`, `63[0-8]`, `69[589]`, `7[3-9]x`).
fn mobile_prefixes() -> Vec<u16> {
    let mut p = Vec::with_capacity(162);
    for second in [0u16, 1, 2, 4, 5, 6, 7, 8] {
        p.extend((0..10).map(|third| 600 + second * 10 + third));
    }
    p.extend((0..=8).map(|third| 630 + third));
    p.extend([695, 698, 699]);
    p.extend(730..800);
    p
}

/// Operation dates are drawn in [2015-01-01T00:00:00Z, 2025-01-01T00:00:00Z).
const DATES_FROM_MS: i64 = 1_420_070_400_000;
const DATES_TO_MS: i64 = 1_735_689_600_000;

/// Percentage of people with a `short` journey type.
const SHORT_PERCENT: u64 = 65;

/// How many history rows (specific operations) each person has: one per operator slot.
pub const HISTORY_ROWS: usize = 3;

/// A deterministic, random-access population of fictitious beneficiaries.
#[derive(Debug, Clone)]
pub struct Synth {
    seed: u64,
    prefixes: Vec<u16>,
    /// Affine permutation `i ↦ (mul·i + add) mod MAX_PEOPLE` of the phone space.
    mul: u64,
    add: u64,
}

/// One fictitious beneficiary and the operation it benefited from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// Its index in the population.
    pub index: u64,
    /// Short or long.
    pub journey_type: JourneyType,
    /// Canonical truncated phone, e.g. `+336273488`.
    pub phone_trunc: String,
    /// Three letters, e.g. `MRT`.
    pub last_name_trunc: String,
    /// Operation date.
    pub datetime: Timestamp,
    /// The specific operations this person benefited from, one per operator slot `0..3`
    /// (entry 0 is `journey_type` and `datetime` above).
    pub history: [HistoryEntry; HISTORY_ROWS],
}

/// One specific operation in a person's history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryEntry {
    /// Short or long.
    pub journey_type: JourneyType,
    /// Operation date.
    pub datetime: Timestamp,
}

impl Synth {
    /// How many people have distinct phones (162 mobile ranges × 10 000 truncated numbers).
    pub const MAX_PEOPLE: u64 = 1_620_000;

    /// The population of `seed`.
    pub fn new(seed: u64) -> Self {
        let mut rng = SplitMix64::new(seed ^ 0x5EED_CEE0_0000_0000);
        // MAX_PEOPLE = 2^5 · 3^4 · 5^4: a multiplier prime to 2, 3 and 5 is a permutation.
        let mul = loop {
            let m = rng.below(Self::MAX_PEOPLE - 1) + 1;
            if !m.is_multiple_of(2) && !m.is_multiple_of(3) && !m.is_multiple_of(5) {
                break m;
            }
        };
        let add = rng.below(Self::MAX_PEOPLE);
        Synth {
            seed,
            prefixes: mobile_prefixes(),
            mul,
            add,
        }
    }

    /// The seed this population was made from.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Person `i` (phones repeat only from `i = MAX_PEOPLE` on).
    pub fn person(&self, i: u64) -> Person {
        let slot = (u128::from(i % Self::MAX_PEOPLE) * u128::from(self.mul) + u128::from(self.add))
            % u128::from(Self::MAX_PEOPLE);
        let slot = slot as u64; // < MAX_PEOPLE
        let prefix = self.prefixes[(slot / 10_000) as usize];
        let phone_trunc = format!("+33{prefix}{:04}", slot % 10_000);

        let mut rng = SplitMix64::new(mix(self.seed ^ mix(i)));
        // Draw order is part of the output: type, name, date, then the other history entries.
        let journey_type = draw_journey_type(&mut rng);
        let last_name_trunc: String = (0..3)
            .map(|_| char::from(b'A' + rng.below(26) as u8))
            .collect();
        let datetime = draw_datetime(&mut rng);
        let mut history = [HistoryEntry {
            journey_type,
            datetime,
        }; HISTORY_ROWS];
        for entry in history.iter_mut().skip(1) {
            let journey_type = draw_journey_type(&mut rng);
            *entry = HistoryEntry {
                journey_type,
                datetime: draw_datetime(&mut rng),
            };
        }
        Person {
            index: i,
            journey_type,
            phone_trunc,
            last_name_trunc,
            datetime,
            history,
        }
    }

    /// The history import of people `range`, in the order the benchmarks import it: for each
    /// chunk of `batch` people (`batch > 0`), one batch per operator slot `0..3`, as
    /// `(operator slot, rows)`. Map slot `k` to an operator of your own.
    pub fn history_batches(
        &self,
        range: Range<u64>,
        batch: usize,
    ) -> impl Iterator<Item = (usize, Vec<ImportRow>)> + '_ {
        let step = batch.max(1) as u64;
        let end = range.end;
        (range.start..end)
            .step_by(step as usize)
            .flat_map(move |start| {
                let people: Vec<Person> = self.people(start..(start + step).min(end)).collect();
                (0..HISTORY_ROWS)
                    .map(|k| (k, people.iter().map(|p| p.history_row(k)).collect()))
                    .collect::<Vec<_>>()
            })
    }

    /// People `range.start .. range.end`, in order.
    pub fn people(&self, range: Range<u64>) -> impl Iterator<Item = Person> + '_ {
        range.map(|i| self.person(i))
    }
}

fn draw_journey_type(rng: &mut SplitMix64) -> JourneyType {
    if rng.below(100) < SHORT_PERCENT {
        JourneyType::Short
    } else {
        JourneyType::Long
    }
}

fn draw_datetime(rng: &mut SplitMix64) -> Timestamp {
    let ms = DATES_FROM_MS + rng.below((DATES_TO_MS - DATES_FROM_MS) as u64) as i64;
    Timestamp::from_millis(ms - ms % 1000).unwrap_or(Timestamp::MIN)
}

impl Person {
    /// The import row of history entry `k` (`k < HISTORY_ROWS`, else entry 0), to be imported
    /// by the operator of slot `k`.
    pub fn history_row(&self, k: usize) -> ImportRow {
        let e = self.history.get(k).unwrap_or(&self.history[0]);
        ImportRow {
            journey_type: e.journey_type.to_string(),
            phone_trunc: self.phone_trunc.clone(),
            last_name_trunc: self.last_name_trunc.clone(),
            datetime: e.datetime.to_string(),
        }
    }

    /// The import rows of the whole history, row `k` for the operator of slot `k`.
    pub fn history_rows(&self) -> [ImportRow; HISTORY_ROWS] {
        std::array::from_fn(|k| self.history_row(k))
    }

    /// The history-import row of this person (= history entry 0).
    pub fn import_row(&self) -> ImportRow {
        ImportRow {
            journey_type: self.journey_type.to_string(),
            phone_trunc: self.phone_trunc.clone(),
            last_name_trunc: self.last_name_trunc.clone(),
            datetime: self.datetime.to_string(),
        }
    }

    /// A past standardized application of this person (SPEC §11.2), as its operator would
    /// send it from the decommissioned registry: its journey type and date, licence, identity
    /// key, a kept UUIDv4 derived from the index ([`Person::kept_uuid`]) and a kept token.
    pub fn standardized_row(&self) -> StandardizedRow {
        StandardizedRow {
            journey_type: self.journey_type.to_string(),
            datetime: self.datetime.to_string(),
            last_name_trunc: self.last_name_trunc.clone(),
            phone_trunc: self.phone_trunc.clone(),
            driving_license: format!("DL{:010}", self.index % 10_000_000_000),
            identity_key: self.identity_key().ok().map(|k| k.to_string()),
            uuid: Some(self.kept_uuid()),
            token: Some("dG9rZW4gb2YgdGhlIG9sZCByZWdpc3RyeQ==".into()),
            ..StandardizedRow::default()
        }
    }

    /// The uuid this person's past standardized application had at the decommissioned
    /// registry: a UUIDv4 (version and variant bits set) derived from the index, distinct per
    /// index.
    pub fn kept_uuid(&self) -> String {
        let (a, b) = (self.index.wrapping_mul(0x9E37_79B9_7F4A_7C15), self.index);
        format!(
            "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            (b >> 48) & 0xfff,
            b & 0xffff_ffff_ffff
        )
    }

    /// A full E.164 phone number whose truncation is `phone_trunc` (last two digits from the
    /// index).
    pub fn full_phone(&self) -> String {
        format!("{}{:02}", self.phone_trunc, self.index % 100)
    }

    /// A driving licence number unique to this person (`DL` + 10 digits of the index).
    ///
    /// # Errors
    /// Never for a generated person.
    pub fn driving_license(&self) -> Result<DrivingLicense, FieldError> {
        format!("DL{:010}", self.index % 10_000_000_000).parse()
    }

    /// The identity key of this person: SHA-256 of its full phone and its three-letter name
    /// used as family name.
    ///
    /// # Errors
    /// Never for a generated person.
    pub fn identity_key(&self) -> Result<IdentityKey, FieldError> {
        IdentityKey::compute(&self.full_phone(), &self.last_name_trunc)
    }

    /// A simulation for this person's identity and journey type (no licence, no identity key).
    ///
    /// # Errors
    /// Never for a generated person; the fields are parsed like any input.
    pub fn simulate_request(&self) -> Result<SimulateRequest, FieldError> {
        Ok(SimulateRequest {
            journey_type: self.journey_type,
            phone_trunc: self.phone_trunc.parse::<PhoneTrunc>()?,
            last_name_trunc: self.last_name_trunc.parse::<LastNameTrunc>()?,
            driving_license: None,
            identity_key: None,
        })
    }

    /// A simulation with every identifier of this person: phone + name, driving licence and
    /// identity key (what an operator sends once it knows them; it also matches standardized
    /// applications, which carry an identity key and so no longer match by phone + name).
    ///
    /// # Errors
    /// Never for a generated person.
    pub fn full_simulate_request(&self) -> Result<SimulateRequest, FieldError> {
        Ok(SimulateRequest {
            driving_license: Some(self.driving_license()?),
            identity_key: Some(self.identity_key()?),
            ..self.simulate_request()?
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn deterministic_and_random_access() {
        let a = Synth::new(7);
        let b = Synth::new(7);
        let forward: Vec<Person> = a.people(0..100).collect();
        for i in (0..100).rev() {
            assert_eq!(b.person(i), forward[i as usize]);
        }
        assert_ne!(Synth::new(8).person(0), a.person(0));
    }

    #[test]
    fn pinned_output() {
        // Benchmark inputs depend on this: change the generator only on purpose.
        let p = Synth::new(42).person(0);
        assert_eq!(p.phone_trunc, "+336539703");
        assert_eq!(p.last_name_trunc, "EEB");
        assert_eq!(p.journey_type, JourneyType::Short);
        assert_eq!(p.datetime.to_string(), "2024-10-22T21:55:31.000Z");
        let h: Vec<String> = p
            .history
            .iter()
            .map(|e| format!("{} {}", e.journey_type, e.datetime))
            .collect();
        assert_eq!(
            h,
            [
                "short 2024-10-22T21:55:31.000Z",
                "short 2017-10-17T10:13:08.000Z",
                "short 2022-08-10T18:37:45.000Z"
            ]
        );
    }

    #[test]
    fn history_rows_never_conflict_and_come_in_operator_batches() {
        let synth = Synth::new(3);
        let p = synth.person(11);
        assert_eq!(p.history_row(0), p.import_row());
        assert_eq!(p.history_rows()[2], p.history_row(2));
        let batches: Vec<_> = synth.history_batches(0..2500, 1000).collect();
        let sizes: Vec<(usize, usize)> = batches.iter().map(|(k, b)| (*k, b.len())).collect();
        assert_eq!(
            sizes,
            [
                (0, 1000),
                (1, 1000),
                (2, 1000),
                (0, 1000),
                (1, 1000),
                (2, 1000),
                (0, 500),
                (1, 500),
                (2, 500)
            ]
        );
        assert_eq!(batches[4].1[3], synth.person(1003).history_row(1));
        // Over many people both types and the whole date range show up in every slot.
        for k in 0..HISTORY_ROWS {
            let short = synth
                .people(0..10_000)
                .filter(|p| p.history[k].journey_type == JourneyType::Short)
                .count();
            assert!((6_000..7_000).contains(&short), "slot {k}: {short}");
        }
    }

    #[test]
    fn every_prefix_is_a_valid_mobile_range() {
        let prefixes = mobile_prefixes();
        assert_eq!(prefixes.len() as u64 * 10_000, Synth::MAX_PEOPLE);
        for p in prefixes {
            for suffix in ["0000", "4821", "9999"] {
                let s = format!("+33{p}{suffix}");
                assert!(s.parse::<PhoneTrunc>().is_ok(), "{s} should be valid");
            }
        }
    }

    #[test]
    fn phones_are_distinct_and_fields_valid() {
        let synth = Synth::new(1);
        let mut seen = HashSet::new();
        for p in synth.people(0..20_000) {
            assert!(seen.insert(p.phone_trunc.clone()));
            assert!(p.last_name_trunc.parse::<LastNameTrunc>().is_ok());
            assert_eq!(p.datetime.to_string().parse::<Timestamp>(), Ok(p.datetime));
            assert!(
                p.datetime.as_millis() >= DATES_FROM_MS && p.datetime.as_millis() < DATES_TO_MS
            );
        }
        for p in synth.people(0..2_000) {
            assert!(p.simulate_request().is_ok(), "{}", p.phone_trunc);
            assert!(p.driving_license().is_ok());
            assert!(p.identity_key().is_ok());
            assert!(PhoneTrunc::from_full_phone(&p.full_phone()).is_ok());
        }
        let short = synth
            .people(0..10_000)
            .filter(|p| p.journey_type == JourneyType::Short)
            .count();
        assert!((6_000..7_000).contains(&short), "{short}");
    }
}
