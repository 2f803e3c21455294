//! The bundled plugins and the plugin chain, end to end: configured through the Admin API of the running
//! binary, exercised through its proxy against a real echo upstream (and a real Redis for that policy).

mod support;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use support::{Gatehouse, echo, free_port};

async fn admin(node: &Gatehouse, method: reqwest::Method, path: &str, body: Value) -> Value {
    let response = reqwest::Client::new().request(method, node.admin_url(path)).json(&body).send().await.unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{path}: {status} {body}");
    body
}

/// A service on the echo upstream with one route at `path`.
async fn route(node: &Gatehouse, upstream: std::net::SocketAddr, name: &str, path: &str) -> Value {
    admin(node, reqwest::Method::PUT, &format!("/services/{name}"), json!({"url": format!("http://{upstream}")})).await;
    admin(node, reqwest::Method::PUT, &format!("/routes/{name}"), json!({"paths": [path], "service": {"name": name}}))
        .await
}

/// Polls until a request to `path` gives `status` (the configuration went live).
async fn until(node: &Gatehouse, path: &str, status: u16) {
    let started = Instant::now();
    loop {
        let response = reqwest::get(format!("http://{}{path}", node.proxy_http)).await.unwrap();
        if response.status() == status {
            return;
        }
        assert!(started.elapsed() < Duration::from_secs(5), "{path} never answered {status}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Polls until a response to `path` carries `header` (a plugin's configuration went live).
async fn until_header(node: &Gatehouse, path: &str, request: &[(&str, &str)], header: &str) {
    let started = Instant::now();
    while !get(node, path, request).await.1.contains_key(header) {
        assert!(started.elapsed() < Duration::from_secs(5), "{path} never carried {header}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn get(node: &Gatehouse, path: &str, headers: &[(&str, &str)]) -> (u16, HeaderMap, String) {
    let mut request = reqwest::Client::new().get(format!("http://{}{path}", node.proxy_http));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let (status, headers) = (response.status().as_u16(), response.headers().clone());
    (status, headers, response.text().await.unwrap())
}

#[tokio::test]
async fn ip_restriction_denies_with_a_negotiated_403_and_allows_listed_blocks() {
    let upstream = echo::start().await;
    let (node, _dir) = Gatehouse::start(&[]);
    route(&node, upstream, "open", "/open").await;
    route(&node, upstream, "closed", "/closed").await;
    admin(
        &node,
        reqwest::Method::POST,
        "/routes/open/plugins",
        json!({"name": "ip-restriction", "config": {"allow": ["127.0.0.0/8", "::1"]}}),
    )
    .await;
    admin(
        &node,
        reqwest::Method::POST,
        "/routes/closed/plugins",
        json!({"name": "ip-restriction", "config": {"whitelist": ["10.0.0.0/8"]}}),
    )
    .await;
    until(&node, "/closed", 403).await;
    let (status, headers, body) = get(&node, "/closed", &[]).await;
    assert_eq!((status, body.as_str()), (403, "{\n  \"message\":\"Your IP address is not allowed\"\n}"));
    assert_eq!(headers["content-type"], "application/json; charset=utf-8");
    assert!(headers.contains_key("x-kong-response-latency") && !headers.contains_key("x-kong-upstream-latency"));
    let (_, headers, body) = get(&node, "/closed", &[("accept", "text/html;q=0.5, text/plain")]).await;
    assert_eq!(
        (headers["content-type"].to_str().unwrap(), body.as_str()),
        ("text/plain; charset=utf-8", "Your IP address is not allowed\n")
    );
    assert_eq!(get(&node, "/open", &[]).await.0, 200);
}

#[tokio::test]
async fn rate_limiting_local_counts_per_period_and_answers_429_with_kongs_headers() {
    let upstream = echo::start().await;
    let (node, _dir) = Gatehouse::start(&[]);
    route(&node, upstream, "limited", "/limited").await;
    admin(
        &node,
        reqwest::Method::POST,
        "/plugins",
        json!({"name": "rate-limiting", "config": {"minute": 3, "hour": 100, "policy": "local"}}),
    )
    .await;
    until_header(&node, "/limited", &[], "x-ratelimit-remaining-minute").await;
    let mut seen = Vec::new();
    for _ in 0..4 {
        let (status, headers, body) = get(&node, "/limited", &[]).await;
        seen.push((status, headers, body));
    }
    let remaining: Vec<&str> =
        seen.iter().map(|(_, h, _)| h["x-ratelimit-remaining-minute"].to_str().unwrap()).collect();
    assert_eq!(remaining, ["1", "0", "0", "0"], "one request counted before");
    assert_eq!(seen.iter().map(|s| s.0).collect::<Vec<_>>(), [200, 200, 429, 429]);
    let (_, headers, body) = &seen[2];
    assert_eq!(body, "{\n  \"message\":\"API rate limit exceeded\"\n}");
    assert_eq!(headers["x-ratelimit-limit-minute"], "3");
    assert_eq!(headers["x-ratelimit-limit-hour"], "100");
    assert_eq!(headers["x-ratelimit-remaining-hour"], "97", "not exceeded: the hour shows its remaining");
    assert_eq!(headers["ratelimit-limit"], "3");
    assert_eq!(headers["ratelimit-remaining"], "0");
    let reset: u64 = headers["ratelimit-reset"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&reset));
    assert_eq!(headers["retry-after"], headers["ratelimit-reset"]);
}

struct Redis(Child);

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A throw-away Redis server on a free loopback port.
fn redis() -> (Redis, u16) {
    let port = free_port().port();
    let child = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
        .stdout(Stdio::null())
        .spawn()
        .expect("redis-server must be installed (./scripts/setup test installs it)");
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(started.elapsed() < Duration::from_secs(5), "redis-server did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    (Redis(child), port)
}

/// Counts under a shared policy land asynchronously after each response; poll until `want` shows.
async fn remaining_until(node: &Gatehouse, path: &str, header: &str, want: &str) -> (u16, HeaderMap) {
    let started = Instant::now();
    loop {
        let (status, headers, _) = get(node, path, &[]).await;
        if headers.get(header).is_some_and(|v| v == want) || status == 429 {
            return (status, headers);
        }
        assert!(started.elapsed() < Duration::from_secs(5), "{header} never reached {want}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn rate_limiting_shares_counters_in_redis_and_in_the_database() {
    let upstream = echo::start().await;
    let (redis, port) = redis();
    let (node, _dir) = Gatehouse::start(&[]);
    route(&node, upstream, "redis", "/redis").await;
    route(&node, upstream, "cluster", "/cluster").await;
    admin(
        &node,
        reqwest::Method::POST,
        "/routes/redis/plugins",
        json!({"name": "rate-limiting",
        "config": {"minute": 3, "policy": "redis", "redis_host": "127.0.0.1", "redis_port": port, "limit_by": "ip"}}),
    )
    .await;
    admin(
        &node,
        reqwest::Method::POST,
        "/routes/cluster/plugins",
        json!({"name": "rate-limiting", "config": {"minute": 3, "policy": "cluster"}}),
    )
    .await;
    for path in ["/redis", "/cluster"] {
        until(&node, path, 200).await;
        let (status, _) = remaining_until(&node, path, "x-ratelimit-remaining-minute", "0").await;
        assert_eq!(status, 200);
        let (status, headers) = remaining_until(&node, path, "x-ratelimit-remaining-minute", "never").await;
        assert_eq!((status, headers["x-ratelimit-remaining-minute"].to_str().unwrap()), (429, "0"), "{path}");
    }
    // The counters are really in Redis, under Kong's key.
    let keys = Command::new("redis-cli")
        .args(["-p", &port.to_string(), "--scan", "--pattern", "ratelimit:*"])
        .output()
        .unwrap();
    let keys = String::from_utf8_lossy(&keys.stdout);
    assert!(keys.lines().any(|k| k.ends_with(":minute") && k.contains(":127.0.0.1:")), "{keys}");

    // Redis going away: fault_tolerant (the default) lets requests through without the headers.
    drop(redis);
    admin(&node, reqwest::Method::PUT, "/routes/redis", json!({"paths": ["/redis2"], "service": {"name": "redis"}}))
        .await;
    until(&node, "/redis2", 200).await;
    let (status, headers, _) = get(&node, "/redis2", &[]).await;
    assert_eq!(status, 200);
    assert!(!headers.contains_key("x-ratelimit-remaining-minute"));
}

#[tokio::test]
async fn cors_answers_preflights_and_decorates_responses_even_when_a_later_plugin_refuses() {
    let upstream = echo::start().await;
    let (node, _dir) = Gatehouse::start(&[]);
    route(&node, upstream, "web", "/web").await;
    admin(
        &node,
        reqwest::Method::POST,
        "/routes/web/plugins",
        json!({"name": "cors", "config": {
        "origins": ["https://app\\.example\\.com", "http://localhost:8080"], "methods": ["GET", "POST"],
        "headers": ["x-token"], "exposed_headers": ["x-total"], "max_age": 600, "credentials": true}}),
    )
    .await;
    until_header(&node, "/web", &[("origin", "http://localhost:8080")], "access-control-allow-origin").await;
    let preflight = reqwest::Client::new()
        .request(reqwest::Method::OPTIONS, format!("http://{}/web/items", node.proxy_http))
        .header("origin", "https://app.example.com")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 200);
    let headers = preflight.headers();
    assert_eq!(headers["access-control-allow-origin"], "https://app.example.com");
    assert_eq!(headers["access-control-allow-methods"], "GET,POST");
    assert_eq!(headers["access-control-allow-headers"], "x-token");
    assert_eq!(headers["access-control-max-age"], "600");
    assert_eq!(headers["access-control-allow-credentials"], "true");
    assert_eq!(headers["vary"], "Origin");

    let (status, headers, body) = get(&node, "/web/items", &[("origin", "http://localhost:8080")]).await;
    assert_eq!(status, 200);
    assert_eq!(headers["access-control-allow-origin"], "http://localhost:8080");
    assert_eq!(headers["access-control-expose-headers"], "x-total");
    assert!(body.contains("\"path\":\"/items\""), "{body}");
    let (_, headers, _) = get(&node, "/web/items", &[("origin", "https://evil.test")]).await;
    assert!(!headers.contains_key("access-control-allow-origin"));

    // ip-restriction (990) refuses after cors (2000) ran: the refusal still carries the CORS headers.
    admin(
        &node,
        reqwest::Method::POST,
        "/routes/web/plugins",
        json!({"name": "ip-restriction", "config": {"deny": ["127.0.0.1", "::1"]}}),
    )
    .await;
    until(&node, "/web", 403).await;
    let (status, headers, _) = get(&node, "/web", &[("origin", "http://localhost:8080")]).await;
    assert_eq!(status, 403);
    assert_eq!(headers["access-control-allow-origin"], "http://localhost:8080");
}

#[tokio::test]
async fn request_transformer_rewrites_uri_method_headers_query_and_body_in_kongs_order() {
    let upstream = echo::start().await;
    let (node, _dir) = Gatehouse::start(&[]);
    admin(&node, reqwest::Method::PUT, "/services/tx", json!({"url": format!("http://{upstream}")})).await;
    admin(
        &node,
        reqwest::Method::PUT,
        "/routes/tx",
        json!({"paths": ["/orders/(?<order>\\d+)$"], "service": {"name": "tx"}}),
    )
    .await;
    admin(&node, reqwest::Method::POST, "/routes/tx/plugins", json!({"name": "request-transformer", "config": {
        "http_method": "PUT",
        "remove": {"headers": ["x-secret"], "querystring": ["drop"], "body": ["password"]},
        "rename": {"headers": ["x-old:x-new"], "querystring": ["q:query"]},
        "replace": {"uri": "/v2/orders/$(uri_captures.order)", "headers": ["x-mode:replaced", "host:replaced.test"], "body": ["name:$(headers.x-user or \"anon\")"]},
        "add": {"headers": ["x-from:$(query_params.src)", "host:not-added.test", "x-forwarded-for:203.0.113.9"], "querystring": ["added:yes"], "body": ["added:1"]},
        "append": {"headers": ["x-mode:appended"], "body": ["tags:b"]}
    }})).await;
    // Live once the plugin rewrites the path (the route alone answers 200 earlier).
    let started = Instant::now();
    while !get(&node, "/orders/7", &[]).await.2.contains("\"path\":\"/v2/orders/7\"") {
        assert!(started.elapsed() < Duration::from_secs(5), "request-transformer never went live");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let response = reqwest::Client::new()
        .post(format!("http://{}/orders/42?drop=1&q=find&src=web", node.proxy_http))
        .header("x-secret", "s")
        .header("x-old", "moved")
        .header("x-mode", "original")
        .header("content-type", "application/json")
        .body(r#"{"name":"n","password":"p","tags":"a"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let echoed: Value = response.json().await.unwrap();
    assert_eq!(echoed["method"], "PUT", "{echoed}");
    assert_eq!(echoed["path"], "/v2/orders/42");
    let query: Vec<&str> = echoed["query"].as_str().unwrap().split('&').collect();
    assert_eq!(query, ["query=find", "src=web", "added=yes"]);
    let headers = &echoed["headers"];
    assert!(headers.get("x-secret").is_none() && headers.get("x-old").is_none());
    assert_eq!(headers["x-new"], "moved");
    assert_eq!(headers["x-from"], "web");
    assert_eq!(headers["host"], "replaced.test", "a Host the plugin set goes upstream; add never sets host");
    assert_eq!(headers["x-forwarded-for"], "203.0.113.9, 127.0.0.1", "the plugin's X-Forwarded-For is extended");
    let body: Value = serde_json::from_str(echoed["body"].as_str().unwrap()).unwrap();
    assert_eq!(body, json!({"name": "anon", "tags": ["a", "b"], "added": "1"}));
}

#[tokio::test]
async fn acl_without_an_authenticated_consumer_is_401_and_acls_are_managed_under_consumers() {
    let upstream = echo::start().await;
    let (node, _dir) = Gatehouse::start(&[]);
    route(&node, upstream, "members", "/members").await;
    admin(
        &node,
        reqwest::Method::POST,
        "/routes/members/plugins",
        json!({"name": "acl", "config": {"allow": ["gold"]}}),
    )
    .await;
    until(&node, "/members", 401).await;
    let (_, _, body) = get(&node, "/members", &[]).await;
    assert_eq!(body, "{\n  \"message\":\"Unauthorized\"\n}");

    admin(&node, reqwest::Method::PUT, "/consumers/alice", json!({})).await;
    let created = admin(&node, reqwest::Method::POST, "/consumers/alice/acls", json!({"group": "gold"})).await;
    assert_eq!(created["group"], "gold");
    let by_group = admin(&node, reqwest::Method::GET, "/consumers/alice/acls/gold", json!(null)).await;
    assert_eq!(by_group["id"], created["id"]);
    let put = admin(&node, reqwest::Method::PUT, "/consumers/alice/acls/silver", json!({})).await;
    assert_eq!(put["group"], "silver");
    let listed = admin(&node, reqwest::Method::GET, "/acls", json!(null)).await;
    assert_eq!(listed["data"].as_array().unwrap().len(), 2);
    let duplicate = reqwest::Client::new()
        .post(node.admin_url("/consumers/alice/acls"))
        .json(&json!({"group": "gold"}))
        .send()
        .await
        .unwrap();
    assert_eq!(duplicate.status(), 409);
    // Deleting the consumer takes its groups along.
    admin(&node, reqwest::Method::DELETE, "/consumers/alice", json!(null)).await;
    let listed = admin(&node, reqwest::Method::GET, "/acls", json!(null)).await;
    assert!(listed["data"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn a_plugin_for_grpc_applies_to_requests_whose_content_type_says_grpc() {
    let upstream = echo::start().await;
    let (node, _dir) = Gatehouse::start(&[]);
    route(&node, upstream, "mixed", "/mixed").await;
    admin(
        &node,
        reqwest::Method::POST,
        "/routes/mixed/plugins",
        json!({"name": "ip-restriction", "protocols": ["grpc", "grpcs"], "config": {"allow": ["10.0.0.0/8"]}}),
    )
    .await;
    let grpc = [("content-type", "application/grpc")];
    let started = Instant::now();
    while get(&node, "/mixed", &grpc).await.0 != 403 {
        assert!(started.elapsed() < Duration::from_secs(5), "the plugin never went live");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(get(&node, "/mixed", &[]).await.0, 200, "plain HTTP is not gRPC");
    assert_eq!(get(&node, "/mixed", &[("content-type", "text/plain")]).await.0, 200);
}
