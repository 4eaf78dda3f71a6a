use std::fmt;
use std::str::FromStr;

use super::FieldError;

/// `driving_license`: a French licence number (`^[0-9]{12}$`, `^[A-Z0-9]{1,15}[0-9]{4}$`,
/// `^[A-Z0-9]{1,15}$`) or a foreign one (`^99-.{1,61}$`); at most 64 bytes. `Debug` is redacted.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DrivingLicense(String);

impl DrivingLicense {
    /// The licence number as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn is_valid(s: &str) -> bool {
    if s.len() > 64 {
        return false;
    }
    if let Some(rest) = s.strip_prefix("99-") {
        let n = rest.chars().count();
        // `.` in the reference regex: any character but a line terminator.
        return (1..=61).contains(&n) && !rest.chars().any(|c| matches!(c, '\n' | '\r'));
    }
    let b = s.as_bytes();
    let alnum = |c: &u8| c.is_ascii_uppercase() || c.is_ascii_digit();
    // `^[0-9]{12}$` ⊂ `^[A-Z0-9]{1,15}[0-9]{4}$` (8 + 4), so two shapes remain.
    (1..=15).contains(&b.len()) && b.iter().all(alnum)
        || (5..=19).contains(&b.len())
            && b[..b.len() - 4].iter().all(alnum)
            && b[b.len() - 4..].iter().all(u8::is_ascii_digit)
}

impl FromStr for DrivingLicense {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, FieldError> {
        if is_valid(s) {
            Ok(DrivingLicense(s.to_owned()))
        } else {
            Err(FieldError::new(
                "driving_license",
                "must be a valid driving license number",
            ))
        }
    }
}

impl fmt::Display for DrivingLicense {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for DrivingLicense {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DrivingLicense(<redacted>)")
    }
}

as_ref_str!(DrivingLicense);
string_serde!(DrivingLicense, "a driving license number");
