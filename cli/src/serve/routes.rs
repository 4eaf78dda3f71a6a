//! The server's route table: every route, who may call it, how it is served and what it
//! answers. The router, the metrics' `route` label and `/openapi.json` all come from
//! [`ROUTES`], so a route cannot exist without its description.

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No token.
    Public,
    /// Any known token.
    Operator,
    /// An `admin` token (an operator token → 403).
    Admin,
}

/// A service that `--disable` can switch off (SPEC §11.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Service {
    Register,
    Import,
    ImportIdentity,
    Simulate,
}

impl Service {
    /// The decommissioned registry's environment name, when it had one.
    pub fn env_name(self) -> Option<&'static str> {
        match self {
            Service::Register => Some("APP_DISABLE_CEE_REGISTER"),
            Service::Import => Some("APP_DISABLE_CEE_IMPORT"),
            Service::ImportIdentity => Some("APP_DISABLE_CEE_IMPORT_IDENTITY"),
            Service::Simulate => None,
        }
    }

    pub const ALL: [Service; 4] = [
        Service::Register,
        Service::Import,
        Service::ImportIdentity,
        Service::Simulate,
    ];
}

/// How a route is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The JSON façade (`Api::handle`). `inline`: the engine call never waits on disk, so it
    /// runs on the async worker; otherwise on the blocking pool (writes wait for their fsync).
    Facade {
        inline: bool,
        switch: Option<Service>,
    },
    Health,
    Ready,
    OpenApi,
    PublicKey,
    Metrics,
    JourneyStatus,
    Journal,
    Stats,
    /// `POST /admin/backup`: a consistent copy under `--backup-dir` (501 without one).
    Backup,
    /// `POST /admin/purge`: the retention purge (SPEC §11.6).
    Purge,
}

/// One response of a route: status, schema name in `components.schemas` (or none: no
/// body), description.
pub type Answer = (u16, Option<&'static str>, &'static str);

/// One route.
#[derive(Debug)]
pub struct Route {
    pub method: &'static str,
    /// Path template without version prefix; `{name}` is one segment.
    pub template: &'static str,
    pub access: Access,
    pub kind: Kind,
    pub summary: &'static str,
    /// Request body schema name (required body) or none.
    pub body: Option<&'static str>,
    /// Query parameters (name, description); all optional non-negative integers.
    pub query: &'static [(&'static str, &'static str)],
    /// The answers specific to this route (the common ones — 401, 403, 405, 413, 429, 500 —
    /// are added by the OpenAPI generator from `access` and `body`).
    pub answers: &'static [Answer],
}

const fn facade(inline: bool, switch: Option<Service>) -> Kind {
    Kind::Facade { inline, switch }
}

const IMPORT_ANSWERS: &[Answer] = &[(
    400,
    Some("RpcError"),
    "The body is not an array of 1..=1000 objects",
)];

/// Every route of `cee serve`.
pub static ROUTES: &[Route] = &[
    Route {
        method: "GET",
        template: "/health",
        access: Access::Public,
        kind: Kind::Health,
        summary: "Liveness: the process answers",
        body: None,
        query: &[],
        answers: &[(200, Some("Health"), "Alive")],
    },
    Route {
        method: "GET",
        template: "/ready",
        access: Access::Public,
        kind: Kind::Ready,
        summary: "Readiness: the registry is open and the server is not shutting down",
        body: None,
        query: &[],
        answers: &[
            (200, Some("Health"), "Ready"),
            (503, Some("Health"), "Not ready (shutting down, or out of step with a shared registry)"),
        ],
    },
    Route {
        method: "GET",
        template: "/openapi.json",
        access: Access::Public,
        kind: Kind::OpenApi,
        summary: "This document",
        body: None,
        query: &[],
        answers: &[(200, Some("Any"), "The OpenAPI 3.1 document")],
    },
    Route {
        method: "POST",
        template: "/policies/cee/import",
        access: Access::Operator,
        kind: facade(false, Some(Service::Import)),
        summary: "Imports specific applications (history)",
        body: Some("ImportRows"),
        query: &[],
        answers: &[
            (201, Some("ImportReport"), "Imported (row failures in failed_details)"),
            IMPORT_ANSWERS[0],
        ],
    },
    Route {
        method: "POST",
        template: "/policies/cee/import/standardized",
        access: Access::Operator,
        kind: facade(false, Some(Service::Import)),
        summary: "Imports past standardized applications made at the decommissioned registry",
        body: Some("StandardizedRows"),
        query: &[],
        answers: &[
            (201, Some("ImportReport"), "Imported (row failures in failed_details)"),
            IMPORT_ANSWERS[0],
        ],
    },
    Route {
        method: "POST",
        template: "/policies/cee/import/identity",
        access: Access::Operator,
        kind: facade(false, Some(Service::ImportIdentity)),
        summary: "Imports identity keys for past applications",
        body: Some("ImportRows"),
        query: &[],
        answers: &[
            (200, Some("ImportReport"), "Imported (row failures in failed_details)"),
            IMPORT_ANSWERS[0],
        ],
    },
    Route {
        method: "POST",
        template: "/policies/cee/simulate",
        access: Access::Operator,
        kind: facade(true, Some(Service::Simulate)),
        summary: "History + dedup look-up (writes nothing)",
        body: Some("SimulateRequest"),
        query: &[],
        answers: &[
            (200, None, "Eligible"),
            (400, Some("RpcError"), "Invalid parameters"),
            (409, Some("Conflict"), "Blocked by an earlier application"),
        ],
    },
    Route {
        method: "POST",
        template: "/policies/cee",
        access: Access::Operator,
        kind: facade(false, Some(Service::Register)),
        summary: "Checks and durably registers a standardized application",
        body: Some("RegisterRequest"),
        query: &[],
        answers: &[
            (201, Some("Registered"), "Registered, with its signed token"),
            (400, Some("RpcError"), "Invalid parameters or date rule"),
            (404, Some("RpcError"), "Journey not found or not eligible"),
            (409, Some("Conflict"), "Conflict with an earlier application"),
        ],
    },
    Route {
        method: "GET",
        template: "/policies/cee/public-key",
        access: Access::Operator,
        kind: Kind::PublicKey,
        summary: "The key that verifies registration tokens (SubjectPublicKeyInfo PEM)",
        body: None,
        query: &[],
        answers: &[(200, Some("PublicKey"), "The public key")],
    },
    Route {
        method: "GET",
        template: "/policies/cee/{uuid}",
        access: Access::Operator,
        kind: facade(false, None),
        summary: "One of the caller's applications",
        body: None,
        query: &[],
        answers: &[
            (200, Some("Application"), "The application"),
            (400, Some("RpcError"), "Not a uuid"),
            (404, Some("RpcError"), "Not found"),
        ],
    },
    Route {
        method: "DELETE",
        template: "/policies/cee/{uuid}",
        access: Access::Operator,
        kind: facade(false, None),
        summary: "Deletes one of the caller's applications",
        body: None,
        query: &[],
        answers: &[
            (204, None, "Deleted"),
            (400, Some("RpcError"), "Not a uuid"),
            (404, Some("RpcError"), "Not found"),
        ],
    },
    Route {
        method: "POST",
        template: "/journeys",
        access: Access::Operator,
        kind: facade(false, None),
        summary: "Stores a journey (only what eligibility needs)",
        body: Some("Any"),
        query: &[],
        answers: &[
            (201, Some("JourneyId"), "Stored"),
            (400, Some("RpcError"), "Invalid parameters"),
            (409, Some("RpcError"), "Already exists"),
        ],
    },
    Route {
        method: "PATCH",
        template: "/journeys/{operator_journey_id}",
        access: Access::Operator,
        kind: facade(false, None),
        summary: "Updates a journey",
        body: Some("Any"),
        query: &[],
        answers: &[
            (200, Some("JourneyId"), "Updated"),
            (400, Some("RpcError"), "Invalid parameters"),
            (404, Some("RpcError"), "Not found"),
            (409, Some("RpcError"), "The journey carries an application"),
        ],
    },
    Route {
        method: "GET",
        template: "/journeys/{operator_journey_id}",
        access: Access::Operator,
        kind: facade(false, None),
        summary: "One of the caller's journeys and its status",
        body: None,
        query: &[],
        answers: &[
            (200, Some("JourneyState"), "The journey"),
            (400, Some("RpcError"), "Invalid journey id"),
            (404, Some("RpcError"), "Not found"),
        ],
    },
    Route {
        method: "POST",
        template: "/journeys/{operator_journey_id}/cancel",
        access: Access::Operator,
        kind: facade(false, None),
        summary: "Cancels one of the caller's journeys (optional body {code?, message?})",
        body: None,
        query: &[],
        answers: &[
            (200, Some("JourneyState"), "Canceled"),
            (400, Some("RpcError"), "Invalid parameters"),
            (404, Some("RpcError"), "Not found"),
            (409, Some("RpcError"), "The journey carries an application"),
        ],
    },
    Route {
        method: "GET",
        template: "/metrics",
        access: Access::Admin,
        kind: Kind::Metrics,
        summary: "Prometheus text format: requests by route template and status, latency, registry gauges",
        body: None,
        query: &[],
        answers: &[(200, Some("Text"), "Prometheus text exposition format")],
    },
    Route {
        method: "PUT",
        template: "/admin/journeys/{operator_id}/{operator_journey_id}/status",
        access: Access::Admin,
        kind: Kind::JourneyStatus,
        summary: "Sets a journey's status (the validation outcome)",
        body: Some("JourneyStatus"),
        query: &[],
        answers: &[
            (200, Some("JourneyStatusSet"), "Set"),
            (400, Some("RpcError"), "Invalid parameters"),
            (404, Some("RpcError"), "Journey not found"),
        ],
    },
    Route {
        method: "GET",
        template: "/admin/journal",
        access: Access::Admin,
        kind: Kind::Journal,
        summary: "The error and audit journal (register refusals and committed registrations, deletions and imports), oldest first, from entry `after`",
        body: None,
        query: &[
            ("after", "Entries with a sequence number greater than this (default: from the start)"),
            ("limit", "At most this many entries (default 100, at most 1000)"),
        ],
        answers: &[
            (200, Some("Journal"), "Entries"),
            (400, Some("RpcError"), "Invalid parameters"),
        ],
    },
    Route {
        method: "GET",
        template: "/admin/stats",
        access: Access::Admin,
        kind: Kind::Stats,
        summary: "What the registry holds",
        body: None,
        query: &[],
        answers: &[(200, Some("Stats"), "Counts")],
    },
    Route {
        method: "POST",
        template: "/admin/backup",
        access: Access::Admin,
        kind: Kind::Backup,
        summary: "A consistent backup of the registry in a new directory under --backup-dir (reads and writes go on)",
        body: None,
        query: &[],
        answers: &[
            (201, Some("Backup"), "Written"),
            (501, Some("RpcError"), "The server was started without --backup-dir"),
        ],
    },
    Route {
        method: "POST",
        template: "/admin/purge",
        access: Access::Admin,
        kind: Kind::Purge,
        summary: "Removes what can no longer change any answer (SPEC §11.6); the counts of what went",
        body: None,
        query: &[],
        answers: &[(200, Some("PurgeReport"), "Purged")],
    },
];

/// What a path resolves to.
#[derive(Debug)]
pub enum Resolved {
    Found(&'static Route),
    /// The path exists with other methods (`Allow` value) and its template.
    MethodNotAllowed(String, &'static str),
    NotFound,
}

/// Strips the query string, an API version prefix (`/v3`, `/v3.3`) and one trailing slash, as
/// the façade does.
pub fn normalise(path: &str) -> &str {
    let path = path.split_once('?').map_or(path, |(p, _)| p);
    let path = strip_version(path);
    match path.strip_suffix('/') {
        Some(p) if !p.is_empty() => p,
        _ => path,
    }
}

fn strip_version(path: &str) -> &str {
    let Some(rest) = path.strip_prefix("/v") else {
        return path;
    };
    let digits = |s: &str| s.bytes().take_while(u8::is_ascii_digit).count();
    let major = digits(rest);
    if major == 0 {
        return path;
    }
    let mut rest = &rest[major..];
    if let Some(minor) = rest.strip_prefix('.') {
        let n = digits(minor);
        if n == 0 {
            return path;
        }
        rest = &minor[n..];
    }
    if rest.is_empty() || rest.starts_with('/') {
        rest
    } else {
        path
    }
}

/// How many literal segments of `template` match `path` (`None`: no match).
fn literal_matches(template: &str, path: &str) -> Option<usize> {
    let mut t = template.split('/');
    let mut p = path.split('/');
    let mut literals = 0;
    loop {
        match (t.next(), p.next()) {
            (None, None) => return Some(literals),
            (Some(ts), Some(ps)) => {
                if ts.starts_with('{') {
                    if ps.is_empty() {
                        return None;
                    }
                } else if ts == ps {
                    literals += 1;
                } else {
                    return None;
                }
            }
            _ => return None,
        }
    }
}

/// The route of `method` on the raw `path`. The most specific template wins (most literal
/// segments: `/policies/cee/import` before `/policies/cee/{uuid}`).
pub fn resolve(method: &str, path: &str) -> Resolved {
    let path = normalise(path);
    let mut best: Option<(usize, &'static str)> = None;
    for r in ROUTES {
        if let Some(n) = literal_matches(r.template, path) {
            if best.is_none_or(|(b, _)| n > b) {
                best = Some((n, r.template));
            }
        }
    }
    let Some((_, template)) = best else {
        return Resolved::NotFound;
    };
    let same = || ROUTES.iter().filter(move |r| r.template == template);
    match same().find(|r| r.method == method) {
        Some(r) => Resolved::Found(r),
        None => {
            let allow: Vec<&str> = same().map(|r| r.method).collect();
            Resolved::MethodNotAllowed(allow.join(", "), template)
        }
    }
}

/// The variable segments of `path` under `template`, in order.
pub fn params<'a>(template: &str, path: &'a str) -> Vec<&'a str> {
    normalise(path)
        .split('/')
        .zip(template.split('/'))
        .filter(|(_, t)| t.starts_with('{'))
        .map(|(p, _)| p)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(method: &str, path: &str) -> Option<&'static str> {
        match resolve(method, path) {
            Resolved::Found(r) => Some(r.template),
            _ => None,
        }
    }

    #[test]
    fn resolution() {
        assert_eq!(
            found("POST", "/v3/policies/cee/import"),
            Some("/policies/cee/import")
        );
        assert_eq!(
            found("GET", "/policies/cee/abc?x=1"),
            Some("/policies/cee/{uuid}")
        );
        assert_eq!(
            found("GET", "/v3.3/policies/cee/public-key/"),
            Some("/policies/cee/public-key")
        );
        assert_eq!(found("POST", "/policies/cee"), Some("/policies/cee"));
        assert!(matches!(
            resolve("GET", "/policies/cee/import"),
            Resolved::MethodNotAllowed(ref a, "/policies/cee/import") if a == "POST"
        ));
        assert!(matches!(
            resolve("POST", "/policies/cee/x"),
            Resolved::MethodNotAllowed(ref a, _) if a == "GET, DELETE"
        ));
        assert!(matches!(resolve("GET", "/nope"), Resolved::NotFound));
        assert!(matches!(
            resolve("GET", "/policies//cee"),
            Resolved::NotFound
        ));
        assert_eq!(
            params(
                "/admin/journeys/{operator_id}/{operator_journey_id}/status",
                "/admin/journeys/3/j%201/status"
            ),
            vec!["3", "j%201"]
        );
    }

    #[test]
    fn one_route_per_method_and_template() {
        for (i, a) in ROUTES.iter().enumerate() {
            for b in &ROUTES[i + 1..] {
                assert!(
                    (a.method, a.template) != (b.method, b.template),
                    "{} {} twice",
                    a.method,
                    a.template
                );
            }
        }
    }
}
