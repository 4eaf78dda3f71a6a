use std::fmt;
use std::str::FromStr;

use super::FieldError;

/// `siret`: exactly 14 ASCII digits (French establishment number).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Siret([u8; 14]);

impl Siret {
    /// The 14 digits.
    pub fn as_str(&self) -> &str {
        // Invariant: only ASCII digits are ever stored.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl FromStr for Siret {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, FieldError> {
        let bytes = s.as_bytes();
        match <[u8; 14]>::try_from(bytes) {
            Ok(arr) if arr.iter().all(u8::is_ascii_digit) => Ok(Siret(arr)),
            _ => Err(FieldError::new("siret", "must be exactly 14 digits")),
        }
    }
}

impl fmt::Display for Siret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Siret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Siret({})", self.as_str())
    }
}

impl AsRef<str> for Siret {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

string_serde!(Siret, "a 14-digit siret");
