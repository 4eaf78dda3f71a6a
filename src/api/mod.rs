//! The JSON façade (SPEC §7): the public registry's HTTP API as one function,
//! [`Api::handle`], that a service wires behind any HTTP server.
//!
//! ```
//! use cee_eligibility::api::{Api, Response};
//! use cee_eligibility::clock::ManualClock;
//! use cee_eligibility::{Config, Engine, Operator};
//!
//! let now = "2024-06-01T00:00:00Z".parse()?;
//! let engine = Engine::open(Config::temporary().clock(ManualClock::new(now)))?;
//! let api = Api::new(engine.clone());
//! let op = Operator::new(1, "89248032800012".parse()?);
//!
//! let body = br#"[{"journey_type": "long", "phone_trunc": "+336273488",
//!                  "last_name_trunc": "ABC", "datetime": "2022-01-01T00:00:00+01:00"}]"#;
//! let r: Response = api.handle(Some(&op), "POST", "/v3/policies/cee/import", body);
//! assert_eq!(r.status, 201);
//!
//! let body = br#"{"journey_type": "long", "phone_trunc": "06 27 34 88", "last_name_trunc": "ABC"}"#;
//! let r = api.handle(Some(&op), "POST", "/policies/cee/simulate", body);
//! assert_eq!(r.status, 409);
//! assert_eq!(r.body.unwrap()["datetime"], "2021-12-31T23:00:00.000Z");
//!
//! let r = api.handle(Some(&op), "POST", "/policies/cee/simulate", br#"{"journey_type": "medium"}"#);
//! assert_eq!(r.status, 400);
//! assert_eq!(
//!     r.body.unwrap()["error"]["data"],
//!     "/last_name_trunc: is required, /phone_trunc: is required, \
//!      /journey_type: must be either short or long"
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Behaviour where SPEC §7 leaves a choice
//!
//! * **Routing.** A query string is ignored; a version prefix `/v<digits>[.<digits>]` and one
//!   trailing slash are stripped. Methods are case-sensitive (`post` is not `POST`). An unknown
//!   path is 404 and a known path with another method is 405 (`data` lists the allowed
//!   methods), both before the operator is looked at; then no operator is 403; then the body
//!   is read. Bodies of `GET` and `DELETE` are ignored.
//! * **Bodies** larger than [`MAX_BODY_BYTES`] are refused with 413 (code `-32600`, "Invalid
//!   Request") before parsing. Malformed JSON, invalid UTF-8, numbers out of range and nesting
//!   deeper than serde_json's recursion limit (128) are 400.
//! * **Closed objects.** An unknown property is `"/foo: must not be present"`; a missing one
//!   `"/phone_trunc: is required"`; a wrong JSON type `"/lat: must be a number, not a string"`.
//!   A known field set to `null` counts as absent (so an optional one may be `null`; a
//!   required one is "is required"). Errors come in the order of the public
//!   registry's schemas (simulate: `last_name_trunc`, `phone_trunc`, `journey_type`, …), then
//!   unknown properties sorted by name. Nested fields have nested paths (`/start/lat`,
//!   `/incentives/0/amount`); the body itself is `/`.
//! * **Register** checks its fields for the given `journey_type`: `phone_trunc` and `datetime`
//!   on a short request, `operator_journey_id` on a long one, are "must not be present …".
//! * **Import rows.** The body must be an array of 1 to 1000 objects (else 400, naming every
//!   element that is not an object). A row object whose fields are not all strings, that lacks
//!   one, or has another property, is a *failed row* — echoed as sent with an `error` naming
//!   every problem — and does not fail the call; `failed_details` keeps the rows' order. The
//!   same holds for identity rows, whose `cee_application_type` selects the allowed fields,
//!   and for standardized rows (`/policies/cee/import/standardized`), whose optional fields
//!   may be absent or `null`; their failed rows echo `datetime` and `application_timestamp`
//!   canonical when they parse.
//! * **Find** renders absent `journey_id`, `status` and `token` (long or imported applications)
//!   as `null`: the keys are always there. A `{uuid}` that is not a uuid is 400 on `GET` and
//!   404 on `DELETE` (the route table lists no 400 for delete: nothing can be found there).
//! * **Simulate 409** carries only `uuid` (the caller's own application) and `datetime`.
//! * **Journeys 409** (already exists; carries a CEE application) use the JSON-RPC envelope
//!   with code `-32509`, message `"Conflict"` and the reason as `data`: they describe no
//!   application. The CEE routes' 409 bodies are the plain conflict objects.
//! * **Journeys (SPEC §11.3)**: `POST /journeys` takes the public registry's v3 body; every
//!   field is validated (closed objects at every level, `distance` 1..=1 000 000, `revenue` /
//!   `contribution` integers 0..=1 000 000, `seats` 1..=8, `payments` and
//!   `incentive_counterparts` at most 20 items with amounts 0..=100 000, `email` syntax, a full
//!   `phone`, `travel_pass.name` `navigo`, free texts at most 256 characters) and only what
//!   eligibility needs goes on: the driver's truncated phone (from `phone`, or `phone_trunc`;
//!   both must then agree) and identity key. A payment item is `{pass_type, amount}` or the
//!   registry's own `{index, siret, type, amount}`: either is accepted. The 0.1 body (`driver
//!   {phone_trunc | phone, identity_key?}`, no passenger) is refused with 400 naming the
//!   missing fields.
//! * `GET /journeys/{id}` answers 404 for an id that is not one of the caller's journeys, a
//!   malformed one included. `POST /journeys/{id}/cancel` takes no body, an empty body, `null`
//!   or `{code?, message?}` (validated, not stored). `PATCH` requires `operator_class`,
//!   `incentives`, `start`, `end` and `distance`.
//! * **Register 409** carries `reason`: `journey_taken` when the journey already carries an
//!   application (possibly another beneficiary's), else `already_benefited`.
//! * **500** (`-32603`) only for storage, corruption and signer failures; its `data` is the
//!   error's message, which never holds an identifier.
//! * **503** (`-32603`, message `"Service Unavailable"`) when an engine on a shared registry
//!   (PostgreSQL) is not in step with it ([`Error::Unavailable`]): the answer could be stale.

mod cee;
mod journeys;
mod json;
mod path;

pub use cee::{conflict_json, registration_json};

use serde_json::{json, Value};

use crate::engine::{Engine, Operator};
use crate::error::{Error, FieldErrors};
use path::{NoRoute, Route};

/// Largest request body [`Api::handle`] reads: 2 MiB (`cee serve` enforces the same).
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// JSON-RPC error codes of the public registry (the `error.code` of [`rpc_error`]).
pub mod rpc_code {
    /// 413: body too large (message `"Invalid Request"`).
    pub const INVALID_REQUEST: i32 = -32600;
    /// 405: no such method on a known path (message `"Method not found"`).
    pub const METHOD_NOT_FOUND: i32 = -32601;
    /// 400: invalid body or field (message `"Invalid params"`).
    pub const INVALID_PARAMS: i32 = -32602;
    /// 500: storage, corruption or signer failure (message `"Internal error"`).
    pub const INTERNAL: i32 = -32603;
    /// 401: no known bearer token (message `"Unauthorized Error"`).
    pub const UNAUTHORIZED: i32 = -32501;
    /// 403: no operator, or another operator's application (message `"Forbidden Error"`).
    pub const FORBIDDEN: i32 = -32503;
    /// 404: not found (message `"Not found"`).
    pub const NOT_FOUND: i32 = -32504;
    /// 409: the resource exists or is taken (message `"Conflict"`).
    pub const CONFLICT: i32 = -32509;
}

/// The JSON-RPC error envelope of the public registry, the one body every error answer has
/// (the façade's and `cee serve`'s own, e.g. 401): `{"id":1,"jsonrpc":"2.0","error":{"code":…,
/// "message":…[,"data":…]}}` — `data` only when given.
///
/// ```
/// use cee_eligibility::api::{rpc_code, rpc_error};
/// let body = rpc_error(rpc_code::UNAUTHORIZED, "Unauthorized Error", None);
/// assert_eq!(
///     body.to_string(),
///     r#"{"error":{"code":-32501,"message":"Unauthorized Error"},"id":1,"jsonrpc":"2.0"}"#
/// );
/// ```
pub fn rpc_error(code: i32, message: &str, data: Option<Value>) -> Value {
    let mut error = serde_json::Map::new();
    error.insert("code".into(), code.into());
    error.insert("message".into(), message.into());
    if let Some(d) = data {
        error.insert("data".into(), d);
    }
    json!({ "id": 1, "jsonrpc": "2.0", "error": error })
}

/// The façade: routes requests to an [`Engine`]. Cheap to clone; clones share the engine.
///
/// Give [`Api::handle`] the authenticated operator, the method, the path as received and the
/// raw body; write out the [`Response`] it returns.
///
/// ```
/// use cee_eligibility::api::Api;
/// use cee_eligibility::{Config, Engine, Operator};
///
/// let api = Api::new(Engine::open(Config::temporary())?);
/// let op = Operator::new(1, "89248032800012".parse()?);
/// // The public registry's v3 body, as operators send it.
/// let journey = br#"{"operator_journey_id": "j-1", "operator_trip_id": "t-1", "operator_class": "C",
///     "start": {"datetime": "2024-05-01T08:00:00+02:00", "lat": 48.85, "lon": 2.35},
///     "end": {"datetime": "2024-05-01T08:30:00+02:00", "lat": 48.80, "lon": 2.12},
///     "distance": 20000, "incentives": [],
///     "driver": {"revenue": 250, "identity": {"identity_key": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
///                "operator_user_id": "u-17", "firstname": "Jeanne", "phone": "+33627348812"}},
///     "passenger": {"contribution": 250, "seats": 1, "identity": {"operator_user_id": "u-18",
///                "identity_key": "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"}}}"#;
/// let r = api.handle(Some(&op), "POST", "/v3/journeys", journey);
/// assert_eq!((r.status, r.body_bytes()), (201, br#"{"operator_journey_id":"j-1"}"#.to_vec()));
///
/// assert_eq!(api.handle(Some(&op), "POST", "/v3/journeys", journey).status, 409);
/// assert_eq!(api.handle(None, "POST", "/v3/journeys", journey).status, 403);
/// assert_eq!(api.handle(Some(&op), "GET", "/v3/journeys", b"").status, 405);
/// let r = api.handle(Some(&op), "GET", "/v3/journeys/j-1", b"");
/// assert_eq!(r.body_bytes(), br#"{"operator_journey_id":"j-1","status":"pending"}"#.to_vec());
/// let r = api.handle(Some(&op), "POST", "/v3/journeys/j-1/cancel", br#"{"code": "DRIVER_LEFT"}"#);
/// assert_eq!(r.body.unwrap()["status"], "canceled");
/// assert_eq!(api.handle(Some(&op), "GET", "/v3/nowhere", b"").status, 404);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Api {
    engine: Engine,
}

/// An HTTP response: status and JSON body (`None` for 204 and for simulate's 200).
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    /// HTTP status code.
    pub status: u16,
    /// JSON body, if any.
    pub body: Option<Value>,
}

impl Response {
    fn new(status: u16, body: Value) -> Self {
        Response {
            status,
            body: Some(body),
        }
    }

    fn empty(status: u16) -> Self {
        Response { status, body: None }
    }

    /// The JSON-RPC error envelope ([`rpc_error`]) with `data`.
    fn rpc_error(status: u16, code: i32, message: &str, data: impl Into<Value>) -> Self {
        Response::new(status, rpc_error(code, message, Some(data.into())))
    }

    /// 400 `-32602 Invalid params` with the field errors (or a date rule) as `data`.
    fn invalid(data: impl std::fmt::Display) -> Self {
        Response::rpc_error(
            400,
            rpc_code::INVALID_PARAMS,
            "Invalid params",
            data.to_string(),
        )
    }

    fn forbidden(data: &str) -> Self {
        Response::rpc_error(403, rpc_code::FORBIDDEN, "Forbidden Error", data)
    }

    fn not_found(data: &str) -> Self {
        Response::rpc_error(404, rpc_code::NOT_FOUND, "Not found", data)
    }

    /// The serialized body (empty for no body), for hosts writing it out.
    pub fn body_bytes(&self) -> Vec<u8> {
        self.body
            .as_ref()
            .and_then(|b| serde_json::to_vec(b).ok())
            .unwrap_or_default()
    }
}

/// Maps an engine failure to its response.
impl From<Error> for Response {
    fn from(e: Error) -> Self {
        match e {
            Error::Invalid(fields) => Response::invalid(fields),
            Error::NotFound { what } => Response::not_found(&format!("{what} not found")),
            Error::Forbidden { what } => {
                Response::forbidden(&format!("{what} belongs to another operator"))
            }
            Error::Conflict(why) => Response::rpc_error(409, rpc_code::CONFLICT, "Conflict", why),
            // A shared registry's instance that is not in step: try again, or another instance.
            Error::Unavailable(why) => {
                tracing::warn!(why, "api: registry unavailable");
                Response::rpc_error(503, rpc_code::INTERNAL, "Service Unavailable", why)
            }
            other => {
                tracing::error!(error = %other, "api: internal error");
                Response::rpc_error(500, rpc_code::INTERNAL, "Internal error", other.to_string())
            }
        }
    }
}

/// A field-error list with one entry.
fn one_error(path: &str, message: &str) -> FieldErrors {
    let mut e = FieldErrors::default();
    e.push(path, message);
    e
}

/// Parses a request body as JSON (400 when it is not).
fn parse_body(body: &[u8]) -> Result<Value, Response> {
    serde_json::from_slice(body).map_err(|e| {
        Response::invalid(one_error(
            "/",
            &format!(
                "body must be valid JSON ({})",
                e.to_string().replace('`', "'")
            ),
        ))
    })
}

impl Api {
    /// A façade over `engine`.
    pub fn new(engine: Engine) -> Self {
        Api { engine }
    }

    /// The engine behind the façade.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Handles one request of `operator` (`None`: not authenticated → 403): `method` as sent
    /// (`"POST"`), `path` as received (query string and version prefix allowed), `body` the raw
    /// bytes. Never panics; answers 500 only when storage fails.
    pub fn handle(
        &self,
        operator: Option<&Operator>,
        method: &str,
        path: &str,
        body: &[u8],
    ) -> Response {
        let route = match path::route(method, path) {
            Ok(r) => r,
            Err(NoRoute::UnknownPath) => return Response::not_found("unknown path"),
            Err(NoRoute::MethodNotAllowed(allowed)) => {
                return Response::rpc_error(
                    405,
                    rpc_code::METHOD_NOT_FOUND,
                    "Method not found",
                    format!("allowed methods: {allowed}"),
                )
            }
        };
        let Some(op) = operator else {
            return Response::forbidden("an operator is required");
        };
        let too_large = || {
            (body.len() > MAX_BODY_BYTES).then(|| {
                Response::rpc_error(
                    413,
                    rpc_code::INVALID_REQUEST,
                    "Invalid Request",
                    format!("body must not exceed {MAX_BODY_BYTES} bytes"),
                )
            })
        };
        let body_value = || match too_large() {
            Some(r) => Err(r),
            None => parse_body(body),
        };
        let result = match route {
            Route::Find(uuid) => cee::find(&self.engine, op, uuid),
            Route::Delete(uuid) => cee::delete(&self.engine, op, uuid),
            Route::PatchJourney(id) => {
                body_value().and_then(|v| journeys::patch(&self.engine, op, id, &v))
            }
            Route::Import => body_value().and_then(|v| cee::import(&self.engine, op, &v)),
            Route::ImportIdentity => {
                body_value().and_then(|v| cee::import_identity(&self.engine, op, &v))
            }
            Route::ImportStandardized => {
                body_value().and_then(|v| cee::import_standardized(&self.engine, op, &v))
            }
            Route::Simulate => body_value().and_then(|v| cee::simulate(&self.engine, op, &v)),
            Route::Register => body_value().and_then(|v| cee::register(&self.engine, op, &v)),
            Route::CreateJourney => {
                body_value().and_then(|v| journeys::create(&self.engine, op, &v))
            }
            Route::JourneyStatus(id) => journeys::status(&self.engine, op, id),
            Route::CancelJourney(id) => match too_large() {
                Some(r) => Err(r),
                None => journeys::cancel(&self.engine, op, id, body),
            },
        };
        result.unwrap_or_else(|r| r)
    }
}
