//! Errors of the Admin API and the Kong bodies they answer with (`admin-api.md` §3).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use proxy::model::schema::SchemaViolation;
use serde_json::{Value, json};

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("Unauthorized")]
    Unauthorized,
    #[error("Not found")]
    NotFound,
    #[error("{0}")]
    NotFoundMessage(String),
    #[error("Method not allowed")]
    MethodNotAllowed,
    /// 415 with an empty body.
    #[error("Unsupported Media Type")]
    UnsupportedMediaType,
    #[error("Cannot parse JSON body")]
    BadJson,
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Schema(#[from] SchemaViolation),
    /// A Kong error object with its status (invalid size, invalid offset, unresolved foreign keys...).
    #[error("{}", body["message"].as_str().unwrap_or("invalid request"))]
    Kong { status: u16, body: Value },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl AdminError {
    fn status_and_body(&self) -> (StatusCode, Option<Value>) {
        let message = |m: &str| Some(json!({ "message": m }));
        match self {
            AdminError::Unauthorized => (StatusCode::UNAUTHORIZED, message("Unauthorized")),
            AdminError::NotFound => (StatusCode::NOT_FOUND, message("Not found")),
            AdminError::NotFoundMessage(text) => (StatusCode::NOT_FOUND, message(text)),
            AdminError::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, message("Method not allowed")),
            AdminError::UnsupportedMediaType => (StatusCode::UNSUPPORTED_MEDIA_TYPE, None),
            AdminError::BadJson => (StatusCode::BAD_REQUEST, message("Cannot parse JSON body")),
            AdminError::BadRequest(text) => (StatusCode::BAD_REQUEST, message(text)),
            AdminError::Schema(violation) => (StatusCode::BAD_REQUEST, Some(violation.to_kong_json())),
            AdminError::Kong { status, body } => {
                (StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_REQUEST), Some(body.clone()))
            }
            AdminError::Store(error) => store_error(error),
        }
    }
}

fn store_error(error: &StoreError) -> (StatusCode, Option<Value>) {
    match error {
        StoreError::Unique { name, value, .. } => {
            let (pairs, fields) = unique_fields(name, value);
            (
                StatusCode::CONFLICT,
                Some(json!({"code": 5, "name": "unique constraint violation",
                            "message": format!("UNIQUE violation detected on '{{{pairs}}}'"), "fields": fields})),
            )
        }
        StoreError::PrimaryKey { id, .. } => (
            StatusCode::BAD_REQUEST,
            Some(json!({"code": 3, "name": "primary key violation",
                        "message": format!("primary key violation on key '{{id=\"{id}\"}}'"), "fields": {"id": id}})),
        ),
        StoreError::ForeignKey { field, kind, id } => (
            StatusCode::BAD_REQUEST,
            Some(json!({"code": 4, "name": "foreign key violation", "message": error.to_string(),
                        "fields": { field.as_str(): format!("the foreign key '{{id=\"{id}\"}}' does not reference an existing '{kind}' entity.") }})),
        ),
        StoreError::ReferencedBy { referencing, .. } => (
            StatusCode::BAD_REQUEST,
            Some(json!({"code": 4, "name": "foreign key violation", "message": error.to_string(),
                        "fields": {"@referenced_by": referencing.as_str()}})),
        ),
        other => {
            // Details stay in the log; clients get Kong's fixed text.
            tracing::error!(error = %other, "admin API store error");
            (StatusCode::INTERNAL_SERVER_ERROR, Some(json!({"message": "An unexpected error occurred"})))
        }
    }
}

/// Kong's rendering of a unique key: `name="foo"` for one field, every field for composite keys.
fn unique_fields(name: &str, value: &str) -> (String, Value) {
    let names: Vec<&str> = name.split('+').collect();
    let values: Vec<Value> = if names.len() == 1 {
        vec![Value::String(value.to_string())]
    } else {
        serde_json::from_str(value).unwrap_or_default()
    };
    let mut fields = serde_json::Map::new();
    let mut pairs = Vec::new();
    for (name, value) in names.iter().zip(values) {
        pairs.push(format!("{name}={}", lua_literal(&value)));
        fields.insert(name.to_string(), value);
    }
    (pairs.join(","), Value::Object(fields))
}

fn lua_literal(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::String(s) => format!("\"{s}\""),
        Value::Object(map) => {
            let inner: Vec<String> = map.iter().map(|(k, v)| format!("{k}={}", lua_literal(v))).collect();
            format!("{{{}}}", inner.join(","))
        }
        other => other.to_string(),
    }
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        match self.status_and_body() {
            (status, Some(body)) => super::json(status, &body),
            (status, None) => status.into_response(),
        }
    }
}
