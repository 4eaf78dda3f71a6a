//! `phone_trunc`: a phone number without its last two digits.
//!
//! # The validity rule
//!
//! A truncated number cannot be checked by itself, so the rule of the public registry is kept:
//! the value is valid when the number with `00` appended is a valid number for its country per
//! libphonenumber's metadata (the `phonenumber` crate, default region FR). Appending `00` is
//! enough for every reference vector of SPEC §9 (`+5906901010`, `+2626931234`, `+32251389`,
//! `+4479111234`… are valid, `+337000001`, `+1415555012`… are not); libphonenumber's number
//! ranges are prefix ranges, so in practice the last two digits never decide validity.
//! A number valid as written for its own country is also accepted where the crate, parsing
//! with region FR, would wrongly strip a French trunk `0` from it (Italian fixed lines,
//! `+39 06…`).
//!
//! # Normalisation
//!
//! Human forms are rewritten before the check: surrounding whitespace is trimmed; spaces
//! (including no-break spaces), tabs, dots and dashes between digits are dropped; a `(0)`
//! after at least one digit is dropped (`+33 (0)6…`); a `00` international prefix becomes `+`;
//! a French national number `0X…` becomes `+33X…`. Anything else (letters, other brackets, a
//! second `+`, a `+0…` country code) is an error. The stored form is the E.164 form that
//! libphonenumber gives back, so every spelling of one number has one canonical form (a
//! national trunk prefix written after the country code, `+33 06…`, is dropped).

use std::fmt;
use std::str::FromStr;

use phonenumber::country;

use super::FieldError;

/// `phone_trunc`: an E.164 phone number with its last two digits removed, canonical form
/// `^\+[0-9]{8,12}$`. `Debug` is redacted.
///
/// Parsing accepts the human forms operators send (spaces, dots, dashes, `(0)`, a `00`
/// international prefix, French national `0X…`) and normalises them. A value is valid only if
/// the number with `00` appended is a valid number for its country (libphonenumber metadata,
/// default region FR), as the public registry checked it.
///
/// ```
/// use cee_eligibility::PhoneTrunc;
/// let p: PhoneTrunc = "06 27 34 88".parse()?;
/// assert_eq!(p.to_string(), "+336273488");
/// assert_eq!("+33 (0)6.27.34.88".parse::<PhoneTrunc>()?, p);
/// assert!("+337000001".parse::<PhoneTrunc>().is_err()); // 07 00… is not allocated
/// # Ok::<(), cee_eligibility::FieldError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PhoneTrunc(String);

const ERR: FieldError = FieldError::new("phone_trunc", "must be a valid truncated phone number");
const FULL_ERR: FieldError = FieldError::new("phone", "must be a valid phone number");

/// Inputs longer than this (in bytes, once trimmed) are rejected before any work.
const MAX_INPUT_LEN: usize = 64;
/// At most this many digits survive normalisation (E.164 allows 15; a trunk `0` may remain
/// after the country code, and two more digits may be appended).
const MAX_DIGITS: usize = 17;
/// Digits (country code included) of a canonical truncated number.
const TRUNC_DIGITS: std::ops::RangeInclusive<usize> = 8..=12;

impl PhoneTrunc {
    /// The canonical form (`+336273488`).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Truncates a full phone number (human forms accepted as for parsing) by removing its
    /// last two digits.
    ///
    /// ```
    /// use cee_eligibility::PhoneTrunc;
    /// let p = PhoneTrunc::from_full_phone("06 27 34 88 01")?;
    /// assert_eq!(p.as_str(), "+336273488");
    /// # Ok::<(), cee_eligibility::FieldError>(())
    /// ```
    ///
    /// # Errors
    /// When the number is not a valid phone number, or when its truncation is not a valid
    /// `phone_trunc` (error on the field `phone`).
    pub fn from_full_phone(phone: &str) -> Result<Self, FieldError> {
        let full = normalise(phone).ok_or(FULL_ERR)?;
        let e164 = valid_e164(&full).ok_or(FULL_ERR)?;
        let trunc = truncate(&e164).ok_or(FULL_ERR)?;
        // The full number is valid; its truncation must also pass the `00` rule, or the
        // stored value would not parse back.
        let checked = trunc.parse::<PhoneTrunc>().map_err(|_| FULL_ERR)?;
        Ok(checked)
    }
}

/// Strips separators and rewrites prefixes into `+digits`. `None` if anything else remains.
fn normalise(input: &str) -> Option<String> {
    let s = input.trim();
    if s.len() > MAX_INPUT_LEN {
        return None;
    }
    let (plus, body) = match s.strip_prefix('+') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let mut digits = String::with_capacity(16);
    let mut chars = body.chars();
    loop {
        let here = chars.as_str();
        if let Some(after) = here.strip_prefix("(0)") {
            // `+33 (0)6…`: the trunk prefix some people write after the country code.
            if digits.is_empty() {
                return None;
            }
            chars = after.chars();
            continue;
        }
        match chars.next() {
            None => break,
            Some(c @ '0'..='9') => {
                if digits.len() == MAX_DIGITS {
                    return None;
                }
                digits.push(c);
            }
            Some(' ' | '.' | '-' | '\t' | '\u{a0}' | '\u{202f}') => {}
            Some(_) => return None,
        }
    }
    let national_or_intl = if plus {
        digits.as_str()
    } else if let Some(rest) = digits.strip_prefix("00") {
        rest
    } else if let Some(rest) = digits.strip_prefix('0') {
        let mut out = String::with_capacity(rest.len() + 3);
        out.push_str("+33");
        out.push_str(rest);
        return Some(out);
    } else {
        return None;
    };
    // E.164 country codes never start with 0 (`+0033…` is a typo we do not guess at).
    if national_or_intl.is_empty() || national_or_intl.starts_with('0') {
        return None;
    }
    let mut out = String::with_capacity(national_or_intl.len() + 1);
    out.push('+');
    out.push_str(national_or_intl);
    Some(out)
}

/// If `+digits` is a valid phone number per libphonenumber's metadata, its E.164 form.
fn valid_e164(full: &str) -> Option<String> {
    match fast_valid_e164(full) {
        Some(answer) => answer,
        None => slow_valid_e164(full),
    }
}

/// The reference path: `phonenumber::parse` (region FR) then `phonenumber::is_valid`.
///
/// One correction: phonenumber 0.3 strips region FR's trunk prefix `0` from *any* national
/// number, even after another country code, so Italian fixed lines (`+39 06…`), valid for
/// their country in libphonenumber, would be refused. A number that the crate finds valid as
/// written for its own country (region from the country code, E.164 unchanged) is accepted.
fn slow_valid_e164(full: &str) -> Option<String> {
    fn e164(number: &phonenumber::PhoneNumber) -> String {
        format!("+{}{}", number.code().value(), number.national())
    }
    if let Ok(number) = phonenumber::parse(Some(country::Id::FR), full) {
        if phonenumber::is_valid(&number) {
            return Some(e164(&number));
        }
    }
    let number = phonenumber::parse(None, full).ok()?;
    let written = e164(&number);
    (phonenumber::is_valid(&number) && written == full).then_some(written)
}

/// [`slow_valid_e164`] computed straight on the metadata; `None` when it cannot tell (the
/// caller then takes the reference path).
///
/// `parse` costs ~2 µs (a nom grammar for every textual form, then national-prefix handling)
/// and `is_valid` from ~1.5 µs (France) to ~10 µs (the UK), mostly in the crate's regex
/// cache: every match locks one global mutex and hashes the pattern's source text (6 kB for
/// British fixed lines) to find the compiled regex, and the cache holds only 100 patterns, so
/// numbers of many countries in a row recompile regexes (~1 ms a number). Our input is
/// already `+digits`, so this replays what `parse` and `is_valid` do with it:
///
/// 1. the country code is the first 1–3 digit prefix that is a known code;
/// 2. region FR's national prefix (`0`) is stripped from the rest, twice (once when looking
///    for a national prefix, once more when parsing), unless that leaves fewer digits than
///    any French number has;
/// 3. the region is picked among those of the code (leading digits, else the first whose
///    patterns match) and the number is valid when one of its number types matches, most
///    likely types first, with the regexes of [`CompiledRegion`].
///
/// Failing that, the number as written is checked the same way (the correction of
/// [`slow_valid_e164`]). The unit tests `fast_path_agrees_*` check both paths agree.
fn fast_valid_e164(full: &str) -> Option<Option<String>> {
    use phonenumber::metadata::DATABASE;

    let digits = full.strip_prefix('+')?;
    if digits.len() <= 2 || digits.starts_with('0') || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let db: &'static phonenumber::metadata::Database = &DATABASE;
    let fr = db.by_id("FR")?;
    if fr.national_prefix_for_parsing().is_some() {
        return None;
    }
    let Some((code, national)) = (1..=3).find_map(|len| {
        let (cc, rest) = digits.split_at_checked(len)?;
        let code: u16 = cc.parse().ok()?;
        db.by_code(&code).map(|_| (code, rest))
    }) else {
        // `parse` fails: no country has this code.
        return Some(None);
    };
    if !(2..=15).contains(&national.len()) {
        return None;
    }
    if national.bytes().all(|b| b == b'0') {
        // `parse` fails to read a national number that is only zeros.
        return Some(None);
    }
    let as_parsed = match fr.national_prefix() {
        Some(prefix) if !prefix.is_empty() && national.starts_with(prefix) => {
            let once = national.get(prefix.len()..)?;
            let twice = once.strip_prefix(prefix).unwrap_or(once);
            if too_short_for(fr, twice.len()) {
                national
            } else {
                twice
            }
        }
        _ => national,
    };
    if as_parsed.len() < 2 || as_parsed.bytes().all(|b| b == b'0') {
        return None;
    }
    if valid_for_code(db, code, as_parsed)? {
        return Some(Some(format!("+{code}{as_parsed}")));
    }
    if as_parsed == national {
        return Some(None);
    }
    // The correction: `parse` without a region, which picks the region from the code and the
    // national number without its leading zeros, then strips that region's national prefix.
    if let Some((meta, _)) = select_region(db, code, national.trim_start_matches('0'))? {
        if meta.national_prefix_for_parsing().is_some() {
            return None;
        }
        if let Some(prefix) = meta.national_prefix().filter(|p| !p.is_empty()) {
            if let Some(once) = national.strip_prefix(prefix) {
                let twice = once.strip_prefix(prefix).unwrap_or(once);
                if !too_short_for(meta, twice.len()) {
                    // Rewritten: not the number as written.
                    return Some(None);
                }
            }
        }
    }
    Some(valid_for_code(db, code, national)?.then(|| full.to_owned()))
}

/// `phonenumber`'s `validator::length(meta, n, Unknown) == TooShort`.
fn too_short_for(meta: &phonenumber::Metadata, len: usize) -> bool {
    let general = meta.descriptors().general();
    let Ok(len) = u16::try_from(len) else {
        return false;
    };
    match general.possible_length().first() {
        Some(&minimum) => len < minimum && !general.possible_local_length().contains(&len),
        None => false,
    }
}

/// `phonenumber::is_valid` of country code `code` and national number `national`; `None` if a
/// region's patterns could not be had.
fn valid_for_code(
    db: &'static phonenumber::metadata::Database,
    code: u16,
    national: &str,
) -> Option<bool> {
    Some(
        select_region(db, code, national)?
            .is_some_and(|(_, compiled)| compiled.has_number_type(national)),
    )
}

/// The region `phonenumber` uses for `national` under country code `code` (its
/// `validator::source_for`): the only one, or the first whose leading digits match, or
/// whose patterns match. `Some(None)` when there is none; `None` if a region's patterns
/// could not be had.
fn select_region(
    db: &'static phonenumber::metadata::Database,
    code: u16,
    national: &str,
) -> Option<Option<(&'static phonenumber::Metadata, &'static CompiledRegion)>> {
    let Some(regions) = db.region(&code) else {
        return Some(None);
    };
    let with_compiled = |meta: &'static phonenumber::Metadata| {
        CompiledRegion::of(meta).map(|compiled| (meta, compiled))
    };
    match regions.as_slice() {
        ["001"] => Some(Some(with_compiled(db.by_code(&code)?.into_iter().next()?)?)),
        [region] => Some(Some(with_compiled(db.by_id(*region)?)?)),
        many => {
            for region in many {
                let (meta, compiled) = with_compiled(db.by_id(*region)?)?;
                let selected = match &compiled.leading_digits {
                    Some(leading) => leading(national),
                    None => compiled.has_number_type(national),
                };
                if selected {
                    return Some(Some((meta, compiled)));
                }
            }
            Some(None)
        }
    }
}

/// "Does this regex match at the start of the text", the way the `phonenumber` crate asks.
type Matcher = Box<dyn Fn(&str) -> bool + Send + Sync>;

/// One number type of one region: `Descriptor::is_match` without the shared cache.
struct CompiledDescriptor {
    possible_lengths: &'static [u16],
    matcher: Matcher,
}

impl CompiledDescriptor {
    fn new(desc: &'static phonenumber::metadata::Descriptor) -> Option<Self> {
        Some(CompiledDescriptor {
            possible_lengths: desc.possible_length(),
            matcher: compile(desc.national_number().as_str())?,
        })
    }

    fn is_match(&self, national: &str) -> bool {
        let length_ok = self.possible_lengths.is_empty()
            || u16::try_from(national.len()).is_ok_and(|n| self.possible_lengths.contains(&n));
        length_ok && (self.matcher)(national)
    }
}

/// The patterns of one region, compiled once per process on first use (a few milliseconds for
/// a region, 3.5 ms on average in release builds; ~0.7 s if a process meets all ~250), then
/// shared by every thread without locking. Memory is bounded by the metadata: one entry per
/// region.
struct CompiledRegion {
    leading_digits: Option<Matcher>,
    general: CompiledDescriptor,
    /// Mobile and fixed line first: they are what operators send.
    types: Vec<CompiledDescriptor>,
}

/// The number-type descriptors of a region (every type but "general"), in libphonenumber's
/// order: what a valid number must match one of.
fn number_types(
    meta: &'static phonenumber::Metadata,
) -> [Option<&'static phonenumber::metadata::Descriptor>; 10] {
    let d = meta.descriptors();
    [
        d.mobile(),
        d.fixed_line(),
        d.toll_free(),
        d.premium_rate(),
        d.shared_cost(),
        d.voip(),
        d.personal_number(),
        d.pager(),
        d.uan(),
        d.voicemail(),
    ]
}

impl CompiledRegion {
    /// The compiled patterns of `meta`; `None` if one could not be had (the caller then uses
    /// the reference path).
    fn of(meta: &'static phonenumber::Metadata) -> Option<&'static CompiledRegion> {
        use std::collections::HashMap;
        use std::sync::OnceLock;

        type Table = HashMap<(&'static str, u16), OnceLock<Option<CompiledRegion>>>;
        static TABLE: OnceLock<Table> = OnceLock::new();
        let table = TABLE.get_or_init(|| {
            phonenumber::metadata::DATABASE
                .iter()
                .map(|m| ((m.id(), m.country_code()), OnceLock::new()))
                .collect()
        });
        table
            .get(&(meta.id(), meta.country_code()))?
            .get_or_init(|| CompiledRegion::compile(meta))
            .as_ref()
    }

    fn compile(meta: &'static phonenumber::Metadata) -> Option<CompiledRegion> {
        let types = number_types(meta);
        Some(CompiledRegion {
            leading_digits: match meta.leading_digits() {
                Some(re) => Some(compile(re.as_str())?),
                None => None,
            },
            general: CompiledDescriptor::new(meta.descriptors().general())?,
            types: types
                .into_iter()
                .flatten()
                .map(CompiledDescriptor::new)
                .collect::<Option<Vec<_>>>()?,
        })
    }

    /// libphonenumber's `number_type(meta, national) != Unknown`.
    fn has_number_type(&self, national: &str) -> bool {
        self.general.is_match(national) && self.types.iter().any(|t| t.is_match(national))
    }
}

/// The very regex the `phonenumber` crate uses for `source`, taken out of its shared cache.
///
/// The crate builds every metadata pattern with `ignore_whitespace(true)` into one LRU cache
/// keyed by source text; asking that cache with the same source and option returns (or
/// builds) an identical regex, whose clone we keep. We never name the `regex` crate: the
/// closure hides its type.
fn compile(source: &str) -> Option<Matcher> {
    let cache = phonenumber::metadata::DATABASE.cache();
    let mut cache = cache.lock().ok()?;
    let regex = cache
        .configure(source, |b| b.ignore_whitespace(true))
        .ok()?
        .clone();
    Some(Box::new(move |text: &str| {
        regex.find(text).is_some_and(|m| m.start() == 0)
    }))
}

/// `+digits` minus its last two digits, if the result has the canonical length.
fn truncate(e164: &str) -> Option<&str> {
    let cut = e164.len().checked_sub(2)?;
    let trunc = e164.get(..cut)?;
    let digits = trunc.strip_prefix('+')?;
    (TRUNC_DIGITS.contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()))
        .then_some(trunc)
}

/// Quick rejection before libphonenumber: `+` and a digit count that can yield a canonical
/// value (one more than canonical: a trunk `0` after the country code is dropped later).
fn plausible(candidate: &str) -> bool {
    candidate
        .strip_prefix('+')
        .is_some_and(|d| (*TRUNC_DIGITS.start()..=TRUNC_DIGITS.end() + 1).contains(&d.len()))
}

impl FromStr for PhoneTrunc {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, FieldError> {
        let mut candidate = normalise(s).ok_or(ERR)?;
        if !plausible(&candidate) {
            return Err(ERR);
        }
        candidate.push_str("00");
        let e164 = valid_e164(&candidate).ok_or(ERR)?;
        // We appended `00`; libphonenumber only ever rewrites the front of a number.
        if !e164.ends_with("00") {
            return Err(ERR);
        }
        let trunc = truncate(&e164).ok_or(ERR)?;
        Ok(PhoneTrunc(trunc.to_owned()))
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

/// Allocated ranges used to make arbitrary valid values: (prefix, random digits to add, a
/// valid example of the same shape).
#[cfg(any(test, feature = "arbitrary"))]
const ARBITRARY_RANGES: [(&str, usize, &str); 8] = [
    ("+336", 6, "+336273488"),
    ("+337", 6, "+337812345"),
    ("+331", 6, "+331234567"),
    ("+5906901", 3, "+5906901010"),
    ("+2626931", 3, "+2626931234"),
    ("+322", 5, "+32251389"),
    ("+447911", 4, "+4479111234"),
    ("+49151", 6, "+49151123456"),
];

/// Valid values only: a random number in one of a few allocated ranges, or a known-valid
/// example when the random digits happen to fall in a hole of the numbering plan.
#[cfg(feature = "arbitrary")]
impl<'a> arbitrary::Arbitrary<'a> for PhoneTrunc {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        let (prefix, n, example) = *u.choose(&ARBITRARY_RANGES)?;
        let mut s = String::with_capacity(prefix.len() + n);
        s.push_str(prefix);
        for _ in 0..n {
            s.push(char::from(b'0' + u.int_in_range(0..=9u8)?));
        }
        // The examples are valid (unit test `arbitrary_ranges_are_valid`).
        Ok(s.parse()
            .or_else(|_| example.parse())
            .unwrap_or_else(|_| PhoneTrunc(example.to_owned())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &[(&str, &str)] = &[
        ("+336273488", "+336273488"),
        ("06273488", "+336273488"),
        ("06 27 34 88", "+336273488"),
        ("+33 6 27 34 88", "+336273488"),
        ("+33.6.27.34.88", "+336273488"),
        ("+33(0)6273488", "+336273488"),
        ("00336273488", "+336273488"),
        ("+336273488 ", "+336273488"),
        ("+331234567", "+331234567"),
        ("+5906901010", "+5906901010"),
        ("+2626931234", "+2626931234"),
        ("+32251389", "+32251389"),
        ("+4479111234", "+4479111234"),
        // own cases
        (" 06-27-34-88\t", "+336273488"),
        ("+33 (0)6 27 34 88", "+336273488"),
        ("0033 6 27 34 88", "+336273488"),
        ("06\u{a0}27\u{a0}34\u{a0}88", "+336273488"),
        ("+33 06 27 34 88", "+336273488"),
        // An Italian fixed line keeps its leading 0 (see `slow_valid_e164`).
        ("+39 06 1234 56", "+3906123456"),
        ("0039 02 1234 5678", "+390212345678"),
    ];

    const INVALID: &[&str] = &[
        "bip",
        "",
        "+33627348",
        "+3362734880",
        "+33627348801",
        "0627348",
        "062734880",
        "+3312345678",
        "+33123456",
        "+33000000",
        "12345678",
        "+590690101",
        "+262693123",
        "+3225138940",
        "+447911123456",
        "+1415555012",
        "+337000001",
        // own cases
        "+",
        "+ ",
        "00",
        "0",
        "(0)6273488",
        "+33(1)6273488",
        "++336273488",
        "+0336273488",
        "+00336273488",
        "33 6 27 34 88",
        "+33 6 27 34 88 x",
        "+33６273488",
        "06 27 34 88 é",
        "+9999999999",
    ];

    #[test]
    fn table() {
        for (input, canonical) in VALID {
            let parsed: Result<PhoneTrunc, _> = input.parse();
            assert_eq!(
                parsed.as_ref().map(PhoneTrunc::as_str),
                Ok(*canonical),
                "{input:?}"
            );
        }
        for input in INVALID {
            assert_eq!(input.parse::<PhoneTrunc>(), Err(ERR), "{input:?}");
        }
    }

    #[test]
    fn long_inputs_are_rejected_cheaply() {
        let long = "0".repeat(10_000);
        assert_eq!(long.parse::<PhoneTrunc>(), Err(ERR));
        let spaced = format!("06273488{}", " ".repeat(100));
        assert!(
            spaced.parse::<PhoneTrunc>().is_ok(),
            "trailing whitespace is trimmed"
        );
    }

    #[test]
    fn from_full_phone_truncates() {
        let p = PhoneTrunc::from_full_phone("+33 6 27 34 88 01");
        assert_eq!(p.as_ref().map(PhoneTrunc::as_str), Ok("+336273488"));
        assert_eq!(PhoneTrunc::from_full_phone("+336273488"), Err(FULL_ERR));
        assert_eq!(PhoneTrunc::from_full_phone("bip"), Err(FULL_ERR));
        assert_eq!(PhoneTrunc::from_full_phone("+33700000100"), Err(FULL_ERR));
        let us = PhoneTrunc::from_full_phone("+1 415 555 0123");
        assert_eq!(us.as_ref().map(PhoneTrunc::as_str), Ok("+141555501"));
    }

    /// Every example number of libphonenumber's metadata, and variations around it.
    fn metadata_examples() -> Vec<String> {
        let db = &*phonenumber::metadata::DATABASE;
        let mut out = Vec::new();
        for meta in db.iter() {
            let all = std::iter::once(Some(meta.descriptors().general()))
                .chain(super::number_types(meta));
            for example in all.flatten().filter_map(|d| d.example()) {
                let full = format!("+{}{example}", meta.country_code());
                let stem = full.get(..full.len() - 2).unwrap_or_default();
                out.push(format!("{stem}00"));
                out.push(format!("{stem}99"));
                out.push(format!("{full}0"));
                // A trunk prefix written after the country code.
                out.push(format!("+{}0{example}", meta.country_code()));
                out.push(format!("+{}00{example}", meta.country_code()));
                let example_stem = example.get(..example.len().saturating_sub(2));
                out.push(format!(
                    "+{}0{}00",
                    meta.country_code(),
                    example_stem.unwrap_or_default()
                ));
                out.push(stem.to_owned());
                out.push(full);
            }
        }
        out
    }

    #[test]
    fn fast_path_agrees_with_phonenumber() {
        let mut fast_used = 0;
        let examples = metadata_examples();
        for full in &examples {
            let slow = slow_valid_e164(full);
            if let Some(fast) = fast_valid_e164(full) {
                fast_used += 1;
                assert_eq!(fast, slow, "{full}");
            }
        }
        assert!(
            fast_used * 10 > examples.len() * 9,
            "{fast_used} / {}",
            examples.len()
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

        #[test]
        fn fast_path_agrees_on_random_numbers(digits in "[1-9][0-9]{2,15}") {
            let full = format!("+{digits}");
            proptest::prop_assert_eq!(valid_e164(&full), slow_valid_e164(&full));
        }

        #[test]
        fn fast_path_agrees_near_examples(
            index in 0usize..10_000,
            tail in "[0-9]{0,4}",
            cut in 0usize..5,
        ) {
            static EXAMPLES: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
            let examples = EXAMPLES.get_or_init(metadata_examples);
            let base = &examples[index % examples.len()];
            let stem = base.get(..base.len().saturating_sub(cut).max(2)).unwrap_or(base);
            let full = format!("{stem}{tail}");
            proptest::prop_assert_eq!(valid_e164(&full), slow_valid_e164(&full));
        }
    }

    #[test]
    fn arbitrary_ranges_are_valid() {
        for (prefix, n, example) in ARBITRARY_RANGES {
            assert_eq!(
                example.parse::<PhoneTrunc>().map(|p| p.0),
                Ok(example.to_owned())
            );
            assert_eq!(example.len(), prefix.len() + n, "{example}");
            assert!(example.starts_with(prefix));
        }
    }

    #[test]
    fn debug_is_redacted() {
        let p: Result<PhoneTrunc, _> = "+336273488".parse();
        assert_eq!(
            p.map(|p| format!("{p:?}")),
            Ok("PhoneTrunc(<redacted>)".to_owned())
        );
    }
}
