//! The listener thread: keeps the replica in step with changes committed by other instances.
//!
//! `LISTEN cee_change` on its own connection (to the primary: LISTEN fails on a standby), then
//! forever: sync (one REPEATABLE READ snapshot: the meta row, then every change above what was
//! applied), wait for a notification or the poll tick, sync again. A notification only wakes it
//! up (its payload is ignored): a missed one costs at most one poll tick. A lost connection is
//! reopened; a divergence is answered by a reload. Never idle inside a transaction.

use std::sync::atomic::Ordering;
use std::time::Duration;

use postgres::fallible_iterator::FallibleIterator;
use postgres::Client;

use super::{catch_up, lock, read_meta, Inner};
use crate::error::Error;

pub(super) fn run(inner: &Inner) {
    while !inner.stop.load(Ordering::Acquire) {
        let mut client = match inner.connect().and_then(|mut c| {
            // Engines without LISTEN (CockroachDB) refuse it: the poll alone keeps the bound.
            if let Err(e) = c.batch_execute("LISTEN cee_change") {
                if e.code().is_none() {
                    return Err(e.into());
                }
                tracing::warn!(error = %e, "LISTEN refused: following by polling only");
            }
            let pid: i32 = c.query_one("SELECT pg_backend_pid()", &[])?.get(0);
            inner.listener_pid.store(pid, Ordering::Release);
            Ok(c)
        }) {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "registry listener cannot connect; retrying");
                std::thread::sleep(inner.opts.poll);
                continue;
            }
        };
        if let Err(e) = serve(inner, &mut client) {
            tracing::warn!(error = %e, "registry listener failed to sync; reconnecting");
            // A lost connection is reopened at once; a failing sync does not spin.
            if !client.is_closed() {
                std::thread::sleep(inner.opts.poll);
            }
        }
        inner.listener_pid.store(0, Ordering::Release);
    }
}

/// Syncs on every notification or poll tick until the connection fails or the store is dropped.
fn serve(inner: &Inner, client: &mut Client) -> Result<(), Error> {
    loop {
        sync_once(inner, client)?;
        if inner.stop.load(Ordering::Acquire) {
            return Ok(());
        }
        wait(client, inner.opts.poll)?;
    }
}

/// Waits up to `poll` for a notification, then drains the ones already buffered.
fn wait(client: &mut Client, poll: Duration) -> Result<(), Error> {
    let mut notifications = client.notifications();
    if notifications.timeout_iter(poll).next()?.is_some() {
        let mut more = notifications.iter();
        while more.next()?.is_some() {}
    }
    Ok(())
}

/// Applies every change committed since the last sync; reloads after a divergence.
pub(super) fn sync_once(inner: &Inner, client: &mut Client) -> Result<(), Error> {
    let diverged = {
        let mut sync = lock(&inner.sync);
        let mut tx = client
            .build_transaction()
            .isolation_level(postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()?;
        let (head, chain, epoch) = read_meta(&mut tx)?;
        let replica = &*inner.replica;
        let mut apply = |seq: u64, delta: &[u8]| replica.apply(seq, delta);
        let outcome = catch_up(&mut tx, &mut sync, &mut apply, head, &chain, epoch)?;
        tx.commit()?;
        outcome.err()
    };
    match diverged {
        None if !inner.diverged.load(Ordering::Acquire) => {
            inner.mark_synced();
            Ok(())
        }
        // Flagged by a writer whose own change did not apply: reload all the same.
        None => {
            inner.reload(client)?;
            inner.rebuilds.fetch_add(1, Ordering::AcqRel);
            Ok(())
        }
        Some(why) => {
            inner.diverged(why);
            inner.reload(client)?;
            inner.rebuilds.fetch_add(1, Ordering::AcqRel);
            Ok(())
        }
    }
}
