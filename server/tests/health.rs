//! Load balancing and health checks of the running binary against real upstreams on loopback that are
//! really stopped and started again (`proxy.md` §8, §9; `admin-api.md` §4.7).

mod support;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::Gatehouse;
use support::echo::{self, Switchable};

async fn admin(node: &Gatehouse, method: Method, path: &str, body: Value) -> (StatusCode, Value) {
    let response = reqwest::Client::new().request(method, node.admin_url(path)).json(&body).send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn ok(node: &Gatehouse, method: Method, path: &str, body: Value) -> Value {
    let (status, body) = admin(node, method, path, body).await;
    assert!(status.is_success(), "{path}: {status} {body}");
    body
}

/// Kong's default `healthchecks`, edited.
fn healthchecks(edit: impl FnOnce(&mut Value)) -> Value {
    let mut checks = json!({
        "active": {"type": "http", "timeout": 1, "concurrency": 10, "http_path": "/",
                   "healthy": {"interval": 0, "successes": 0},
                   "unhealthy": {"interval": 0, "tcp_failures": 0, "timeouts": 0, "http_failures": 0}},
        "passive": {"healthy": {"successes": 0},
                    "unhealthy": {"tcp_failures": 0, "timeouts": 0, "http_failures": 0}},
        "threshold": 0
    });
    edit(&mut checks);
    checks
}

/// An upstream `backend.internal` over `targets`, a service on it with `retries`, and a route `/lb`.
async fn balanced(node: &Gatehouse, upstream: Value, targets: &[std::net::SocketAddr], retries: u32) {
    ok(node, Method::PUT, "/upstreams/backend.internal", upstream).await;
    for target in targets {
        ok(node, Method::POST, "/upstreams/backend.internal/targets", json!({"target": target.to_string()})).await;
    }
    ok(
        node,
        Method::PUT,
        "/services/balanced",
        json!({"host": "backend.internal", "port": 80, "retries": retries, "connect_timeout": 1000,
               "read_timeout": 2000}),
    )
    .await;
    ok(node, Method::POST, "/services/balanced/routes", json!({"paths": ["/lb"]})).await;
    eventually(|| async { proxy(node, &[]).await.0 == 200 }, "the route goes live").await;
}

/// One proxied request to `/lb`: status, the upstream that served it, and the response headers.
async fn proxy(node: &Gatehouse, headers: &[(&str, &str)]) -> (u16, String, reqwest::header::HeaderMap) {
    let mut request = reqwest::Client::new().get(format!("http://{}/lb", node.proxy_http));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let (status, response_headers) = (response.status().as_u16(), response.headers().clone());
    let body: Value = response.json().await.unwrap_or(Value::Null);
    (status, body["server"].as_str().unwrap_or_default().to_string(), response_headers)
}

/// Which upstream served each of `n` requests (every one must succeed).
async fn served(node: &Gatehouse, n: usize) -> HashMap<String, usize> {
    let mut served = HashMap::new();
    for _ in 0..n {
        let (status, server, _) = proxy(node, &[]).await;
        assert_eq!(status, 200);
        *served.entry(server).or_insert(0) += 1;
    }
    served
}

/// The `health` of each target in `GET /upstreams/backend.internal/health`, by target.
async fn health(node: &Gatehouse) -> HashMap<String, String> {
    let body = ok(node, Method::GET, "/upstreams/backend.internal/health", Value::Null).await;
    body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["target"].as_str().unwrap().to_string(), t["health"].as_str().unwrap().to_string()))
        .collect()
}

async fn eventually<F, Fut>(mut check: F, what: &str)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(10);
    while !check().await {
        assert!(Instant::now() < deadline, "{what} did not happen within 10 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn passive_checks_take_a_dead_target_out_and_traffic_goes_to_the_healthy_one() {
    let (mut a, b) = (Switchable::start().await, Switchable::start().await);
    let (node, _dir) = Gatehouse::start(&[]);
    let checks = healthchecks(|c| c["passive"]["unhealthy"]["tcp_failures"] = json!(1));
    balanced(&node, json!({"healthchecks": checks}), &[a.addr, b.addr], 1).await;
    assert_eq!(served(&node, 4).await.len(), 2, "both targets serve while healthy");

    a.stop().await;
    // The request that meets the dead target is retried on the other one: the client never sees the failure.
    let after = served(&node, 10).await;
    assert_eq!(after.get(&b.addr.to_string()), Some(&10), "{after:?}");
    let states = health(&node).await;
    assert_eq!(states[&a.addr.to_string()], "UNHEALTHY");
    assert_eq!(states[&b.addr.to_string()], "HEALTHY");
    let summary = ok(&node, Method::GET, "/upstreams/backend.internal/health?balancer_health=1", Value::Null).await;
    assert_eq!(summary["data"]["health"], "HEALTHY", "half the weight is still healthy: {summary}");
    assert_eq!(summary["data"]["details"]["weight"], json!({"total": 200, "available": 100, "unavailable": 100}));

    // With retries off too, nothing reaches the dead target any more: it is out of rotation.
    ok(&node, Method::PATCH, "/services/balanced", json!({"retries": 0})).await;
    eventually(|| async { served(&node, 6).await.get(&b.addr.to_string()) == Some(&6) }, "all traffic on B").await;
    assert_eq!(health(&node).await[&a.addr.to_string()], "UNHEALTHY", "a configuration change keeps the state");
}

#[tokio::test]
async fn active_http_checks_notice_a_stopped_target_and_bring_it_back_after_restart() {
    let (mut a, b) = (Switchable::start().await, Switchable::start().await);
    let (node, _dir) = Gatehouse::start(&[]);
    let checks = healthchecks(|c| {
        c["active"]["timeout"] = json!(0.5);
        c["active"]["healthy"] = json!({"interval": 0.1, "successes": 2});
        c["active"]["unhealthy"] = json!({"interval": 0.1, "tcp_failures": 1, "timeouts": 1, "http_failures": 1});
    });
    balanced(&node, json!({"healthchecks": checks}), &[a.addr, b.addr], 0).await;
    let a_name = a.addr.to_string();

    a.stop().await;
    eventually(|| async { health(&node).await[&a_name] == "UNHEALTHY" }, "the probe finds A gone").await;
    assert_eq!(served(&node, 6).await.get(&b.addr.to_string()), Some(&6), "no retries needed: A is skipped");

    a.restart().await;
    eventually(|| async { health(&node).await[&a_name] == "HEALTHY" }, "the probe finds A back").await;
    eventually(|| async { served(&node, 4).await.contains_key(&a_name) }, "A takes traffic again").await;
}

#[tokio::test]
async fn manual_overrides_take_a_target_out_and_put_it_back() {
    let (a, b) = (echo::start().await, echo::start().await);
    let (node, _dir) = Gatehouse::start(&[]);
    balanced(&node, json!({}), &[a, b], 0).await;
    let states = health(&node).await;
    assert!(states.values().all(|h| h == "HEALTHCHECKS_OFF"), "Kong's defaults leave checks off: {states:?}");

    let (status, _) =
        admin(&node, Method::POST, &format!("/upstreams/backend.internal/targets/{a}/unhealthy"), json!({})).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(served(&node, 6).await.get(&b.to_string()), Some(&6), "an override works with checks off too");

    // By target id this time, and the other target too: nothing left to send traffic to.
    let targets = ok(&node, Method::GET, "/upstreams/backend.internal/targets", Value::Null).await;
    let b_id = targets["data"].as_array().unwrap().iter().find(|t| t["target"] == b.to_string()).unwrap()["id"].clone();
    let path = format!("/upstreams/backend.internal/targets/{}/unhealthy", b_id.as_str().unwrap());
    assert_eq!(admin(&node, Method::POST, &path, json!({})).await.0, StatusCode::NO_CONTENT);
    let response = reqwest::get(format!("http://{}/lb", node.proxy_http)).await.unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(response.text().await.unwrap(), r#"{"message":"failure to get a peer from the ring-balancer"}"#);

    for target in [a, b] {
        let path = format!("/upstreams/backend.internal/targets/{target}/healthy");
        assert_eq!(admin(&node, Method::POST, &path, json!({})).await.0, StatusCode::NO_CONTENT);
    }
    assert_eq!(served(&node, 4).await.len(), 2, "both back in rotation");

    let unknown = admin(&node, Method::POST, "/upstreams/backend.internal/targets/10.9.9.9:1/healthy", json!({})).await;
    assert_eq!(unknown, (StatusCode::NOT_FOUND, json!({"message": "Not found"})));
    let unknown = admin(&node, Method::POST, "/upstreams/nowhere/targets/x/healthy", json!({})).await;
    assert_eq!(unknown.0, StatusCode::NOT_FOUND);
    let path = format!("/upstreams/backend.internal/targets/{a}/{a}/unhealthy");
    assert_eq!(admin(&node, Method::POST, &path, json!({})).await.0, StatusCode::NO_CONTENT, "by address");
    let path = format!("/upstreams/backend.internal/targets/{a}/192.0.2.1:80/unhealthy");
    assert_eq!(admin(&node, Method::POST, &path, json!({})).await.0, StatusCode::BAD_REQUEST, "not its address");
    let path = format!("/upstreams/backend.internal/targets/{a}/healthy");
    assert_eq!(admin(&node, Method::GET, &path, json!({})).await.0, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn health_lists_every_target_with_this_nodes_view_and_the_threshold_decides_the_upstream() {
    let (a, b, idle) = (echo::start().await, echo::start().await, echo::start().await);
    let (node, _dir) = Gatehouse::start(&[]);
    let checks = healthchecks(|c| {
        c["passive"]["unhealthy"]["timeouts"] = json!(3);
        c["threshold"] = json!(60);
    });
    balanced(&node, json!({"healthchecks": checks}), &[a, b], 0).await;
    ok(&node, Method::POST, "/upstreams/backend.internal/targets", json!({"target": idle.to_string(), "weight": 0}))
        .await;

    let root = ok(&node, Method::GET, "/", Value::Null).await;
    let body = ok(&node, Method::GET, "/upstreams/backend.internal/health", Value::Null).await;
    assert_eq!(body["node_id"], root["node_id"]);
    assert_eq!(body["next"], Value::Null);
    let data = body["data"].as_array().unwrap();
    assert_eq!(data.len(), 3, "weight-0 targets are listed too: {body}");
    for target in data {
        assert_eq!(target["health"], "HEALTHY");
        for field in ["id", "target", "weight", "upstream", "created_at"] {
            assert!(target.get(field).is_some(), "{field} in {target}");
        }
    }
    let all = ok(&node, Method::GET, "/upstreams/backend.internal/targets/all", Value::Null).await;
    assert_eq!(all["data"].as_array().unwrap().len(), 3);
    let page = ok(&node, Method::GET, "/upstreams/backend.internal/health?size=2", Value::Null).await;
    assert!(page["next"].as_str().unwrap().starts_with("/upstreams/backend.internal/health?offset="), "{page}");

    ok(&node, Method::POST, &format!("/upstreams/backend.internal/targets/{a}/unhealthy"), json!({})).await;
    let states = health(&node).await;
    assert_eq!((states[&a.to_string()].as_str(), states[&b.to_string()].as_str()), ("UNHEALTHY", "HEALTHY"));
    let summary = ok(&node, Method::GET, "/upstreams/backend.internal/health?balancer_health=1", Value::Null).await;
    assert_eq!(summary["data"]["health"], "UNHEALTHY", "50% healthy is below the 60% threshold: {summary}");
    assert_eq!(summary["data"]["details"]["healthy"], false);
    let (status, _, _) = proxy(&node, &[]).await;
    assert_eq!(status, 503, "below the threshold the upstream takes no traffic, healthy targets or not");

    assert_eq!(admin(&node, Method::GET, "/upstreams/nowhere/health", Value::Null).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn hashing_on_a_cookie_sets_it_once_and_keeps_the_client_on_one_target() {
    let targets = [echo::start().await, echo::start().await, echo::start().await];
    let (node, _dir) = Gatehouse::start(&[]);
    let upstream = json!({"hash_on": "cookie", "hash_on_cookie": "lb", "hash_on_cookie_path": "/lb"});
    balanced(&node, upstream, &targets, 0).await;

    let (_, first, headers) = proxy(&node, &[]).await;
    let set_cookie = headers["set-cookie"].to_str().unwrap().to_string();
    let cookie = set_cookie.split(';').next().unwrap().to_string();
    assert!(cookie.starts_with("lb=") && set_cookie.ends_with("; Path=/lb"), "{set_cookie}");
    for _ in 0..10 {
        let (status, server, headers) = proxy(&node, &[("cookie", &cookie)]).await;
        assert_eq!((status, server.as_str()), (200, first.as_str()), "the cookie pins the target");
        assert!(!headers.contains_key("set-cookie"), "no new cookie when the client sent one");
    }
}

#[tokio::test]
async fn a_target_named_by_host_name_is_resolved_and_keeps_its_name_as_the_host() {
    let (node, _dir) = Gatehouse::start(&[]);
    let upstream = echo::start().await;
    ok(&node, Method::PUT, "/upstreams/backend.internal", json!({})).await;
    let target = format!("localhost:{}", upstream.port());
    ok(&node, Method::POST, "/upstreams/backend.internal/targets", json!({"target": target})).await;
    ok(&node, Method::PUT, "/services/balanced", json!({"host": "backend.internal", "retries": 1})).await;
    ok(&node, Method::POST, "/services/balanced/routes", json!({"paths": ["/lb"]})).await;
    eventually(|| async { proxy(&node, &[]).await.0 == 200 }, "the route goes live").await;
    let body: Value = reqwest::get(format!("http://{}/lb", node.proxy_http)).await.unwrap().json().await.unwrap();
    assert_eq!(body["headers"]["host"], target, "the Host header names the target, not its address");
    assert_eq!(body["server"], upstream.to_string());
}
