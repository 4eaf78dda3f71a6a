//! Model test: random operation sequences applied to the engine and to a tiny oracle written
//! straight from SPEC §5–§6; they must agree after every step. `PROPTEST_CASES` sets the count.

use std::time::Duration;

use cee_eligibility::clock::ManualClock;
use cee_eligibility::*;
use proptest::prelude::*;

use crate::common::*;

const PHONES: [&str; 3] = ["+336000001", "+336000002", "+336000003"];
const NAMES: [&str; 2] = ["AAA", "BBB"];
const LICENSES: [&str; 3] = ["L1", "L2", "L3"];
const KEYS: [char; 3] = ['a', 'b', 'c'];
const DAY: i64 = 86_400_000;
/// Kept uuids that standardized imports may carry (v4 and v7 shaped).
const KEPT: [&str; 3] = [
    "0f8fad5b-d9cb-469f-a165-70867728950e",
    "0188bb9a-3c00-7abc-8def-0123456789ab",
    "6a1b1d5e-6f3c-4c1e-9a8b-2b7c3d4e5f60",
];

#[derive(Debug, Clone)]
struct Person {
    phone: usize,
    name: usize,
    license: usize,
    key: usize,
}

#[derive(Debug, Clone)]
enum Op {
    Import {
        op: u32,
        long: bool,
        phone: usize,
        name: usize,
        days_ago: i64,
    },
    Identity {
        op: u32,
        long: bool,
        phone: usize,
        name: usize,
        days_ago: i64,
        key: usize,
    },
    Simulate {
        op: u32,
        long: bool,
        p: Person,
        with_license: bool,
        with_key: bool,
    },
    /// A past standardized application (SPEC §11.2).
    ImportStandardized {
        op: u32,
        long: bool,
        p: Person,
        with_key: bool,
        days_ago: i64,
        kept: Option<usize>,
    },
    RegisterLong {
        op: u32,
        p: Person,
        days_ago: i64,
    },
    RegisterShort {
        op: u32,
        p: Person,
        days_ago: i64,
    },
    Delete {
        op: u32,
        nth: usize,
    },
    Advance {
        days: u64,
    },
    Reopen,
    /// Retention purge (SPEC §11.6).
    Purge,
}

fn person() -> impl Strategy<Value = Person> {
    (0..3usize, 0..2usize, 0..3usize, 0..3usize).prop_map(|(phone, name, license, key)| Person {
        phone,
        name,
        license,
        key,
    })
}

fn op_strategy() -> impl Strategy<Value = Op> {
    let ago = 0..4000i64;
    prop_oneof![
        3 => (1..3u32, any::<bool>(), 0..3usize, 0..2usize, ago.clone())
            .prop_map(|(op, long, phone, name, days_ago)| Op::Import { op, long, phone, name, days_ago }),
        1 => (1..3u32, any::<bool>(), 0..3usize, 0..2usize, ago.clone(), 0..3usize)
            .prop_map(|(op, long, phone, name, days_ago, key)| Op::Identity { op, long, phone, name, days_ago, key }),
        4 => (1..3u32, any::<bool>(), person(), any::<bool>(), any::<bool>())
            .prop_map(|(op, long, p, with_license, with_key)| Op::Simulate { op, long, p, with_license, with_key }),
        2 => (1..3u32, any::<bool>(), person(), any::<bool>(), 0..5000i64, proptest::option::of(0..3usize))
            .prop_map(|(op, long, p, with_key, days_ago, kept)| Op::ImportStandardized { op, long, p, with_key, days_ago, kept }),
        3 => (1..3u32, person(), 0..600i64).prop_map(|(op, p, days_ago)| Op::RegisterLong { op, p, days_ago }),
        3 => (1..3u32, person(), 0..600i64).prop_map(|(op, p, days_ago)| Op::RegisterShort { op, p, days_ago }),
        1 => (1..3u32, 0..8usize).prop_map(|(op, nth)| Op::Delete { op, nth }),
        1 => (0..2000u64).prop_map(|days| Op::Advance { days }),
        1 => Just(Op::Reopen),
        1 => Just(Op::Purge),
    ]
}

/// An application as the oracle sees it.
#[derive(Debug, Clone)]
struct App {
    uuid: Option<ApplicationId>,
    op: u32,
    specific: bool,
    long: bool,
    datetime: i64,
    phone: usize,
    name: usize,
    license: Option<usize>,
    key: Option<usize>,
    deleted: bool,
}

#[derive(Default)]
struct Oracle {
    apps: Vec<App>,
    /// The audit journal: `(action, operator, at, application)` of each successful write
    /// (`application`: the registered or deleted one, or a standardized row's kept uuid).
    audit: Vec<(AuditAction, u32, i64, Option<ApplicationId>)>,
}

/// The default journal retention (400 days), in ms.
const RETENTION: i64 = 400 * DAY;

fn years_before(t: i64, years: u32) -> i64 {
    let d = Timestamp::from_millis(t).unwrap().to_chrono();
    d.checked_sub_months(chrono::Months::new(years * 12))
        .unwrap()
        .timestamp_millis()
}

impl Oracle {
    /// The live imported row of (operator, type, phone, name): import uniqueness (SPEC §6).
    fn imported(&self, op: u32, long: bool, phone: usize, name: usize) -> Option<usize> {
        self.apps.iter().position(|a| {
            a.specific
                && !a.deleted
                && a.op == op
                && a.long == long
                && a.phone == phone
                && a.name == name
        })
    }

    /// SPEC §5, written out literally: the most recent blocking application (among equally
    /// recent ones, the caller's own: the engine's documented tie-break).
    #[allow(clippy::too_many_arguments)]
    fn blocking(
        &self,
        caller: u32,
        long: bool,
        d: i64,
        phone: usize,
        name: usize,
        license: Option<usize>,
        key: Option<usize>,
    ) -> Option<&App> {
        let p = Policy::default();
        let tp = if long { &p.long } else { &p.short };
        self.apps
            .iter()
            .filter(|e| e.long == long && !e.deleted)
            .filter(|e| {
                (e.key.is_none() && e.phone == phone && e.name == name)
                    || (e.license.is_some() && e.license == license)
                    || (e.key.is_some() && e.key == key)
            })
            .filter(|e| {
                if e.specific {
                    e.datetime >= years_before(d, tp.specific_window_years)
                        && e.datetime >= tp.specific_after.as_millis()
                } else {
                    e.datetime >= years_before(d, tp.standardized_window_years)
                }
            })
            .max_by_key(|e| (e.datetime, e.op == caller))
    }
}

impl Oracle {
    /// SPEC §11.6, literally: an application that blocks no candidate at the horizon
    /// `min(now, start_date)` goes (the thresholds only grow with the reference date).
    fn purge(&mut self, now: i64) {
        let h = now.min(Policy::default().start_date.as_millis());
        let p = Policy::default();
        self.apps.retain(|e| {
            let tp = if e.long { &p.long } else { &p.short };
            e.deleted
                || if e.specific {
                    e.datetime >= years_before(h, tp.specific_window_years)
                        && e.datetime >= tp.specific_after.as_millis()
                } else {
                    e.datetime >= years_before(h, tp.standardized_window_years)
                }
        });
    }

    /// Every answer the oracle can give for reference date `d` (both operators, both types,
    /// every person with and without licence and key).
    fn all_answers(&self, d: i64) -> Vec<Option<(i64, u32)>> {
        let mut out = Vec::new();
        for caller in 1..3 {
            for long in [false, true] {
                for phone in 0..3 {
                    for name in 0..2 {
                        for license in [None, Some(0), Some(1), Some(2)] {
                            for key in [None, Some(0), Some(1), Some(2)] {
                                out.push(
                                    self.blocking(caller, long, d, phone, name, license, key)
                                        .map(|e| (e.datetime, e.op)),
                                );
                            }
                        }
                    }
                }
            }
        }
        out
    }
}

struct World {
    dir: tempfile::TempDir,
    /// A PostgreSQL registry instead of the directory (`engine_on_postgres_agrees_with_oracle`).
    postgres: Option<String>,
    clock: ManualClock,
    engine: Engine,
    oracle: Oracle,
    journeys: u32,
}

fn open(dir: &std::path::Path, postgres: Option<&str>, clock: &ManualClock) -> Engine {
    #[cfg(feature = "postgres")]
    let config = match postgres {
        Some(conninfo) => Config::postgres(conninfo),
        None => Config::new(dir),
    };
    #[cfg(not(feature = "postgres"))]
    let config = {
        assert!(postgres.is_none(), "built without the feature postgres");
        Config::new(dir)
    };
    Engine::open(
        config
            .secret([5; 32])
            .clock(clock.clone())
            .durability(Durability::Buffered),
    )
    .unwrap()
}

fn check_conflict(c: &Conflict, expected: &App, caller: u32) {
    assert_eq!(c.datetime.as_millis(), expected.datetime, "conflict date");
    if expected.op == caller {
        assert!(c.uuid.is_some(), "own application: uuid shown");
        if let Some(u) = expected.uuid {
            assert_eq!(c.uuid, Some(u));
        }
    } else {
        assert_eq!(c.uuid, None, "another operator's: no uuid");
    }
}

impl World {
    fn new() -> World {
        Self::on(None)
    }

    fn on(postgres: Option<String>) -> World {
        let dir = tempfile::tempdir().unwrap();
        let clock = ManualClock::new(ts("2024-06-15T12:00:00Z"));
        let engine = open(dir.path(), postgres.as_deref(), &clock);
        World {
            dir,
            postgres,
            clock,
            engine,
            oracle: Oracle::default(),
            journeys: 0,
        }
    }

    fn now(&self) -> i64 {
        self.engine.now().as_millis()
    }

    fn step(&mut self, step: &Op) {
        let now = self.now();
        match step.clone() {
            Op::Import {
                op,
                long,
                phone,
                name,
                days_ago,
            } => {
                let datetime = now - days_ago * DAY;
                let jt = if long { "long" } else { "short" };
                let dt = Timestamp::from_millis(datetime).unwrap().to_string();
                let rep = self
                    .engine
                    .import(&op_(op), &[row(jt, PHONES[phone], NAMES[name], &dt)])
                    .unwrap();
                let dup = self.oracle.imported(op, long, phone, name).is_some();
                assert_eq!(rep.imported, usize::from(!dup), "import {step:?}");
                if !dup {
                    self.oracle
                        .audit
                        .push((AuditAction::Imported, op, now, None));
                    self.oracle.apps.push(App {
                        uuid: None,
                        op,
                        specific: true,
                        long,
                        datetime,
                        phone,
                        name,
                        license: None,
                        key: None,
                        deleted: false,
                    });
                }
            }
            Op::Identity {
                op,
                long,
                phone,
                name,
                days_ago,
                key,
            } => {
                // Target the row's real date when there is one, so that some rows do match.
                let target = self.oracle.imported(op, long, phone, name);
                let datetime = match target {
                    Some(i) if days_ago % 2 == 0 => self.oracle.apps[i].datetime,
                    _ => now - days_ago * DAY,
                };
                let rep = self
                    .engine
                    .import_identity(
                        &op_(op),
                        &[IdentityRow::Specific {
                            identity_key: KEYS[key].to_string().repeat(64),
                            phone_trunc: PHONES[phone].into(),
                            last_name_trunc: NAMES[name].into(),
                            journey_type: if long { "long" } else { "short" }.into(),
                            datetime: Timestamp::from_millis(datetime).unwrap().to_string(),
                        }],
                    )
                    .unwrap();
                let hit = target.filter(|i| {
                    self.oracle.apps[*i].datetime == datetime && self.oracle.apps[*i].key.is_none()
                });
                assert_eq!(
                    rep.imported,
                    usize::from(hit.is_some()),
                    "identity {step:?}"
                );
                if let Some(i) = hit {
                    self.oracle.apps[i].key = Some(key);
                    let audit = (AuditAction::IdentityImported, op, now, None);
                    self.oracle.audit.push(audit);
                }
            }
            Op::Simulate {
                op,
                long,
                p,
                with_license,
                with_key,
            } => {
                let mut req = sim(
                    if long { "long" } else { "short" },
                    PHONES[p.phone],
                    NAMES[p.name],
                );
                let license = with_license.then_some(p.license);
                let key = with_key.then_some(p.key);
                req.driving_license = license.map(|l| LICENSES[l].parse().unwrap());
                req.identity_key = key.map(|k| crate::common::key(KEYS[k]));
                let got = self.engine.simulate(&op_(op), &req).unwrap();
                match (
                    self.oracle
                        .blocking(op, long, now, p.phone, p.name, license, key),
                    got,
                ) {
                    (None, Simulation::Eligible) => {}
                    (Some(e), Simulation::Blocked(c)) => check_conflict(&c, e, op),
                    (e, got) => panic!("simulate {step:?}: oracle {e:?}, engine {got:?}"),
                }
            }
            Op::ImportStandardized {
                op,
                long,
                p,
                with_key,
                days_ago,
                kept,
            } => {
                let datetime = now - days_ago * DAY;
                let row = StandardizedRow {
                    journey_type: if long { "long" } else { "short" }.into(),
                    datetime: Timestamp::from_millis(datetime).unwrap().to_string(),
                    last_name_trunc: NAMES[p.name].into(),
                    phone_trunc: PHONES[p.phone].into(),
                    driving_license: LICENSES[p.license].into(),
                    identity_key: with_key.then(|| KEYS[p.key].to_string().repeat(64)),
                    uuid: kept.map(|k| KEPT[k].into()),
                    ..StandardizedRow::default()
                };
                let rep = self.engine.import_standardized(&op_(op), &[row]).unwrap();
                let uuid: Option<ApplicationId> = kept.map(|k| KEPT[k].parse().unwrap());
                // SPEC §11.2: Conflict on an existing uuid (deleted ones too), or on the
                // caller's live application of that type with the same licence and date.
                let conflict = self
                    .oracle
                    .apps
                    .iter()
                    .any(|a| uuid.is_some() && a.uuid == uuid)
                    || self.oracle.apps.iter().any(|a| {
                        !a.deleted
                            && !a.specific
                            && a.op == op
                            && a.long == long
                            && a.license == Some(p.license)
                            && a.datetime == datetime
                    });
                assert_eq!(rep.imported, usize::from(!conflict), "{step:?}: {rep:?}");
                if !conflict {
                    let audit = (AuditAction::StandardizedImported, op, now, uuid);
                    self.oracle.audit.push(audit);
                    self.oracle.apps.push(App {
                        uuid,
                        op,
                        specific: false,
                        long,
                        datetime,
                        phone: p.phone,
                        name: p.name,
                        license: Some(p.license),
                        key: with_key.then_some(p.key),
                        deleted: false,
                    });
                }
            }
            Op::RegisterLong { op, p, days_ago } => {
                let datetime = now - days_ago * DAY;
                let applied = Timestamp::from_millis(now - 3_600_000).unwrap().to_string();
                let dt = Timestamp::from_millis(datetime).unwrap().to_string();
                let req = long_req(
                    PHONES[p.phone],
                    NAMES[p.name],
                    LICENSES[p.license],
                    KEYS[p.key],
                    &dt,
                    &applied,
                );
                let out = self.engine.register(&op_(op), &req).unwrap();
                self.expect_register(op, true, datetime, &p, out, step);
            }
            Op::RegisterShort { op, p, days_ago } => {
                let end = now - days_ago * DAY;
                self.journeys += 1;
                let ojid = format!("j{}", self.journeys);
                let s = Timestamp::from_millis(end - 1_800_000).unwrap().to_string();
                let e = Timestamp::from_millis(end).unwrap().to_string();
                self.engine
                    .put_journey(&op_(op), &journey(&ojid, PHONES[p.phone], &s, &e))
                    .unwrap();
                let applied = Timestamp::from_millis(now - 3_600_000).unwrap().to_string();
                let req = short_req(
                    &ojid,
                    NAMES[p.name],
                    LICENSES[p.license],
                    KEYS[p.key],
                    &applied,
                );
                let out = self.engine.register(&op_(op), &req).unwrap();
                let policy = Policy::default();
                let start = end - 1_800_000;
                if !(policy.start_date.as_millis() <= start && start < policy.end_date.as_millis())
                {
                    assert!(
                        matches!(
                            out,
                            RegisterOutcome::Refused(Refusal::JourneyNotEligible(
                                NotEligible::Period { .. }
                            ))
                        ),
                        "{step:?}: {out:?}"
                    );
                    return;
                }
                self.expect_register(op, false, end, &p, out, step);
            }
            Op::Delete { op, nth } => {
                let own: Vec<usize> = (0..self.oracle.apps.len())
                    .filter(|i| {
                        let a = &self.oracle.apps[*i];
                        a.op == op && !a.deleted && a.uuid.is_some()
                    })
                    .collect();
                if let Some(&i) = own.get(nth % own.len().max(1)) {
                    let uuid = self.oracle.apps[i].uuid;
                    self.engine.delete(&op_(op), &uuid.unwrap()).unwrap();
                    self.oracle.apps[i].deleted = true;
                    let audit = (AuditAction::Deleted, op, now, uuid);
                    self.oracle.audit.push(audit);
                }
            }
            Op::Advance { days } => self.clock.advance(Duration::from_secs(days * 86_400)),
            Op::Purge => {
                // The oracle's purge changes none of its own answers at or after the horizon
                // (so none at or after now)…
                let h = now.min(Policy::default().start_date.as_millis());
                let dates = [h, h + 1, now, now + 400 * DAY];
                let before: Vec<_> = dates.iter().map(|d| self.oracle.all_answers(*d)).collect();
                self.oracle.purge(now);
                self.oracle
                    .audit
                    .retain(|(_, _, at, _)| *at >= now - RETENTION);
                let after: Vec<_> = dates.iter().map(|d| self.oracle.all_answers(*d)).collect();
                assert_eq!(before, after, "the oracle's purge changed an answer");
                // …and the engine's purge removes what the oracle's does (every later step
                // compares them: imports of purged rows, identity keys, simulations).
                let report = self.engine.purge().unwrap();
                assert_eq!(report.horizon.as_millis(), h);
            }
            Op::Reopen => {
                self.engine.flush().unwrap();
                // Drop the old engine (releasing sled's file lock) before opening again.
                self.engine = Engine::open(Config::temporary()).unwrap();
                self.engine = open(self.dir.path(), self.postgres.as_deref(), &self.clock);
            }
        }
    }

    /// The engine's audit journal is the oracle's: one entry per successful write, in order.
    fn check_audit(&self, step: &Op) {
        let got: Vec<_> = self
            .engine
            .audit_journal()
            .unwrap()
            .iter()
            .zip(&self.oracle.audit)
            .map(|(a, (action, _, _, kept))| {
                let uuid = match a.action {
                    AuditAction::StandardizedImported => {
                        assert_eq!(a.uuids.len(), 1);
                        // A drawn uuid is the engine's to choose.
                        kept.and(a.uuids.first().copied())
                    }
                    _ => a.application,
                };
                assert_eq!(a.action, *action, "after {step:?}");
                (a.action, a.operator_id, a.at.as_millis(), uuid)
            })
            .collect();
        assert_eq!(
            self.engine.audit_journal().unwrap().len(),
            self.oracle.audit.len(),
            "audit entries after {step:?}"
        );
        assert_eq!(got, self.oracle.audit, "audit journal after {step:?}");
    }

    fn expect_register(
        &mut self,
        op: u32,
        long: bool,
        d: i64,
        p: &Person,
        out: RegisterOutcome,
        step: &Op,
    ) {
        let now = self.now();
        let policy = Policy::default();
        if long && !(policy.start_date.as_millis() < d && d < policy.end_date.as_millis()) {
            assert_eq!(
                out,
                RegisterOutcome::Refused(Refusal::Date(DateRule::OutsidePeriod {
                    start: policy.start_date,
                    end: policy.end_date,
                })),
                "{step:?}"
            );
            return;
        }
        if d >= now - 7 * DAY {
            assert_eq!(
                out,
                RegisterOutcome::Refused(Refusal::Date(DateRule::TooRecent {
                    delay: policy.registration_delay,
                })),
                "{step:?}"
            );
            return;
        }
        match (
            self.oracle
                .blocking(op, long, d, p.phone, p.name, Some(p.license), Some(p.key)),
            out,
        ) {
            (None, RegisterOutcome::Registered(r)) => {
                assert_eq!(r.datetime.as_millis(), d);
                let audit = (AuditAction::Registered, op, now, Some(r.uuid));
                self.oracle.audit.push(audit);
                self.oracle.apps.push(App {
                    uuid: Some(r.uuid),
                    op,
                    specific: false,
                    long,
                    datetime: d,
                    phone: p.phone,
                    name: p.name,
                    license: Some(p.license),
                    key: Some(p.key),
                    deleted: false,
                });
            }
            (Some(e), RegisterOutcome::Refused(Refusal::Conflict(c))) => check_conflict(&c, e, op),
            (e, out) => panic!("register {step:?}: oracle {e:?}, engine {out:?}"),
        }
    }
}

fn op_(id: u32) -> Operator {
    op(id)
}

proptest! {
    // A fixed seed by default so CI is reproducible; `MODEL_SEED=<u64>` picks another and
    // `MODEL_SEED=random` explores afresh (print the failing case, then pin it as a
    // `regression_*` test).
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(64),
        failure_persistence: None,
        rng_seed: match std::env::var("MODEL_SEED").as_deref() {
            Ok("random") => proptest::test_runner::RngSeed::Random,
            Ok(s) => proptest::test_runner::RngSeed::Fixed(s.parse().unwrap_or(20_261_123)),
            Err(_) => proptest::test_runner::RngSeed::Fixed(20_261_123),
        },
        ..ProptestConfig::default()
    })]

    #[test]
    fn engine_agrees_with_oracle(ops in proptest::collection::vec(op_strategy(), 1..40)) {
        let mut w = World::new();
        for step in &ops {
            w.step(step);
            w.check_audit(step);
        }
    }
}

/// The same model test on a PostgreSQL registry (a fresh database per case; a reopen opens a
/// new engine on it, rebuilt from PostgreSQL): `PROPTEST_CASES_PG` cases (default 16).
#[cfg(feature = "postgres")]
#[test]
fn engine_on_postgres_agrees_with_oracle() {
    use proptest::test_runner::{RngSeed, TestRunner};
    let Some(base) = crate::pg::support::server("model on postgres") else {
        return;
    };
    let cases = std::env::var("PROPTEST_CASES_PG")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(16);
    let mut runner = TestRunner::new(ProptestConfig {
        cases,
        failure_persistence: None,
        rng_seed: RngSeed::Fixed(20_261_124),
        ..ProptestConfig::default()
    });
    runner
        .run(&proptest::collection::vec(op_strategy(), 1..40), |ops| {
            let mut w = World::on(Some(crate::pg::fresh_database(&base)));
            for step in &ops {
                w.step(step);
            }
            Ok(())
        })
        .unwrap();
}

/// Shrunk from a 2000-case CI run: operator 2's standardized application and operator 1's
/// imported row, both dated now − 387 days, both block operator 1's simulation. The engine
/// described whichever its index held last; the most recent tie now goes to the caller's own
/// application (its uuid can be shown), whatever the insertion or rebuild order.
#[test]
fn regression_equally_recent_applications_prefer_the_callers() {
    let mut w = World::new();
    let p = |phone, key| Person {
        phone,
        name: 0,
        license: 0,
        key,
    };
    for step in [
        Op::RegisterLong {
            op: 2,
            p: p(0, 2),
            days_ago: 387,
        },
        Op::Import {
            op: 1,
            long: true,
            phone: 2,
            name: 0,
            days_ago: 387,
        },
        Op::Simulate {
            op: 1,
            long: true,
            p: p(2, 0),
            with_license: true,
            with_key: false,
        },
        Op::Reopen,
        Op::Simulate {
            op: 1,
            long: true,
            p: p(2, 0),
            with_license: true,
            with_key: false,
        },
        Op::Simulate {
            op: 2,
            long: true,
            p: p(2, 0),
            with_license: true,
            with_key: false,
        },
    ] {
        w.step(&step);
    }
}
