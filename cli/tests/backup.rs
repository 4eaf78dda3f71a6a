//! `cee backup` as a process: the copy answers like the source; refusals exit 2.

use std::path::Path;
use std::process::Command;

const SECRET: &str = "0101010101010101010101010101010101010101010101010101010101010101";
const NOW: &str = "2024-06-15T12:00:00Z";

fn cee(cwd: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_cee"))
        .args(args)
        .current_dir(cwd)
        .env("CEE_SECRET", SECRET)
        .output()
        .expect("run cee");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn backup_copies_and_refuses_an_existing_destination() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let d = dir.path();
    std::fs::write(
        d.join("h.csv"),
        "journey_type,phone_trunc,last_name_trunc,datetime\n\
         long,+336273488,ABC,2020-01-01T00:00:00Z\nshort,+336273489,ABD,2024-01-01T00:00:00Z\n",
    )?;
    let op = ["--now", NOW, "--operator", "1", "--siret", "89248032800012"];
    let (code, _, err) = cee(
        d,
        &[&["import", "--db", "db"][..], &op, &["h.csv"]].concat(),
    );
    assert_eq!(code, Some(0), "{err}");

    let (code, out, err) = cee(d, &["backup", "--db", "db", "copy"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.starts_with("backed up db to copy"), "{out}");
    let stats = |db: &str| cee(d, &["stats", "--db", db, "--json"]);
    let (code, copied, err) = stats("copy");
    assert_eq!(code, Some(0), "{err}");
    assert!(
        copied.contains(r#""specific":{"long":1,"short":1}"#),
        "{copied}"
    );
    let sim = |db: &str| {
        cee(
            d,
            &[
                &["simulate", "--db", db][..],
                &op,
                &[
                    "--journey-type",
                    "short",
                    "--phone-trunc",
                    "+336273489",
                    "--last-name-trunc",
                    "ABD",
                ],
            ]
            .concat(),
        )
    };
    let (source, copy) = (sim("db"), sim("copy"));
    assert_eq!(
        source.0,
        Some(1),
        "blocked by the imported row: {}",
        source.2
    );
    assert_eq!(copy, source, "the copy answers as the source");

    let (code, _, err) = cee(d, &["backup", "--db", "db", "copy"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("already exists"), "{err}");
    let (code, _, err) = cee(d, &["backup", "--db", "nothing-here", "copy2"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("no database at nothing-here"), "{err}");
    assert!(!d.join("copy2").exists() && !d.join("nothing-here").exists());
    Ok(())
}
