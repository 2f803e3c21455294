//! The oxd-compatible HTTP API (`oxd_listen`, `oxd.md` §1): oxd 4.x's commands for client apps and for tools
//! written against oxd, executed by the embedded oxd module. Every request passes, in oxd's order, the
//! caller-IP allow-list (`bind_ip_addresses`), body parsing, and for protected commands the bearer check: a
//! token of the same client with scope `oxd`, validated by introspection and cached.

mod allow_list;
mod authorization;
mod commands;

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use proxy::listener::ConnInfo;
use proxy::oxd::{Oxd, OxdError};
use serde_json::{Map, Value, json};

pub use allow_list::CallerAllowList;
use authorization::Authorization;
use commands::{OPEN, PROTECTED};

use crate::config::OxdApiSettings;

struct OxdApi {
    oxd: Arc<Oxd>,
    authorization: Authorization,
}

pub fn router(allow_list: Arc<CallerAllowList>, settings: OxdApiSettings, oxd: Option<Arc<Oxd>>) -> Router {
    let commands = match oxd {
        Some(oxd) => Router::new()
            .route("/{command}", post(command))
            .route("/get-rp-jwks", get(rp_jwks))
            .route("/get-request-object/{id}", get(request_object))
            .with_state(Arc::new(OxdApi { authorization: Authorization::new(oxd.clone(), settings), oxd })),
        None => Router::new(),
    };
    Router::new()
        .route("/health-check", get(health_check))
        .merge(commands)
        .fallback(|| async { oxd_json(StatusCode::NOT_FOUND, json!({"code": 404, "message": "HTTP 404 Not Found"})) })
        .layer(middleware::from_fn_with_state(allow_list, check_caller))
        .layer(middleware::from_fn(log_command))
}

async fn health_check() -> Response {
    oxd_json(StatusCode::OK, json!({"application": "oxd", "version": proxy::VERSION, "status": "running"}))
}

/// One line per call: the command (the path's first segment, never a request object's id), the caller and the
/// status. Bodies are never logged: they carry client secrets and tokens.
async fn log_command(request: Request, next: Next) -> Response {
    let command = request.uri().path().trim_start_matches('/').split('/').next().unwrap_or_default().to_string();
    let caller = request.extensions().get::<ConnInfo>().map(|conn| conn.remote.ip());
    let response = next.run(request).await;
    tracing::info!(command, caller = ?caller, status = response.status().as_u16(), "oxd command");
    response
}

async fn check_caller(State(allow_list): State<Arc<CallerAllowList>>, request: Request, next: Next) -> Response {
    let caller = request.extensions().get::<ConnInfo>().map(|conn| conn.remote.ip());
    match caller {
        Some(ip) if allow_list.allows(ip) => next.run(request).await,
        _ => error_response(OxdError::access_denied()),
    }
}

async fn command(
    State(api): State<Arc<OxdApi>>,
    Path(command): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !PROTECTED.contains(&command.as_str()) && !OPEN.contains(&command.as_str()) {
        return oxd_json(StatusCode::NOT_FOUND, json!({"code": 404, "message": "HTTP 404 Not Found"}));
    }
    let params: Map<String, Value> = if body.iter().all(u8::is_ascii_whitespace) {
        Map::new()
    } else {
        match serde_json::from_slice::<Value>(&body) {
            Ok(Value::Object(params)) => params,
            Ok(_) => return plain(StatusCode::BAD_REQUEST, "Invalid parameters. Message: expected a JSON object"),
            Err(error) => return plain(StatusCode::BAD_REQUEST, &format!("Invalid parameters. Message: {error}")),
        }
    };
    let outcome = async {
        if PROTECTED.contains(&command.as_str()) {
            api.authorization.check(&headers, &params).await?;
        }
        commands::execute(&api.oxd, &command, &params).await
    }
    .await;
    match outcome {
        Ok(answer) => oxd_json(StatusCode::OK, answer),
        Err(error) => error_response(error),
    }
}

/// `GET /get-rp-jwks`: the RP signing key of `oxd_enable_jwks_generation`.
async fn rp_jwks(State(api): State<Arc<OxdApi>>) -> Response {
    match api.oxd.rp_jwks() {
        Ok(jwks) => oxd_json(StatusCode::OK, jwks),
        Err(error) => error_response(error),
    }
}

/// `GET /get-request-object/{id}`: a request object of `get-request-object-uri`, as the OP fetches it.
async fn request_object(State(api): State<Arc<OxdApi>>, Path(id): Path<String>) -> Response {
    match api.oxd.request_object(&id).await {
        Ok(jwt) => plain(StatusCode::OK, &jwt),
        Err(error) => error_response(error),
    }
}

fn error_response(error: OxdError) -> Response {
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, error.body()).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

fn plain(status: StatusCode, text: &str) -> Response {
    let mut response = (status, text.to_string()).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    response
}

fn oxd_json(status: StatusCode, body: Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    async fn call_from(remote: &str, uri: &str) -> (StatusCode, serde_json::Value) {
        let allow_list = Arc::new(CallerAllowList::parse("").unwrap());
        let mut request = Request::builder().uri(uri).body(Body::empty()).unwrap();
        let remote = remote.parse().unwrap();
        request.extensions_mut().insert(ConnInfo { remote, local: remote, tls: true, sni: None });
        let settings =
            OxdApiSettings { protect_commands_with_access_token: true, protect_commands_with_oxd_id: vec![] };
        let response = router(allow_list, settings, None).oneshot(request).await.unwrap();
        let status = response.status();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, serde_json::from_slice(&body).unwrap())
    }

    #[tokio::test]
    async fn health_check_answers_loopback_callers_in_oxd_45_form() {
        let (status, body) = call_from("127.0.0.1:5000", "/health-check").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, json!({"application": "oxd", "version": proxy::VERSION, "status": "running"}));
        let (status, _) = call_from("[::1]:5000", "/health-check").await;
        assert_eq!(status, StatusCode::OK);
    }

    #[tokio::test]
    async fn other_callers_are_denied_even_the_health_check() {
        let (status, body) = call_from("192.0.2.7:5000", "/health-check").await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(body["error"], "oxd_access_denied");
        assert!(body["error_description"].as_str().unwrap().contains("bind_ip_addresses"));
    }
}
