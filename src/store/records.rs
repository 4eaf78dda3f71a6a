//! The records the engine and a backend exchange: typed domain values, no byte layout
//! (`codec.rs`, `keys.rs` and `segment.rs` turn them into the bytes of on-disk format 4).

use crate::fields::{JourneyStatus, JourneyType, OperatorClass};
use crate::identity::{IdKind, Pseudonym};

/// Whether an application is an imported specific one or a registered standardized one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum AppKind {
    Specific,
    Standardized,
}

/// Kind of a register failure in the error journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum JournalKind {
    /// A date rule.
    Date,
    /// Journey not found or not eligible.
    NotFound,
    /// Conflict.
    Conflict,
}

/// What a successful write did, in the audit journal (format 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AuditAction {
    /// A standardized application was registered (`register` accepted it).
    Registered,
    /// An application was deleted (withdrawn by its operator).
    Deleted,
    /// Specific applications were imported (one import segment).
    Imported,
    /// Identity keys were attached to stored applications (`import_identity`).
    IdentityImported,
    /// Past standardized applications were imported (`import_standardized`).
    StandardizedImported,
}

/// A stored CEE application (specific or standardized).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AppRecord {
    pub kind: AppKind,
    pub journey_type: JourneyType,
    pub operator_id: u32,
    /// Operation date (UTC ms): import `datetime`, or `D` of the registration.
    pub datetime: i64,
    pub created_at: i64,
    pub application_timestamp: Option<i64>,
    /// Short registrations: the journey's internal id and operator_journey_id.
    pub journey: Option<(u64, String)>,
    pub token: Option<String>,
    pub deleted_at: Option<i64>,
    /// The name+phone pseudonym (import uniqueness, identity matching).
    pub name_phone: [u8; 16],
    /// The licence pseudonym, if any.
    pub license: Option<[u8; 16]>,
    /// The identity-key pseudonym, if any.
    pub identity_key: Option<[u8; 16]>,
    /// A past standardized application imported from the decommissioned registry (SPEC
    /// §11.2; format 3): its uuid and token are the ones it had there, it refers to no
    /// journey record here. `None` for every other application.
    pub past: Option<PastApplication>,
}

/// What an imported past application keeps beyond [`AppRecord`]'s fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PastApplication {
    /// Short: the `operator_journey_id` it was sent with (no journey record is needed).
    pub operator_journey_id: Option<String>,
}

/// A journey point.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PointRecord {
    pub datetime: i64,
    pub lat: f64,
    pub lon: f64,
    pub geo_code: Option<String>,
}

/// A stored journey.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct JourneyRecord {
    pub id: u64,
    pub operator_journey_id: String,
    pub operator_trip_id: Option<String>,
    pub operator_class: OperatorClass,
    pub start: PointRecord,
    pub end: PointRecord,
    pub distance: u32,
    /// (index, amount in cents, siret)
    pub incentives: Vec<(u8, f64, String)>,
    /// The driver's `phone_trunc`, sealed under a key derived from the secret.
    pub driver_phone_sealed: Option<Vec<u8>>,
    /// The driver's identity-key pseudonym.
    pub driver_identity_key: Option<[u8; 16]>,
    pub status: JourneyStatus,
    /// The CEE application that refers to this journey.
    pub application: Option<[u8; 16]>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// An error journal entry.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct JournalRecord {
    pub kind: JournalKind,
    pub operator_id: u32,
    pub journey_type: JourneyType,
    pub at: i64,
    pub application: Option<[u8; 16]>,
}

/// An audit journal entry: who did what, when, to which applications — never an identifier
/// (phone, name, licence, identity key), a pseudonym or a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AuditRecord {
    pub action: AuditAction,
    pub operator_id: u32,
    /// When (UTC ms).
    pub at: i64,
    /// Registered, Deleted: the application.
    pub application: Option<[u8; 16]>,
    /// Registered, Deleted: its journey type (an import may mix both).
    pub journey_type: Option<JourneyType>,
    /// Imported: the import segment written.
    pub segment: Option<u64>,
    /// Imports: how many rows were imported (1 for Registered and Deleted).
    pub rows: u32,
    /// IdentityImported, StandardizedImported: the applications written, in uuid order
    /// (imported specific rows are named by `segment`).
    pub uuids: Vec<[u8; 16]>,
}

/// One identity index entry: which application, of which kind, dated when, is reachable by
/// which pseudonym.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IndexEntry {
    pub id_kind: IdKind,
    pub pseudonym: Pseudonym,
    pub journey_type: JourneyType,
    pub datetime: i64,
    pub app: [u8; 16],
    pub app_kind: AppKind,
    pub operator: u32,
}

/// One imported row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SegmentRow {
    pub journey_type: JourneyType,
    pub datetime: i64,
    pub name_phone: [u8; 16],
}

impl SegmentRow {
    /// A purged row's place (see `segment.rs`): no pseudonym, the earliest instant. A real
    /// row cannot look like this (its pseudonym would be a 128-bit hash equal to zero).
    pub(crate) const HOLE: SegmentRow = SegmentRow {
        journey_type: JourneyType::Short,
        datetime: HOLE_DATETIME,
        name_phone: [0; 16],
    };

    /// Is this row a hole left by a purge?
    pub(crate) fn is_hole(&self) -> bool {
        *self == Self::HOLE
    }
}

/// 0000-01-01T00:00:00Z in ms: `Timestamp::MIN`, the earliest instant a row may hold.
pub(crate) const HOLE_DATETIME: i64 = -62_167_219_200_000;

/// The rows of one import call, all from one operator at one instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Segment {
    pub id: u64,
    pub operator: u32,
    pub created_at: i64,
    pub rows: Vec<SegmentRow>,
}
