//! Crash test (SPEC §8): a child process writes with `Durability::Immediate` and is killed
//! with SIGKILL at random points; the parent reopens the same directory and checks that every
//! acknowledged write is there and that no import batch is half-applied. The directory is
//! reused across kills, so recovery after recovery is exercised too.
//!
//! Knobs: `CEE_CRASH_KILLS` (default 20), `CEE_CRASH_SEED` (default fixed).
//!
//! Protocol (child stdout, one line per event, flushed before the next call):
//! `READY`, `START IMPORT <batch>` / `IMPORT <batch> <n>`, `START IDENT <batch>` /
//! `IDENT <batch> <n>`, `START REG <n> <long|short>` /
//! `JOURNEY <n>` / `REG <uuid> <long|short> <n>`, `START DEL <n>` / `DEL <n>`,
//! `START STD <batch>` / `STD <batch> <n>` (past standardized applications). A `START` line
//! is written *before* the call, so the parent knows every write that may have reached the
//! disk, and checks that each one is there entirely or not at all.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use cee_eligibility::clock::ManualClock;
use cee_eligibility::*;

use crate::common::*;

const DIR_VAR: &str = "CEE_CRASH_DIR";
const SEED_VAR: &str = "CEE_CRASH_SEED";
const BATCH_VAR: &str = "CEE_CRASH_FIRST_BATCH";
const REG_VAR: &str = "CEE_CRASH_FIRST_REG";
const UNIDENTIFIED_VAR: &str = "CEE_CRASH_UNIDENTIFIED";
const STD_VAR: &str = "CEE_CRASH_FIRST_STD";
/// Standardized import batches: phones `+3367sbiii` need `s < 100`.
const MAX_STD: u64 = 99;
const SECRET: [u8; 32] = [9; 32];
const NOW: &str = "2024-06-15T12:00:00Z";
const ROWS: usize = 1000;
/// Import phones are `+336bbbiii` (batch < 300: national `60…`–`62…`, all valid);
/// registration phones `+3364nnnnn`.
const MAX_BATCH: u64 = 299;

/// A small deterministic PRNG (splitmix64), shared with the stress test.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    pub(crate) fn between(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }
}

pub(crate) fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|s| s.parse().ok())
}

fn open(dir: &str) -> Result<Engine, Error> {
    Engine::open(
        Config::new(dir)
            .secret(SECRET)
            .clock(ManualClock::new(ts(NOW)))
            .durability(Durability::Immediate),
    )
}

fn batch_phone(batch: u64, i: usize) -> String {
    format!("+336{batch:03}{i:03}")
}

fn batch_jt(i: usize) -> &'static str {
    if i.is_multiple_of(2) {
        "short"
    } else {
        "long"
    }
}

fn batch_rows(batch: u64) -> Vec<ImportRow> {
    (0..ROWS)
        .map(|i| {
            row(
                batch_jt(i),
                &batch_phone(batch, i),
                "IMP",
                "2022-06-01T00:00:00Z",
            )
        })
        .collect()
}

fn row_key(batch: u64, i: usize) -> IdentityKey {
    format!("{:032x}{i:032x}", batch + 1).parse().unwrap()
}

/// Identity keys for every row of an imported batch (one atomic batch of 1000 key swaps).
fn identity_rows(batch: u64) -> Vec<IdentityRow> {
    (0..ROWS)
        .map(|i| IdentityRow::Specific {
            identity_key: row_key(batch, i).to_string(),
            phone_trunc: batch_phone(batch, i),
            last_name_trunc: "IMP".into(),
            journey_type: batch_jt(i).into(),
            datetime: "2022-06-01T00:00:00Z".into(),
        })
        .collect()
}

/// Past standardized applications of batch `s` (SPEC §11.2): kept uuids and tokens, one
/// licence each, half short and half long.
fn std_rows(s: u64) -> Vec<StandardizedRow> {
    (0..ROWS)
        .map(|i| StandardizedRow {
            journey_type: batch_jt(i).into(),
            datetime: "2023-06-01T00:00:00Z".into(),
            last_name_trunc: "STD".into(),
            phone_trunc: format!("+3367{s:02}{i:03}"),
            driving_license: std_license(s, i),
            uuid: Some(std_uuid(s, i).to_string()),
            token: Some(format!("t{s}-{i}")),
            ..StandardizedRow::default()
        })
        .collect()
}

fn std_license(s: u64, i: usize) -> String {
    format!("S{s:04}{i:04}")
}

fn std_uuid(s: u64, i: usize) -> ApplicationId {
    format!("{:08x}-0000-4000-8000-{i:012x}", s + 1)
        .parse()
        .unwrap()
}

fn reg_phone(n: u64) -> String {
    format!("+3364{n:05}")
}

fn reg_license(n: u64) -> String {
    format!("CR{n}")
}

fn reg_key(n: u64) -> IdentityKey {
    format!("c{n:063x}").parse().unwrap()
}

fn reg_request(n: u64, long: bool) -> RegisterRequest {
    let mut req = if long {
        long_req(
            &reg_phone(n),
            "REG",
            &reg_license(n),
            'a',
            "2024-05-01T00:00:00Z",
            "2024-06-10T00:00:00Z",
        )
    } else {
        short_req(
            &format!("crash-{n}"),
            "REG",
            &reg_license(n),
            'a',
            "2024-06-10T00:00:00Z",
        )
    };
    req.identity_key = reg_key(n);
    req
}

fn say(out: &mut impl Write, line: &str) {
    writeln!(out, "{line}").unwrap();
    out.flush().unwrap();
}

/// The child: writes until killed. Returns at once when not started by the crash test.
#[test]
#[ignore = "child process of crash::acknowledged_writes_survive_sigkill"]
fn child_main() {
    let Ok(dir) = std::env::var(DIR_VAR) else {
        return;
    };
    let mut rng = Rng::new(env_u64(SEED_VAR).unwrap());
    let mut batch = env_u64(BATCH_VAR).unwrap();
    let mut n = env_u64(REG_VAR).unwrap();
    let mut std_batch = env_u64(STD_VAR).unwrap();
    let engine = open(&dir).unwrap();
    // The first phone parsed loads libphonenumber's metadata (about a second in debug builds):
    // do it before READY, so that the kill delays measure writes.
    let _: PhoneTrunc = reg_phone(0).parse().unwrap();
    let o = op(1);
    // Registrations of this run, deletable; batches of this run, not yet identified.
    let mut mine: Vec<(u64, ApplicationId)> = Vec::new();
    let mut unidentified: Vec<u64> = std::env::var(UNIDENTIFIED_VAR)
        .unwrap()
        .split(',')
        .filter_map(|b| b.parse().ok())
        .collect();
    let mut out = std::io::stdout().lock();
    say(&mut out, "READY");
    // The parent kills us long before this; the deadline only bounds an orphan.
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        match rng.below(12) {
            10..=11 if std_batch <= MAX_STD => {
                say(&mut out, &format!("START STD {std_batch}"));
                let report = engine
                    .import_standardized(&o, &std_rows(std_batch))
                    .unwrap();
                assert_eq!(report.imported, ROWS, "{:?}", report.failed_details.first());
                say(&mut out, &format!("STD {std_batch} {}", report.imported));
                std_batch += 1;
            }
            0..=1 if batch <= MAX_BATCH => {
                say(&mut out, &format!("START IMPORT {batch}"));
                let report = engine.import(&o, &batch_rows(batch)).unwrap();
                assert_eq!(report.imported, ROWS, "{:?}", report.failed_details.first());
                say(&mut out, &format!("IMPORT {batch} {}", report.imported));
                unidentified.push(batch);
                batch += 1;
            }
            2 | 9 if !unidentified.is_empty() => {
                let b = unidentified.swap_remove(0);
                say(&mut out, &format!("START IDENT {b}"));
                let report = engine.import_identity(&o, &identity_rows(b)).unwrap();
                assert_eq!(report.imported, ROWS, "{:?}", report.failed_details.first());
                say(&mut out, &format!("IDENT {b} {}", report.imported));
            }
            7..=8 if !mine.is_empty() => {
                let (m, uuid) = mine.swap_remove(rng.below(mine.len() as u64) as usize);
                say(&mut out, &format!("START DEL {m}"));
                engine.delete(&o, &uuid).unwrap();
                say(&mut out, &format!("DEL {m}"));
            }
            k => {
                let long = k % 2 == 0;
                let kind = if long { "long" } else { "short" };
                say(&mut out, &format!("START REG {n} {kind}"));
                if !long {
                    let j = journey(
                        &format!("crash-{n}"),
                        &reg_phone(n),
                        "2024-05-01T08:00:00Z",
                        "2024-05-01T09:00:00Z",
                    );
                    engine.put_journey(&o, &j).unwrap();
                    say(&mut out, &format!("JOURNEY {n}"));
                }
                let reg = registered(engine.register(&o, &reg_request(n, long)).unwrap());
                say(&mut out, &format!("REG {} {kind} {n}", reg.uuid));
                mine.push((n, reg.uuid));
                n += 1;
            }
        }
    }
}

/// What the children reported, over all rounds.
#[derive(Default)]
pub(crate) struct Log {
    pub(crate) batches_started: BTreeSet<u64>,
    pub(crate) batches_acked: BTreeSet<u64>,
    pub(crate) idents_started: BTreeSet<u64>,
    pub(crate) idents_acked: BTreeSet<u64>,
    /// n → long
    pub(crate) regs_started: BTreeMap<u64, bool>,
    pub(crate) journeys_acked: BTreeSet<u64>,
    pub(crate) dels_started: BTreeSet<u64>,
    pub(crate) dels_acked: BTreeSet<u64>,
    /// n → (uuid, long)
    pub(crate) regs_acked: BTreeMap<u64, (ApplicationId, bool)>,
    pub(crate) std_started: BTreeSet<u64>,
    pub(crate) std_acked: BTreeSet<u64>,
}

impl Log {
    pub(crate) fn record(&mut self, line: &str) {
        let w: Vec<&str> = line.split_whitespace().collect();
        match w.as_slice() {
            ["START", "IMPORT", b] => {
                self.batches_started.insert(b.parse().unwrap());
            }
            ["IMPORT", b, n] => {
                assert_eq!(n.parse::<usize>().unwrap(), ROWS);
                self.batches_acked.insert(b.parse().unwrap());
            }
            ["START", "IDENT", b] => {
                self.idents_started.insert(b.parse().unwrap());
            }
            ["IDENT", b, n] => {
                assert_eq!(n.parse::<usize>().unwrap(), ROWS);
                self.idents_acked.insert(b.parse().unwrap());
            }
            ["START", "REG", n, kind] => {
                self.regs_started
                    .insert(n.parse().unwrap(), *kind == "long");
            }
            ["START", "STD", b] => {
                self.std_started.insert(b.parse().unwrap());
            }
            ["STD", b, n] => {
                assert_eq!(n.parse::<usize>().unwrap(), ROWS);
                self.std_acked.insert(b.parse().unwrap());
            }
            ["START", "DEL", n] => {
                self.dels_started.insert(n.parse().unwrap());
            }
            ["DEL", n] => {
                self.dels_acked.insert(n.parse().unwrap());
            }
            ["JOURNEY", n] => {
                self.journeys_acked.insert(n.parse().unwrap());
            }
            ["REG", uuid, kind, n] => {
                self.regs_acked
                    .insert(n.parse().unwrap(), (uuid.parse().unwrap(), *kind == "long"));
            }
            // libtest's own lines ("running 1 test", …).
            _ => {}
        }
    }

    fn next_batch(&self) -> u64 {
        self.batches_started.last().map_or(0, |b| b + 1)
    }

    fn next_reg(&self) -> u64 {
        self.regs_started.last_key_value().map_or(0, |(n, _)| n + 1)
    }

    fn next_std(&self) -> u64 {
        self.std_started.last().map_or(0, |b| b + 1)
    }
}

/// Runs one child until it is killed; returns its stdout lines.
pub(crate) fn run_child(
    dir: &str,
    seed: u64,
    log: &Log,
    unidentified: &[u64],
    kill: Kill,
) -> Vec<String> {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["crash::child_main", "--exact", "--nocapture", "--ignored"])
        .env(DIR_VAR, dir)
        .env(SEED_VAR, seed.to_string())
        .env(BATCH_VAR, log.next_batch().to_string())
        .env(REG_VAR, log.next_reg().to_string())
        .env(STD_VAR, log.next_std().to_string())
        .env(
            UNIDENTIFIED_VAR,
            unidentified
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(","),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut lines = Vec::new();
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap();
            if line == "READY" {
                let _ = tx.send(());
            }
            lines.push(line);
        }
        lines
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut s);
        s
    });
    match kill {
        Kill::AfterReady(delay) => {
            // The first round creates the database: wait for READY, however long it takes.
            if rx.recv_timeout(Duration::from_secs(60)).is_err() {
                let _ = child.kill();
                let _ = child.wait();
                panic!("child never got ready: {}", err_reader.join().unwrap());
            }
            std::thread::sleep(delay);
        }
        Kill::AfterSpawn(delay) => std::thread::sleep(delay),
    }
    if let Some(status) = child.try_wait().unwrap() {
        panic!(
            "child exited on its own ({status}): {}",
            err_reader.join().unwrap()
        );
    }
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(!status.success(), "child was killed");
    drop(err_reader);
    reader.join().unwrap()
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum Kill {
    /// Kill this long after the child opened the database.
    AfterReady(Duration),
    /// Kill this long after spawning (possibly during open and recovery).
    AfterSpawn(Duration),
}

/// Figures of one verification.
#[derive(Debug, Default)]
pub(crate) struct Checked {
    pub(crate) batches_present: usize,
    /// Batches imported and without identity keys yet.
    pub(crate) unidentified: Vec<u64>,
    pub(crate) rows_checked: usize,
    pub(crate) regs_checked: usize,
    /// Standardized import batches found.
    pub(crate) std_present: usize,
}

/// Where standardized import batch `s` stands: every row there (by licence, with its kept
/// uuid, and its token found by that uuid) or none; anything in between fails the test.
fn std_batch_present(engine: &Engine, s: u64, reqs: &[SimulateRequest]) -> Result<bool, Error> {
    let o = op(1);
    let mut present = 0;
    for (i, q) in reqs.iter().enumerate() {
        match engine.simulate(&o, q)? {
            Simulation::Eligible => {}
            Simulation::Blocked(c) => {
                assert_eq!(c.uuid, Some(std_uuid(s, i)), "std batch {s} row {i}: uuid");
                present += 1;
            }
        }
    }
    assert!(
        present == 0 || present == reqs.len(),
        "std batch {s} is half-applied: {present} of {} rows",
        reqs.len()
    );
    if present > 0 {
        for i in [0, ROWS - 1] {
            let app = engine.find(&o, &std_uuid(s, i))?;
            assert_eq!(
                app.token,
                Some(format!("t{s}-{i}")),
                "std batch {s} row {i}: token"
            );
        }
    } else {
        assert!(matches!(
            engine.find(&o, &std_uuid(s, 0)),
            Err(Error::NotFound { .. })
        ));
    }
    Ok(present > 0)
}

/// Simulation requests of every row of a batch, parsed once (phone parsing dominates): by
/// name and phone, and by identity key alone.
fn batch_requests(batch: u64) -> Vec<(SimulateRequest, SimulateRequest)> {
    (0..ROWS)
        .map(|i| {
            let mut by_key = sim(batch_jt(i), "+336500000", "ZZZ");
            by_key.identity_key = Some(row_key(batch, i));
            (sim(batch_jt(i), &batch_phone(batch, i), "IMP"), by_key)
        })
        .collect()
}

/// Where an import batch stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum BatchState {
    Absent,
    /// Imported: its rows match by name and phone.
    Imported,
    /// Imported, then given identity keys: its rows match by key only (SPEC §5 rule 2).
    Identified,
}

fn jt_name(long: bool) -> &'static str {
    if long {
        "long"
    } else {
        "short"
    }
}

/// Where registration `n` stands: `Some(uuid)` when its record, its index entries (licence and
/// identity key) and, for a short one, its journey's link are all there; `None` when none of
/// them is. Anything in between fails the test.
fn registration_state(
    engine: &Engine,
    n: u64,
    long: bool,
    acked: Option<ApplicationId>,
) -> Result<Option<ApplicationId>, Error> {
    let o = op(1);
    let jt = jt_name(long);
    let mut by_license = sim(jt, "+336500000", "ZZZ");
    by_license.driving_license = Some(reg_license(n).parse().unwrap());
    let mut by_key = sim(jt, &reg_phone(n), "REG");
    by_key.identity_key = Some(reg_key(n));
    let uuid_of = |s: Simulation| match s {
        Simulation::Eligible => None,
        Simulation::Blocked(c) => Some(c.uuid.expect("own application: uuid shown")),
    };
    let license = uuid_of(engine.simulate(&o, &by_license)?);
    let key = uuid_of(engine.simulate(&o, &by_key)?);
    assert_eq!(
        license, key,
        "registration {n}: licence and key entries disagree"
    );
    let linked = if long {
        license
    } else {
        let id = format!("crash-{n}").parse().unwrap();
        engine.journey(&o, &id)?.and_then(|j| j.application)
    };
    assert_eq!(linked, license, "registration {n}: journey link vs. index");
    if let (Some(u), Some(a)) = (license, acked) {
        assert_eq!(u, a, "registration {n}: another application blocks");
    }
    if let Some(u) = license.or(acked) {
        match engine.find(&o, &u) {
            Ok(app) => {
                assert_eq!(
                    license,
                    Some(u),
                    "registration {n}: record without index entries"
                );
                assert_eq!(app.journey_type.to_string(), jt);
                assert!(!app.specific);
            }
            Err(Error::NotFound { .. }) => {
                assert_eq!(
                    license, None,
                    "registration {n}: index entries without record"
                )
            }
            Err(e) => return Err(e),
        }
    }
    Ok(license)
}

pub(crate) fn verify(
    dir: &str,
    log: &Log,
    requests: &mut BTreeMap<u64, Vec<(SimulateRequest, SimulateRequest)>>,
) -> Result<Checked, Error> {
    let engine = open(dir)?;
    let o = op(1);
    let mut checked = Checked::default();
    // Standardized import batches: acknowledged ones complete, every one all or nothing.
    for &s in &log.std_started {
        let reqs: Vec<SimulateRequest> = (0..ROWS)
            .map(|i| {
                let mut q = sim(batch_jt(i), "+336500000", "ZZZ");
                q.driving_license = Some(std_license(s, i).parse().unwrap());
                q
            })
            .collect();
        let present = std_batch_present(&engine, s, &reqs)?;
        if log.std_acked.contains(&s) {
            assert!(present, "std batch {s}: acknowledged import lost");
        }
        checked.std_present += usize::from(present);
    }
    // Import batches (and their identity imports): acknowledged ones complete, every one all
    // or nothing.
    let mut identified = 0;
    for &b in &log.batches_started {
        let reqs = requests.entry(b).or_insert_with(|| batch_requests(b));
        let mut counts = BTreeMap::new();
        for (by_name_phone, by_key) in reqs.iter() {
            let state = match (
                engine.simulate(&o, by_name_phone)?.is_eligible(),
                engine.simulate(&o, by_key)?.is_eligible(),
            ) {
                (true, true) => BatchState::Absent,
                (false, true) => BatchState::Imported,
                (true, false) => BatchState::Identified,
                (false, false) => panic!("batch {b}: a row matches by name+phone and by key"),
            };
            *counts.entry(state).or_insert(0) += 1;
        }
        checked.rows_checked += reqs.len();
        let state = match counts.keys().collect::<Vec<_>>().as_slice() {
            [one] => **one,
            _ => panic!("batch {b} is half-applied: {counts:?}"),
        };
        let ctx = format!("batch {b} is {state:?}");
        if log.batches_acked.contains(&b) {
            assert_ne!(state, BatchState::Absent, "{ctx}: acknowledged import lost");
        }
        if log.idents_acked.contains(&b) {
            assert_eq!(
                state,
                BatchState::Identified,
                "{ctx}: acknowledged identities lost"
            );
        }
        if !log.idents_started.contains(&b) {
            assert_ne!(state, BatchState::Identified, "{ctx}: never identified");
        }
        if state != BatchState::Absent {
            checked.batches_present += 1;
        }
        if state == BatchState::Identified {
            identified += 1;
        }
        if state == BatchState::Imported && !log.idents_started.contains(&b) {
            checked.unidentified.push(b);
        }
    }
    // Acknowledged journeys and registrations.
    for n in &log.journeys_acked {
        let j = engine.journey(&o, &format!("crash-{n}").parse().unwrap())?;
        assert!(j.is_some(), "acknowledged journey {n} lost");
    }
    // Registrations and deletes: each one entirely there or entirely absent; acknowledged
    // ones as acknowledged.
    let (mut active, mut deleted) = (0u64, 0u64);
    for (&n, &long) in &log.regs_started {
        let acked = log.regs_acked.get(&n).map(|(u, _)| *u);
        let state = registration_state(&engine, n, long, acked)?;
        let ctx = format!("registration {n} ({}, acked {acked:?})", jt_name(long));
        match (
            acked,
            log.dels_acked.contains(&n),
            log.dels_started.contains(&n),
        ) {
            (Some(u), false, false) => assert_eq!(state, Some(u), "{ctx}: lost"),
            (Some(_), true, _) => assert_eq!(state, None, "{ctx}: acknowledged delete lost"),
            // A registration or a delete in flight: either outcome, as long as it is whole.
            _ => {}
        }
        match (state, acked) {
            (Some(_), _) => active += 1,
            (None, Some(_)) => deleted += 1,
            (None, None) => {}
        }
        checked.regs_checked += 1;
    }
    // The stored records agree with the index: whole batches, whole registrations.
    let stats = engine.stats()?;
    assert_eq!(
        stats.specific,
        (
            (checked.batches_present * ROWS / 2) as u64,
            (checked.batches_present * ROWS / 2) as u64
        ),
        "specific records vs. batches found through the index"
    );
    assert_eq!(
        stats.standardized.0 + stats.standardized.1,
        active + (checked.std_present * ROWS) as u64,
        "standardized records vs. registrations and past applications found through the index"
    );
    assert_eq!(
        stats.deleted, deleted,
        "tombstones vs. deleted registrations"
    );
    // The audit journal is committed with the writes: one entry per write found, no more.
    let audit = engine.audit_journal()?;
    let count = |a: AuditAction| audit.iter().filter(|e| e.action == a).count() as u64;
    assert_eq!(
        (
            count(AuditAction::Imported),
            count(AuditAction::IdentityImported),
            count(AuditAction::StandardizedImported),
            count(AuditAction::Registered),
            count(AuditAction::Deleted),
        ),
        (
            checked.batches_present as u64,
            identified,
            checked.std_present as u64,
            active + deleted,
            deleted
        ),
        "audit entries (imports, identity imports, standardized imports, registrations, \
         deletions) vs. the writes found"
    );
    assert!(audit
        .iter()
        .all(|e| e.operator_id == 1 && (e.rows as usize == ROWS || e.rows == 1)));
    Ok(checked)
}

#[test]
fn acknowledged_writes_survive_sigkill() -> R {
    let kills = env_u64("CEE_CRASH_KILLS").unwrap_or(20);
    let seed = env_u64(SEED_VAR).unwrap_or(0x5EED_C4A5);
    let tmp = tempfile::tempdir()?;
    let dir = tmp.path().to_str().unwrap().to_owned();
    let mut rng = Rng::new(seed);
    let mut log = Log::default();
    let mut requests = BTreeMap::new();
    let started = Instant::now();
    let mut last = Checked::default();
    let (mut rows_total, mut regs_total) = (0, 0);
    for round in 0..kills {
        // Every fifth round is killed early, often while sled opens and recovers.
        let kill = if round % 5 == 4 {
            Kill::AfterSpawn(Duration::from_millis(rng.between(0, 60)))
        } else {
            // Short delays hit the first write; long ones let imports (0.2–0.5 s each in a
            // debug build) be acknowledged before the kill.
            let (lo, hi) = if rng.below(2) == 0 {
                (20, 400)
            } else {
                (400, 1500)
            };
            Kill::AfterReady(Duration::from_millis(rng.between(lo, hi)))
        };
        let lines = run_child(&dir, rng.next_u64(), &log, &last.unidentified, kill);
        for line in &lines {
            log.record(line);
        }
        last = verify(&dir, &log, &mut requests)
            .map_err(|e| format!("round {round} ({kill:?}), seed {seed:#x}: reopen: {e}"))?;
        rows_total += last.rows_checked;
        regs_total += last.regs_checked;
    }
    eprintln!(
        "crash: {kills} kills in {:.1?}; batches acknowledged {} / attempted {} / present {}; \
         identity batches acknowledged {} / attempted {}; \
         registrations acknowledged {} / attempted {}; deletes acknowledged {} / attempted {}; \
         standardized batches acknowledged {} / attempted {}; \
         journeys {}; over all rounds: {rows_total} row checks, {regs_total} registration checks",
        started.elapsed(),
        log.batches_acked.len(),
        log.batches_started.len(),
        last.batches_present,
        log.idents_acked.len(),
        log.idents_started.len(),
        log.regs_acked.len(),
        log.regs_started.len(),
        log.dels_acked.len(),
        log.dels_started.len(),
        log.std_acked.len(),
        log.std_started.len(),
        log.journeys_acked.len(),
    );
    assert!(
        kills < 5
            || (!log.batches_acked.is_empty()
                && !log.regs_acked.is_empty()
                && !log.idents_acked.is_empty()
                && !log.dels_acked.is_empty()
                && !log.std_acked.is_empty()),
        "the children acknowledged nothing: the test checks nothing"
    );
    Ok(())
}
