//! `cee purge` as a process: `--dry-run` counts and writes nothing, the real one removes the
//! expired row and keeps the rest; refusals exit 2.

use std::path::Path;
use std::process::Command;

const SECRET: &str = "0202020202020202020202020202020202020202020202020202020202020202";
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
fn purge_dry_run_counts_and_purge_removes() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let d = dir.path();
    // Short rows before 2020-01-01+01:00 can no longer block anyone: the first goes.
    std::fs::write(
        d.join("h.csv"),
        "journey_type,phone_trunc,last_name_trunc,datetime\n\
         short,+336273488,ABC,2019-06-01T00:00:00Z\nshort,+336273489,ABD,2024-01-01T00:00:00Z\n",
    )?;
    let op = ["--now", NOW, "--operator", "1", "--siret", "89248032800012"];
    let (code, _, err) = cee(
        d,
        &[&["import", "--db", "db"][..], &op, &["h.csv"]].concat(),
    );
    assert_eq!(code, Some(0), "{err}");
    let stats = || cee(d, &["stats", "--db", "db", "--json"]).1;
    let before = stats();
    assert!(
        before.contains(r#""specific":{"long":0,"short":2}"#),
        "{before}"
    );

    let (code, out, err) = cee(d, &["purge", "--db", "db", "--now", NOW, "--dry-run"]);
    assert_eq!(code, Some(0), "{err}");
    let dry: serde_json::Value = serde_json::from_str(&out)?;
    assert_eq!(dry["dry_run"], true, "{out}");
    assert_eq!(dry["rows_removed"], 1, "{out}");
    assert_eq!(dry["segments_rewritten"], 1, "{out}");
    assert_eq!(dry["horizon"], "2022-12-31T23:00:00.000Z", "{out}");
    assert!(
        stats().contains(r#""specific":{"long":0,"short":2}"#),
        "dry run wrote nothing"
    );

    let (code, out, err) = cee(d, &["purge", "--db", "db", "--now", NOW]);
    assert_eq!(code, Some(0), "{err}");
    let real: serde_json::Value = serde_json::from_str(&out)?;
    assert_eq!(real["dry_run"], false, "{out}");
    assert_eq!(real["rows_removed"], 1, "{out}");
    let after = stats();
    assert!(
        after.contains(r#""specific":{"long":0,"short":1}"#),
        "{after}"
    );

    let (code, _, err) = cee(d, &["purge", "--db", "nothing-here"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("no database at nothing-here"), "{err}");
    assert!(!d.join("nothing-here").exists());
    Ok(())
}
