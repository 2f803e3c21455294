//! gluu-oauth-auth with JWT access tokens (`gluu-plugins.md` §3.4, §14 D7–D8): tokens signed by the real OP of
//! `end2end/op` (`--jwt-access-tokens`; `--extra-keys` for RS384/RS512 and a key rotation; `jwt_claims` and
//! `jwt_header` for tokens the gateway must refuse), verified locally against the OP's JWKS without an
//! introspection.

mod support;

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::Method;
use serde_json::{Value, json};
use support::gluu::{
    Client, api_route, attach, call, client_token, introspections, node_with_api, protected, register, until,
    until_anonymous, until_with,
};
use support::op::Op;
use support::{Gatehouse, admin, echo};

/// A JWT with its payload replaced (signature kept) or with `alg: none`.
fn forged(token: &str, alg_none: bool) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    let mut payload = part(token, 1);
    payload["scope"] = json!("openid email admin");
    let payload = URL_SAFE_NO_PAD.encode(payload.to_string());
    if alg_none {
        format!("{}.{payload}.", URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#))
    } else {
        format!("{}.{payload}.{}", parts[0], parts[2])
    }
}

/// The decoded header (0) or payload (1) of a JWT.
fn part(token: &str, index: usize) -> Value {
    let text = token.split('.').nth(index).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(text).unwrap()).unwrap()
}

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

/// A client_credentials token straight from the OP's token endpoint, with `params` (`scope`, `resource`).
async fn op_token(op: &Op, client: &Client, params: &[(&str, &str)]) -> String {
    let mut form = vec![("grant_type", "client_credentials")];
    form.extend_from_slice(params);
    let response = reqwest::Client::new()
        .post(format!("{}/token", op.issuer))
        .basic_auth(&client.client_id, Some(&client.client_secret))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_string()
}

/// The kid of the OP's RSA RS256 key (the default signer).
async fn default_kid(op: &Op) -> String {
    let jwks: Value = reqwest::get(format!("{}/jwks", op.issuer)).await.unwrap().json().await.unwrap();
    jwks["keys"][0]["kid"].as_str().unwrap().to_string()
}

async fn jwks_fetches(op: &Op) -> u64 {
    op.stats().await["jwks"].as_u64().unwrap()
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
        assert_eq!(part(&token, 0)["alg"], if es256 { "ES256" } else { "RS256" });
        admin(&node, Method::PUT, "/consumers/app", json!({"custom_id": client.client_id})).await;
        admin(&node, Method::PUT, "/services/api", json!({"url": format!("http://{upstream}")})).await;
        for (name, audience) in [("jwt", json!(null)), ("aud", json!(["urn:somewhere-else"]))] {
            api_route(&node, name, true).await;
            let config = json!({"jwt_audience": audience});
            attach(&node, &op, &client, &format!("/routes/{name}"), "gluu-oauth-auth", config).await;
        }
        until(&node, "/jwt", 401).await;
        until(&node, "/aud", 401).await;

        let before = introspections(&op).await;
        let (status, echoed) = call(&node, "/jwt", Some(&token)).await;
        assert_eq!(status, 200, "{echoed}");
        assert_eq!(echoed["headers"]["x-oauth-client-id"], client.client_id.as_str());
        assert_eq!(introspections(&op).await, before, "no introspection for a JWT");

        let (status, body) = call(&node, "/jwt", Some(&forged(&token, false))).await;
        assert_eq!((status, body), (401, json!({"message": "JWT is not verified, reason: signature mismatch"})));
        let (status, body) = call(&node, "/jwt", Some(&forged(&token, true))).await;
        assert_eq!((status, body), (401, json!({"message": "Bad JWT"})));
        let (status, body) = call(&node, "/aud", Some(&token)).await;
        assert_eq!((status, body), (401, json!({"message": "JWT is not verified, reason: audience mismatch"})));
    }
}

#[tokio::test]
async fn rs384_rs512_and_every_refusal_of_a_token_the_op_signed() {
    let op = Op::start(&["--jwt-access-tokens", "--extra-keys"]);
    let (node, _dir, client, consumer) = node_with_api(&op, &[]).await;
    let anonymous = admin(&node, Method::PUT, "/consumers/anonymous", json!({"custom_id": "anonymous"})).await;
    let orders = "https://api.example.com/orders";
    let pep = |scope: &str| {
        json!([{"path": "/??", "conditions": [{"httpMethods": ["GET"],
            "scope_expression": {"rule": {"and": [{"var": 0}]}, "data": [scope]}}]}])
        .to_string()
    };
    for (name, auth, document) in [
        ("jwt", json!({}), None),
        ("orders", json!({"jwt_audience": [orders, "urn:another"]}), None),
        ("anon", json!({"anonymous": anonymous["id"]}), None),
        ("email", json!({}), Some(pep("email"))),
        ("admin", json!({}), Some(pep("admin"))),
    ] {
        api_route(&node, name, true).await;
        attach(&node, &op, &client, &format!("/routes/{name}"), "gluu-oauth-auth", auth).await;
        if let Some(document) = document {
            let config = json!({"oauth_scope_expression": document});
            attach(&node, &op, &client, &format!("/routes/{name}"), "gluu-oauth-pep", config).await;
        }
    }
    let plain = op_token(&op, &client, &[("scope", "openid email")]).await;
    until_with(&node, "/admin", Some(&plain), 403).await;
    let before = introspections(&op).await;

    for kid in ["extra-rs384", "extra-rs512"] {
        op.configure(json!({"jwt_kid": kid})).await;
        let token = op_token(&op, &client, &[("scope", "openid email")]).await;
        assert_eq!(part(&token, 0)["kid"], kid);
        let (status, echoed) = call(&node, "/jwt", Some(&token)).await;
        assert_eq!(status, 200, "{kid}: {echoed}");
        assert_eq!(echoed["headers"]["x-consumer-id"], consumer["id"], "{kid}");
        assert_eq!(echoed["headers"]["x-authenticated-scope"], "openid, email", "{kid}: JWT scopes are a string");
    }
    op.configure(json!({"jwt_kid": ""})).await;

    // The audience: one of jwt_audience, here asked for with a resource indicator.
    let for_orders = op_token(&op, &client, &[("scope", "openid"), ("resource", orders)]).await;
    assert_eq!(call(&node, "/orders", Some(&for_orders)).await.0, 200);
    let (status, body) = call(&node, "/orders", Some(&plain)).await;
    assert_eq!((status, body), (401, json!({"message": "JWT is not verified, reason: audience mismatch"})));

    // JWT + PEP: the scopes of the JWT decide.
    assert_eq!(call(&node, "/email", Some(&plain)).await.0, 200);
    let (status, body) = call(&node, "/admin", Some(&plain)).await;
    assert_eq!((status, body), (403, json!({"message": "You are not authorized to access this resource"})));

    // Tokens the OP signed that must still be refused, each with its reason (§3.4, §14 D8).
    let default = default_kid(&op).await;
    let refusals = [
        (json!({"jwt_kid": "extra-rs384", "jwt_header": {"kid": default}}), "Bad JWT"), // alg ≠ the key's
        (json!({"jwt_header": {"kid": null}}), "JWT - missed kid"),
        (json!({"jwt_claims": {"exp": now() - 60}}), "JWT is not verified, reason: token expired"),
        (json!({"jwt_claims": {"nbf": now() + 3600}}), "JWT is not verified, reason: token not yet valid"),
        (json!({"jwt_claims": {"iss": "http://127.0.0.1:9"}}), "JWT is not verified, reason: issuer mismatch"),
        (json!({"jwt_claims": {"client_id": null}}), "JWT - malformed payload"),
        (json!({"jwt_claims": {"exp": null}}), "JWT - malformed payload"),
    ];
    for (settings, message) in refusals {
        op.configure(settings.clone()).await;
        let token = op_token(&op, &client, &[("scope", "openid email")]).await;
        op.configure(json!({"jwt_kid": "", "jwt_header": {}, "jwt_claims": {}})).await;
        let (status, body) = call(&node, "/jwt", Some(&token)).await;
        assert_eq!((status, body), (401, json!({"message": message})), "{settings}");
        // A 401-class failure is the anonymous branch where anonymous is configured.
        let (status, echoed) = call(&node, "/anon", Some(&token)).await;
        assert_eq!(status, 200, "{settings}: {echoed}");
        assert_eq!(echoed["headers"]["x-consumer-id"], anonymous["id"], "{settings}");
        assert_eq!(echoed["headers"]["x-anonymous-consumer"], "true");
    }
    assert_eq!(introspections(&op).await, before, "JWTs are never introspected");
}

#[tokio::test]
async fn an_unknown_kid_refreshes_the_jwks_once_then_is_refused() {
    let op = Op::start(&["--jwt-access-tokens", "--extra-keys", "--jwks-hidden", "extra-next"]);
    let (node, _dir, client) = protected(&op, "jwt").await;
    let known = op_token(&op, &client, &[("scope", "openid")]).await;
    assert_eq!(call(&node, "/jwt", Some(&known)).await.0, 200);
    let fetched = jwks_fetches(&op).await;

    // Signed with a key the OP has not published.
    op.configure(json!({"jwt_kid": "extra-next"})).await;
    let unknown = op_token(&op, &client, &[("scope", "openid")]).await;
    let (status, body) = call(&node, "/jwt", Some(&unknown)).await;
    assert_eq!((status, body), (401, json!({"message": "Unknown kid"})));
    assert_eq!(jwks_fetches(&op).await, fetched + 1, "one forced refresh");
    let (status, body) = call(&node, "/jwt", Some(&unknown)).await;
    assert_eq!((status, body), (401, json!({"message": "Unknown kid"})));
    let another = op_token(&op, &client, &[("scope", "openid email")]).await;
    assert_eq!(call(&node, "/jwt", Some(&another)).await.1, json!({"message": "Unknown kid"}));
    assert_eq!(jwks_fetches(&op).await, fetched + 1, "no refresh again: at most one per issuer every 10 s");
    assert_eq!(call(&node, "/jwt", Some(&known)).await.0, 200, "known keys still verify");
}

#[tokio::test]
async fn a_rotated_key_is_found_after_one_jwks_refresh() {
    let op = Op::start(&["--jwt-access-tokens", "--extra-keys", "--jwks-hidden", "extra-next"]);
    let (node, _dir, client) = protected(&op, "jwt").await;
    let old = op_token(&op, &client, &[("scope", "openid")]).await;
    assert_eq!(call(&node, "/jwt", Some(&old)).await.0, 200);
    let fetched = jwks_fetches(&op).await;

    // The OP publishes its next key and signs with it; the gateway's cached JWKS does not have it yet.
    op.configure(json!({"jwks_hidden": [], "jwt_kid": "extra-next"})).await;
    let rotated = op_token(&op, &client, &[("scope", "openid")]).await;
    assert_eq!(part(&rotated, 0)["kid"], "extra-next");
    let (status, echoed) = call(&node, "/jwt", Some(&rotated)).await;
    assert_eq!(status, 200, "{echoed}");
    assert_eq!(echoed["headers"]["x-oauth-client-id"], client.client_id.as_str());
    assert_eq!(jwks_fetches(&op).await, fetched + 1, "one refresh found the new key");
    let newer = op_token(&op, &client, &[("scope", "openid email")]).await;
    assert_eq!(call(&node, "/jwt", Some(&newer)).await.0, 200);
    assert_eq!(call(&node, "/jwt", Some(&old)).await.0, 200);
    assert_eq!(jwks_fetches(&op).await, fetched + 1, "the refreshed JWKS serves both keys");
}

#[tokio::test]
async fn an_op_that_cannot_be_reached_is_502_even_with_anonymous() {
    let op = Op::start(&["--jwt-access-tokens"]);
    let (node, _dir, client, _) = node_with_api(&op, &[]).await;
    api_route(&node, "anon", true).await;
    let config = json!({"consumer_mapping": false, "anonymous": "allow"});
    attach(&node, &op, &client, "/routes/anon", "gluu-oauth-auth", config).await;
    until_anonymous(&node, "/anon").await;
    let token = op_token(&op, &client, &[("scope", "openid")]).await;
    drop(op); // the JWKS was never fetched, and now cannot be
    let (status, body) = call(&node, "/anon", Some(&token)).await;
    assert_eq!((status, body), (502, json!({"message": "An unexpected error ocurred"})));
}
