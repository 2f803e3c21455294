//! The remote oxd transport (`gluu-plugins.md` §3.2): node B's gluu-oauth-auth and gluu-oauth-pep name node A's
//! oxd API as their `oxd_url`, so B validates tokens by calling A (over TLS that B verifies), and A calls the
//! real OP of `end2end/op`.

mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::op::Op;
use support::oxd_api::{assert_no_secret_leaked, oxd};
use support::{Gatehouse, admin, echo};

/// `GET /api/items` through the node's proxy: (status, JSON body).
async fn call(node: &Gatehouse, token: Option<&str>) -> (u16, Value) {
    let mut request = reqwest::Client::new().get(format!("http://{}/api/items", node.proxy_http));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// The API of `node` protected by gluu-oauth-auth and gluu-oauth-pep (scope `oxd` for GET) whose oxd is `oxd_url`.
async fn protect(node: &Gatehouse, upstream: std::net::SocketAddr, site: &Value, op: &Op, oxd_url: &str) {
    admin(node, reqwest::Method::PUT, "/services/api", json!({"url": format!("http://{upstream}")})).await;
    admin(node, reqwest::Method::PUT, "/routes/api", json!({"paths": ["/api"], "service": {"name": "api"}})).await;
    admin(node, reqwest::Method::PUT, "/consumers/app", json!({"custom_id": site["client_id"]})).await;
    let oxd = json!({"oxd_id": site["oxd_id"], "client_id": site["client_id"], "client_secret": site["client_secret"],
        "op_url": op.issuer, "oxd_url": oxd_url});
    admin(node, reqwest::Method::POST, "/services/api/plugins", json!({"name": "gluu-oauth-auth", "config": oxd}))
        .await;
    let rule = json!([{"path": "/api/??", "conditions": [{"httpMethods": ["GET"],
        "scope_expression": {"rule": {"and": [{"var": 0}]}, "data": ["oxd"]}}]}]);
    let mut pep = oxd.clone();
    pep["oauth_scope_expression"] = json!(rule.to_string());
    admin(node, reqwest::Method::POST, "/services/api/plugins", json!({"name": "gluu-oauth-pep", "config": pep})).await;
    let started = Instant::now();
    while call(node, None).await.0 != 401 {
        assert!(started.elapsed() < Duration::from_secs(5), "the plugins never went live");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A's log lines for `command` (one per call of its oxd API).
fn calls_of(node: &Gatehouse, command: &str) -> usize {
    node.log().lines().filter(|line| line.contains("oxd command") && line.contains(command)).count()
}

#[tokio::test]
async fn plugins_of_one_node_validate_tokens_through_another_nodes_oxd_api_over_verified_tls() {
    let op = Op::start(&[]);
    let upstream = echo::start().await;
    let (a, _dir_a) = Gatehouse::start(&[]);
    // B trusts A's self-signed certificate (besides the built-in roots); C trusts only the built-in roots.
    let a_certificate = a.prefix.join("ssl/gatehouse-default.crt");
    let (b, _dir_b) = Gatehouse::start(&["--oxd_tls_ca_bundle", a_certificate.to_str().unwrap()]);
    let (c, _dir_c) = Gatehouse::start(&[]);

    // The plugins' site exists at A only.
    let (status, site) = oxd(
        &a,
        "register-site",
        json!({"op_host": op.issuer, "redirect_uris": ["https://app.example.com/cb"], "scope": ["openid", "oxd"],
            "grant_types": ["client_credentials"]}),
        None,
    )
    .await;
    assert_eq!(status, 200, "{site}");
    let (_, on_b) = oxd(&b, "get-rp", json!({"oxd_id": site["oxd_id"]}), None).await;
    assert_eq!(on_b["node"], Value::Null, "B does not know the site");
    let a_url = format!("https://localhost:{}", a.oxd.port());
    protect(&b, upstream, &site, &op, &a_url).await;

    let token = |scope: Value| {
        let request = json!({"op_host": op.issuer, "client_id": site["client_id"], "client_secret": site["client_secret"],
            "scope": scope});
        let a = &a;
        async move {
            let (status, token) = oxd(a, "get-client-token", request, None).await;
            assert_eq!(status, 200, "{token}");
            token["access_token"].as_str().unwrap().to_string()
        }
    };
    let (with_oxd, openid_only) = (token(json!(["oxd"])).await, token(json!([])).await);

    let (status, echoed) = call(&b, Some(&with_oxd)).await;
    assert_eq!(status, 200, "{echoed}");
    assert_eq!(echoed["headers"]["x-oauth-client-id"], site["client_id"]);
    assert_eq!(echoed["headers"]["x-authenticated-scope"], "openid, oxd");
    let (status, body) = call(&b, Some("not-a-token")).await;
    assert_eq!((status, body), (401, json!({"message": "Invalid access token provided in Authorization header"})));
    // The PEP judges the data A's introspection gave.
    let (status, body) = call(&b, Some(&openid_only)).await;
    assert_eq!((status, body), (403, json!({"message": "You are not authorized to access this resource"})));

    // A really served B: one PAT, then one introspection per new token; B's own oxd API saw none of it.
    assert_eq!(calls_of(&a, "introspect-access-token"), 3, "{}", a.log());
    assert_eq!(calls_of(&a, "get-client-token"), 3, "two for the test's tokens, one PAT for B");
    assert_eq!(calls_of(&b, "introspect-access-token") + calls_of(&b, "get-client-token"), 0);
    // A cached validation: no further call to A.
    let (status, _) = call(&b, Some(&with_oxd)).await;
    assert_eq!(status, 200);
    assert_eq!(calls_of(&a, "introspect-access-token"), 3);

    // C does not trust A's certificate: the plugin cannot reach A, which is an OP-side failure (502).
    protect(&c, upstream, &site, &op, &a_url).await;
    let (status, body) = call(&c, Some(&with_oxd)).await;
    assert_eq!((status, body), (502, json!({"message": "An unexpected error ocurred"})));
    assert!(c.log().contains("remote oxd request failed"), "{}", c.log());
    assert_eq!(calls_of(&a, "get-client-token"), 3, "no request reached A from C");

    let secret = site["client_secret"].as_str().unwrap();
    let rat = site["client_registration_access_token"].as_str().unwrap();
    for node in [&a, &b, &c] {
        assert_no_secret_leaked(node, &[secret, rat], &[]);
    }
}
