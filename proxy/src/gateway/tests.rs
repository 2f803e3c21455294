//! Gateway decisions that need no upstream; proxying itself is tested against real upstreams in
//! `server/tests/proxy.rs`.

use http_body_util::{BodyExt, Empty};
use serde_json::json;
use tower::ServiceExt;

use super::head_lines::push_decimal;
use super::*;
use crate::model::entities::route::Route;
use crate::model::entities::service::Service;
use crate::snapshot::Configuration;

fn conn() -> ConnInfo {
    let addr = "127.0.0.1:9".parse().unwrap();
    ConnInfo { remote: addr, local: addr, tls: false, sni: None }
}

fn snapshot(routes: serde_json::Value, services: serde_json::Value) -> Snapshot {
    let routes: Vec<Route> = serde_json::from_value(routes).unwrap();
    let services: Vec<Service> = serde_json::from_value(services).unwrap();
    Snapshot::build(
        Configuration { version: 1, routes, services, ..Configuration::default() },
        &Default::default(),
        &Default::default(),
    )
    .unwrap()
}

async fn call(gateway: &Gateway, uri: &str) -> (StatusCode, HeaderMap, String) {
    let request = Request::builder().uri(uri).header("host", "example.com").body(Empty::<bytes::Bytes>::new()).unwrap();
    let response = gateway.service(conn()).oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    (parts.status, parts.headers, String::from_utf8(body.to_vec()).unwrap())
}

const SERVICE: &str = "00000000-0000-4000-8000-000000000001";

#[tokio::test]
async fn with_no_route_answers_kongs_404_and_server_as_configured() {
    let gateway = Gateway::new(Snapshot::empty(), GatewaySettings::default());
    let (status, headers, body) = call(&gateway, "/anything").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(headers[header::CONTENT_TYPE], "application/json; charset=utf-8");
    assert_eq!(headers[header::SERVER], PRODUCT);
    assert_eq!(body, r#"{"message":"no Route matched with those values"}"#);
    let quiet = Gateway::new(
        Snapshot::empty(),
        GatewaySettings { headers: HeaderSet::default(), ..GatewaySettings::default() },
    );
    assert!(!call(&quiet, "/").await.1.contains_key(header::SERVER), "headers = off");
}

#[tokio::test]
async fn a_route_without_a_service_answers_503() {
    let gateway = Gateway::new(
        snapshot(json!([{"id": "00000000-0000-4000-8000-0000000000aa", "paths": ["/"]}]), json!([])),
        GatewaySettings::default(),
    );
    let (status, _, body) = call(&gateway, "/x").await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, r#"{"message":"no Service found with those values"}"#)
    );
}

#[tokio::test]
async fn https_only_routes_answer_plain_http_with_426_or_a_redirect() {
    let service = json!([{"id": SERVICE, "protocol": "http", "host": "127.0.0.1", "port": 9, "retries": 0,
                          "connect_timeout": 100, "write_timeout": 100, "read_timeout": 100}]);
    let gateway = Gateway::new(
        snapshot(
            json!([{"id": "00000000-0000-4000-8000-0000000000aa", "paths": ["/secure"], "protocols": ["https"],
                          "service": {"id": SERVICE}},
                        {"id": "00000000-0000-4000-8000-0000000000bb", "paths": ["/moved"], "protocols": ["https"],
                          "https_redirect_status_code": 308, "service": {"id": SERVICE}}]),
            service,
        ),
        GatewaySettings::default(),
    );
    let (status, headers, body) = call(&gateway, "/secure").await;
    assert_eq!((status, body.as_str()), (StatusCode::UPGRADE_REQUIRED, r#"{"message":"Please use HTTPS protocol"}"#));
    assert_eq!(headers[header::UPGRADE], "TLS/1.2, HTTP/1.1");
    let (status, headers, body) = call(&gateway, "/moved/x?a=1").await;
    assert_eq!(status, StatusCode::PERMANENT_REDIRECT);
    assert_eq!(headers[header::LOCATION], "https://example.com/moved/x?a=1");
    assert!(body.is_empty());
}

#[tokio::test]
async fn an_upstream_without_usable_targets_answers_503() {
    let mut config = Configuration { version: 1, ..Configuration::default() };
    config.routes = serde_json::from_value(json!([{"id": "00000000-0000-4000-8000-0000000000aa", "paths": ["/"],
                                                    "service": {"id": SERVICE}}]))
    .unwrap();
    config.services = serde_json::from_value(json!([{"id": SERVICE, "protocol": "http", "host": "Backend.Internal",
        "port": 80, "retries": 0, "connect_timeout": 100, "write_timeout": 100, "read_timeout": 100}]))
    .unwrap();
    config.upstreams =
        serde_json::from_value(json!([{"id": "00000000-0000-4000-8000-0000000000cc", "name": "backend.internal"}]))
            .unwrap();
    let gateway = Gateway::new(
        Snapshot::build(config, &Default::default(), &Default::default()).unwrap(),
        GatewaySettings::default(),
    );
    let (status, _, body) = call(&gateway, "/").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body, r#"{"message":"failure to get a peer from the ring-balancer"}"#);
}

#[test]
fn install_replaces_the_serving_snapshot() {
    let gateway = Gateway::new(Snapshot::empty(), GatewaySettings::default());
    gateway.install(
        Snapshot::build(
            Configuration { version: 7, ..Configuration::default() },
            &Default::default(),
            &Default::default(),
        )
        .unwrap(),
    );
    assert_eq!(gateway.snapshot().config_version, 7);
}

#[test]
fn upstream_server_names_drop_the_port_and_ipv6_brackets() {
    assert_eq!(UpstreamHost::Text("api.example:8443").server_name(), "api.example");
    assert_eq!(UpstreamHost::Text("api.example").server_name(), "api.example");
    assert_eq!(UpstreamHost::Text("[::1]:8443").server_name(), "::1");
    assert_eq!(UpstreamHost::Text("[::1]").server_name(), "::1");
    assert_eq!(UpstreamHost::WithPort("[::1]", 8443).server_name(), "::1");
    assert_eq!(without_port("[::1]:8443"), "[::1]");
}

#[test]
fn numbers_are_written_in_decimal() {
    for port in [0, 7, 80, 443, 8080, 18081, u64::from(u16::MAX), u64::MAX] {
        let mut buf = b"host:".to_vec();
        push_decimal(&mut buf, port);
        assert_eq!(buf, format!("host:{port}").into_bytes());
    }
}

#[tokio::test]
async fn a_service_host_that_does_not_resolve_answers_503() {
    let mut config = Configuration { version: 1, ..Configuration::default() };
    config.routes = serde_json::from_value(json!([{"id": "00000000-0000-4000-8000-0000000000aa", "paths": ["/"],
                                                    "service": {"id": SERVICE}}]))
    .unwrap();
    // `.invalid` never resolves (RFC 6761).
    config.services = serde_json::from_value(json!([{"id": SERVICE, "protocol": "http", "host": "backend.invalid",
        "port": 80, "retries": 2, "connect_timeout": 2000, "write_timeout": 100, "read_timeout": 100}]))
    .unwrap();
    let gateway = Gateway::new(
        Snapshot::build(config, &Default::default(), &Default::default()).unwrap(),
        GatewaySettings::default(),
    );
    let (status, _, body) = call(&gateway, "/").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body, r#"{"message":"name resolution failed"}"#);
}
