//! Past standardized applications (SPEC §11.2): [`Engine::import_standardized`], and the uuids
//! the engine draws so that they never name a kept one (DESIGN.md "Format 3").

use std::collections::HashSet;
use std::fmt;

use super::applications::{check_batch_len, field};
use super::audit::{Audit, AuditAction};
use super::types::{FailedRow, ImportReport, Operator};
use super::{record_entries, Engine, Inner};
use crate::error::{Error, FieldErrors};
use crate::fields::{
    ApplicationId, DrivingLicense, IdentityKey, JourneyType, LastNameTrunc, OperatorJourneyId,
    PhoneTrunc, Timestamp,
};
use crate::identity::Pseudonym;
use crate::store::{
    is_imported_uuid, AppKind, AppRecord, ChangeSet, PastApplication, Reads, Segment, UuidMask,
    WriteTxn,
};

/// Longest kept `token` accepted (an RSA-4096 signature in base64 is 684 characters).
pub const MAX_TOKEN_LEN: usize = 1024;

/// Draws of a fresh id before giving up (each repeat has probability 2⁻¹²² or less).
const DRAWS: usize = 16;

/// One past standardized application, as sent (validated row by row): what its operator holds
/// from the decommissioned registry.
///
/// `Debug` shows no identifier (phone, name, licence, identity key) and no token.
#[derive(Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StandardizedRow {
    /// `short` or `long`.
    pub journey_type: String,
    /// Operation date (RFC 3339 with offset): the journey's end (short), the payment (long).
    pub datetime: String,
    /// Truncated last name of the driver.
    pub last_name_trunc: String,
    /// Truncated phone of the driver.
    pub phone_trunc: String,
    /// Driving licence of the driver.
    pub driving_license: String,
    /// Identity key of the driver; with one, the application no longer matches by name and
    /// phone (SPEC §5).
    pub identity_key: Option<String>,
    /// The application's uuid at the old registry, kept (`find`/`delete` take it); a fresh v4
    /// uuid when absent.
    pub uuid: Option<String>,
    /// When the driver applied (default: `datetime`).
    pub application_timestamp: Option<String>,
    /// Short only: the journey it was registered on (no journey record is needed).
    pub operator_journey_id: Option<String>,
    /// The token the old registry signed, kept verbatim (returned by `find`).
    pub token: Option<String>,
}

impl fmt::Debug for StandardizedRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StandardizedRow")
            .field("journey_type", &self.journey_type)
            .field("datetime", &self.datetime)
            .field("uuid", &self.uuid)
            .field("application_timestamp", &self.application_timestamp)
            .field("operator_journey_id", &self.operator_journey_id)
            .finish_non_exhaustive()
    }
}

/// A row that passed validation: what the write needs.
struct Valid {
    index: usize,
    jt: JourneyType,
    datetime: Timestamp,
    uuid: Option<ApplicationId>,
    record: AppRecord,
    license: Pseudonym,
}

/// Is `s` an acceptable kept token: 1 to [`MAX_TOKEN_LEN`] visible ASCII characters?
fn token_ok(s: &str) -> bool {
    (1..=MAX_TOKEN_LEN).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_graphic())
}

impl Engine {
    /// Imports past *standardized* applications (1 to 1000 rows) made at the decommissioned
    /// registry, so that they keep blocking their beneficiaries for the standardized windows
    /// (SPEC §11.2).
    ///
    /// Each accepted row becomes a standardized application of the caller, matched by SPEC §5
    /// like a registration (by name and phone only when it has no identity key; by licence;
    /// by identity key), under its kept `uuid` (or a fresh one) with its kept `token`. No date
    /// window, period or delay rule applies. A row fails with its field errors, or with
    /// `Conflict` when its uuid names an existing application (or an earlier row of the call)
    /// or when the caller already has an application of that type with the same licence and
    /// `datetime` (also earlier in the call). The accepted rows of a call are stored
    /// atomically (one change set), durable when the call returns
    /// ([`Durability::Immediate`](crate::Durability)).
    ///
    /// ```
    /// use cee_eligibility::{Config, Engine, Operator, SimulateRequest, StandardizedRow};
    /// let engine = Engine::open(Config::temporary())?;
    /// let (a, b) = (Operator::new(1, "89248032800012".parse()?), Operator::new(2, "12345678901234".parse()?));
    /// let row = StandardizedRow {
    ///     journey_type: "long".into(),
    ///     datetime: "2024-03-01T10:00:00+01:00".into(),
    ///     last_name_trunc: "ABC".into(),
    ///     phone_trunc: "+336273488".into(),
    ///     driving_license: "051227308989".into(),
    ///     uuid: Some("0f8fad5b-d9cb-469f-a165-70867728950e".into()),
    ///     token: Some("c2lnbmVkIGF0IHRoZSBvbGQgcmVnaXN0cnk=".into()),
    ///     ..StandardizedRow::default()
    /// };
    /// assert_eq!(engine.import_standardized(&b, &[row])?.imported, 1);
    /// // Operator A's candidate with the same licence is blocked (12 years for long)...
    /// let sim = engine.simulate(&a, &SimulateRequest {
    ///     journey_type: "long".parse()?,
    ///     phone_trunc: "+336500001".parse()?,
    ///     last_name_trunc: "XYZ".parse()?,
    ///     driving_license: Some("051227308989".parse()?),
    ///     identity_key: None,
    /// })?;
    /// assert!(!sim.is_eligible());
    /// // ...and B finds its application by its old uuid, with its token.
    /// let app = engine.find(&b, &"0f8fad5b-d9cb-469f-a165-70867728950e".parse()?)?;
    /// assert_eq!(app.token.as_deref(), Some("c2lnbmVkIGF0IHRoZSBvbGQgcmVnaXN0cnk="));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Invalid`] when `rows` is empty or longer than 1000; storage and corruption
    /// errors (nothing is stored then).
    #[tracing::instrument(level = "debug", skip_all, fields(operator = op.id, rows = rows.len()))]
    pub fn import_standardized(
        &self,
        op: &Operator,
        rows: &[StandardizedRow],
    ) -> Result<ImportReport<StandardizedRow>, Error> {
        check_batch_len(rows.len())?;
        let inner = &*self.inner;
        let now = inner.clock.now().as_millis();
        // Validation and hashing need no lock: do them first.
        let mut failed = Vec::new();
        let mut valid = Vec::with_capacity(rows.len());
        for (index, row) in rows.iter().enumerate() {
            match inner.validate_standardized(op, row, now) {
                Ok(mut v) => {
                    v.index = index;
                    valid.push(v);
                }
                Err((errors, datetime, applied)) => failed.push(FailedRow {
                    index,
                    row: canonical(row, datetime, applied),
                    error: errors.to_string(),
                }),
            }
        }
        let imported = inner.write(|txn| {
            let mut uuids = HashSet::with_capacity(valid.len());
            let mut dates = HashSet::with_capacity(valid.len());
            let mut changes = ChangeSet::default();
            for v in valid {
                let uuid = match v.uuid {
                    Some(u) => {
                        let u = *u.as_bytes();
                        (!uuids.contains(&u) && txn.app(&u)?.is_none()).then_some(u)
                    }
                    None => Some(fresh_uuid(txn, &uuids, ApplicationId::new_random)?),
                };
                let date = (v.jt, v.license.0, v.datetime.as_millis());
                let duplicate = dates.contains(&date)
                    || inner.index.standardized_at(&v.license, op.id, v.jt, date.2);
                let Some(uuid) = uuid.filter(|_| !duplicate) else {
                    let row = &rows[v.index];
                    failed.push(FailedRow {
                        index: v.index,
                        row: canonical(row, Some(v.datetime), v.record.application_timestamp),
                        error: "Conflict".into(),
                    });
                    continue;
                };
                uuids.insert(uuid);
                dates.insert(date);
                changes.index.added.extend(record_entries(&uuid, &v.record));
                changes.apps.push((uuid, v.record));
            }
            let imported = changes.apps.len();
            tracing::debug!(imported, "standardized import checked");
            if imported > 0 {
                let audit = Audit {
                    action: AuditAction::StandardizedImported,
                    operator_id: op.id,
                    application: None,
                    segment: None,
                    rows: imported,
                    uuids: changes.apps.iter().map(|(u, _)| *u).collect(),
                };
                changes.audit.push(inner.audit(txn, audit)?);
            }
            Ok((imported, changes))
        })?;
        failed.sort_by_key(|f| f.index);
        Ok(ImportReport {
            imported,
            failed: failed.len(),
            failed_details: failed,
        })
    }
}

/// The row as sent, its datetimes in canonical form where they parsed.
fn canonical(
    row: &StandardizedRow,
    datetime: Option<Timestamp>,
    applied: Option<i64>,
) -> StandardizedRow {
    let mut sent = row.clone();
    if let Some(d) = datetime {
        sent.datetime = d.to_string();
    }
    if let (Some(_), Some(t)) = (
        &row.application_timestamp,
        applied.and_then(Timestamp::from_millis),
    ) {
        sent.application_timestamp = Some(t.to_string());
    }
    sent
}

/// Field errors of a row, and its datetimes where they parsed (to echo them canonical).
type Invalid = (FieldErrors, Option<Timestamp>, Option<i64>);

impl Inner {
    /// Validates one row (every field, errors named) and builds its record.
    fn validate_standardized(
        &self,
        op: &Operator,
        row: &StandardizedRow,
        now: i64,
    ) -> Result<Valid, Invalid> {
        let mut e = FieldErrors::default();
        let jt: Option<JourneyType> = field(&mut e, "/journey_type", &row.journey_type);
        let datetime: Option<Timestamp> = field(&mut e, "/datetime", &row.datetime);
        let name: Option<LastNameTrunc> = field(&mut e, "/last_name_trunc", &row.last_name_trunc);
        let phone: Option<PhoneTrunc> = field(&mut e, "/phone_trunc", &row.phone_trunc);
        let license: Option<DrivingLicense> =
            field(&mut e, "/driving_license", &row.driving_license);
        let key: Option<Option<IdentityKey>> = match &row.identity_key {
            None => Some(None),
            Some(s) => field(&mut e, "/identity_key", s).map(Some),
        };
        let uuid: Option<Option<ApplicationId>> = match &row.uuid {
            None => Some(None),
            Some(s) => match field::<ApplicationId>(&mut e, "/uuid", s) {
                Some(u) if u.as_bytes() == &[0; 16] => {
                    e.push("/uuid", "must not be the nil uuid");
                    None
                }
                u => u.map(Some),
            },
        };
        let applied: Option<Option<Timestamp>> = match &row.application_timestamp {
            None => Some(None),
            Some(s) => field(&mut e, "/application_timestamp", s).map(Some),
        };
        let ojid: Option<Option<OperatorJourneyId>> = match &row.operator_journey_id {
            None => Some(None),
            Some(_) if jt == Some(JourneyType::Long) => {
                e.push(
                    "/operator_journey_id",
                    "must be absent for a long application",
                );
                None
            }
            Some(s) => field(&mut e, "/operator_journey_id", s).map(Some),
        };
        let token = match &row.token {
            Some(t) if !token_ok(t) => {
                e.push(
                    "/token",
                    format!("must be 1 to {MAX_TOKEN_LEN} visible ASCII characters"),
                );
                None
            }
            t => Some(t.clone()),
        };
        let applied_ms = applied
            .flatten()
            .or(datetime)
            .map(|t: Timestamp| t.as_millis());
        let (
            Some(jt),
            Some(datetime),
            Some(name),
            Some(phone),
            Some(license),
            Some(key),
            Some(uuid),
            Some(_),
            Some(ojid),
            Some(token),
        ) = (
            jt, datetime, name, phone, license, key, uuid, applied, ojid, token,
        )
        else {
            return Err((e, datetime, applied_ms));
        };
        let license = self.keys.license(&license);
        let record = AppRecord {
            kind: AppKind::Standardized,
            journey_type: jt,
            operator_id: op.id,
            datetime: datetime.as_millis(),
            created_at: now,
            application_timestamp: applied_ms,
            journey: None,
            token,
            deleted_at: None,
            name_phone: self.keys.name_phone(&phone, &name).0,
            license: Some(license.0),
            identity_key: key.map(|k| self.keys.identity_key(&k).0),
            past: Some(PastApplication {
                operator_journey_id: ojid.map(|o| o.as_str().to_owned()),
            }),
        };
        Ok(Valid {
            index: 0,
            jt,
            datetime,
            uuid,
            record,
            license,
        })
    }

    /// Does a row of `seg` (uuids under `mask`) name a kept uuid of the v7 shape? Then the
    /// segment must take another id (DESIGN.md "Format 3").
    pub(super) fn names_kept(&self, seg: &Segment, mask: &UuidMask) -> bool {
        let kept = self.kept_v7();
        !kept.is_empty() && (0..seg.rows.len()).any(|i| kept.contains(&seg.uuid(i, mask)))
    }

    /// Takes ids for `seg` until none of its rows' uuids names a kept one.
    pub(super) fn segment_id(
        &self,
        txn: &mut dyn WriteTxn,
        seg: &mut Segment,
        mask: &UuidMask,
    ) -> Result<(), Error> {
        for _ in 0..DRAWS {
            seg.id = txn.next_id(crate::store::IdSpace::Segment)?;
            if !self.names_kept(seg, mask) {
                return Ok(());
            }
        }
        Err(Error::Config(
            "no segment id whose uuids are free (kept uuids collide)".into(),
        ))
    }

    /// Remembers the kept uuids of the v7 shape among standardized entries (all of a kept
    /// application's entries name it; registered applications are v4).
    pub(super) fn note_kept(&self, added: &[crate::store::IndexEntry]) {
        let mut kept = None;
        for e in added {
            if e.app_kind == AppKind::Standardized && is_imported_uuid(&e.app) {
                kept.get_or_insert_with(|| self.kept_v7()).insert(e.app);
            }
        }
    }
}

/// A random uuid (from `draw`) that names no application, stored or in `taken`.
pub(super) fn fresh_uuid<R: Reads + ?Sized>(
    reads: &R,
    taken: &HashSet<[u8; 16]>,
    mut draw: impl FnMut() -> ApplicationId,
) -> Result<[u8; 16], Error> {
    for _ in 0..DRAWS {
        let u = *draw().as_bytes();
        if !taken.contains(&u) && reads.app(&u)?.is_none() {
            return Ok(u);
        }
    }
    Err(Error::Config(
        "no free uuid drawn (the random source repeats)".into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::engine::{Config, ImportRow, SimulateRequest, Simulation};
    use crate::identity::Keys;
    use crate::store::SegmentRow;

    const SECRET: [u8; 32] = [7; 32];

    /// A kept uuid of the v7 shape that a new segment's first row would have been named:
    /// the segment takes another id, so the row and the kept application keep apart.
    #[test]
    fn a_new_segment_never_names_a_kept_uuid() -> Result<(), Box<dyn std::error::Error>> {
        let now: Timestamp = "2026-12-01T12:00:00Z".parse()?;
        let engine = Engine::open(
            Config::temporary()
                .secret(SECRET)
                .clock(ManualClock::new(now)),
        )?;
        let mask = UuidMask::of(&Keys::new(&SECRET), now.as_millis());
        let row0 = |id| {
            Segment {
                id,
                operator: 1,
                created_at: now.as_millis(),
                rows: vec![SegmentRow {
                    journey_type: JourneyType::Long,
                    datetime: 0,
                    name_phone: [0; 16],
                }],
            }
            .uuid(0, &mask)
        };
        // The uuids the first segments' first rows would get, whatever the counter's start.
        let kept: Vec<ApplicationId> = (0..4)
            .map(|id| ApplicationId::from_bytes(row0(id)))
            .collect();
        let op = Operator::new(1, "89248032800012".parse()?);
        let rows: Vec<StandardizedRow> = kept
            .iter()
            .enumerate()
            .map(|(i, u)| StandardizedRow {
                journey_type: "short".into(),
                datetime: "2024-01-01T00:00:00Z".into(),
                last_name_trunc: "ABC".into(),
                phone_trunc: "+336273488".into(),
                driving_license: format!("LIC{i}"),
                uuid: Some(u.to_string()),
                ..StandardizedRow::default()
            })
            .collect();
        assert_eq!(engine.import_standardized(&op, &rows)?.imported, 4);
        let row = ImportRow {
            journey_type: "long".into(),
            phone_trunc: "+336273488".into(),
            last_name_trunc: "ABC".into(),
            datetime: "2022-01-01T00:00:00Z".into(),
        };
        assert_eq!(engine.import(&op, &[row])?.imported, 1);
        let sim = engine.simulate(
            &op,
            &SimulateRequest {
                journey_type: JourneyType::Long,
                phone_trunc: "+336273488".parse()?,
                last_name_trunc: "ABC".parse()?,
                driving_license: None,
                identity_key: None,
            },
        )?;
        let Simulation::Blocked(c) = sim else {
            panic!("the imported row blocks");
        };
        let imported = c.uuid.ok_or("own uuid")?;
        assert!(!kept.contains(&imported), "a segment row named a kept uuid");
        assert!(engine.find(&op, &imported)?.specific);
        for u in &kept {
            assert!(!engine.find(&op, u)?.specific);
        }
        Ok(())
    }

    /// Registration uuids are drawn again while they name an application.
    #[test]
    fn fresh_uuids_skip_taken_ones() -> Result<(), Box<dyn std::error::Error>> {
        let engine = Engine::open(Config::temporary())?;
        let op = Operator::new(1, "89248032800012".parse()?);
        let taken: ApplicationId = "0f8fad5b-d9cb-469f-a165-70867728950e".parse()?;
        let row = StandardizedRow {
            journey_type: "long".into(),
            datetime: "2024-01-01T00:00:00Z".into(),
            last_name_trunc: "ABC".into(),
            phone_trunc: "+336273488".into(),
            driving_license: "LIC1".into(),
            uuid: Some(taken.to_string()),
            ..StandardizedRow::default()
        };
        engine.import_standardized(&op, &[row])?;
        let other: ApplicationId = "1f8fad5b-d9cb-469f-a165-70867728950e".parse()?;
        let mut draws = [taken, taken, other].into_iter();
        let store = &*engine.inner.store;
        let got = fresh_uuid(store, &HashSet::new(), || draws.next().unwrap_or(other))?;
        assert_eq!(got, *other.as_bytes());
        let got = fresh_uuid(store, &HashSet::from([*other.as_bytes()]), || taken);
        assert!(got.is_err());
        Ok(())
    }
}
