//! gluu-oauth-auth end to end with opaque tokens: the real OP of `end2end/op`, the embedded oxd module, a real
//! echo upstream, configured through the Admin API and called through the proxy with real tokens. JWT access
//! tokens: `gluu_oauth_jwt.rs`; with the PEP: `gluu_oauth_pep.rs`; with other services and plugins:
//! `gluu_oauth_services.rs`.

mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::gluu::{
    FORGED, api_route, attach, call, client_token, introspections, node_with_api, plugin_config, protected, register,
    send, until, until_anonymous,
};
use support::op::Op;
use support::{Gatehouse, admin, echo};

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
    let before = introspections(&op).await;
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
    let after = introspections(&op).await;
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

    for call_number in ["first", "cached"] {
        let (status, echoed) = call(&node, "/hide", Some(&token)).await;
        assert_eq!(status, 200, "{call_number}: {echoed}");
        assert!(echoed["headers"].get("authorization").is_none(), "{call_number}: hide removes the token");
        assert_eq!(echoed["headers"]["x-oauth-client-id"], client.client_id.as_str());
    }

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

    let before = introspections(&op).await;
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
    let after = introspections(&op).await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_with_a_new_token_cause_one_introspection_and_revocation_needs_a_purge() {
    let op = Op::start(&["--token-ttl", "600"]);
    let (node, _dir, client) = protected(&op, "api").await;

    // 64 requests at once with one token the gateway has never seen: one introspection at the OP.
    let token = client_token(&node, &op, &client).await;
    let before = introspections(&op).await;
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
    let after = introspections(&op).await;
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
    let (node, _dir, client) = protected(&op, "api").await;
    let token = client_token(&node, &op, &client).await;
    // A token with less than 5 s to live is not cached (TTL = exp − now − 5 s), so expiry shows at once.
    assert_eq!(call(&node, "/api", Some(&token)).await.0, 200);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let (status, body) = call(&node, "/api", Some(&token)).await;
    assert_eq!((status, body), (401, json!({"message": "Invalid access token provided in Authorization header"})));
}

#[tokio::test]
async fn identity_headers_a_client_sends_never_reach_the_upstream() {
    let op = Op::start(&[]);
    let (node, _dir, client, _) = node_with_api(&op, &[]).await;
    let token = client_token(&node, &op, &client).await;
    // Headers whose values a configuration cannot produce here: no consumer (mapping off), a failing expression.
    let custom_headers = json!([
        {"header_name": "kong_client_id", "value_lua_exp": "introspect_data.client_id"},
        {"header_name": "kong_consumer_id", "value_lua_exp": "consumer.id"},
        {"header_name": "kong_consumer_{*}", "value_lua_exp": "consumer", "iterate": true},
        {"header_name": "x-broken", "value_lua_exp": "introspect_data.stub[2]"},
    ]);
    for (name, extra) in [
        ("legacy", json!({"consumer_mapping": false, "anonymous": "allow"})),
        ("custom", json!({"consumer_mapping": false, "anonymous": "allow", "custom_headers": custom_headers})),
    ] {
        api_route(&node, name, true).await;
        attach(&node, &op, &client, &format!("/routes/{name}"), "gluu-oauth-auth", extra).await;
    }
    until_anonymous(&node, "/custom").await;
    let spoofed = [("kong-consumer-id", "forged"), ("kong-consumer-username", "forged"), ("x-broken", "forged")];
    let forged_values = |headers: &serde_json::Map<String, Value>| -> Vec<String> {
        headers.iter().filter(|(_, value)| *value == "forged").map(|(name, _)| name.clone()).collect()
    };

    for token in [Some(token.as_str()), None] {
        let (status, echoed) = send(&node, reqwest::Method::GET, "/legacy", token, &spoofed).await;
        assert_eq!(status, 200, "{echoed}");
        let headers = echoed["headers"].as_object().unwrap();
        let gatehouse: Vec<&str> = FORGED.iter().map(|(name, _)| *name).filter(|n| headers.contains_key(*n)).collect();
        match token {
            Some(_) => {
                assert_eq!(gatehouse, ["x-oauth-client-id", "x-oauth-expiration", "x-authenticated-scope"]);
                assert_eq!(headers["x-oauth-client-id"], client.client_id.as_str());
            }
            None => {
                assert_eq!(gatehouse, ["x-anonymous-consumer"], "anonymous: only the gateway's own header");
                assert_eq!(headers["x-anonymous-consumer"], "true");
            }
        }
        assert_eq!(forged_values(headers), ["kong-consumer-id", "kong-consumer-username", "x-broken"], "not ours");

        let (status, echoed) = send(&node, reqwest::Method::GET, "/custom", token, &spoofed).await;
        assert_eq!(status, 200, "{echoed}");
        let headers = echoed["headers"].as_object().unwrap();
        assert!(forged_values(headers).is_empty(), "{token:?}: {headers:?}");
        assert_eq!(headers.get("kong-client-id").is_some(), token.is_some());
        for absent in ["kong-consumer-id", "kong-consumer-username", "x-broken", "x-consumer-id", "x-oauth-client-id"] {
            assert!(headers.get(absent).is_none(), "{token:?}: {absent}");
        }
        assert_eq!(headers.get("x-anonymous-consumer").is_some(), token.is_none());
    }
}
