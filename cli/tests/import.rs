//! `cee import` run as a process: summary line, exit code and report file.

use std::path::Path;
use std::process::{Command, Output};

const SECRET: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fn cee(args: &[&str], secret: Option<&str>, cwd: &Path) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cee"));
    cmd.args(args).current_dir(cwd).env_remove("CEE_SECRET");
    if let Some(s) = secret {
        cmd.env("CEE_SECRET", s);
    }
    cmd.output().expect("run cee")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

const OP: [&str; 4] = ["--operator", "1", "--siret", "89248032800012"];

#[test]
fn csv_with_bad_rows_reports_them() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    // BOM, ';' delimiter, columns in another order, one duplicate, three invalid rows.
    std::fs::write(
        dir.path().join("history.csv"),
        "\u{feff}datetime;journey_type;phone_trunc;last_name_trunc\n\
         2022-01-01T00:00:00Z;short;+336273488;ABC\n\
         2021-03-04T10:00:00+01:00;long;06 27 34 88;ABC\n\
         2022-01-01T00:00:00Z;short;bip;ABC\n\
         2022-02-01T00:00:00Z;short;+336273488;ABC\n\
         2022;medium;+336273489;abc\n\
         2023-05-05T00:00:00Z;short;+337312345;D H\n\
         2023-05-05T00:00:00Z;short\n",
    )?;
    let mut args = vec!["import", "--db", "db"];
    args.extend(OP);
    args.extend(["history.csv", "--report", "failed.csv"]);
    let out = cee(&args, Some(SECRET), dir.path());
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("read 7 rows: 3 imported, 4 failed (details in failed.csv)"),
        "{stdout}"
    );

    let report = std::fs::read_to_string(dir.path().join("failed.csv"))?;
    let lines: Vec<&str> = report.lines().collect();
    assert_eq!(
        lines[0],
        "record,journey_type,phone_trunc,last_name_trunc,datetime,error"
    );
    assert_eq!(lines.len(), 5, "{report}");
    assert!(lines[1].starts_with("3,short,bip,ABC,"), "{report}");
    assert!(lines[1].ends_with("/phone_trunc: must be a valid truncated phone number"));
    assert!(lines[2].starts_with("4,short,+336273488,ABC,"), "{report}");
    assert!(lines[2].ends_with(",Conflict"), "{report}");
    assert!(lines[3].starts_with("5,medium,"), "{report}");
    assert!(lines[3].contains("/journey_type: must be either short or long"));
    assert!(lines[3].contains("/datetime: must be"));
    assert!(lines[4].starts_with("7,short,"), "{report}");
    assert!(
        lines[4].contains("has 2 fields, the header has 4"),
        "{report}"
    );

    // Importing again: every valid row is now a conflict; JSON-lines report.
    let mut args = vec!["import", "--db", "db"];
    args.extend(OP);
    args.extend(["history.csv", "--report", "again.jsonl"]);
    let out = cee(&args, Some(SECRET), dir.path());
    assert!(text(&out.stdout).contains("0 imported, 7 failed"));
    let again = std::fs::read_to_string(dir.path().join("again.jsonl"))?;
    let first: serde_json::Value = serde_json::from_str(again.lines().next().unwrap_or_default())?;
    assert_eq!(first["record"], 1);
    assert_eq!(first["error"], "Conflict");
    Ok(())
}

#[test]
fn json_array_and_secret_errors() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    std::fs::write(
        dir.path().join("rows.json"),
        r#"  [{"journey_type": "long", "phone_trunc": "+336000001", "last_name_trunc": "ZZZ",
              "datetime": "2020-01-01T00:00:00Z"}]"#,
    )?;
    let mut args = vec!["import", "--db", "db"];
    args.extend(OP);
    args.push("rows.json");

    let out = cee(&args, None, dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("no secret: set CEE_SECRET"));
    let out = cee(&args, Some("abc"), dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("CEE_SECRET must be 64 hex characters"));

    std::fs::write(dir.path().join("secret"), format!("{SECRET}\n"))?;
    let mut with_file = args.clone();
    with_file.extend(["--secret-file", "secret"]);
    let out = cee(&with_file, None, dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("read 1 rows: 1 imported, 0 failed"));

    // The database remembers its secret.
    let other = "f".repeat(64);
    let out = cee(&args, Some(&other), dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("secret does not match"));
    Ok(())
}

/// `cee import --standardized`: the old registry's `_id` and `is_specific` columns, kept uuids
/// and tokens, a failed-rows report; the imported applications block another operator's
/// driver (`cee simulate`, exit 1).
#[test]
fn standardized_csv_with_old_registry_columns() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    std::fs::write(
        dir.path().join("past.csv"),
        "_id,is_specific,journey_type,datetime,last_name_trunc,phone_trunc,driving_license,identity_key,token\n\
         0f8fad5b-d9cb-469f-a165-70867728950e,f,long,2024-03-01T00:00:00Z,ABC,+336273488,LIC0001,,b2xk\n\
         1f8fad5b-d9cb-469f-a165-70867728950e,t,long,2024-03-01T00:00:00Z,ABC,+336273488,LIC0002,,\n\
         0f8fad5b-d9cb-469f-a165-70867728950e,false,short,2024-03-02T00:00:00Z,ABC,+336273488,LIC0003,,\n\
         ,,short,2024-03-03T00:00:00Z,abc,+336273488,LIC0004,,\n\
         ,,short,2024-03-04T00:00:00Z,DEF,+336273411,LIC0005,,\n",
    )?;
    let mut args = vec!["import", "--standardized", "--db", "db"];
    args.extend(["--operator", "2", "--siret", "89248032800020"]);
    args.extend(["past.csv", "--report", "failed.csv"]);
    let out = cee(&args, Some(SECRET), dir.path());
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains(
            "read 5 standardized applications: 2 imported, 3 failed (details in failed.csv)"
        ),
        "{stdout}"
    );
    let report = std::fs::read_to_string(dir.path().join("failed.csv"))?;
    let lines: Vec<&str> = report.lines().collect();
    assert_eq!(lines.len(), 4, "{report}");
    assert!(
        lines[0].starts_with("record,journey_type,datetime,"),
        "{report}"
    );
    assert!(lines[1].starts_with("2,long,"), "{report}");
    assert!(
        lines[1].contains("/is_specific: a specific application"),
        "{report}"
    );
    assert!(
        lines[2].starts_with("3,short,2024-03-02T00:00:00.000Z,"),
        "{report}"
    );
    assert!(lines[2].ends_with(",Conflict"), "{report}");
    assert!(lines[3].starts_with("4,short,"), "{report}");
    assert!(lines[3].contains("/last_name_trunc: must be"), "{report}");

    // Operator 1's driver with the same licence is blocked (exit 1).
    let mut sim = vec!["simulate", "--db", "db"];
    sim.extend(OP);
    sim.extend(["--journey-type", "long", "--phone-trunc", "+336500001"]);
    sim.extend(["--last-name-trunc", "XYZ", "--driving-license", "LIC0001"]);
    let out = cee(&sim, Some(SECRET), dir.path());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("2024-03-01T00:00:00.000Z"));
    Ok(())
}
