//! Online backup (SPEC §11.6): taken while writers register, the copy opens with the same
//! secret, holds every registration acknowledged before `backup()` was called, nothing the
//! source never had, and is a cut at one instant (each writer's registrations form a prefix).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cee_eligibility::clock::ManualClock;
use cee_eligibility::*;

use crate::common::*;

const SECRET: [u8; 32] = [7; 32];
const NOW: &str = "2024-06-15T12:00:00Z";
const WRITERS: u64 = 4;

/// `Durability::Buffered`: the writes acknowledged before the backup reach the copy through
/// the backup's own sync, not the writers'.
fn open(dir: &std::path::Path, secret: [u8; 32]) -> Result<Engine, Error> {
    Engine::open(
        Config::new(dir)
            .secret(secret)
            .clock(ManualClock::new(ts(NOW)))
            .durability(Durability::Buffered),
    )
}

/// Registration `n` of writer `w`: its own licence and phone.
fn request(w: u64, n: u64) -> RegisterRequest {
    let mut r = long_req(
        &format!("+3365{w}{n:04}"),
        "BAK",
        &format!("BK{w}X{n}"),
        'a',
        "2024-05-01T00:00:00Z",
        "2024-06-10T00:00:00Z",
    );
    r.identity_key = format!("{w:032x}{n:032x}").parse().unwrap();
    r
}

/// The uuid of the application that licence `(w, n)` finds, if any.
fn found(engine: &Engine, w: u64, n: u64) -> Result<Option<ApplicationId>, Error> {
    let mut s = sim("long", "+336500000", "ZZZ");
    s.driving_license = Some(format!("BK{w}X{n}").parse().unwrap());
    Ok(match engine.simulate(&op(1), &s)? {
        Simulation::Eligible => None,
        Simulation::Blocked(c) => c.uuid,
    })
}

#[test]
fn backup_under_write_load_is_a_consistent_cut() -> R {
    let tmp = tempfile::tempdir()?;
    let (src, dest) = (tmp.path().join("src"), tmp.path().join("copy"));
    let engine = open(&src, SECRET)?;
    engine.import(
        &op(1),
        &[row("long", "+336111111", "IMP", "2022-06-01T00:00:00Z")],
    )?;
    // writer → n → uuid, in acknowledgement order.
    let acked: Arc<Mutex<BTreeMap<u64, BTreeMap<u64, ApplicationId>>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (engine, acked, stop) = (engine.clone(), acked.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) && n < 9999 {
                    let reg = registered(engine.register(&op(1), &request(w, n)).unwrap());
                    acked
                        .lock()
                        .unwrap()
                        .entry(w)
                        .or_default()
                        .insert(n, reg.uuid);
                    n += 1;
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let before = acked.lock().unwrap().clone();
    engine.backup(&dest)?;
    std::thread::sleep(Duration::from_millis(100));
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().unwrap();
    }
    let after = acked.lock().unwrap().clone();
    assert!(
        matches!(engine.backup(&dest), Err(Error::Config(_))),
        "a backup over an existing directory"
    );
    drop(engine);

    assert!(matches!(open(&dest, [8; 32]), Err(Error::WrongSecret)));
    let copy = open(&dest, SECRET)?;
    let (mut held, mut total_before) = (0u64, 0usize);
    for w in 0..WRITERS {
        let acked_before = before.get(&w).map_or(0, BTreeMap::len);
        total_before += acked_before;
        let mine = after.get(&w).cloned().unwrap_or_default();
        // A prefix of this writer's registrations, at least those acknowledged before.
        let mut present = true;
        for n in 0..=mine.len() as u64 {
            let in_copy = found(&copy, w, n)?;
            match (in_copy, mine.get(&n)) {
                (Some(u), Some(a)) => {
                    assert!(present, "writer {w}: {n} in the copy after a gap");
                    assert_eq!(u, *a, "writer {w}: registration {n} has another uuid");
                    held += 1;
                }
                (Some(u), None) => panic!("writer {w}: {n} ({u}) was never acknowledged"),
                (None, _) => {
                    assert!(
                        n as usize >= acked_before,
                        "writer {w}: registration {n}, acknowledged before the backup, lost"
                    );
                    present = false;
                }
            }
        }
    }
    let stats = copy.stats()?;
    assert_eq!(stats.standardized.1, held, "records vs. index in the copy");
    assert_eq!(stats.specific, (0, 1), "the imported row");
    // The copy is a registry of its own: it takes writes.
    registered(copy.register(&op(1), &request(9, 0))?);
    let total_after: usize = after.values().map(BTreeMap::len).sum();
    eprintln!(
        "backup: {total_before} registrations acknowledged before, {held} in the copy, \
         {total_after} by the end"
    );
    assert!(total_before > 0, "nothing written before the backup");
    Ok(())
}

#[test]
fn backup_refuses_a_temporary_registry_and_leaves_nothing() -> R {
    let (engine, _) = engine_at(NOW);
    let tmp = tempfile::tempdir()?;
    let dest = tmp.path().join("copy");
    assert!(matches!(engine.backup(&dest), Err(Error::Config(_))));
    assert!(!dest.exists());
    Ok(())
}
