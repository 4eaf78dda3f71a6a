//! The storage seam: what the engine asks of a backend, in records, never in bytes.
//!
//! The engine reads and writes *records* (applications, import segments and their rows,
//! journeys, journal entries) and the *index entries* those records imply; a backend decides
//! how they are laid out. [`SledBackend`](super::SledBackend) is the first backend (format 4,
//! DESIGN.md); the contract below is written so that a backend whose writers run in several
//! processes (a shared database with one global write lock row and a commit-ordered change
//! log, DESIGN.md "A shared-database backend") fits without another redesign.
//!
//! # Contract
//!
//! * **Open** ([`Backend::load`]): the engine rebuilds its in-memory index from one consistent
//!   view: first every *changed import* (an imported application whose record supersedes its
//!   segment row), then every segment, then every stored index entry. Nothing is written
//!   between the phases.
//! * **Reads** ([`Reads`]) are point reads by id and are safe at any time; under a
//!   [`WriteTxn`] they see everything committed before it began.
//! * **Writes**: `begin` → check → `commit`. [`Backend::begin`] takes the registry-wide write
//!   lock (sled: an in-process mutex; a shared database: the lock row) and returns the
//!   changes other writers committed since this process last looked
//!   ([`WriteTxn::catch_up`]), which the engine applies to its index *before* checking. The
//!   engine then checks in memory, builds one [`ChangeSet`] and commits it: every write,
//!   every removal and the index delta, all or nothing, also across a crash. The engine
//!   mirrors the delta in memory *before* dropping the transaction, so no other writer of
//!   this process checks against an index that misses it. A refusal commits nothing but its
//!   journal entry; a successful registration, deletion or import commits its audit entry
//!   in the same change set (so the entry exists if and only if the write does). Ids come from [`WriteTxn::next_id`]: never handed out twice, also across
//!   restarts and processes.
//! * **Durability**: `commit` makes the change set visible and atomic; [`Backend::flush`]
//!   makes everything committed so far durable (the engine calls it after releasing the lock
//!   with `Durability::Immediate`, so concurrent writers share flushes).
//! * A backend never judges: which entries a record implies, and whether an entry blocks, are
//!   `policy`'s. It stores what it is given and reports damage as `Error::Corrupt` naming the
//!   record, never its identifiers.

use std::sync::Arc;

use crate::error::Error;
use crate::fields::JourneyType;

use super::imported_uuid::UuidMask;
use super::records::{AppRecord, AuditRecord, IndexEntry, JournalRecord, JourneyRecord, Segment};

/// Where an application's current state is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    /// Its own record, with its index entries stored beside it.
    Record,
    /// A row of an import segment, never changed; its index entry is implied by the row.
    Segment,
}

/// `(operator, journey type, name+phone pseudonym)` of an imported row that no longer
/// matches by name and phone (an identity key was attached): what an import must not repeat.
pub(crate) type ImportKey = (u32, JourneyType, [u8; 16]);

/// Which counter an id comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IdSpace {
    /// Import segments (at most 62 bits: what an imported uuid has room for).
    Segment,
    /// Journeys (never 0: a journey id 0 reads like "none").
    Journey,
    /// Journal entries, error and audit alike (orders entries of the same millisecond).
    Journal,
}

/// A journal entry's key (error or audit journal): its time and a sequence number, both
/// journals numbered from one sequence so that `(at, seq)` orders them together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct JournalId {
    pub at: i64,
    pub seq: u64,
}

/// What a change does to the in-memory index (and to the set of keyed imports). This is what
/// a shared-database backend's change log carries to the other processes.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct IndexDelta {
    /// Entries removed: stored ones and those implied by segment rows.
    pub removed: Vec<IndexEntry>,
    /// Entries stored with their application's record (and mirrored in memory).
    pub added: Vec<IndexEntry>,
    /// Entries implied by the rows of the segments written (memory only).
    pub implied: Vec<IndexEntry>,
    /// Keyed imports no longer held (the row was deleted).
    pub keyed_removed: Vec<ImportKey>,
    /// Keyed imports added (an identity key was attached to an imported row).
    pub keyed_added: Vec<ImportKey>,
    /// Entries implied by segment rows that a purge turned into holes (memory only: nothing
    /// is stored for them, so nothing is removed from storage).
    pub implied_removed: Vec<IndexEntry>,
}

/// One mutation, applied atomically by [`WriteTxn::commit`]. Consumed on commit.
#[derive(Debug, Default)]
pub(crate) struct ChangeSet {
    /// Application records written (new, or replacing the previous state).
    pub apps: Vec<([u8; 16], AppRecord)>,
    /// New import segments.
    pub segments: Vec<Segment>,
    /// Journey records written, by operator.
    pub journeys: Vec<(u32, JourneyRecord)>,
    /// Journal entries appended.
    pub journal: Vec<(JournalId, JournalRecord)>,
    /// Audit journal entries appended: committed with the write they describe, so that an
    /// entry exists if and only if its write does.
    pub audit: Vec<(JournalId, AuditRecord)>,
    /// The index delta these writes imply.
    pub index: IndexDelta,
    /// What a retention purge removes or rewrites (empty for every other change).
    pub purge: PurgeChanges,
}

// ---- Retention purge (SPEC §11.6) -------------------------------------------------------

/// The part of a [`ChangeSet`] only a purge fills: removals, and segments rewritten in
/// place (same id, same row positions, expired rows turned into holes, so that every kept
/// row keeps its uuid). Scrubbed tombstones are ordinary writes in [`ChangeSet::apps`].
#[derive(Debug, Default, PartialEq)]
pub(crate) struct PurgeChanges {
    /// Application records removed (registered ones, or an imported row's override).
    pub apps: Vec<[u8; 16]>,
    /// Segments rewritten: replace the stored segment of the same id.
    pub rewritten: Vec<Segment>,
    /// Segments removed (every row expired or superseded).
    pub segments: Vec<u64>,
    /// Journeys removed, by operator and `operator_journey_id`.
    pub journeys: Vec<(u32, String)>,
    /// Journal entries removed.
    pub journal: Vec<JournalId>,
    /// Audit journal entries removed.
    pub audit: Vec<JournalId>,
}

impl PurgeChanges {
    pub(crate) fn is_empty(&self) -> bool {
        *self == PurgeChanges::default()
    }
}

/// What a purge reads, under the write lock (so that what it decides on is what it removes).
pub(crate) trait PurgeScan {
    /// Every application record (registered applications, and imported rows' overrides),
    /// with its uuid.
    fn scan_records(
        &self,
        f: &mut dyn FnMut([u8; 16], AppRecord) -> Result<(), Error>,
    ) -> Result<(), Error>;

    /// Every import segment, with its rows' uuid mask.
    fn scan_segments(
        &self,
        f: &mut dyn FnMut(LoadedSegment) -> Result<(), Error>,
    ) -> Result<(), Error>;

    /// Every journey, with its operator.
    fn scan_journeys(
        &self,
        f: &mut dyn FnMut(u32, JourneyRecord) -> Result<(), Error>,
    ) -> Result<(), Error>;

    /// The ids of the journal entries dated strictly before `at` (ms).
    fn journal_before(&self, at: i64) -> Result<Vec<JournalId>, Error>;

    /// The ids of the audit journal entries dated strictly before `at` (ms).
    fn audit_before(&self, at: i64) -> Result<Vec<JournalId>, Error>;
}

// ---- end of retention purge ---------------------------------------------------------------

impl ChangeSet {
    /// Does it change nothing?
    pub(crate) fn is_empty(&self) -> bool {
        self.apps.is_empty()
            && self.segments.is_empty()
            && self.journeys.is_empty()
            && self.journal.is_empty()
            && self.audit.is_empty()
            && self.index == IndexDelta::default()
            && self.purge.is_empty()
    }
}

/// A segment as loaded at open, with the mask of its rows' uuids computed once.
#[derive(Debug)]
pub(crate) struct LoadedSegment {
    pub segment: Segment,
    pub mask: UuidMask,
}

/// What every application state counts, for `Engine::stats`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Census {
    pub journeys: u64,
    pub journal: u64,
    pub size_on_disk: u64,
}

/// Point reads by id.
pub(crate) trait Reads {
    /// An application's current state and where it comes from: its own record, or (an
    /// imported application never changed since) its segment row, as a record.
    fn app(&self, uuid: &[u8; 16]) -> Result<Option<(AppRecord, Origin)>, Error>;

    /// A journey of `operator` by its `operator_journey_id`.
    fn journey(&self, operator: u32, ojid: &str) -> Result<Option<JourneyRecord>, Error>;

    /// Is a journey stored under that id (damaged or not)?
    fn journey_exists(&self, operator: u32, ojid: &str) -> Result<bool, Error>;

    /// The index entries *stored* for application `uuid` (found by where they are stored,
    /// not recomputed from the record, so that a record and entries that disagree still lose
    /// every entry on delete).
    fn stored_entries(&self, uuid: &[u8; 16], r: &AppRecord) -> Result<Vec<IndexEntry>, Error>;
}

/// A write in progress: holds the registry-wide write lock until dropped.
pub(crate) trait WriteTxn: Reads + PurgeScan {
    /// Changes committed by other processes since this one last looked, in commit order
    /// (empty for a single-process backend).
    fn catch_up(&mut self) -> Result<Vec<IndexDelta>, Error>;

    /// A fresh id of `space`.
    fn next_id(&mut self, space: IdSpace) -> Result<u64, Error>;

    /// Applies `changes` atomically (all or nothing, also across a crash). The lock stays
    /// held until the transaction is dropped.
    fn commit(&mut self, changes: ChangeSet) -> Result<(), Error>;
}

/// Where an engine receives what other instances commit (a shared backend's listener).
///
/// Both calls come from the backend's listener thread while it holds its sync state: they
/// must not write through the backend (`begin` would wait for that state: a deadlock).
/// Reading (the load phases, point reads) is fine.
#[cfg_attr(
    not(feature = "postgres"),
    expect(
        dead_code,
        reason = "only a shared registry (feature `postgres`) delivers changes"
    )
)]
pub(crate) trait DeltaSink: Send + Sync {
    /// A change committed elsewhere, in commit order.
    fn apply(&self, delta: &IndexDelta);
    /// The registry diverged from this instance: the load phases now serve a new snapshot;
    /// rebuild the index from them. Until this returns `Ok`, [`Backend::fresh`] answers
    /// unavailable (an error keeps it so, and the backend tries the reload again).
    fn reloaded(&self) -> Result<(), Error>;
}

/// A storage backend (see the module docs for the contract).
pub(crate) trait Backend: Reads + Send + Sync {
    /// Starts delivering changes other processes commit to `sink`, once the index was built
    /// from the load phases. A backend with a single writer process has none to deliver.
    fn follow(&self, _sink: Arc<dyn DeltaSink>) -> Result<(), Error> {
        Ok(())
    }

    /// `Err(Error::Unavailable)` when the index built from this backend may be stale (a
    /// shared registry not synchronised within its bound, or being rebuilt). Always `Ok` for
    /// a backend no other process writes.
    fn fresh(&self) -> Result<(), Error> {
        Ok(())
    }

    /// Odd while the index built from this backend is being rebuilt (a shared registry that
    /// diverged), changed by every rebuild: a reader that sees one even value before and
    /// after reading the index read no half-rebuilt one. Always 0 for a single-writer backend.
    fn index_generation(&self) -> u64 {
        0
    }

    /// Drops what only an instance far behind would need (a shared registry's old change-log
    /// rows: such an instance reloads instead); returns how many entries went. Nothing for a
    /// single-writer backend.
    fn compact_log(&self) -> Result<u64, Error> {
        Ok(0)
    }

    /// Open, phase 1: every changed import (uuid and record), in any order.
    fn load_changed_imports(
        &self,
        f: &mut dyn FnMut([u8; 16], AppRecord) -> Result<(), Error>,
    ) -> Result<(), Error>;

    /// Open, phase 2: every import segment.
    fn load_segments(
        &self,
        f: &mut dyn FnMut(Arc<LoadedSegment>) -> Result<(), Error>,
    ) -> Result<(), Error>;

    /// Open, phase 3: every stored index entry.
    fn load_entries(&self, f: &mut dyn FnMut(IndexEntry) -> Result<(), Error>)
        -> Result<(), Error>;

    /// Takes the write lock.
    fn begin(&self) -> Result<Box<dyn WriteTxn + '_>, Error>;

    /// Makes everything committed so far durable.
    fn flush(&self) -> Result<(), Error>;

    /// Every application's current state (records, and segment rows no record supersedes).
    fn for_each_app(&self, f: &mut dyn FnMut(&AppRecord)) -> Result<(), Error>;

    /// Every error journal entry with its id, oldest first.
    fn journal(&self) -> Result<Vec<(JournalId, JournalRecord)>, Error>;

    /// Every audit journal entry with its id, oldest first.
    fn audit(&self) -> Result<Vec<(JournalId, AuditRecord)>, Error>;

    /// Counts of journeys and journal entries, and bytes used.
    fn census(&self) -> Result<Census, Error>;

    /// Copies the registry to the new location `dest`: a consistent copy holding exactly
    /// what was committed at one instant during the call (writers wait, readers never).
    fn backup(&self, dest: &std::path::Path) -> Result<(), Error>;
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("source directory") {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                sources(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    /// What the engine and the index may not name: the byte layout and the crates under it.
    fn offences(code: &str) -> Vec<&'static str> {
        let mut found = Vec::new();
        for module in [
            "keys::",
            "segment::",
            "codec::",
            "imported_uuid::",
            "sled_backend::",
        ] {
            let named = code.match_indices(module).any(|(i, _)| {
                code[..i]
                    .chars()
                    .next_back()
                    .is_none_or(|c| !(c.is_alphanumeric() || c == '_'))
            });
            if named {
                found.push(module);
            }
        }
        let lower = code.to_lowercase();
        for word in ["sled", "bincode"] {
            if lower.contains(word) {
                found.push(word);
            }
        }
        found
    }

    #[test]
    fn offences_are_found() {
        assert_eq!(offences("use crate::store::keys::IndexEntry;"), ["keys::"]);
        assert_eq!(
            offences("use super::{codec::X, segment::Y};"),
            ["segment::", "codec::"]
        );
        assert_eq!(offences("let s = SledBackend::open(o)?;"), ["sled"]);
        assert!(offences("let k = Keys::new(&s); self.keys.name_phone(p, n)").is_empty());
    }

    /// The seam holds: `engine/` and `index.rs` speak records through `store`'s interface and
    /// name no key layout, segment or codec item, nor sled or bincode (comments aside).
    #[test]
    fn engine_and_index_name_no_storage_layout() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = vec![src.join("index.rs")];
        sources(&src.join("engine"), &mut files);
        assert!(files.len() > 2, "engine sources found");
        let mut bad = Vec::new();
        for file in &files {
            let text = std::fs::read_to_string(file).expect("readable source");
            for (n, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap_or("");
                for o in offences(code) {
                    bad.push(format!("{}:{}: names `{o}`", file.display(), n + 1));
                }
            }
        }
        assert!(
            bad.is_empty(),
            "the storage seam is crossed:\n{}",
            bad.join("\n")
        );
    }
}
