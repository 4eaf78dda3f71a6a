//! Requests and results of the engine's operations.

use std::fmt;

use crate::fields::{
    ApplicationId, Distance, DrivingLicense, GeoCode, IdentityKey, Incentives, JourneyStatus,
    JourneyType, LastNameTrunc, Latitude, Longitude, OperatorClass, OperatorJourneyId, PhoneTrunc,
    Siret, Timestamp,
};
use crate::policy::NotEligible;

/// The carpooling operator on whose behalf an operation runs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Operator {
    /// The operator's numeric id.
    pub id: u32,
    /// The operator's SIRET (signed into tokens).
    pub siret: Siret,
}

impl Operator {
    /// An operator.
    pub fn new(id: u32, siret: Siret) -> Self {
        Operator { id, siret }
    }
}

/// One row of a history import, as sent (validated row by row).
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct ImportRow {
    /// `short` or `long`.
    pub journey_type: String,
    /// Truncated phone number.
    pub phone_trunc: String,
    /// Truncated last name.
    pub last_name_trunc: String,
    /// Operation date (RFC 3339 with offset).
    pub datetime: String,
}

/// One row of an identity import, as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum IdentityRow {
    /// Attach a key to one of the caller's standardized applications.
    Standardized {
        /// The application's uuid.
        cee_application_uuid: String,
        /// The identity key to attach.
        identity_key: String,
    },
    /// Attach a key to one of the caller's imported rows.
    Specific {
        /// The identity key to attach.
        identity_key: String,
        /// Truncated phone of the imported row.
        phone_trunc: String,
        /// Truncated last name of the imported row.
        last_name_trunc: String,
        /// Journey type of the imported row.
        journey_type: String,
        /// Operation date of the imported row.
        datetime: String,
    },
}

/// A row that was not imported, with why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedRow<R> {
    /// Its position in the rows of the call (0-based).
    pub index: usize,
    /// The row as sent (its `datetime` in canonical form when it parsed).
    pub row: R,
    /// Why: field errors (`/phone_trunc: must be …`), `Conflict` or `Not found`.
    pub error: String,
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportReport<R = ImportRow> {
    /// Rows stored.
    pub imported: usize,
    /// Rows refused.
    pub failed: usize,
    /// The refused rows.
    pub failed_details: Vec<FailedRow<R>>,
}

/// A history + dedup look-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimulateRequest {
    /// Type of the planned operation.
    pub journey_type: JourneyType,
    /// Truncated phone of the driver.
    pub phone_trunc: PhoneTrunc,
    /// Truncated last name of the driver.
    pub last_name_trunc: LastNameTrunc,
    /// Driving licence, when known.
    pub driving_license: Option<DrivingLicense>,
    /// Identity key, when known.
    pub identity_key: Option<IdentityKey>,
}

/// Why a conflict was reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConflictReason {
    /// The beneficiary already benefited within the window.
    AlreadyBenefited,
    /// The journey already carries an application (possibly of another beneficiary).
    JourneyTaken,
}

/// The blocking application, as the caller may see it (SPEC §5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// Why.
    pub reason: ConflictReason,
    /// Operation date of the most recent blocking application.
    pub datetime: Timestamp,
    /// Its uuid, only if it belongs to the calling operator.
    pub uuid: Option<ApplicationId>,
    /// Its journey's id (short standardized of the calling operator only).
    pub journey_id: Option<u64>,
    /// Its journey's status (short standardized of the calling operator only).
    pub status: Option<JourneyStatus>,
}

/// The answer to a simulation.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum Simulation {
    /// Nothing blocks.
    Eligible,
    /// Something blocks: the most recent blocking application.
    Blocked(Conflict),
}

impl Simulation {
    /// Is the beneficiary eligible?
    pub fn is_eligible(&self) -> bool {
        matches!(self, Simulation::Eligible)
    }
}

/// What differs between a short and a long registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegisterKind {
    /// Short distance: the claim refers to one of the caller's stored journeys; the phone is
    /// the journey driver's.
    Short {
        /// The journey.
        operator_journey_id: OperatorJourneyId,
    },
    /// Long distance: the claim refers to a payment.
    Long {
        /// Truncated phone of the driver.
        phone_trunc: PhoneTrunc,
        /// Payment date (the reference date `D`).
        datetime: Timestamp,
    },
}

/// A standardized CEE application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterRequest {
    /// Short or long, with the fields of each.
    pub kind: RegisterKind,
    /// Truncated last name of the driver.
    pub last_name_trunc: LastNameTrunc,
    /// Driving licence of the driver.
    pub driving_license: DrivingLicense,
    /// Identity key of the driver.
    pub identity_key: IdentityKey,
    /// When the driver applied.
    pub application_timestamp: Timestamp,
}

impl RegisterRequest {
    /// The journey type of the request.
    pub fn journey_type(&self) -> JourneyType {
        match self.kind {
            RegisterKind::Short { .. } => JourneyType::Short,
            RegisterKind::Long { .. } => JourneyType::Long,
        }
    }
}

/// A date rule that refused a registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DateRule {
    /// Long: the payment date is not strictly inside the operation period `start .. end`
    /// (the policy in force, named in the message).
    OutsidePeriod {
        /// The period's start (`Policy::start_date`).
        start: Timestamp,
        /// The period's end (`Policy::end_date`).
        end: Timestamp,
    },
    /// `application_timestamp` is not in the past.
    ApplicationInFuture,
    /// The trip is less than the registration delay old (`Policy::registration_delay`,
    /// 7 days by default).
    TooRecent {
        /// The configured delay.
        delay: std::time::Duration,
    },
}

impl fmt::Display for DateRule {
    /// The public registry's texts, with the policy in force:
    /// `Date should be before 7 days from now` for the default delay.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DateRule::OutsidePeriod { start, end } => write!(
                f,
                "Date should be between the start and end of the operation ({start} .. {end})"
            ),
            DateRule::ApplicationInFuture => {
                f.write_str("Application timestamp should be in the past")
            }
            DateRule::TooRecent { delay } => {
                let secs = delay.as_secs();
                if secs.is_multiple_of(86_400) && delay.subsec_nanos() == 0 {
                    write!(f, "Date should be before {} days from now", secs / 86_400)
                } else {
                    write!(f, "Date should be before {secs} seconds from now")
                }
            }
        }
    }
}

/// Why a registration was refused (an expected outcome, not an error).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// A date rule (HTTP 400).
    Date(DateRule),
    /// The caller has no such journey (HTTP 404).
    JourneyNotFound,
    /// The journey is not eligible (HTTP 404).
    JourneyNotEligible(NotEligible),
    /// Already benefited, or journey taken (HTTP 409).
    Conflict(Conflict),
}

/// A successful registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    /// The new application's id.
    pub uuid: ApplicationId,
    /// The reference date `D`.
    pub datetime: Timestamp,
    /// Signed token (base64).
    pub token: String,
    /// Short: the journey's id.
    pub journey_id: Option<u64>,
    /// Short: the journey's status.
    pub status: Option<JourneyStatus>,
}

/// The outcome of a registration.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum RegisterOutcome {
    /// Registered and durable.
    Registered(Registration),
    /// Refused.
    Refused(Refusal),
}

/// One of the caller's applications, read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Application {
    /// Its id.
    pub uuid: ApplicationId,
    /// Specific (imported) or standardized.
    pub specific: bool,
    /// Short or long.
    pub journey_type: JourneyType,
    /// Operation date.
    pub datetime: Timestamp,
    /// Short: the journey's id.
    pub journey_id: Option<u64>,
    /// Short: the journey's current status.
    pub status: Option<JourneyStatus>,
    /// Standardized: the signed token.
    pub token: Option<String>,
}

/// A journey point.
#[derive(Debug, Clone, PartialEq)]
pub struct JourneyPoint {
    /// When.
    pub datetime: Timestamp,
    /// Latitude.
    pub lat: Latitude,
    /// Longitude.
    pub lon: Longitude,
    /// INSEE code, when the host knows it (decides "in France" over the coordinates).
    pub geo_code: Option<GeoCode>,
}

/// The driver of a journey.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Driver {
    /// Truncated phone (a full phone is truncated by the façade before it gets here).
    pub phone_trunc: Option<PhoneTrunc>,
    /// Identity key.
    pub identity_key: Option<IdentityKey>,
}

/// A carpool journey, as the operator sends it.
#[derive(Debug, Clone, PartialEq)]
pub struct Journey {
    /// The operator's id for the journey.
    pub operator_journey_id: OperatorJourneyId,
    /// The operator's id for the trip.
    pub operator_trip_id: Option<OperatorJourneyId>,
    /// Proof class.
    pub operator_class: OperatorClass,
    /// Start.
    pub start: JourneyPoint,
    /// End.
    pub end: JourneyPoint,
    /// Distance.
    pub distance: Distance,
    /// Incentives.
    pub incentives: Incentives,
    /// Driver.
    pub driver: Driver,
}

/// A correction of a journey (the body of `PATCH /journeys/{id}`); `None` keeps a field.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct JourneyPatch {
    /// New trip id.
    pub operator_trip_id: Option<OperatorJourneyId>,
    /// New class.
    pub operator_class: Option<OperatorClass>,
    /// New incentives.
    pub incentives: Option<Incentives>,
    /// New start.
    pub start: Option<JourneyPoint>,
    /// New end.
    pub end: Option<JourneyPoint>,
    /// New distance.
    pub distance: Option<Distance>,
}

/// A stored journey, read back (without its driver's identifiers).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredJourney {
    /// Internal id (the `journey_id` of registrations).
    pub journey_id: u64,
    /// The operator's id.
    pub operator_journey_id: OperatorJourneyId,
    /// Class.
    pub operator_class: OperatorClass,
    /// Start time.
    pub start_datetime: Timestamp,
    /// End time.
    pub end_datetime: Timestamp,
    /// Distance in metres.
    pub distance: u32,
    /// Status.
    pub status: JourneyStatus,
    /// The CEE application referring to it.
    pub application: Option<ApplicationId>,
}

pub use crate::store::JournalKind;

/// One register failure (no identifier in it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalEntry {
    /// What kind of failure.
    pub kind: JournalKind,
    /// The calling operator.
    pub operator_id: u32,
    /// Short or long.
    pub journey_type: JourneyType,
    /// When.
    pub at: Timestamp,
    /// For same-operator conflicts, the blocking application.
    pub application: Option<ApplicationId>,
}

/// Counts for `cee stats`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Stats {
    /// Active specific applications (short, long).
    pub specific: (u64, u64),
    /// Active standardized applications (short, long).
    pub standardized: (u64, u64),
    /// Deleted applications (tombstones).
    pub deleted: u64,
    /// Stored journeys.
    pub journeys: u64,
    /// Identity index entries (pseudonyms, entries) in memory.
    pub index: (usize, usize),
    /// Error journal entries.
    pub journal: u64,
    /// Bytes on disk.
    pub size_on_disk: u64,
}

/// What [`Engine::purge`](crate::Engine::purge) removed (or, for a dry run, would remove).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct PurgeReport {
    /// Counted only: nothing was written.
    pub dry_run: bool,
    /// Import segments removed whole (every row expired or superseded).
    pub segments_dropped: u64,
    /// Import segments rewritten in place, expired rows turned into holes.
    pub segments_rewritten: u64,
    /// Imported rows removed (expired, not superseded by a record).
    pub rows_removed: u64,
    /// Application records removed: expired registered applications and expired overrides
    /// of imported rows.
    pub records_removed: u64,
    /// Tombstones (deleted applications) whose pseudonyms and token were scrubbed.
    pub tombstones_scrubbed: u64,
    /// Journeys removed (no live application, ended before the horizon).
    pub journeys_removed: u64,
    /// Journal entries removed, error and audit (older than the journal retention).
    pub journal_removed: u64,
    /// In-memory index entries removed (stored ones and those implied by segment rows).
    pub index_entries_removed: u64,
    /// The horizon: nothing that could block a candidate at a reference date at or after it
    /// was removed.
    #[serde(serialize_with = "serialize_display")]
    pub horizon: Timestamp,
    /// Bytes on disk before the purge (sled reclaims space lazily, so the figure after may
    /// not drop at once).
    pub bytes_before: u64,
    /// Bytes on disk after the purge.
    pub bytes_after: u64,
}

fn serialize_display<S: serde::Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(t)
}
