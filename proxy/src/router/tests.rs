//! Kong's matching rules and priorities, one behaviour per test.

use http::HeaderMap;
use serde_json::json;

use super::*;
use crate::model::entities::route::Route;

fn route(n: u128, doc: serde_json::Value) -> Route {
    let mut doc = doc;
    doc["id"] = json!(uuid::Uuid::from_u128(n));
    doc["created_at"] = doc.get("created_at").cloned().unwrap_or(json!(n as i64));
    serde_json::from_value(doc).unwrap()
}

struct Req {
    method: &'static str,
    path: String,
    host: &'static str,
    scheme: &'static str,
    sni: Option<&'static str>,
    headers: HeaderMap,
}

fn get(host: &'static str, path: &str) -> Req {
    Req {
        method: "GET",
        path: uri::normalize(path).into_owned(),
        host,
        scheme: "http",
        sni: None,
        headers: HeaderMap::new(),
    }
}

fn winner(router: &Router, req: &Req) -> Option<u128> {
    let info = RequestInfo {
        method: req.method,
        path: &req.path,
        host: req.host,
        scheme: req.scheme,
        sni: req.sni,
        headers: &req.headers,
    };
    router.find(&info).map(|m| router.routes()[m.route].id.as_u128())
}

fn router(routes: Vec<Route>) -> Router {
    Router::build(routes).unwrap()
}

#[test]
fn nothing_matches_an_empty_router_or_a_foreign_host() {
    assert_eq!(winner(&router(vec![]), &get("a.com", "/")), None);
    let r = router(vec![route(1, json!({"hosts": ["a.com"]}))]);
    assert_eq!(winner(&r, &get("b.com", "/")), None);
}

#[test]
fn plain_hosts_match_with_or_without_the_port_and_beat_wildcards() {
    let r =
        router(vec![route(1, json!({"hosts": ["*.example.com"]})), route(2, json!({"hosts": ["api.example.com"]}))]);
    assert_eq!(winner(&r, &get("api.example.com", "/")), Some(2));
    assert_eq!(winner(&r, &get("API.example.com:8000", "/")), Some(2));
    assert_eq!(winner(&r, &get("x.y.example.com", "/")), Some(1), "a wildcard spans labels");
    assert_eq!(winner(&r, &get("example.com", "/")), None);
    let ported = router(vec![route(1, json!({"hosts": ["example.com:8000"]}))]);
    assert_eq!(winner(&ported, &get("example.com:8000", "/")), Some(1));
    assert_eq!(winner(&ported, &get("example.com", "/")), None, "a host with a port needs that port");
    let suffix = router(vec![route(1, json!({"hosts": ["example.*"]}))]);
    assert_eq!(winner(&suffix, &get("example.org:81", "/")), Some(1));
}

#[test]
fn longer_prefixes_win_and_prefixes_need_no_segment_boundary() {
    let r = router(vec![route(1, json!({"paths": ["/a"]})), route(2, json!({"paths": ["/a/b"]}))]);
    assert_eq!(winner(&r, &get("x", "/a/b/c")), Some(2));
    assert_eq!(winner(&r, &get("x", "/abc")), Some(1));
    assert_eq!(winner(&r, &get("x", "/b")), None);
    assert_eq!(winner(&r, &get("x", "/x/../a/b")), Some(2), "the path is normalized first");
}

#[test]
fn regex_paths_outrank_plain_ones_and_regex_priority_orders_them() {
    let r = router(vec![
        route(1, json!({"paths": ["/users"]})),
        route(2, json!({"paths": [r"/users/\d+"]})),
        route(3, json!({"paths": [r"/users/\d+/x"], "regex_priority": 5})),
    ]);
    assert_eq!(winner(&r, &get("h", "/users/42")), Some(2));
    assert_eq!(winner(&r, &get("h", "/users/42/x")), Some(3));
    assert_eq!(winner(&r, &get("h", "/users/me")), Some(1));
    assert_eq!(winner(&r, &get("h", "/v1/users/42")), None, "regexes are anchored at the start");
}

#[test]
fn more_configured_attributes_win_and_host_outranks_header_at_equal_weight() {
    let r = router(vec![
        route(1, json!({"paths": ["/api"]})),
        route(2, json!({"paths": ["/api"], "methods": ["GET"]})),
        route(3, json!({"paths": ["/api"], "hosts": ["h.com"]})),
        route(4, json!({"paths": ["/api"], "headers": {"x-version": ["v2"]}})),
    ]);
    assert_eq!(winner(&r, &get("other", "/api")), Some(2));
    let mut post = get("other", "/api");
    post.method = "POST";
    assert_eq!(winner(&r, &post), Some(1));
    assert_eq!(winner(&r, &get("h.com", "/api")), Some(3), "HOST outranks METHOD at equal weight");
    let mut v2 = get("other", "/api");
    v2.headers.insert("X-Version", "V2".parse().unwrap());
    assert_eq!(winner(&r, &v2), Some(4), "header values compare case-insensitively; HEADER outranks METHOD");
}

#[test]
fn every_configured_header_must_be_present() {
    let r = router(vec![route(1, json!({"headers": {"a": ["1"], "b": ["2", "3"]}}))]);
    let mut req = get("h", "/");
    req.headers.insert("a", "1".parse().unwrap());
    assert_eq!(winner(&r, &req), None);
    req.headers.append("b", "9".parse().unwrap());
    req.headers.append("b", "3".parse().unwrap());
    assert_eq!(winner(&r, &req), Some(1), "any value of a multi-valued header");
}

#[test]
fn snis_must_match_on_tls_but_count_as_satisfied_on_plain_http() {
    let r = router(vec![route(1, json!({"snis": ["a.com"], "paths": ["/"]})), route(2, json!({"paths": ["/"]}))]);
    let mut tls = get("a.com", "/");
    tls.scheme = "https";
    tls.sni = Some("a.com");
    assert_eq!(winner(&r, &tls), Some(1));
    tls.sni = Some("b.com");
    assert_eq!(winner(&r, &tls), Some(2));
    assert_eq!(winner(&r, &get("anything", "/")), Some(1), "plain HTTP satisfies an SNI rule");
}

#[test]
fn older_routes_win_ties_and_each_path_ranks_on_its_own() {
    let r = router(vec![
        route(2, json!({"paths": ["/same"], "created_at": 20})),
        route(1, json!({"paths": ["/same"], "created_at": 10})),
    ]);
    assert_eq!(winner(&r, &get("h", "/same")), Some(1));
    let multi = router(vec![
        route(1, json!({"paths": ["/a", "/long/path"], "created_at": 1})),
        route(2, json!({"paths": ["/long"], "created_at": 2})),
    ]);
    assert_eq!(winner(&multi, &get("h", "/long/path/x")), Some(1));
    assert_eq!(winner(&multi, &get("h", "/long/other")), Some(2));
}

#[test]
fn regex_captures_and_the_matched_prefix() {
    let r = router(vec![route(1, json!({"paths": [r"/orders/(?P<order>\d+)/items/(\d+)"]}))]);
    let req = get("h", "/orders/7/items/9/rest");
    let info =
        RequestInfo { method: "GET", path: &req.path, host: "h", scheme: "http", sni: None, headers: &req.headers };
    let found = r.find(&info).unwrap();
    assert_eq!(found.prefix(&req.path), Some("/orders/7/items/9"));
    assert_eq!(found.captures, vec![Some("/orders/7/items/9".into()), Some("7".into()), Some("9".into())]);
    assert_eq!(found.named_captures, vec![("order".to_string(), "7".to_string())]);
}

#[test]
fn routes_with_only_methods_are_found() {
    let r = router(vec![route(1, json!({"methods": ["DELETE"]}))]);
    let mut req = get("h", "/anything");
    assert_eq!(winner(&r, &req), None);
    req.method = "DELETE";
    assert_eq!(winner(&r, &req), Some(1));
}

#[test]
fn a_port_is_the_digits_after_the_only_colon_or_after_an_ipv6_literal() {
    for (host, split) in [
        ("example.com", ("example.com", None)),
        ("example.com:8000", ("example.com", Some("8000"))),
        ("example.com:", ("example.com", Some(""))),
        ("example.com:80x", ("example.com:80x", None)),
        ("a:b:80", ("a:b:80", None)),
        ("::1", ("::1", None)),
        ("[::1]", ("[::1]", None)),
        ("[::1]:8443", ("[::1]", Some("8443"))),
        ("", ("", None)),
        (":80", ("", Some("80"))),
    ] {
        assert_eq!(split_port(host), split, "{host}");
    }
}

#[test]
fn a_match_gives_the_requests_host_without_its_port() {
    let r = router(vec![route(1, json!({"paths": ["/"]}))]);
    for (host, without) in [("Example.COM:8000", "Example.COM"), ("example.com", "example.com"), ("[::1]:80", "[::1]")]
    {
        let req = get(host, "/");
        let info = RequestInfo {
            method: req.method,
            path: &req.path,
            host: req.host,
            scheme: req.scheme,
            sni: None,
            headers: &req.headers,
        };
        assert_eq!(r.find(&info).unwrap().host(host), without);
    }
}
