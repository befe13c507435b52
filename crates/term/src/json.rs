//! Conversions between terms and `serde_json` values, following hex.pm's `binarify`: map keys
//! and strings are binaries, `null` is the atom `nil`, booleans are atoms.

use serde_json::{Map, Number, Value};

use crate::Term;

/// A term with no JSON form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JsonError {
    #[error("binary is not UTF-8")]
    NotUtf8,
    #[error("map key is not a UTF-8 binary")]
    BadKey,
    #[error("integer does not fit in 64 bits")]
    IntegerTooLarge,
    #[error("float is not finite")]
    NotFinite,
    #[error("atom {0:?} has no JSON form")]
    Atom(String),
}

/// The JSON form of a term. Tuples become arrays; maps need UTF-8 binary (or atom) keys.
pub fn to_json(term: &Term) -> Result<Value, JsonError> {
    Ok(match term {
        Term::Atom(a) => match a.as_str() {
            "nil" => Value::Null,
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            other => return Err(JsonError::Atom(other.to_owned())),
        },
        Term::Integer(n) => {
            if let Ok(i) = i64::try_from(*n) {
                Value::Number(i.into())
            } else if let Ok(u) = u64::try_from(*n) {
                Value::Number(u.into())
            } else {
                return Err(JsonError::IntegerTooLarge);
            }
        }
        Term::Float(f) => Value::Number(Number::from_f64(*f).ok_or(JsonError::NotFinite)?),
        Term::Binary(b) => Value::String(String::from_utf8(b.clone()).map_err(|_| JsonError::NotUtf8)?),
        Term::List(items) | Term::Tuple(items) => Value::Array(items.iter().map(to_json).collect::<Result<_, _>>()?),
        Term::Map(pairs) => {
            let mut map = Map::new();
            for (k, v) in pairs {
                let key = match k {
                    Term::Binary(b) => String::from_utf8(b.clone()).map_err(|_| JsonError::BadKey)?,
                    _ => return Err(JsonError::BadKey),
                };
                map.insert(key, to_json(v)?);
            }
            Value::Object(map)
        }
    })
}

/// The term form of a JSON value.
pub fn from_json(value: &Value) -> Term {
    match value {
        Value::Null => Term::atom("nil"),
        Value::Bool(b) => Term::atom(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Term::Integer(i128::from(i))
            } else if let Some(u) = n.as_u64() {
                Term::Integer(i128::from(u))
            } else {
                Term::Float(n.as_f64().unwrap_or(0.0))
            }
        }
        Value::String(s) => Term::binary(s),
        Value::Array(items) => Term::List(items.iter().map(from_json).collect()),
        Value::Object(map) => Term::Map(map.iter().map(|(k, v)| (Term::binary(k), from_json(v))).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips_json() {
        let value = json!({
            "name": "plug", "count": 3, "big": 18_000_000_000_000_000_000u64, "neg": -40,
            "ratio": 0.5, "ok": true, "no": false, "none": null,
            "list": [1, "two", [], {}], "nested": {"k": {"é": "ü"}}
        });
        assert_eq!(to_json(&from_json(&value)).unwrap(), value);
    }

    #[test]
    fn refuses_terms_without_json_form() {
        assert_eq!(to_json(&Term::Binary(vec![0xff])), Err(JsonError::NotUtf8));
        assert_eq!(to_json(&Term::Map(vec![(Term::Integer(1), Term::Integer(1))])), Err(JsonError::BadKey));
        assert_eq!(to_json(&Term::Integer(i128::MAX)), Err(JsonError::IntegerTooLarge));
        assert_eq!(to_json(&Term::atom("undefined")), Err(JsonError::Atom("undefined".into())));
        assert_eq!(to_json(&Term::Float(f64::NAN)), Err(JsonError::NotFinite));
    }
}
