//! `cee simulate`, `cee register` and `cee stats` run as processes: JSON and exit codes.

use std::path::Path;
use std::process::Command;

const SECRET: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const NOW: &str = "2024-06-15T12:00:00Z";

/// Runs `cee` in `cwd`; returns (exit code, stdout as JSON or Null, stderr).
fn cee(cwd: &Path, args: &[&str]) -> (Option<i32>, serde_json::Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_cee"))
        .args(args)
        .current_dir(cwd)
        .env("CEE_SECRET", SECRET)
        .output()
        .expect("run cee");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let json = serde_json::from_str(stdout.trim()).unwrap_or(serde_json::Value::Null);
    (
        out.status.code(),
        json,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn with<'a>(base: &[&'a str], more: &[&'a str]) -> Vec<&'a str> {
    base.iter().chain(more).copied().collect()
}

#[test]
fn simulate_register_stats() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let d = dir.path();
    std::fs::write(
        d.join("h.csv"),
        "journey_type,phone_trunc,last_name_trunc,datetime\nlong,+336273488,ABC,2020-01-01T00:00:00Z\n",
    )?;
    let op1 = [
        "--db",
        "db",
        "--now",
        NOW,
        "--operator",
        "1",
        "--siret",
        "89248032800012",
    ];
    let op2 = [
        "--db",
        "db",
        "--now",
        NOW,
        "--operator",
        "2",
        "--siret",
        "41234567800019",
    ];
    let (code, _, err) = cee(d, &with(&["import"], &with(&op1, &["h.csv"])));
    assert_eq!(code, Some(0), "{err}");

    let sim = |op: &[&str], phone: &str| {
        cee(
            d,
            &with(
                &["simulate"],
                &with(
                    op,
                    &[
                        "--journey-type",
                        "long",
                        "--phone-trunc",
                        phone,
                        "--last-name-trunc",
                        "ABC",
                    ],
                ),
            ),
        )
    };
    let (code, json, _) = sim(&op1, "06 27 34 88");
    assert_eq!(code, Some(1));
    assert_eq!(json["eligible"], false);
    assert_eq!(json["datetime"], "2020-01-01T00:00:00.000Z");
    assert!(json["uuid"].is_string(), "own row: uuid visible");
    let (code, json, _) = sim(&op2, "+336273488");
    assert_eq!(code, Some(1));
    assert!(
        json.get("uuid").is_none(),
        "another operator's row: no uuid"
    );
    let (code, json, _) = sim(&op1, "+336273499");
    assert_eq!(
        (code, json),
        (Some(0), serde_json::json!({"eligible": true}))
    );
    let (code, _, err) = sim(&op1, "bip");
    assert_eq!(code, Some(2));
    assert!(
        err.contains("/phone_trunc: must be a valid truncated phone number"),
        "{err}"
    );

    let key = "a".repeat(64);
    let register = |op: &[&str], phone: &str, licence: &str| {
        cee(
            d,
            &with(
                &["register"],
                &with(
                    op,
                    &[
                        "--journey-type",
                        "long",
                        "--last-name-trunc",
                        "XYZ",
                        "--driving-license",
                        licence,
                        "--identity-key",
                        &key,
                        "--application-timestamp",
                        "2024-06-01T00:00:00Z",
                        "--phone-trunc",
                        phone,
                        "--datetime",
                        "2024-05-01T00:00:00+02:00",
                    ],
                ),
            ),
        )
    };
    let (code, json, err) = register(&op1, "+336111111", "123456A");
    assert_eq!(code, Some(0), "{json} {err}");
    assert_eq!(json["registered"], true);
    assert_eq!(json["datetime"], "2024-04-30T22:00:00.000Z");
    assert!(json["token"].as_str().is_some_and(|t| !t.is_empty()));
    let (code, json, _) = register(&op2, "+336222222", "123456A");
    assert_eq!(code, Some(1));
    assert_eq!(json["reason"], "conflict");
    assert_eq!(json["http_status"], 409);
    assert_eq!(
        json["conflict"],
        serde_json::json!({"datetime": "2024-04-30T22:00:00.000Z"})
    );

    let short = with(
        &["register"],
        &with(
            &op1,
            &[
                "--journey-type",
                "short",
                "--last-name-trunc",
                "XYZ",
                "--driving-license",
                "999999A",
                "--identity-key",
                &key,
                "--application-timestamp",
                "2024-06-01T00:00:00Z",
                "--operator-journey-id",
                "nope",
            ],
        ),
    );
    let (code, json, _) = cee(d, &short);
    assert_eq!(code, Some(1));
    assert_eq!(json["reason"], "journey_not_found");

    let (code, json, _) = cee(d, &["stats", "--db", "db", "--json"]);
    assert_eq!(code, Some(0));
    assert_eq!(json["specific"]["long"], 1);
    assert_eq!(json["standardized"]["long"], 1);
    assert_eq!(json["error_journal"], 2);
    Ok(())
}
