//! `identity_key` and the application `uuid`.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};

use super::name::fold_family_name;
use super::FieldError;

const ERR: FieldError = FieldError::new(
    "identity_key",
    "must be 64 lowercase hexadecimal characters",
);
const PHONE_ERR: FieldError = FieldError::new(
    "phone",
    "must be an e164 phone number (+ followed by 8 to 15 digits)",
);
const UUID_ERR: FieldError = FieldError::new("uuid", "must be a valid uuid");

/// Lowercase hexadecimal of `bytes`.
fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

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
    /// (uppercased, accents stripped, hyphens and apostrophes turned into spaces): the SHA-256,
    /// in lowercase hex, of `"{phone_e164}-{FOLDED NAME}"`.
    ///
    /// ```
    /// use cee_eligibility::IdentityKey;
    /// let key = IdentityKey::compute("+33701020304", "D'Hérûg-de-l'Hérault")?;
    /// assert_eq!(key.as_str(), "f44ff5364363e53da750d8b7b44fa3176ea36228c5f951a9c1e606c915093d30");
    /// # Ok::<(), cee_eligibility::FieldError>(())
    /// ```
    ///
    /// The name is folded as in [`LastNameTrunc::from_family_name`](crate::LastNameTrunc::from_family_name)
    /// (surrounding whitespace trimmed, `ß` → `SS`, …) but not truncated.
    ///
    /// # Errors
    /// When `phone_e164` is not `+` followed by 8 to 15 digits, the first not `0` (field
    /// `phone`), or the family name holds a character that cannot be folded to `[A-Z ]`, or no
    /// letter (field `last_name`).
    pub fn compute(phone_e164: &str, family_name: &str) -> Result<Self, FieldError> {
        let e164 = phone_e164.strip_prefix('+').is_some_and(|d| {
            (8..=15).contains(&d.len())
                && !d.starts_with('0')
                && d.bytes().all(|b| b.is_ascii_digit())
        });
        if !e164 {
            return Err(PHONE_ERR);
        }
        let name = fold_family_name(family_name)?;
        let mut hasher = Sha256::new();
        hasher.update(phone_e164.as_bytes());
        hasher.update(b"-");
        hasher.update(name.as_bytes());
        let digest = hasher.finalize();
        Ok(IdentityKey(hex(&digest)))
    }
}

impl FromStr for IdentityKey {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, FieldError> {
        if s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            Ok(IdentityKey(s.to_owned()))
        } else {
            Err(ERR)
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
///
/// Parsing accepts the hyphenated form only (36 characters, any hex case); `Display` is
/// lowercase hyphenated.
///
/// ```
/// use cee_eligibility::ApplicationId;
/// let id: ApplicationId = "9C5A2F1E-0B7D-4E3A-8F6B-1D2C3B4A5E6F".parse()?;
/// assert_eq!(id.to_string(), "9c5a2f1e-0b7d-4e3a-8f6b-1d2c3b4a5e6f");
/// assert!("9c5a2f1e0b7d4e3a8f6b1d2c3b4a5e6f".parse::<ApplicationId>().is_err());
/// # Ok::<(), cee_eligibility::FieldError>(())
/// ```
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
            return Err(UUID_ERR);
        }
        uuid::Uuid::try_parse(s)
            .map(ApplicationId)
            .map_err(|_| UUID_ERR)
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

/// 32 random bytes in hex.
#[cfg(feature = "arbitrary")]
impl<'a> arbitrary::Arbitrary<'a> for IdentityKey {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        let bytes = <[u8; 32]>::arbitrary(u)?;
        Ok(IdentityKey(hex(&bytes)))
    }

    fn size_hint(_depth: usize) -> (usize, Option<usize>) {
        (32, Some(32))
    }
}

/// 16 random bytes (any version bits: parsing accepts every RFC 4122 text form).
#[cfg(feature = "arbitrary")]
impl<'a> arbitrary::Arbitrary<'a> for ApplicationId {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(ApplicationId::from_bytes(<[u8; 16]>::arbitrary(u)?))
    }

    fn size_hint(_depth: usize) -> (usize, Option<usize>) {
        (16, Some(16))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_key_table() {
        for ok in ["0".repeat(64), "a".repeat(64), hex(&[0xab; 32])] {
            assert_eq!(
                ok.parse::<IdentityKey>().map(|k| k.to_string()),
                Ok(ok.clone())
            );
        }
        for bad in [
            "bip".to_owned(),
            "A".repeat(64),
            "g".repeat(64),
            "a".repeat(63),
            "a".repeat(65),
            String::new(),
            format!("{} ", "a".repeat(63)),
            "é".repeat(32),
        ] {
            assert_eq!(bad.parse::<IdentityKey>(), Err(ERR), "{bad:?}");
        }
    }

    #[test]
    fn compute_vector() {
        let key = IdentityKey::compute("+33701020304", "D'Hérûg-de-l'Hérault");
        assert_eq!(
            key.as_ref().map(IdentityKey::as_str),
            Ok("f44ff5364363e53da750d8b7b44fa3176ea36228c5f951a9c1e606c915093d30")
        );
        // The folded name is what is hashed: spellings that fold alike agree.
        assert_eq!(
            IdentityKey::compute("+33701020304", " D’HERUG DE L'HÉRAULT "),
            key
        );
    }

    #[test]
    fn compute_errors() {
        for phone in [
            "",
            "+",
            "0701020304",
            "+3370102030x",
            "+0701020304",
            "+1234567",
            &format!("+{}", "1".repeat(16)),
        ] {
            assert_eq!(
                IdentityKey::compute(phone, "Dupont"),
                Err(PHONE_ERR),
                "{phone:?}"
            );
        }
        assert_eq!(
            IdentityKey::compute("+33701020304", "---"),
            Err(super::super::name::NO_LETTER)
        );
        assert_eq!(
            IdentityKey::compute("+33701020304", "Дмитрий"),
            Err(super::super::name::NOT_LATIN)
        );
    }

    #[test]
    fn uuid_table() {
        let id = "9c5a2f1e-0b7d-4e3a-8f6b-1d2c3b4a5e6f";
        assert_eq!(
            id.parse::<ApplicationId>().map(|i| i.to_string()),
            Ok(id.to_owned())
        );
        for bad in [
            "",
            "bip",
            "9c5a2f1e0b7d4e3a8f6b1d2c3b4a5e6f",
            "{9c5a2f1e-0b7d-4e3a-8f6b-1d2c3b4a5e6f}",
            "urn:uuid:9c5a2f1e-0b7d-4e3a-8f6b-1d2c3b4a5e6f",
            "9c5a2f1e-0b7d-4e3a-8f6b-1d2c3b4a5e6g",
            "9c5a2f1e-0b7d-4e3a-8f6b-1d2c3b4a5e6éé",
        ] {
            assert_eq!(bad.parse::<ApplicationId>(), Err(UUID_ERR), "{bad:?}");
        }
        let random = ApplicationId::new_random();
        assert_eq!(random.to_string().parse(), Ok(random));
        assert_eq!(ApplicationId::from_bytes(*random.as_bytes()), random);
    }
}
