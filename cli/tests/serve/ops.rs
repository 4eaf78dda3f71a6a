//! Roles, admin routes, metrics, logs, token reload, public key.

use std::time::Duration;

use serde_json::{json, Value};

use crate::common::*;

/// RFC 8410 §10.3's example Ed25519 key (a published test vector, never a real key).
const ED25519_PKCS8: &str = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC
-----END PRIVATE KEY-----
";

#[test]
fn public_routes_admin_routes_and_roles() -> R {
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("tokens.json"), tokens_json().to_string())?;
    std::fs::write(dir.path().join("signing.pem"), ED25519_PKCS8)?;
    let server = Server::start_in(
        dir,
        &["--create", "--signing-key", "signing.pem"],
        &["--backup-dir", "backups"],
        &[],
    )?;

    let r = server.call(None, "GET", "/health", None);
    assert_eq!((r.status, r.json()), (200, json!({"status": "ok"})));
    assert_eq!(server.call(None, "GET", "/ready", None).status, 200);
    let doc = server.call(None, "GET", "/openapi.json", None).json();
    assert_eq!(doc["openapi"], json!("3.1.0"));
    assert!(doc["paths"]["/policies/cee/simulate"]["post"].is_object());

    // Public key: operator token; the key of --signing-key (RFC 8410 §10.1).
    assert_eq!(
        server
            .call(None, "GET", "/policies/cee/public-key", None)
            .status,
        401
    );
    let r = server.call(Some(OP1), "GET", "/v3/policies/cee/public-key", None);
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        r.json(),
        json!({"algorithm": "ed25519", "public_key_pem": "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n"})
    );

    // Admin routes: 403 for an operator token, 401 without.
    for (method, path) in [
        ("GET", "/metrics"),
        ("GET", "/admin/stats"),
        ("GET", "/admin/journal"),
        ("POST", "/admin/backup"),
    ] {
        assert_eq!(server.call(None, method, path, None).status, 401, "{path}");
        let r = server.call(Some(OP1), method, path, None);
        assert_eq!(
            (r.status, r.json()["error"]["code"].clone()),
            (403, json!(-32503)),
            "{path}"
        );
    }
    // Backup: a new registry directory under --backup-dir, named in the answer.
    let r = server.call(Some(ADMIN), "POST", "/admin/backup", None);
    assert_eq!(r.status, 201, "{r:?}");
    let copy = std::path::PathBuf::from(r.json()["path"].as_str().ok_or("no path")?);
    assert!(copy.starts_with("backups"), "{copy:?}");
    assert!(server.path().join(&copy).join("db").is_file(), "{copy:?}");
    let again = server.call(Some(ADMIN), "POST", "/admin/backup", None);
    assert_eq!(again.status, 201);
    assert_ne!(
        again.json()["path"],
        r.json()["path"],
        "a new directory each time"
    );
    // Purge: the counts of what went (nothing yet in a fresh registry).
    let r = server.call(Some(ADMIN), "POST", "/admin/purge", None);
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json()["dry_run"], json!(false));
    assert_eq!(r.json()["records_removed"], json!(0));

    // A journey of operator 1, its status set by the admin.
    let journey = json!({
        "operator_journey_id": "j-1", "operator_class": "C",
        "start": {"datetime": "2024-06-01T08:00:00Z", "lat": 48.8566, "lon": 2.3522},
        "end": {"datetime": "2024-06-01T09:00:00Z", "lat": 48.8049, "lon": 2.1204},
        "operator_trip_id": "t-1", "distance": 20000, "incentives": [],
        "driver": {"identity": {"operator_user_id": "u-1", "identity_key": "d".repeat(64),
                                "phone": "+33612345678"}, "revenue": 0},
        "passenger": {"identity": {"operator_user_id": "u-2", "identity_key": "e".repeat(64)},
                      "contribution": 0}
    });
    assert_eq!(
        server
            .call(Some(OP1), "POST", "/journeys", Some(&journey))
            .status,
        201
    );
    let path = "/admin/journeys/1/j-1/status";
    let r = server.call(
        Some(ADMIN),
        "PUT",
        path,
        Some(&json!({"status": "fraud_error"})),
    );
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json()["status"], json!("fraud_error"));
    let r = server.call(Some(ADMIN), "PUT", path, Some(&json!({"status": "nope"})));
    assert_eq!(r.status, 400, "{r:?}");
    let r = server.call(
        Some(ADMIN),
        "PUT",
        "/admin/journeys/2/j-1/status",
        Some(&json!({"status": "ok"})),
    );
    assert_eq!(r.status, 404, "{r:?}");
    let r = server.call(Some(OP1), "PUT", path, Some(&json!({"status": "ok"})));
    assert_eq!(r.status, 403);
    // The status shows in the registration on that journey; a second one is a refusal,
    // journaled.
    let reg = json!({
        "journey_type": "short", "operator_journey_id": "j-1", "last_name_trunc": "XYZ",
        "driving_license": "051227308989", "identity_key": "a".repeat(64),
        "application_timestamp": "2024-06-10T00:00:00Z"
    });
    let r = server.call(Some(OP1), "POST", "/policies/cee", Some(&reg));
    assert_eq!(
        (r.status, r.json()["status"].clone()),
        (201, json!("fraud_error")),
        "{r:?}"
    );
    let r = server.call(Some(OP1), "POST", "/policies/cee", Some(&reg));
    assert_eq!(r.status, 409, "{r:?}");
    let r = server.call(Some(ADMIN), "GET", "/admin/journal?after=0&limit=10", None);
    assert_eq!(r.status, 200, "{r:?}");
    let j = r.json();
    // The registration (audit), then the refusal (error).
    assert_eq!(j["entries"][0]["action"], json!("registered"), "{j}");
    assert_eq!(j["entries"][1]["journal"], json!("error"), "{j}");
    assert_eq!(j["entries"][1]["kind"], json!("conflict"), "{j}");
    assert_eq!(j["entries"][1]["operator_id"], json!(1));
    assert_eq!(j["last"], json!(2));
    let r = server.call(Some(ADMIN), "GET", "/admin/journal?after=2", None);
    assert_eq!(r.json()["entries"], json!([]));
    assert_eq!(
        server
            .call(Some(ADMIN), "GET", "/admin/journal?limit=0", None)
            .status,
        400
    );
    let r = server.call(Some(ADMIN), "GET", "/admin/stats", None);
    assert_eq!(
        (r.status, r.json()["journeys"].clone()),
        (200, json!(1)),
        "{r:?}"
    );

    // Metrics: Prometheus text, labels by route template.
    let r = server.call(Some(ADMIN), "GET", "/metrics", None);
    assert_eq!(r.status, 200);
    let samples = parse_prometheus(&r.body)?;
    let find = |name: &str, labels: &[(&str, &str)]| {
        samples.iter().find(|(n, l, _)| {
            n == name
                && labels
                    .iter()
                    .all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v))
        })
    };
    let put = find(
        "cee_http_requests_total",
        &[
            (
                "route",
                "/admin/journeys/{operator_id}/{operator_journey_id}/status",
            ),
            ("method", "PUT"),
            ("status", "200"),
        ],
    );
    assert_eq!(put.map(|s| s.2), Some(1.0), "{}", r.body);
    assert!(find(
        "cee_http_request_duration_seconds_bucket",
        &[("route", "/journeys"), ("le", "+Inf")]
    )
    .is_some());
    assert_eq!(find("cee_journeys", &[]).map(|s| s.2), Some(1.0));
    assert!(samples
        .iter()
        .all(|(_, l, _)| l.get("route").is_none_or(|r| !r.contains("j-1"))));
    Ok(())
}

type Sample = (String, std::collections::BTreeMap<String, String>, f64);

/// A strict-enough parser of the Prometheus / OpenMetrics text format: `# HELP|TYPE|UNIT|EOF`
/// comments, samples `name{k="v",…} value`.
fn parse_prometheus(text: &str) -> Result<Vec<Sample>, String> {
    let mut out = Vec::new();
    let mut eof = false;
    for line in text.lines() {
        if eof {
            return Err(format!("line after # EOF: {line}"));
        }
        if line == "# EOF" {
            eof = true;
            continue;
        }
        if let Some(c) = line.strip_prefix("# ") {
            let kind = c.split(' ').next().unwrap_or("");
            if !["HELP", "TYPE", "UNIT"].contains(&kind) {
                return Err(format!("bad comment {line}"));
            }
            continue;
        }
        let (name_labels, value) = line.rsplit_once(' ').ok_or(format!("no value: {line}"))?;
        let value: f64 = value.parse().map_err(|_| format!("bad value: {line}"))?;
        let (name, labels) = match name_labels.split_once('{') {
            None => (name_labels, Default::default()),
            Some((n, rest)) => {
                let body = rest
                    .strip_suffix('}')
                    .ok_or(format!("bad labels: {line}"))?;
                let mut m = std::collections::BTreeMap::new();
                for kv in body.split("\",").filter(|s| !s.is_empty()) {
                    let (k, v) = kv.split_once("=\"").ok_or(format!("bad label: {line}"))?;
                    m.insert(k.to_owned(), v.trim_end_matches('"').to_owned());
                }
                (n, m)
            }
        };
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
        {
            return Err(format!("bad metric name: {line}"));
        }
        out.push((name.to_owned(), labels, value));
    }
    if !eof {
        return Err("no # EOF".into());
    }
    Ok(out)
}

#[test]
fn tokens_reload_on_sighup() -> R {
    let server = Server::start(&[], &[])?;
    let path = server.path().join("tokens.json");
    assert_eq!(
        server
            .call(Some(OP1), "GET", "/policies/cee/public-key", None)
            .status,
        200
    );
    let new = json!([{"token_sha256": sha("brand-new"), "operator_id": 5, "siret": SIRET1}]);
    std::fs::write(&path, new.to_string())?;
    server.signal("HUP")?;
    server.wait_log("tokens_reloaded", Duration::from_secs(5))?;
    assert_eq!(
        server
            .call(Some(OP1), "GET", "/policies/cee/public-key", None)
            .status,
        401
    );
    assert_eq!(
        server
            .call(Some("brand-new"), "GET", "/policies/cee/public-key", None)
            .status,
        200
    );

    // A bad file keeps the tokens in force and says why.
    std::fs::write(&path, "[{\"token_sha256\": \"xyz\"}]")?;
    server.signal("HUP")?;
    let log = server.wait_log("tokens_reload_failed", Duration::from_secs(5))?;
    assert!(log.contains("tokens.json"), "{log}");
    assert_eq!(
        server
            .call(Some("brand-new"), "GET", "/policies/cee/public-key", None)
            .status,
        200
    );
    Ok(())
}

/// Registrations, imports of each kind and a deletion through the server, then
/// `GET /admin/journal`: their audit entries (who, when, what) merged with the refusal's error
/// entry in journal order, paged by `after`/`limit`, and no identifier in the answer.
#[test]
fn the_journal_holds_audit_and_error_entries() -> R {
    let server = Server::start(&[], &[])?;
    let (phone, name, licence) = ("+336273488", "QZW", "051227308989");
    let now = "2024-06-15T12:00:00.000Z";
    let rows = json!([
        {"journey_type": "short", "phone_trunc": phone, "last_name_trunc": name, "datetime": "2023-01-01T00:00:00Z"},
        {"journey_type": "bad", "phone_trunc": phone, "last_name_trunc": name, "datetime": "2020-01-01T00:00:00Z"}
    ]);
    let r = server.call(Some(OP1), "POST", "/policies/cee/import", Some(&rows));
    assert_eq!(
        (r.status, r.json()["imported"].clone()),
        (201, json!(1)),
        "{r:?}"
    );
    let ident = json!([{"cee_application_type": "specific",
                        "identity_key": "c".repeat(64), "phone_trunc": phone,
                        "last_name_trunc": name, "journey_type": "short",
                        "datetime": "2023-01-01T00:00:00Z"}]);
    let r = server.call(
        Some(OP1),
        "POST",
        "/policies/cee/import/identity",
        Some(&ident),
    );
    assert_eq!(
        (r.status < 300, r.json()["imported"].clone()),
        (true, json!(1)),
        "{r:?}"
    );
    let kept = "0f8fad5b-d9cb-469f-a165-70867728950e";
    let past = json!([{"journey_type": "long", "datetime": "2023-03-01T00:00:00Z",
                       "last_name_trunc": "PST", "phone_trunc": "+336500001",
                       "driving_license": "PASTLICENCE1", "uuid": kept}]);
    let r = server.call(
        Some(OP2),
        "POST",
        "/policies/cee/import/standardized",
        Some(&past),
    );
    assert_eq!(
        (r.status, r.json()["imported"].clone()),
        (201, json!(1)),
        "{r:?}"
    );
    let reg = json!({"journey_type": "long", "phone_trunc": phone, "last_name_trunc": name,
                     "driving_license": licence, "identity_key": "d".repeat(64),
                     "datetime": "2024-06-01T00:00:00Z", "application_timestamp": "2024-06-10T00:00:00Z"});
    let r = server.call(Some(OP1), "POST", "/policies/cee", Some(&reg));
    assert_eq!(r.status, 201, "{r:?}");
    let uuid = r.json()["uuid"].as_str().ok_or("no uuid")?.to_owned();
    assert_eq!(
        server
            .call(Some(OP2), "POST", "/policies/cee", Some(&reg))
            .status,
        409
    );
    let r = server.call(Some(OP1), "DELETE", &format!("/policies/cee/{uuid}"), None);
    assert!(r.status < 300, "{r:?}");
    // A failed delete and an empty import leave nothing.
    assert_eq!(
        server
            .call(Some(OP1), "DELETE", &format!("/policies/cee/{uuid}"), None)
            .status,
        404
    );
    let r = server.call(Some(OP1), "POST", "/policies/cee/import", Some(&rows));
    assert_eq!(
        (r.status, r.json()["imported"].clone()),
        (201, json!(0)),
        "{r:?}"
    );

    let r = server.call(Some(ADMIN), "GET", "/admin/journal", None);
    assert_eq!(r.status, 200, "{r:?}");
    let j = r.json();
    let entries = j["entries"].as_array().ok_or("entries")?;
    assert_eq!(entries.len(), 6, "{j}");
    assert_eq!(j["last"], json!(6));
    assert!(entries.iter().all(|e| e["at"] == json!(now)), "{j}");
    let seqs: Vec<_> = entries.iter().map(|e| e["seq"].clone()).collect();
    assert_eq!(seqs, [1, 2, 3, 4, 5, 6].map(|n| json!(n)));
    let strip = |e: &Value| {
        let mut e = e.clone();
        let o = e.as_object_mut().unwrap();
        o.remove("seq");
        o.remove("at");
        e
    };
    assert_eq!(strip(&entries[0])["action"], json!("imported"));
    assert!(entries[0]["segment"].is_u64(), "{}", entries[0]);
    assert_eq!(
        (
            entries[0]["operator_id"].clone(),
            entries[0]["rows"].clone(),
            entries[0]["uuids"].clone()
        ),
        (json!(1), json!(1), json!([]))
    );
    let row_uuid = entries[1]["uuids"][0].clone();
    assert_eq!(
        strip(&entries[1]),
        json!({"journal": "audit", "action": "identity_imported", "operator_id": 1, "rows": 1,
               "uuids": [row_uuid]})
    );
    assert!(
        row_uuid.as_str().is_some_and(|u| u.as_bytes()[14] == b'7'),
        "an imported row's v7 uuid"
    );
    assert_eq!(
        strip(&entries[2]),
        json!({"journal": "audit", "action": "standardized_imported", "operator_id": 2,
               "rows": 1, "uuids": [kept]})
    );
    assert_eq!(
        strip(&entries[3]),
        json!({"journal": "audit", "action": "registered", "operator_id": 1, "rows": 1,
               "uuids": [], "uuid": uuid, "journey_type": "long"})
    );
    assert_eq!(
        strip(&entries[4]),
        json!({"journal": "error", "kind": "conflict", "operator_id": 2,
               "journey_type": "long", "application": null})
    );
    assert_eq!(
        strip(&entries[5]),
        json!({"journal": "audit", "action": "deleted", "operator_id": 1, "rows": 1,
               "uuids": [], "uuid": uuid, "journey_type": "long"})
    );
    // Paged: entries 3 and 4.
    let r = server.call(Some(ADMIN), "GET", "/admin/journal?after=2&limit=2", None);
    let page = r.json();
    assert_eq!(page["entries"].as_array().map(Vec::len), Some(2), "{page}");
    assert_eq!(page["entries"][0], entries[2]);
    assert_eq!(page["last"], json!(4));
    // No identifier in the journal.
    for secret in [
        phone,
        "6273488",
        licence,
        &"c".repeat(64),
        &"d".repeat(64),
        "PASTLICENCE1",
    ] {
        assert!(
            !r.body.contains(secret) && !format!("{j}").contains(secret),
            "{secret}"
        );
    }
    Ok(())
}

#[test]
fn logs_are_json_lines_without_identifiers_or_tokens() -> R {
    let server = Server::start(&[], &[])?;
    let phone = "+336273488";
    let name = "QZW";
    let licence = "051227308989";
    let key = "b".repeat(64);
    let rows = json!([
        {"journey_type": "long", "phone_trunc": phone, "last_name_trunc": name, "datetime": "2020-01-01T00:00:00Z"},
        {"journey_type": "bad", "phone_trunc": phone, "last_name_trunc": name, "datetime": "2020-01-01T00:00:00Z"}
    ]);
    assert_eq!(
        server
            .call(Some(OP1), "POST", "/policies/cee/import", Some(&rows))
            .status,
        201
    );
    let sim = json!({"journey_type": "long", "phone_trunc": phone, "last_name_trunc": name,
                     "driving_license": licence, "identity_key": key});
    assert_eq!(
        server
            .call(Some(OP1), "POST", "/policies/cee/simulate", Some(&sim))
            .status,
        409
    );
    let reg = json!({"journey_type": "long", "phone_trunc": phone, "last_name_trunc": name,
                     "driving_license": licence, "identity_key": key,
                     "datetime": "2024-06-01T00:00:00Z", "application_timestamp": "2024-06-10T00:00:00Z"});
    server.call(Some(OP1), "POST", "/policies/cee", Some(&reg));
    server.call(
        Some("secret-wrong-token"),
        "POST",
        "/policies/cee",
        Some(&reg),
    );
    // X-Request-Id: echoed when given, generated otherwise.
    let r = raw(
        server.addr,
        "GET",
        "/health",
        &[("X-Request-Id", "req-42")],
        b"",
    );
    assert_eq!(r.header("x-request-id").as_deref(), Some("req-42"));
    let generated = server
        .call(None, "GET", "/health", None)
        .header("x-request-id");
    assert!(generated.is_some_and(|g| !g.is_empty()));

    server.signal("TERM")?;
    let (_, log, _dir) = server.wait_exit(Duration::from_secs(10))?;
    let mut requests = 0;
    for line in log.lines() {
        let v: Value = serde_json::from_str(line).map_err(|e| format!("not JSON ({e}): {line}"))?;
        assert!(v["time"].is_string() && v["level"].is_string(), "{line}");
        if v["target"] == "cee::request" {
            requests += 1;
            for field in ["request_id", "route", "status", "duration_ms"] {
                assert!(!v[field].is_null(), "{field} missing: {line}");
            }
        }
        for secret in [
            phone,
            "6273488",
            name,
            licence,
            &key,
            OP1,
            "secret-wrong-token",
            SECRET,
        ] {
            assert!(!line.contains(secret), "{secret:?} logged: {line}");
        }
    }
    assert!(requests >= 6, "{log}");
    assert!(log.contains("\"request_id\":\"req-42\""), "{log}");
    assert!(log.contains("\"operator_id\":1"), "{log}");
    assert!(
        log.contains("\"route\":\"/policies/cee/simulate\""),
        "{log}"
    );
    Ok(())
}
