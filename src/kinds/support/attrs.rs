//! Reading attribute values as the SDKs take them.

use crate::aws::ApiError;
use crate::kinds::ApiResult;
use crate::value::{Attrs, Value};

/// A string attribute, if set.
pub fn str_attr(a: &Attrs, name: &str) -> Option<String> {
    a.get(name).and_then(Value::as_str).map(str::to_owned)
}

/// A bool attribute, if set.
pub fn bool_attr(a: &Attrs, name: &str) -> Option<bool> {
    a.get(name).and_then(Value::as_bool)
}

/// An integer as the AWS APIs take it (`i32`), refusing values out of
/// range rather than wrapping them.
pub fn to_i32(v: &Value, what: &str) -> ApiResult<Option<i32>> {
    match v {
        Value::Null => Ok(None),
        other => {
            let i = other.as_int().ok_or_else(|| {
                ApiError::msg(format!("`{what}` must be an integer, not {other}"))
            })?;
            i32::try_from(i)
                .map(Some)
                .map_err(|_| ApiError::msg(format!("`{what}` = {i} is out of range")))
        }
    }
}

/// An integer attribute of a table, if set.
pub fn int_field(m: Option<&Value>, name: &str) -> ApiResult<Option<i32>> {
    let v = m
        .and_then(Value::as_map)
        .and_then(|m| m.get(name))
        .unwrap_or(&Value::Null);
    to_i32(v, name)
}

/// A number as the AWS APIs take it (`f64`), whether written whole or not.
pub fn number(v: Option<&Value>) -> Option<f64> {
    match v {
        Some(Value::Int(i)) => Some(*i as f64),
        Some(Value::Float(f)) => Some(*f),
        _ => None,
    }
}

/// A string attribute of a table, if set.
pub fn str_field(m: Option<&Value>, name: &str) -> Option<String> {
    m.and_then(Value::as_map)
        .and_then(|m| m.get(name))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// Builds a table from `(name, value)` pairs, leaving nulls out.
pub fn table<'a>(pairs: impl IntoIterator<Item = (&'a str, Value)>) -> Value {
    Value::Map(
        pairs
            .into_iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_out_of_range_are_refused_not_wrapped() {
        assert_eq!(to_i32(&Value::Int(5), "n").unwrap(), Some(5));
        assert_eq!(to_i32(&Value::Null, "n").unwrap(), None);
        assert!(to_i32(&Value::Int(1 << 40), "n").is_err());
        assert!(to_i32(&Value::str("5"), "n").is_err());
    }

    #[test]
    fn table_fields_read_back_and_nulls_are_left_out() {
        let t = table([
            ("a", Value::Int(3)),
            ("b", Value::str("x")),
            ("c", Value::Null),
        ]);
        assert_eq!(int_field(Some(&t), "a").unwrap(), Some(3));
        assert_eq!(str_field(Some(&t), "b").as_deref(), Some("x"));
        assert!(!t.as_map().unwrap().contains_key("c"));
        assert_eq!(int_field(None, "a").unwrap(), None);
    }
}
