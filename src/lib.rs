//! # cee-eligibility
//!
//! An embeddable engine that decides whether a carpooling driver may still receive France's
//! energy-savings bonus (CEE): the *history* check (imported specific operations) and the
//! *dedup* check (standardized operations on any platform), answered from an in-memory index
//! in about a microsecond, with every application durably stored in an embedded sled database
//! under secret-keyed pseudonyms.
//!
//! ```
//! use cee_eligibility::{Config, Engine, ImportRow, Operator, SimulateRequest};
//! let engine = Engine::open(Config::temporary())?;
//! let op = Operator::new(1, "89248032800012".parse()?);
//! let row = ImportRow { journey_type: "long".into(), phone_trunc: "+336273488".into(),
//!                       last_name_trunc: "ABC".into(), datetime: "2022-06-01T00:00:00Z".into() };
//! engine.import(&op, &[row])?;
//! let req = SimulateRequest { journey_type: "long".parse()?, phone_trunc: "+336273488".parse()?,
//!                             last_name_trunc: "ABC".parse()?, driving_license: None, identity_key: None };
//! assert!(!engine.simulate(&op, &req)?.is_eligible());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Rooms: [`fields`](crate#reexports) (validated inputs), `policy` (the rules), `identity`
//! (pseudonyms), `store` (sled, keys, record codec), `index` (the in-memory read path),
//! `engine` (operations), [`api`] (the JSON façade), [`token`], [`clock`].

#[cfg(feature = "api")]
pub mod api;
pub mod clock;
mod engine;
mod error;
mod fields;
mod geo;
mod identity;
mod index;
mod policy;
mod store;
pub mod synth;
pub mod token;

pub use engine::{
    Application, Config, Conflict, ConflictReason, DateRule, Driver, Durability, Engine, FailedRow,
    IdentityRow, ImportReport, ImportRow, JournalEntry, JournalKind, Journey, JourneyPatch,
    JourneyPoint, Operator, PurgeReport, Refusal, RegisterKind, RegisterOutcome, RegisterRequest,
    Registration, SimulateRequest, Simulation, Stats, StoredJourney, MAX_IMPORT_ROWS,
};
pub use error::{Error, FieldErrors, PathError, StorageError};
pub use fields::*;
pub use policy::{NotEligible, Policy, TypePolicy};

/// Entry points for fuzz targets (feature `arbitrary`); not part of the API.
#[cfg(feature = "arbitrary")]
#[doc(hidden)]
pub mod __fuzz {
    /// Decodes arbitrary bytes as every stored record type.
    pub fn decode_records(bytes: &[u8]) {
        crate::store::codec::fuzz_decode_all(bytes);
    }

    /// Decodes arbitrary bytes as an import segment under key `[06][id]` (never a panic; what
    /// decodes re-encodes to the same bytes, and each row's uuid locates that row).
    pub fn decode_segment(id: u64, value: &[u8]) {
        use crate::store::segment::{self, Segment};
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
        if let Some(e) = crate::store::keys::IndexEntry::decode(key, value) {
            assert_eq!(
                crate::store::keys::IndexEntry::decode(&e.key(), &e.value()),
                Some(e)
            );
        }
    }
}
