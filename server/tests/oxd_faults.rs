//! The oxd module against an OP that misbehaves: the in-process fake OP of `support/fake_op.rs` is slow, down,
//! answers 500s or garbage, signs id_tokens that are wrong in one way each, and rotates its keys. Everything is
//! observed from outside the running binary — the oxd API's answers and, for access tokens, the proxy's — and
//! the client secret and registration access token never show up in the node's log or in an error body.

mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::fake_op::{CLIENT_ID, CLIENT_SECRET, CLIENT_TOKEN, Endpoint, FakeOp, Fault, REGISTRATION_ACCESS_TOKEN};
use support::oxd_api::{assert_no_secret_leaked, oxd, query_value};
use support::{Gatehouse, admin, echo};

/// A node that gives up on the OP after a second, runs protected commands without a bearer (so each fault
/// is reached directly, not through the bearer check), and logs everything.
const NODE: [&str; 6] =
    ["--oxd_op_timeout", "1s", "--oxd_protect_commands_with_access_token", "off", "--log_level", "debug"];

/// Forgets cached discovery documents, keys and tokens (`DELETE /cache`), so the next call meets the OP.
async fn purge(node: &Gatehouse) {
    let response = reqwest::Client::new().delete(node.admin_url("/cache")).send().await.unwrap();
    assert!(response.status().is_success());
}

/// A site of the fake OP for the code flow; its oxd_id.
async fn register(node: &Gatehouse, op: &FakeOp) -> String {
    let (status, site) = oxd(
        node,
        "register-site",
        json!({"op_host": op.issuer, "redirect_uris": ["https://app.example.com/cb"], "scope": ["openid", "oxd"],
            "grant_types": ["authorization_code"], "response_types": ["code"]}),
        None,
    )
    .await;
    assert_eq!(status, 200, "{site}");
    assert_eq!((site["client_id"].as_str(), site["client_secret"].as_str()), (Some(CLIENT_ID), Some(CLIENT_SECRET)));
    site["oxd_id"].as_str().unwrap().to_string()
}

/// Makes the id_token the OP answers, for the flow's nonce.
type IdTokenFor<'a> = Box<dyn FnOnce(&str) -> String + 'a>;

/// One code flow: an authorization URL (a fresh state and nonce), then the code exchange, where the fake OP
/// answers the id_token `id_token(nonce)` makes. The answer of `get-tokens-by-code`.
async fn exchange(node: &Gatehouse, op: &FakeOp, oxd_id: &str, id_token: impl FnOnce(&str) -> String) -> (u16, Value) {
    let (status, body) = oxd(node, "get-authorization-url", json!({"oxd_id": oxd_id}), None).await;
    assert_eq!(status, 200, "{body}");
    let url = body["authorization_url"].as_str().unwrap();
    let (state, nonce) = (query_value(url, "state").unwrap(), query_value(url, "nonce").unwrap());
    op.set_id_token(&id_token(&nonce));
    oxd(node, "get-tokens-by-code", json!({"oxd_id": oxd_id, "code": "the-code", "state": state}), None).await
}

#[tokio::test]
async fn a_slow_down_or_broken_op_is_an_oxd_error_not_a_hang_and_the_error_is_not_kept() {
    let op = FakeOp::start().await;
    let (node, _dir) = Gatehouse::start(&NODE);
    let registration =
        json!({"op_host": op.issuer, "redirect_uris": ["https://app.example.com/cb"], "scope": ["openid", "oxd"]});
    let (status, site) = oxd(&node, "register-site", registration.clone(), None).await;
    assert_eq!(status, 200, "{site}");
    let oxd_id = site["oxd_id"].as_str().unwrap();
    let client_token =
        json!({"op_host": op.issuer, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "scope": ["oxd"]});
    let introspection = json!({"oxd_id": oxd_id, "access_token": CLIENT_TOKEN});
    let cases = [
        (Endpoint::Discovery, "register-site", &registration, "no_connect_discovery_response"),
        (Endpoint::Registration, "register-site", &registration, "internal_error"),
        (Endpoint::Token, "get-client-token", &client_token, "internal_error"),
        (Endpoint::Introspection, "introspect-access-token", &introspection, "internal_error"),
        (Endpoint::Jwks, "get-jwks", &json!({"op_host": op.issuer}), "internal_error"),
    ];
    let mut errors = Vec::new();
    for (endpoint, command, body, error) in cases {
        for fault in [Fault::Slow(Duration::from_secs(60)), Fault::Status(500), Fault::Garbage] {
            purge(&node).await;
            op.fail(endpoint, fault);
            let before = op.calls(endpoint);
            // A slow OP would answer after a minute; the test client gives up after 10 s, so only the node's
            // own bound (1 s here) lets this call end with an answer.
            let (status, answer) = oxd(&node, command, body.clone(), None).await;
            let case = format!("{command} with {endpoint:?} {fault:?}");
            assert_eq!((status, answer["error"].as_str()), (500, Some(error)), "{case}: {answer}");
            assert!(answer["error_description"].is_string(), "oxd's error body: {answer}");
            assert!(op.calls(endpoint) > before, "{case}: the fault was met");
            errors.push(answer);
            op.heal(endpoint);
            let (status, answer) = oxd(&node, command, body.clone(), None).await;
            assert_eq!(status, 200, "{case}, then healed: {answer}");
        }
    }

    // An OP 4xx is passed through with its status and body (oxd's Processor.process).
    op.fail(Endpoint::Token, Fault::Status(400));
    let (status, answer) = oxd(&node, "get-client-token", client_token.clone(), None).await;
    assert_eq!((status, answer["error_description"].as_str()), (400, Some("injected fault")), "{answer}");
    errors.push(answer);
    op.heal(Endpoint::Token);

    // The OP goes down: with its discovery cached, the token call fails; without, discovery does.
    op.stop();
    let (status, answer) = oxd(&node, "get-client-token", client_token.clone(), None).await;
    assert_eq!((status, answer["error"].as_str()), (500, Some("internal_error")), "{answer}");
    errors.push(answer);
    purge(&node).await;
    let (status, answer) = oxd(&node, "introspect-access-token", introspection, None).await;
    assert_eq!((status, answer["error"].as_str()), (500, Some("no_connect_discovery_response")), "{answer}");
    errors.push(answer);

    assert_no_secret_leaked(&node, &[CLIENT_SECRET, REGISTRATION_ACCESS_TOKEN], &errors);
}

#[tokio::test]
async fn an_invalid_id_token_is_refused_with_the_reason() {
    let fake = FakeOp::start().await;
    let op = &fake;
    let (node, _dir) = Gatehouse::start(&NODE);
    let oxd_id = register(&node, op).await;

    let (status, tokens) = exchange(&node, op, &oxd_id, |nonce| op.sign("k1", &op.id_token_claims(nonce))).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["id_token_claims"]["sub"], "alice");

    let changed = |name: &'static str, value: Value| {
        move |nonce: &str| {
            let mut claims = op.id_token_claims(nonce);
            claims[name] = value;
            op.sign("k1", &claims)
        }
    };
    let forged = |nonce: &str| {
        // Alice's signature on Mallory's claims.
        let genuine = op.sign("k1", &op.id_token_claims(nonce));
        let mut parts: Vec<String> = genuine.split('.').map(str::to_string).collect();
        let mut claims = op.id_token_claims(nonce);
        claims["sub"] = json!("mallory");
        use base64::Engine;
        parts[1] = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(claims.to_string());
        parts.join(".")
    };
    op.add_key("k9");
    let cases: Vec<(IdTokenFor<'_>, &str)> = vec![
        (Box::new(forged), "invalid_id_token_bad_signature"),
        (Box::new(changed("iss", json!("http://evil.example.com"))), "invalid_id_token_bad_issuer"),
        (Box::new(changed("aud", json!("another-client"))), "invalid_id_token_bad_audience"),
        (Box::new(changed("exp", json!(1_600_000_000))), "invalid_id_token_expired"),
        (Box::new(changed("nonce", json!("another-nonce"))), "invalid_id_token_bad_nonce"),
        (Box::new(changed("at_hash", json!("c29tZXRoaW5nIGVsc2U"))), "invalid_access_token_bad_hash"),
        // Signed with a key the OP never published.
        (Box::new(|nonce: &str| op.sign("k9", &op.id_token_claims(nonce))), "key_id_not_found"),
    ];
    let mut errors = Vec::new();
    for (id_token, error) in cases {
        let (status, answer) = exchange(&node, op, &oxd_id, id_token).await;
        assert_eq!((status, answer["error"].as_str()), (500, Some(error)), "{answer}");
        assert!(!answer["error_description"].as_str().unwrap().is_empty(), "the reason is told: {answer}");
        errors.push(answer);
    }
    assert_no_secret_leaked(&node, &[CLIENT_SECRET, REGISTRATION_ACCESS_TOKEN], &errors);
}

#[tokio::test]
async fn a_rotated_jwks_is_fetched_once_more_and_withdrawn_or_expired_keys_are_refused() {
    let fake = FakeOp::start().await;
    let op = &fake;
    let (node, _dir) = Gatehouse::start(&NODE);
    let oxd_id = register(&node, op).await;
    let signed_by = |kid: &'static str| move |nonce: &str| op.sign(kid, &op.id_token_claims(nonce));

    let (status, answer) = exchange(&node, op, &oxd_id, signed_by("k1")).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(op.calls(Endpoint::Jwks), 1);

    // The OP rotates: k2 replaces k1. A token of k2 makes the node fetch the keys once more.
    op.add_key("k2");
    op.publish(&["k2"]);
    let (status, answer) = exchange(&node, op, &oxd_id, signed_by("k2")).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(op.calls(Endpoint::Jwks), 2, "one forced refresh for the new kid");
    let (status, answer) = exchange(&node, op, &oxd_id, signed_by("k2")).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(op.calls(Endpoint::Jwks), 2, "then from the cache");

    // k1 was withdrawn: refused with the reason, and no new fetch (one forced refresh per 10 s at most).
    let (status, answer) = exchange(&node, op, &oxd_id, signed_by("k1")).await;
    assert_eq!((status, answer["error"].as_str()), (500, Some("key_id_not_found")), "{answer}");
    assert!(answer["error_description"].as_str().unwrap().contains("Unable to find matching key"), "{answer}");
    assert_eq!(op.calls(Endpoint::Jwks), 2);

    // Another OP publishes its key with oxAuth's `exp` already passed: the key is not used.
    let stale = FakeOp::start().await;
    stale.expire_key("k1");
    let stale_site = register(&node, &stale).await;
    let (status, answer) =
        exchange(&node, &stale, &stale_site, |nonce| stale.sign("k1", &stale.id_token_claims(nonce))).await;
    assert_eq!((status, answer["error"].as_str()), (500, Some("key_id_not_found")), "{answer}");
    assert_no_secret_leaked(&node, &[CLIENT_SECRET, REGISTRATION_ACCESS_TOKEN], &[answer]);
}

/// `GET` through the proxy with a bearer: (status, JSON body).
async fn call(node: &Gatehouse, token: Option<&str>) -> (u16, Value) {
    let mut request = reqwest::Client::new().get(format!("http://{}/api", node.proxy_http));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.timeout(Duration::from_secs(20)).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn gluu_oauth_auth_follows_a_key_rotation_and_answers_op_faults_with_502_not_a_hang() {
    let op = FakeOp::start().await;
    let upstream = echo::start().await;
    let (node, _dir) = Gatehouse::start(&NODE);
    let oxd_id = register(&node, &op).await;
    admin(&node, reqwest::Method::PUT, "/services/api", json!({"url": format!("http://{upstream}")})).await;
    admin(&node, reqwest::Method::PUT, "/routes/api", json!({"paths": ["/api"], "service": {"name": "api"}})).await;
    admin(&node, reqwest::Method::PUT, "/consumers/app", json!({"custom_id": CLIENT_ID})).await;
    let config = json!({"oxd_id": oxd_id, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
        "op_url": op.issuer, "oxd_url": format!("https://127.0.0.1:{}", node.oxd.port())});
    admin(&node, reqwest::Method::POST, "/services/api/plugins", json!({"name": "gluu-oauth-auth", "config": config}))
        .await;
    let started = Instant::now();
    while call(&node, None).await.0 != 401 {
        assert!(started.elapsed() < Duration::from_secs(5), "the plugin never went live");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    // JWT access tokens, verified with the OP's keys; the OP rotates k1 out for k2.
    let (status, echoed) = call(&node, Some(&op.jwt_access_token("k1"))).await;
    assert_eq!(status, 200, "{echoed}");
    assert_eq!(echoed["headers"]["x-oauth-client-id"], CLIENT_ID);
    op.add_key("k2");
    op.publish(&["k2"]);
    let fetched = op.calls(Endpoint::Jwks);
    let (status, echoed) = call(&node, Some(&op.jwt_access_token("k2"))).await;
    assert_eq!(status, 200, "{echoed}");
    assert_eq!(op.calls(Endpoint::Jwks), fetched + 1, "one forced refresh for the new kid");
    let mut answers = Vec::new();
    let (status, body) = call(&node, Some(&op.jwt_access_token("k1"))).await;
    assert_eq!((status, &body), (401, &json!({"message": "Unknown kid"})), "a withdrawn key");
    answers.push(body);

    // Opaque tokens are introspected: a slow, failing or garbage-speaking OP is a 502, never a hang, and the
    // failure is not cached.
    for fault in [Fault::Slow(Duration::from_secs(60)), Fault::Status(500), Fault::Garbage] {
        op.fail(Endpoint::Introspection, fault);
        let (status, body) = call(&node, Some(CLIENT_TOKEN)).await;
        assert_eq!((status, &body), (502, &json!({"message": "An unexpected error ocurred"})), "{fault:?}");
        answers.push(body);
        op.heal(Endpoint::Introspection);
    }
    let (status, echoed) = call(&node, Some(CLIENT_TOKEN)).await;
    assert_eq!(status, 200, "{echoed}");
    assert_no_secret_leaked(&node, &[CLIENT_SECRET, REGISTRATION_ACCESS_TOKEN], &answers);
}
