//! Router lookup time with 10, 1,000 and 10,000 routes (issue target: under 2 µs at 10,000).
//!
//! Routes mix what real configurations have: mostly plain hosts with prefix paths and path-only routes, with
//! method/header rules, and one route in a hundred each with a wildcard host or a regex path (every regex
//! is tried on a miss, as in Kong). Requests hit the newest host route, a middle path route, and miss.
//! Run with `cargo bench -p proxy --bench router`.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use http::HeaderMap;
use proxy::model::entities::route::Route;
use proxy::router::{RequestInfo, Router};
use serde_json::json;

fn routes(n: usize) -> Vec<Route> {
    (0..n)
        .map(|i| {
            let doc = match i % 100 {
                98 => json!({"hosts": [format!("*.tenant{i}.example.org")]}),
                99 => json!({"paths": [format!(r"/users/{i}/\d+")], "regex_priority": i % 7}),
                r if r % 3 == 0 => json!({"hosts": [format!("api{i}.example.com")], "paths": [format!("/v1/svc{i}")]}),
                r if r % 3 == 1 => json!({"paths": [format!("/svc{i}/items"), format!("/svc{i}/orders")]}),
                _ => json!({"paths": [format!("/m{i}")], "methods": ["GET", "POST"], "headers": {"x-version": [format!("v{i}")]}}),
            };
            let mut doc = doc;
            doc["id"] = json!(uuid::Uuid::from_u128(i as u128 + 1));
            doc["created_at"] = json!(i);
            serde_json::from_value(doc).unwrap()
        })
        .collect()
}

fn lookups(c: &mut Criterion) {
    let headers = HeaderMap::new();
    let mut group = c.benchmark_group("router_find");
    for n in [10usize, 1_000, 10_000] {
        let router = Router::build(routes(n)).unwrap();
        // The newest host+path route, and a path-only route from the middle.
        let newest = (0..n).rev().find(|i| i % 100 < 98 && (i % 100) % 3 == 0).unwrap();
        let host = format!("api{newest}.example.com");
        let path = format!("/v1/svc{newest}/x");
        let middle = (0..=n / 2).rev().find(|i| i % 100 < 98 && (i % 100) % 3 == 1).unwrap();
        let middle = format!("/svc{middle}/items/7");
        let cases = [
            ("host_and_path", host.as_str(), path.as_str()),
            ("path_prefix", "unknown.example.net", middle.as_str()),
            ("miss", "unknown.example.net", "/nothing/here"),
        ];
        for (name, host, path) in cases {
            let request = RequestInfo { method: "GET", path, host, scheme: "http", sni: None, headers: &headers };
            if name != "miss" {
                assert!(router.find(&request).is_some(), "{name} must match with {n} routes");
            }
            group.bench_with_input(BenchmarkId::new(name, n), &request, |b, request| b.iter(|| router.find(request)));
        }
    }
    group.finish();
}

criterion_group!(benches, lookups);
criterion_main!(benches);
