//! The tokens file: SHA-256 of each bearer token → operator and role (SPEC §11.4).
//!
//! The server never holds a token in clear: a request's token is hashed and looked up. The
//! file is re-read on SIGHUP; a file that does not parse keeps the tokens in force.

use std::collections::HashMap;
use std::path::Path;

use cee_eligibility::{Operator, Siret};
use hyper::header::{HeaderMap, AUTHORIZATION};
use sha2::{Digest, Sha256};

use crate::Result;

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The routes of SPEC §7, §11.2–§11.3 and the public key.
    #[default]
    Operator,
    /// Also the admin routes and `/metrics`.
    Admin,
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    pub operator: Operator,
    pub role: Role,
}

/// Token hashes → callers.
#[derive(Debug, Default)]
pub struct Tokens(HashMap<[u8; 32], Caller>);

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenEntry {
    token_sha256: String,
    operator_id: u32,
    siret: Siret,
    #[serde(default)]
    role: Role,
}

impl Tokens {
    /// Reads a tokens file:
    /// `[{"token_sha256": "<hex>", "operator_id": 1, "siret": "…", "role": "operator"}]`.
    ///
    /// # Errors
    /// Unreadable file, not that shape, a hash that is not 64 hex characters, a hash listed
    /// twice, an unknown role.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the tokens file {}: {e}", path.display()))?;
        Self::parse(&text).map_err(|e| format!("tokens file {}: {e}", path.display()).into())
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        let entries: Vec<TokenEntry> = serde_json::from_str(text).map_err(|e| {
            format!(
                "{e} (expected [{{\"token_sha256\": \"<64 hex>\", \"operator_id\": 1, \"siret\": \"<14 digits>\", \"role\": \"operator\" | \"admin\"}}])"
            )
        })?;
        let mut map = HashMap::with_capacity(entries.len());
        for (i, e) in entries.into_iter().enumerate() {
            let hash = crate::secret::parse_hex(e.token_sha256.trim())
                .map_err(|why| format!("/{i}/token_sha256: must be 64 hex characters ({why})"))?;
            let caller = Caller {
                operator: Operator::new(e.operator_id, e.siret),
                role: e.role,
            };
            if map.insert(hash, caller).is_some() {
                return Err(format!("/{i}/token_sha256: listed twice"));
            }
        }
        Ok(Tokens(map))
    }

    /// How many tokens are known.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The SIRET known for `operator_id` (any of its tokens).
    pub fn siret_of(&self, operator_id: u32) -> Option<Siret> {
        self.0
            .values()
            .find(|c| c.operator.id == operator_id)
            .map(|c| c.operator.siret)
    }

    /// The caller of the request's bearer token, if known.
    pub fn authenticate(&self, headers: &HeaderMap) -> Option<Caller> {
        let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
        let (scheme, token) = value.trim().split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return None;
        }
        let token = token.trim();
        if token.is_empty() {
            return None;
        }
        let hash: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        self.0.get(&hash).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_file_errors_and_roles() {
        assert!(Tokens::parse("{}").is_err());
        assert!(Tokens::parse(
            r#"[{"token_sha256": "ab", "operator_id": 1, "siret": "89248032800012"}]"#
        )
        .is_err());
        let h = "0".repeat(64);
        let one =
            format!(r#"{{"token_sha256": "{h}", "operator_id": 1, "siret": "89248032800012"}}"#);
        assert_eq!(Tokens::parse(&format!("[{one}]")).map(|t| t.len()), Ok(1));
        assert!(Tokens::parse(&format!("[{one}, {one}]")).is_err());
        let bad_siret = format!(r#"[{{"token_sha256": "{h}", "operator_id": 1, "siret": "123"}}]"#);
        assert!(Tokens::parse(&bad_siret).is_err());
        let extra = format!(
            r#"[{{"token_sha256": "{h}", "operator_id": 1, "siret": "89248032800012", "x": 1}}]"#
        );
        assert!(Tokens::parse(&extra).is_err());
        let bad_role = format!(
            r#"[{{"token_sha256": "{h}", "operator_id": 1, "siret": "89248032800012", "role": "root"}}]"#
        );
        assert!(Tokens::parse(&bad_role).is_err());

        let admin_hash = crate::secret::to_hex(&Sha256::digest(b"adm"));
        let t = Tokens::parse(&format!(
            r#"[{one}, {{"token_sha256": "{admin_hash}", "operator_id": 2, "siret": "89248032800012", "role": "admin"}}]"#
        ))
        .expect("tokens");
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, "Bearer adm".parse().expect("header"));
        let c = t.authenticate(&headers).expect("admin");
        assert_eq!((c.operator.id, c.role), (2, Role::Admin));
        headers.insert(AUTHORIZATION, "Basic adm".parse().expect("header"));
        assert!(t.authenticate(&headers).is_none());
        headers.insert(AUTHORIZATION, "Bearer other".parse().expect("header"));
        assert!(t.authenticate(&headers).is_none());
    }
}
