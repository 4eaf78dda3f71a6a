use std::fmt;
use std::str::FromStr;

use super::FieldError;

/// `phone_trunc`: an E.164 phone number with its last two digits removed, canonical form
/// `^\+[0-9]{8,12}$`. `Debug` is redacted.
///
/// Parsing accepts the human forms operators send (spaces, dots, dashes, `(0)`, a `00`
/// international prefix, French national `0X…`) and normalises them. A value is valid only if
/// the number with two digits appended is a valid number for its country (libphonenumber
/// metadata, default region FR).
///
/// ```
/// use cee_eligibility::PhoneTrunc;
/// let p: PhoneTrunc = "06 27 34 88".parse()?;
/// assert_eq!(p.to_string(), "+336273488");
/// # Ok::<(), cee_eligibility::FieldError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PhoneTrunc(String);

const ERR: FieldError = FieldError::new("phone_trunc", "must be a valid truncated phone number");

impl PhoneTrunc {
    /// The canonical form (`+336273488`).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Truncates a full phone number (human forms accepted as for parsing) by removing its
    /// last two digits.
    ///
    /// # Errors
    /// When the number is not a valid phone number.
    pub fn from_full_phone(phone: &str) -> Result<Self, FieldError> {
        const FULL: FieldError = FieldError::new("phone", "must be a valid phone number");
        let full = normalise(phone).ok_or(FULL)?;
        if full.len() < 11 || !is_valid_full(&full) {
            return Err(FULL);
        }
        let trunc = &full[..full.len() - 2];
        if !(9..=13).contains(&trunc.len()) {
            return Err(FULL);
        }
        Ok(PhoneTrunc(trunc.to_owned()))
    }
}

/// Strips separators and rewrites prefixes into `+digits`. `None` if anything else remains.
fn normalise(input: &str) -> Option<String> {
    let s = input.trim();
    if s.len() > 64 {
        return None;
    }
    let s = s.replace("(0)", "");
    let mut digits = String::with_capacity(s.len());
    let mut plus = false;
    for (i, c) in s.chars().enumerate() {
        match c {
            '+' if i == 0 => plus = true,
            '0'..='9' => digits.push(c),
            ' ' | '.' | '-' | '\u{a0}' => {}
            _ => return None,
        }
    }
    if plus {
        Some(format!("+{digits}"))
    } else if let Some(rest) = digits.strip_prefix("00") {
        Some(format!("+{rest}"))
    } else {
        digits.strip_prefix('0').map(|rest| format!("+33{rest}"))
    }
}

/// Is `+digits` a valid phone number per libphonenumber's metadata?
fn is_valid_full(full: &str) -> bool {
    match phonenumber::parse(Some(phonenumber::country::Id::FR), full) {
        Ok(number) => phonenumber::is_valid(&number),
        Err(_) => false,
    }
}

impl FromStr for PhoneTrunc {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, FieldError> {
        let canonical = normalise(s).ok_or(ERR)?;
        let digits = &canonical[1..];
        if !(8..=12).contains(&digits.len()) {
            return Err(ERR);
        }
        let mut full = canonical.clone();
        full.push_str("00");
        if is_valid_full(&full) {
            Ok(PhoneTrunc(canonical))
        } else {
            Err(ERR)
        }
    }
}

impl fmt::Display for PhoneTrunc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for PhoneTrunc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PhoneTrunc(<redacted>)")
    }
}

as_ref_str!(PhoneTrunc);
string_serde!(PhoneTrunc, "a truncated phone number");
