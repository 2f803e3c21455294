//! What the Gluu plugin suites share: OP clients registered through the node's oxd API, their tokens, plugin
//! configurations naming them, and calls through the proxy with forged identity headers.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

use super::op::Op;
use super::{Gatehouse, admin, echo};

/// An oxd command on the node's oxd API that must succeed; its answer.
pub async fn oxd(node: &Gatehouse, command: &str, body: Value) -> Value {
    let client = node.tls_client(node.oxd);
    let response =
        client.post(format!("https://localhost:{}/{command}", node.oxd.port())).json(&body).send().await.unwrap();
    assert_eq!(response.status(), 200, "{command}");
    response.json().await.unwrap()
}

/// A client ("site") registered at the OP through oxd.
pub struct Client {
    pub oxd_id: String,
    pub client_id: String,
    pub client_secret: String,
}

/// A client_credentials client that may ask for `openid`, `oxd`, `email` and `scopes`.
pub async fn register_with(node: &Gatehouse, op: &Op, scopes: &[&str]) -> Client {
    let mut scope = vec!["openid", "oxd", "email"];
    scope.extend_from_slice(scopes);
    let site = oxd(
        node,
        "register-site",
        json!({"op_host": op.issuer, "redirect_uris": ["https://app.example.com/cb"],
        "scope": scope, "grant_types": ["client_credentials"]}),
    )
    .await;
    Client {
        oxd_id: site["oxd_id"].as_str().unwrap().into(),
        client_id: site["client_id"].as_str().unwrap().into(),
        client_secret: site["client_secret"].as_str().unwrap().into(),
    }
}

pub async fn register(node: &Gatehouse, op: &Op) -> Client {
    register_with(node, op, &[]).await
}

/// A token of `client` with `scopes` (the OP keeps `openid` and drops scopes the client may not have).
pub async fn token_with(node: &Gatehouse, op: &Op, client: &Client, scopes: &[&str]) -> String {
    let token = oxd(
        node,
        "get-client-token",
        json!({"op_host": op.issuer, "client_id": client.client_id,
        "client_secret": client.client_secret, "scope": scopes}),
    )
    .await;
    token["access_token"].as_str().unwrap().to_string()
}

/// A token with scope `email`.
pub async fn client_token(node: &Gatehouse, op: &Op, client: &Client) -> String {
    token_with(node, op, client, &["email"]).await
}

/// A Gluu plugin configuration for `client` with the node's own oxd module, plus `extra`.
pub fn plugin_config(node: &Gatehouse, op: &Op, client: &Client, extra: Value) -> Value {
    let mut config = json!({"oxd_id": client.oxd_id, "client_id": client.client_id, "client_secret": client.client_secret,
        "op_url": op.issuer, "oxd_url": format!("https://127.0.0.1:{}", node.oxd.port())});
    config.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    config
}

/// Attaches plugin `name` with `client`'s configuration plus `extra` at `scope` (`/services/api`, `/routes/x`,
/// or `` for global); the created plugin.
pub async fn attach(node: &Gatehouse, op: &Op, client: &Client, scope: &str, name: &str, extra: Value) -> Value {
    let body = json!({"name": name, "config": plugin_config(node, op, client, extra)});
    admin(node, Method::POST, &format!("{scope}/plugins"), body).await
}

/// Identity headers a client forges in every [`call`]; the gateway must never pass them on.
pub const FORGED: [(&str, &str); 10] = [
    ("x-consumer-id", "forged"),
    ("x-consumer-custom-id", "forged"),
    ("x-consumer-username", "forged"),
    ("x-credential-identifier", "forged"),
    ("x-anonymous-consumer", "forged"),
    ("x-oauth-client-id", "forged"),
    ("x-oauth-expiration", "forged"),
    ("x-authenticated-scope", "forged"),
    ("x-consumer-groups", "forged"),
    ("x-authenticated-groups", "forged"),
];

/// `method path` through the proxy with `token` as bearer (none: no Authorization), every [`FORGED`] header and
/// `headers`; the status and the body (JSON when it is JSON: the echo upstream's view of the request).
pub async fn send(
    node: &Gatehouse,
    method: Method,
    path: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
) -> (u16, Value) {
    let mut request = reqwest::Client::new().request(method, format!("http://{}{path}", node.proxy_http));
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    for (name, value) in FORGED.iter().chain(headers) {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// `method path`, as [`send`].
pub async fn request(node: &Gatehouse, method: Method, path: &str, token: Option<&str>) -> (u16, Value) {
    send(node, method, path, token, &[]).await
}

/// `GET path`, as [`send`].
pub async fn call(node: &Gatehouse, path: &str, token: Option<&str>) -> (u16, Value) {
    send(node, Method::GET, path, token, &[]).await
}

/// Polls until `GET path` with `token` answers `status` (the configuration written last went live).
pub async fn until_with(node: &Gatehouse, path: &str, token: Option<&str>, status: u16) {
    let started = Instant::now();
    while call(node, path, token).await.0 != status {
        assert!(started.elapsed() < Duration::from_secs(5), "{path} never answered {status}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Polls until `path` answers `status` without a token.
pub async fn until(node: &Gatehouse, path: &str, status: u16) {
    until_with(node, path, None, status).await
}

/// The node's `/gluu-metrics` once it contains every line of `expected` (the log phase runs after the response,
/// so the last call may not have landed yet); fails with the text after 5 s.
pub async fn metrics_with(node: &Gatehouse, expected: &[String]) -> String {
    let started = Instant::now();
    loop {
        let response = reqwest::get(node.admin_url("/gluu-metrics")).await.unwrap();
        assert_eq!(response.status(), 200);
        let text = response.text().await.unwrap();
        let missing: Vec<&String> = expected.iter().filter(|line| !text.lines().any(|l| l == line.as_str())).collect();
        if missing.is_empty() {
            return text;
        }
        assert!(started.elapsed() < Duration::from_secs(5), "missing {missing:?} in\n{text}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The introspections the OP answered so far.
pub async fn introspections(op: &Op) -> u64 {
    op.stats().await["introspection"].as_u64().unwrap()
}

/// A node with an echo upstream as service `api` (no route yet) and a consumer `app` for `client`, whose
/// answer is returned with the node.
pub async fn node_with_api(op: &Op, scopes: &[&str]) -> (Gatehouse, tempfile::TempDir, Client, Value) {
    let upstream = echo::start().await;
    let (node, dir) = Gatehouse::start(&[]);
    let client = register_with(&node, op, scopes).await;
    let consumer = admin(&node, Method::PUT, "/consumers/app", json!({"custom_id": client.client_id})).await;
    admin(&node, Method::PUT, "/services/api", json!({"url": format!("http://{upstream}")})).await;
    (node, dir, client, consumer)
}

/// A route `/<name>` of service `api` (path kept for the upstream when `strip` is false).
pub async fn api_route(node: &Gatehouse, name: &str, strip: bool) {
    let route = json!({"paths": [format!("/{name}")], "service": {"name": "api"}, "strip_path": strip});
    admin(node, Method::PUT, &format!("/routes/{name}"), route).await;
}

/// Adds gluu-metrics globally and waits until it counts: token-less calls to `probe` (a routed path) until
/// `/gluu-metrics` shows one.
pub async fn metrics_live(node: &Gatehouse, probe: &str) {
    admin(node, Method::POST, "/plugins", json!({"name": "gluu-metrics"})).await;
    let started = Instant::now();
    loop {
        call(node, probe, None).await;
        let text = reqwest::get(node.admin_url("/gluu-metrics")).await.unwrap().text().await.unwrap();
        if text.contains(&format!("endpoint=\"{probe}\"")) {
            return;
        }
        assert!(started.elapsed() < Duration::from_secs(5), "gluu-metrics never counted {probe}:\n{text}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Polls until a token-less `GET path` reaches the upstream marked `X-Anonymous-Consumer: true` (an auth plugin
/// with `anonymous` went live there).
pub async fn until_anonymous(node: &Gatehouse, path: &str) {
    let started = Instant::now();
    while call(node, path, None).await.1["headers"]["x-anonymous-consumer"] != "true" {
        assert!(started.elapsed() < Duration::from_secs(5), "{path}: the anonymous branch never went live");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A node (as [`node_with_api`]) whose route `/<name>` is protected by gluu-oauth-auth with its client, live.
pub async fn protected(op: &Op, name: &str) -> (Gatehouse, tempfile::TempDir, Client) {
    let (node, dir, client, _) = node_with_api(op, &[]).await;
    api_route(&node, name, true).await;
    attach(&node, op, &client, &format!("/routes/{name}"), "gluu-oauth-auth", json!({})).await;
    until(&node, &format!("/{name}"), 401).await;
    (node, dir, client)
}
