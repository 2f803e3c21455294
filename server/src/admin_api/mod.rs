//! The Admin API (Kong 2.2 compatible, `admin_listen`): routes, Kong's standard response headers and error
//! shapes. Each endpoint family lives in its own module.

mod error;
mod node_info;

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower_http::normalize_path::NormalizePath;

pub use error::AdminError;

use crate::node::Node;

/// The Admin API service; a trailing slash is tolerated on every path (`/status/` ≡ `/status`).
pub fn service(node: Arc<Node>) -> NormalizePath<Router> {
    NormalizePath::trim_trailing_slash(router(node))
}

pub fn router(node: Arc<Node>) -> Router {
    Router::new()
        .route("/", get(node_info::root).options(preflight))
        .route("/status", get(node_info::status).options(preflight))
        .fallback(|| async { AdminError::NotFound })
        .method_not_allowed_fallback(|| async { AdminError::MethodNotAllowed })
        .layer(middleware::from_fn(kong_headers))
        .with_state(node)
}

/// `OPTIONS` on a known path: CORS preflight as Kong answers it.
async fn preflight() -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    let headers = response.headers_mut();
    headers
        .insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("GET, HEAD, PUT, PATCH, POST, DELETE"));
    headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static("Content-Type"));
    response
}

/// `Server`, `X-Kong-Admin-Latency` and `Access-Control-Allow-Origin: *` on every response.
async fn kong_headers(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let is_head = request.method() == Method::HEAD;
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(header::SERVER, HeaderValue::from_static(concat!("gatehouse/", env!("CARGO_PKG_VERSION"))));
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    headers.insert("x-kong-admin-latency", HeaderValue::from(started.elapsed().as_millis() as u64));
    if is_head {
        *response.body_mut() = axum::body::Body::empty();
    }
    response
}

/// A JSON response with Kong's content type.
pub(crate) fn json(status: StatusCode, body: &serde_json::Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"));
    response
}

#[cfg(test)]
mod tests;
