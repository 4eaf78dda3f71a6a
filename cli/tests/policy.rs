//! The policy in force (SPEC §11.1) through the `cee` process: flags, `--policy` file and the
//! `APP_CEE_*` environment, on `register` (real clock and `--now`) and `serve`.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const SECRET: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const KEY_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

type R = Result<(), Box<dyn std::error::Error>>;

/// Runs `cee` in `cwd` with `env` set (and the `APP_CEE_*` names cleared otherwise); returns
/// (exit code, stdout as JSON or Null, stderr).
fn cee(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, Value, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cee"));
    cmd.args(args).current_dir(cwd).env("CEE_SECRET", SECRET);
    for name in ["APP_CEE_START_DATE", "APP_CEE_END_DATE", "APP_CEE_DELAY"] {
        cmd.env_remove(name);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run cee");
    let stdout = String::from_utf8_lossy(&out.stdout);
    (
        out.status.code(),
        serde_json::from_str(stdout.trim()).unwrap_or(Value::Null),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `cee register` of a long payment dated `datetime`, driver number `n`, plus `extra`.
fn register_long<'a>(datetime: &'a str, licence: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec![
        "register",
        "--db",
        "db",
        "--operator",
        "1",
        "--siret",
        "89248032800012",
        "--journey-type",
        "long",
        "--last-name-trunc",
        "ABC",
        "--driving-license",
        licence,
        "--identity-key",
        KEY_A,
        "--phone-trunc",
        "+336273488",
        "--datetime",
        datetime,
        "--application-timestamp",
        "2026-06-02T00:00:00Z",
    ];
    v.extend_from_slice(extra);
    v
}

/// With the real clock (December 2026 or later), a payment of June 2026 is refused under the
/// default policy, naming the period that ended, and registers with `--end-date`.
#[test]
fn register_a_2026_trip_with_the_real_clock() -> R {
    let dir = tempfile::tempdir()?;
    let d = dir.path();
    let trip = "2026-06-01T08:00:00+02:00";
    let (code, json, err) = cee(d, &register_long(trip, "1A", &[]), &[]);
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(json["http_status"], 400, "{json}");
    assert_eq!(
        json["message"],
        "Date should be between the start and end of the operation \
         (2022-12-31T23:00:00.000Z .. 2024-12-31T23:00:00.000Z)"
    );

    let end = ["--end-date", "2027-01-01T00:00:00+01:00"];
    let (code, json, err) = cee(d, &register_long(trip, "1A", &end), &[]);
    assert_eq!(code, Some(0), "{err} {json}");
    assert_eq!(json["datetime"], "2026-06-01T06:00:00.000Z", "{json}");
    Ok(())
}

/// Flags win over the file, the file over the environment; the delay text follows the
/// configured delay.
#[test]
fn precedence_and_the_delay_text() -> R {
    let dir = tempfile::tempdir()?;
    let d = dir.path();
    let now = ["--now", "2026-06-15T12:00:00Z"];
    std::fs::write(
        d.join("policy.toml"),
        "end_date = 2027-01-01T00:00:00+01:00\nregistration_delay = 10\n",
    )?;
    let with = |extra: &[&'static str]| -> Vec<&'static str> {
        let mut v = now.to_vec();
        v.extend_from_slice(extra);
        v
    };
    // 12 days before now: passes 7 and 10 days, not 14.
    let trip = "2026-06-03T12:00:00Z";
    let env14 = [
        ("APP_CEE_END_DATE", "2027-01-01T00:00:00+01:00"),
        ("APP_CEE_DELAY", "14"),
    ];
    let (code, json, err) = cee(d, &register_long(trip, "1A", &with(&[])), &env14);
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(json["message"], "Date should be before 14 days from now");

    // The file (10 days) wins over the environment (14 days).
    let file = ["--policy", "policy.toml"];
    let (code, json, err) = cee(d, &register_long(trip, "2A", &with(&file)), &env14);
    assert_eq!(code, Some(0), "{err} {json}");

    // The flag (13 days) wins over the file (10 days).
    let flags = ["--policy", "policy.toml", "--delay-days", "13"];
    let (code, json, err) = cee(d, &register_long(trip, "3A", &with(&flags)), &env14);
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(json["message"], "Date should be before 13 days from now");

    // An environment value that does not parse names its variable; so does a bad file.
    let (code, _, err) = cee(
        d,
        &register_long(trip, "4A", &with(&[])),
        &[("APP_CEE_END_DATE", "2027")],
    );
    assert_eq!(code, Some(2));
    assert!(err.contains("APP_CEE_END_DATE"), "{err}");
    std::fs::write(d.join("bad.toml"), "end_date = \"soon\"\n")?;
    let (code, _, err) = cee(
        d,
        &register_long(trip, "4A", &with(&["--policy", "bad.toml"])),
        &[],
    );
    assert_eq!(code, Some(2));
    assert!(err.contains("bad.toml") && err.contains("offset"), "{err}");
    Ok(())
}

/// The period moved at the edges of SPEC §9: a long payment exactly at the configured start
/// is refused, 1 ms later it registers; exactly at the configured end it is refused.
#[test]
fn moved_period_edges_for_long() -> R {
    let dir = tempfile::tempdir()?;
    let d = dir.path();
    let args = [
        "--now",
        "2026-12-01T00:00:00Z",
        "--start-date",
        "2026-01-01T00:00:00+01:00",
        "--end-date",
        "2026-07-01T00:00:00+02:00",
    ];
    for (datetime, licence, expected) in [
        ("2026-01-01T00:00:00+01:00", "1A", Some(1)),
        ("2026-01-01T00:00:00.001+01:00", "2A", Some(0)),
        ("2026-07-01T00:00:00+02:00", "3A", Some(1)),
        ("2026-06-30T23:59:59.999+02:00", "4A", Some(1)),
    ] {
        let (code, json, err) = cee(d, &register_long(datetime, licence, &args), &[]);
        assert_eq!(code, expected, "{datetime}: {err} {json}");
        if expected == Some(1) && licence != "4A" {
            assert_eq!(
                json["message"],
                "Date should be between the start and end of the operation \
                 (2025-12-31T23:00:00.000Z .. 2026-06-30T22:00:00.000Z)"
            );
        }
    }
    Ok(())
}

fn sha(s: &str) -> String {
    Sha256::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Kills the server when the test ends, however it ends.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

type Stderr = BufReader<std::process::ChildStderr>;

/// Starts `cee serve` (real clock) with `extra` flags; returns the child, its base URL, the
/// first stderr lines (up to the policy line) and the rest of stderr.
fn serve(
    dir: &Path,
    extra: &[&str],
) -> Result<(Child, String, String, Stderr), Box<dyn std::error::Error>> {
    let tokens = json!([{"token_sha256": sha("t1"), "operator_id": 1, "siret": "89248032800012"}]);
    std::fs::write(dir.join("tokens.json"), tokens.to_string())?;
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cee"));
    cmd.args([
        "serve",
        "--db",
        "db",
        "--addr",
        "127.0.0.1:0",
        "--tokens",
        "tokens.json",
        "--create",
    ])
    .args(extra)
    .current_dir(dir)
    .env("CEE_SECRET", SECRET)
    .stdout(Stdio::null())
    .stderr(Stdio::piped());
    for name in ["APP_CEE_START_DATE", "APP_CEE_END_DATE", "APP_CEE_DELAY"] {
        cmd.env_remove(name);
    }
    let mut child = Child(cmd.spawn()?);
    let mut stderr = BufReader::new(child.0.stderr.take().ok_or("no stderr")?);
    let mut head = String::new();
    let mut addr = None;
    for _ in 0..10 {
        let mut line = String::new();
        if stderr.read_line(&mut line)? == 0 {
            break;
        }
        head.push_str(&line);
        if let Some(a) = line.split("http://").nth(1) {
            // The listening line is a JSON log event: the address ends at the first character
            // that cannot be part of `IP:PORT`.
            let end = a
                .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == ':'))
                .unwrap_or(a.len());
            addr = Some(a[..end].to_owned());
        }
        if line.contains("policy in force") {
            break;
        }
    }
    let addr = addr.ok_or_else(|| format!("no address in {head:?}"))?;
    Ok((child, format!("http://{addr}"), head, stderr))
}

#[test]
fn serve_prints_the_policy_and_registers_with_the_real_clock() -> R {
    let dir = tempfile::tempdir()?;
    let (child, _, head, mut rest) = serve(dir.path(), &[])?;
    assert!(
        head.contains(
            "policy in force: operation period 2022-12-31T23:00:00.000Z .. \
             2024-12-31T23:00:00.000Z (end excluded), registration delay 7 days"
        ),
        "{head}"
    );
    // Now is past the default end date: a warning follows the policy line.
    let mut warning = String::new();
    rest.read_line(&mut warning)?;
    assert!(
        warning.contains(r#""level":"warn""#)
            && warning.contains("every registration will be refused"),
        "{warning}"
    );
    drop(child);

    let (_child, base, head, _) = serve(dir.path(), &["--end-date", "2027-01-01T00:00:00+01:00"])?;
    assert!(head.contains(".. 2026-12-31T23:00:00.000Z"), "{head}");
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(20)))
        .build()
        .into();
    let body = json!({
        "journey_type": "long", "phone_trunc": "+336273488", "last_name_trunc": "ABC",
        "driving_license": "1A", "identity_key": KEY_A,
        "datetime": "2026-06-01T08:00:00+02:00", "application_timestamp": "2026-06-02T00:00:00Z"
    });
    let mut resp = agent
        .post(format!("{base}/v3/policies/cee"))
        .header("Authorization", "Bearer t1")
        .header("Content-Type", "application/json")
        .send(body.to_string().as_bytes())?;
    let status = resp.status().as_u16();
    let text = resp.body_mut().read_to_string()?;
    assert_eq!(status, 201, "{text}");
    Ok(())
}
