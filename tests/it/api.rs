//! The JSON façade (SPEC §7): routes, error shapes, closed objects, date rules through HTTP
//! semantics, and garbage that must never become a 500. One fixture per test: a temporary
//! engine on a manual clock stopped at [`NOW`].
#![allow(clippy::unwrap_used)]

mod cee;
mod garbage;
mod hostile;
mod import;
mod journeys;
mod journeys_v3;
mod register;
mod routing;
mod standardized;

use cee_eligibility::api::{Api, Response};
use cee_eligibility::clock::ManualClock;
use cee_eligibility::{Engine, Operator, Timestamp};
use serde_json::{json, Value};

/// The fixed "now" of every test (inside the 2023–2024 operation period).
pub const NOW: &str = "2024-06-01T00:00:00Z";

pub struct Fx {
    pub engine: Engine,
    pub api: Api,
    pub clock: ManualClock,
    /// Operator 1, the caller unless said otherwise.
    pub op: Operator,
    /// Operator 2.
    pub op2: Operator,
}

pub fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// `NOW` shifted by `secs` seconds, rendered canonically.
pub fn now_plus(secs: i64) -> String {
    Timestamp::from_millis(ts(NOW).as_millis() + secs * 1000)
        .unwrap()
        .to_string()
}

pub const DAY: i64 = 24 * 3600;

impl Fx {
    pub fn new() -> Fx {
        let clock = ManualClock::new(ts(NOW));
        let engine = Engine::open(crate::common::fresh_config().clock(clock.clone())).unwrap();
        Fx {
            api: Api::new(engine.clone()),
            engine,
            clock,
            op: Operator::new(1, "89248032800012".parse().unwrap()),
            op2: Operator::new(2, "89248032800020".parse().unwrap()),
        }
    }

    /// A request of operator 1 with a JSON body.
    pub fn call(&self, method: &str, path: &str, body: &Value) -> Response {
        self.raw(Some(&self.op), method, path, body.to_string().as_bytes())
    }

    /// A request of `op` with a JSON body.
    pub fn call_as(&self, op: &Operator, method: &str, path: &str, body: &Value) -> Response {
        self.raw(Some(op), method, path, body.to_string().as_bytes())
    }

    /// A request with raw bytes; checks invariants every response must hold.
    pub fn raw(&self, op: Option<&Operator>, method: &str, path: &str, body: &[u8]) -> Response {
        let r = self.api.handle(op, method, path, body);
        assert_ne!(r.status, 500, "{method} {path}: {:?}", r.body);
        if r.status >= 400 && r.status != 409 {
            envelope(&r);
        }
        r
    }

    /// Stores a journey through the façade (201 expected).
    pub fn journey(&self, body: &Value) {
        let r = self.call("POST", "/journeys", body);
        assert_eq!(r.status, 201, "{:?}", r.body);
    }
}

/// Checks the JSON-RPC error envelope and returns `(code, message, data)`.
pub fn envelope(r: &Response) -> (i64, String, String) {
    let b = r.body.as_ref().expect("error responses have a body");
    assert_eq!(b["id"], 1, "{b}");
    assert_eq!(b["jsonrpc"], "2.0", "{b}");
    let e = b["error"].as_object().expect("error object");
    assert_eq!(e.len(), 3, "{b}");
    let expected = match r.status {
        400 => Some((-32602, "Invalid params")),
        403 => Some((-32503, "Forbidden Error")),
        404 => Some((-32504, "Not found")),
        405 => Some((-32601, "Method not found")),
        500 => Some((-32603, "Internal error")),
        _ => None,
    };
    let code = e["code"].as_i64().unwrap();
    let message = e["message"].as_str().unwrap().to_owned();
    if let Some((c, m)) = expected {
        assert_eq!((code, message.as_str()), (c, m), "{b}");
    }
    (
        code,
        message,
        e["data"].as_str().unwrap_or_default().to_owned(),
    )
}

/// Asserts a 400 and returns its `data`.
#[track_caller]
pub fn invalid(r: &Response) -> String {
    assert_eq!(r.status, 400, "{:?}", r.body);
    envelope(r).2
}

/// A distinct beneficiary `n` (1..=89): phone, last name, licence, identity key.
pub struct Person {
    pub phone_trunc: String,
    pub last_name_trunc: &'static str,
    pub driving_license: String,
    pub identity_key: String,
}

pub fn person(n: u32) -> Person {
    Person {
        phone_trunc: format!("+3362734{:02}", n + 10),
        last_name_trunc: "ABC",
        driving_license: format!("05122730{n:04}"),
        identity_key: format!("{n:064x}"),
    }
}

/// A journey body: class C, 20 km from Paris to Versailles, driven by `p`, starting at
/// `start` and ending 30 minutes later.
pub fn journey(id: &str, start: &str, p: &Person) -> Value {
    let end = Timestamp::from_millis(ts(start).as_millis() + 1_800_000).unwrap();
    journey_ending(id, start, &end.to_string(), p)
}

pub fn journey_ending(id: &str, start: &str, end: &str, p: &Person) -> Value {
    json!({
        "operator_journey_id": id,
        "operator_trip_id": "trip-1",
        "operator_class": "C",
        "start": { "datetime": start, "lat": 48.8566, "lon": 2.3522 },
        "end": { "datetime": end, "lat": 48.8049, "lon": 2.1204, "geo_code": "78646" },
        "distance": 20000,
        "incentives": [{ "index": 0, "amount": 150, "siret": "89248032800012" }],
        "driver": {
            "identity": {
                "identity_key": p.identity_key,
                "operator_user_id": "driver-1",
                "phone_trunc": p.phone_trunc,
            },
            "revenue": 200,
        },
        "passenger": {
            "identity": { "identity_key": "f".repeat(64), "operator_user_id": "passenger-1" },
            "contribution": 200,
        },
    })
}

/// A short registration body for journey `id` by `p`.
pub fn short(id: &str, p: &Person) -> Value {
    json!({
        "journey_type": "short",
        "operator_journey_id": id,
        "last_name_trunc": p.last_name_trunc,
        "driving_license": p.driving_license,
        "identity_key": p.identity_key,
        "application_timestamp": now_plus(-DAY),
    })
}

/// A long registration body by `p`, paid at `datetime`.
pub fn long(datetime: &str, p: &Person) -> Value {
    json!({
        "journey_type": "long",
        "phone_trunc": p.phone_trunc,
        "datetime": datetime,
        "last_name_trunc": p.last_name_trunc,
        "driving_license": p.driving_license,
        "identity_key": p.identity_key,
        "application_timestamp": now_plus(-DAY),
    })
}

/// The sorted keys of a JSON object.
pub fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    k.sort_unstable();
    k
}
