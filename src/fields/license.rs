//! `driving_license`.

use std::fmt;
use std::str::FromStr;

use super::FieldError;

/// `driving_license`: a French licence number (`^[0-9]{12}$`, `^[A-Z0-9]{1,15}[0-9]{4}$`,
/// `^[A-Z0-9]{1,15}$`) or a foreign one (`^99-.{1,61}$`, where `.` is any character but a line
/// terminator); at most 64 characters. Never rewritten. `Debug` is redacted.
///
/// ```
/// use cee_eligibility::DrivingLicense;
/// let l: DrivingLicense = "051227308989".parse()?;
/// assert_eq!(l.as_str(), "051227308989");
/// assert!("99-x b-é".parse::<DrivingLicense>().is_ok());
/// assert!("0512-2730".parse::<DrivingLicense>().is_err());
/// # Ok::<(), cee_eligibility::FieldError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DrivingLicense(String);

const ERR: FieldError =
    FieldError::new("driving_license", "must be a valid driving license number");

/// Longest accepted licence, in characters.
const MAX_CHARS: usize = 64;
/// Longest foreign licence after the `99-` prefix, in characters.
const MAX_FOREIGN_CHARS: usize = 61;

impl DrivingLicense {
    /// The licence number as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A line terminator, the characters a regular expression's `.` does not match.
fn is_line_terminator(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{2028}' | '\u{2029}')
}

fn is_valid(s: &str) -> bool {
    if let Some(rest) = s.strip_prefix("99-") {
        // `rest.len()` bytes ≥ chars: a cheap bound before counting.
        if rest.is_empty() || rest.len() > 4 * MAX_FOREIGN_CHARS {
            return false;
        }
        let n = rest.chars().count();
        return n <= MAX_FOREIGN_CHARS && !rest.chars().any(is_line_terminator);
    }
    // French shapes are ASCII: bytes are characters.
    let b = s.as_bytes();
    if b.len() > MAX_CHARS {
        return false;
    }
    let alnum = |c: &u8| c.is_ascii_uppercase() || c.is_ascii_digit();
    // `^[0-9]{12}$` ⊂ `^[A-Z0-9]{1,15}[0-9]{4}$` (8 + 4), so two shapes remain.
    let plain = (1..=15).contains(&b.len()) && b.iter().all(alnum);
    let with_digits = (5..=19).contains(&b.len())
        && b.len()
            .checked_sub(4)
            .and_then(|cut| b.split_at_checked(cut))
            .is_some_and(|(head, tail)| {
                head.iter().all(alnum) && tail.iter().all(u8::is_ascii_digit)
            });
    plain || with_digits
}

impl FromStr for DrivingLicense {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, FieldError> {
        if is_valid(s) {
            Ok(DrivingLicense(s.to_owned()))
        } else {
            Err(ERR)
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

/// One of the four shapes, with random contents.
#[cfg(feature = "arbitrary")]
impl<'a> arbitrary::Arbitrary<'a> for DrivingLicense {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        const DIGITS: &[u8] = b"0123456789";
        const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        fn push(
            u: &mut arbitrary::Unstructured<'_>,
            s: &mut String,
            alphabet: &[u8],
            n: usize,
        ) -> arbitrary::Result<()> {
            for _ in 0..n {
                s.push(char::from(*u.choose(alphabet)?));
            }
            Ok(())
        }
        let mut s = String::new();
        match u.int_in_range(0..=3u8)? {
            0 => push(u, &mut s, DIGITS, 12)?,
            1 => {
                let n = u.int_in_range(1..=15)?;
                push(u, &mut s, ALNUM, n)?;
                push(u, &mut s, DIGITS, 4)?;
            }
            2 => {
                let n = u.int_in_range(1..=15)?;
                push(u, &mut s, ALNUM, n)?;
            }
            _ => {
                s.push_str("99-");
                let n = u.int_in_range(1..=MAX_FOREIGN_CHARS)?;
                for _ in 0..n {
                    let c = char::arbitrary(u)?;
                    s.push(if is_line_terminator(c) { 'X' } else { c });
                }
            }
        }
        Ok(DrivingLicense(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let foreign_max = format!("99-{}", "é".repeat(61));
        for ok in [
            "051227308989",
            "822146819",
            "123456A",
            "99-X23836",
            "A",
            "ABCDEFGHIJKLMNO",
            "ABCDEFGHIJKLMNO1234",
            "1234567890123456",
            "99-a",
            "99-x b-é",
            // own cases
            "99-\t",
            "99-🚗",
            "99-99-",
            foreign_max.as_str(),
        ] {
            assert_eq!(
                ok.parse::<DrivingLicense>().map(|l| l.to_string()),
                Ok(ok.to_owned())
            );
        }
        let foreign_long = format!("99-{}", "a".repeat(62));
        for bad in [
            "bip",
            "ABCDEFGHIJKLMNOP",
            "ABCDEFGHIJKLMNOP1234",
            "12345678901234567890",
            "051227308989 ",
            "0512-2730",
            "a12345",
            "99-",
            "",
            // own cases
            foreign_long.as_str(),
            "99-a\nb",
            "99-\u{2028}",
            "99_a",
            "É",
            "ABCDEFGHIJKLMNOP123",
        ] {
            assert_eq!(bad.parse::<DrivingLicense>(), Err(ERR), "{bad:?}");
        }
    }
}
