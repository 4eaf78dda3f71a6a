//! `cee serve` on an ephemeral loopback port, driven by a real HTTP client: auth, import,
//! simulate, journeys, register, find, delete, patch, graceful shutdown.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const SECRET: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const TOKEN1: &str = "operator-one-token";
const TOKEN2: &str = "operator-two-token";

type R = Result<(), Box<dyn std::error::Error>>;

fn sha(s: &str) -> String {
    Sha256::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

struct Server {
    child: std::process::Child,
    base: String,
    agent: ureq::Agent,
}

impl Server {
    fn call(
        &self,
        token: Option<&str>,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let url = format!("{}{}", self.base, path);
        let auth = token.map(|t| format!("Bearer {t}"));
        let resp = match (method, body) {
            ("GET", _) => with_auth(self.agent.get(&url), auth.as_deref()).call(),
            ("DELETE", _) => with_auth(self.agent.delete(&url), auth.as_deref()).call(),
            ("POST", b) => with_auth(self.agent.post(&url), auth.as_deref())
                .header("Content-Type", "application/json")
                .send(b.unwrap_or(Value::Null).to_string().as_bytes()),
            ("PATCH", b) => with_auth(self.agent.patch(&url), auth.as_deref())
                .header("Content-Type", "application/json")
                .send(b.unwrap_or(Value::Null).to_string().as_bytes()),
            _ => panic!("method {method}"),
        };
        let mut resp = resp.expect("request");
        let status = resp.status().as_u16();
        let text = resp.body_mut().read_to_string().unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}

fn with_auth<B>(r: ureq::RequestBuilder<B>, auth: Option<&str>) -> ureq::RequestBuilder<B> {
    match auth {
        Some(a) => r.header("Authorization", a),
        None => r,
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(
    dir: &std::path::Path,
) -> Result<(Server, BufReader<std::process::ChildStderr>), Box<dyn std::error::Error>> {
    let tokens = json!([
        {"token_sha256": sha(TOKEN1), "operator_id": 1, "siret": "89248032800012"},
        {"token_sha256": sha(TOKEN2), "operator_id": 2, "siret": "41234567800019"}
    ]);
    std::fs::write(dir.join("tokens.json"), tokens.to_string())?;
    let mut child = Command::new(env!("CARGO_BIN_EXE_cee"))
        .args([
            "serve",
            "--db",
            "db",
            "--create",
            "--now",
            "2024-06-15T12:00:00Z",
            "--addr",
            "127.0.0.1:0",
            "--tokens",
            "tokens.json",
        ])
        .current_dir(dir)
        .env("CEE_SECRET", SECRET)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut stderr = BufReader::new(child.stderr.take().ok_or("no stderr")?);
    let mut line = String::new();
    stderr.read_line(&mut line)?;
    let started: Value = serde_json::from_str(&line)?;
    let addr = started["addr"]
        .as_str()
        .ok_or_else(|| format!("no address in {line:?}"))?
        .to_owned();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(20)))
        .build()
        .into();
    Ok((
        Server {
            child,
            base: format!("http://{addr}"),
            agent,
        },
        stderr,
    ))
}

#[test]
fn serve_answers_the_api_over_http() -> R {
    let dir = tempfile::tempdir()?;
    let (server, mut stderr) = start(dir.path())?;
    let t1 = Some(TOKEN1);

    // Authentication.
    let (s, b) = server.call(None, "POST", "/v3/policies/cee/simulate", Some(json!({})));
    assert_eq!((s, b["error"]["code"].clone()), (401, json!(-32501)), "{b}");
    let (s, _) = server.call(
        Some("wrong"),
        "POST",
        "/v3/policies/cee/simulate",
        Some(json!({})),
    );
    assert_eq!(s, 401);

    // Import with one bad row, then simulate: blocked by history.
    let (s, b) = server.call(t1, "POST", "/v3/policies/cee/import", Some(json!([
        {"journey_type": "long", "phone_trunc": "+336273488", "last_name_trunc": "ABC", "datetime": "2020-01-01T00:00:00Z"},
        {"journey_type": "long", "phone_trunc": "bip", "last_name_trunc": "ABC", "datetime": "2020-01-01T00:00:00Z"}
    ])));
    assert_eq!(s, 201, "{b}");
    assert_eq!(
        (b["imported"].clone(), b["failed"].clone()),
        (json!(1), json!(1))
    );
    let sim =
        json!({"journey_type": "long", "phone_trunc": "+336273488", "last_name_trunc": "ABC"});
    let (s, b) = server.call(t1, "POST", "/v3/policies/cee/simulate", Some(sim.clone()));
    assert_eq!(s, 409, "{b}");
    assert_eq!(b["datetime"], json!("2020-01-01T00:00:00.000Z"));
    let (s, _) = server.call(
        t1,
        "POST",
        "/v3/policies/cee/simulate",
        Some(
            json!({"journey_type": "short", "phone_trunc": "+336273488", "last_name_trunc": "ABC"}),
        ),
    );
    assert_eq!(s, 200);
    let (s, b) = server.call(
        t1,
        "POST",
        "/v3/policies/cee/simulate",
        Some(json!({"journey_type": "x"})),
    );
    assert_eq!((s, b["error"]["code"].clone()), (400, json!(-32602)), "{b}");

    // A journey, a short registration, find, patch refused, delete.
    let journey = json!({
        "operator_journey_id": "j-1", "operator_trip_id": "t-1", "operator_class": "C",
        "start": {"datetime": "2024-06-01T08:00:00Z", "lat": 48.8566, "lon": 2.3522},
        "end": {"datetime": "2024-06-01T09:00:00Z", "lat": 48.8049, "lon": 2.1204},
        "distance": 20000, "incentives": [],
        "driver": {"identity": {"phone": "+33612345678", "identity_key": "a".repeat(64),
                                "operator_user_id": "d1"}, "revenue": 0},
        "passenger": {"identity": {"identity_key": "b".repeat(64), "operator_user_id": "p1"},
                      "contribution": 0}
    });
    let (s, b) = server.call(t1, "POST", "/journeys", Some(journey.clone()));
    assert_eq!(s, 201, "{b}");
    let (s, _) = server.call(t1, "POST", "/journeys", Some(journey.clone()));
    assert_eq!(s, 409);
    let reg = json!({
        "journey_type": "short", "operator_journey_id": "j-1", "last_name_trunc": "XYZ",
        "driving_license": "051227308989", "identity_key": "a".repeat(64),
        "application_timestamp": "2024-06-10T00:00:00Z"
    });
    let (s, b) = server.call(t1, "POST", "/v3/policies/cee", Some(reg.clone()));
    assert_eq!(s, 201, "{b}");
    let uuid = b["uuid"].as_str().ok_or("uuid")?.to_owned();
    assert_eq!(b["datetime"], json!("2024-06-01T09:00:00.000Z"));
    assert!(b["token"].as_str().is_some_and(|t| !t.is_empty()));
    let (s, _) = server.call(t1, "POST", "/v3/policies/cee", Some(reg));
    assert_eq!(s, 409);
    let (s, b) = server.call(t1, "GET", &format!("/v3/policies/cee/{uuid}"), None);
    assert_eq!((s, b["uuid"].clone()), (200, json!(uuid)), "{b}");
    let (s, _) = server.call(
        Some(TOKEN2),
        "GET",
        &format!("/v3/policies/cee/{uuid}"),
        None,
    );
    assert_eq!(s, 403);
    let mut patch = journey.clone();
    for k in ["operator_journey_id", "driver", "passenger"] {
        patch.as_object_mut().ok_or("object")?.remove(k);
    }
    patch["distance"] = json!(21000);
    let (s, _) = server.call(t1, "PATCH", "/journeys/j-1", Some(patch.clone()));
    assert_eq!(s, 409, "a journey with a CEE application cannot be patched");
    let (s, _) = server.call(t1, "DELETE", &format!("/v3/policies/cee/{uuid}"), None);
    assert_eq!(s, 204);
    let (s, _) = server.call(t1, "DELETE", &format!("/v3/policies/cee/{uuid}"), None);
    assert_eq!(s, 404);
    let (s, b) = server.call(t1, "PATCH", "/journeys/j-1", Some(patch));
    assert_eq!(s, 200, "{b}");
    let (s, _) = server.call(t1, "GET", "/nowhere", None);
    assert_eq!(s, 404);

    // Graceful shutdown on SIGTERM flushes the database.
    let pid = server.child.id().to_string();
    let status = Command::new("kill").args(["-TERM", &pid]).status()?;
    assert!(status.success());
    let mut rest = String::new();
    for line in (&mut stderr).lines() {
        rest.push_str(&line?);
        rest.push('\n');
    }
    assert!(rest.contains("registry flushed"), "{rest}");
    drop(server);

    // What was written over HTTP is on disk.
    let out = Command::new(env!("CARGO_BIN_EXE_cee"))
        .args(["stats", "--db", "db", "--json"])
        .current_dir(dir.path())
        .env("CEE_SECRET", SECRET)
        .output()?;
    let stats: Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(stats["journeys"], json!(1), "{stats}");
    Ok(())
}
