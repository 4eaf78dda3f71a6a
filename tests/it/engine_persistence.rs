//! Reopen, secrets, format version, privacy of the files, concurrent registrations.

use std::sync::{Arc, Barrier};

use cee_eligibility::clock::ManualClock;
use cee_eligibility::*;

use crate::common::*;

const P: &str = "+336273488";
const LICENSE: &str = "ZQ9X7W5V3T1R2468";
const NOW: &str = "2024-06-15T12:00:00Z";

fn open(dir: &std::path::Path, secret: [u8; 32]) -> Result<Engine, Error> {
    Engine::open(
        Config::new(dir)
            .secret(secret)
            .clock(ManualClock::new(ts(NOW))),
    )
}

#[test]
fn everything_survives_a_reopen() -> R {
    let dir = tempfile::tempdir()?;
    let o = op(1);
    let uuid = {
        let e = open(dir.path(), [1; 32])?;
        e.import(&o, &[row("short", P, "ABC", "2023-01-01T00:00:00Z")])?;
        e.put_journey(
            &o,
            &journey(
                "j1",
                "+336000000",
                "2024-06-01T08:00:00Z",
                "2024-06-01T09:00:00Z",
            ),
        )?;
        let reg = registered(e.register(
            &o,
            &short_req("j1", "XYZ", LICENSE, 'a', "2024-06-10T00:00:00Z"),
        )?);
        reg.uuid
    };
    let e = open(dir.path(), [1; 32])?;
    assert!(!e.simulate(&o, &sim("short", P, "ABC"))?.is_eligible());
    let mut q = sim("short", "+336111111", "DEF");
    q.driving_license = Some(LICENSE.parse()?);
    assert!(!e.simulate(&o, &q)?.is_eligible());
    assert!(e.find(&o, &uuid)?.journey_id.is_some());
    let stats = e.stats()?;
    assert_eq!(
        (stats.specific, stats.standardized, stats.journeys),
        ((1, 0), (1, 0), 1)
    );
    Ok(())
}

#[test]
fn secrets_are_checked() -> R {
    let dir = tempfile::tempdir()?;
    drop(open(dir.path(), [1; 32])?);
    assert!(matches!(open(dir.path(), [2; 32]), Err(Error::WrongSecret)));
    assert!(matches!(
        Engine::open(Config::new(dir.path())),
        Err(Error::MissingSecret)
    ));
    assert!(open(dir.path(), [1; 32]).is_ok());
    Ok(())
}

#[test]
fn unknown_format_version_is_refused() -> R {
    let dir = tempfile::tempdir()?;
    drop(open(dir.path(), [1; 32])?);
    {
        let db = raw_sled(dir.path())?;
        db.insert(b"\x00format", &[99u8])?;
        db.flush()?;
    }
    let err = open(dir.path(), [1; 32]).unwrap_err();
    assert!(
        matches!(err, Error::UnsupportedFormat { found: 99, .. }),
        "{err}"
    );
    Ok(())
}

#[test]
fn corrupt_record_is_an_error_not_a_panic() -> R {
    let dir = tempfile::tempdir()?;
    let o = op(1);
    let uuid = {
        let e = open(dir.path(), [1; 32])?;
        let reg = registered(e.register(
            &o,
            &long_req(
                P,
                "ABC",
                "1A",
                'a',
                "2024-06-01T00:00:00Z",
                "2024-06-10T00:00:00Z",
            ),
        )?);
        reg.uuid
    };
    {
        let db = raw_sled(dir.path())?;
        let mut key = vec![0x02u8];
        key.extend_from_slice(uuid.as_bytes());
        let mut v = db.get(&key)?.unwrap().to_vec();
        v.truncate(v.len() / 2);
        db.insert(&key, v)?;
        db.flush()?;
    }
    let e = open(dir.path(), [1; 32])?;
    let err = e.find(&o, &uuid).unwrap_err();
    assert!(
        matches!(&err, Error::Corrupt { record, .. } if record.contains("application")),
        "{err}"
    );
    Ok(())
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn no_identifier_is_stored_in_clear() -> R {
    let dir = tempfile::tempdir()?;
    let o = op(1);
    let ik = "f44ff5364363e53da750d8b7b44fa3176ea36228c5f951a9c1e606c915093d30";
    {
        let e = open(dir.path(), [3; 32])?;
        e.import(&o, &[row("long", P, "ABC", "2020-01-01T00:00:00Z")])?;
        e.import_identity(
            &o,
            &[IdentityRow::Specific {
                identity_key: ik.into(),
                phone_trunc: P.into(),
                last_name_trunc: "ABC".into(),
                journey_type: "long".into(),
                datetime: "2020-01-01T00:00:00Z".into(),
            }],
        )?;
        e.put_journey(
            &o,
            &journey(
                "j1",
                "+336999999",
                "2024-06-01T08:00:00Z",
                "2024-06-01T09:00:00Z",
            ),
        )?;
        let mut req = short_req("j1", "XYZ", LICENSE, 'a', "2024-06-10T00:00:00Z");
        req.identity_key = ik.parse()?;
        let _ = e.register(&o, &req)?;
        let long = registered(e.register(
            &o,
            &long_req(
                "+336888888",
                "XYZ",
                "99-FOREIGN-LICENCE-42",
                'b',
                "2024-06-01T00:00:00Z",
                "2024-06-10T00:00:00Z",
            ),
        )?);
        e.delete(&o, &long.uuid)?;
        // Past standardized applications (SPEC §11.2): with and without an identity key.
        let past = |phone: &str, dl: &str, key: Option<String>| StandardizedRow {
            journey_type: "long".into(),
            datetime: "2023-06-01T00:00:00Z".into(),
            last_name_trunc: "XYZ".into(),
            phone_trunc: phone.into(),
            driving_license: dl.into(),
            identity_key: key,
            token: Some("dG9rZW4=".into()),
            ..StandardizedRow::default()
        };
        let rep = e.import_standardized(
            &o,
            &[
                past("+336777777", "99-PAST-LICENCE-77", Some("c".repeat(64))),
                past("+336666666", "PASTLICENCE66", None),
            ],
        )?;
        assert_eq!(rep.imported, 2);
        // The files scanned below hold an audit entry of every kind.
        let mut actions: Vec<String> = e
            .audit_journal()?
            .iter()
            .map(|a| format!("{:?}", a.action))
            .collect();
        actions.sort();
        actions.dedup();
        assert_eq!(
            actions,
            [
                "Deleted",
                "IdentityImported",
                "Imported",
                "Registered",
                "StandardizedImported"
            ]
        );
        e.flush()?;
    }
    let secrets: Vec<Vec<u8>> = vec![
        b"+336777777".to_vec(),
        b"6777777".to_vec(),
        b"+336666666".to_vec(),
        b"6666666".to_vec(),
        b"99-PAST-LICENCE-77".to_vec(),
        b"PASTLICENCE66".to_vec(),
        "c".repeat(64).into_bytes(),
        P.as_bytes().to_vec(),
        b"6273488".to_vec(),
        b"+336999999".to_vec(),
        b"6999999".to_vec(),
        b"+336888888".to_vec(),
        LICENSE.as_bytes().to_vec(),
        b"99-FOREIGN-LICENCE-42".to_vec(),
        ik.as_bytes().to_vec(),
        "b".repeat(64).into_bytes(),
        // Three-letter names are not searched: any 3 bytes occur by chance in binary files.
    ];
    let mut scanned = 0;
    for entry in walk(dir.path())? {
        let bytes = std::fs::read(&entry)?;
        scanned += bytes.len();
        for s in &secrets {
            assert!(
                !contains(&bytes, s),
                "{} found in {}",
                String::from_utf8_lossy(s),
                entry.display()
            );
        }
    }
    assert!(scanned > 0);
    Ok(())
}

fn walk(dir: &std::path::Path) -> std::io::Result<Vec<std::path::PathBuf>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let p = entry?.path();
        if p.is_dir() {
            out.extend(walk(&p)?);
        } else {
            out.push(p);
        }
    }
    Ok(out)
}

/// `threads` threads start together and each registers people `0..people` in order, with
/// `request(thread, person)` from `operator(thread)`; returns how many times each person won.
fn race(
    threads: usize,
    people: usize,
    operator: fn(usize) -> Operator,
    request: fn(usize, usize) -> RegisterRequest,
) -> Vec<usize> {
    let (e, _) = engine_at(NOW);
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let (e, barrier) = (e.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                (0..people)
                    .filter(|p| {
                        let out = e.register(&operator(t), &request(t, *p));
                        matches!(out, Ok(RegisterOutcome::Registered(_)))
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut per_person = vec![0; people];
    for h in handles {
        for p in h.join().unwrap() {
            per_person[p] += 1;
        }
    }
    per_person
}

#[test]
fn concurrent_registrations_exactly_one_per_beneficiary() {
    // Every thread: same licence for person p, its own phone and date, two operators.
    let wins = race(
        8,
        40,
        |t| op(1 + t as u32 % 2),
        |t, p| {
            let date = format!("2024-05-{:02}T00:00:00Z", 1 + t);
            long_req(
                &format!("+336{t}{p:05}"),
                "ABC",
                &format!("P{p}"),
                'a',
                &date,
                "2024-06-10T00:00:00Z",
            )
        },
    );
    // All share identity key 'a', so in fact everyone is one beneficiary: exactly one win.
    assert_eq!(wins.iter().sum::<usize>(), 1, "{wins:?}");
}

#[test]
fn concurrent_registrations_distinct_keys() {
    let wins = race(
        8,
        30,
        |_| op(1),
        |t, p| {
            let mut req = long_req(
                &format!("+336{t}{p:05}"),
                "ABC",
                &format!("P{p}"),
                'a',
                "2024-05-01T00:00:00Z",
                "2024-06-10T00:00:00Z",
            );
            req.identity_key = format!("{p:064x}").parse().unwrap();
            req
        },
    );
    assert!(wins.iter().all(|n| *n == 1), "{wins:?}");
}

/// Opens the database directory with sled directly, waiting for a just-dropped engine to
/// release sled's directory lock.
fn raw_sled(dir: &std::path::Path) -> sled::Result<sled::Db> {
    let mut attempts = 0;
    loop {
        match sled::open(dir) {
            Err(sled::Error::Io(e)) if attempts < 50 && e.to_string().contains("acquire lock") => {
                attempts += 1;
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => return other,
        }
    }
}

/// Format 2 keeps import uniqueness in memory: it must hold across reopens for rows that
/// match by name+phone, rows given an identity key (no longer indexed by name+phone) and
/// deleted rows (which may be imported again), in one call and across calls.
#[test]
fn import_uniqueness_survives_identity_keys_deletes_and_reopens() -> R {
    let dir = tempfile::tempdir()?;
    let o = op(1);
    let rows = [
        row("short", P, "ABC", "2023-01-01T00:00:00Z"),
        row("long", P, "ABC", "2022-01-01T00:00:00Z"),
        row("short", "+336273489", "ABC", "2023-02-01T00:00:00Z"),
    ];
    let failed = |rep: &ImportReport| -> Vec<String> {
        rep.failed_details
            .iter()
            .map(|f| format!("{} {}", f.row.journey_type, f.error))
            .collect()
    };
    let (long_uuid, third_uuid) = {
        let e = open(dir.path(), [1; 32])?;
        // In one call: the repeated row is refused, the others stored.
        let mut first = rows.to_vec();
        first.push(rows[0].clone());
        let rep = e.import(&o, &first)?;
        assert_eq!(
            (rep.imported, failed(&rep)),
            (3, vec!["short Conflict".into()])
        );
        // Another operator may import the same person.
        assert_eq!(e.import(&op(2), &rows[..1])?.imported, 1);
        // The short row gets an identity key; the long one is deleted.
        let rep = e.import_identity(
            &o,
            &[IdentityRow::Specific {
                identity_key: "a".repeat(64),
                phone_trunc: P.into(),
                last_name_trunc: "ABC".into(),
                journey_type: "short".into(),
                datetime: "2023-01-01T00:00:00Z".into(),
            }],
        )?;
        assert_eq!(rep.imported, 1);
        let long = blocked(e.simulate(&o, &sim("long", P, "ABC"))?)
            .uuid
            .unwrap();
        let third = blocked(e.simulate(&o, &sim("short", "+336273489", "ABC"))?)
            .uuid
            .unwrap();
        e.delete(&o, &long)?;
        let rep = e.import(&o, &rows)?;
        assert_eq!(rep.imported, 1, "{:?}", failed(&rep));
        assert_eq!(rep.failed, 2);
        (long, third)
    };
    std::thread::sleep(std::time::Duration::from_millis(50));
    let e = crate::corruption::retry_locked(|| open(dir.path(), [1; 32]))?;
    // After the reopen: all three rows are there (the long one re-imported), none twice.
    let rep = e.import(&o, &rows)?;
    assert_eq!((rep.imported, rep.failed), (0, 3), "{:?}", failed(&rep));
    assert!(matches!(
        e.find(&o, &long_uuid),
        Err(Error::NotFound { .. })
    ));
    let again = blocked(e.simulate(&o, &sim("long", P, "ABC"))?)
        .uuid
        .unwrap();
    assert_ne!(again, long_uuid);
    assert!(e.find(&o, &again)?.specific);
    assert_eq!(
        e.find(&o, &third_uuid)?.datetime,
        ts("2023-02-01T00:00:00Z")
    );
    // Another operator's uuid is forbidden, not found.
    assert!(matches!(
        e.find(&op(2), &third_uuid),
        Err(Error::Forbidden { .. })
    ));
    let s = e.stats()?;
    assert_eq!((s.specific, s.deleted), ((3, 1), 1));
    Ok(())
}
