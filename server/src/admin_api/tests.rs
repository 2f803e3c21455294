//! Admin API tests driven through the router, without sockets.

use super::*;
use crate::config::Config;
use crate::store::Store;
use axum::body::Body;
use http_body_util::BodyExt;
use tower::ServiceExt;

async fn node() -> (Arc<Node>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let config = Config { prefix: dir.path().into(), pg_password: "hunter2".into(), ..Config::default() };
    let store = Store::open_sqlite(&config.sqlite_file()).await.unwrap();
    (Arc::new(Node::new(config, Arc::new(store))), dir)
}

async fn call(node: &Arc<Node>, method: &str, uri: &str) -> (StatusCode, axum::http::HeaderMap, String) {
    let request = Request::builder().method(method).uri(uri).body(Body::empty()).unwrap();
    let response = service(node.clone()).oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let body = String::from_utf8(body.collect().await.unwrap().to_bytes().to_vec()).unwrap();
    (parts.status, parts.headers, body)
}

#[tokio::test]
async fn root_reports_kong_version_node_and_masked_configuration() {
    let (node, _dir) = node().await;
    let (status, headers, body) = call(&node, "GET", "/").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "application/json; charset=utf-8");
    assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    assert!(headers[header::SERVER].to_str().unwrap().starts_with("gatehouse/"));
    assert!(headers.contains_key("x-kong-admin-latency"));
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["version"], "2.2.1");
    assert_eq!(body["tagline"], "Welcome to kong");
    assert_eq!(body["node_id"], node.id.to_string());
    assert_eq!(body["plugins"]["enabled_in_cluster"], serde_json::json!([]));
    assert_eq!(body["configuration"]["pg_password"], "******");
    assert_eq!(body["configuration"]["admin_listen"], serde_json::json!(["127.0.0.1:8001"]));
}

#[tokio::test]
async fn status_reports_database_memory_and_counters() {
    let (node, _dir) = node().await;
    let (status, _, body) = call(&node, "GET", "/status/").await;
    assert_eq!(status, StatusCode::OK, "trailing slash is tolerated");
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["database"]["reachable"], true);
    assert!(body["memory"]["workers_lua_vms"][0]["http_allocated_gc"].as_str().unwrap().ends_with(" MiB"));
    assert_eq!(body["server"]["connections_active"], 0);
    let (_, _, body) = call(&node, "GET", "/status?unit=b").await;
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(body["memory"]["workers_lua_vms"][0]["http_allocated_gc"].is_u64());
    let (status, _, body) = call(&node, "GET", "/status?unit=x").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("invalid unit"));
}

#[tokio::test]
async fn unknown_paths_and_methods_get_kongs_errors() {
    let (node, _dir) = node().await;
    let (status, headers, body) = call(&node, "GET", "/nope").await;
    assert_eq!((status, body.as_str()), (StatusCode::NOT_FOUND, r#"{"message":"Not found"}"#));
    assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    let (status, _, body) = call(&node, "DELETE", "/status").await;
    assert_eq!((status, body.as_str()), (StatusCode::METHOD_NOT_ALLOWED, r#"{"message":"Method not allowed"}"#));
}

#[tokio::test]
async fn the_headers_setting_switches_server_and_latency_headers() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config { prefix: dir.path().into(), headers: "off".into(), ..Config::default() };
    let store = Store::open_sqlite(&config.sqlite_file()).await.unwrap();
    let quiet = Arc::new(Node::new(config, Arc::new(store)));
    let (_, headers, _) = call(&quiet, "GET", "/").await;
    assert!(!headers.contains_key(header::SERVER) && !headers.contains_key("x-kong-admin-latency"));
    assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
}

#[tokio::test]
async fn an_admin_api_token_is_required_when_set() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config { prefix: dir.path().into(), admin_api_token: "s3cret".into(), ..Config::default() };
    let store = Store::open_sqlite(&config.sqlite_file()).await.unwrap();
    let node = Arc::new(Node::new(config, Arc::new(store)));
    let (status, _, body) = call(&node, "GET", "/services").await;
    assert_eq!((status, body.as_str()), (StatusCode::UNAUTHORIZED, r#"{"message":"Unauthorized"}"#));
    for (name, value) in [("authorization", "Bearer s3cret"), ("kong-admin-token", "s3cret")] {
        let request = Request::builder().uri("/services").header(name, value).body(Body::empty()).unwrap();
        assert_eq!(service(node.clone()).oneshot(request).await.unwrap().status(), StatusCode::OK, "{name}");
    }
    let request =
        Request::builder().uri("/services").header("authorization", "Bearer wrong!").body(Body::empty()).unwrap();
    assert_eq!(service(node.clone()).oneshot(request).await.unwrap().status(), StatusCode::UNAUTHORIZED);
    let (status, _, _) = call(&node, "OPTIONS", "/services").await;
    assert_eq!(status, StatusCode::NO_CONTENT, "preflight needs no token");
    let request = Request::builder().uri("/").header("kong-admin-token", "s3cret").body(Body::empty()).unwrap();
    let response = service(node.clone()).oneshot(request).await.unwrap();
    let root = response.into_body().collect().await.unwrap().to_bytes();
    let root: serde_json::Value = serde_json::from_slice(&root).unwrap();
    assert_eq!(root["configuration"]["admin_api_token"], "******", "the token is never shown");
}

#[tokio::test]
async fn readiness_and_the_default_workspace() {
    let (node, _dir) = node().await;
    let (status, _, body) = call(&node, "GET", "/status/ready").await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, r#"{"message":"ready"}"#));
    let (status, _, body) = call(&node, "GET", "/workspaces").await;
    assert_eq!(status, StatusCode::OK);
    let list: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(list["data"][0]["name"], "default");
    assert_eq!(call(&node, "GET", "/workspaces/default").await.0, StatusCode::OK);
    assert_eq!(call(&node, "GET", "/workspaces/other").await.0, StatusCode::NOT_FOUND);
    assert_eq!(call(&node, "POST", "/workspaces").await.0, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn head_and_options_answer_without_a_body() {
    let (node, _dir) = node().await;
    let (status, _, body) = call(&node, "HEAD", "/").await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, ""));
    let (status, headers, body) = call(&node, "OPTIONS", "/status").await;
    assert_eq!((status, body.as_str()), (StatusCode::NO_CONTENT, ""));
    assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_METHODS], "GET, HEAD, PUT, PATCH, POST, DELETE");
}
