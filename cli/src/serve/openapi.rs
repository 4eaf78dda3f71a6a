//! `GET /openapi.json`: an OpenAPI 3.1 document generated from the route table, so every
//! route the server answers is described; a test checks the façade has no route the table
//! lacks.

use serde_json::{json, Map, Value};

use super::routes::{Access, Kind, ROUTES};

fn rpc(description: &str) -> Value {
    json!({
        "description": description,
        "content": { "application/json": { "schema": { "$ref": "#/components/schemas/RpcError" } } }
    })
}

fn schemas() -> Value {
    let string = json!({ "type": "string" });
    json!({
        "Any": {},
        "Text": { "type": "string" },
        "RpcError": {
            "type": "object",
            "required": ["id", "jsonrpc", "error"],
            "properties": {
                "id": { "type": "integer" },
                "jsonrpc": { "const": "2.0" },
                "error": {
                    "type": "object",
                    "required": ["code", "message"],
                    "properties": {
                        "code": { "type": "integer" },
                        "message": string,
                        "data": {}
                    }
                }
            }
        },
        "Health": {
            "type": "object",
            "required": ["status"],
            "properties": { "status": string }
        },
        "ImportRows": {
            "type": "array",
            "minItems": 1,
            "maxItems": 1000,
            "items": {
                "type": "object",
                "properties": {
                    "journey_type": { "enum": ["short", "long"] },
                    "phone_trunc": { "type": "string", "examples": ["+336273488"] },
                    "last_name_trunc": { "type": "string", "pattern": "^[A-Z ]{3}$" },
                    "datetime": { "type": "string", "format": "date-time" },
                    "identity_key": { "type": "string", "pattern": "^[a-f0-9]{64}$" }
                }
            }
        },
        "StandardizedRows": {
            "type": "array",
            "minItems": 1,
            "maxItems": 1000,
            "items": {
                "type": "object",
                "additionalProperties": false,
                "required": ["journey_type", "datetime", "last_name_trunc", "phone_trunc", "driving_license"],
                "properties": {
                    "journey_type": { "enum": ["short", "long"] },
                    "datetime": { "type": "string", "format": "date-time" },
                    "last_name_trunc": { "type": "string", "pattern": "^[A-Z ]{3}$" },
                    "phone_trunc": { "type": "string", "examples": ["+336273488"] },
                    "driving_license": { "type": "string", "maxLength": 64, "examples": ["051227308989"] },
                    "identity_key": { "type": ["string", "null"], "pattern": "^[a-f0-9]{64}$" },
                    "uuid": { "type": ["string", "null"], "format": "uuid" },
                    "application_timestamp": { "type": ["string", "null"], "format": "date-time" },
                    "operator_journey_id": { "type": ["string", "null"], "examples": ["trip-2024-0042"] },
                    "token": { "type": ["string", "null"] }
                }
            }
        },
        "ImportReport": {
            "type": "object",
            "required": ["imported", "failed", "failed_details"],
            "properties": {
                "imported": { "type": "integer", "minimum": 0 },
                "failed": { "type": "integer", "minimum": 0 },
                "failed_details": { "type": "array" }
            }
        },
        "SimulateRequest": {
            "type": "object",
            "additionalProperties": false,
            "required": ["journey_type", "phone_trunc", "last_name_trunc"],
            "properties": {
                "journey_type": { "enum": ["short", "long"] },
                "phone_trunc": { "type": "string", "examples": ["+336273488"] },
                "last_name_trunc": { "type": "string", "pattern": "^[A-Z ]{3}$" },
                "driving_license": { "type": "string", "maxLength": 64, "examples": ["051227308989"] },
                "identity_key": { "type": "string", "pattern": "^[a-f0-9]{64}$" }
            }
        },
        "RegisterRequest": {
            "type": "object",
            "additionalProperties": false,
            "required": ["journey_type", "last_name_trunc", "driving_license", "application_timestamp"],
            "properties": {
                "journey_type": { "enum": ["short", "long"] },
                "operator_journey_id": { "type": "string", "minLength": 1, "maxLength": 256 },
                "phone_trunc": { "type": "string", "examples": ["+336273488"] },
                "last_name_trunc": { "type": "string", "pattern": "^[A-Z ]{3}$" },
                "driving_license": { "type": "string", "maxLength": 64, "examples": ["051227308989"] },
                "identity_key": { "type": "string", "pattern": "^[a-f0-9]{64}$" },
                "datetime": { "type": "string", "format": "date-time" },
                "application_timestamp": { "type": "string", "format": "date-time" }
            }
        },
        "Conflict": {
            "type": "object",
            "required": ["datetime"],
            "properties": { "uuid": string, "datetime": string, "journey_id": {}, "status": {}, "reason": string }
        },
        "Registered": {
            "type": "object",
            "required": ["uuid", "datetime", "token"],
            "properties": { "uuid": string, "datetime": string, "token": string, "journey_id": {}, "status": {} }
        },
        "Application": {
            "type": "object",
            "required": ["uuid", "datetime"],
            "properties": { "uuid": string, "datetime": string, "journey_id": {}, "status": {}, "token": {} }
        },
        "Backup": {
            "type": "object",
            "required": ["path"],
            "properties": { "path": string }
        },
        "PurgeReport": {
            "type": "object",
            "required": ["dry_run", "segments_dropped", "segments_rewritten", "rows_removed", "records_removed",
                         "tombstones_scrubbed", "journeys_removed", "journal_removed", "index_entries_removed",
                         "horizon", "bytes_before", "bytes_after"],
            "properties": {
                "dry_run": { "type": "boolean" },
                "segments_dropped": { "type": "integer", "minimum": 0 },
                "segments_rewritten": { "type": "integer", "minimum": 0 },
                "rows_removed": { "type": "integer", "minimum": 0 },
                "records_removed": { "type": "integer", "minimum": 0 },
                "tombstones_scrubbed": { "type": "integer", "minimum": 0 },
                "journeys_removed": { "type": "integer", "minimum": 0 },
                "journal_removed": { "type": "integer", "minimum": 0 },
                "index_entries_removed": { "type": "integer", "minimum": 0 },
                "horizon": string,
                "bytes_before": { "type": "integer", "minimum": 0 },
                "bytes_after": { "type": "integer", "minimum": 0 }
            }
        },
        "JourneyState": {
            "type": "object",
            "required": ["operator_journey_id", "status"],
            "properties": { "operator_journey_id": string, "status": string }
        },
        "JourneyId": {
            "type": "object",
            "required": ["operator_journey_id"],
            "properties": { "operator_journey_id": string }
        },
        "PublicKey": {
            "type": "object",
            "required": ["algorithm", "public_key_pem"],
            "properties": {
                "algorithm": { "enum": ["ed25519", "rsa-pkcs1v15-sha512"] },
                "public_key_pem": string
            }
        },
        "JourneyStatus": {
            "type": "object",
            "required": ["status"],
            "properties": {
                "status": { "enum": ["pending", "ok", "acquisition_error", "fraud_error", "anomaly_error", "canceled"] }
            }
        },
        "JourneyStatusSet": {
            "type": "object",
            "required": ["operator_id", "operator_journey_id", "status"],
            "properties": { "operator_id": { "type": "integer" }, "operator_journey_id": string, "status": string }
        },
        "Journal": journal_schema(),
        "Stats": { "type": "object" }
    })
}

/// `GET /admin/journal`: entries of both journals, told apart by `journal`.
fn journal_schema() -> Value {
    let string = json!({ "type": "string" });
    let error = json!({
        "type": "object",
        "description": "A register refusal (the error journal)",
        "required": ["seq", "journal", "kind", "operator_id", "journey_type", "at"],
        "properties": {
            "seq": { "type": "integer" },
            "journal": { "const": "error" },
            "kind": { "enum": ["date", "not_found", "conflict"] },
            "operator_id": { "type": "integer" },
            "journey_type": string,
            "at": string,
            "application": { "type": ["string", "null"] }
        }
    });
    let audit = json!({
        "type": "object",
        "description": "A committed write (the audit journal): registered and deleted name their application (`uuid`, `journey_type`), imported its segment, identity_imported and standardized_imported the uuids written",
        "required": ["seq", "journal", "action", "operator_id", "at", "rows", "uuids"],
        "properties": {
            "seq": { "type": "integer" },
            "journal": { "const": "audit" },
            "action": { "enum": ["registered", "deleted", "imported", "identity_imported", "standardized_imported"] },
            "operator_id": { "type": "integer" },
            "at": string,
            "rows": { "type": "integer", "minimum": 1 },
            "uuids": { "type": "array", "items": string },
            "uuid": string,
            "journey_type": string,
            "segment": { "type": "integer", "minimum": 0 }
        }
    });
    json!({
        "type": "object",
        "required": ["entries", "last"],
        "properties": {
            "entries": { "type": "array", "items": { "oneOf": [error, audit] } },
            "last": { "type": "integer" }
        }
    })
}

fn param(name: &str) -> Value {
    let schema = if name == "operator_id" {
        json!({ "type": "integer", "minimum": 0, "maximum": 4_294_967_295_u64 })
    } else {
        json!({ "type": "string", "minLength": 1 })
    };
    json!({ "name": name, "in": "path", "required": true, "schema": schema })
}

/// The document.
pub fn document() -> Value {
    let mut paths = Map::new();
    for r in ROUTES {
        let mut responses = Map::new();
        for &(status, schema, description) in r.answers {
            let mut resp = json!({ "description": description });
            if let Some(s) = schema {
                let media = if s == "Text" {
                    "application/openmetrics-text"
                } else {
                    "application/json"
                };
                resp["content"] =
                    json!({ media: { "schema": { "$ref": format!("#/components/schemas/{s}") } } });
            }
            responses.insert(status.to_string(), resp);
        }
        let mut add = |status: u16, description: &str| {
            responses
                .entry(status.to_string())
                .or_insert_with(|| rpc(description));
        };
        if r.access != Access::Public {
            add(401, "No known bearer token");
            add(
                403,
                "Not allowed for this token (admin route, another operator's record)",
            );
            add(
                429,
                "Rate limit exceeded (Retry-After gives the seconds to wait)",
            );
        }
        if r.body.is_some() {
            add(408, "The body was not received in time");
            add(413, "The body exceeds 2 MiB");
            add(400, "Invalid body");
        }
        if let Kind::Facade {
            switch: Some(_), ..
        } = r.kind
        {
            add(405, "This service is disabled");
        }
        let mut op = json!({
            "operationId": format!("{} {}", r.method, r.template),
            "summary": r.summary,
            "responses": responses,
        });
        if r.access == Access::Public {
            op["security"] = json!([]);
        }
        let mut parameters: Vec<Value> = r
            .template
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(param)
            .collect();
        for (name, description) in r.query {
            parameters.push(json!({
                "name": name, "in": "query", "required": false, "description": description,
                "schema": { "type": "integer", "minimum": 0 }
            }));
        }
        if !parameters.is_empty() {
            op["parameters"] = Value::Array(parameters);
        }
        if let Some(b) = r.body {
            op["requestBody"] = json!({
                "required": true,
                "content": { "application/json": { "schema": { "$ref": format!("#/components/schemas/{b}") } } }
            });
        }
        let entry = paths
            .entry(r.template.to_owned())
            .or_insert_with(|| json!({}));
        entry[r.method.to_ascii_lowercase()] = op;
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "cee serve",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "CEE carpooling eligibility registry (SPEC §7, §11). Paths may carry a version prefix (/v3, /v3.3). Errors use the JSON-RPC envelope."
        },
        "paths": paths,
        "components": {
            "schemas": schemas(),
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer" } }
        },
        "security": [ { "bearer": [] } ]
    })
}

#[cfg(test)]
mod tests {
    use super::super::routes::{resolve, Resolved};
    use super::*;
    use cee_eligibility::api::Api;
    use cee_eligibility::{Config, Engine, Operator};

    #[test]
    fn every_route_is_described() {
        let doc = document();
        for r in ROUTES {
            let op = &doc["paths"][r.template][r.method.to_ascii_lowercase()];
            assert!(
                op["responses"].is_object(),
                "{} {} undescribed",
                r.method,
                r.template
            );
            for (s, schema, _) in r.answers {
                assert!(op["responses"][s.to_string()].is_object());
                if let Some(name) = schema {
                    assert!(doc["components"]["schemas"][name].is_object(), "{name}");
                }
            }
            if r.body.is_some() {
                assert!(op["requestBody"].is_object());
            }
        }
    }

    /// Every route the façade answers (probed on the paths of SPEC §7 and §11.2–§11.3) must be
    /// a route of the server, hence described: a new façade route fails here until the table
    /// (and so the document) has it.
    #[test]
    fn the_facade_has_no_route_the_table_lacks() -> Result<(), Box<dyn std::error::Error>> {
        let api = Api::new(Engine::open(Config::temporary())?);
        let op = Operator::new(1, "89248032800012".parse()?);
        let paths = [
            "/policies/cee",
            "/policies/cee/import",
            "/policies/cee/import/identity",
            "/policies/cee/import/standardized",
            "/policies/cee/simulate",
            "/policies/cee/1e5c8f5e-3b4e-4b8a-9c1d-2f3a4b5c6d7e",
            "/policies/cee/public-key",
            "/journeys",
            "/journeys/j1",
            "/journeys/j1/cancel",
            "/journeys/j1/status",
        ];
        for path in paths {
            for method in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
                let r = api.handle(Some(&op), method, path, b"{}");
                let unknown = r.status == 404
                    && r.body
                        .as_ref()
                        .is_some_and(|b| b["error"]["data"] == "unknown path");
                // The server's own `/policies/cee/public-key` shadows `{uuid}` ("public-key" is
                // not a uuid, so the façade could only answer 400 or 404 there).
                if unknown || r.status == 405 || path == "/policies/cee/public-key" {
                    continue;
                }
                match resolve(method, path) {
                    Resolved::Found(route) => assert!(
                        matches!(route.kind, Kind::Facade { .. }),
                        "{method} {path}: the façade answers it but the server routes it elsewhere"
                    ),
                    _ => panic!("{method} {path}: the façade answers {} but the server has no such route (add it to routes::ROUTES)", r.status),
                }
            }
        }
        Ok(())
    }
}
