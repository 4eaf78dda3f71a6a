//! `cee … --postgres` and `cee migrate` as processes (SPEC §11.5): a directory registry copied
//! into PostgreSQL answers there as it did; clear errors, no panic.
//!
//! Needs a server in `CEE_TEST_POSTGRES` (see `.ci/pg-cluster`); skipped with a message
//! without one, failed without one when `CEE_REQUIRE_POSTGRES=1`.

use std::path::Path;
use std::process::Command;

const SECRET: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const NOW: &str = "2024-06-15T12:00:00Z";

fn fresh_database() -> Option<String> {
    let Ok(base) = std::env::var("CEE_TEST_POSTGRES") else {
        assert!(
            std::env::var("CEE_REQUIRE_POSTGRES").as_deref() != Ok("1"),
            "CEE_REQUIRE_POSTGRES=1 but CEE_TEST_POSTGRES is not set"
        );
        eprintln!("cee --postgres: skipped (set CEE_TEST_POSTGRES, see .ci/pg-cluster)");
        return None;
    };
    let name = format!("cee_cli_{}", std::process::id());
    let out = Command::new("psql")
        .args([
            &base,
            "-qc",
            &format!("DROP DATABASE IF EXISTS {name}"),
            "-c",
            &format!("CREATE DATABASE {name}"),
        ])
        .output()
        .expect("psql runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(format!("{base} dbname={name}"))
}

/// Runs `cee` in `cwd` with `env`; returns (exit code, stdout, stderr).
fn cee(cwd: &Path, env: &[(&str, &str)], args: &[&str]) -> (Option<i32>, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cee"));
    cmd.args(args).current_dir(cwd).env("CEE_SECRET", SECRET);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run cee");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_directory_registry_migrated_to_postgres_answers_there(
) -> Result<(), Box<dyn std::error::Error>> {
    let Some(pg) = fresh_database() else {
        return Ok(());
    };
    let dir = tempfile::tempdir()?;
    let d = dir.path();
    std::fs::write(
        d.join("h.csv"),
        "journey_type,phone_trunc,last_name_trunc,datetime\nlong,+336273488,ABC,2020-01-01T00:00:00Z\n",
    )?;
    let op = ["--operator", "1", "--siret", "89248032800012", "--now", NOW];
    let (code, _, err) = cee(
        d,
        &[],
        &[&["import", "--db", "db"][..], &op, &["h.csv"]].concat(),
    );
    assert_eq!(code, Some(0), "{err}");

    let (code, out, err) = cee(d, &[], &["migrate", "--db", "db", "--postgres", &pg]);
    assert_eq!(code, Some(0), "{err}");
    let copied: serde_json::Value = serde_json::from_str(out.trim())?;
    assert!(copied["rows"].as_u64() >= Some(1), "{out}");
    // Into a registry that is no longer empty: refused, nothing written.
    let (code, _, err) = cee(d, &[], &["migrate", "--db", "db", "--postgres", &pg]);
    assert_eq!(code, Some(2));
    assert!(err.contains("not empty"), "{err}");

    // The imported history blocks there, through --postgres and through CEE_POSTGRES.
    let sim = [
        "simulate",
        "--journey-type",
        "long",
        "--phone-trunc",
        "+336273488",
        "--last-name-trunc",
        "ABC",
    ];
    let (code, out, err) = cee(d, &[], &[&sim[..], &op, &["--postgres", &pg]].concat());
    assert_eq!(code, Some(1), "blocked: {out} {err}");
    assert!(out.contains("2020-01-01"), "{out}");
    let (code, out, _) = cee(d, &[("CEE_POSTGRES", &pg)], &[&sim[..], &op].concat());
    assert_eq!(code, Some(1), "{out}");
    let (code, out, err) = cee(d, &[], &["stats", "--postgres", &pg]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("PostgreSQL"), "{out}");

    // Clear errors: both places, another secret, backup, an unreachable server.
    let (code, _, err) = cee(d, &[], &["stats", "--db", "db", "--postgres", &pg]);
    assert_eq!(code, Some(2));
    assert!(err.contains("cannot be used with"), "{err}");
    let other = "f".repeat(64);
    let (code, _, err) = cee(d, &[("CEE_SECRET", &other)], &["stats", "--postgres", &pg]);
    assert_eq!(code, Some(2));
    assert!(err.contains("secret does not match"), "{err}");
    let (code, _, err) = cee(d, &[], &["backup", "--postgres", &pg, "copy"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("pg_basebackup"), "{err}");
    std::fs::write(d.join("tokens.json"), "[]")?;
    let (code, _, err) = cee(
        d,
        &[],
        &[
            "serve",
            "--postgres",
            &pg,
            "--tokens",
            "tokens.json",
            "--backup-dir",
            "b",
            "--addr",
            "127.0.0.1:0",
        ],
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("--backup-dir") && err.contains("pg_basebackup"),
        "{err}"
    );
    let (code, _, err) = cee(
        d,
        &[],
        &[
            "stats",
            "--postgres",
            "host=/nonexistent port=1 dbname=x password=hunter2",
        ],
    );
    assert_eq!(code, Some(2));
    assert!(err.contains("cannot open the PostgreSQL registry"), "{err}");
    assert!(
        !err.contains("hunter2"),
        "the conninfo is never printed: {err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    Ok(())
}
