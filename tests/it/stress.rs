//! Concurrency stress (SPEC §6 atomicity, §8 "all operations may be called from many threads at
//! once"): threads mix every operation on a small identity space for a bounded time, then the
//! acknowledged outcomes are checked against the database: no two matching standardized
//! applications were ever active at once, `stats()` equals the tallies, journeys and
//! applications point at each other, and the in-memory index equals the one rebuilt at reopen.
//!
//! Knobs: `CEE_STRESS_SECS` (default 3), `CEE_STRESS_THREADS` (default 6), `CEE_STRESS_SEED`.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

use cee_eligibility::clock::ManualClock;
use cee_eligibility::*;

use crate::common::*;
use crate::corruption::retry_locked;
use crate::crash::Rng;

const NOW: &str = "2024-06-15T12:00:00Z";
const APPLIED: &str = "2024-06-10T00:00:00Z";
const PHONES: [&str; 4] = ["+336610000", "+336610001", "+336610002", "+336610003"];
const NAMES: [&str; 2] = ["AAA", "BBB"];
const LICENSES: [&str; 4] = ["S1", "S2", "S3", "S4"];
const KEYS: [char; 4] = ['a', 'b', 'c', 'd'];
const IMPORT_DATES: [&str; 4] = [
    "2016-03-01T00:00:00Z",
    "2019-06-01T00:00:00Z",
    "2021-01-01T00:00:00Z",
    "2023-02-01T00:00:00Z",
];

/// A successful registration, with when its call returned.
#[derive(Debug, Clone)]
struct Reg {
    uuid: ApplicationId,
    op: u32,
    long: bool,
    license: usize,
    key: usize,
    journey: Option<String>,
    end: Instant,
}

/// A successful delete.
#[derive(Debug, Clone)]
struct Del {
    uuid: ApplicationId,
    specific: bool,
    long: bool,
    start: Instant,
}

/// What one thread saw acknowledged.
#[derive(Debug, Default)]
struct Tally {
    ops: u64,
    /// Imported rows (short, long).
    imported: [u64; 2],
    regs: Vec<Reg>,
    dels: Vec<Del>,
    refusals: u64,
    /// (operator, operator_journey_id) of every journey stored.
    journeys: Vec<(u32, String)>,
    errors: Vec<String>,
}

fn pick(rng: &mut Rng, len: usize) -> usize {
    rng.below(len as u64) as usize
}

fn jt(long: bool) -> &'static str {
    if long {
        "long"
    } else {
        "short"
    }
}

/// One thread's loop until `deadline`.
fn worker(
    e: &Engine,
    t: u64,
    seed: u64,
    deadline: Instant,
    known: &Mutex<Vec<(ApplicationId, u32)>>,
) -> Tally {
    let mut rng = Rng::new(seed ^ (t + 1).wrapping_mul(0x9E37_79B9));
    let mut tally = Tally::default();
    let mut own_journeys: Vec<(u32, String)> = Vec::new();
    let mut n = 0u64;
    while Instant::now() < deadline {
        tally.ops += 1;
        let o = 1 + rng.below(2) as u32;
        let operator = op(o);
        let what = rng.below(16);
        let ctx = format!("thread {t}, op #{}, kind {what}", tally.ops);
        let result: Result<(), Error> = (|| {
            match what {
                0..=1 => {
                    let rows: Vec<ImportRow> = (0..1 + rng.below(4))
                        .map(|_| {
                            row(
                                jt(rng.below(2) == 1),
                                PHONES[pick(&mut rng, 4)],
                                NAMES[pick(&mut rng, 2)],
                                IMPORT_DATES[pick(&mut rng, 4)],
                            )
                        })
                        .collect();
                    let rep = e.import(&operator, &rows)?;
                    let mut per_type = [0i64; 2];
                    for r in &rows {
                        per_type[usize::from(r.journey_type == "long")] += 1;
                    }
                    for f in &rep.failed_details {
                        assert_eq!(f.error, "Conflict", "{ctx}");
                        per_type[usize::from(f.row.journey_type == "long")] -= 1;
                    }
                    assert_eq!(rep.imported as i64, per_type[0] + per_type[1], "{ctx}");
                    tally.imported[0] += per_type[0] as u64;
                    tally.imported[1] += per_type[1] as u64;
                }
                2 => {
                    let row = IdentityRow::Specific {
                        identity_key: KEYS[pick(&mut rng, 4)].to_string().repeat(64),
                        phone_trunc: PHONES[pick(&mut rng, 4)].into(),
                        last_name_trunc: NAMES[pick(&mut rng, 2)].into(),
                        journey_type: jt(rng.below(2) == 1).into(),
                        datetime: IMPORT_DATES[pick(&mut rng, 4)].into(),
                    };
                    let rep = e.import_identity(&operator, &[row])?;
                    assert_eq!(rep.imported + rep.failed, 1, "{ctx}");
                }
                3..=5 => {
                    let mut q = sim(
                        jt(rng.below(2) == 1),
                        PHONES[pick(&mut rng, 4)],
                        NAMES[pick(&mut rng, 2)],
                    );
                    if rng.below(2) == 0 {
                        q.driving_license = Some(LICENSES[pick(&mut rng, 4)].parse().unwrap());
                    }
                    if rng.below(2) == 0 {
                        q.identity_key = Some(key(KEYS[pick(&mut rng, 4)]));
                    }
                    if let Simulation::Blocked(c) = e.simulate(&operator, &q)? {
                        if let Some(u) = c.uuid {
                            known.lock().unwrap().push((u, o));
                        }
                    }
                }
                6..=10 => {
                    let long = what <= 8;
                    let (license, k) = (pick(&mut rng, 4), pick(&mut rng, 4));
                    let phone = PHONES[pick(&mut rng, 4)];
                    let name = NAMES[pick(&mut rng, 2)];
                    let mut journey_id = None;
                    let req = if long {
                        // A payment date from 2023-02 to 2024-05: inside the period, > 7 days ago.
                        let day = 1 + rng.below(28);
                        let (year, month) = match rng.below(16) {
                            m @ 0..=10 => (2023, m + 2),
                            m => (2024, m - 10),
                        };
                        let date = format!("{year}-{month:02}-{day:02}T10:00:00Z");
                        long_req(phone, name, LICENSES[license], KEYS[k], &date, APPLIED)
                    } else {
                        n += 1;
                        let ojid = format!("t{t}-{n}");
                        let day = 1 + rng.below(9);
                        e.put_journey(
                            &operator,
                            &journey(
                                &ojid,
                                phone,
                                &format!("2024-05-0{day}T08:00:00Z"),
                                &format!("2024-05-0{day}T09:00:00Z"),
                            ),
                        )?;
                        tally.journeys.push((o, ojid.clone()));
                        own_journeys.push((o, ojid.clone()));
                        journey_id = Some(ojid.clone());
                        short_req(&ojid, name, LICENSES[license], KEYS[k], APPLIED)
                    };
                    let out = e.register(&operator, &req)?;
                    let end = Instant::now();
                    match out {
                        RegisterOutcome::Registered(r) => {
                            known.lock().unwrap().push((r.uuid, o));
                            tally.regs.push(Reg {
                                uuid: r.uuid,
                                op: o,
                                long,
                                license,
                                key: k,
                                journey: journey_id,
                                end,
                            });
                        }
                        RegisterOutcome::Refused(_) => tally.refusals += 1,
                    }
                }
                11..=12 => {
                    let target = {
                        let known = known.lock().unwrap();
                        (!known.is_empty()).then(|| known[pick(&mut rng, known.len())])
                    };
                    if let Some((u, owner)) = target {
                        let owner_op = op(owner);
                        match e.find(&owner_op, &u) {
                            Ok(app) => {
                                let start = Instant::now();
                                match e.delete(&owner_op, &u) {
                                    Ok(()) => tally.dels.push(Del {
                                        uuid: u,
                                        specific: app.specific,
                                        long: app.journey_type == JourneyType::Long,
                                        start,
                                    }),
                                    Err(Error::NotFound { .. }) => {}
                                    Err(err) => return Err(err),
                                }
                            }
                            Err(Error::NotFound { .. }) => {}
                            Err(err) => return Err(err),
                        }
                    }
                }
                13..=14 if !own_journeys.is_empty() => {
                    let (jo, ojid) = own_journeys[pick(&mut rng, own_journeys.len())].clone();
                    let id: OperatorJourneyId = ojid.parse().unwrap();
                    let patch = JourneyPatch {
                        distance: Some(Distance::new([30_000, 90_000][pick(&mut rng, 2)]).unwrap()),
                        ..JourneyPatch::default()
                    };
                    match e.patch_journey(&op(jo), &id, &patch) {
                        Ok(_) | Err(Error::Conflict(_)) => {}
                        Err(err) => return Err(err),
                    }
                }
                _ if !own_journeys.is_empty() => {
                    let (jo, ojid) = own_journeys[pick(&mut rng, own_journeys.len())].clone();
                    let status = JourneyStatus::ALL[pick(&mut rng, JourneyStatus::ALL.len())];
                    e.set_journey_status(&op(jo), &ojid.parse().unwrap(), status)?;
                }
                _ => {}
            }
            Ok(())
        })();
        if let Err(err) = result {
            tally.errors.push(format!("{ctx}: {err:?}"));
        }
    }
    tally
}

fn open(dir: &std::path::Path) -> Engine {
    retry_locked(|| {
        Engine::open(
            Config::new(dir)
                .secret([6; 32])
                .clock(ManualClock::new(ts(NOW))),
        )
    })
    .unwrap()
}

/// Do two standardized applications match each other (SPEC §5)? Both carry an identity key,
/// so name+phone never matches; all dates lie within each other's windows.
fn matching(a: &Reg, b: &Reg) -> bool {
    a.long == b.long && (a.license == b.license || a.key == b.key)
}

#[test]
fn concurrent_operations_keep_the_invariants() -> R {
    let secs = std::env::var("CEE_STRESS_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3.0);
    let threads: u64 = std::env::var("CEE_STRESS_THREADS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(6);
    let seed: u64 = std::env::var("CEE_STRESS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x57_4E55);
    let dir = tempfile::tempdir()?;
    let e = open(dir.path());
    // Warm libphonenumber's metadata so the threads start together.
    let _ = e.simulate(&op(1), &sim("short", PHONES[0], NAMES[0]))?;
    let known = Arc::new(Mutex::new(Vec::new()));
    let barrier = Arc::new(Barrier::new(threads as usize));
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let (e, known, barrier) = (e.clone(), known.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                let deadline = Instant::now() + Duration::from_secs_f64(secs);
                worker(&e, t, seed, deadline, &known)
            })
        })
        .collect();
    let tallies: Vec<Tally> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let errors: Vec<&String> = tallies.iter().flat_map(|t| &t.errors).collect();
    assert!(errors.is_empty(), "unexpected errors: {errors:#?}");
    let regs: Vec<&Reg> = tallies.iter().flat_map(|t| &t.regs).collect();
    let dels: HashMap<ApplicationId, &Del> = tallies
        .iter()
        .flat_map(|t| &t.dels)
        .map(|d| (d.uuid, d))
        .collect();
    let del_count: usize = tallies.iter().map(|t| t.dels.len()).sum();
    assert_eq!(dels.len(), del_count, "an application was deleted twice");

    // 1. Of two matching registrations, the first was deleted before the second's call
    //    returned (its delete *started* before then, as seen from outside the lock).
    let deleted_at = |r: &Reg| dels.get(&r.uuid).map(|d| d.start);
    let mut pairs = 0;
    for (i, a) in regs.iter().enumerate() {
        for b in &regs[i + 1..] {
            if matching(a, b) {
                pairs += 1;
                let a_first_then_deleted = deleted_at(a).is_some_and(|d| d < b.end);
                let b_first_then_deleted = deleted_at(b).is_some_and(|d| d < a.end);
                assert!(
                    a_first_then_deleted || b_first_then_deleted,
                    "two matching applications active at once:\n{a:?}\n{b:?}"
                );
            }
        }
    }

    // 2. stats() equals the tallies.
    let sum = |f: &dyn Fn(&Tally) -> u64| tallies.iter().map(f).sum::<u64>();
    let count_regs = |long| regs.iter().filter(|r| r.long == long).count() as u64;
    let count_dels = |specific, long| {
        dels.values()
            .filter(|d| d.specific == specific && d.long == long)
            .count() as u64
    };
    let expected_standardized = (
        count_regs(false) - count_dels(false, false),
        count_regs(true) - count_dels(false, true),
    );
    let expected_specific = (
        sum(&|t| t.imported[0]) - count_dels(true, false),
        sum(&|t| t.imported[1]) - count_dels(true, true),
    );
    let stats = e.stats()?;
    assert_eq!(stats.standardized, expected_standardized, "standardized");
    assert_eq!(stats.specific, expected_specific, "specific");
    assert_eq!(stats.deleted, del_count as u64, "deleted");
    assert_eq!(
        stats.journeys,
        sum(&|t| t.journeys.len() as u64),
        "journeys"
    );
    assert_eq!(stats.journal, sum(&|t| t.refusals), "journal = refusals");

    // 3. Journeys and their applications point at each other.
    let active: BTreeMap<String, ApplicationId> = regs
        .iter()
        .filter(|r| !dels.contains_key(&r.uuid))
        .filter_map(|r| r.journey.clone().map(|j| (format!("{}/{j}", r.op), r.uuid)))
        .collect();
    for (o, ojid) in tallies.iter().flat_map(|t| &t.journeys) {
        let j = e.journey(&op(*o), &ojid.parse()?)?.unwrap();
        assert_eq!(
            j.application,
            active.get(&format!("{o}/{ojid}")).copied(),
            "journey {o}/{ojid}"
        );
    }
    for r in regs.iter().filter(|r| !dels.contains_key(&r.uuid)) {
        let app = e.find(&op(r.op), &r.uuid)?;
        assert_eq!(app.journey_type == JourneyType::Long, r.long);
        let mut q = sim(jt(r.long), "+336500000", "ZZZ");
        q.driving_license = Some(LICENSES[r.license].parse()?);
        assert!(!e.simulate(&op(r.op), &q)?.is_eligible(), "{r:?} blocks");
    }
    for d in dels.values() {
        assert!(matches!(
            e.find(&op(1), &d.uuid),
            Err(Error::NotFound { .. })
        ));
    }

    // 4. The in-memory index equals the one rebuilt from sled at open.
    let index = stats.index;
    e.flush()?;
    drop(e);
    let e = open(dir.path());
    let reopened = e.stats()?;
    assert_eq!(reopened.index, index, "in-memory index vs. rebuilt");
    assert_eq!(
        (reopened.specific, reopened.standardized, reopened.deleted),
        (stats.specific, stats.standardized, stats.deleted)
    );

    let ops = sum(&|t| t.ops);
    eprintln!(
        "stress: {threads} threads, {secs} s: {ops} operations, {} registrations \
         ({} long, {pairs} matching pairs checked), {del_count} deletes, {} refusals, \
         {} imported rows, {} journeys",
        regs.len(),
        count_regs(true),
        sum(&|t| t.refusals),
        sum(&|t| t.imported[0] + t.imported[1]),
        stats.journeys,
    );
    assert!(
        regs.len() > 1 && del_count > 0,
        "the workload did too little"
    );
    Ok(())
}
