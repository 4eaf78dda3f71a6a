use std::fmt;
use std::str::FromStr;

use unicode_normalization::UnicodeNormalization;

use super::FieldError;

/// `last_name_trunc`: exactly 3 characters of `[A-Z ]`.
///
/// Parsing never rewrites its input; use [`LastNameTrunc::from_family_name`] to derive it from
/// a full family name. `Debug` is redacted.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LastNameTrunc([u8; 3]);

const EXPECTED: &str = "must be 3 characters among uppercase letters A-Z and space";

impl LastNameTrunc {
    /// The three characters.
    pub fn as_str(&self) -> &str {
        // Invariant: only `A-Z` and space are ever stored.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// Derives the truncated name from a family name: uppercase, accents stripped, hyphen and
    /// apostrophe turned into spaces, first 3 characters, right-padded with spaces.
    ///
    /// ```
    /// use cee_eligibility::LastNameTrunc;
    /// assert_eq!(LastNameTrunc::from_family_name("D'Hérûg-de-l'Hérault")?.as_str(), "D H");
    /// assert_eq!(LastNameTrunc::from_family_name("Tô")?.as_str(), "TO ");
    /// # Ok::<(), cee_eligibility::FieldError>(())
    /// ```
    ///
    /// # Errors
    /// When the name yields no letter, or a character that is neither a letter (after accent
    /// stripping), a space, a hyphen nor an apostrophe falls within the first three.
    pub fn from_family_name(name: &str) -> Result<Self, FieldError> {
        let folded = fold_family_name(name).ok_or(FieldError::new(
            "last_name",
            "must contain latin letters only",
        ))?;
        if !folded.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(FieldError::new(
                "last_name",
                "must contain at least one letter",
            ));
        }
        let mut out = [b' '; 3];
        for (slot, b) in out.iter_mut().zip(folded.bytes()) {
            *slot = b;
        }
        Ok(LastNameTrunc(out))
    }
}

/// Uppercase, strip accents, map hyphens/apostrophes to spaces. `None` if a character cannot
/// be represented in `[A-Z ]`. Shared with `IdentityKey::compute`.
pub(crate) fn fold_family_name(name: &str) -> Option<String> {
    let mut out = String::with_capacity(name.len());
    for c in name.nfd() {
        match c {
            'a'..='z' => out.push(c.to_ascii_uppercase()),
            'A'..='Z' | ' ' => out.push(c),
            '-' | '\'' | '\u{2019}' | '\u{2010}' | '\u{2011}' => out.push(' '),
            'ß' => out.push_str("SS"),
            'æ' | 'Æ' => out.push_str("AE"),
            'œ' | 'Œ' => out.push_str("OE"),
            c if unicode_normalization::char::is_combining_mark(c) => {}
            _ => return None,
        }
    }
    Some(out)
}

impl FromStr for LastNameTrunc {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, FieldError> {
        match <[u8; 3]>::try_from(s.as_bytes()) {
            Ok(arr) if arr.iter().all(|b| b.is_ascii_uppercase() || *b == b' ') => {
                Ok(LastNameTrunc(arr))
            }
            _ => Err(FieldError::new("last_name_trunc", EXPECTED)),
        }
    }
}

impl fmt::Display for LastNameTrunc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for LastNameTrunc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LastNameTrunc(<redacted>)")
    }
}

impl AsRef<str> for LastNameTrunc {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

string_serde!(LastNameTrunc, "3 characters among A-Z and space");
