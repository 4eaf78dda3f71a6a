use std::fmt;
use std::str::FromStr;

use super::{FieldError, Siret};

macro_rules! coordinate {
    ($name:ident, $field:literal, $bound:literal, $expected:literal, $doc:literal) => {
        #[doc = $doc]
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
                let plain = !s.is_empty()
                    && s.len() <= 64
                    && s.bytes().all(|b| {
                        b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E')
                    })
                    && s.bytes().any(|b| b.is_ascii_digit());
                let v: f64 = if plain {
                    s.parse().map_err(|_| FieldError::new($field, $expected))?
                } else {
                    return Err(FieldError::new($field, $expected));
                };
                $name::new(v)
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
                let v = f64::deserialize(d)?;
                $name::new(v).map_err(serde::de::Error::custom)
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
        if v.is_finite() && v.fract() == 0.0 && (0.0..=f64::from(Self::MAX)).contains(&v) {
            // In range and integral: the cast is exact.
            #[expect(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "checked above"
            )]
            Ok(Distance(v as u32))
        } else {
            Err(DISTANCE_ERR)
        }
    }

    /// The distance in metres.
    pub fn metres(self) -> u32 {
        self.0
    }
}

impl FromStr for Distance {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, FieldError> {
        if s.is_empty() || s.len() > 7 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(DISTANCE_ERR);
        }
        Distance::new(s.parse().map_err(|_| DISTANCE_ERR)?)
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
        let v = f64::deserialize(d)?;
        Distance::from_f64(v).map_err(serde::de::Error::custom)
    }
}

/// `geo_code`: an INSEE code (5 characters `[0-9][0-9AB][0-9]{3}`); codes starting with `99`
/// denote a foreign country.
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
        let b = s.as_bytes();
        if b.len() == 5
            && b[0].is_ascii_digit()
            && (b[1].is_ascii_digit() || matches!(b[1], b'A' | b'B'))
            && b[2..].iter().all(u8::is_ascii_digit)
        {
            Ok(GeoCode(s.to_owned()))
        } else {
            Err(FieldError::new(
                "geo_code",
                "must be a 5-character insee code",
            ))
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

/// One incentive paid for a journey: `{index: 0..=19, amount: 0..=100000 euro cents, siret}`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Incentive {
    index: u8,
    amount: f64,
    siret: Siret,
}

impl Incentive {
    /// Validates an incentive.
    ///
    /// # Errors
    /// When `index` is above 19 or `amount` is not a finite number in `0..=100000`.
    pub fn new(index: u32, amount: f64, siret: Siret) -> Result<Self, FieldError> {
        let index = u8::try_from(index)
            .ok()
            .filter(|i| *i <= 19)
            .ok_or(FieldError::new(
                "index",
                "must be an integer between 0 and 19",
            ))?;
        if !(amount.is_finite() && (0.0..=100_000.0).contains(&amount)) {
            return Err(FieldError::new(
                "amount",
                "must be a number between 0 and 100000",
            ));
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

/// `incentives`: 0 to 20 [`Incentive`]s.
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
