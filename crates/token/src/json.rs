//! Strict JSON parsing for everything that arrives from outside: token headers and claim sets,
//! JWKS documents and discovery metadata.
//!
//! `serde_json` keeps the last of two equal object members, so `{"sub":"a","sub":"b"}` would
//! parse and two readers of one token could disagree on its subject. This parser refuses any
//! repeated member name at every level (RFC 7515 §5.2 and RFC 7519 §7.2 let a parser refuse
//! them), and it refuses nesting deeper than [`MAX_JSON_DEPTH`] with its own error, long before
//! `serde_json`'s recursion guard or the stack could be reached.

use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use crate::error::JsonError;

/// The deepest nesting of arrays and objects accepted; the top-level object is level 1.
pub const MAX_JSON_DEPTH: usize = 32;

/// Parses `bytes` as one JSON object, refusing repeated members and deep nesting.
pub(crate) fn parse_object(bytes: &[u8]) -> Result<Map<String, Value>, JsonError> {
    let violation = Cell::new(None);
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let seed = StrictValue {
        depth: 0,
        violation: &violation,
    };

    let parsed = seed.deserialize(&mut deserializer).and_then(|value| {
        deserializer.end()?;
        Ok(value)
    });
    match parsed {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(JsonError::NotAnObject),
        // A rule of ours failed inside serde's callbacks: report it, not serde's placeholder.
        Err(error) => Err(violation.take().unwrap_or(JsonError::Syntax(error))),
    }
}

/// The kind of a JSON value, for "expected X, found Y" messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonKind {
    /// `null`.
    Null,
    /// `true` or `false`.
    Boolean,
    /// Any number.
    Number,
    /// A string.
    String,
    /// An array.
    Array,
    /// An object.
    Object,
}

impl JsonKind {
    /// The kind of `value`.
    #[must_use]
    pub const fn of(value: &Value) -> Self {
        match value {
            Value::Null => Self::Null,
            Value::Bool(_) => Self::Boolean,
            Value::Number(_) => Self::Number,
            Value::String(_) => Self::String,
            Value::Array(_) => Self::Array,
            Value::Object(_) => Self::Object,
        }
    }
}

impl fmt::Display for JsonKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Null => "null",
            Self::Boolean => "a boolean",
            Self::Number => "a number",
            Self::String => "a string",
            Self::Array => "an array",
            Self::Object => "an object",
        })
    }
}

/// A `serde_json::Value` builder that records the first broken rule in `violation`.
#[derive(Clone, Copy)]
struct StrictValue<'v> {
    depth: usize,
    violation: &'v Cell<Option<JsonError>>,
}

impl StrictValue<'_> {
    /// The seed for a value one level further down, or the depth violation.
    fn enter<E: de::Error>(self) -> Result<Self, E> {
        if self.depth >= MAX_JSON_DEPTH {
            return Err(self.refuse(JsonError::TooDeep {
                limit: MAX_JSON_DEPTH,
            }));
        }
        Ok(Self {
            depth: self.depth + 1,
            violation: self.violation,
        })
    }

    fn refuse<E: de::Error>(self, violation: JsonError) -> E {
        let message = violation.to_string();
        self.violation.set(Some(violation));
        E::custom(message)
    }
}

impl<'de> DeserializeSeed<'de> for StrictValue<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictValue<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_bool<E>(self, value: bool) -> Result<Value, E> {
        Ok(Value::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Value, E> {
        // JSON text cannot spell NaN or infinity, so `from_f64` always succeeds here.
        Ok(Number::from_f64(value).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, value: &str) -> Result<Value, E> {
        Ok(Value::String(value.to_owned()))
    }

    fn visit_string<E>(self, value: String) -> Result<Value, E> {
        Ok(Value::String(value))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let inner = self.enter()?;
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(inner)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let inner = self.enter()?;
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            if map.contains_key(&key) {
                return Err(self.refuse(JsonError::DuplicateMember { name: key }));
            }
            let value = access.next_value_seed(inner)?;
            map.insert(key, value);
        }
        Ok(Value::Object(map))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_an_ordinary_object() {
        let map = parse_object(br#"{"a":1,"b":[true,null,"x",{"c":2.5}]}"#).unwrap();

        assert_eq!(
            Value::Object(map),
            serde_json::json!({"a":1,"b":[true,null,"x",{"c":2.5}]})
        );
    }

    #[test]
    fn refuses_a_repeated_top_level_member() {
        let error = parse_object(br#"{"sub":"alice","sub":"mallory"}"#).unwrap_err();

        assert_eq!(error.to_string(), "duplicate member `sub`");
    }

    #[test]
    fn refuses_a_repeated_member_in_a_nested_object_inside_an_array() {
        let error = parse_object(br#"{"x":[{"a":1},{"b":1,"b":2}]}"#).unwrap_err();

        assert!(matches!(error, JsonError::DuplicateMember { name } if name == "b"));
    }

    #[test]
    fn refuses_members_that_differ_only_in_escaping() {
        let error = parse_object(br#"{"sub":"a","s\u0075b":"b"}"#).unwrap_err();

        assert_eq!(error.to_string(), "duplicate member `sub`");
    }

    #[test]
    fn accepts_nesting_up_to_the_limit() {
        let text = format!(
            "{}{}",
            "{\"a\":".repeat(MAX_JSON_DEPTH - 1),
            "{}".to_owned()
        ) + &"}".repeat(MAX_JSON_DEPTH - 1);

        assert!(parse_object(text.as_bytes()).is_ok());
    }

    #[test]
    fn refuses_nesting_one_level_past_the_limit() {
        let text = format!(
            "{{\"a\":{}{}}}",
            "[".repeat(MAX_JSON_DEPTH),
            "]".repeat(MAX_JSON_DEPTH)
        );

        let error = parse_object(text.as_bytes()).unwrap_err();

        assert_eq!(error.to_string(), "nested deeper than 32 levels");
    }

    #[test]
    fn refuses_a_hundred_thousand_levels_without_overflowing_the_stack() {
        let text = format!("{{\"a\":{}", "[".repeat(100_000));

        let error = parse_object(text.as_bytes()).unwrap_err();

        assert!(matches!(
            error,
            JsonError::TooDeep {
                limit: MAX_JSON_DEPTH
            }
        ));
    }

    #[test]
    fn refuses_values_that_are_not_objects() {
        for text in ["[]", "\"x\"", "1", "null"] {
            let error = parse_object(text.as_bytes()).unwrap_err();

            assert_eq!(error.to_string(), "not a JSON object", "{text}");
        }
    }

    #[test]
    fn refuses_trailing_data_after_the_object() {
        let error = parse_object(br#"{"a":1} {"a":2}"#).unwrap_err();

        assert!(matches!(error, JsonError::Syntax(_)), "{error}");
    }

    #[test]
    fn refuses_invalid_utf8() {
        let error = parse_object(b"{\"a\":\"\xff\"}").unwrap_err();

        assert!(matches!(error, JsonError::Syntax(_)), "{error}");
    }

    #[test]
    fn names_json_kinds_for_messages() {
        assert_eq!(
            JsonKind::of(&serde_json::json!("x")).to_string(),
            "a string"
        );
        assert_eq!(
            JsonKind::of(&serde_json::json!({})).to_string(),
            "an object"
        );
        assert_eq!(JsonKind::of(&Value::Null).to_string(), "null");
    }
}
