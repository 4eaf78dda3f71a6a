//! Pseudonyms computed exactly as `cee_eligibility`'s `identity.rs` does: keyed BLAKE3 under
//! a key derived from the secret, over a kind tag and length-prefixed fields, truncated to 16
//! bytes. The baselines pay the same hashing cost as the engine and store the same bytes.

use cee_eligibility::{DrivingLicense, IdentityKey, LastNameTrunc, PhoneTrunc, SimulateRequest};

/// Must match the engine's context string for the stored pseudonyms to be identical.
const CTX_PSEUDONYM: &str = "cee-eligibility 2026-11-23 identity pseudonyms v1";

/// Identifier kinds (first byte of an index key).
pub const NAME_PHONE: u8 = 1;
/// Driving licence.
pub const LICENSE: u8 = 2;
/// Identity key.
pub const IDENTITY_KEY: u8 = 3;

/// Computes pseudonyms under one secret.
#[derive(Clone)]
pub struct Pseudonymizer {
    key: [u8; 32],
}

impl std::fmt::Debug for Pseudonymizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pseudonymizer(<secret>)")
    }
}

/// Up to three `(kind, pseudonym)` pairs: the identifiers of one request.
#[derive(Debug, Clone, Copy)]
pub struct Ids {
    items: [(u8, [u8; 16]); 3],
    len: usize,
}

impl Ids {
    /// The pairs.
    pub fn as_slice(&self) -> &[(u8, [u8; 16])] {
        &self.items[..self.len]
    }
}

impl Pseudonymizer {
    /// The pseudonymizer of `secret`.
    pub fn new(secret: &[u8; 32]) -> Self {
        Pseudonymizer {
            key: blake3::derive_key(CTX_PSEUDONYM, secret),
        }
    }

    /// As the engine: the message in a stack buffer, one `keyed_hash` call; streamed only
    /// when it does not fit (same bytes, same output).
    fn hash(&self, kind: u8, fields: &[&[u8]]) -> [u8; 16] {
        let mut buf = [0u8; 256];
        let mut n = 1;
        buf[0] = kind;
        let fits = fields.iter().all(|f| {
            let end = n + 4 + f.len();
            if end > buf.len() {
                return false;
            }
            let len = u32::try_from(f.len()).unwrap_or(u32::MAX);
            buf[n..n + 4].copy_from_slice(&len.to_le_bytes());
            buf[n + 4..end].copy_from_slice(f);
            n = end;
            true
        });
        let out = if fits {
            blake3::keyed_hash(&self.key, &buf[..n])
        } else {
            let mut h = blake3::Hasher::new_keyed(&self.key);
            h.update(&[kind]);
            for f in fields {
                h.update(&u32::try_from(f.len()).unwrap_or(u32::MAX).to_le_bytes());
                h.update(f);
            }
            h.finalize()
        };
        let mut p = [0u8; 16];
        p.copy_from_slice(&out.as_bytes()[..16]);
        p
    }

    /// (phone, name) pseudonym.
    pub fn name_phone(&self, phone: &PhoneTrunc, name: &LastNameTrunc) -> [u8; 16] {
        self.hash(
            NAME_PHONE,
            &[phone.as_str().as_bytes(), name.as_str().as_bytes()],
        )
    }

    /// Licence pseudonym.
    pub fn license(&self, dl: &DrivingLicense) -> [u8; 16] {
        self.hash(LICENSE, &[dl.as_str().as_bytes()])
    }

    /// Identity-key pseudonym.
    pub fn identity_key(&self, ik: &IdentityKey) -> [u8; 16] {
        self.hash(IDENTITY_KEY, &[ik.as_str().as_bytes()])
    }

    /// The identifiers of a simulation: name+phone, then licence and identity key if given.
    pub fn request(&self, req: &SimulateRequest) -> Ids {
        let mut ids = Ids {
            items: [(0, [0; 16]); 3],
            len: 1,
        };
        ids.items[0] = (
            NAME_PHONE,
            self.name_phone(&req.phone_trunc, &req.last_name_trunc),
        );
        if let Some(dl) = &req.driving_license {
            ids.items[ids.len] = (LICENSE, self.license(dl));
            ids.len += 1;
        }
        if let Some(ik) = &req.identity_key {
            ids.items[ids.len] = (IDENTITY_KEY, self.identity_key(ik));
            ids.len += 1;
        }
        ids
    }
}
