//! Keyset pagination as Kong shapes it: `size` (1..1000, default 100), opaque `offset` tokens (base64 of the
//! JSON array of the last primary key), relative `next` links that keep `size` and `tags`, and tag filters.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use serde_json::{Value, json};
use uuid::Uuid;

use super::AdminError;
use crate::store::TagFilter;

pub const DEFAULT_SIZE: u32 = 100;
pub const MAX_SIZE: u32 = 1000;

/// The listing parameters of a request.
#[derive(Debug, Clone, Default)]
pub struct PageQuery {
    pub size: u32,
    /// Whether the client named `size` (then `next` repeats it).
    pub size_given: bool,
    pub offset: Option<String>,
    /// The raw `tags` argument and its parsed filter.
    pub tags: Option<(String, TagFilter)>,
}

impl PageQuery {
    pub fn parse(query: &HashMap<String, String>, tags_allowed: bool) -> Result<PageQuery, AdminError> {
        let size = match query.get("size") {
            None => DEFAULT_SIZE,
            Some(raw) => parse_size(raw)?,
        };
        let tags = match query.get("tags") {
            Some(raw) if tags_allowed => Some((raw.clone(), parse_tags(raw)?)),
            _ => None,
        };
        Ok(PageQuery { size, size_given: query.contains_key("size"), offset: query.get("offset").cloned(), tags })
    }

    pub fn tag_filter(&self) -> Option<TagFilter> {
        self.tags.as_ref().map(|(_, filter)| filter.clone())
    }

    /// The relative link to the page after `last`, as `next`.
    pub fn next_link(&self, path: &str, token: &str) -> String {
        let mut link = format!("{path}?offset={}", escape(token));
        if self.size_given {
            link.push_str(&format!("&size={}", self.size));
        }
        if let Some((raw, _)) = &self.tags {
            link.push_str(&format!("&tags={}", escape(raw)));
        }
        link
    }

    /// The id an `offset` token names.
    pub fn after_id(&self) -> Result<Option<Uuid>, AdminError> {
        let Some(token) = &self.offset else { return Ok(None) };
        let key = decode_offset(token)?;
        match key.as_slice() {
            [Value::String(id)] => {
                Uuid::parse_str(id).map(Some).map_err(|_| invalid_offset(token, "bad json encoding"))
            }
            _ => Err(invalid_offset(token, "bad json encoding")),
        }
    }
}

fn parse_size(raw: &str) -> Result<u32, AdminError> {
    let number: f64 = raw.trim().parse().map_err(|_| invalid_size("size must be a number"))?;
    if number.fract() != 0.0 || !(1.0..=f64::from(MAX_SIZE)).contains(&number) {
        return Err(invalid_size("size must be an integer between 1 and 1000"));
    }
    Ok(number as u32)
}

fn invalid_size(message: &str) -> AdminError {
    AdminError::Kong { status: 400, body: json!({"code": 9, "name": "invalid size", "message": message}) }
}

pub fn invalid_offset(token: &str, why: &str) -> AdminError {
    AdminError::Kong {
        status: 400,
        body: json!({"code": 7, "name": "invalid offset", "message": format!("'{token}' is not a valid offset: {why}")}),
    }
}

/// `a,b` = every tag, `a/b` = any tag; at most five; both separators at once is an error.
pub fn parse_tags(raw: &str) -> Result<TagFilter, AdminError> {
    let invalid = |why: &str| AdminError::Kong {
        status: 400,
        body: json!({"code": 11, "name": "invalid options", "message": format!("invalid option (tags: {why})"),
                     "options": {"tags": why}}),
    };
    let (and, or) = (raw.contains(','), raw.contains('/'));
    if and && or {
        return Err(invalid("invalid filter syntax"));
    }
    let tags: Vec<String> = raw.split([',', '/']).map(str::to_string).collect();
    if tags.len() > 5 {
        return Err(invalid("cannot query more than 5 tags"));
    }
    if tags.iter().any(|t| t.is_empty() || !t.chars().all(|c| c.is_ascii_alphanumeric() || "._~-".contains(c))) {
        return Err(invalid("invalid filter syntax"));
    }
    Ok(if or { TagFilter::Any(tags) } else { TagFilter::All(tags) })
}

pub fn encode_offset(key: &[Value]) -> String {
    STANDARD_NO_PAD.encode(Value::Array(key.to_vec()).to_string())
}

pub fn decode_offset(token: &str) -> Result<Vec<Value>, AdminError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(pad(token))
        .map_err(|_| invalid_offset(token, "bad base64 encoding"))?;
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Array(key)) => Ok(key),
        _ => Err(invalid_offset(token, "bad json encoding")),
    }
}

fn pad(token: &str) -> String {
    let mut padded = token.to_string();
    while !padded.len().is_multiple_of(4) {
        padded.push('=');
    }
    padded
}

/// Percent-escapes a query value.
pub fn escape(value: &str) -> String {
    crate::url_text::encode_component(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn size_rules_and_messages() {
        assert_eq!(PageQuery::parse(&query(&[]), true).unwrap().size, 100);
        assert_eq!(PageQuery::parse(&query(&[("size", "1000")]), true).unwrap().size, 1000);
        let err = |q| match PageQuery::parse(&query(q), true).unwrap_err() {
            AdminError::Kong { body, .. } => body["message"].as_str().unwrap().to_string(),
            other => panic!("{other:?}"),
        };
        assert_eq!(err(&[("size", "x")]), "size must be a number");
        assert_eq!(err(&[("size", "0")]), "size must be an integer between 1 and 1000");
        assert_eq!(err(&[("size", "1001")]), "size must be an integer between 1 and 1000");
        assert_eq!(err(&[("size", "1.5")]), "size must be an integer between 1 and 1000");
    }

    #[test]
    fn offsets_round_trip_and_garbage_is_named() {
        let id = Uuid::new_v4();
        let token = encode_offset(&[json!(id)]);
        let page = PageQuery::parse(&query(&[("offset", &token)]), true).unwrap();
        assert_eq!(page.after_id().unwrap(), Some(id));
        let bad = PageQuery::parse(&query(&[("offset", "!!!")]), true).unwrap();
        match bad.after_id().unwrap_err() {
            AdminError::Kong { body, .. } => {
                assert_eq!(body["message"], "'!!!' is not a valid offset: bad base64 encoding")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn next_keeps_size_and_tags() {
        let page = PageQuery::parse(&query(&[("size", "2"), ("tags", "a,b")]), true).unwrap();
        assert_eq!(page.next_link("/services", "ab+/"), "/services?offset=ab%2B%2F&size=2&tags=a%2Cb");
        assert_eq!(page.tag_filter(), Some(TagFilter::All(vec!["a".into(), "b".into()])));
        assert!(parse_tags("a,b/c").is_err());
        assert!(parse_tags("a,b,c,d,e,f").is_err());
        assert_eq!(parse_tags("a/b").unwrap(), TagFilter::Any(vec!["a".into(), "b".into()]));
    }
}
