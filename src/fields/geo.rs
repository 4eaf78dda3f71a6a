//! Journey geography and money: `lat`, `lon`, `distance`, `geo_code`, `incentives`.

use std::fmt;
use std::str::FromStr;

use super::{FieldError, Siret};

/// Longest textual number accepted by the coordinate parsers. `Display` of an `f64` never
/// uses an exponent, so the smallest subnormal prints with 324 zeros: allow that round trip.
const MAX_NUMBER_LEN: usize = 400;

/// Reads any JSON number (unsigned, signed or float) as an `f64`; strings and the rest are
/// type errors. Used through `deserialize_u8`/`deserialize_u32` so that formats that are not
/// self-describing read back exactly what `Serialize` wrote.
struct NumberVisitor(&'static str);

impl serde::de::Visitor<'_> for NumberVisitor {
    type Value = f64;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
    #[expect(clippy::cast_precision_loss, reason = "range-checked by the caller")]
    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<f64, E> {
        Ok(v as f64)
    }
    #[expect(clippy::cast_precision_loss, reason = "range-checked by the caller")]
    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<f64, E> {
        Ok(v as f64)
    }
    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<f64, E> {
        Ok(v)
    }
}

/// A finite, integral `v` in `0..=max`, as an integer.
fn whole(v: f64, max: u32) -> Option<u32> {
    if v.is_finite() && v.fract() == 0.0 && (0.0..=f64::from(max)).contains(&v) {
        // In range and integral: the cast is exact.
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "checked above"
        )]
        Some(v as u32)
    } else {
        None
    }
}

macro_rules! coordinate {
    ($name:ident, $field:literal, $bound:literal, $expected:literal, $doc:literal) => {
        #[doc = $doc]
        ///
        /// `FromStr` accepts plain decimal notation only (no `NaN`, `inf`, hex or empty
        /// string); `Display` prints the shortest decimal that reads back to the same value.
        /// JSON accepts numbers only: strings are rejected.
        #[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
        pub struct $name(f64);

        impl $name {
            /// Validates a number.
            ///
            /// # Errors
            /// When it is NaN, infinite or out of range.
            pub fn new(v: f64) -> Result<Self, FieldError> {
                if v.is_finite() && (-$bound..=$bound).contains(&v) {
                    Ok($name(v))
                } else {
                    Err(FieldError::new($field, $expected))
                }
            }

            /// The value in degrees.
            pub fn get(self) -> f64 {
                self.0
            }
        }

        impl FromStr for $name {
            type Err = FieldError;
            fn from_str(s: &str) -> Result<Self, FieldError> {
                // Only plain decimal notation: no "NaN", "inf", hex or empty strings.
                let plain = s.len() <= MAX_NUMBER_LEN
                    && s.bytes().all(|b| {
                        b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E')
                    })
                    && s.bytes().any(|b| b.is_ascii_digit());
                if !plain {
                    return Err(FieldError::new($field, $expected));
                }
                let v: f64 = s.parse().map_err(|_| FieldError::new($field, $expected))?;
                $name::new(v)
            }
        }

        impl TryFrom<&str> for $name {
            type Error = FieldError;
            fn try_from(s: &str) -> Result<Self, FieldError> {
                s.parse()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_f64(self.0)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let v = d.deserialize_f64(NumberVisitor($expected))?;
                $name::new(v).map_err(serde::de::Error::custom)
            }
        }

        /// Any value in range: either an arbitrary `f64` that is valid, or a 7-decimal
        /// (GPS-like) value.
        #[cfg(feature = "arbitrary")]
        impl<'a> arbitrary::Arbitrary<'a> for $name {
            fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
                let raw = f64::arbitrary(u)?;
                if let Ok(v) = $name::new(raw) {
                    return Ok(v);
                }
                const STEPS: i32 = $bound as i32 * 10_000_000;
                let v = f64::from(u.int_in_range(-STEPS..=STEPS)?) / 10_000_000.0;
                Ok($name(v.clamp(-$bound, $bound)))
            }
        }
    };
}

coordinate!(
    Latitude,
    "lat",
    90.0,
    "must be a number between -90 and 90",
    "`lat`: a finite number of degrees in [-90, 90]."
);
coordinate!(
    Longitude,
    "lon",
    180.0,
    "must be a number between -180 and 180",
    "`lon`: a finite number of degrees in [-180, 180]."
);

/// `distance`: whole metres in `0..=1_000_000` (`42.0` is accepted as 42).
///
/// ```
/// use cee_eligibility::Distance;
/// assert_eq!("42".parse::<Distance>()?.metres(), 42);
/// assert_eq!(Distance::from_f64(42.0)?.metres(), 42);
/// assert!(Distance::from_f64(42.5).is_err());
/// # Ok::<(), cee_eligibility::FieldError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Distance(u32);

const DISTANCE_ERR: FieldError = FieldError::new(
    "distance",
    "must be an integer number of meters between 0 and 1000000",
);

impl Distance {
    /// The largest accepted distance, in metres.
    pub const MAX: u32 = 1_000_000;

    /// Validates a whole number of metres.
    ///
    /// # Errors
    /// Above [`Distance::MAX`].
    pub fn new(metres: u32) -> Result<Self, FieldError> {
        if metres <= Self::MAX {
            Ok(Distance(metres))
        } else {
            Err(DISTANCE_ERR)
        }
    }

    /// Validates a JSON number: finite, integral, in range.
    ///
    /// # Errors
    /// When it is not a whole number in range.
    pub fn from_f64(v: f64) -> Result<Self, FieldError> {
        whole(v, Self::MAX).map(Distance).ok_or(DISTANCE_ERR)
    }

    /// The distance in metres.
    pub fn metres(self) -> u32 {
        self.0
    }
}

impl FromStr for Distance {
    type Err = FieldError;
    /// Decimal digits, optionally followed by a fraction of zeros (`42`, `42.0`).
    fn from_str(s: &str) -> Result<Self, FieldError> {
        let (int, frac) = s.split_once('.').unwrap_or((s, "0"));
        if int.is_empty()
            || int.len() > 7
            || !int.bytes().all(|b| b.is_ascii_digit())
            || frac.is_empty()
            || frac.len() > 9
            || !frac.bytes().all(|b| b == b'0')
        {
            return Err(DISTANCE_ERR);
        }
        Distance::new(int.parse().map_err(|_| DISTANCE_ERR)?)
    }
}

impl TryFrom<&str> for Distance {
    type Error = FieldError;
    fn try_from(s: &str) -> Result<Self, FieldError> {
        s.parse()
    }
}

impl fmt::Display for Distance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl serde::Serialize for Distance {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u32(self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Distance {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = d.deserialize_u32(NumberVisitor("a number of meters"))?;
        Distance::from_f64(v).map_err(serde::de::Error::custom)
    }
}

/// `0..=Distance::MAX` metres.
#[cfg(feature = "arbitrary")]
impl<'a> arbitrary::Arbitrary<'a> for Distance {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(Distance(u.int_in_range(0..=Self::MAX)?))
    }

    fn size_hint(_depth: usize) -> (usize, Option<usize>) {
        (4, Some(4))
    }
}

/// `geo_code`: an INSEE code (5 characters `[0-9][0-9AB][0-9]{3}`); codes starting with `99`
/// denote a foreign country.
///
/// ```
/// use cee_eligibility::GeoCode;
/// assert!(!"2A004".parse::<GeoCode>()?.is_abroad());
/// assert!("99134".parse::<GeoCode>()?.is_abroad());
/// # Ok::<(), cee_eligibility::FieldError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GeoCode(String);

impl GeoCode {
    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Does the code denote a place abroad (`99…`)?
    pub fn is_abroad(&self) -> bool {
        self.0.starts_with("99")
    }
}

impl FromStr for GeoCode {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, FieldError> {
        match s.as_bytes() {
            [a, b, rest @ ..]
                if rest.len() == 3
                    && a.is_ascii_digit()
                    && (b.is_ascii_digit() || matches!(b, b'A' | b'B'))
                    && rest.iter().all(u8::is_ascii_digit) =>
            {
                Ok(GeoCode(s.to_owned()))
            }
            _ => Err(FieldError::new(
                "geo_code",
                "must be a 5-character insee code",
            )),
        }
    }
}

impl fmt::Display for GeoCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

as_ref_str!(GeoCode);
string_serde!(GeoCode, "an insee code");

/// `[0-9][0-9AB][0-9]{3}`.
#[cfg(feature = "arbitrary")]
impl<'a> arbitrary::Arbitrary<'a> for GeoCode {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        let mut s = String::with_capacity(5);
        s.push(char::from(u.int_in_range(b'0'..=b'9')?));
        s.push(char::from(*u.choose(b"0123456789AB")?));
        for _ in 0..3 {
            s.push(char::from(u.int_in_range(b'0'..=b'9')?));
        }
        Ok(GeoCode(s))
    }
}

/// One incentive paid for a journey: `{index: 0..=19, amount: 0..=100000 euro cents, siret}`.
///
/// Deserializing validates each member (`index` may be written `3.0`) and rejects unknown
/// members.
///
/// ```
/// use cee_eligibility::Incentive;
/// let i: Incentive = serde_json::from_str(r#"{"index": 0, "amount": 150, "siret": "89248032800012"}"#)?;
/// assert_eq!((i.index(), i.amount()), (0, 150.0));
/// assert!(serde_json::from_str::<Incentive>(r#"{"index": 20, "amount": 1, "siret": "89248032800012"}"#).is_err());
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Incentive {
    index: u8,
    amount: f64,
    siret: Siret,
}

const INDEX_ERR: FieldError = FieldError::new("index", "must be an integer between 0 and 19");
const AMOUNT_ERR: FieldError = FieldError::new("amount", "must be a number between 0 and 100000");

impl Incentive {
    /// The largest index.
    const MAX_INDEX: u8 = 19;
    /// The largest amount, in euro cents.
    const MAX_AMOUNT: f64 = 100_000.0;

    /// Validates an incentive.
    ///
    /// # Errors
    /// When `index` is above 19 or `amount` is not a finite number in `0..=100000`.
    pub fn new(index: u32, amount: f64, siret: Siret) -> Result<Self, FieldError> {
        let index = u8::try_from(index)
            .ok()
            .filter(|i| *i <= Self::MAX_INDEX)
            .ok_or(INDEX_ERR)?;
        if !(amount.is_finite() && (0.0..=Self::MAX_AMOUNT).contains(&amount)) {
            return Err(AMOUNT_ERR);
        }
        Ok(Incentive {
            index,
            amount,
            siret,
        })
    }

    /// Position of the incentive (0..=19).
    pub fn index(&self) -> u8 {
        self.index
    }

    /// Amount in euro cents.
    pub fn amount(&self) -> f64 {
        self.amount
    }

    /// Who pays it.
    pub fn siret(&self) -> Siret {
        self.siret
    }
}

fn deserialize_index<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let v = d.deserialize_u8(NumberVisitor("an integer between 0 and 19"))?;
    whole(v, u32::from(Incentive::MAX_INDEX)).ok_or_else(|| serde::de::Error::custom(INDEX_ERR))
}

impl<'de> serde::Deserialize<'de> for Incentive {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Raw {
            #[serde(deserialize_with = "deserialize_index")]
            index: u32,
            amount: f64,
            siret: Siret,
        }
        let raw = Raw::deserialize(d)?;
        Incentive::new(raw.index, raw.amount, raw.siret).map_err(serde::de::Error::custom)
    }
}

/// Index `0..=19`, amount a multiple of a quarter cent in `0..=100000`, any siret.
#[cfg(feature = "arbitrary")]
impl<'a> arbitrary::Arbitrary<'a> for Incentive {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        let index = u.int_in_range(0..=Self::MAX_INDEX)?;
        let amount = f64::from(u.int_in_range(0..=400_000u32)?) / 4.0;
        let siret = Siret::arbitrary(u)?;
        Ok(Incentive {
            index,
            amount,
            siret,
        })
    }
}

/// `incentives`: 0 to 20 [`Incentive`]s.
///
/// ```
/// use cee_eligibility::Incentives;
/// let list: Incentives = serde_json::from_str(r#"[{"index": 0, "amount": 150, "siret": "89248032800012"}]"#)?;
/// assert_eq!(list.as_slice().len(), 1);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize)]
#[serde(transparent)]
pub struct Incentives(Vec<Incentive>);

impl Incentives {
    /// At most this many incentives.
    pub const MAX: usize = 20;

    /// Validates the list length.
    ///
    /// # Errors
    /// More than [`Incentives::MAX`] items.
    pub fn new(items: Vec<Incentive>) -> Result<Self, FieldError> {
        if items.len() <= Self::MAX {
            Ok(Incentives(items))
        } else {
            Err(FieldError::new("incentives", "must have at most 20 items"))
        }
    }

    /// The incentives.
    pub fn as_slice(&self) -> &[Incentive] {
        &self.0
    }
}

impl<'de> serde::Deserialize<'de> for Incentives {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let items = Vec::<Incentive>::deserialize(d)?;
        Incentives::new(items).map_err(serde::de::Error::custom)
    }
}

/// 0 to 20 arbitrary incentives.
#[cfg(feature = "arbitrary")]
impl<'a> arbitrary::Arbitrary<'a> for Incentives {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        let n = u.int_in_range(0..=Self::MAX)?;
        let items = (0..n)
            .map(|_| Incentive::arbitrary(u))
            .collect::<arbitrary::Result<Vec<_>>>()?;
        Ok(Incentives(items))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coordinates() {
        for (s, v) in [
            ("0", 0.0),
            ("-90", -90.0),
            ("90", 90.0),
            ("48.8566", 48.8566),
            ("+1e1", 10.0),
        ] {
            assert_eq!(s.parse::<Latitude>().map(Latitude::get), Ok(v), "{s:?}");
        }
        for bad in [
            "", "90.0001", "-91", "NaN", "inf", "-inf", "0x10", "1,5", "abc", "1e400", "-",
        ] {
            assert!(bad.parse::<Latitude>().is_err(), "{bad:?}");
        }
        assert!("180".parse::<Longitude>().is_ok());
        assert!("-180.5".parse::<Longitude>().is_err());
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 90.5] {
            assert!(Latitude::new(bad).is_err());
        }
        // The longest `Display` of an f64 in range still reads back.
        let tiny = Latitude::new(f64::from_bits(1)).map(|l| l.to_string());
        assert_eq!(
            tiny.as_deref().map(str::parse::<Latitude>),
            Ok(Latitude::new(f64::from_bits(1)))
        );
        assert_eq!(
            "91".parse::<Latitude>().map_err(|e| e.to_string()),
            Err("/lat: must be a number between -90 and 90".to_owned())
        );
    }

    #[test]
    fn distance() {
        for (s, m) in [
            ("0", 0),
            ("42", 42),
            ("42.0", 42),
            ("1000000", 1_000_000),
            ("0042", 42),
        ] {
            assert_eq!(s.parse::<Distance>().map(Distance::metres), Ok(m), "{s:?}");
        }
        for bad in [
            "", "-1", "1000001", "42.5", "42.", ".0", "1e3", "99999999", " 1",
        ] {
            assert_eq!(bad.parse::<Distance>(), Err(DISTANCE_ERR), "{bad:?}");
        }
        for bad in [-1.0, 0.5, f64::NAN, f64::INFINITY, 1_000_001.0] {
            assert_eq!(Distance::from_f64(bad), Err(DISTANCE_ERR));
        }
        assert_eq!(Distance::new(1_000_001), Err(DISTANCE_ERR));
    }

    #[test]
    fn geo_code() {
        for ok in ["75056", "2A004", "2B033", "99134", "97411"] {
            assert_eq!(
                ok.parse::<GeoCode>().map(|g| g.to_string()),
                Ok(ok.to_owned())
            );
        }
        for bad in [
            "", "7505", "750560", "2C004", "A2004", "7505a", "é5056", "2A00é",
        ] {
            assert!(bad.parse::<GeoCode>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn incentive() -> Result<(), FieldError> {
        let siret: Siret = "89248032800012".parse()?;
        assert!(Incentive::new(19, 100_000.0, siret).is_ok());
        assert_eq!(Incentive::new(20, 0.0, siret), Err(INDEX_ERR));
        assert_eq!(Incentive::new(u32::MAX, 0.0, siret), Err(INDEX_ERR));
        assert_eq!(Incentive::new(0, -0.5, siret), Err(AMOUNT_ERR));
        assert_eq!(Incentive::new(0, f64::NAN, siret), Err(AMOUNT_ERR));
        assert_eq!(Incentive::new(0, 100_000.5, siret), Err(AMOUNT_ERR));
        let many = vec![Incentive::new(0, 1.0, siret)?; 21];
        assert!(Incentives::new(many).is_err());
        assert!(Incentives::new(Vec::new()).is_ok());
        Ok(())
    }
}
