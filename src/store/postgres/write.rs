//! The write protocol (DESIGN.md, "PostgreSQL backend"):
//!
//! ```text
//! BEGIN; SET LOCAL synchronous_commit = on|off
//! 1. UPDATE cee_meta SET head = head + 1 … RETURNING head, chain, epoch   -- the lock (begin)
//! 2. SELECT … FROM cee_change WHERE seq >= applied …   -- a later statement: sees every commit
//! 3. the caller's check, in memory       → refused: ROLLBACK (drop)
//! 4. one statement: the change set, the change row (chain' = H(chain ‖ seq ‖ delta)); COMMIT
//! 5. the writer mirrors its change; NOTIFY (best effort)
//! ```
//!
//! [`PgTxn`] is the protocol as an object (what a backend's `WriteTxn` wraps: begin, catch up,
//! ids, commit, rollback on drop); [`PgStore::write`] runs it around a closure, retried whole
//! on serialization failures, lost connections and divergence.

use std::sync::atomic::Ordering;
use std::sync::MutexGuard;
use std::time::Duration;

use postgres::error::SqlState;
use postgres::Client;

use super::change::{next_chain, ChangeSet};
use super::{
    catch_up, chain_of, connection_lost, lock, read_meta, seq_of, ApplyFn, Divergence, Inner,
    PgStore, SyncState,
};
use crate::error::{Error, StorageError};
use crate::Durability;

/// What the caller's check decided.
#[cfg_attr(
    not(test),
    expect(
        dead_code,
        reason = "the store-level protocol harness: tests.rs drives the write protocol through it with a key/value replica; the engine goes through PgTxn (backend.rs)"
    )
)]
pub(crate) enum Decision<T> {
    /// Write this change set, then return `T`.
    Commit(ChangeSet, T),
    /// Write nothing (roll back), return `T`: refusals are not durable effects.
    Refuse(T),
}

/// Serialization failures, deadlocks and lost connections are retried this many times.
const MAX_RETRIES: u32 = 20;

enum Failed {
    /// 40001/40P01, or the connection was lost before COMMIT: run the whole write again.
    Retry(Error),
    /// The instance diverged from the registry: reload, then run the write again.
    Diverged,
    Fatal(Error),
}

impl From<postgres::Error> for Failed {
    /// For errors before COMMIT: the transaction did not commit, so a lost connection is
    /// retried (on a new one) like a serialization failure.
    fn from(e: postgres::Error) -> Self {
        if retryable(&e) {
            Failed::Retry(e.into())
        } else {
            Failed::Fatal(e.into())
        }
    }
}

impl From<Error> for Failed {
    fn from(e: Error) -> Self {
        Failed::Fatal(e)
    }
}

fn retryable(e: &postgres::Error) -> bool {
    matches!(
        e.code(),
        Some(&SqlState::T_R_SERIALIZATION_FAILURE) | Some(&SqlState::T_R_DEADLOCK_DETECTED)
    ) || connection_lost(e)
}

/// A COMMIT that got no answer: it may or may not have happened. The change log decides
/// (the listener applies it if it did); the caller must not report success.
#[derive(Debug, thiserror::Error)]
#[error("the outcome of the commit is unknown (connection lost during COMMIT)")]
struct CommitUnknown(#[source] postgres::Error);

/// A write in progress: holds the registry-wide lock (the meta row) and this instance's sync
/// state until committed or dropped (dropping rolls back).
pub(crate) struct PgTxn<'a> {
    inner: &'a Inner,
    writer: MutexGuard<'a, Option<Client>>,
    sync: Option<MutexGuard<'a, SyncState>>,
    /// The head committed before this transaction; its change will be `committed + 1`.
    committed: u64,
    /// The chain at `committed`.
    chain: [u8; 32],
    epoch: i64,
    /// BEGIN sent, neither COMMIT nor ROLLBACK yet.
    open: bool,
    /// A statement failed: the transaction can only roll back.
    failed: bool,
    /// … and running the write again may succeed (40001/40P01, connection lost before COMMIT).
    retryable: bool,
    /// COMMIT got no answer.
    unknown: bool,
    caught_up: bool,
}

impl PgStore {
    /// Takes the write lock (retrying serialization failures and lost connections; reloading
    /// first when a divergence is pending).
    pub(crate) fn begin(&self, durability: Durability) -> Result<PgTxn<'_>, Error> {
        let mut retries = 0;
        loop {
            if self.inner.diverged.load(Ordering::Acquire) {
                self.inner.reload_on_writer()?;
            }
            match self.inner.try_begin(durability) {
                Ok(t) => return Ok(t),
                Err(Failed::Retry(e)) => {
                    if retries == MAX_RETRIES {
                        return Err(e);
                    }
                    retries += 1;
                    std::thread::sleep(Duration::from_millis(u64::from(retries.min(10))));
                }
                Err(Failed::Fatal(e)) => return Err(e),
                Err(Failed::Diverged) => {}
            }
        }
    }

    /// Runs one mutation under the cluster-wide write lock: `check` sees a replica caught up
    /// with every committed change and decides; a committed change set is logged as its own
    /// encoding and applied to the replica before this returns. `check` may run more than
    /// once (retries): no side effects.
    #[cfg_attr(
        not(test),
        expect(
            dead_code,
            reason = "the store-level protocol harness: tests.rs drives the write protocol through it with a key/value replica; the engine goes through PgTxn (backend.rs)"
        )
    )]
    pub(crate) fn write<T>(
        &self,
        durability: Durability,
        mut check: impl FnMut(&mut PgTxn<'_>) -> Result<Decision<T>, Error>,
    ) -> Result<T, Error> {
        let mut retries = 0;
        let mut reloads = 0;
        loop {
            match self.try_write(durability, &mut check) {
                Ok(t) => return Ok(t),
                Err(Failed::Fatal(e)) => return Err(e),
                Err(Failed::Retry(e)) => {
                    if retries == MAX_RETRIES {
                        return Err(e);
                    }
                    retries += 1;
                    std::thread::sleep(Duration::from_millis(u64::from(retries.min(10))));
                }
                Err(Failed::Diverged) => {
                    if reloads == 3 {
                        return Err(Error::Unavailable(
                            "the registry keeps diverging from this instance",
                        ));
                    }
                    reloads += 1;
                }
            }
        }
    }

    fn try_write<T>(
        &self,
        durability: Durability,
        check: &mut impl FnMut(&mut PgTxn<'_>) -> Result<Decision<T>, Error>,
    ) -> Result<T, Failed> {
        let mut txn = self.begin(durability)?;
        let replica = &*self.inner.replica;
        match txn.catch_up(&mut |seq, delta| replica.apply(seq, delta)) {
            Ok(Ok(())) => {}
            Ok(Err(why)) => {
                txn.reload(why)?;
                return Err(Failed::Diverged);
            }
            Err(e) => return Err(txn.classify(e)),
        }
        let (cs, out) = match check(&mut txn) {
            Ok(Decision::Refuse(out)) => return Ok(out),
            Ok(Decision::Commit(cs, out)) => (cs, out),
            Err(e) => return Err(txn.classify(e)),
        };
        let delta = cs.encode();
        let seq = match txn.commit(&cs, &delta) {
            Ok(seq) => seq,
            Err(e) => return Err(txn.classify(e)),
        };
        // Our own change, then tell the others.
        if let Err(e) = replica.apply(seq, &delta) {
            // Committed all the same: report success, and reload before the next sync.
            tracing::error!(seq, error = %e, "a committed change did not apply here: reloading");
            self.inner.diverged(Divergence::OtherChain);
        }
        Ok(out)
    }
}

impl Inner {
    fn writer_client<'a>(&self, slot: &'a mut Option<Client>) -> Result<&'a mut Client, Error> {
        if slot.as_ref().is_none_or(|c| c.is_closed()) {
            *slot = Some(self.connect()?);
        }
        slot.as_mut()
            .ok_or(super::storage("no connection to the registry"))
    }

    /// Reloads the replica on the writer's connection (no write lock held).
    fn reload_on_writer(&self) -> Result<(), Error> {
        let mut writer = lock(&self.writer);
        let client = self.writer_client(&mut writer)?;
        self.reload(client)?;
        self.rebuilds.fetch_add(1, Ordering::AcqRel);
        Ok(())
    }

    fn try_begin(&self, durability: Durability) -> Result<PgTxn<'_>, Failed> {
        let mut writer = lock(&self.writer);
        self.writer_client(&mut writer)?;
        let mut txn = PgTxn {
            inner: self,
            writer,
            sync: None,
            committed: 0,
            chain: [0; 32],
            epoch: 0,
            open: false,
            failed: false,
            retryable: false,
            unknown: false,
            caught_up: false,
        };
        let sync_commit = match durability {
            Durability::Immediate => "on",
            Durability::Buffered => "off",
        };
        let client = txn.client()?;
        client.batch_execute(&format!(
            "BEGIN; SET LOCAL synchronous_commit = {sync_commit}"
        ))?;
        txn.open = true;
        #[cfg(test)]
        {
            let seen: String = txn
                .client()?
                .query_one("SHOW synchronous_commit", &[])?
                .get(0);
            *lock(&self.seen_synchronous_commit) = seen;
        }
        #[cfg(test)]
        let unlocked = self.opts.unlocked;
        #[cfg(not(test))]
        let unlocked = false;
        // 1. The lock (or, for the negative control, a plain read of the committed head).
        let (committed, chain, epoch) = if unlocked {
            read_meta(txn.client()?)?
        } else {
            let row = txn.client()?.query_one(
                "UPDATE cee_meta SET head = head + 1 WHERE id = 1 RETURNING head, chain, epoch",
                &[],
            )?;
            let head = seq_of(row.get(0))?;
            (head.saturating_sub(1), chain_of(row.get(1))?, row.get(2))
        };
        txn.committed = committed;
        txn.chain = chain;
        txn.epoch = epoch;
        txn.sync = Some(lock(&self.sync));
        Ok(txn)
    }
}

impl PgTxn<'_> {
    fn client(&mut self) -> Result<&mut Client, Error> {
        self.writer
            .as_mut()
            .ok_or(super::storage("no connection to the registry"))
    }

    fn sync(&mut self) -> Result<&mut SyncState, Error> {
        self.sync
            .as_deref_mut()
            .ok_or(super::storage("write transaction without its sync state"))
    }

    /// Runs `f` on the connection; a failure leaves the transaction only able to roll back.
    fn run<R>(
        &mut self,
        f: impl FnOnce(&mut Client) -> Result<R, postgres::Error>,
    ) -> Result<R, Error> {
        let Some(client) = self.writer.as_mut() else {
            self.failed = true;
            return Err(super::storage("no connection to the registry"));
        };
        f(client).map_err(|e| {
            self.failed = true;
            self.retryable = retryable(&e);
            e.into()
        })
    }

    /// Whether running the whole write again may succeed after `e`.
    fn classify(&self, e: Error) -> Failed {
        let lost = self.writer.as_ref().is_none_or(|c| c.is_closed());
        if !self.unknown && (self.retryable || lost) {
            Failed::Retry(e)
        } else {
            Failed::Fatal(e)
        }
    }

    /// Step 2: every change committed by others since this instance last synced, verified
    /// and passed to `apply` in order. A divergence is returned (then [`PgTxn::reload`]).
    pub(crate) fn catch_up(&mut self, apply: ApplyFn<'_>) -> Result<Result<(), Divergence>, Error> {
        let (committed, chain, epoch) = (self.committed, self.chain, self.epoch);
        let mut sync = self
            .sync
            .take()
            .ok_or(super::storage("write transaction without its sync state"))?;
        let client = self
            .writer
            .as_mut()
            .ok_or(super::storage("no connection"))?;
        let out = catch_up(client, &mut sync, apply, committed, &chain, epoch);
        self.sync = Some(sync);
        match &out {
            Ok(Ok(())) => {
                self.caught_up = true;
                self.inner.mark_synced();
            }
            Ok(Err(why)) => self.inner.diverged(*why),
            Err(_) => {
                self.failed = true;
                self.retryable = self.writer.as_ref().is_none_or(|c| c.is_closed());
            }
        }
        out
    }

    /// After a divergence: rolls back and reloads the replica from a snapshot (the write can
    /// then be run again).
    pub(crate) fn reload(mut self, _why: Divergence) -> Result<(), Error> {
        self.rollback();
        let mut sync = self
            .sync
            .take()
            .ok_or(super::storage("write transaction without its sync state"))?;
        let inner = self.inner;
        let client = inner.writer_client(&mut self.writer)?;
        inner.reload_locked(client, &mut sync)?;
        inner.rebuilds.fetch_add(1, Ordering::AcqRel);
        Ok(())
    }

    /// A fresh id, never handed out twice (the registry's `next_id`; the row is ours already).
    pub(crate) fn next_id(&mut self) -> Result<u64, Error> {
        let id: i64 = self
            .run(|c| {
                c.query_one(
                    "UPDATE cee_meta SET next_id = next_id + 1 WHERE id = 1 RETURNING next_id - 1",
                    &[],
                )
            })?
            .get(0);
        seq_of(id)
    }

    /// Steps 4–5: writes `cs` and the change row carrying `delta` (what the other instances'
    /// replicas receive), commits, and records the change as applied here: the caller mirrors
    /// it itself. Returns its sequence number.
    pub(crate) fn commit(&mut self, cs: &ChangeSet, delta: &[u8]) -> Result<u64, Error> {
        if !self.caught_up || self.failed || !self.open {
            return Err(super::storage(
                "commit without catch-up, after a failed statement, or twice",
            ));
        }
        #[cfg(test)]
        let unlocked = self.inner.opts.unlocked;
        #[cfg(not(test))]
        let unlocked = false;
        let (seq, prev) = if unlocked {
            let row = self.run(|c| {
                c.query_one(
                    "UPDATE cee_meta SET head = head + 1 WHERE id = 1 RETURNING head, chain",
                    &[],
                )
            })?;
            (seq_of(row.get(0))?, chain_of(row.get(1))?)
        } else {
            (self.committed + 1, self.chain)
        };
        let new_chain = next_chain(&prev, seq, delta);
        let (puts, removes) = cs.net();
        let (ks, vs): (Vec<Vec<u8>>, Vec<Vec<u8>>) = puts.into_iter().unzip();
        let seq_sql = i64::try_from(seq).map_err(|_| super::storage("sequence overflow"))?;
        // One round trip: `net` makes removed and written keys disjoint.
        self.run(|c| {
            c.execute(
                "WITH d AS (DELETE FROM cee_kv WHERE k = ANY($1)),
                      i AS (INSERT INTO cee_kv (k, v)
                            SELECT * FROM unnest($2::bytea[], $3::bytea[])
                            ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v),
                      c AS (INSERT INTO cee_change (seq, delta, chain) VALUES ($4, $5, $6))
                 UPDATE cee_meta SET chain = $6 WHERE id = 1",
                &[&removes, &ks, &vs, &seq_sql, &delta, &new_chain.as_slice()],
            )
        })?;
        self.open = false;
        if let Err(e) = self.client()?.batch_execute("COMMIT") {
            self.failed = true;
            // The server answered: rolled back. No answer: the outcome is unknown.
            return Err(match e.code() {
                Some(_) => {
                    self.retryable = retryable(&e);
                    e.into()
                }
                None => {
                    self.unknown = true;
                    Error::Storage(StorageError(Box::new(CommitUnknown(e))))
                }
            });
        }
        #[cfg(test)]
        if self.inner.fail_after_commit.swap(false, Ordering::AcqRel) {
            // As if the answer to COMMIT had been lost.
            self.unknown = true;
            return Err(super::storage("test: commit outcome unknown"));
        }
        let sync = self.sync()?;
        sync.applied = seq;
        sync.chain = new_chain;
        let _ = self
            .client()?
            .execute("SELECT pg_notify('cee_change', $1)", &[&seq.to_string()]);
        Ok(seq)
    }

    fn rollback(&mut self) {
        if self.open {
            self.open = false;
            let ok = self
                .writer
                .as_mut()
                .is_some_and(|c| c.batch_execute("ROLLBACK").is_ok());
            if !ok {
                // The server rolls back when the connection goes; a new one is made next time.
                *self.writer = None;
            }
        }
    }
}

impl Drop for PgTxn<'_> {
    fn drop(&mut self) {
        self.rollback();
    }
}
