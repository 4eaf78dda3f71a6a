//! Boilerplate shared by the field types: `TryFrom<&str>`, serde via `FromStr` / `Display`.

/// Implements `TryFrom<&str>`, `Serialize` (canonical `Display`) and `Deserialize` (validating
/// `FromStr` from a string) for a type that already has `FromStr<Err = FieldError>` and `Display`.
macro_rules! string_serde {
    ($ty:ty, $expecting:literal) => {
        impl TryFrom<&str> for $ty {
            type Error = $crate::fields::FieldError;
            fn try_from(s: &str) -> Result<Self, Self::Error> {
                s.parse()
            }
        }

        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct Visitor;
                impl serde::de::Visitor<'_> for Visitor {
                    type Value = $ty;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str($expecting)
                    }
                    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<$ty, E> {
                        v.parse().map_err(E::custom)
                    }
                }
                deserializer.deserialize_str(Visitor)
            }
        }
    };
}

/// `AsRef<str>` for a newtype whose `.0` is a `String`.
macro_rules! as_ref_str {
    ($ty:ty) => {
        impl AsRef<str> for $ty {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}
