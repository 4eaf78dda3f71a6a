//! CEE applications: import, identity import, simulate, register, find, delete, journal.

use std::collections::{HashMap, HashSet};

use super::audit::{Audit, AuditAction};
use super::types::*;
use super::{import_key, record_entries, segment_entry, Engine, Inner};
use crate::error::{Error, FieldErrors};
use crate::fields::{
    ApplicationId, FieldError, IdentityKey, JourneyType, LastNameTrunc, PhoneTrunc, Timestamp,
};
use crate::identity::Pseudonym;
use crate::policy::Prior;
use crate::store::{
    AppKind, AppRecord, ChangeSet, IdSpace, ImportKey, IndexEntry, JournalId, JournalRecord,
    JourneyRecord, Origin, Reads, Segment, SegmentRow, UuidMask, WriteTxn,
};
use crate::token;

/// Most rows accepted by one import call (SPEC §6): [`Engine::import`] and
/// [`Engine::import_identity`] refuse more, the façade and `cee import` send no more.
pub const MAX_IMPORT_ROWS: usize = 1000;

pub(super) fn check_batch_len(n: usize) -> Result<(), Error> {
    if (1..=MAX_IMPORT_ROWS).contains(&n) {
        Ok(())
    } else {
        let mut e = FieldErrors::default();
        e.push(
            "",
            format!("must be an array of 1 to {MAX_IMPORT_ROWS} rows"),
        );
        Err(Error::Invalid(e))
    }
}

/// Parses a field, collecting its error under `path`.
pub(super) fn field<T: std::str::FromStr<Err = FieldError>>(
    errors: &mut FieldErrors,
    path: &str,
    raw: &str,
) -> Option<T> {
    match raw.parse() {
        Ok(v) => Some(v),
        Err(e) => {
            errors.push(path, e.expected());
            None
        }
    }
}

impl Engine {
    /// Bulk-loads historical *specific* applications (1 to 1000 rows).
    ///
    /// Each row is validated on its own; invalid rows and rows already imported by this
    /// operator (same journey type, phone and name — in an earlier call or earlier in this
    /// one) are reported in `failed_details`, the others stored. All stored rows of one call
    /// become durable together, in one atomic batch.
    ///
    /// # Errors
    /// [`Error::Invalid`] when `rows` is empty or longer than 1000; storage errors.
    #[tracing::instrument(level = "debug", skip_all, fields(operator = op.id, rows = rows.len()))]
    pub fn import(&self, op: &Operator, rows: &[ImportRow]) -> Result<ImportReport, Error> {
        check_batch_len(rows.len())?;
        let inner = &*self.inner;
        let now = inner.clock.now().as_millis();
        let mut report = ImportReport {
            imported: 0,
            failed: 0,
            failed_details: Vec::new(),
        };
        // Validation and hashing need no lock: do them first.
        let (accepted, mut failed) = inner.parse_import_rows(rows);
        let mut seen = HashSet::with_capacity(accepted.len());
        let mut seg = Segment {
            id: 0,
            operator: op.id,
            created_at: now,
            rows: Vec::with_capacity(accepted.len()),
        };
        report.imported = inner.write(|txn| {
            let keyed = inner.keyed_imports();
            for (i, row, jt, np, datetime) in accepted {
                let ik: ImportKey = (op.id, jt, np.0);
                if !seen.insert(ik)
                    || keyed.contains(&ik)
                    || inner.imported_by(&np, op.id, jt).is_some()
                {
                    failed.push((
                        i,
                        FailedRow {
                            index: i,
                            row: canonical_row(row, Some(datetime)),
                            error: "Conflict".into(),
                        },
                    ));
                    continue;
                }
                seg.rows.push(SegmentRow {
                    journey_type: jt,
                    datetime: datetime.as_millis(),
                    name_phone: np.0,
                });
            }
            drop(keyed);
            let imported = seg.rows.len();
            tracing::debug!(imported, "import checked");
            let mut changes = ChangeSet::default();
            if imported > 0 {
                let mask = UuidMask::of(&inner.keys, seg.created_at);
                // An id whose rows' uuids name no kept (imported standardized) application.
                inner.segment_id(txn, &mut seg, &mask)?;
                changes.index.implied = seg
                    .rows
                    .iter()
                    .enumerate()
                    .map(|(i, row)| segment_entry(seg.operator, row, seg.uuid(i, &mask)))
                    .collect();
                let audit = Audit {
                    action: AuditAction::Imported,
                    operator_id: op.id,
                    application: None,
                    segment: Some(seg.id),
                    rows: imported,
                    uuids: Vec::new(),
                };
                changes.audit.push(inner.audit(txn, audit)?);
                changes.segments.push(seg);
            }
            Ok((imported, changes))
        })?;
        failed.sort_by_key(|(i, _)| *i);
        report.failed_details = failed.into_iter().map(|(_, f)| f).collect();
        report.failed = report.failed_details.len();
        Ok(report)
    }

    /// Attaches identity keys to the caller's stored applications that have none (1 to 1000
    /// rows). Once it has a key, an application no longer matches by name and phone.
    ///
    /// # Errors
    /// [`Error::Invalid`] when `rows` is empty or longer than 1000; storage errors.
    #[tracing::instrument(level = "debug", skip_all, fields(operator = op.id, rows = rows.len()))]
    pub fn import_identity(
        &self,
        op: &Operator,
        rows: &[IdentityRow],
    ) -> Result<ImportReport<IdentityRow>, Error> {
        check_batch_len(rows.len())?;
        let inner = &*self.inner;
        let mut report = ImportReport {
            imported: 0,
            failed: 0,
            failed_details: Vec::new(),
        };
        inner.write(|txn| {
            // Records changed by this call, so a later row sees an earlier one's key.
            let mut changed: HashMap<[u8; 16], (AppRecord, Vec<IndexEntry>)> = HashMap::new();
            for (index, row) in rows.iter().enumerate() {
                let mut errors = FieldErrors::default();
                let mut sent = row.clone();
                let target = inner.identity_target(op, row, &mut sent, &mut errors);
                let Some((uuid, key, expected_dt)) = target else {
                    report.failed_details.push(FailedRow {
                        index,
                        row: sent,
                        error: errors.to_string(),
                    });
                    continue;
                };
                let current = match changed.get(&uuid) {
                    Some((r, _)) => Some((r.clone(), Origin::Record)),
                    None => txn.app(&uuid)?,
                };
                let specific = expected_dt.is_some();
                let eligible = current.filter(|(r, _)| {
                    r.operator_id == op.id
                        && r.deleted_at.is_none()
                        && r.identity_key.is_none()
                        && (r.kind == AppKind::Specific) == specific
                        && expected_dt.is_none_or(|d| d.as_millis() == r.datetime)
                });
                let Some((mut record, origin)) = eligible else {
                    report.failed_details.push(FailedRow {
                        index,
                        row: sent,
                        error: "Not found".into(),
                    });
                    continue;
                };
                let old_entries = match changed.remove(&uuid) {
                    Some((_, old)) => old,
                    None => Inner::live_entries(txn, &uuid, &record, origin)?,
                };
                record.identity_key = Some(inner.keys.identity_key(&key).0);
                changed.insert(uuid, (record, old_entries));
                report.imported += 1;
            }
            report.failed = report.failed_details.len();
            let mut changes = ChangeSet::default();
            if !changed.is_empty() {
                let mut uuids: Vec<[u8; 16]> = changed.keys().copied().collect();
                uuids.sort_unstable();
                let audit = Audit {
                    action: AuditAction::IdentityImported,
                    operator_id: op.id,
                    application: None,
                    segment: None,
                    rows: uuids.len(),
                    uuids,
                };
                changes.audit.push(inner.audit(txn, audit)?);
            }
            for (uuid, (record, old)) in changed {
                changes.index.removed.extend(old);
                changes.index.added.extend(record_entries(&uuid, &record));
                if record.kind == AppKind::Specific {
                    changes.index.keyed_added.push(import_key(&record));
                }
                changes.apps.push((uuid, record));
            }
            Ok((report, changes))
        })
    }

    /// History + dedup look-up at reference date now. Writes nothing.
    ///
    /// # Errors
    /// Storage or corruption errors while describing a blocking application of the caller's;
    /// [`Error::Unavailable`] from an engine on a shared registry (PostgreSQL) that could not
    /// synchronise within its staleness bound.
    #[tracing::instrument(level = "trace", skip_all, fields(operator = op.id))]
    pub fn simulate(&self, op: &Operator, req: &SimulateRequest) -> Result<Simulation, Error> {
        let inner = &*self.inner;
        // A shared registry's index may be stale (SPEC §11.5), or being rebuilt: its
        // generation before and after the read must be one even value.
        let generation = inner.store.index_generation();
        if generation % 2 == 1 {
            return Err(Error::Unavailable("the index is being rebuilt"));
        }
        let mut ps = [Pseudonym([0; 16]); 3];
        let mut n = 0;
        ps[n] = inner
            .keys
            .name_phone(&req.phone_trunc, &req.last_name_trunc);
        n += 1;
        if let Some(dl) = &req.driving_license {
            ps[n] = inner.keys.license(dl);
            n += 1;
        }
        if let Some(ik) = &req.identity_key {
            ps[n] = inner.keys.identity_key(ik);
            n += 1;
        }
        let found =
            inner.most_recent_blocking(op.id, req.journey_type, inner.clock.now(), &ps[..n]);
        inner.store.fresh()?;
        if inner.store.index_generation() != generation {
            return Err(Error::Unavailable("the index was rebuilt during the read"));
        }
        match found {
            None => Ok(Simulation::Eligible),
            Some(e) => Ok(Simulation::Blocked(inner.describe(
                &*inner.store,
                op,
                &e,
                ConflictReason::AlreadyBenefited,
            )?)),
        }
    }

    /// Checks and durably registers a standardized application; returns a signed token.
    ///
    /// The checks run in SPEC §6 order; a refusal is a value ([`RegisterOutcome::Refused`]) and
    /// is appended to the error journal. Check and insert are atomic: of concurrent matching
    /// registrations exactly one succeeds.
    ///
    /// # Errors
    /// [`Error::Invalid`] when a short journey has no driver phone; storage and corruption
    /// errors.
    #[tracing::instrument(level = "debug", skip_all, fields(operator = op.id, journey_type = %req.journey_type()))]
    pub fn register(&self, op: &Operator, req: &RegisterRequest) -> Result<RegisterOutcome, Error> {
        let inner = &*self.inner;
        let jt = req.journey_type();
        inner.write(|txn| {
            let (outcome, mut changes) = inner.register_locked(txn, op, req)?;
            match &outcome {
                RegisterOutcome::Registered(r) => {
                    tracing::debug!("registered");
                    let audit = Audit {
                        action: AuditAction::Registered,
                        operator_id: op.id,
                        application: Some((*r.uuid.as_bytes(), jt)),
                        segment: None,
                        rows: 1,
                        uuids: Vec::new(),
                    };
                    changes.audit.push(inner.audit(txn, audit)?);
                }
                RegisterOutcome::Refused(r) => {
                    tracing::debug!(refusal = ?RefusalKind::from(r), "refused")
                }
            }
            if let RegisterOutcome::Refused(refusal) = &outcome {
                let (kind, application) = match refusal {
                    Refusal::Date(_) => (JournalKind::Date, None),
                    Refusal::JourneyNotFound | Refusal::JourneyNotEligible(_) => {
                        (JournalKind::NotFound, None)
                    }
                    Refusal::Conflict(c) => (JournalKind::Conflict, c.uuid),
                };
                changes
                    .journal
                    .push(inner.journal_entry(txn, op, jt, kind, application)?);
            }
            Ok((outcome, changes))
        })
    }

    /// One of the caller's applications.
    ///
    /// # Errors
    /// [`Error::NotFound`] (absent or deleted), [`Error::Forbidden`] (another operator's).
    pub fn find(&self, op: &Operator, uuid: &ApplicationId) -> Result<Application, Error> {
        let inner = &*self.inner;
        let r = inner
            .get_app(uuid.as_bytes())?
            .filter(|r| r.deleted_at.is_none())
            .ok_or(Error::NotFound {
                what: "application",
            })?;
        if r.operator_id != op.id {
            return Err(Error::Forbidden {
                what: "application",
            });
        }
        let status = match &r.journey {
            Some((_, ojid)) => inner.get_journey(op.id, ojid)?.map(|j| j.status),
            None => None,
        };
        Ok(Application {
            uuid: *uuid,
            specific: r.kind == AppKind::Specific,
            journey_type: r.journey_type,
            datetime: Timestamp::from_millis(r.datetime).unwrap_or(Timestamp::MIN),
            journey_id: r.journey.as_ref().map(|(id, _)| *id),
            status,
            token: r.token,
        })
    }

    /// Withdraws one of the caller's applications: it stops blocking anyone (a tombstone
    /// with `deleted_at` is kept), and its journey may carry a new application.
    ///
    /// # Errors
    /// [`Error::NotFound`] when absent, already deleted or another operator's.
    pub fn delete(&self, op: &Operator, uuid: &ApplicationId) -> Result<(), Error> {
        let inner = &*self.inner;
        let u = *uuid.as_bytes();
        inner.write(|txn| {
            let (mut r, origin) = txn
                .app(&u)?
                .filter(|(r, _)| r.deleted_at.is_none() && r.operator_id == op.id)
                .ok_or(Error::NotFound {
                    what: "application",
                })?;
            let mut changes = ChangeSet::default();
            changes.index.removed = Inner::live_entries(txn, &u, &r, origin)?;
            if let Some((_, ojid)) = &r.journey {
                if let Some(mut j) = txn.journey(op.id, ojid)? {
                    if j.application == Some(u) {
                        j.application = None;
                        changes.journeys.push((op.id, j));
                    }
                }
            }
            r.deleted_at = Some(inner.clock.now().as_millis());
            if r.kind == AppKind::Specific {
                // Deleted, it may be imported again.
                changes.index.keyed_removed.push(import_key(&r));
            }
            let audit = Audit {
                action: AuditAction::Deleted,
                operator_id: op.id,
                application: Some((u, r.journey_type)),
                segment: None,
                rows: 1,
                uuids: Vec::new(),
            };
            changes.audit.push(inner.audit(txn, audit)?);
            changes.apps.push((u, r));
            Ok(((), changes))
        })
    }

    /// The register failures journal, oldest first (no identifier in it).
    ///
    /// # Errors
    /// Storage or corruption errors.
    pub fn error_journal(&self) -> Result<Vec<JournalEntry>, Error> {
        let journal = self.inner.store.journal()?;
        Ok(journal.into_iter().map(|(_, r)| journal_entry(r)).collect())
    }

    /// Counts of what the database holds.
    ///
    /// # Errors
    /// Storage or corruption errors.
    pub fn stats(&self) -> Result<Stats, Error> {
        let inner = &*self.inner;
        let census = inner.store.census()?;
        let mut s = Stats {
            index: inner.index.len(),
            size_on_disk: census.size_on_disk,
            journeys: census.journeys,
            journal: census.journal,
            ..Stats::default()
        };
        inner.store.for_each_app(&mut |r| {
            let slot = match (r.deleted_at.is_some(), r.kind == AppKind::Specific) {
                (true, _) => {
                    s.deleted += 1;
                    return;
                }
                (false, true) => &mut s.specific,
                (false, false) => &mut s.standardized,
            };
            if r.journey_type == JourneyType::Long {
                slot.1 += 1;
            } else {
                slot.0 += 1;
            }
        })?;
        Ok(s)
    }
}

/// The public form of an error journal record.
pub(super) fn journal_entry(r: JournalRecord) -> JournalEntry {
    JournalEntry {
        kind: r.kind,
        operator_id: r.operator_id,
        journey_type: r.journey_type,
        at: Timestamp::from_millis(r.at).unwrap_or(Timestamp::MIN),
        application: r.application.map(ApplicationId::from_bytes),
    }
}

/// An import row that parsed: its index, the row, journey type, name+phone pseudonym, date.
type Accepted<'a> = (usize, &'a ImportRow, JourneyType, Pseudonym, Timestamp);

impl Inner {
    /// Validates and pseudonymises import rows: the accepted ones, and the failed ones with
    /// their field errors (by index).
    fn parse_import_rows<'a>(
        &self,
        rows: &'a [ImportRow],
    ) -> (Vec<Accepted<'a>>, Vec<(usize, FailedRow<ImportRow>)>) {
        let mut accepted = Vec::with_capacity(rows.len());
        let mut failed = Vec::new();
        for (i, row) in rows.iter().enumerate() {
            let mut errors = FieldErrors::default();
            let jt: Option<JourneyType> = field(&mut errors, "/journey_type", &row.journey_type);
            let phone: Option<PhoneTrunc> = field(&mut errors, "/phone_trunc", &row.phone_trunc);
            let name: Option<LastNameTrunc> =
                field(&mut errors, "/last_name_trunc", &row.last_name_trunc);
            let datetime: Option<Timestamp> = field(&mut errors, "/datetime", &row.datetime);
            match (jt, phone, name, datetime) {
                (Some(jt), Some(phone), Some(name), Some(datetime)) => {
                    let np = self.keys.name_phone(&phone, &name);
                    accepted.push((i, row, jt, np, datetime));
                }
                _ => failed.push((
                    i,
                    FailedRow {
                        index: i,
                        row: canonical_row(row, datetime),
                        error: errors.to_string(),
                    },
                )),
            }
        }
        (accepted, failed)
    }

    /// Which application an identity row names, and the identity key to attach: `(uuid,
    /// key, Some(datetime) for a specific row)`; `None` (errors in `errors`, the canonical
    /// datetime in `sent`) when a field is invalid. A specific row no longer matching by name
    /// and phone names no application (uuid zero).
    fn identity_target(
        &self,
        op: &Operator,
        row: &IdentityRow,
        sent: &mut IdentityRow,
        errors: &mut FieldErrors,
    ) -> Option<([u8; 16], IdentityKey, Option<Timestamp>)> {
        match row {
            IdentityRow::Standardized {
                cee_application_uuid,
                identity_key,
            } => {
                let uuid: Option<ApplicationId> =
                    field(errors, "/cee_application_uuid", cee_application_uuid);
                let key: Option<IdentityKey> = field(errors, "/identity_key", identity_key);
                Some((*uuid?.as_bytes(), key?, None))
            }
            IdentityRow::Specific {
                identity_key,
                phone_trunc,
                last_name_trunc,
                journey_type,
                datetime,
            } => {
                let key: Option<IdentityKey> = field(errors, "/identity_key", identity_key);
                let phone: Option<PhoneTrunc> = field(errors, "/phone_trunc", phone_trunc);
                let name: Option<LastNameTrunc> =
                    field(errors, "/last_name_trunc", last_name_trunc);
                let jt: Option<JourneyType> = field(errors, "/journey_type", journey_type);
                let dt: Option<Timestamp> = field(errors, "/datetime", datetime);
                if let (IdentityRow::Specific { datetime: d, .. }, Some(t)) = (sent, dt) {
                    *d = t.to_string();
                }
                let (k, p, n, jt, dt) = (key?, phone?, name?, jt?, dt?);
                let np = self.keys.name_phone(&p, &n);
                let uuid = self.imported_by(&np, op.id, jt).unwrap_or([0; 16]);
                Some((uuid, k, Some(dt)))
            }
        }
    }
}

/// A refusal without its details, for logs.
#[derive(Debug)]
enum RefusalKind {
    Date,
    NotFound,
    Conflict,
}

impl From<&Refusal> for RefusalKind {
    fn from(r: &Refusal) -> Self {
        match r {
            Refusal::Date(_) => RefusalKind::Date,
            Refusal::Conflict(_) => RefusalKind::Conflict,
            _ => RefusalKind::NotFound,
        }
    }
}

/// The row as sent, with its datetime in canonical form when it parsed.
fn canonical_row(row: &ImportRow, datetime: Option<Timestamp>) -> ImportRow {
    let mut sent = row.clone();
    if let Some(d) = datetime {
        sent.datetime = d.to_string();
    }
    sent
}

impl Inner {
    /// Describes a blocking entry as the caller may see it (SPEC §5).
    fn describe(
        &self,
        reads: &dyn Reads,
        op: &Operator,
        e: &Prior,
        reason: ConflictReason,
    ) -> Result<Conflict, Error> {
        let datetime = Timestamp::from_millis(e.datetime).unwrap_or(Timestamp::MIN);
        let mut c = Conflict {
            reason,
            datetime,
            uuid: None,
            journey_id: None,
            status: None,
        };
        let show = e.disclosure(op.id);
        if show.uuid {
            c.uuid = Some(ApplicationId::from_bytes(e.app));
        }
        if show.journey {
            if let Some((id, ojid)) = reads.app(&e.app)?.and_then(|(r, _)| r.journey) {
                c.journey_id = Some(id);
                c.status = reads.journey(op.id, &ojid)?.map(|j| j.status);
            }
        }
        Ok(c)
    }

    /// The journal entry of a refusal.
    fn journal_entry(
        &self,
        txn: &mut dyn WriteTxn,
        op: &Operator,
        jt: JourneyType,
        kind: JournalKind,
        application: Option<ApplicationId>,
    ) -> Result<(JournalId, JournalRecord), Error> {
        let at = self.clock.now().as_millis();
        let seq = txn.next_id(IdSpace::Journal)?;
        let record = JournalRecord {
            kind,
            operator_id: op.id,
            journey_type: jt,
            at,
            application: application.map(|a| *a.as_bytes()),
        };
        Ok((JournalId { at, seq }, record))
    }

    /// Register, with the write lock held.
    fn register_locked(
        &self,
        txn: &mut dyn WriteTxn,
        op: &Operator,
        req: &RegisterRequest,
    ) -> Result<(RegisterOutcome, ChangeSet), Error> {
        let now = self.clock.now();
        let jt = req.journey_type();
        let refuse = |r| Ok((RegisterOutcome::Refused(r), ChangeSet::default()));
        // 1. The journey (short) or the period (long); the phone and reference date.
        let (phone, d, journey) = match self.register_subject(&*txn, op, req)? {
            Ok(subject) => subject,
            Err(refusal) => return refuse(refusal),
        };
        // 2. application_timestamp < now.
        if req.application_timestamp >= now {
            return refuse(Refusal::Date(DateRule::ApplicationInFuture));
        }
        // 3. The delay rule.
        if !self.policy.delay_passed(d, now) {
            return refuse(Refusal::Date(DateRule::TooRecent {
                delay: self.policy.registration_delay,
            }));
        }
        // 4. Short: the journey must not carry an application already.
        if let Some(app) = journey.as_ref().and_then(|j| j.application) {
            let r = txn.app(&app)?.map(|(r, _)| r);
            let datetime = r
                .as_ref()
                .map_or(d, |r| Timestamp::from_millis(r.datetime).unwrap_or(d));
            return refuse(Refusal::Conflict(Conflict {
                reason: ConflictReason::JourneyTaken,
                datetime,
                uuid: Some(ApplicationId::from_bytes(app)),
                journey_id: journey.as_ref().map(|j| j.id),
                status: journey.as_ref().map(|j| j.status),
            }));
        }
        // 5. The matching rule.
        let np = self.keys.name_phone(&phone, &req.last_name_trunc);
        let dl = self.keys.license(&req.driving_license);
        let ik = self.keys.identity_key(&req.identity_key);
        if let Some(e) = self.most_recent_blocking(op.id, jt, d, &[np, dl, ik]) {
            return refuse(Refusal::Conflict(self.describe(
                &*txn,
                op,
                &e,
                ConflictReason::AlreadyBenefited,
            )?));
        }
        // Insert: record, index entries and the journey link, in one atomic batch.
        // A random v4 uuid that names no application (a kept one may be any uuid).
        let u = super::standardized::fresh_uuid(&*txn, &HashSet::new(), ApplicationId::new_random)?;
        let new = (ApplicationId::from_bytes(u), [np, dl, ik]);
        Ok(self.registration(op, req, d, now, journey, new))
    }
}

/// What a registration is about: the driver's phone, the reference date `D`, and the journey
/// (short).
type Subject = (PhoneTrunc, Timestamp, Option<JourneyRecord>);

impl Inner {
    /// SPEC §6 step 1: the journey (short: found, eligible, with a driver phone) or the
    /// period (long); `Ok(Err(refusal))` when refused.
    fn register_subject(
        &self,
        reads: &dyn Reads,
        op: &Operator,
        req: &RegisterRequest,
    ) -> Result<Result<Subject, Refusal>, Error> {
        match &req.kind {
            RegisterKind::Short {
                operator_journey_id,
            } => {
                let Some(j) = reads.journey(op.id, operator_journey_id.as_str())? else {
                    return Ok(Err(Refusal::JourneyNotFound));
                };
                if let Err(why) = self.journey_eligibility(&j) {
                    return Ok(Err(Refusal::JourneyNotEligible(why)));
                }
                let Some(phone) = self.driver_phone(&j)? else {
                    let mut e = FieldErrors::default();
                    e.push(
                        "/driver/phone_trunc",
                        "the journey's driver has no phone number",
                    );
                    return Err(Error::Invalid(e));
                };
                let end = Timestamp::from_millis(j.end.datetime).unwrap_or(Timestamp::MAX);
                Ok(Ok((phone, end, Some(j))))
            }
            RegisterKind::Long {
                phone_trunc,
                datetime,
            } => {
                if !self.policy.long_period(*datetime) {
                    return Ok(Err(Refusal::Date(DateRule::OutsidePeriod {
                        start: self.policy.start_date,
                        end: self.policy.end_date,
                    })));
                }
                Ok(Ok((phone_trunc.clone(), *datetime, None)))
            }
        }
    }

    /// The accepted registration: a signed token, the record, its index entries and the
    /// journey link, as one change set. `new`: its uuid (drawn free), and its name+phone,
    /// licence and identity-key pseudonyms.
    fn registration(
        &self,
        op: &Operator,
        req: &RegisterRequest,
        d: Timestamp,
        now: Timestamp,
        journey: Option<JourneyRecord>,
        (uuid, [np, dl, ik]): (ApplicationId, [Pseudonym; 3]),
    ) -> (RegisterOutcome, ChangeSet) {
        let jt = req.journey_type();
        let u = *uuid.as_bytes();
        let token = self
            .signer
            .sign(&token::message(&op.siret, jt, &req.driving_license, d));
        let record = AppRecord {
            kind: AppKind::Standardized,
            journey_type: jt,
            operator_id: op.id,
            datetime: d.as_millis(),
            created_at: now.as_millis(),
            application_timestamp: Some(req.application_timestamp.as_millis()),
            journey: journey
                .as_ref()
                .map(|j| (j.id, j.operator_journey_id.clone())),
            token: Some(token.clone()),
            deleted_at: None,
            name_phone: np.0,
            license: Some(dl.0),
            identity_key: Some(ik.0),
            past: None,
        };
        let mut changes = ChangeSet::default();
        changes.index.added = record_entries(&u, &record);
        changes.apps.push((u, record));
        let registration = Registration {
            uuid,
            datetime: d,
            token,
            journey_id: journey.as_ref().map(|j| j.id),
            status: journey.as_ref().map(|j| j.status),
        };
        if let Some(mut j) = journey {
            j.application = Some(u);
            changes.journeys.push((op.id, j));
        }
        (RegisterOutcome::Registered(registration), changes)
    }
}
