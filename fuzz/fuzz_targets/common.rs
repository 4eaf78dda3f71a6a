//! Checks shared by the field targets.

use std::fmt::{Debug, Display};
use std::str::FromStr;

use arbitrary::{Arbitrary, Unstructured};

/// Parsing `s` must not panic; a value that parses prints a canonical form that parses back
/// to the same value, and printing is idempotent.
pub fn round_trip<T>(s: &str)
where
    T: FromStr + Display + PartialEq + Debug,
{
    if let Ok(value) = s.parse::<T>() {
        check_value(&value);
    }
}

/// `value`'s canonical form parses back to `value`, and is its own canonical form.
pub fn check_value<T>(value: &T)
where
    T: FromStr + Display + PartialEq + Debug,
{
    let shown = value.to_string();
    let back = shown.parse::<T>();
    assert!(
        back.as_ref().is_ok_and(|b| b == value),
        "canonical form {shown:?} does not parse back"
    );
    if let Ok(back) = back {
        assert_eq!(back.to_string(), shown, "display is not idempotent");
    }
}

/// An `Arbitrary` value is valid: its canonical form parses back to it.
pub fn arbitrary_round_trip<'a, T>(u: &mut Unstructured<'a>)
where
    T: Arbitrary<'a> + FromStr + Display + PartialEq + Debug,
{
    if let Ok(value) = T::arbitrary(u) {
        check_value(&value);
    }
}
