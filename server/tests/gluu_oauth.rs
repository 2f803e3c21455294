//! gluu-oauth-auth end to end: the real OP of `end2end/op`, the embedded oxd module, a real echo upstream,
//! configured through the Admin API and called through the proxy with real tokens.

mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::op::Op;
use support::{Gatehouse, echo};

async fn oxd(node: &Gatehouse, command: &str, body: Value) -> Value {
    let client = node.tls_client(node.oxd);
    let response =
        client.post(format!("https://localhost:{}/{command}", node.oxd.port())).json(&body).send().await.unwrap();
    assert_eq!(response.status(), 200, "{command}");
    response.json().await.unwrap()
}

async fn admin(node: &Gatehouse, method: reqwest::Method, path: &str, body: Value) -> Value {
    let response = reqwest::Client::new().request(method, node.admin_url(path)).json(&body).send().await.unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{path}: {status} {body}");
    body
}

/// A client registered through oxd and a token of it.
struct Client {
    oxd_id: String,
    client_id: String,
    client_secret: String,
}

async fn register(node: &Gatehouse, op: &Op) -> Client {
    let site = oxd(
        node,
        "register-site",
        json!({"op_host": op.issuer, "redirect_uris": ["https://app.example.com/cb"],
        "scope": ["openid", "oxd", "email"], "grant_types": ["client_credentials"]}),
    )
    .await;
    Client {
        oxd_id: site["oxd_id"].as_str().unwrap().into(),
        client_id: site["client_id"].as_str().unwrap().into(),
        client_secret: site["client_secret"].as_str().unwrap().into(),
    }
}

async fn client_token(node: &Gatehouse, op: &Op, client: &Client) -> String {
    let token = oxd(
        node,
        "get-client-token",
        json!({"op_host": op.issuer, "client_id": client.client_id,
        "client_secret": client.client_secret, "scope": ["email"]}),
    )
    .await;
    token["access_token"].as_str().unwrap().to_string()
}

fn plugin_config(node: &Gatehouse, op: &Op, client: &Client, extra: Value) -> Value {
    let mut config = json!({"oxd_id": client.oxd_id, "client_id": client.client_id, "client_secret": client.client_secret,
        "op_url": op.issuer, "oxd_url": format!("https://127.0.0.1:{}", node.oxd.port())});
    config.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    config
}

async fn call(node: &Gatehouse, path: &str, token: Option<&str>) -> (u16, Value) {
    let mut request = reqwest::Client::new().get(format!("http://{}{path}", node.proxy_http));
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    request = request.header("x-consumer-id", "forged").header("x-oauth-client-id", "forged");
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// Polls until `path` answers `status` without a token (the plugin went live).
async fn until(node: &Gatehouse, path: &str, status: u16) {
    let started = Instant::now();
    while call(node, path, None).await.0 != status {
        assert!(started.elapsed() < Duration::from_secs(5), "{path} never answered {status}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn tokens_are_validated_with_the_op_once_then_from_cache_and_consumers_are_mapped() {
    let op = Op::start(&[]);
    let upstream = echo::start().await;
    let (node, _dir) = Gatehouse::start(&[]);
    let client = register(&node, &op).await;
    admin(&node, reqwest::Method::PUT, "/services/api", json!({"url": format!("http://{upstream}")})).await;
    admin(&node, reqwest::Method::PUT, "/routes/api", json!({"paths": ["/api"], "service": {"name": "api"}})).await;
    let consumer = admin(&node, reqwest::Method::PUT, "/consumers/app", json!({"custom_id": client.client_id})).await;
    // Metrics first: a snapshot with the auth plugin live then has it too.
    admin(&node, reqwest::Method::POST, "/plugins", json!({"name": "gluu-metrics"})).await;
    admin(
        &node,
        reqwest::Method::POST,
        "/services/api/plugins",
        json!({"name": "gluu-oauth-auth", "config": plugin_config(&node, &op, &client, json!({}))}),
    )
    .await;
    until(&node, "/api", 401).await;

    let (status, body) = call(&node, "/api", None).await;
    assert_eq!((status, body), (401, json!({"message": "Failed to get bearer token from Authorization header"})));
    let (status, body) = call(&node, "/api", Some("not-a-real-token")).await;
    assert_eq!((status, body), (401, json!({"message": "Invalid access token provided in Authorization header"})));

    let token = client_token(&node, &op, &client).await;
    let before = op.stats().await["introspection"].as_u64().unwrap();
    let (status, echoed) = call(&node, "/api/items", Some(&token)).await;
    assert_eq!(status, 200, "{echoed}");
    let headers = &echoed["headers"];
    assert_eq!(headers["x-consumer-id"], consumer["id"], "the client's forged header is replaced");
    assert_eq!(headers["x-consumer-custom-id"], client.client_id.as_str());
    assert_eq!(headers["x-consumer-username"], "app");
    assert_eq!(headers["x-oauth-client-id"], client.client_id.as_str());
    assert!(headers["x-authenticated-scope"].as_str().unwrap().contains("email"));
    assert!(headers["x-oauth-expiration"].as_str().unwrap().parse::<i64>().unwrap() > 0);
    assert_eq!(headers["authorization"], format!("Bearer {token}"), "pass_credentials = pass");
    for _ in 0..5 {
        assert_eq!(call(&node, "/api/items", Some(&token)).await.0, 200);
    }
    let after = op.stats().await["introspection"].as_u64().unwrap();
    assert_eq!(after - before, 1, "one introspection, then the cache");

    // gluu-metrics counted the six authentications (log phase, so poll until the last one landed).
    let expected = format!("gluu_oauth_client_authenticated{{consumer=\"{}\",service=\"api\"}} 6", client.client_id);
    let started = Instant::now();
    let metrics = loop {
        let response = reqwest::get(node.admin_url("/gluu-metrics")).await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        assert_eq!(status, 200, "{text}");
        if text.contains(&expected) || started.elapsed() > Duration::from_secs(5) {
            break text;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(metrics.contains(&expected), "{metrics}");
    assert!(metrics.contains("gluu_total_client_authenticated 6"), "{metrics}");
    assert!(
        metrics.contains("gluu_endpoint_method{endpoint=\"/api/items\",method=\"GET\",service=\"api\"} 6"),
        "{metrics}"
    );
    assert!(metrics.contains("gluu_requests{service=\"api\",route=\"api\",status=\"401\"}"), "{metrics}");
    assert!(metrics.contains("gluu_request_latency_ms_count{service=\"api\",route=\"api\"}"), "{metrics}");

    // An unknown client (no consumer with its custom_id) is refused.
    let stranger = register(&node, &op).await;
    let stranger_token = client_token(&node, &op, &stranger).await;
    let (status, body) = call(&node, "/api", Some(&stranger_token)).await;
    assert_eq!((status, body), (401, json!({"message": "Unknown consumer"})));
}

#[tokio::test]
async fn hide_phantom_anonymous_and_no_consumer_mapping() {
    let op = Op::start(&[]);
    let upstream = echo::start().await;
    let (node, _dir) = Gatehouse::start(&[]);
    let client = register(&node, &op).await;
    let token = client_token(&node, &op, &client).await;
    let anonymous = admin(&node, reqwest::Method::PUT, "/consumers/anonymous", json!({"custom_id": "anonymous"})).await;
    admin(&node, reqwest::Method::PUT, "/consumers/app", json!({"custom_id": client.client_id})).await;
    admin(&node, reqwest::Method::PUT, "/services/api", json!({"url": format!("http://{upstream}")})).await;
    let routes = [
        ("hide", json!({"pass_credentials": "hide"})),
        ("phantom", json!({"pass_credentials": "phantom_token"})),
        ("anon", json!({"anonymous": anonymous["id"]})),
        ("unmapped", json!({"consumer_mapping": false, "anonymous": "allow"})),
    ];
    for (name, extra) in &routes {
        admin(
            &node,
            reqwest::Method::PUT,
            &format!("/routes/{name}"),
            json!({"paths": [format!("/{name}")], "service": {"name": "api"}}),
        )
        .await;
        admin(
            &node,
            reqwest::Method::POST,
            &format!("/routes/{name}/plugins"),
            json!({"name": "gluu-oauth-auth", "config": plugin_config(&node, &op, &client, extra.clone())}),
        )
        .await;
    }
    until(&node, "/hide", 401).await;
    until(&node, "/phantom", 401).await;

    let (_, echoed) = call(&node, "/hide", Some(&token)).await;
    assert!(echoed["headers"].get("authorization").is_none(), "hide removes the token");

    let (_, echoed) = call(&node, "/phantom", Some(&token)).await;
    let phantom = echoed["headers"]["authorization"].as_str().unwrap().strip_prefix("Bearer ").unwrap().to_string();
    assert_ne!(phantom, token);
    assert!(phantom.ends_with('.'), "an unsigned JWT");
    let payload = phantom.split('.').nth(1).unwrap();
    use base64::Engine;
    let payload: Value =
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    assert_eq!((payload["active"].clone(), payload["client_id"].clone()), (json!(true), json!(client.client_id)));
    assert_eq!(payload["consumer"]["username"], "app");

    let (status, echoed) = call(&node, "/anon", Some("bad-token")).await;
    assert_eq!(status, 200, "a bad token falls back to the anonymous consumer");
    assert_eq!(echoed["headers"]["x-consumer-id"], anonymous["id"]);
    assert_eq!(echoed["headers"]["x-anonymous-consumer"], "true");
    let (status, echoed) = call(&node, "/anon", None).await;
    assert_eq!((status, echoed["headers"]["x-consumer-id"].clone()), (200, anonymous["id"].clone()));

    let (status, echoed) = call(&node, "/unmapped", Some(&token)).await;
    assert_eq!(status, 200);
    assert!(echoed["headers"].get("x-consumer-id").is_none(), "no consumer without mapping");
    assert_eq!(echoed["headers"]["x-oauth-client-id"], client.client_id.as_str());
    let (status, _) = call(&node, "/unmapped", None).await;
    assert_eq!(status, 200, "anonymous = allow");
}

#[tokio::test]
async fn the_pep_enforces_scope_expressions_per_path_and_method_on_every_request() {
    let op = Op::start(&[]);
    let upstream = echo::start().await;
    let (node, _dir) = Gatehouse::start(&[]);
    let client = register(&node, &op).await;
    let token = client_token(&node, &op, &client).await; // scopes: openid email
    admin(&node, reqwest::Method::PUT, "/consumers/app", json!({"custom_id": client.client_id})).await;
    admin(&node, reqwest::Method::PUT, "/services/api", json!({"url": format!("http://{upstream}")})).await;
    admin(
        &node,
        reqwest::Method::PUT,
        "/routes/api",
        json!({"paths": ["/api"], "service": {"name": "api"}, "strip_path": false}),
    )
    .await;
    let document = json!([
        {"path": "/api/profile/??", "conditions": [{"httpMethods": ["GET"],
            "scope_expression": {"rule": {"and": [{"var": 0}]}, "data": ["email"]}}]},
        {"path": "/api/admin/??", "conditions": [{"httpMethods": ["GET", "POST"],
            "scope_expression": {"rule": {"or": [{"var": 0}, {"var": 1}]}, "data": ["admin", "superuser"]}}]}
    ]);
    // Metrics first: a snapshot with the auth plugin live then has it too.
    admin(&node, reqwest::Method::POST, "/plugins", json!({"name": "gluu-metrics"})).await;
    admin(
        &node,
        reqwest::Method::POST,
        "/services/api/plugins",
        json!({"name": "gluu-oauth-auth", "config": plugin_config(&node, &op, &client, json!({}))}),
    )
    .await;
    admin(
        &node,
        reqwest::Method::POST,
        "/services/api/plugins",
        json!({"name": "gluu-oauth-pep",
        "config": plugin_config(&node, &op, &client, json!({"oauth_scope_expression": document.to_string()}))}),
    )
    .await;
    // Live once the PEP (the last plugin written) refuses an unprotected path.
    let started = Instant::now();
    while call(&node, "/api/elsewhere", Some(&token)).await.0 != 403 {
        assert!(started.elapsed() < Duration::from_secs(5), "the PEP never went live");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    assert_eq!(call(&node, "/api/profile/me", Some(&token)).await.0, 200);
    for _ in 0..3 {
        let (status, body) = call(&node, "/api/admin/users", Some(&token)).await;
        assert_eq!(
            (status, body),
            (403, json!({"message": "You are not authorized to access this resource"})),
            "a cached token is authorized again on every request"
        );
    }
    let (status, body) = call(&node, "/api/elsewhere", Some(&token)).await;
    assert_eq!((status, body), (403, json!({"message": "Unprotected path/method are not allowed"})));

    // A document that does not parse is refused with GG's message and changes nothing.
    let response = reqwest::Client::new()
        .post(node.admin_url("/services/api/plugins"))
        .json(&json!({"name": "gluu-oauth-pep", "config": plugin_config(&node, &op, &client,
            json!({"oauth_scope_expression": "[{\"path\": \"/x\", \"conditions\": []}]"}))}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["fields"]["config"]["oauth_scope_expression"], "Conditions are missing in expression");

    let expected = format!("gluu_oauth_client_granted{{consumer=\"{}\",service=\"api\"}} 1", client.client_id);
    let started = Instant::now();
    loop {
        let text = reqwest::get(node.admin_url("/gluu-metrics")).await.unwrap().text().await.unwrap();
        if text.contains(&expected) {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(5), "{text}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A JWT with its payload replaced (signature kept) or with `alg: none`.
fn forged(token: &str, alg_none: bool) -> String {
    use base64::Engine;
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let parts: Vec<&str> = token.split('.').collect();
    let mut payload: Value = serde_json::from_slice(&engine.decode(parts[1]).unwrap()).unwrap();
    payload["scope"] = json!("openid email admin");
    let payload = engine.encode(payload.to_string());
    if alg_none {
        format!("{}.{payload}.", engine.encode(r#"{"alg":"none","typ":"JWT"}"#))
    } else {
        format!("{}.{payload}.{}", parts[0], parts[2])
    }
}

#[tokio::test]
async fn jwt_access_tokens_are_verified_locally_with_the_ops_keys() {
    for es256 in [false, true] {
        let flags: &[&str] = if es256 { &["--jwt-access-tokens", "--es256"] } else { &["--jwt-access-tokens"] };
        let op = Op::start(flags);
        let upstream = echo::start().await;
        let (node, _dir) = Gatehouse::start(&[]);
        let client = register(&node, &op).await;
        let token = client_token(&node, &op, &client).await;
        assert_eq!(token.split('.').count(), 3, "the OP issues JWT access tokens");
        admin(&node, reqwest::Method::PUT, "/consumers/app", json!({"custom_id": client.client_id})).await;
        admin(&node, reqwest::Method::PUT, "/services/api", json!({"url": format!("http://{upstream}")})).await;
        for (name, audience) in [("jwt", json!(null)), ("aud", json!(["urn:somewhere-else"]))] {
            admin(
                &node,
                reqwest::Method::PUT,
                &format!("/routes/{name}"),
                json!({"paths": [format!("/{name}")], "service": {"name": "api"}}),
            )
            .await;
            admin(
                &node,
                reqwest::Method::POST,
                &format!("/routes/{name}/plugins"),
                json!({"name": "gluu-oauth-auth",
                "config": plugin_config(&node, &op, &client, json!({"jwt_audience": audience}))}),
            )
            .await;
        }
        until(&node, "/jwt", 401).await;
        until(&node, "/aud", 401).await;

        let before = op.stats().await;
        let (status, echoed) = call(&node, "/jwt", Some(&token)).await;
        assert_eq!(status, 200, "{echoed}");
        assert_eq!(echoed["headers"]["x-oauth-client-id"], client.client_id.as_str());
        let after = op.stats().await;
        assert_eq!(after["introspection"], before["introspection"], "no introspection for a JWT");

        let (status, body) = call(&node, "/jwt", Some(&forged(&token, false))).await;
        assert_eq!((status, body), (401, json!({"message": "JWT is not verified, reason: signature mismatch"})));
        let (status, body) = call(&node, "/jwt", Some(&forged(&token, true))).await;
        assert_eq!((status, body), (401, json!({"message": "Bad JWT"})));
        let (status, body) = call(&node, "/aud", Some(&token)).await;
        assert_eq!((status, body), (401, json!({"message": "JWT is not verified, reason: audience mismatch"})));
    }
}

#[tokio::test]
async fn custom_headers_replace_the_legacy_set_and_are_computed_once_per_token() {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    let op = Op::start(&[]);
    let upstream = echo::start().await;
    let (node, _dir) = Gatehouse::start(&[]);
    let client = register(&node, &op).await;
    let token = client_token(&node, &op, &client).await;
    let consumer = admin(&node, reqwest::Method::PUT, "/consumers/app", json!({"custom_id": client.client_id})).await;
    let anonymous = admin(&node, reqwest::Method::PUT, "/consumers/anonymous", json!({"custom_id": "anonymous"})).await;
    admin(&node, reqwest::Method::PUT, "/services/api", json!({"url": format!("http://{upstream}")})).await;
    // The GG UI's defaults, a jwt and an iterate header, a constant, and one that fails at run time.
    let custom_headers = json!([
        {"header_name": "x-consumer-id", "value_lua_exp": "consumer.id", "format": "string"},
        {"header_name": "x-oauth-client-id", "value_lua_exp": "introspect_data.client_id", "format": "string"},
        {"header_name": "x-consumer-custom-id", "value_lua_exp": "introspect_data.client_id", "format": "string"},
        {"header_name": "x-oauth-expiration", "value_lua_exp": "introspect_data.exp", "format": "string"},
        {"header_name": "x-authenticated-scope", "value_lua_exp": "introspect_data.scope", "format": "list", "sep": ","},
        {"header_name": "kong_access_token_jwt", "value_lua_exp": "introspect_data", "format": "jwt"},
        {"header_name": "kong_consumer_{*}", "value_lua_exp": "consumer", "format": "string", "iterate": true},
        {"header_name": "http_kong_api_version", "value_lua_exp": "\"version 1.0\""},
        {"header_name": "x-broken", "value_lua_exp": "introspect_data.stub[2]"},
    ]);
    let routes = [
        ("custom", json!({"custom_headers": custom_headers})),
        ("anon", json!({"custom_headers": custom_headers, "anonymous": anonymous["id"]})),
    ];
    for (name, extra) in &routes {
        admin(
            &node,
            reqwest::Method::PUT,
            &format!("/routes/{name}"),
            json!({"paths": [format!("/{name}")], "service": {"name": "api"}}),
        )
        .await;
        admin(
            &node,
            reqwest::Method::POST,
            &format!("/routes/{name}/plugins"),
            json!({"name": "gluu-oauth-auth", "config": plugin_config(&node, &op, &client, extra.clone())}),
        )
        .await;
    }
    until(&node, "/custom", 401).await;
    until(&node, "/anon", 200).await;

    let before = op.stats().await["introspection"].as_u64().unwrap();
    let mut seen = Vec::new();
    for call_number in ["first", "cached"] {
        let (status, echoed) = call(&node, "/custom", Some(&token)).await;
        assert_eq!(status, 200, "{call_number}: {echoed}");
        let mut headers = echoed["headers"].as_object().unwrap().clone();
        assert_eq!(headers["x-consumer-id"], consumer["id"], "{call_number}: the client's forged value is replaced");
        assert_eq!(headers["x-oauth-client-id"], client.client_id.as_str());
        assert_eq!(headers["x-consumer-custom-id"], client.client_id.as_str());
        assert!(headers["x-oauth-expiration"].as_str().unwrap().parse::<i64>().unwrap() > 1_600_000_000);
        let scopes: Vec<&str> = headers["x-authenticated-scope"].as_str().unwrap().split(',').collect();
        assert!(scopes.contains(&"email"), "{scopes:?}");
        let jwt = headers["kong-access-token-jwt"].as_str().unwrap();
        let payload = jwt.split('.').nth(1).unwrap();
        let payload: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
        assert_eq!((payload["active"].clone(), payload["client_id"].clone()), (json!(true), json!(client.client_id)));
        assert_eq!(payload["consumer"]["id"], consumer["id"]);
        assert!(jwt.ends_with('.'), "unsigned");
        assert_eq!(headers["kong-consumer-id"], consumer["id"]);
        assert_eq!(headers["kong-consumer-username"], "app");
        assert_eq!(headers["kong-consumer-custom-id"], client.client_id.as_str());
        assert_eq!(headers["kong-consumer-created-at"], consumer["created_at"].to_string().as_str());
        assert_eq!(headers["http-kong-api-version"], "version 1.0");
        for absent in ["x-broken", "x-consumer-username", "x-anonymous-consumer"] {
            assert!(headers.get(absent).is_none(), "{call_number}: {absent} (legacy set or failed expression)");
        }
        headers.retain(|name, _| name.starts_with("x-") || name.starts_with("kong-") || name.starts_with("http-"));
        seen.push(headers);
    }
    assert_eq!(seen[0], seen[1], "the cached call gets the same headers");
    let after = op.stats().await["introspection"].as_u64().unwrap();
    assert_eq!(after - before, 1, "one introspection, then the cache");

    let (status, echoed) = call(&node, "/anon", None).await;
    assert_eq!(status, 200, "{echoed}");
    let headers = &echoed["headers"];
    assert_eq!(headers["x-consumer-id"], anonymous["id"], "computed with the anonymous consumer");
    assert_eq!(headers["kong-consumer-username"], "anonymous");
    assert_eq!(headers["x-anonymous-consumer"], "true");
    assert!(headers.get("x-oauth-client-id").is_none());
    assert!(headers.get("kong-access-token-jwt").is_some(), "introspect_data is {{consumer = …}}");

    let response = reqwest::Client::new()
        .post(node.admin_url("/routes/custom/plugins"))
        .json(&json!({"name": "gluu-oauth-auth", "config": plugin_config(&node, &op, &client,
            json!({"custom_headers": [{"header_name": "x-bad", "value_lua_exp": "introspect_data."}]}))}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["fields"]["config"],
        "x-bad has not a valid lua expression value, Error: [string \"return introspect_data.\"]:1: <name> expected near <eof>"
    );
}

/// A node whose `/api` (an echo upstream) is protected by gluu-oauth-auth with a client registered at `op`,
/// mapped to the consumer `app`.
async fn protected_api(op: &Op) -> (Gatehouse, tempfile::TempDir, Client) {
    let upstream = echo::start().await;
    let (node, dir) = Gatehouse::start(&[]);
    let client = register(&node, op).await;
    admin(&node, reqwest::Method::PUT, "/consumers/app", json!({"custom_id": client.client_id})).await;
    admin(&node, reqwest::Method::PUT, "/services/api", json!({"url": format!("http://{upstream}")})).await;
    admin(&node, reqwest::Method::PUT, "/routes/api", json!({"paths": ["/api"], "service": {"name": "api"}})).await;
    let config = plugin_config(&node, op, &client, json!({}));
    admin(&node, reqwest::Method::POST, "/services/api/plugins", json!({"name": "gluu-oauth-auth", "config": config}))
        .await;
    until(&node, "/api", 401).await;
    (node, dir, client)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_with_a_new_token_cause_one_introspection_and_revocation_needs_a_purge() {
    let op = Op::start(&["--token-ttl", "600"]);
    let (node, _dir, client) = protected_api(&op).await;

    // 64 requests at once with one token the gateway has never seen: one introspection at the OP.
    let token = client_token(&node, &op, &client).await;
    let before = op.stats().await["introspection"].as_u64().unwrap();
    let calls: Vec<_> = (0..64)
        .map(|_| {
            let (url, token) = (format!("http://{}/api", node.proxy_http), token.clone());
            tokio::spawn(async move {
                reqwest::Client::new().get(url).bearer_auth(token).send().await.unwrap().status().as_u16()
            })
        })
        .collect();
    for call in calls {
        assert_eq!(call.await.unwrap(), 200);
    }
    let after = op.stats().await["introspection"].as_u64().unwrap();
    assert_eq!(after - before, 1, "single-flight: concurrent misses share one introspection");

    // A token revoked at the OP keeps working while cached; purging the cache makes the gateway ask again.
    let revoked = reqwest::Client::new()
        .post(format!("{}/token/revocation", op.issuer))
        .basic_auth(&client.client_id, Some(&client.client_secret))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert!(revoked.status().is_success());
    assert_eq!(call(&node, "/api", Some(&token)).await.0, 200, "still cached");
    let purge = reqwest::Client::new().delete(node.admin_url("/cache")).send().await.unwrap();
    assert_eq!(purge.status(), 204);
    let (status, body) = call(&node, "/api", Some(&token)).await;
    assert_eq!((status, body), (401, json!({"message": "Invalid access token provided in Authorization header"})));
}

#[tokio::test]
async fn expired_tokens_are_refused() {
    let op = Op::start(&["--token-ttl", "2"]);
    let (node, _dir, client) = protected_api(&op).await;
    let token = client_token(&node, &op, &client).await;
    // A token with less than 5 s to live is not cached (TTL = exp − now − 5 s), so expiry shows at once.
    assert_eq!(call(&node, "/api", Some(&token)).await.0, 200);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let (status, body) = call(&node, "/api", Some(&token)).await;
    assert_eq!((status, body), (401, json!({"message": "Invalid access token provided in Authorization header"})));
}
