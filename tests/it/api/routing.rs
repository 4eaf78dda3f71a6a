//! Paths, methods, version prefixes, the operator, body size.

use super::*;

const ROUTES: [(&str, &str); 10] = [
    ("POST", "/policies/cee/import"),
    ("POST", "/policies/cee/import/identity"),
    ("POST", "/policies/cee/simulate"),
    ("POST", "/policies/cee"),
    ("GET", "/policies/cee/3fa85f64-5717-4562-b3fc-2c963f66afa6"),
    (
        "DELETE",
        "/policies/cee/3fa85f64-5717-4562-b3fc-2c963f66afa6",
    ),
    ("POST", "/journeys"),
    ("PATCH", "/journeys/j1"),
    ("GET", "/journeys/j1"),
    ("POST", "/journeys/j1/cancel"),
];

#[test]
fn no_operator_is_403_on_every_route() {
    let fx = Fx::new();
    for (m, p) in ROUTES {
        for prefix in ["", "/v3", "/v3.3"] {
            let r = fx.raw(None, m, &format!("{prefix}{p}"), b"{}");
            assert_eq!(r.status, 403, "{m} {prefix}{p}");
            let (code, message, _) = envelope(&r);
            assert_eq!((code, message.as_str()), (-32503, "Forbidden Error"));
        }
    }
}

#[test]
fn unknown_paths_are_404() {
    let fx = Fx::new();
    for p in [
        "/",
        "",
        "/policies",
        "/policies/cee/import/identity/x",
        "/policies/cee/a/b",
        "/journey",
        "/journeys/a/b",
        "/journeys/a/cancel/b",
        "/journeys/a/cancels",
        "/journeys//cancel",
        "/v3",
        "/v/policies/cee",
        "/v3.3.3/policies/cee",
        "/V3/policies/cee",
        "/policies//cee",
        "policies/cee",
        "/api/policies/cee",
    ] {
        for op in [Some(&fx.op), None] {
            let r = fx.raw(op, "POST", p, b"{}");
            assert_eq!(r.status, 404, "{p}");
            assert_eq!(envelope(&r).2, "unknown path");
        }
    }
}

#[test]
fn known_paths_with_other_methods_are_405() {
    let fx = Fx::new();
    for (m, p) in [
        ("GET", "/policies/cee/import"),
        ("PUT", "/policies/cee/import"),
        ("DELETE", "/policies/cee/simulate"),
        ("GET", "/policies/cee"),
        ("POST", "/policies/cee/3fa85f64-5717-4562-b3fc-2c963f66afa6"),
        ("PATCH", "/policies/cee/x"),
        ("GET", "/journeys"),
        ("PATCH", "/journeys"),
        ("POST", "/journeys/j1"),
        ("HEAD", "/v3/journeys/j1"),
        ("DELETE", "/journeys/j1"),
        ("GET", "/journeys/j1/cancel"),
        ("PATCH", "/v3/journeys/j1/cancel"),
        ("post", "/policies/cee"),
        ("", "/journeys"),
    ] {
        let r = fx.raw(Some(&fx.op), m, p, b"{}");
        assert_eq!(r.status, 405, "{m} {p}");
        let (code, message, data) = envelope(&r);
        assert_eq!((code, message.as_str()), (-32601, "Method not found"));
        assert!(data.starts_with("allowed methods: "), "{data}");
    }
}

#[test]
fn version_prefix_query_string_and_trailing_slash() {
    let fx = Fx::new();
    let p = person(1);
    let body =
        json!({"journey_type": "long", "phone_trunc": p.phone_trunc, "last_name_trunc": "ABC"});
    for path in [
        "/policies/cee/simulate",
        "/v3/policies/cee/simulate",
        "/v3.3/policies/cee/simulate",
        "/v42.0/policies/cee/simulate/",
        "/policies/cee/simulate?dry_run=1",
        "/v3/policies/cee/simulate?a=/b?c",
    ] {
        let r = fx.call("POST", path, &body);
        assert_eq!((r.status, &r.body), (200, &None), "{path}");
    }
}

#[test]
fn body_over_2_mib_is_refused_before_parsing() {
    let fx = Fx::new();
    let mut big = b"[".to_vec();
    big.resize(2 * 1024 * 1024 + 1, b' ');
    for (m, p) in ROUTES.iter().filter(|(m, _)| *m != "GET" && *m != "DELETE") {
        let r = fx.raw(Some(&fx.op), m, p, &big);
        assert_eq!(r.status, 413, "{m} {p}");
        let (code, message, _) = envelope(&r);
        assert_eq!((code, message.as_str()), (-32600, "Invalid Request"));
    }
    // Exactly at the limit is parsed (and is bad JSON here).
    big.truncate(2 * 1024 * 1024);
    let r = fx.raw(Some(&fx.op), "POST", "/policies/cee/import", &big);
    assert!(invalid(&r).starts_with("/: body must be valid JSON"));
}

#[test]
fn get_and_delete_ignore_their_body() {
    let fx = Fx::new();
    let path = "/policies/cee/3fa85f64-5717-4562-b3fc-2c963f66afa6";
    for m in ["GET", "DELETE"] {
        let r = fx.raw(Some(&fx.op), m, path, b"\xff not json");
        assert_eq!(r.status, 404, "{m}");
    }
}

#[test]
fn response_body_bytes() {
    let fx = Fx::new();
    let r = fx.raw(Some(&fx.op), "GET", "/nowhere", b"");
    let v: Value = serde_json::from_slice(&r.body_bytes()).unwrap();
    assert_eq!(v["error"]["code"], -32504);
    let r = fx.call(
        "POST",
        "/policies/cee/simulate",
        &json!({
        "journey_type": "short", "phone_trunc": "+336273488", "last_name_trunc": "ABC"}),
    );
    assert_eq!((r.status, r.body_bytes()), (200, Vec::new()));
}

#[test]
fn api_is_clone_send_sync() {
    fn check<T: Clone + Send + Sync + std::fmt::Debug>() {}
    check::<Api>();
    check::<Response>();
    let fx = Fx::new();
    let api = fx.api.clone();
    let op = fx.op.clone();
    let r = std::thread::spawn(move || api.handle(Some(&op), "GET", "/nowhere", b"").status)
        .join()
        .unwrap();
    assert_eq!(r, 404);
}
