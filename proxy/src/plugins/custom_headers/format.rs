//! The header formats of `custom_headers` (`gluu-plugins.md` §3.7 "Formats"): how one JSON value becomes
//! one header value.

use std::borrow::Cow;
use std::fmt::Write;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

use crate::oxd::jwt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    String,
    Jwt,
    Base64,
    Urlencoded,
    List,
}

impl Format {
    pub fn parse(name: &str) -> Option<Format> {
        Some(match name {
            "string" => Format::String,
            "jwt" => Format::Jwt,
            "base64" => Format::Base64,
            "urlencoded" => Format::Urlencoded,
            "list" => Format::List,
            _ => return None,
        })
    }

    /// Without a format: text for strings and numbers, and for booleans too (§15 N6: GG chose base64 there
    /// and then failed); base64 of the JSON for objects and arrays.
    fn default_for(value: &Value) -> Format {
        match value {
            Value::Object(_) | Value::Array(_) => Format::Base64,
            _ => Format::String,
        }
    }
}

/// The header value for `value` (never `null`: a `nil` result sets no header), or why there is none.
pub fn render(value: &Value, format: Option<Format>, sep: &str) -> Result<String, &'static str> {
    Ok(match format.unwrap_or_else(|| Format::default_for(value)) {
        Format::String => text(value).into_owned(),
        Format::Base64 => STANDARD.encode(text(value).as_bytes()),
        Format::Urlencoded => percent_encode(&text(value)),
        Format::Jwt => match value {
            Value::Object(_) => jwt::unsigned(value),
            _ => return Err("the jwt format needs an object"),
        },
        Format::List => match value {
            Value::Array(items) if !items.is_empty() => {
                let items: Option<Vec<Cow<str>>> = items
                    .iter()
                    .map(|item| matches!(item, Value::String(_) | Value::Number(_)).then(|| text(item)))
                    .collect();
                items.ok_or("the list format needs strings or numbers")?.join(sep)
            }
            _ => return Err("the list format needs a non-empty array"),
        },
    })
}

/// Strings as they are, numbers and booleans as Lua prints them, objects and arrays as JSON.
fn text(value: &Value) -> Cow<'_, str> {
    match value {
        Value::String(s) => Cow::Borrowed(s),
        Value::Object(_) | Value::Array(_) => Cow::Owned(value.to_string()),
        Value::Number(n) => Cow::Owned(n.to_string()),
        Value::Bool(b) => Cow::Borrowed(if *b { "true" } else { "false" }),
        Value::Null => Cow::Borrowed(""),
    }
}

/// `ngx.escape_uri`: every byte but `A–Z a–z 0–9 - . _ ~` as `%XX`.
fn percent_encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            encoded.push(byte as char);
        } else {
            let _ = write!(encoded, "%{byte:02X}"); // writing to a String cannot fail
        }
    }
    encoded
}
