//! The audit journal (issue 13): who registered, deleted or imported what, and when, kept next
//! to the error journal and numbered from the same sequence.
//!
//! Every successful registration, deletion and import call (specific, identity, standardized)
//! adds one entry *in its own change set*, so an entry exists if and only if its write was
//! committed; refusals, failed calls and import calls that import nothing add none. An entry
//! names the operator, the instant, the action and the applications (by uuid, or by import
//! segment for specific rows) — never a phone, name, licence, identity key, pseudonym or token.

use super::Engine;
use super::Inner;
use crate::error::Error;
use crate::fields::{ApplicationId, JourneyType, Timestamp};
use crate::store::{AuditRecord, IdSpace, JournalId, WriteTxn};

pub use crate::store::AuditAction;

use super::types::JournalEntry;

/// One audit journal entry: a write that was committed (no identifier in it).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuditEntry {
    /// What was done.
    pub action: AuditAction,
    /// The calling operator.
    pub operator_id: u32,
    /// When.
    pub at: Timestamp,
    /// [`Registered`](AuditAction::Registered), [`Deleted`](AuditAction::Deleted): the
    /// application.
    pub application: Option<ApplicationId>,
    /// [`Registered`](AuditAction::Registered), [`Deleted`](AuditAction::Deleted): its journey
    /// type (an import call may mix both).
    pub journey_type: Option<JourneyType>,
    /// [`Imported`](AuditAction::Imported): the import segment that holds the rows (their
    /// uuids are computed from it).
    pub segment: Option<u64>,
    /// How many applications the call wrote (1 for a registration or a deletion).
    pub rows: u32,
    /// [`StandardizedImported`](AuditAction::StandardizedImported): the uuids of the rows
    /// imported, in row order; [`IdentityImported`](AuditAction::IdentityImported): the
    /// applications that received an identity key, in uuid order. Empty otherwise.
    pub uuids: Vec<ApplicationId>,
}

/// An entry of either journal, as [`Engine::journal`] lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum JournalItem {
    /// A register refusal ([`Engine::error_journal`]).
    Error(JournalEntry),
    /// A committed write ([`Engine::audit_journal`]).
    Audit(AuditEntry),
}

impl Engine {
    /// The audit journal, oldest first: one entry per successful registration, deletion and
    /// import call (none for refusals or for calls that imported nothing), written atomically
    /// with the write it describes. Entries older than
    /// [`Config::journal_retention`](crate::Config::journal_retention) go at the next
    /// [`purge`](Engine::purge).
    ///
    /// ```
    /// use cee_eligibility::{AuditAction, Config, Engine, ImportRow, Operator};
    /// let engine = Engine::open(Config::temporary())?;
    /// let op = Operator::new(1, "89248032800012".parse()?);
    /// let row = ImportRow {
    ///     journey_type: "long".into(),
    ///     phone_trunc: "+336273488".into(),
    ///     last_name_trunc: "ABC".into(),
    ///     datetime: "2022-01-01T00:00:00Z".into(),
    /// };
    /// engine.import(&op, &[row.clone()])?;
    /// engine.import(&op, &[row])?; // a duplicate: nothing imported, nothing journaled
    /// let audit = engine.audit_journal()?;
    /// assert_eq!(audit.len(), 1);
    /// assert_eq!((audit[0].action, audit[0].operator_id, audit[0].rows), (AuditAction::Imported, 1, 1));
    /// assert!(audit[0].segment.is_some());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// Storage or corruption errors.
    pub fn audit_journal(&self) -> Result<Vec<AuditEntry>, Error> {
        Ok(self
            .inner
            .store
            .audit()?
            .into_iter()
            .map(|(_, r)| audit_entry(r))
            .collect())
    }

    /// Both journals merged in journal order (time, then sequence number): register refusals
    /// and committed writes, oldest first.
    ///
    /// # Errors
    /// Storage or corruption errors.
    pub fn journal(&self) -> Result<Vec<JournalItem>, Error> {
        let store = &self.inner.store;
        let errors = store.journal()?.into_iter().map(|(id, r)| {
            let e = super::applications::journal_entry(r);
            (key(id), JournalItem::Error(e))
        });
        let audit = store
            .audit()?
            .into_iter()
            .map(|(id, r)| (key(id), JournalItem::Audit(audit_entry(r))));
        let mut all: Vec<_> = errors.chain(audit).collect();
        // Each list is already sorted; a stable sort of the two keeps it simple.
        all.sort_by_key(|(k, _)| *k);
        Ok(all.into_iter().map(|(_, item)| item).collect())
    }
}

fn key(id: JournalId) -> (i64, u64) {
    (id.at, id.seq)
}

fn audit_entry(r: AuditRecord) -> AuditEntry {
    AuditEntry {
        action: r.action,
        operator_id: r.operator_id,
        at: Timestamp::from_millis(r.at).unwrap_or(Timestamp::MIN),
        application: r.application.map(ApplicationId::from_bytes),
        journey_type: r.journey_type,
        segment: r.segment,
        rows: r.rows,
        uuids: r.uuids.into_iter().map(ApplicationId::from_bytes).collect(),
    }
}

/// What an audit entry says, before it gets its id.
pub(super) struct Audit {
    pub action: AuditAction,
    pub operator_id: u32,
    pub application: Option<([u8; 16], JourneyType)>,
    pub segment: Option<u64>,
    pub rows: usize,
    pub uuids: Vec<[u8; 16]>,
}

impl Inner {
    /// The audit entry of a write about to be committed, numbered in the journal's sequence.
    pub(super) fn audit(
        &self,
        txn: &mut dyn WriteTxn,
        a: Audit,
    ) -> Result<(JournalId, AuditRecord), Error> {
        let at = self.clock.now().as_millis();
        let seq = txn.next_id(IdSpace::Journal)?;
        let record = AuditRecord {
            action: a.action,
            operator_id: a.operator_id,
            at,
            application: a.application.map(|(u, _)| u),
            journey_type: a.application.map(|(_, jt)| jt),
            segment: a.segment,
            // At most MAX_IMPORT_ROWS.
            rows: u32::try_from(a.rows).unwrap_or(u32::MAX),
            uuids: a.uuids,
        };
        Ok((JournalId { at, seq }, record))
    }
}
