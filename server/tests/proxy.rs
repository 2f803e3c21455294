//! The proxy against real upstreams on loopback, configured through the Admin API of the running binary.

mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{Gatehouse, admin, echo, until};

async fn configure(node: &Gatehouse, upstream: std::net::SocketAddr, route: Value) {
    admin(
        node,
        reqwest::Method::PUT,
        "/services/echo",
        json!({"url": format!("http://{upstream}/base"), "read_timeout": 500, "retries": 1}),
    )
    .await;
    admin(node, reqwest::Method::POST, "/services/echo/routes", route).await;
}

#[tokio::test]
async fn requests_reach_the_service_with_kongs_path_and_headers() {
    let upstream = echo::start().await;
    let (node, _dir) = Gatehouse::start(&[]);
    configure(&node, upstream, json!({"name": "api", "paths": ["/api"]})).await;
    let live = until(&node, "/api/items", 200).await;
    eprintln!("route live {live:?} after the Admin API answered");

    let response = reqwest::Client::new()
        .post(format!("http://{}/api/items/42?x=1&y=", node.proxy_http))
        .header("x-custom", "kept")
        .header("connection", "x-drop-me")
        .header("x-drop-me", "hop-by-hop")
        .body("hello upstream")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert_eq!(headers["via"], format!("1.1 gatehouse/{}", env!("CARGO_PKG_VERSION")));
    assert!(headers.contains_key("x-kong-upstream-latency") && headers.contains_key("x-kong-proxy-latency"));
    assert!(!headers.contains_key("x-hop"), "the upstream's hop-by-hop headers stop at the gateway");
    let seen: Value = response.json().await.unwrap();
    assert_eq!(seen["method"], "POST");
    assert_eq!(seen["path"], "/base/items/42", "strip_path removed /api, the service path came first");
    assert_eq!(seen["query"], "x=1&y=");
    assert_eq!(seen["body"], "hello upstream");
    let h = &seen["headers"];
    assert_eq!(h["host"], upstream.to_string());
    assert_eq!(h["x-custom"], "kept");
    assert!(h.get("x-drop-me").is_none(), "headers the client's Connection names are hop-by-hop");
    assert_eq!(h["x-real-ip"], "127.0.0.1");
    assert_eq!(h["x-forwarded-for"], "127.0.0.1");
    assert_eq!(h["x-forwarded-proto"], "http");
    assert_eq!(h["x-forwarded-host"], "127.0.0.1");
    assert_eq!(h["x-forwarded-port"], node.proxy_http.port().to_string());
    assert_eq!(h["x-forwarded-path"], "/api/items/42");
    assert_eq!(h["x-forwarded-prefix"], "/api");

    // A bodiless request (the proxy's own HTTP/1.1 server writes the gateway's headers itself): the same
    // headers, and the gateway's Via replaces one the upstream sent.
    for query in ["", "?via=1.0%20origin"] {
        let response = reqwest::get(format!("http://{}/api/items{query}", node.proxy_http)).await.unwrap();
        assert_eq!(response.status(), 200);
        let vias: Vec<_> = response.headers().get_all("via").iter().map(|v| v.to_str().unwrap().to_string()).collect();
        assert_eq!(vias, [format!("1.1 gatehouse/{}", env!("CARGO_PKG_VERSION"))], "{query}");
        for latency in ["x-kong-upstream-latency", "x-kong-proxy-latency"] {
            let value = response.headers().get(latency).map(|v| v.to_str().unwrap().to_string());
            assert!(value.is_some_and(|v| v.parse::<u64>().is_ok()), "{latency} {query}");
        }
    }
}

#[tokio::test]
async fn forwarded_headers_are_believed_only_from_trusted_peers() {
    let upstream = echo::start().await;
    for (trusted, expect_proto, expect_real_ip) in [(false, "http", "127.0.0.1"), (true, "https", "203.0.113.9")] {
        let settings: &[&str] = if trusted { &["--trusted_ips", "127.0.0.1"] } else { &[] };
        let (node, _dir) = Gatehouse::start(settings);
        configure(&node, upstream, json!({"paths": ["/"], "preserve_host": true})).await;
        until(&node, "/", 200).await;
        let seen: Value = reqwest::Client::new()
            .get(format!("http://{}/x", node.proxy_http))
            .header("host", "api.example.com:8080")
            .header("x-forwarded-for", "198.51.100.1")
            .header("x-forwarded-proto", "https")
            .header("x-real-ip", "203.0.113.9")
            .header("x-forwarded-prefix", "/spoofed")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let h = &seen["headers"];
        assert_eq!(h["x-forwarded-proto"], expect_proto, "trusted = {trusted}");
        assert_eq!(h["x-real-ip"], expect_real_ip, "trusted = {trusted}");
        assert_eq!(h["x-forwarded-for"], "198.51.100.1, 127.0.0.1", "the peer is appended either way");
        assert_eq!(h["host"], "api.example.com:8080", "preserve_host keeps the client's Host");
        assert_eq!(h.get("x-forwarded-prefix").is_some(), trusted, "an untrusted prefix is dropped");
    }
}

#[tokio::test]
async fn a_dead_upstream_is_a_502_and_a_slow_one_a_504_and_the_listener_survives() {
    let upstream = echo::start().await;
    let (node, _dir) = Gatehouse::start(&[]);
    configure(&node, upstream, json!({"paths": ["/slow"]})).await;
    let dead = support::free_port();
    admin(&node, reqwest::Method::PUT, "/services/dead", json!({"url": format!("http://{dead}"), "retries": 2})).await;
    admin(&node, reqwest::Method::POST, "/services/dead/routes", json!({"paths": ["/dead"]})).await;
    until(&node, "/slow", 200).await;
    until(&node, "/dead", 502).await;

    let response = reqwest::Client::new()
        .get(format!("http://{}/dead", node.proxy_http))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 502);
    assert_eq!(
        response.text().await.unwrap(),
        "{\n  \"message\":\"An invalid response was received from the upstream server\"\n}"
    );
    let response = reqwest::Client::new()
        .get(format!("http://{}/slow?sleep_ms=3000", node.proxy_http))
        .header("accept", "text/plain")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 504);
    assert_eq!(response.text().await.unwrap(), "The upstream server is timing out\n");
    assert_eq!(reqwest::get(format!("http://{}/slow", node.proxy_http)).await.unwrap().status(), 200);
}

#[tokio::test]
async fn configuration_changes_go_live_and_away_without_a_restart() {
    let upstream = echo::start().await;
    let (node, _dir) = Gatehouse::start(&[]);
    assert_eq!(reqwest::get(format!("http://{}/live", node.proxy_http)).await.unwrap().status(), 404);
    configure(&node, upstream, json!({"name": "live", "paths": ["/live"]})).await;
    let on = until(&node, "/live", 200).await;
    admin(&node, reqwest::Method::DELETE, "/routes/live", Value::Null).await;
    let off = until(&node, "/live", 404).await;
    eprintln!("live after {on:?}, gone after {off:?}");
    let status: Value = reqwest::get(node.admin_url("/status")).await.unwrap().json().await.unwrap();
    assert!(status["configuration_error"].is_null());
}

#[tokio::test]
async fn services_naming_an_upstream_are_balanced_over_its_targets_by_weight() {
    let (a, b, idle) = (echo::start().await, echo::start().await, echo::start().await);
    let (node, _dir) = Gatehouse::start(&[]);
    admin(&node, reqwest::Method::PUT, "/upstreams/backend.internal", json!({"host_header": "backend.example.com"}))
        .await;
    for (target, weight) in [(a, 200), (b, 100), (idle, 0)] {
        admin(
            &node,
            reqwest::Method::POST,
            "/upstreams/backend.internal/targets",
            json!({"target": target.to_string(), "weight": weight}),
        )
        .await;
    }
    admin(&node, reqwest::Method::PUT, "/services/balanced", json!({"host": "backend.internal", "port": 80})).await;
    admin(&node, reqwest::Method::POST, "/services/balanced/routes", json!({"paths": ["/lb"]})).await;
    until(&node, "/lb", 200).await;

    let mut served = std::collections::HashMap::new();
    for _ in 0..30 {
        let seen: Value = reqwest::get(format!("http://{}/lb", node.proxy_http)).await.unwrap().json().await.unwrap();
        assert_eq!(seen["headers"]["host"], "backend.example.com", "the upstream's host_header");
        *served.entry(seen["server"].as_str().unwrap().to_string()).or_insert(0) += 1;
    }
    assert_eq!(served.get(&a.to_string()), Some(&20), "{served:?}");
    assert_eq!(served.get(&b.to_string()), Some(&10), "{served:?}");
    assert_eq!(served.get(&idle.to_string()), None, "weight 0 takes no traffic");
}

#[tokio::test]
async fn tls_listeners_choose_the_stored_certificate_by_sni_and_fall_back_to_the_default() {
    let upstream = echo::start().await;
    let (node, _dir) = Gatehouse::start(&[]);
    configure(&node, upstream, json!({"paths": ["/"]})).await;
    let generated = rcgen::generate_simple_self_signed(vec!["secure.example".into()]).unwrap();
    admin(
        &node,
        reqwest::Method::PUT,
        "/certificates/secure.example",
        json!({"cert": generated.cert.pem(), "key": generated.key_pair.serialize_pem()}),
    )
    .await;

    // This client trusts only the uploaded certificate: a handshake succeeds only if the proxy serves it.
    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(generated.cert.pem().as_bytes()).unwrap())
        .resolve("secure.example", node.proxy_https)
        .build()
        .unwrap();
    let url = format!("https://secure.example:{}/x", node.proxy_https.port());
    let started = Instant::now();
    let response = loop {
        match client.get(&url).send().await {
            Ok(response) => break response,
            Err(error) => {
                assert!(started.elapsed() < Duration::from_secs(5), "the stored certificate was never served: {error}");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    };
    assert_eq!(response.status(), 200);
    // Other names still get the default certificate.
    let default = node
        .tls_client(node.proxy_https)
        .get(format!("https://localhost:{}/x", node.proxy_https.port()))
        .send()
        .await
        .unwrap();
    assert_eq!(default.status(), 200);
}
