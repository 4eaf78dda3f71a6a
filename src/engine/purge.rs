//! Retention purge (SPEC §11.6): remove what can no longer change any answer.

use std::collections::HashSet;

use super::types::PurgeReport;
use super::{import_key, segment_entry, Engine, Inner};
use crate::error::Error;
use crate::fields::Timestamp;
use crate::store::{AppKind, AppRecord, ChangeSet, SegmentRow, WriteTxn};

impl Engine {
    /// Removes what can no longer change an answer (SPEC §11.6), relative to the horizon
    /// `h = min(now, policy.start_date)`:
    ///
    /// * imported rows and applications that cannot block any candidate whose reference date
    ///   is at or after `h` (older than their window, or a specific row before its `after`
    ///   date) — with their index entries, in memory too; an import segment whose rows all
    ///   went is removed, one that lost some is rewritten in place (every kept row keeps its
    ///   uuid);
    /// * the pseudonyms and token kept in tombstones of deleted applications (the tombstone
    ///   stays: `find` and `delete` of its uuid answer as before);
    /// * journeys that carry no live application and ended before `h`;
    /// * error and audit journal entries older than
    ///   [`Config::journal_retention`](crate::Config::journal_retention) (both counted in
    ///   [`PurgeReport::journal_removed`](crate::PurgeReport::journal_removed)).
    ///
    /// One atomic change, under the write lock (writers wait, readers never): a purge
    /// interrupted at any point leaves the registry as before it or as after it. Afterwards
    /// every `simulate` and `register` at a time at or after now answers as before.
    ///
    /// # Errors
    /// Storage and corruption errors (nothing is removed then).
    pub fn purge(&self) -> Result<PurgeReport, Error> {
        self.inner.purge(true)
    }

    /// What [`Engine::purge`] would remove now, counted without writing anything.
    ///
    /// # Errors
    /// Storage and corruption errors.
    pub fn purge_dry_run(&self) -> Result<PurgeReport, Error> {
        self.inner.purge(false)
    }
}

impl Inner {
    fn purge(&self, commit: bool) -> Result<PurgeReport, Error> {
        let now = self.clock.now();
        let horizon = self.policy.horizon(now);
        let journal_cutoff = now
            .as_millis()
            .saturating_sub(i64::try_from(self.journal_retention.as_millis()).unwrap_or(i64::MAX));
        let bytes_before = self.store.census()?.size_on_disk;
        let mut report = PurgeReport {
            dry_run: !commit,
            segments_dropped: 0,
            segments_rewritten: 0,
            rows_removed: 0,
            records_removed: 0,
            tombstones_scrubbed: 0,
            journeys_removed: 0,
            journal_removed: 0,
            index_entries_removed: 0,
            horizon,
            bytes_before,
            bytes_after: bytes_before,
        };
        if commit {
            self.write(|txn| {
                let changes = self.plan(txn, horizon, journal_cutoff, &mut report)?;
                Ok(((), changes))
            })?;
            self.index.shrink();
            // A shared registry's change log: what no instance in step needs any more.
            let pruned = self.store.compact_log()?;
            if pruned > 0 {
                tracing::info!(pruned, "change log pruned");
            }
            report.bytes_after = self.store.census()?.size_on_disk;
        } else {
            let mut txn = self.store.begin()?;
            for delta in txn.catch_up()? {
                self.apply(&delta);
            }
            self.plan(&mut *txn, horizon, journal_cutoff, &mut report)?;
        }
        tracing::info!(
            dry_run = !commit,
            segments_dropped = report.segments_dropped,
            segments_rewritten = report.segments_rewritten,
            rows_removed = report.rows_removed,
            records_removed = report.records_removed,
            tombstones_scrubbed = report.tombstones_scrubbed,
            journeys_removed = report.journeys_removed,
            journal_removed = report.journal_removed,
            "purge"
        );
        Ok(report)
    }

    /// Decides what goes, with the write lock held, and counts it in `report`.
    fn plan(
        &self,
        txn: &mut dyn WriteTxn,
        horizon: Timestamp,
        journal_cutoff: i64,
        report: &mut PurgeReport,
    ) -> Result<ChangeSet, Error> {
        let mut changes = ChangeSet::default();
        // Imported rows that a record supersedes: their segment row becomes a hole.
        let mut superseded: HashSet<[u8; 16]> = HashSet::new();
        // Live applications kept that a journey may carry.
        let mut live: HashSet<[u8; 16]> = HashSet::new();
        txn.scan_records(&mut |uuid, r| {
            let specific = r.kind == AppKind::Specific;
            if specific {
                superseded.insert(uuid);
            }
            if r.deleted_at.is_some() {
                if let Some(scrubbed) = scrub(&r) {
                    changes.apps.push((uuid, scrubbed));
                    report.tombstones_scrubbed += 1;
                }
                return Ok(());
            }
            let jt = r.journey_type;
            if self
                .policy
                .may_block_after(specific, jt, r.datetime, horizon)
            {
                live.insert(uuid);
                return Ok(());
            }
            // Expired: the record and the entries stored for it go.
            let stored = txn.stored_entries(&uuid, &r)?;
            report.index_entries_removed += stored.len() as u64;
            changes.index.removed.extend(stored);
            if specific && r.identity_key.is_some() {
                changes.index.keyed_removed.push(import_key(&r));
            }
            changes.purge.apps.push(uuid);
            report.records_removed += 1;
            Ok(())
        })?;
        txn.scan_segments(&mut |loaded| {
            let mut seg = loaded.segment;
            let mut changed = false;
            for i in 0..seg.rows.len() {
                let row = seg.rows[i];
                if row.is_hole() {
                    continue;
                }
                let uuid = seg.uuid(i, &loaded.mask);
                if !superseded.contains(&uuid) {
                    if self
                        .policy
                        .may_block_after(true, row.journey_type, row.datetime, horizon)
                    {
                        continue;
                    }
                    // Expired: its memory-only entry goes with it.
                    changes
                        .index
                        .implied_removed
                        .push(segment_entry(seg.operator, &row, uuid));
                    report.rows_removed += 1;
                    report.index_entries_removed += 1;
                }
                seg.rows[i] = SegmentRow::HOLE;
                changed = true;
            }
            if changed {
                while seg.rows.last().is_some_and(SegmentRow::is_hole) {
                    seg.rows.pop();
                }
                if seg.rows.is_empty() {
                    changes.purge.segments.push(seg.id);
                    report.segments_dropped += 1;
                } else {
                    changes.purge.rewritten.push(seg);
                    report.segments_rewritten += 1;
                }
            }
            Ok(())
        })?;
        let h = horizon.as_millis();
        txn.scan_journeys(&mut |operator, j| {
            let carries_live = j.application.is_some_and(|u| live.contains(&u));
            if !carries_live && j.end.datetime < h && j.start.datetime < h {
                changes
                    .purge
                    .journeys
                    .push((operator, j.operator_journey_id));
                report.journeys_removed += 1;
            }
            Ok(())
        })?;
        // The audit journal follows the same retention as the error journal.
        changes.purge.journal = txn.journal_before(journal_cutoff)?;
        changes.purge.audit = txn.audit_before(journal_cutoff)?;
        report.journal_removed = (changes.purge.journal.len() + changes.purge.audit.len()) as u64;
        Ok(changes)
    }
}

/// A tombstone without pseudonyms or token (uuid, kind, type, operator, dates and journey
/// link stay); `None` when it has none left.
fn scrub(r: &AppRecord) -> Option<AppRecord> {
    let scrubbed = AppRecord {
        name_phone: [0; 16],
        license: None,
        identity_key: None,
        token: None,
        ..r.clone()
    };
    (scrubbed != *r).then_some(scrubbed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::record_entries;

    #[test]
    fn record_entries_of_a_scrubbed_tombstone_name_nobody() {
        let r = AppRecord {
            kind: AppKind::Standardized,
            journey_type: crate::fields::JourneyType::Short,
            operator_id: 1,
            datetime: 0,
            created_at: 0,
            application_timestamp: Some(0),
            journey: None,
            token: Some("t".into()),
            deleted_at: Some(1),
            name_phone: [7; 16],
            license: Some([8; 16]),
            identity_key: Some([9; 16]),
            past: None,
        };
        let s = scrub(&r).expect("pseudonyms to scrub");
        assert_eq!(s.name_phone, [0; 16]);
        assert_eq!(
            (s.license, s.identity_key, s.token.as_deref()),
            (None, None, None)
        );
        assert_eq!((s.deleted_at, s.datetime, s.operator_id), (Some(1), 0, 1));
        assert_eq!(scrub(&s), None, "scrubbing twice changes nothing");
        let entries = record_entries(&[1; 16], &s);
        assert!(entries.iter().all(|e| e.pseudonym.0 == [0; 16]));
    }
}
