//! The write protocol (DESIGN.md, "PostgreSQL backend"):
//!
//! ```text
//! BEGIN; SET LOCAL synchronous_commit = on|off
//! 1. UPDATE cee_meta SET head = head + 1, next_id = next_id + k … RETURNING …   -- the lock
//! 2. SELECT … FROM cee_change WHERE seq >= applied …   -- a later statement: sees every commit
//! 3. the caller's check, in memory       → refused: ROLLBACK
//! 4. write the change set, INSERT the change row (chain' = H(chain ‖ seq ‖ delta)), COMMIT
//! 5. apply the change to the replica; NOTIFY (best effort)
//! ```

use std::sync::atomic::Ordering;
use std::time::Duration;

use postgres::error::SqlState;
use postgres::Transaction;

use super::change::{next_chain, ChangeSet};
use super::{catch_up, chain_of, lock, read_meta, seq_of, Inner, PgStore};
use crate::error::{Error, StorageError};
use crate::Durability;

/// What the caller's check decided.
pub(crate) enum Decision<T> {
    /// Write this change set, then return `T`.
    Commit(ChangeSet, T),
    /// Write nothing (roll back), return `T`: refusals are not durable effects.
    Refuse(T),
}

/// What the write lock gives the check: the ids reserved for this write.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Lease {
    /// First of the `ids` ids reserved (`first_id .. first_id + ids`).
    pub first_id: u64,
}

/// Serialization failures and deadlocks are retried this many times.
const MAX_RETRIES: u32 = 20;

enum Failed {
    /// 40001/40P01 (or a lost race on the very first statement): run the whole write again.
    Retry(Error),
    /// The instance diverged from the registry: reload, then run the write again.
    Diverged,
    Fatal(Error),
}

impl From<postgres::Error> for Failed {
    /// For errors before COMMIT: the transaction did not commit, so a lost connection is
    /// retried (on a new one) like a serialization failure.
    fn from(e: postgres::Error) -> Self {
        match e.code() {
            Some(&SqlState::T_R_SERIALIZATION_FAILURE) | Some(&SqlState::T_R_DEADLOCK_DETECTED) => {
                Failed::Retry(e.into())
            }
            _ if super::connection_lost(&e) => Failed::Retry(e.into()),
            _ => Failed::Fatal(e.into()),
        }
    }
}

impl From<Error> for Failed {
    fn from(e: Error) -> Self {
        Failed::Fatal(e)
    }
}

/// A COMMIT that got no answer: it may or may not have happened. The change log decides
/// (the listener applies it if it did); the caller must not report success.
#[derive(Debug, thiserror::Error)]
#[error("the outcome of the commit is unknown (connection lost during COMMIT)")]
struct CommitUnknown(#[source] postgres::Error);

impl PgStore {
    /// Runs one mutation under the cluster-wide write lock: `check` sees a replica caught up
    /// with every committed change and decides; a committed change set is applied to the
    /// replica before this returns. `check` may run more than once (retries): no side effects.
    pub(crate) fn write<T>(
        &self,
        durability: Durability,
        ids: u32,
        mut check: impl FnMut(&Lease) -> Result<Decision<T>, Error>,
    ) -> Result<T, Error> {
        let mut retries = 0;
        let mut reloads = 0;
        loop {
            match self.inner.try_write(durability, ids, &mut check) {
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
                    let mut writer = lock(&self.inner.writer);
                    let client = self.inner.writer_client(&mut writer)?;
                    self.inner.reload(client)?;
                    self.inner.rebuilds.fetch_add(1, Ordering::AcqRel);
                }
            }
        }
    }
}

impl Inner {
    fn writer_client<'a>(
        &self,
        slot: &'a mut Option<postgres::Client>,
    ) -> Result<&'a mut postgres::Client, Error> {
        if slot.as_ref().is_none_or(|c| c.is_closed()) {
            *slot = Some(self.connect()?);
        }
        slot.as_mut()
            .ok_or(super::storage("no connection to the registry"))
    }

    fn try_write<T>(
        &self,
        durability: Durability,
        ids: u32,
        check: &mut impl FnMut(&Lease) -> Result<Decision<T>, Error>,
    ) -> Result<T, Failed> {
        if self.diverged.load(Ordering::Acquire) {
            return Err(Failed::Diverged);
        }
        let mut writer = lock(&self.writer);
        let client = self.writer_client(&mut writer)?;
        let mut tx = client.transaction()?;
        let sync_commit = match durability {
            Durability::Immediate => "on",
            Durability::Buffered => "off",
        };
        tx.batch_execute(&format!("SET LOCAL synchronous_commit = {sync_commit}"))?;
        #[cfg(test)]
        {
            let seen: String = tx.query_one("SHOW synchronous_commit", &[])?.get(0);
            *lock(&self.seen_synchronous_commit) = seen;
        }
        #[cfg(test)]
        let unlocked = self.opts.unlocked;
        #[cfg(not(test))]
        let unlocked = false;
        // 1. The lock (or, for the negative control, a plain read of the committed head).
        let (committed, chain, epoch, first_id) = if unlocked {
            let (head, chain, epoch) = read_meta(&mut tx)?;
            (head, chain, epoch, 0)
        } else {
            let row = tx.query_one(
                "UPDATE cee_meta SET head = head + 1, next_id = next_id + $1 WHERE id = 1
                 RETURNING head, chain, epoch, next_id - $1",
                &[&i64::from(ids)],
            )?;
            let head = seq_of(row.get(0))?;
            let first_id = seq_of(row.get(3))?;
            (head - 1, chain_of(row.get(1))?, row.get(2), first_id)
        };
        // 2. Catch up, in statements after the lock's.
        let mut sync = lock(&self.sync);
        if let Err(why) = catch_up(&mut tx, &mut sync, &*self.replica, committed, &chain, epoch)? {
            drop(sync);
            self.diverged(why);
            return Err(Failed::Diverged);
        }
        self.mark_synced();
        // 3. The check.
        let lease = Lease { first_id };
        let (cs, out) = match check(&lease)? {
            Decision::Refuse(out) => {
                // A failed rollback leaves nothing behind either (the server aborts the
                // transaction when the connection goes).
                let _ = tx.rollback();
                return Ok(out);
            }
            Decision::Commit(cs, out) => (cs, out),
        };
        // 4. Write.
        let (seq, prev) = if unlocked {
            let row = tx.query_one(
                "UPDATE cee_meta SET head = head + 1 WHERE id = 1 RETURNING head, chain",
                &[],
            )?;
            (seq_of(row.get(0))?, chain_of(row.get(1))?)
        } else {
            (committed + 1, chain)
        };
        let delta = cs.encode();
        let new_chain = next_chain(&prev, seq, &delta);
        write_change(&mut tx, &cs, seq, &delta, &new_chain)?;
        if let Err(e) = tx.commit() {
            // The server answered: the transaction was rolled back. No answer: unknown.
            return Err(match e.code() {
                Some(_) => Failed::from(e),
                None => Failed::Fatal(Error::Storage(StorageError(Box::new(CommitUnknown(e))))),
            });
        }
        #[cfg(test)]
        if self.fail_after_commit.swap(false, Ordering::AcqRel) {
            // As if the answer to COMMIT had been lost.
            return Err(Failed::Fatal(super::storage(
                "test: commit outcome unknown",
            )));
        }
        // 5. Our own change, then tell the others.
        if let Err(e) = self.replica.apply(seq, &cs) {
            // Committed all the same: report success, and reload before the next sync.
            tracing::error!(seq, error = %e, "a committed change did not apply here: reloading");
            self.diverged(super::Divergence::OtherChain);
            return Ok(out);
        }
        sync.applied = seq;
        sync.chain = new_chain;
        drop(sync);
        let _ = client.execute("SELECT pg_notify('cee_change', $1)", &[&seq.to_string()]);
        Ok(out)
    }
}

fn write_change(
    tx: &mut Transaction<'_>,
    cs: &ChangeSet,
    seq: u64,
    delta: &[u8],
    chain: &[u8; 32],
) -> Result<(), Failed> {
    let (puts, removes) = cs.net();
    let (ks, vs): (Vec<Vec<u8>>, Vec<Vec<u8>>) = puts.into_iter().unzip();
    let seq = i64::try_from(seq).map_err(|_| super::storage("sequence number overflow"))?;
    // One round trip: `net` makes removed and written keys disjoint.
    tx.execute(
        "WITH d AS (DELETE FROM cee_kv WHERE k = ANY($1)),
              i AS (INSERT INTO cee_kv (k, v) SELECT * FROM unnest($2::bytea[], $3::bytea[])
                    ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v),
              c AS (INSERT INTO cee_change (seq, delta, chain) VALUES ($4, $5, $6))
         UPDATE cee_meta SET chain = $6 WHERE id = 1",
        &[&removes, &ks, &vs, &seq, &delta, &chain.as_slice()],
    )?;
    Ok(())
}
