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
//! (pseudonyms), `store` (the `Backend` trait and its records; sled, keys, record codec behind
//! it), `index` (the in-memory read path),
//! `engine` (operations), [`api`] (the JSON façade), [`token`], [`clock`].

/// The README's examples, compiled and run as doctests.
#[cfg(all(doctest, feature = "api"))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

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
#[cfg(feature = "synth")]
pub mod synth;
pub mod token;

#[cfg(feature = "postgres")]
pub use engine::{migrate_to_postgres, Migrated};
pub use engine::{
    Application, AuditAction, AuditEntry, Config, Conflict, ConflictReason, DateRule, Driver,
    Durability, Engine, FailedRow, IdentityRow, ImportReport, ImportRow, JournalEntry, JournalItem,
    JournalKind, Journey, JourneyPatch, JourneyPoint, Operator, PurgeReport, Refusal, RegisterKind,
    RegisterOutcome, RegisterRequest, Registration, SimulateRequest, Simulation, StandardizedRow,
    Stats, StoredJourney, MAX_IMPORT_ROWS, MAX_TOKEN_LEN,
};
pub use error::{Error, FieldErrors, PathError, StorageError};
pub use fields::*;
pub use policy::{NotEligible, Policy, TypePolicy};

/// Entry points for fuzz targets (feature `arbitrary`); not part of the API.
#[cfg(feature = "arbitrary")]
#[doc(hidden)]
#[path = "fuzz.rs"]
pub mod __fuzz;
