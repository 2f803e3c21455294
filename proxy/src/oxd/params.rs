//! Reading oxd command parameters: oxd's clients send lists as arrays, some OPs answer them as
//! space-separated strings, and blank text counts as absent.

use serde_json::{Map, Value};

/// A list parameter as strings: an array's string items, or a space-separated string split.
pub fn strings(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::Array(items)) => items.iter().filter_map(|v| v.as_str().map(str::to_string)).collect(),
        Some(Value::String(text)) => text.split_whitespace().map(str::to_string).collect(),
        _ => Vec::new(),
    }
}

/// A text parameter, trimmed; `None` when absent or blank.
pub fn text<'a>(params: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    params.get(name).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty())
}
