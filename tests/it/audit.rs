//! The audit journal (issue 13): one entry per successful registration, deletion and import
//! call, with who, when and what; none for refusals, failed calls or calls that import
//! nothing; kept across reopen; purged with the error journal's retention.

use std::time::Duration;

use cee_eligibility::clock::ManualClock;
use cee_eligibility::*;

use crate::common::*;

const NOW: &str = "2024-06-15T12:00:00Z";
const APPLIED: &str = "2024-06-10T00:00:00Z";

fn open_at(dir: &std::path::Path, clock: &ManualClock) -> Engine {
    crate::corruption::retry_locked(|| {
        Engine::open(Config::new(dir).secret([9; 32]).clock(clock.clone()))
    })
    .unwrap()
}

fn std_row(dl: &str, uuid: Option<&str>) -> StandardizedRow {
    StandardizedRow {
        journey_type: "long".into(),
        datetime: "2023-03-01T00:00:00Z".into(),
        last_name_trunc: "STD".into(),
        phone_trunc: "+336200009".into(),
        driving_license: dl.into(),
        uuid: uuid.map(Into::into),
        ..StandardizedRow::default()
    }
}

/// Each kind of write, a minute apart, by two operators: the entries say who, when and what.
#[test]
fn every_successful_write_has_its_entry() -> R {
    let tmp = tempfile::tempdir()?;
    let clock = ManualClock::new(ts(NOW));
    let e = open_at(tmp.path(), &clock);
    let (o1, o2) = (op(1), op(2));
    let minute = || clock.advance(Duration::from_secs(60));

    // 1. A specific import of two rows (one more row is invalid: not counted).
    let rep = e.import(
        &o1,
        &[
            row("long", "+336200001", "AAA", "2022-01-01T00:00:00Z"),
            row("short", "+336200002", "BBB", "2023-03-01T00:00:00Z"),
            row("short", "bip", "BBB", "2023-03-01T00:00:00Z"),
        ],
    )?;
    assert_eq!((rep.imported, rep.failed), (2, 1));
    minute();
    // 2. An identity key for the short row.
    let short_row = blocked(e.simulate(&o1, &sim("short", "+336200002", "BBB"))?)
        .uuid
        .unwrap();
    let rep = e.import_identity(
        &o1,
        &[IdentityRow::Specific {
            identity_key: "c".repeat(64),
            phone_trunc: "+336200002".into(),
            last_name_trunc: "BBB".into(),
            journey_type: "short".into(),
            datetime: "2023-03-01T00:00:00Z".into(),
        }],
    )?;
    assert_eq!(rep.imported, 1);
    minute();
    // 3. A short registration (operator 1), 4. a long one (operator 2).
    e.put_journey(
        &o1,
        &journey(
            "j1",
            "+336200003",
            "2024-05-01T08:00:00Z",
            "2024-05-01T09:00:00Z",
        ),
    )?;
    let short = registered(e.register(&o1, &short_req("j1", "CCC", "LIC1", 'd', APPLIED))?);
    minute();
    let long_request = long_req(
        "+336200004",
        "DDD",
        "LIC2",
        'e',
        "2024-05-01T00:00:00Z",
        APPLIED,
    );
    let long = registered(e.register(&o2, &long_request)?);
    minute();
    // 5. Two past standardized applications, one with a kept uuid, one drawn.
    let kept = "0f8fad5b-d9cb-469f-a165-70867728950e";
    let rep =
        e.import_standardized(&o2, &[std_row("PAST1", Some(kept)), std_row("PAST2", None)])?;
    assert_eq!(rep.imported, 2);
    let drawn = blocked(e.simulate(&o1, &{
        let mut q = sim("long", "+336500000", "ZZZ");
        q.driving_license = Some("PAST2".parse()?);
        q
    })?);
    assert_eq!(drawn.uuid, None, "another operator's: no uuid shown");
    minute();
    // 6. Deletions: the long registration, and the imported short row.
    e.delete(&o2, &long.uuid)?;
    e.delete(&o1, &short_row)?;

    let t = |minutes: i64| Timestamp::from_millis(ts(NOW).as_millis() + minutes * 60_000).unwrap();
    let check = |e: &Engine| -> R {
        let audit = e.audit_journal()?;
        let got: Vec<_> = audit
            .iter()
            .map(|a| {
                (
                    a.action,
                    a.operator_id,
                    a.at,
                    a.application,
                    a.journey_type,
                    a.rows,
                )
            })
            .collect();
        let jt = |s: &str| Some(s.parse::<JourneyType>().unwrap());
        assert_eq!(
            got,
            [
                (AuditAction::Imported, 1, t(0), None, None, 2),
                (AuditAction::IdentityImported, 1, t(1), None, None, 1),
                (
                    AuditAction::Registered,
                    1,
                    t(2),
                    Some(short.uuid),
                    jt("short"),
                    1
                ),
                (
                    AuditAction::Registered,
                    2,
                    t(3),
                    Some(long.uuid),
                    jt("long"),
                    1
                ),
                (AuditAction::StandardizedImported, 2, t(4), None, None, 2),
                (
                    AuditAction::Deleted,
                    2,
                    t(5),
                    Some(long.uuid),
                    jt("long"),
                    1
                ),
                (
                    AuditAction::Deleted,
                    1,
                    t(5),
                    Some(short_row),
                    jt("short"),
                    1
                ),
            ]
        );
        assert!(audit[0].segment.is_some() && audit[0].uuids.is_empty());
        assert_eq!(audit[1].uuids, [short_row]);
        assert_eq!(audit[4].uuids.len(), 2);
        assert_eq!(audit[4].uuids[0].to_string(), kept);
        // The drawn uuid is the application operator 2 finds.
        let drawn = audit[4].uuids[1];
        assert_eq!(e.find(&o2, &drawn)?.datetime, ts("2023-03-01T00:00:00Z"));
        assert!(audit
            .iter()
            .all(|a| a.segment.is_none() || a.action == AuditAction::Imported));
        // The deleted imported row is no longer found.
        assert!(matches!(
            e.find(&o1, &short_row),
            Err(Error::NotFound { .. })
        ));
        Ok(())
    };
    check(&e)?;
    assert!(e.error_journal()?.is_empty());
    drop(e);
    // Committed with their writes: still there after a reopen.
    check(&open_at(tmp.path(), &clock))
}

/// Refusals go to the error journal only; failed calls, and calls that import nothing, leave
/// no audit entry.
#[test]
fn refusals_and_failed_calls_have_no_entry() -> R {
    let (e, _clock) = engine_at(NOW);
    let (o1, o2) = (op(1), op(2));
    // Refusals: journey not found, a date rule, then a conflict.
    assert!(matches!(
        refusal(e.register(&o1, &short_req("nope", "CCC", "LIC1", 'd', APPLIED))?),
        Refusal::JourneyNotFound
    ));
    let future = long_req(
        "+336200004",
        "DDD",
        "LIC2",
        'e',
        "2024-05-01T00:00:00Z",
        NOW,
    );
    assert!(matches!(
        refusal(e.register(&o1, &future)?),
        Refusal::Date(_)
    ));
    let ok = long_req(
        "+336200004",
        "DDD",
        "LIC2",
        'e',
        "2024-05-01T00:00:00Z",
        APPLIED,
    );
    let first = registered(e.register(&o1, &ok)?);
    assert!(matches!(
        refusal(e.register(&o2, &ok)?),
        Refusal::Conflict(_)
    ));
    assert_eq!(e.error_journal()?.len(), 3);
    // Failed calls: invalid input, not found, another operator's application.
    assert!(matches!(e.import(&o1, &[]), Err(Error::Invalid(_))));
    assert!(matches!(
        e.delete(&o2, &first.uuid),
        Err(Error::NotFound { .. })
    ));
    let unknown: ApplicationId = "0f8fad5b-d9cb-469f-a165-70867728950e".parse()?;
    assert!(matches!(
        e.delete(&o1, &unknown),
        Err(Error::NotFound { .. })
    ));
    // Calls that import nothing: all rows invalid, duplicates, nothing to attach a key to.
    let r = row("long", "+336200001", "AAA", "2022-01-01T00:00:00Z");
    assert_eq!(
        e.import(&o1, &[row("long", "bip", "AAA", "2022-01-01T00:00:00Z")])?
            .imported,
        0
    );
    assert_eq!(e.import(&o1, std::slice::from_ref(&r))?.imported, 1);
    assert_eq!(e.import(&o1, &[r])?.imported, 0);
    let ident = IdentityRow::Standardized {
        cee_application_uuid: unknown.to_string(),
        identity_key: "c".repeat(64),
    };
    assert_eq!(e.import_identity(&o1, &[ident])?.imported, 0);
    let std = std_row("PAST1", Some(&first.uuid.to_string()));
    assert_eq!(e.import_standardized(&o1, &[std])?.failed, 1, "uuid taken");
    // Two entries: the registration and the one import that imported a row.
    let actions: Vec<_> = e.audit_journal()?.iter().map(|a| a.action).collect();
    assert_eq!(actions, [AuditAction::Registered, AuditAction::Imported]);
    Ok(())
}

/// `Engine::journal` merges both journals in journal order (time, then sequence).
#[test]
fn the_journal_merges_errors_and_audit_in_order() -> R {
    let (e, clock) = engine_at(NOW);
    let o1 = op(1);
    let ok = long_req(
        "+336200004",
        "DDD",
        "LIC2",
        'e',
        "2024-05-01T00:00:00Z",
        APPLIED,
    );
    registered(e.register(&o1, &ok)?);
    refusal(e.register(&o1, &ok)?);
    clock.advance(Duration::from_secs(1));
    e.import(
        &o1,
        &[row("long", "+336200001", "AAA", "2022-01-01T00:00:00Z")],
    )?;
    refusal(e.register(&o1, &ok)?);
    let kinds: Vec<String> = e
        .journal()?
        .into_iter()
        .map(|item| match item {
            JournalItem::Error(r) => format!("error {:?}", r.kind),
            JournalItem::Audit(a) => format!("audit {:?}", a.action),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "audit Registered",
            "error Conflict",
            "audit Imported",
            "error Conflict"
        ]
    );
    Ok(())
}

/// The purge removes audit entries older than the journal retention, like error entries, and
/// counts them in `journal_removed`.
#[test]
fn audit_entries_follow_the_journal_retention() -> R {
    let clock = ManualClock::new(ts(NOW));
    let e = Engine::open(
        Config::temporary()
            .clock(clock.clone())
            .journal_retention(Duration::from_secs(30 * 86_400)),
    )?;
    let o1 = op(1);
    let ok = long_req(
        "+336200004",
        "DDD",
        "LIC2",
        'e',
        "2024-05-01T00:00:00Z",
        APPLIED,
    );
    registered(e.register(&o1, &ok)?);
    refusal(e.register(&o1, &ok)?);
    clock.advance(Duration::from_secs(20 * 86_400));
    e.import(
        &o1,
        &[row("long", "+336200001", "AAA", "2022-01-01T00:00:00Z")],
    )?;
    clock.advance(Duration::from_secs(20 * 86_400));
    // 40 days on: the registration and the refusal are older than 30 days, the import is not.
    let dry = e.purge_dry_run()?;
    assert_eq!(dry.journal_removed, 2);
    assert_eq!(e.audit_journal()?.len(), 2);
    let rep = e.purge()?;
    assert_eq!(rep.journal_removed, 2, "{rep:?}");
    let actions: Vec<_> = e.audit_journal()?.iter().map(|a| a.action).collect();
    assert_eq!(actions, [AuditAction::Imported]);
    assert!(e.error_journal()?.is_empty());
    Ok(())
}

// The same behaviour on a PostgreSQL registry (tests/it/pg.rs).
crate::on_postgres!(
    refusals_and_failed_calls_have_no_entry,
    the_journal_merges_errors_and_audit_in_order,
);
