use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};

use super::name::fold_family_name;
use super::FieldError;

/// `identity_key`: 64 lowercase hex characters, the SHA-256 of
/// `"{phone E.164}-{FAMILY NAME}"` (see [`IdentityKey::compute`]). `Debug` is redacted.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IdentityKey(String);

impl IdentityKey {
    /// The 64 hex characters.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Computes the identity key of a person from a full E.164 phone number and a family name
    /// (uppercased, accents stripped, hyphens and apostrophes turned into spaces).
    ///
    /// ```
    /// use cee_eligibility::IdentityKey;
    /// let key = IdentityKey::compute("+33701020304", "D'Hérûg-de-l'Hérault")?;
    /// assert_eq!(key.as_str(), "f44ff5364363e53da750d8b7b44fa3176ea36228c5f951a9c1e606c915093d30");
    /// # Ok::<(), cee_eligibility::FieldError>(())
    /// ```
    ///
    /// # Errors
    /// When `phone_e164` is not `+` followed by 8 to 15 digits, or the family name holds a
    /// character that cannot be folded to `[A-Z ]`, or no letter.
    pub fn compute(phone_e164: &str, family_name: &str) -> Result<Self, FieldError> {
        let digits = phone_e164
            .strip_prefix('+')
            .filter(|d| (8..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()));
        if digits.is_none() {
            return Err(FieldError::new(
                "phone",
                "must be an e164 phone number (+ followed by 8 to 15 digits)",
            ));
        }
        let name = fold_family_name(family_name).ok_or(FieldError::new(
            "last_name",
            "must contain latin letters only",
        ))?;
        if !name.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(FieldError::new(
                "last_name",
                "must contain at least one letter",
            ));
        }
        let mut hasher = Sha256::new();
        hasher.update(phone_e164.as_bytes());
        hasher.update(b"-");
        hasher.update(name.as_bytes());
        let digest = hasher.finalize();
        let mut hex = String::with_capacity(64);
        for b in digest {
            use fmt::Write;
            let _ = write!(hex, "{b:02x}");
        }
        Ok(IdentityKey(hex))
    }
}

impl FromStr for IdentityKey {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, FieldError> {
        if s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            Ok(IdentityKey(s.to_owned()))
        } else {
            Err(FieldError::new(
                "identity_key",
                "must be 64 lowercase hexadecimal characters",
            ))
        }
    }
}

impl fmt::Display for IdentityKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for IdentityKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IdentityKey(<redacted>)")
    }
}

as_ref_str!(IdentityKey);
string_serde!(IdentityKey, "64 lowercase hex characters");

/// The `uuid` of a CEE application (RFC 4122 text form).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ApplicationId(uuid::Uuid);

impl ApplicationId {
    /// A new random (v4) id.
    pub fn new_random() -> Self {
        ApplicationId(uuid::Uuid::new_v4())
    }

    /// From the 16 raw bytes.
    pub const fn from_bytes(bytes: [u8; 16]) -> Self {
        ApplicationId(uuid::Uuid::from_bytes(bytes))
    }

    /// The 16 raw bytes.
    pub fn as_bytes(&self) -> &[u8; 16] {
        self.0.as_bytes()
    }
}

impl FromStr for ApplicationId {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, FieldError> {
        // Accept the hyphenated RFC 4122 form only (36 chars), any hex case.
        if s.len() != 36 {
            return Err(FieldError::new("uuid", "must be a valid uuid"));
        }
        uuid::Uuid::try_parse(s)
            .map(ApplicationId)
            .map_err(|_| FieldError::new("uuid", "must be a valid uuid"))
    }
}

impl fmt::Display for ApplicationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0.hyphenated(), f)
    }
}

impl fmt::Debug for ApplicationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApplicationId({})", self.0.hyphenated())
    }
}

string_serde!(ApplicationId, "a uuid");
