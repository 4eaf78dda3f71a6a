//! Reading request bodies: closed JSON objects, every field error collected with its path.
//!
//! Fields are read in the order a handler asks for them (the order of the public registry's
//! schemas), so errors come out in a stable order; unknown properties are reported last, sorted
//! by name. A handler asks for every field it knows, then calls [`Obj::finish`]. Required
//! getters push an error whenever they return `None`, so "some required field is `None`"
//! implies "`errors` is not empty". A known field set to `null` counts as absent (clients that
//! serialize an empty `Option` as `null` are common); an unknown one is still unknown.

use std::str::FromStr;

use serde_json::{Map, Value};

use crate::error::FieldErrors;
use crate::fields::FieldError;

/// A JSON object being read, with the keys asked for so far.
pub(super) struct Obj<'a> {
    map: &'a Map<String, Value>,
    path: String,
    known: Vec<&'static str>,
}

/// Escapes a key for a JSON-pointer-like path (`~` → `~0`, `/` → `~1`), shortening very long
/// keys so that an error message stays readable.
fn escape(key: &str) -> String {
    const MAX: usize = 64;
    let mut out = String::with_capacity(key.len().min(MAX) + 3);
    for (i, c) in key.chars().enumerate() {
        if i == MAX {
            out.push('…');
            break;
        }
        match c {
            '~' => out.push_str("~0"),
            '/' => out.push_str("~1"),
            c if c.is_control() => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// The JSON type of a value, for "must be …" messages.
pub(super) fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// `path` + `/` + `key`.
pub(super) fn join(path: &str, key: &str) -> String {
    format!("{path}/{}", escape(key))
}

impl<'a> Obj<'a> {
    /// Reads `v` as an object at `path` (`""` for the body itself).
    pub(super) fn new(v: &'a Value, path: &str, errors: &mut FieldErrors) -> Option<Self> {
        match v {
            Value::Object(map) => Some(Obj {
                map,
                path: path.to_owned(),
                known: Vec::new(),
            }),
            other => {
                errors.push(
                    display_path(path),
                    format!("must be an object, not {}", kind(other)),
                );
                None
            }
        }
    }

    /// The underlying map (for readers that do their own walking).
    pub(super) fn into_map(self) -> &'a Map<String, Value> {
        self.map
    }

    /// The path of one of this object's fields.
    pub(super) fn path_of(&self, key: &str) -> String {
        join(&self.path, key)
    }

    /// The raw value of `key`, marking it as known. `null` is the same as absent.
    pub(super) fn get(&mut self, key: &'static str) -> Option<&'a Value> {
        self.known.push(key);
        self.map.get(key).filter(|v| !v.is_null())
    }

    /// Whether `key` is present and not `null` (without marking it known).
    pub(super) fn has(&self, key: &str) -> bool {
        self.map.get(key).is_some_and(|v| !v.is_null())
    }

    /// A required value of any JSON type.
    pub(super) fn required(&mut self, key: &'static str, e: &mut FieldErrors) -> Option<&'a Value> {
        let v = self.get(key);
        if v.is_none() {
            e.push(self.path_of(key), "is required");
        }
        v
    }

    /// A required string field parsed with `FromStr`.
    pub(super) fn req<T>(&mut self, key: &'static str, e: &mut FieldErrors) -> Option<T>
    where
        T: FromStr<Err = FieldError>,
    {
        self.req_with(key, e, |s| s.parse())
    }

    /// A required string field parsed with `parse`.
    pub(super) fn req_with<T>(
        &mut self,
        key: &'static str,
        e: &mut FieldErrors,
        parse: impl FnOnce(&str) -> Result<T, FieldError>,
    ) -> Option<T> {
        let v = self.required(key, e)?;
        parse_str_with(v, &self.path_of(key), e, parse)
    }

    /// An optional string field: `Some(None)` when absent, `None` when invalid (error pushed).
    pub(super) fn opt<T>(&mut self, key: &'static str, e: &mut FieldErrors) -> Option<Option<T>>
    where
        T: FromStr<Err = FieldError>,
    {
        self.opt_with(key, e, |s| s.parse())
    }

    /// An optional string field parsed with `parse`.
    pub(super) fn opt_with<T>(
        &mut self,
        key: &'static str,
        e: &mut FieldErrors,
        parse: impl FnOnce(&str) -> Result<T, FieldError>,
    ) -> Option<Option<T>> {
        match self.get(key) {
            None => Some(None),
            Some(v) => parse_str_with(v, &self.path_of(key), e, parse).map(Some),
        }
    }

    /// A required number.
    pub(super) fn req_number(&mut self, key: &'static str, e: &mut FieldErrors) -> Option<f64> {
        let v = self.required(key, e)?;
        number(v, &self.path_of(key), e)
    }

    /// A required object.
    pub(super) fn req_obj(&mut self, key: &'static str, e: &mut FieldErrors) -> Option<Obj<'a>> {
        let v = self.required(key, e)?;
        Obj::new(v, &self.path_of(key), e)
    }

    /// Marks `key` as forbidden here: its presence is an error saying `why`.
    pub(super) fn forbid(&mut self, key: &'static str, why: &str, e: &mut FieldErrors) {
        self.known.push(key);
        if self.has(key) {
            e.push(self.path_of(key), format!("must not be present {why}"));
        }
    }

    /// Reports every property that was not asked for, sorted by name.
    pub(super) fn finish(self, e: &mut FieldErrors) {
        let mut unknown: Vec<&String> = self
            .map
            .keys()
            .filter(|k| !self.known.contains(&k.as_str()))
            .collect();
        unknown.sort();
        for k in unknown {
            e.push(join(&self.path, k), "must not be present");
        }
    }
}

/// The path as displayed: the body itself is `/`.
pub(super) fn display_path(path: &str) -> &str {
    if path.is_empty() {
        "/"
    } else {
        path
    }
}

/// Parses a JSON string with `parse`, reporting errors at `path`.
pub(super) fn parse_str_with<T>(
    v: &Value,
    path: &str,
    e: &mut FieldErrors,
    parse: impl FnOnce(&str) -> Result<T, FieldError>,
) -> Option<T> {
    match v {
        Value::String(s) => match parse(s) {
            Ok(t) => Some(t),
            Err(err) => {
                e.push(path, err.expected());
                None
            }
        },
        other => {
            e.push(path, format!("must be a string, not {}", kind(other)));
            None
        }
    }
}

/// A JSON number as `f64`, reporting errors at `path`.
pub(super) fn number(v: &Value, path: &str, e: &mut FieldErrors) -> Option<f64> {
    match v.as_f64() {
        Some(n) => Some(n),
        None => {
            e.push(path, format!("must be a number, not {}", kind(v)));
            None
        }
    }
}

/// Runs a validator on an already-read value, reporting its error at `path`.
pub(super) fn check<T>(r: Result<T, FieldError>, path: &str, e: &mut FieldErrors) -> Option<T> {
    match r {
        Ok(t) => Some(t),
        Err(err) => {
            e.push(path, err.expected());
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields::JourneyType;

    #[test]
    fn collects_in_order() {
        let v: Value = serde_json::from_str(r#"{"b": 1, "z/~": 2, "a": "x", "c": "long"}"#)
            .unwrap_or_default();
        let mut e = FieldErrors::default();
        let mut o = Obj::new(&v, "", &mut e).expect("object");
        let a: Option<JourneyType> = o.req("a", &mut e);
        let b: Option<JourneyType> = o.req("b", &mut e);
        let c: Option<JourneyType> = o.req("c", &mut e);
        let d: Option<Option<JourneyType>> = o.opt("d", &mut e);
        let m: Option<JourneyType> = o.req("m", &mut e);
        o.finish(&mut e);
        assert_eq!(
            (a, b, c, d, m),
            (None, None, Some(JourneyType::Long), Some(None), None)
        );
        assert_eq!(
            e.to_string(),
            "/a: must be either short or long, /b: must be a string, not a number, \
             /m: is required, /z~1~0: must not be present"
        );
    }
}
