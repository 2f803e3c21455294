//! The oxd-compatible HTTP API (`oxd_listen`): oxd 4.x's commands for client apps and for tools written
//! against oxd. Every request first passes the caller-IP allow-list (oxd's `bind_ip_addresses`).

mod allow_list;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use proxy::listener::ConnInfo;
use serde_json::json;

pub use allow_list::CallerAllowList;

pub fn router(allow_list: Arc<CallerAllowList>) -> Router {
    Router::new()
        .route("/health-check", get(health_check))
        .fallback(|| async { oxd_json(StatusCode::NOT_FOUND, json!({"code": 404, "message": "HTTP 404 Not Found"})) })
        .layer(middleware::from_fn_with_state(allow_list, check_caller))
}

async fn health_check() -> Response {
    oxd_json(StatusCode::OK, json!({"application": "oxd", "version": proxy::VERSION, "status": "running"}))
}

async fn check_caller(State(allow_list): State<Arc<CallerAllowList>>, request: Request, next: Next) -> Response {
    let caller = request.extensions().get::<ConnInfo>().map(|conn| conn.remote.ip());
    match caller {
        Some(ip) if allow_list.allows(ip) => next.run(request).await,
        _ => OxdError::AccessDenied.into_response(),
    }
}

/// oxd's error body: `{"error","error_description","details","reason"}` with the code's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OxdError {
    AccessDenied,
}

impl OxdError {
    fn parts(self) -> (StatusCode, &'static str, &'static str) {
        match self {
            OxdError::AccessDenied => (
                StatusCode::FORBIDDEN,
                "oxd_access_denied",
                "The caller is not allowed to make request to oxd. To allow add ip_address of caller in \
                 `bind_ip_addresses` field of `oxd-server.yml`.",
            ),
        }
    }
}

impl IntoResponse for OxdError {
    fn into_response(self) -> Response {
        let (status, error, description) = self.parts();
        oxd_json(status, json!({"error": error, "error_description": description, "details": null, "reason": null}))
    }
}

fn oxd_json(status: StatusCode, body: serde_json::Value) -> Response {
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
        let response = router(allow_list).oneshot(request).await.unwrap();
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
