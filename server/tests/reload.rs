//! Live reload under load: configuration changes through the Admin API while requests are in flight never
//! fail a request, and each change is measured from the Admin API's answer to the proxy serving it.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{Gatehouse, echo};

async fn admin(node: &Gatehouse, method: reqwest::Method, path: &str, body: Value) {
    let response = reqwest::Client::new().request(method, node.admin_url(path)).json(&body).send().await.unwrap();
    assert!(response.status().is_success(), "{path}: {}", response.status());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_go_live_without_failing_a_request_in_flight() {
    let upstream = echo::start().await;
    let (node, _dir) = Gatehouse::start(&[]);
    admin(&node, reqwest::Method::PUT, "/services/steady", json!({"url": format!("http://{upstream}")})).await;
    admin(&node, reqwest::Method::PUT, "/routes/steady", json!({"paths": ["/steady"], "service": {"name": "steady"}}))
        .await;
    let proxy = node.proxy_http;
    let steady = format!("http://{proxy}/steady?sleep_ms=20");
    let started = Instant::now();
    while reqwest::get(&steady).await.unwrap().status() != 200 {
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    // Clients keep requests in flight (each takes ~20 ms upstream) while the configuration changes.
    let stop = Arc::new(AtomicBool::new(false));
    let (done, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let mut clients = Vec::new();
    for _ in 0..4 {
        let (stop, done, failed, steady) = (stop.clone(), done.clone(), failed.clone(), steady.clone());
        clients.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            while !stop.load(Ordering::Relaxed) {
                let ok = match client.get(&steady).send().await {
                    Ok(response) => response.status() == 200 && response.text().await.is_ok(),
                    Err(_) => false,
                };
                let counter = if ok { &done } else { &failed };
                counter.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }

    let mut live_after = Vec::new();
    for i in 0..30 {
        let path = format!("/route-{i}");
        admin(
            &node,
            reqwest::Method::PUT,
            &format!("/routes/r{i}"),
            json!({"paths": [path], "service": {"name": "steady"}}),
        )
        .await;
        let written = Instant::now();
        while reqwest::get(format!("http://{proxy}{path}")).await.unwrap().status() != 200 {
            assert!(written.elapsed() < Duration::from_secs(5), "{path} never went live");
        }
        live_after.push(written.elapsed());
        // Changes to the route the clients use, and to its service, must not fail them either.
        admin(&node, reqwest::Method::PATCH, "/services/steady", json!({"retries": i % 5})).await;
        admin(&node, reqwest::Method::PATCH, "/routes/steady", json!({"tags": [format!("v{i}")]})).await;
    }
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        client.await.unwrap();
    }
    live_after.sort();
    let (median, worst) = (live_after[live_after.len() / 2], live_after[live_after.len() - 1]);
    eprintln!(
        "reload: {} requests in flight across 90 changes, {} failed; live after median {median:?}, worst {worst:?}",
        done.load(Ordering::Relaxed),
        failed.load(Ordering::Relaxed)
    );
    assert_eq!(failed.load(Ordering::Relaxed), 0, "no request fails during reloads");
    assert!(done.load(Ordering::Relaxed) > 0);
}
