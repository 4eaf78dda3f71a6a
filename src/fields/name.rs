//! `last_name_trunc`, and the family-name folding shared with `IdentityKey::compute`.

use std::fmt;
use std::str::FromStr;

use unicode_normalization::UnicodeNormalization;

use super::FieldError;

/// `last_name_trunc`: exactly 3 characters of `[A-Z ]`.
///
/// Parsing never rewrites its input (`abc` is an error, not `ABC`); use
/// [`LastNameTrunc::from_family_name`] to derive it from a full family name. `Debug` is
/// redacted.
///
/// ```
/// use cee_eligibility::LastNameTrunc;
/// let n: LastNameTrunc = "D H".parse()?;
/// assert_eq!(n.to_string(), "D H");
/// assert!("abc".parse::<LastNameTrunc>().is_err());
/// # Ok::<(), cee_eligibility::FieldError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LastNameTrunc([u8; 3]);

const ERR: FieldError = FieldError::new(
    "last_name_trunc",
    "must be 3 characters among uppercase letters A-Z and space",
);
pub(crate) const NOT_LATIN: FieldError =
    FieldError::new("last_name", "must contain latin letters only");
pub(crate) const NO_LETTER: FieldError =
    FieldError::new("last_name", "must contain at least one letter");

fn is_trunc_byte(b: u8) -> bool {
    b.is_ascii_uppercase() || b == b' '
}

impl LastNameTrunc {
    /// The three characters.
    pub fn as_str(&self) -> &str {
        // Invariant: only `A-Z` and space are ever stored, so this is always valid UTF-8.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// Derives the truncated name from a family name: surrounding whitespace trimmed,
    /// uppercase, accents stripped, hyphens and apostrophes turned into spaces, first 3
    /// characters, right-padded with spaces.
    ///
    /// Letters without a decomposition are spelt out (`ß` → `SS`, `Æ` → `AE`, `Œ` → `OE`,
    /// `Ø` → `O`, `Ł` → `L`, `Đ`/`Ð` → `D`, `Þ` → `TH`).
    ///
    /// ```
    /// use cee_eligibility::LastNameTrunc;
    /// assert_eq!(LastNameTrunc::from_family_name("D'Hérûg-de-l'Hérault")?.as_str(), "D H");
    /// assert_eq!(LastNameTrunc::from_family_name("Tô")?.as_str(), "TO ");
    /// assert!(LastNameTrunc::from_family_name("--").is_err());
    /// # Ok::<(), cee_eligibility::FieldError>(())
    /// ```
    ///
    /// # Errors
    /// When the name yields no letter, or holds a character anywhere that is neither a latin
    /// letter (after accent stripping), a space, a hyphen nor an apostrophe (the same rule as
    /// [`IdentityKey::compute`](crate::IdentityKey::compute)); errors name the field
    /// `last_name`.
    pub fn from_family_name(name: &str) -> Result<Self, FieldError> {
        let folded = fold_family_name(name)?;
        let mut out = [b' '; 3];
        for (slot, b) in out.iter_mut().zip(folded.bytes()) {
            *slot = b;
        }
        Ok(LastNameTrunc(out))
    }
}

/// Folds a family name to `[A-Z ]+`: trims surrounding whitespace, uppercases, strips accents,
/// maps hyphens/apostrophes to spaces. Errors if a character cannot be represented or if no
/// letter remains. Shared with `IdentityKey::compute`.
pub(crate) fn fold_family_name(name: &str) -> Result<String, FieldError> {
    let name = name.trim();
    let mut out = String::with_capacity(name.len());
    for c in name.nfd() {
        match c {
            'a'..='z' => out.push(c.to_ascii_uppercase()),
            'A'..='Z' | ' ' => out.push(c),
            // Hyphens and apostrophes, typographic ones included.
            '-' | '\'' | '\u{2018}' | '\u{2019}' | '\u{02bc}' | '\u{2010}' | '\u{2011}'
            | '\u{2013}' => out.push(' '),
            '\u{a0}' => out.push(' '),
            'ß' | 'ẞ' => out.push_str("SS"),
            'æ' | 'Æ' => out.push_str("AE"),
            'œ' | 'Œ' => out.push_str("OE"),
            'ø' | 'Ø' => out.push('O'),
            'ł' | 'Ł' => out.push('L'),
            'đ' | 'Đ' | 'ð' | 'Ð' => out.push('D'),
            'þ' | 'Þ' => out.push_str("TH"),
            'ı' => out.push('I'),
            c if unicode_normalization::char::is_combining_mark(c) => {}
            _ => return Err(NOT_LATIN),
        }
    }
    if !out.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(NO_LETTER);
    }
    Ok(out)
}

impl FromStr for LastNameTrunc {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, FieldError> {
        match <[u8; 3]>::try_from(s.as_bytes()) {
            Ok(arr) if arr.iter().all(|b| is_trunc_byte(*b)) => Ok(LastNameTrunc(arr)),
            _ => Err(ERR),
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

/// Three characters of `[A-Z ]`.
#[cfg(feature = "arbitrary")]
impl<'a> arbitrary::Arbitrary<'a> for LastNameTrunc {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        const ALPHABET: &[u8; 27] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ ";
        let mut out = [b' '; 3];
        for slot in &mut out {
            *slot = *u.choose(ALPHABET)?;
        }
        Ok(LastNameTrunc(out))
    }

    fn size_hint(_depth: usize) -> (usize, Option<usize>) {
        (3, Some(3))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_table() {
        for ok in ["ABC", "D H", "TO ", "   ", " AB"] {
            assert_eq!(
                ok.parse::<LastNameTrunc>().map(|n| n.to_string()),
                Ok(ok.to_owned())
            );
        }
        for bad in [
            "abcd", "abc", "ab ", "AB", "ABCD", "AÉC", "A-C", "A'C", "AB1", "", "É", "ÉA", "AB\n",
            "A\u{0}C",
        ] {
            assert_eq!(bad.parse::<LastNameTrunc>(), Err(ERR), "{bad:?}");
        }
    }

    #[test]
    fn family_name_table() {
        for (name, trunc) in [
            ("D'Hérûg-de-l'Hérault", "D H"),
            ("Tô", "TO "),
            ("dupont", "DUP"),
            ("  Li  ", "LI "),
            ("O’Neil", "O N"),
            ("Æsir", "AES"),
            ("Øst", "OST"),
            ("Łukasz", "LUK"),
            ("ßa", "SSA"),
            ("Noël", "NOE"),
            ("Ÿ", "Y  "),
            ("- A", "  A"),
        ] {
            let got = LastNameTrunc::from_family_name(name).map(|n| n.to_string());
            assert_eq!(got.as_deref(), Ok(trunc), "{name:?}");
        }
        for (name, err) in [
            ("", NO_LETTER),
            ("   ", NO_LETTER),
            ("-'-", NO_LETTER),
            ("Dupont2", NOT_LATIN),
            ("Дмитрий", NOT_LATIN),
            ("王", NOT_LATIN),
            ("A\u{0}", NOT_LATIN),
            ("Dupont (née Martin)", NOT_LATIN),
        ] {
            assert_eq!(LastNameTrunc::from_family_name(name), Err(err), "{name:?}");
        }
    }

    #[test]
    fn debug_is_redacted() {
        assert_eq!(
            "ABC".parse::<LastNameTrunc>().map(|n| format!("{n:?}")),
            Ok("LastNameTrunc(<redacted>)".to_owned())
        );
    }
}
