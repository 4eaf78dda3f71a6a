//! Retention purge (SPEC §11.6), one test per category of what goes; the model test checks
//! that answers do not change over random histories, the crash test (`crash_purge`) that an
//! interrupted purge leaves the registry as before or as after it.

use std::time::Duration;

use cee_eligibility::clock::ManualClock;
use cee_eligibility::*;

use crate::common::*;

const SECRET: [u8; 32] = [3; 32];

fn open(dir: &std::path::Path, clock: &ManualClock, policy: Policy) -> Engine {
    Engine::open(
        Config::new(dir)
            .secret(SECRET)
            .clock(clock.clone())
            .policy(policy),
    )
    .unwrap()
}

/// Every (type, phone) of the import fixture, simulated by operator 1.
fn answers(e: &Engine, phones: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for jt in ["short", "long"] {
        for p in phones {
            out.push(format!(
                "{:?}",
                e.simulate(&op(1), &sim(jt, p, "ABC")).unwrap()
            ));
        }
    }
    out
}

const PHONES: [&str; 6] = [
    "+336000001",
    "+336000002",
    "+336000003",
    "+336000004",
    "+336000005",
    "+336000006",
];

#[test]
fn expired_imported_rows_go_and_kept_rows_keep_their_uuids() -> R {
    let dir = tempfile::tempdir()?;
    let clock = ManualClock::new(ts("2021-06-01T00:00:00Z"));
    // Opened first under rules where every imported row blocks, to learn the rows' uuids.
    let mut lenient = Policy::default();
    for t in [&mut lenient.short, &mut lenient.long] {
        t.specific_after = Timestamp::MIN;
        t.specific_window_years = 100;
    }
    let e = open(dir.path(), &clock, lenient);
    // Horizon 2022-06-01 (now, before the period): short specific rows before 2020-01-01+01:00 and long ones
    // before 2015-01-01+01:00 expire (one millisecond either side).
    let rows = [
        row("short", PHONES[0], "ABC", "2019-12-31T22:59:59.999Z"), // expired
        row("short", PHONES[1], "ABC", "2019-12-31T23:00:00Z"),     // kept
        row("long", PHONES[2], "ABC", "2014-12-31T22:59:59.999Z"),  // expired
        row("long", PHONES[3], "ABC", "2014-12-31T23:00:00Z"),      // kept
        row("short", PHONES[4], "ABC", "2016-01-01T00:00:00Z"),     // expired (last row)
    ];
    assert_eq!(e.import(&op(1), &rows)?.imported, 5);
    // A second segment, all expired.
    assert_eq!(
        e.import(
            &op(1),
            &[row("short", PHONES[5], "ABC", "2018-01-01T00:00:00Z")]
        )?
        .imported,
        1
    );
    // The uuids, read while every row still blocks (reference date 2021 for long, and the
    // short rows through a policy-free look: simulate at 2021-06 sees short rows ≥ 2018-06).
    let uuid_of = |e: &Engine, jt: &str, p: &str| {
        blocked(e.simulate(&op(1), &sim(jt, p, "ABC")).unwrap())
            .uuid
            .unwrap()
    };
    let kept_short = uuid_of(&e, "short", PHONES[1]);
    let kept_long = uuid_of(&e, "long", PHONES[3]);
    let expired_short = uuid_of(&e, "short", PHONES[5]);
    drop(e);
    let e = open(dir.path(), &clock, Policy::default());
    // Before the period: the horizon is now, and the kept rows still block.
    clock.set(ts("2022-06-01T00:00:00Z"));
    let before = answers(&e, &PHONES);
    let index_before = e.stats()?.index.1;
    let dry = e.purge_dry_run()?;
    assert!(dry.dry_run);
    assert_eq!(
        e.stats()?.index.1,
        index_before,
        "a dry run removes nothing"
    );
    let rep = e.purge()?;
    assert_eq!(rep.horizon, ts("2022-06-01T00:00:00Z"));
    assert_eq!(
        before.iter().filter(|a| a.starts_with("Blocked")).count(),
        2,
        "the kept rows block: {before:?}"
    );
    assert_eq!(
        (
            rep.rows_removed,
            rep.segments_rewritten,
            rep.segments_dropped
        ),
        (4, 1, 1)
    );
    assert_eq!(rep.index_entries_removed, 4);
    assert_eq!(
        (dry.rows_removed, dry.journeys_removed, dry.journal_removed),
        (rep.rows_removed, rep.journeys_removed, rep.journal_removed)
    );
    assert_eq!(
        (
            dry.segments_rewritten,
            dry.segments_dropped,
            dry.index_entries_removed
        ),
        (1, 1, 4)
    );
    assert_eq!(
        e.stats()?.index.1,
        index_before - 4,
        "the in-memory index shrinks"
    );
    assert_eq!(
        answers(&e, &PHONES),
        before,
        "answers at or after now unchanged"
    );
    // Kept rows keep their uuids; purged ones are gone; a purged row may be imported again.
    assert_eq!(e.find(&op(1), &kept_short)?.uuid, kept_short);
    assert_eq!(e.find(&op(1), &kept_long)?.uuid, kept_long);
    assert!(matches!(
        e.find(&op(1), &expired_short),
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        e.delete(&op(1), &expired_short),
        Err(Error::NotFound { .. })
    ));
    // Nothing left to purge.
    let again = e.purge()?;
    assert_eq!(
        (
            again.rows_removed,
            again.segments_rewritten,
            again.segments_dropped
        ),
        (0, 0, 0)
    );
    // Reopened: the same answers, the same uuids.
    drop(e);
    let e = open(dir.path(), &clock, Policy::default());
    assert_eq!(answers(&e, &PHONES), before);
    assert_eq!(uuid_of(&e, "short", PHONES[1]), kept_short);
    assert_eq!(e.stats()?.index.1, index_before - 4);
    assert_eq!(e.stats()?.specific, (1, 1));
    assert_eq!(
        e.import(
            &op(1),
            &[row("short", PHONES[0], "ABC", "2019-01-01T00:00:00Z")]
        )?
        .imported,
        1,
        "a purged row no longer counts for import uniqueness"
    );
    Ok(())
}

#[test]
fn tombstones_lose_their_pseudonyms_and_answer_as_before() -> R {
    let (e, clock) = engine_at("2024-06-15T12:00:00Z");
    let reg = registered(e.register(
        &op(1),
        &long_req(
            "+336111111",
            "DEF",
            "L1",
            'a',
            "2024-03-01T00:00:00Z",
            "2024-06-01T00:00:00Z",
        ),
    )?);
    e.import(
        &op(1),
        &[row("long", "+336111112", "DEF", "2024-01-01T00:00:00Z")],
    )?;
    let imported = blocked(e.simulate(&op(1), &sim("long", "+336111112", "DEF"))?)
        .uuid
        .unwrap();
    e.delete(&op(1), &reg.uuid)?;
    e.delete(&op(1), &imported)?;
    clock.advance(Duration::from_secs(86_400));
    let rep = e.purge()?;
    assert_eq!(rep.tombstones_scrubbed, 2);
    // The deleted import's segment row went too: its segment held nothing else.
    assert_eq!(rep.segments_dropped, 1);
    assert_eq!(rep.rows_removed, 0, "a superseded row is no expired row");
    for u in [reg.uuid, imported] {
        assert!(matches!(e.find(&op(1), &u), Err(Error::NotFound { .. })));
        assert!(matches!(e.delete(&op(1), &u), Err(Error::NotFound { .. })));
    }
    assert_eq!(e.stats()?.deleted, 2, "tombstones stay");
    assert!(e
        .simulate(&op(1), &sim("long", "+336111112", "DEF"))?
        .is_eligible());
    assert_eq!(e.purge()?.tombstones_scrubbed, 0, "scrubbed once");
    Ok(())
}

#[test]
fn journeys_without_live_application_that_ended_before_the_horizon_go() -> R {
    let (e, clock) = engine_at("2024-06-15T12:00:00Z");
    let o = op(1);
    // Before the period (start 2023-01-01+01:00): never eligible, goes.
    e.put_journey(
        &o,
        &journey(
            "old",
            "+336222221",
            "2022-12-30T08:00:00Z",
            "2022-12-30T09:00:00Z",
        ),
    )?;
    // In the period, with an application: stays.
    e.put_journey(
        &o,
        &journey(
            "taken",
            "+336222222",
            "2024-05-01T08:00:00Z",
            "2024-05-01T09:00:00Z",
        ),
    )?;
    registered(e.register(
        &o,
        &short_req("taken", "GHI", "L2", 'b', "2024-06-01T00:00:00Z"),
    )?);
    // In the period, no application: stays (it may still carry one).
    e.put_journey(
        &o,
        &journey(
            "free",
            "+336222223",
            "2024-05-02T08:00:00Z",
            "2024-05-02T09:00:00Z",
        ),
    )?;
    clock.set(ts("2040-01-01T00:00:00Z"));
    let rep = e.purge()?;
    assert_eq!(rep.journeys_removed, 1);
    let id = |s: &str| s.parse::<OperatorJourneyId>().unwrap();
    assert!(e.journey(&o, &id("old"))?.is_none());
    assert!(e.journey(&o, &id("taken"))?.is_some());
    assert!(e.journey(&o, &id("free"))?.is_some());
    assert_eq!(e.stats()?.journeys, 2);
    Ok(())
}

#[test]
fn journal_entries_older_than_the_retention_go() -> R {
    let clock = ManualClock::new(ts("2024-06-15T12:00:00Z"));
    let e = Engine::open(
        Config::temporary()
            .clock(clock.clone())
            .journal_retention(Duration::from_secs(10 * 86_400)),
    )?;
    let too_recent = long_req(
        "+336333331",
        "JKL",
        "L3",
        'c',
        "2024-06-14T00:00:00Z",
        "2024-06-14T01:00:00Z",
    );
    refusal(e.register(&op(1), &too_recent)?);
    clock.advance(Duration::from_secs(5 * 86_400));
    refusal(e.register(&op(1), &too_recent)?);
    assert_eq!(e.error_journal()?.len(), 2);
    // 10 days after the first: it is not older than the retention yet.
    clock.set(ts("2024-06-25T12:00:00Z"));
    assert_eq!(e.purge()?.journal_removed, 0);
    clock.set(ts("2024-06-25T12:00:00.001Z"));
    assert_eq!(e.purge()?.journal_removed, 1);
    assert_eq!(e.error_journal()?.len(), 1);
    Ok(())
}

/// Registered applications expire when the policy in force moves on: with a period starting
/// in 2034, a short standardized application of 2024 (5 years) can no longer block anyone,
/// a long one (12 years) still can.
#[test]
fn expired_registered_applications_go_with_their_journey() -> R {
    let dir = tempfile::tempdir()?;
    let clock = ManualClock::new(ts("2024-06-15T12:00:00Z"));
    let e = open(dir.path(), &clock, Policy::default());
    let o = op(1);
    e.put_journey(
        &o,
        &journey(
            "j1",
            "+336444441",
            "2024-05-01T08:00:00Z",
            "2024-05-01T09:00:00Z",
        ),
    )?;
    let short = registered(e.register(
        &o,
        &short_req("j1", "MNO", "L4", 'd', "2024-06-01T00:00:00Z"),
    )?);
    let long = registered(e.register(
        &o,
        &long_req(
            "+336444442",
            "MNO",
            "L5",
            'e',
            "2024-03-01T00:00:00Z",
            "2024-06-01T00:00:00Z",
        ),
    )?);
    drop(e);
    let mut later = Policy::default();
    later.start_date = ts("2034-01-01T00:00:00Z");
    later.end_date = ts("2035-01-01T00:00:00Z");
    clock.set(ts("2036-01-01T00:00:00Z"));
    let e = open(dir.path(), &clock, later.clone());
    let sims = |e: &Engine| {
        [("short", "+336444441"), ("long", "+336444442")]
            .map(|(jt, p)| format!("{:?}", e.simulate(&o, &sim(jt, p, "MNO")).unwrap()))
    };
    let before = sims(&e);
    let index_before = e.stats()?.index.1;
    let rep = e.purge()?;
    assert_eq!((rep.records_removed, rep.journeys_removed), (1, 1));
    assert_eq!(
        rep.index_entries_removed, 2,
        "licence and identity key entries"
    );
    assert_eq!(e.stats()?.index.1, index_before - 2);
    assert_eq!(sims(&e), before);
    assert!(matches!(
        e.find(&o, &short.uuid),
        Err(Error::NotFound { .. })
    ));
    assert_eq!(e.find(&o, &long.uuid)?.uuid, long.uuid);
    drop(e);
    let e = open(dir.path(), &clock, later);
    assert_eq!(e.stats()?.index.1, index_before - 2);
    assert_eq!(e.stats()?.standardized, (0, 1));
    Ok(())
}

/// Readers and a writer keep going while a purge runs: every reader answer stays what it was
/// before, the writer's imports all land, and the in-memory index afterwards equals the one
/// rebuilt at reopen.
#[test]
fn purge_runs_beside_readers_and_writers() -> R {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let dir = tempfile::tempdir()?;
    let clock = ManualClock::new(ts("2022-06-01T00:00:00Z"));
    let e = open(dir.path(), &clock, Policy::default());
    let phone = |b: u64, i: u64| format!("+3367{b:02}{i:03}");
    for b in 0..20 {
        let rows: Vec<ImportRow> = (0..200)
            .map(|i| {
                let year = 2016 + (i + b) % 6; // 2016..=2021: about half expire
                row(
                    "short",
                    &phone(b, i),
                    "STU",
                    &format!("{year}-05-01T00:00:00Z"),
                )
            })
            .collect();
        assert_eq!(e.import(&op(1), &rows)?.imported, 200);
    }
    let queries: Vec<SimulateRequest> = (0..20)
        .flat_map(|b| (0..200).step_by(7).map(move |i| (b, i)))
        .map(|(b, i)| sim("short", &phone(b, i), "STU"))
        .collect();
    let answer = |e: &Engine, q: &SimulateRequest| format!("{:?}", e.simulate(&op(2), q).unwrap());
    let expected: Vec<String> = queries.iter().map(|q| answer(&e, q)).collect();
    assert!(expected.iter().any(|a| a.starts_with("Blocked")));
    let stop = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let (e, stop, queries, expected) =
                (e.clone(), stop.clone(), queries.clone(), expected.clone());
            std::thread::spawn(move || {
                let mut rounds = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    for (q, want) in queries.iter().zip(&expected) {
                        assert_eq!(&answer(&e, q), want, "a reader saw another answer");
                    }
                    rounds += 1;
                }
                rounds
            })
        })
        .collect();
    let writer = {
        let (e, stop) = (e.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut imported = 0;
            let mut b = 50;
            while !stop.load(Ordering::Relaxed) && b < 99 {
                let rows: Vec<ImportRow> = (0..50)
                    .map(|i| {
                        row(
                            "long",
                            &format!("+3367{b:02}{i:03}"),
                            "VWX",
                            "2021-01-01T00:00:00Z",
                        )
                    })
                    .collect();
                imported += e.import(&op(3), &rows).unwrap().imported;
                b += 1;
            }
            imported
        })
    };
    std::thread::sleep(Duration::from_millis(50));
    let rep = e.purge()?;
    assert!(
        rep.rows_removed > 1000 && rep.segments_rewritten > 0,
        "{rep:?}"
    );
    std::thread::sleep(Duration::from_millis(50));
    stop.store(true, Ordering::Relaxed);
    let rounds: u64 = readers.into_iter().map(|r| r.join().unwrap()).sum();
    let imported = writer.join().unwrap();
    assert!(
        rounds > 0 && imported > 0,
        "readers {rounds} rounds, writer {imported} rows"
    );
    assert_eq!(
        e.stats()?.specific.1,
        imported as u64,
        "every concurrent import landed"
    );
    let index = e.stats()?.index;
    drop(e);
    let e = open(dir.path(), &clock, Policy::default());
    assert_eq!(
        e.stats()?.index,
        index,
        "in-memory index vs. rebuilt after the purge"
    );
    let again: Vec<String> = queries.iter().map(|q| answer(&e, q)).collect();
    assert_eq!(again, expected);
    Ok(())
}

/// A kept row with an identity key lives in its override: its segment, whose other row
/// expired, goes whole, and the row still blocks by key, is found by its uuid, and still
/// counts for import uniqueness — also after reopening.
#[test]
fn a_kept_override_outlives_its_dropped_segment() -> R {
    let dir = tempfile::tempdir()?;
    let clock = ManualClock::new(ts("2022-06-01T00:00:00Z"));
    let e = open(dir.path(), &clock, Policy::default());
    let o = op(1);
    let rows = [
        row("short", "+336555551", "YZA", "2021-02-01T00:00:00Z"), // kept, keyed below
        row("short", "+336555552", "YZA", "2018-02-01T00:00:00Z"), // expired
    ];
    assert_eq!(e.import(&o, &rows)?.imported, 2);
    let ident = IdentityRow::Specific {
        identity_key: "f".repeat(64),
        phone_trunc: "+336555551".into(),
        last_name_trunc: "YZA".into(),
        journey_type: "short".into(),
        datetime: "2021-02-01T00:00:00Z".into(),
    };
    assert_eq!(e.import_identity(&o, &[ident])?.imported, 1);
    let mut by_key = sim("short", "+336500000", "ZZZ");
    by_key.identity_key = Some(key('f'));
    let uuid = blocked(e.simulate(&o, &by_key)?).uuid.unwrap();
    let rep = e.purge()?;
    assert_eq!(
        (rep.segments_dropped, rep.rows_removed, rep.records_removed),
        (1, 1, 0),
        "{rep:?}"
    );
    let check = |e: &Engine| -> R {
        assert_eq!(blocked(e.simulate(&o, &by_key)?).uuid, Some(uuid));
        assert_eq!(e.find(&o, &uuid)?.uuid, uuid);
        let again = e.import(&o, &rows[..1])?;
        assert_eq!((again.imported, again.failed), (0, 1), "still a conflict");
        Ok(())
    };
    check(&e)?;
    drop(e);
    check(&open(dir.path(), &clock, Policy::default()))?;
    Ok(())
}

/// Past standardized applications (SPEC §11.2) expire like registered ones: an expired one
/// goes (its kept uuid is then unknown), a kept one — under a UUIDv7-shaped kept uuid, stored
/// beside the imported rows' overrides — keeps blocking, and a deleted one loses its
/// pseudonyms and token; after a reopen too.
#[test]
fn past_standardized_applications_expire_like_registered_ones() -> R {
    use crate::standardized::std_row;
    let dir = tempfile::tempdir()?;
    let clock = ManualClock::new(ts("2026-12-01T12:00:00Z"));
    let e = open(dir.path(), &clock, Policy::default());
    let o = op(2);
    let mut short = std_row("short", "2024-03-01T00:00:00Z", "LIC1111");
    short.uuid = Some("0f8fad5b-d9cb-469f-a165-70867728950e".into());
    short.token = Some("b2xkIHRva2Vu".into());
    short.operator_journey_id = Some("old-journey-1".into());
    let mut long = std_row("long", "2024-04-01T00:00:00Z", "LIC2222");
    long.uuid = Some("0188bb9a-3c00-7abc-8def-0123456789ab".into());
    long.phone_trunc = "+336500002".into();
    let mut gone = std_row("long", "2024-05-01T00:00:00Z", "LIC3333");
    gone.uuid = Some("1f8fad5b-d9cb-469f-a165-70867728950e".into());
    gone.phone_trunc = "+336500003".into();
    assert_eq!(e.import_standardized(&o, &[short, long, gone])?.imported, 3);
    let [u_short, u_long, u_gone]: [ApplicationId; 3] = [
        "0f8fad5b-d9cb-469f-a165-70867728950e".parse()?,
        "0188bb9a-3c00-7abc-8def-0123456789ab".parse()?,
        "1f8fad5b-d9cb-469f-a165-70867728950e".parse()?,
    ];
    e.delete(&o, &u_gone)?;
    drop(e);
    // Horizon 2031-01-01: a short standardized application before 2026-01-01 cannot block.
    let mut later = Policy::default();
    later.start_date = ts("2031-01-01T00:00:00Z");
    later.end_date = ts("2032-01-01T00:00:00Z");
    clock.set(ts("2031-06-01T00:00:00Z"));
    let e = open(dir.path(), &clock, later.clone());
    let by_licence = |e: &Engine, jt: &str, l: &str| {
        let mut q = sim(jt, "+336999999", "XYZ");
        q.driving_license = Some(l.parse().unwrap());
        format!("{:?}", e.simulate(&op(1), &q).unwrap())
    };
    let before = [
        by_licence(&e, "short", "LIC1111"),
        by_licence(&e, "long", "LIC2222"),
    ];
    let rep = e.purge()?;
    assert_eq!(
        (rep.records_removed, rep.tombstones_scrubbed),
        (1, 1),
        "{rep:?}"
    );
    let check = |e: &Engine| -> R {
        assert_eq!(
            [
                by_licence(e, "short", "LIC1111"),
                by_licence(e, "long", "LIC2222")
            ],
            before
        );
        assert!(matches!(e.find(&o, &u_short), Err(Error::NotFound { .. })));
        assert_eq!(e.find(&o, &u_long)?.uuid, u_long);
        assert!(matches!(e.find(&o, &u_gone), Err(Error::NotFound { .. })));
        assert!(matches!(e.delete(&o, &u_gone), Err(Error::NotFound { .. })));
        assert_eq!(e.stats()?.standardized, (0, 1));
        assert_eq!(e.purge_dry_run()?.records_removed, 0);
        Ok(())
    };
    check(&e)?;
    drop(e);
    check(&open(dir.path(), &clock, later))
}

// The same behaviour on a PostgreSQL registry (tests/it/pg.rs).
crate::on_postgres!(
    tombstones_lose_their_pseudonyms_and_answer_as_before,
    journeys_without_live_application_that_ended_before_the_horizon_go,
);
