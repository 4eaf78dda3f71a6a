//! `cee_kv` holds the sled layout byte for byte: the same change sets committed through
//! [`SledBackend`] and [`PgBackend`] leave the same key/value pairs (META aside), and the
//! purge scans read the same back. `ChangeSet` and `PurgeChanges` are written out field by
//! field here (no `..Default::default()`): a new field fails to compile until this test —
//! and, through it, `PgBackend::commit` — is taught it.

use std::sync::Arc;

use super::backend::PgBackend;
use super::testing::fresh_database;
use super::PgOptions;
use crate::identity::Keys;
use crate::store::backend::{ChangeSet, IndexDelta, JournalId, PurgeChanges};
use crate::store::golden;
use crate::store::records::SegmentRow;
use crate::store::sled_backend::SledBackend;
use crate::store::{Backend, IdSpace, StoreOptions};
use crate::Durability;

fn commit(b: &dyn Backend, changes: ChangeSet) {
    let mut txn = b.begin().unwrap();
    txn.catch_up().unwrap();
    txn.commit(changes).unwrap();
}

/// What the purge scans of a write transaction read, rendered comparably.
fn scans(b: &dyn Backend) -> Vec<String> {
    let txn = b.begin().unwrap();
    let mut out = Vec::new();
    txn.scan_records(&mut |u, r| {
        out.push(format!("record {u:?} {r:?}"));
        Ok(())
    })
    .unwrap();
    txn.scan_segments(&mut |s| {
        out.push(format!("segment {:?}", s.segment));
        Ok(())
    })
    .unwrap();
    txn.scan_journeys(&mut |op, j| {
        out.push(format!("journey {op} {j:?}"));
        Ok(())
    })
    .unwrap();
    out.push(format!(
        "journal {:?}",
        txn.journal_before(i64::MAX).unwrap()
    ));
    out.push(format!("audit {:?}", txn.audit_before(i64::MAX).unwrap()));
    drop(txn);
    out.push(format!("journal entries {:?}", b.journal().unwrap()));
    out.push(format!("audit entries {:?}", b.audit().unwrap()));
    let mut apps = Vec::new();
    b.for_each_app(&mut |r| apps.push(format!("{r:?}")))
        .unwrap();
    out.extend(apps);
    out
}

#[test]
fn both_backends_store_the_same_bytes() {
    let Some(db) = fresh_database("equivalence") else {
        return;
    };
    let keys = Arc::new(Keys::new(&[3; 32]));
    let sled = SledBackend::open(
        &StoreOptions {
            path: None,
            cache_capacity: 1 << 20,
        },
        keys.clone(),
    )
    .unwrap();
    let pg = PgBackend::open(&db, keys, Durability::Immediate, PgOptions::default()).unwrap();
    let pg_kv = || pg.store().scan_prefix(&[]).unwrap();

    let (uuid, past_uuid) = ([0x11; 16], [0x22; 16]);
    let (j1, j2) = (
        JournalId { at: 1_000, seq: 5 },
        JournalId { at: 2_000, seq: 6 },
    );
    let writes = || ChangeSet {
        apps: vec![(uuid, golden::app()), (past_uuid, golden::past_app())],
        segments: vec![golden::segment()],
        journeys: vec![(7, golden::journey())],
        journal: vec![(j1, golden::journal())],
        audit: vec![
            (j1, golden::audit_registered()),
            (j2, golden::audit_imported()),
        ],
        index: IndexDelta {
            removed: vec![],
            added: vec![golden::index_entry()],
            implied: vec![],
            keyed_removed: vec![],
            keyed_added: vec![],
            implied_removed: vec![],
        },
        purge: PurgeChanges::default(),
    };
    commit(&sled, writes());
    commit(&pg, writes());
    let kv = sled.key_values().unwrap();
    assert!(kv.len() >= 8, "every family written: {} pairs", kv.len());
    assert_eq!(pg_kv(), kv, "after the writes");
    assert_eq!(scans(&pg), scans(&sled));

    // A purge: removals of every kind and a segment rewritten with a hole.
    let mut rewritten = golden::segment();
    rewritten.rows[0] = SegmentRow::HOLE;
    let purge = || ChangeSet {
        apps: vec![],
        segments: vec![],
        journeys: vec![],
        journal: vec![],
        audit: vec![],
        index: IndexDelta {
            removed: vec![golden::index_entry()],
            added: vec![],
            implied: vec![],
            keyed_removed: vec![],
            keyed_added: vec![],
            implied_removed: vec![],
        },
        purge: PurgeChanges {
            apps: vec![uuid],
            rewritten: vec![rewritten.clone()],
            segments: vec![],
            journeys: vec![(7, golden::journey().operator_journey_id)],
            journal: vec![j1],
            audit: vec![j2],
        },
    };
    commit(&sled, purge());
    commit(&pg, purge());
    assert_eq!(pg_kv(), sled.key_values().unwrap(), "after the purge");
    assert_eq!(scans(&pg), scans(&sled));
    let mut txn = pg.begin().unwrap();
    assert!(txn.next_id(IdSpace::Segment).unwrap() > 0);
}
