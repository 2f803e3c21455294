//! The Admin API (Kong 2.2 compatible, `admin_listen`): routes, Kong's standard response headers and error
//! shapes. Each endpoint family lives in its own module.

mod audit;
mod body;
mod catalogue;
mod certificates;
pub mod combinations;
mod declarative_config;
mod dispatch;
mod entities;
mod error;
mod form;
mod health;
mod node_info;
mod openapi;
mod pagination;
mod schemas;
mod tags;

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, delete, get, post};
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
        .route("/status/ready", get(node_info::ready))
        .route("/workspaces", get(node_info::workspaces))
        .route("/workspaces/{workspace}", get(node_info::workspace))
        .route("/endpoints", get(endpoints))
        .route("/openapi.json", get(openapi_document))
        .route("/schemas/{entity}", get(schemas::entity_schema))
        .route("/schemas/plugins/{name}", get(schemas::plugin_schema))
        .route("/schemas/{entity}/validate", post(schemas::validate))
        .route("/plugins/schema/{name}", get(schemas::plugin_config_schema))
        .route("/plugins/enabled", get(schemas::enabled_plugins))
        .route("/config", get(declarative_config::get).post(declarative_config::post))
        .route("/gluu-metrics", get(gluu_metrics))
        .route("/cache", delete(purge_cache))
        .route("/cache/{key}", get(cached).delete(purge_cache))
        .route("/audit", get(audit::list))
        .route("/tags", get(tags::all))
        .route("/tags/{tag}", get(tags::one))
        .route("/{collection}", any(dispatch::collection))
        .route("/{collection}/{key}", any(dispatch::entity))
        .route("/{collection}/{key}/{sub}", any(dispatch::sub))
        .route("/{collection}/{key}/{sub}/{child}", any(dispatch::nested_entity))
        .route("/{collection}/{key}/{sub}/{child}/{action}", any(dispatch::target_health))
        .route("/{collection}/{key}/{sub}/{child}/{address}/{action}", any(dispatch::address_health))
        .fallback(|| async { AdminError::NotFound })
        .method_not_allowed_fallback(|| async { AdminError::MethodNotAllowed })
        .layer(middleware::from_fn(audit::acting))
        .layer(middleware::from_fn_with_state(node.clone(), kong_headers))
        .with_state(node)
}

/// The route templates this API serves, from the catalogue.
/// `DELETE /cache[/{key}]`: forgets token validations, OP discovery documents, JWKS and client tokens, so a
/// revoked token or a rotated OP key takes effect at once. (Gatehouse has no per-entity cache to purge by key:
/// the configuration snapshot is rebuilt on every change; a key purges everything.)
async fn purge_cache(State(node): State<Arc<Node>>) -> StatusCode {
    node.plugin_services.token_cache.clear();
    if let Some(oxd) = &node.oxd {
        oxd.purge_caches();
    }
    if let Some(remote) = &node.plugin_services.remote_oxd {
        remote.purge_caches();
    }
    StatusCode::NO_CONTENT
}

/// `GET /cache/{key}`: nothing is cached by entity key (see [`purge_cache`]).
async fn cached() -> Response {
    (StatusCode::NOT_FOUND, axum::Json(serde_json::json!({"message": "Not found"}))).into_response()
}

/// `GET /gluu-metrics`: the Prometheus text of gluu-metrics (`gluu-plugins.md` §12).
async fn gluu_metrics(State(node): State<Arc<Node>>) -> Response {
    let mut response = node.plugin_services.metrics.render().into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4"));
    response
}

async fn endpoints() -> Response {
    let list: Vec<String> = catalogue::catalogue().into_iter().map(|e| e.template).collect();
    json(StatusCode::OK, &serde_json::json!({ "data": list }))
}

async fn openapi_document() -> Response {
    json(StatusCode::OK, &openapi::document())
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

/// The optional `admin_api_token`, then `Server`, `X-Kong-Admin-Latency` (as the `headers` setting allows) and
/// `Access-Control-Allow-Origin: *` on every response.
async fn kong_headers(State(node): State<Arc<Node>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let is_head = request.method() == Method::HEAD;
    let token = &node.config.admin_api_token;
    let mut response = if !token.is_empty() && request.method() != Method::OPTIONS && !carries_token(&request, token) {
        AdminError::Unauthorized.into_response()
    } else {
        next.run(request).await
    };
    let headers = response.headers_mut();
    if node.headers.server {
        headers.insert(header::SERVER, HeaderValue::from_static(concat!("gatehouse/", env!("CARGO_PKG_VERSION"))));
    }
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    if node.headers.admin_latency {
        headers.insert("x-kong-admin-latency", HeaderValue::from(started.elapsed().as_millis() as u64));
    }
    if is_head {
        *response.body_mut() = axum::body::Body::empty();
    }
    response
}

/// `Authorization: Bearer <token>` or `Kong-Admin-Token: <token>`, compared in constant time.
fn carries_token(request: &Request, token: &str) -> bool {
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .or_else(|| request.headers().get("kong-admin-token").and_then(|v| v.to_str().ok()));
    given.is_some_and(|given| crate::secrets::same_secret(given.as_bytes(), token.as_bytes()))
}

/// A JSON response with Kong's content type.
pub(crate) fn json(status: StatusCode, body: &serde_json::Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"));
    response
}

#[cfg(test)]
mod tests;
