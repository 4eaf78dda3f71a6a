//! `siret`.

use std::fmt;
use std::str::FromStr;

use super::FieldError;

/// `siret`: exactly 14 ASCII digits (French establishment number). No checksum is verified:
/// the public registry did not either.
///
/// ```
/// use cee_eligibility::Siret;
/// let s: Siret = "89248032800012".parse()?;
/// assert_eq!(s.to_string(), "89248032800012");
/// assert!("8924803280001".parse::<Siret>().is_err());
/// # Ok::<(), cee_eligibility::FieldError>(())
/// ```
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

/// 14 random digits.
#[cfg(feature = "arbitrary")]
impl<'a> arbitrary::Arbitrary<'a> for Siret {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        let mut out = [b'0'; 14];
        for d in &mut out {
            *d = u.int_in_range(b'0'..=b'9')?;
        }
        Ok(Siret(out))
    }

    fn size_hint(_depth: usize) -> (usize, Option<usize>) {
        (14, Some(14))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        for ok in ["89248032800012", "00000000000000"] {
            assert_eq!(
                ok.parse::<Siret>().map(|s| s.to_string()),
                Ok(ok.to_owned())
            );
        }
        for bad in [
            "",
            "8924803280001",
            "892480328000123",
            "8924803280001a",
            " 89248032800012",
            "892 480 328 00012",
            "８9248032800012",
        ] {
            assert_eq!(
                bad.parse::<Siret>().map_err(|e| e.to_string()),
                Err("/siret: must be exactly 14 digits".to_owned()),
                "{bad:?}"
            );
        }
    }
}
