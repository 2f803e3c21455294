//! Admin API calls from the UI: the reply type shared with the browser, the server functions that make the
//! calls through [`crate::backend::AdminBackend::admin_api`], and Kong error bodies turned into field errors.

use std::collections::BTreeMap;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// An Admin API answer: its status and JSON body (`null` for an empty body such as a 204).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiReply {
    pub status: u16,
    pub body: Value,
}

impl ApiReply {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// Kong's `message` (`{"message", "name", "fields", "code"}`), else a generic line with the status.
    pub fn message(&self) -> String {
        match self.body.get("message").and_then(Value::as_str) {
            Some(message) => message.to_string(),
            None => format!("the Admin API answered {}", self.status),
        }
    }

    /// Kong's `fields` of a schema violation, flattened to one message per form field: nested records
    /// (`config.timeout`) keep their dotted path, a list of messages is joined.
    pub fn field_errors(&self) -> BTreeMap<String, String> {
        let mut errors = BTreeMap::new();
        if let Some(fields) = self.body.get("fields") {
            flatten_errors("", fields, &mut errors);
        }
        errors
    }
}

fn flatten_errors(prefix: &str, value: &Value, out: &mut BTreeMap<String, String>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
                flatten_errors(&path, inner, out);
            }
        }
        Value::Array(items) => {
            let texts: Vec<String> = items
                .iter()
                .filter(|item| !item.is_null())
                .map(|item| item.as_str().map(str::to_string).unwrap_or_else(|| item.to_string()))
                .collect();
            out.insert(prefix.to_string(), texts.join("; "));
        }
        Value::String(text) => {
            out.insert(prefix.to_string(), text.clone());
        }
        Value::Null => {}
        other => {
            out.insert(prefix.to_string(), other.to_string());
        }
    }
}

pub use proxy::model::secrets::{is_secret, redact};

/// The collection a path is about (`/certificates/x/snis` → `certificates`; the last collection segment for
/// nested paths is not needed: secrets only live on top-level certificates).
#[cfg(feature = "ssr")]
fn collection_of(path: &str) -> &str {
    path.trim_start_matches('/').split(['/', '?']).next().unwrap_or("")
}

#[cfg(feature = "ssr")]
fn checked_path(path: &str) -> Result<(), ServerFnError> {
    if !path.starts_with('/') || path.starts_with("//") || path.contains("..") {
        return Err(ServerFnError::new("an Admin API path starts with a single '/'"));
    }
    Ok(())
}

/// `GET` on the Admin API. Secret fields are removed before the answer leaves the server.
#[server(prefix = "/api", endpoint = "/admin_get", client = crate::csrf::CsrfClient)]
pub async fn admin_get(path: String) -> Result<ApiReply, ServerFnError> {
    checked_path(&path)?;
    let backend = crate::backend::from_context()?;
    let mut reply = backend.admin_api("GET", &path, None).await.map_err(ServerFnError::new)?;
    // Schemas describe fields (`redis_password` among them); they hold no values.
    if !path.starts_with("/schemas/") {
        redact(collection_of(&path), &mut reply.body);
    }
    Ok(reply)
}

/// A write on the Admin API (`POST`, `PUT`, `PATCH`, `DELETE`); `body` is JSON text (empty for none).
#[server(prefix = "/api", endpoint = "/admin_write", client = crate::csrf::CsrfClient)]
pub async fn admin_write(method: String, path: String, body: String) -> Result<ApiReply, ServerFnError> {
    checked_path(&path)?;
    if !matches!(method.as_str(), "POST" | "PUT" | "PATCH" | "DELETE") {
        return Err(ServerFnError::new(format!("{method} is not a write")));
    }
    let body = match body.trim() {
        "" => None,
        text => Some(serde_json::from_str(text).map_err(|e| ServerFnError::new(format!("invalid JSON: {e}")))?),
    };
    let backend = crate::backend::from_context()?;
    let mut reply = backend.admin_api(&method, &path, body).await.map_err(ServerFnError::new)?;
    redact(collection_of(&path), &mut reply.body);
    Ok(reply)
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn kong_schema_violation_becomes_one_error_per_field() {
        let reply = ApiReply {
            status: 400,
            body: json!({"code": 2, "name": "schema violation", "message": "2 schema violations",
                "fields": {"host": "required field missing", "config": {"timeout": "expected an integer"},
                           "paths": [null, "should start with: /"]}}),
        };
        let errors = reply.field_errors();
        assert_eq!(errors["host"], "required field missing");
        assert_eq!(errors["config.timeout"], "expected an integer");
        assert_eq!(errors["paths"], "should start with: /");
        assert_eq!(reply.message(), "2 schema violations");
    }
}
