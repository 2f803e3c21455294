//! The Gluu OAuth plugins among other services and plugins: services protected by different OP clients (and
//! OPs) keep their own validations; rate-limiting by credential (`consumer_mapping = false`) and by consumer;
//! Gluu Gateway configurations with their PEPs and metrics moved in through `/config` and decK
//! (`gluu-plugins.md` §13, §16).

mod support;

use reqwest::Method;
use serde_json::{Value, json};
use support::deck::deck;
use support::gluu::{
    Client, attach, call, client_token, introspections, metrics_with, register, until, until_anonymous,
};
use support::op::Op;
use support::{Gatehouse, admin, echo};

/// Service `name` (an echo upstream) routed at `/<name>`, protected by gluu-oauth-auth with `client` of `op`,
/// and a consumer `app-<name>` for the client.
async fn protected_service(node: &Gatehouse, op: &Op, name: &str, upstream: std::net::SocketAddr) -> (Client, Value) {
    let client = register(node, op).await;
    let consumer =
        admin(node, Method::PUT, &format!("/consumers/app-{name}"), json!({"custom_id": client.client_id})).await;
    admin(node, Method::PUT, &format!("/services/{name}"), json!({"url": format!("http://{upstream}")})).await;
    admin(node, Method::POST, &format!("/services/{name}/routes"), json!({"paths": [format!("/{name}")]})).await;
    attach(node, op, &client, &format!("/services/{name}"), "gluu-oauth-auth", json!({})).await;
    (client, consumer)
}

#[tokio::test]
async fn services_with_different_clients_and_ops_keep_their_own_validations() {
    let (op, other_op) = (Op::start(&[]), Op::start(&[]));
    let upstream = echo::start().await;
    let (node, _dir) = Gatehouse::start(&[]);
    admin(&node, Method::POST, "/plugins", json!({"name": "gluu-metrics"})).await;
    let (a, consumer_a) = protected_service(&node, &op, "a", upstream).await;
    let (b, _) = protected_service(&node, &op, "b", upstream).await;
    let (c, consumer_c) = protected_service(&node, &other_op, "c", upstream).await;
    // Each service has its own PEP and document: a needs `email` everywhere, b `profile` on /b/private only.
    let rule = |path: &str, scope: &str| {
        json!([{"path": path, "conditions": [{"httpMethods": ["GET"],
            "scope_expression": {"rule": {"and": [{"var": 0}]}, "data": [scope]}}]}])
        .to_string()
    };
    let pep_a = json!({"oauth_scope_expression": rule("/a/??", "email")});
    attach(&node, &op, &a, "/services/a", "gluu-oauth-pep", pep_a).await;
    let pep_b = json!({"oauth_scope_expression": rule("/b/private", "profile"), "deny_by_default": false});
    attach(&node, &op, &b, "/services/b", "gluu-oauth-pep", pep_b).await;
    support::configured(&node).await;
    let token_a = client_token(&node, &op, &a).await;
    let token_c = client_token(&node, &other_op, &c).await;

    let mapped_to = |echoed: &Value| echoed["headers"]["x-consumer-id"].clone();
    let start = introspections(&op).await;
    let (status, echoed) = call(&node, "/a", Some(&token_a)).await;
    assert_eq!((status, mapped_to(&echoed)), (200, consumer_a["id"].clone()));
    assert_eq!(call(&node, "/a", Some(&token_a)).await.0, 200);
    assert_eq!(introspections(&op).await, start + 1, "service a: one introspection, then its cache");

    // Service b (another client of the same OP) validates the token itself and maps it to the token's client.
    for _ in 0..2 {
        let (status, echoed) = call(&node, "/b", Some(&token_a)).await;
        assert_eq!((status, mapped_to(&echoed)), (200, consumer_a["id"].clone()), "{echoed}");
        assert_eq!(echoed["headers"]["x-oauth-client-id"], a.client_id.as_str());
    }
    assert_eq!(introspections(&op).await, start + 2, "service b's own cache entry: one more introspection");
    let (status, body) = call(&node, "/b/private", Some(&token_a)).await;
    assert_eq!((status, body), (403, json!({"message": "You are not authorized to access this resource"})));

    // Service c's OP never issued token a, and the other way round.
    let (other_start, start) = (introspections(&other_op).await, introspections(&op).await);
    let invalid = json!({"message": "Invalid access token provided in Authorization header"});
    assert_eq!(call(&node, "/c", Some(&token_a)).await, (401, invalid.clone()));
    let (status, echoed) = call(&node, "/c", Some(&token_c)).await;
    assert_eq!((status, mapped_to(&echoed)), (200, consumer_c["id"].clone()));
    assert_eq!(call(&node, "/a", Some(&token_c)).await, (401, invalid));
    assert_eq!((introspections(&other_op).await, introspections(&op).await), (other_start + 2, start + 1));
    assert_eq!(call(&node, "/a", Some(&token_a)).await.0, 200, "a's positive entry untouched");

    let line = |client: &Client, service: &str, n: u32| {
        format!("gluu_oauth_client_authenticated{{consumer=\"{}\",service=\"{service}\"}} {n}", client.client_id)
    };
    let granted = format!("gluu_oauth_client_granted{{consumer=\"{}\",service=\"a\"}} 3", a.client_id);
    let lines =
        [line(&a, "a", 3), line(&a, "b", 3), line(&c, "c", 1), granted, "gluu_total_client_authenticated 7".into()];
    metrics_with(&node, &lines).await;
}

/// `GET path` with `token`: the status, the body's message, and the `X-RateLimit-Remaining-<period>` header.
async fn limited(node: &Gatehouse, path: &str, token: Option<&str>, period: &str) -> (u16, Value, Option<String>) {
    let mut request = reqwest::Client::new().get(format!("http://{}{path}", node.proxy_http));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let remaining =
        response.headers().get(format!("x-ratelimit-remaining-{period}")).map(|v| v.to_str().unwrap().to_string());
    let body: Value = response.json().await.unwrap_or(Value::Null);
    (status, body["message"].clone(), remaining)
}

#[tokio::test]
async fn rate_limiting_by_credential_counts_each_oauth_client_without_consumers() {
    let op = Op::start(&[]);
    let upstream = echo::start().await;
    let (node, _dir) = Gatehouse::start(&[]);
    let (x, y) = (register(&node, &op).await, register(&node, &op).await);
    admin(&node, Method::PUT, "/services/api", json!({"url": format!("http://{upstream}")})).await;
    admin(&node, Method::POST, "/services/api/routes", json!({"paths": ["/api"]})).await;
    attach(&node, &op, &x, "/services/api", "gluu-oauth-auth", json!({"consumer_mapping": false})).await;
    // Global (GG's test; local counters, so that every count shows in the next answer).
    let limit = json!({"name": "rate-limiting", "config": {"year": 2, "limit_by": "credential", "policy": "local"}});
    admin(&node, Method::POST, "/plugins", limit).await;
    let (token_x, token_y) = (client_token(&node, &op, &x).await, client_token(&node, &op, &y).await);
    let started = std::time::Instant::now();
    while limited(&node, "/api", Some(&token_y), "year").await.2.is_none() {
        assert!(started.elapsed() < std::time::Duration::from_secs(5), "rate-limiting never went live");
    }
    // y spent one call making sure the limit is live; x has its own counter.
    for remaining in ["1", "0"] {
        assert_eq!(limited(&node, "/api", Some(&token_x), "year").await, (200, Value::Null, Some(remaining.into())));
    }
    let (status, message, _) = limited(&node, "/api", Some(&token_x), "year").await;
    assert_eq!((status, message), (429, json!("API rate limit exceeded")));
    assert_eq!(limited(&node, "/api", Some(&token_y), "year").await, (200, Value::Null, Some("0".into())));
    assert_eq!(limited(&node, "/api", Some(&token_y), "year").await.0, 429);
}

#[tokio::test]
async fn rate_limiting_by_consumer_limits_mapped_clients_and_never_the_anonymous_branch() {
    let op = Op::start(&[]);
    let upstream = echo::start().await;
    let (node, _dir) = Gatehouse::start(&[]);
    let client = register(&node, &op).await;
    admin(&node, Method::PUT, "/consumers/app", json!({"custom_id": client.client_id})).await;
    let anonymous = admin(&node, Method::PUT, "/consumers/anonymous", json!({"custom_id": "anonymous_123"})).await;
    admin(&node, Method::PUT, "/services/api", json!({"url": format!("http://{upstream}")})).await;
    admin(&node, Method::POST, "/services/api/routes", json!({"paths": ["/api"]})).await;
    attach(&node, &op, &client, "/services/api", "gluu-oauth-auth", json!({"anonymous": anonymous["id"]})).await;
    until_anonymous(&node, "/api").await;
    let token = client_token(&node, &op, &client).await;

    // A global limit by consumer counts the consumer the token maps to.
    let global = json!({"name": "rate-limiting", "config": {"year": 2, "limit_by": "consumer", "policy": "local"}});
    let global = admin(&node, Method::POST, "/plugins", global).await;
    let started = std::time::Instant::now();
    while limited(&node, "/api", Some(&token), "year").await.2.is_none() {
        assert!(started.elapsed() < std::time::Duration::from_secs(5), "rate-limiting never went live");
    }
    assert_eq!(limited(&node, "/api", Some(&token), "year").await, (200, Value::Null, Some("0".into())));
    let (status, message, _) = limited(&node, "/api", Some(&token), "year").await;
    assert_eq!((status, message), (429, json!("API rate limit exceeded")));
    admin(&node, Method::DELETE, &format!("/plugins/{}", global["id"].as_str().unwrap()), Value::Null).await;

    // A limit on the consumer: its calls are limited, anonymous calls (no authenticated consumer) never are.
    let on_consumer = json!({"name": "rate-limiting", "config": {"day": 2, "limit_by": "consumer", "policy": "local"}});
    admin(&node, Method::POST, "/consumers/app/plugins", on_consumer).await;
    let started = std::time::Instant::now();
    while limited(&node, "/api", Some(&token), "day").await.2.is_none() {
        assert!(started.elapsed() < std::time::Duration::from_secs(5), "the consumer's limit never went live");
    }
    assert_eq!(limited(&node, "/api", Some(&token), "day").await, (200, Value::Null, Some("0".into())));
    for _ in 0..4 {
        let (status, _, remaining) = limited(&node, "/api", None, "day").await;
        assert_eq!((status, remaining), (200, None), "anonymous: no consumer, no limit");
        let (status, _, remaining) = limited(&node, "/api", Some("not-a-token"), "day").await;
        assert_eq!((status, remaining), (200, None), "a bad token is anonymous too");
    }
    let (status, message, _) = limited(&node, "/api", Some(&token), "day").await;
    assert_eq!((status, message), (429, json!("API rate limit exceeded")));
}

/// A Gluu Gateway configuration as its UI makes them: oauth-auth and oauth-pep on a service, a route with its
/// own oauth-pep (a PEP in another scope), gluu-metrics globally, the client's consumer.
fn gg_configuration(node: &Gatehouse, upstream: std::net::SocketAddr) -> String {
    // YAML takes JSON values as they are.
    let config = |extra: Value| {
        let mut config = json!({"oxd_id": "site-1", "client_id": "client-1", "client_secret": "secret-1",
            "op_url": "https://op.example.com", "oxd_url": format!("https://127.0.0.1:{}", node.oxd.port())});
        config.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        config
    };
    let document = json!([{"path": "/??", "conditions": [{"httpMethods": ["GET"],
        "scope_expression": {"rule": {"and": [{"var": 0}]}, "data": ["read"]}}]}]);
    let service_pep = config(json!({"deny_by_default": true, "oauth_scope_expression": document.to_string()}));
    let route_pep = config(json!({"deny_by_default": false}));
    let auth = config(json!({}));
    format!(
        r#"_format_version: "1.1"
services:
- name: demo-service
  url: http://{upstream}
  plugins:
  - name: gluu-oauth-auth
    config: {auth}
  - name: gluu-oauth-pep
    config: {service_pep}
  routes:
  - name: demo-route
    paths: [/demo]
    plugins:
    - name: gluu-oauth-pep
      config: {route_pep}
consumers:
- username: app
  custom_id: client-1
plugins:
- name: gluu-metrics
"#
    )
}

#[tokio::test]
async fn gluu_gateway_configurations_with_peps_in_several_scopes_import_and_sync() {
    let upstream = echo::start().await;
    let (first, _first_dir) = Gatehouse::start(&[]);
    let file = gg_configuration(&first, upstream);
    let response =
        reqwest::Client::new().post(first.admin_url("/config")).json(&json!({"config": file})).send().await.unwrap();
    let status = response.status();
    assert!(status.is_success(), "{status} {}", response.text().await.unwrap());
    let again = reqwest::Client::new().post(first.admin_url("/config")).json(&json!({"config": file})).send().await;
    assert!(again.unwrap().status().is_success(), "importing the same file again");
    let plugins = admin(&first, Method::GET, "/plugins", Value::Null).await;
    assert_eq!(plugins["data"].as_array().unwrap().len(), 4);
    until(&first, "/demo", 401).await;

    // decK moves it to a second node: a dump of the first, synced, then no difference.
    let (second, dir) = Gatehouse::start(&[]);
    let dump = dir.path().join("gg.yaml");
    let (ok, out) = deck(&first, &["dump", "-o", dump.to_str().unwrap()]);
    assert!(ok, "{out}");
    let (ok, out) = deck(&second, &["sync", "-s", dump.to_str().unwrap()]);
    assert!(ok && out.contains("Created: 7"), "{out}");
    let (ok, out) = deck(&second, &["diff", "-s", dump.to_str().unwrap()]);
    assert!(ok && out.contains("Created: 0") && out.contains("Updated: 0") && out.contains("Deleted: 0"), "{out}");
    let log = second.log();
    assert!(!log.contains("more than one policy enforcement point"), "one PEP name resolves once per route:\n{log}");
}

/// The headers the echo upstream received for `GET /api` with `token`, once `ready` holds for them (a
/// configuration change going live).
async fn echoed_headers(node: &Gatehouse, token: &str, ready: impl Fn(&Value) -> bool) -> Value {
    let started = std::time::Instant::now();
    loop {
        let (status, echoed) = call(node, "/api", Some(token)).await;
        if status == 200 && ready(&echoed["headers"]) {
            return echoed["headers"].clone();
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(5), "never ready: {status} {echoed}");
    }
}

#[tokio::test]
async fn plugins_after_gluu_oauth_auth_see_the_identity_headers_it_set() {
    let op = Op::start(&[]);
    let upstream = echo::start().await;
    let (node, _dir) = Gatehouse::start(&[]);
    let (client, _) = protected_service(&node, &op, "api", upstream).await;
    // request-transformer (priority 801) runs after gluu-oauth-auth (999) and renames one of its headers.
    let rename =
        json!({"name": "request-transformer", "config": {"rename": {"headers": ["x-oauth-client-id:x-caller"]}}});
    let transformer = admin(&node, Method::POST, "/services/api/plugins", rename).await;
    let token = client_token(&node, &op, &client).await;
    let headers = echoed_headers(&node, &token, |headers| headers.get("x-caller").is_some()).await;
    assert_eq!(headers["x-caller"], client.client_id.as_str());
    assert!(headers.get("x-oauth-client-id").is_none(), "{headers}");
    assert!(headers["x-authenticated-scope"].as_str().is_some_and(|s| !s.is_empty()), "{headers}");
    // Without the transformer the same headers go straight into the upstream request.
    admin(&node, Method::DELETE, &format!("/plugins/{}", transformer["id"].as_str().unwrap()), Value::Null).await;
    let headers = echoed_headers(&node, &token, |headers| headers.get("x-caller").is_none()).await;
    assert_eq!(headers["x-oauth-client-id"], client.client_id.as_str());
}
