//! Errors of the Admin API and the Kong bodies they answer with.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("Not found")]
    NotFound,
    #[error("Method not allowed")]
    MethodNotAllowed,
    #[error("{0}")]
    BadRequest(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let (status, message) = match &self {
            AdminError::NotFound => (StatusCode::NOT_FOUND, self.to_string()),
            AdminError::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, self.to_string()),
            AdminError::BadRequest(message) => (StatusCode::BAD_REQUEST, message.clone()),
            AdminError::Store(error) => {
                // Details stay in the log; clients get Kong's fixed text.
                tracing::error!(%error, "admin API store error");
                (StatusCode::INTERNAL_SERVER_ERROR, "An unexpected error occurred".to_string())
            }
        };
        super::json(status, &json!({ "message": message }))
    }
}
