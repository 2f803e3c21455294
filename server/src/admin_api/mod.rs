//! The Admin API (Kong 2.2 compatible, `admin_listen`): routes, Kong's standard response headers and error
//! shapes. Each endpoint family lives in its own module.

mod body;
mod certificates;
mod declarative_config;
mod dispatch;
mod entities;
mod error;
mod form;
mod node_info;
mod pagination;
mod schemas;
mod tags;

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use tower_http::normalize_path::NormalizePath;

pub use entities::Entities;
pub use error::AdminError;

use crate::node::Node;

/// The Admin API service; a trailing slash is tolerated on every path (`/status/` ≡ `/status`).
pub fn service(node: Arc<Node>) -> NormalizePath<Router> {
    NormalizePath::trim_trailing_slash(router(node))
}

pub fn router(node: Arc<Node>) -> Router {
    Router::new()
        .route("/", get(node_info::root).options(preflight_response))
        .route("/status", get(node_info::status).options(preflight_response))
        .route("/endpoints", get(endpoints))
        .route("/schemas/{entity}", get(schemas::entity_schema))
        .route("/schemas/plugins/{name}", get(schemas::plugin_schema))
        .route("/schemas/{entity}/validate", post(schemas::validate))
        .route("/plugins/schema/{name}", get(schemas::plugin_config_schema))
        .route("/plugins/enabled", get(schemas::enabled_plugins))
        .route("/config", get(declarative_config::get).post(declarative_config::post))
        .route("/tags", get(tags::all))
        .route("/tags/{tag}", get(tags::one))
        .route("/{collection}", any(dispatch::collection))
        .route("/{collection}/{key}", any(dispatch::entity))
        .route("/{collection}/{key}/{sub}", any(dispatch::sub))
        .route("/{collection}/{key}/{sub}/{child}", any(dispatch::nested_entity))
        .fallback(|| async { AdminError::NotFound })
        .method_not_allowed_fallback(|| async { AdminError::MethodNotAllowed })
        .layer(middleware::from_fn(kong_headers))
        .with_state(node)
}

/// The route templates this API serves (`GET /endpoints`), sorted as Kong sorts them.
const ENDPOINTS: &[&str] = &[
    "/",
    "/ca_certificates",
    "/ca_certificates/{ca_certificates}",
    "/certificates",
    "/certificates/{certificates}",
    "/certificates/{certificates}/snis",
    "/certificates/{certificates}/snis/{snis}",
    "/consumers",
    "/consumers/{consumers}",
    "/consumers/{consumers}/plugins",
    "/consumers/{consumers}/plugins/{plugins}",
    "/endpoints",
    "/plugins",
    "/plugins/enabled",
    "/plugins/schema/{name}",
    "/plugins/{plugins}",
    "/plugins/{plugins}/consumer",
    "/plugins/{plugins}/route",
    "/plugins/{plugins}/service",
    "/routes",
    "/routes/{routes}",
    "/routes/{routes}/plugins",
    "/routes/{routes}/plugins/{plugins}",
    "/routes/{routes}/service",
    "/schemas/plugins/{name}",
    "/schemas/{db_entity_name}",
    "/schemas/{db_entity_name}/validate",
    "/services",
    "/services/{services}",
    "/services/{services}/client_certificate",
    "/services/{services}/plugins",
    "/services/{services}/plugins/{plugins}",
    "/services/{services}/routes",
    "/services/{services}/routes/{routes}",
    "/snis",
    "/snis/{snis}",
    "/status",
    "/tags",
    "/tags/{tags}",
    "/upstreams",
    "/upstreams/{upstreams}",
    "/upstreams/{upstreams}/client_certificate",
    "/upstreams/{upstreams}/targets",
    "/upstreams/{upstreams}/targets/{targets}",
];

async fn endpoints() -> Response {
    let mut list: Vec<&str> = ENDPOINTS.to_vec();
    // Segment-wise order where '/' sorts before any other character.
    list.sort_by_key(|path| path.replace('/', "\u{1}"));
    json(StatusCode::OK, &serde_json::json!({ "data": list }))
}

/// `OPTIONS` on a known path: CORS preflight as Kong answers it.
async fn preflight_response() -> Response {
    preflight("GET, HEAD, OPTIONS")
}

/// A CORS preflight answer; `allow` lists the path's real methods (Kong 2.8's `Allow`).
pub(crate) fn preflight(allow: &'static str) -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().insert(header::ALLOW, HeaderValue::from_static(allow));
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
