//! gluu-oauth-pep end to end, behind gluu-oauth-auth: tokens of the real OP of `end2end/op` with the scopes a
//! test asks for (`--extra-scopes`), the protection document's matching tree and scope expressions
//! (`gluu-plugins.md` §4, §5, §8), `deny_by_default` both ways, the anonymous branch, the Admin API's refusals
//! of bad documents with GG's messages, and the gluu-metrics counters a sequence of calls leaves.

mod support;

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};
use support::admin;
use support::gluu::{
    Client, api_route, attach, call, metrics_live, metrics_with, node_with_api, plugin_config, request, token_with,
    until, until_with,
};
use support::op::Op;

/// The scopes the tests' tokens are made of.
const SCOPES: &str = "admin,employee,customer,posts:42,todos:hh,todos:xx,command:123,subcommand:abcd,user:123";

/// A protection document item: `path`, one condition for `methods` with `rule` over `data`.
fn item(path: &str, methods: &[&str], rule: Value, data: &[&str]) -> Value {
    json!({"path": path, "conditions": [{"httpMethods": methods,
        "scope_expression": {"rule": rule, "data": data}}]})
}

const GPD: [&str; 3] = ["GET", "POST", "DELETE"];

fn var(index: u32) -> Value {
    json!({"var": index})
}

/// `(method, path, token, status)` rows checked in order; the failing row is named.
async fn expect(node: &support::Gatehouse, rows: &[(Method, &str, &str, u16)]) {
    for (method, path, token, status) in rows {
        let (got, body) = request(node, method.clone(), path, Some(token)).await;
        assert_eq!(got, *status, "{method} {path}: {body}");
    }
}

const NOT_AUTHORIZED: &str = "You are not authorized to access this resource";
const UNPROTECTED: &str = "Unprotected path/method are not allowed";

/// gluu-oauth-auth, then gluu-oauth-pep with `document`, on service `api`.
async fn protect_api(node: &support::Gatehouse, op: &Op, client: &Client, document: &Value) {
    attach(node, op, client, "/services/api", "gluu-oauth-auth", json!({})).await;
    let pep = json!({"oauth_scope_expression": document.to_string()});
    attach(node, op, client, "/services/api", "gluu-oauth-pep", pep).await;
}

/// A route `root` of service `api` that takes every path.
async fn root_route(node: &support::Gatehouse) {
    let route = json!({"paths": ["/"], "service": {"name": "api"}, "strip_path": false});
    admin(node, Method::PUT, "/routes/root", route).await;
}

#[tokio::test]
async fn the_gg_matrix_and_or_not_multi_wildcard_and_methods_decide_per_request() {
    let op = Op::start(&["--extra-scopes", SCOPES]);
    let (node, _dir, client, _) = node_with_api(&op, &SCOPES.split(',').collect::<Vec<_>>()).await;
    root_route(&node).await;
    let document = json!([
        item("/??", &GPD, json!({"and": [var(0)]}), &["admin"]),
        item("/posts", &GPD, json!({"and": [var(0), var(1)]}), &["admin", "employee"]),
        item("/comments", &GPD, json!({"or": [var(0), var(1)]}), &["admin", "employee"]),
        item("/todos", &GPD, json!({"!": var(0)}), &["customer"]),
        item("/test/??", &GPD, json!({"and": [var(0)]}), &["a-scope-nobody-has"]),
        // The GG UI's nesting: a second group as the last element of the first.
        item(
            "/reports/??",
            &["GET"],
            json!({"or": [var(0), {"and": [var(1), var(2)]}]}),
            &["admin", "employee", "customer"]
        ),
    ]);
    protect_api(&node, &op, &client, &document).await;
    let both = token_with(&node, &op, &client, &["admin", "employee"]).await;
    let employee = token_with(&node, &op, &client, &["employee"]).await;
    let customer = token_with(&node, &op, &client, &["customer", "employee"]).await;
    until_with(&node, "/test", Some(&both), 403).await;
    // Metrics last, so the calls above are not counted and the counts below are exact.
    metrics_live(&node, "/metrics-probe").await;

    use Method as M;
    expect(
        &node,
        &[
            (M::GET, "/posts", &both, 200),
            (M::POST, "/comments", &both, 200),
            (M::DELETE, "/todos", &both, 200),
            (M::GET, "/", &both, 200),
            (M::GET, "/photos", &both, 200), // no rule of its own: `/??`
            (M::GET, "/test", &both, 403),   // `/test/??` matches `/test` too (GG issue #423)
            (M::GET, "/test/whatever", &both, 403),
            (M::GET, "/posts", &employee, 403),    // AND
            (M::GET, "/comments", &employee, 200), // OR
            (M::GET, "/todos", &employee, 200),    // NOT customer
            (M::GET, "/photos", &employee, 403),
            (M::GET, "/todos", &customer, 403),
            (M::GET, "/reports/2024/q1", &employee, 403), // admin, or employee and customer
            (M::GET, "/reports", &customer, 200),
            (M::GET, "/reports/2024", &both, 200),
        ],
    )
    .await;
    let (status, body) = request(&node, M::GET, "/posts", Some(&employee)).await;
    assert_eq!((status, body), (403, json!({"message": NOT_AUTHORIZED})));
    // A method no condition names is unprotected, and refused by default.
    let (status, body) = request(&node, M::PUT, "/posts", Some(&both)).await;
    assert_eq!((status, body), (403, json!({"message": UNPROTECTED})));
    let (status, body) = request(&node, M::GET, "/reports/2024", None).await;
    assert_eq!((status, body), (401, json!({"message": "Failed to get bearer token from Authorization header"})));

    // gluu-metrics: 17 authenticated calls (every call with a token), 9 granted, per GG's names and labels.
    let id = &client.client_id;
    let text = metrics_with(
        &node,
        &[
            format!("gluu_oauth_client_authenticated{{consumer=\"{id}\",service=\"api\"}} 17"),
            format!("gluu_oauth_client_granted{{consumer=\"{id}\",service=\"api\"}} 9"),
            "gluu_total_client_authenticated 17".into(),
            "gluu_total_client_granted 9".into(),
            "gluu_endpoint_method{endpoint=\"/posts\",method=\"GET\",service=\"api\"} 3".into(),
            "gluu_endpoint_method{endpoint=\"/posts\",method=\"PUT\",service=\"api\"} 1".into(),
            "gluu_endpoint_method{endpoint=\"/reports/2024\",method=\"GET\",service=\"api\"} 2".into(),
        ],
    )
    .await;
    for help in [
        "# HELP gluu_oauth_client_authenticated Client(Consumer) OAuth authenticated per service in Kong",
        "# TYPE gluu_oauth_client_authenticated counter",
        "# HELP gluu_oauth_client_granted Client(Consumer) OAuth granted per service in Kong",
        "# HELP gluu_endpoint_method Endpoint call per service in Kong",
        "# HELP gluu_total_client_authenticated Total authentication(OAuth, UMA and OpenID Connect) in Kong",
        "# HELP gluu_total_client_granted Total authorization(OAuth, UMA and OPA PEP) in Kong",
        "# HELP gluu_nginx_metric_errors_total Number of nginx-lua-prometheus errors",
        "gluu_nginx_metric_errors_total 0",
    ] {
        assert!(text.lines().any(|line| line == help), "{help} in\n{text}");
    }
}

#[tokio::test]
async fn regex_segments_wildcards_and_spontaneous_scopes_with_path_captures() {
    let op = Op::start(&["--extra-scopes", SCOPES]);
    let (node, _dir, client, _) = node_with_api(&op, &SCOPES.split(',').collect::<Vec<_>>()).await;
    root_route(&node).await;
    let all = |n: u32| json!({"and": (0..n).map(var).collect::<Vec<_>>()});
    let document = json!([
        item("/posts/?/??", &["GET"], json!({"or": [var(0), var(1)]}), &["^posts:.+$", "never"]),
        item(
            "/todos/?/command/{^(\\d\\d\\d)-([a-d]{4})$}",
            &["GET"],
            all(3),
            &["^todos:(?<PC1>.+)$", "^command:(?<PC2>.+)$", "^subcommand:(?<PC3>[a-d]{4})$"],
        ),
        // Any method (`?`, which captures nothing: §15 N3); a regex alternative; `?` after it.
        item("/users/?/{todos|photos}/?", &["?"], all(1), &["^user:(?<PC1>.+)$"]),
        item("/folder/??/image.jpg", &["GET"], all(1), &["employee"]),
        item("/folder/?/image.jpg", &["GET"], all(1), &["admin"]),
        item("/archive/??/image.jpg", &["GET"], all(1), &["employee"]),
    ]);
    protect_api(&node, &op, &client, &document).await;
    let matching = token_with(&node, &op, &client, &["posts:42", "todos:hh", "command:123", "subcommand:abcd"]).await;
    let other_todo = token_with(&node, &op, &client, &["todos:xx", "command:123", "subcommand:abcd"]).await;
    let no_subcommand = token_with(&node, &op, &client, &["todos:hh", "command:123"]).await;
    let user = token_with(&node, &op, &client, &["user:123", "employee"]).await;
    let admin_token = token_with(&node, &op, &client, &["admin"]).await;
    until_with(&node, "/elsewhere", Some(&matching), 403).await;

    use Method as M;
    expect(
        &node,
        &[
            (M::GET, "/posts/1/comments/2", &matching, 200), // some scope matches ^posts:.+$
            (M::GET, "/posts/1", &matching, 200),
            (M::GET, "/posts/1", &user, 403),
            (M::GET, "/todos/hh/command/123-abcd", &matching, 200), // PC1=hh PC2=123 PC3=abcd
            (M::GET, "/todos/hh/command/123-abcd", &other_todo, 403), // todos:xx ≠ PC1
            (M::GET, "/todos/hh/command/123-abcd", &no_subcommand, 403),
            (M::GET, "/todos/hh/command/123-abce", &matching, 403), // the regex segment fails: unprotected
            (M::DELETE, "/users/123/todos/321", &user, 200),
            (M::PUT, "/users/123/photos/", &user, 200),
            (M::DELETE, "/users/124/todos/321", &user, 403), // user:123 ≠ PC1
            (M::DELETE, "/users/123/albums/321", &user, 403), // neither alternative: unprotected
            // The method is the first segment: GET has literal branches here, so a GET never reaches the `?`
            // one (GG's tree, no backtracking).
            (M::GET, "/users/123/todos/321", &user, 403),
            (M::GET, "/folder/x/image.jpg", &admin_token, 200), // `?` wins over `??`
            (M::GET, "/folder/x/image.jpg", &user, 403),
            (M::GET, "/folder/image.jpg", &user, 403), // `?` took `image.jpg`: no backtracking to `??`
            (M::GET, "/folder/a/b/image.jpg", &user, 403),
            (M::GET, "/archive/image.jpg", &user, 200), // `??` takes zero segments
            (M::GET, "/archive/a/b/image.jpg", &user, 200),
            (M::GET, "/archive/a/b/image.png", &user, 403),
        ],
    )
    .await;
    for (method, path) in [
        (M::GET, "/todos/hh/command/123-abce"),
        (M::DELETE, "/users/123/albums/321"),
        (M::GET, "/users/123/todos/321"),
        (M::GET, "/folder/image.jpg"),
    ] {
        let (_, body) = request(&node, method.clone(), path, Some(&user)).await;
        assert_eq!(body, json!({"message": UNPROTECTED}), "{method} {path}");
    }
    let (_, body) = request(&node, M::GET, "/todos/hh/command/123-abcd", Some(&other_todo)).await;
    assert_eq!(body, json!({"message": NOT_AUTHORIZED}));
}

#[tokio::test]
async fn deny_by_default_both_ways_the_anonymous_branch_and_hide() {
    let op = Op::start(&[]);
    let (node, _dir, client, _) = node_with_api(&op, &[]).await;
    let anonymous = admin(&node, Method::PUT, "/consumers/anonymous", json!({"custom_id": "anonymous_123"})).await;
    let token = token_with(&node, &op, &client, &["email"]).await;
    // `/<route>/secret` is protected on every route that has the document.
    let protected = json!([item("/?/secret", &["GET"], json!({"and": [var(0)]}), &["email"])]).to_string();
    let routes = [
        // (route, auth settings, PEP settings)
        ("deny", json!({}), json!({"deny_by_default": true, "oauth_scope_expression": protected})),
        (
            "open",
            json!({"pass_credentials": "hide"}),
            json!({"deny_by_default": false, "oauth_scope_expression": protected}),
        ),
        ("anon", json!({"anonymous": anonymous["id"]}), json!({"deny_by_default": false})),
        ("anondeny", json!({"anonymous": anonymous["id"]}), json!({"deny_by_default": true})),
        ("anonrule", json!({"anonymous": anonymous["id"]}), json!({"oauth_scope_expression": protected})),
    ];
    admin(&node, Method::POST, "/plugins", json!({"name": "gluu-metrics"})).await;
    for (name, auth, pep) in &routes {
        api_route(&node, name, false).await;
        attach(&node, &op, &client, &format!("/routes/{name}"), "gluu-oauth-auth", auth.clone()).await;
        attach(&node, &op, &client, &format!("/routes/{name}"), "gluu-oauth-pep", pep.clone()).await;
    }
    until(&node, "/anonrule/secret", 401).await;

    // deny_by_default = true: a token on a path the document does not protect is refused, and never granted.
    let (status, body) = call(&node, "/deny/elsewhere", Some(&token)).await;
    assert_eq!((status, body), (403, json!({"message": UNPROTECTED})));
    let id = &client.client_id;
    let text =
        metrics_with(&node, &[format!("gluu_oauth_client_authenticated{{consumer=\"{id}\",service=\"api\"}} 1")]).await;
    assert!(!text.contains("gluu_oauth_client_granted{"), "{text}");
    assert!(text.lines().any(|l| l == "gluu_total_client_granted 0"), "{text}");

    // deny_by_default = false: unprotected paths pass, protected ones are still checked; hide drops the token.
    let (status, echoed) = call(&node, "/open/elsewhere", Some(&token)).await;
    assert_eq!(status, 200, "{echoed}");
    assert!(echoed["headers"].get("authorization").is_none(), "hide");
    assert_eq!(echoed["headers"]["x-oauth-client-id"], id.as_str());
    assert_eq!(call(&node, "/open/secret", Some(&token)).await.0, 200);
    let (status, body) = call(&node, "/open/secret", Some("bad-token")).await;
    assert_eq!((status, body), (401, json!({"message": "Invalid access token provided in Authorization header"})));

    // The anonymous branch sets no token: a PEP sees a token-less request.
    for path in ["/anon/x", "/anon/secret"] {
        let (status, echoed) = call(&node, path, Some("bad-token")).await;
        assert_eq!(status, 200, "{path}: deny_by_default = false lets anonymous through: {echoed}");
        assert_eq!(echoed["headers"]["x-consumer-id"], anonymous["id"]);
    }
    let (status, body) = call(&node, "/anondeny/x", Some("bad-token")).await;
    assert_eq!((status, body), (403, json!({"message": "Invalid request, no token and no protected path"})));
    let (status, body) = call(&node, "/anonrule/secret", None).await;
    assert_eq!((status, body), (401, json!({"message": "Missed OAuth token"})));
    assert_eq!(call(&node, "/anonrule/secret", Some(&token)).await.0, 200);
    metrics_with(&node, &[format!("gluu_oauth_client_granted{{consumer=\"{id}\",service=\"api\"}} 2")]).await;
}

/// The answer to creating a gluu-oauth-pep with `document` on service `api`.
async fn create_pep(node: &support::Gatehouse, config: Value) -> (u16, Value) {
    let body = json!({"name": "gluu-oauth-pep", "config": config});
    let response =
        reqwest::Client::new().post(node.admin_url("/services/api/plugins")).json(&body).send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

async fn configuration_version(node: &support::Gatehouse) -> i64 {
    let status: Value = reqwest::get(node.admin_url("/status")).await.unwrap().json().await.unwrap();
    status["configuration_version"].as_i64().unwrap()
}

#[tokio::test]
async fn every_document_error_is_refused_with_ggs_message_and_changes_nothing() {
    let op = Op::start(&[]);
    let (node, _dir, client, _) = node_with_api(&op, &[]).await;
    api_route(&node, "api", true).await;
    let get = |path: &str| item(path, &["GET"], json!({"and": [var(0)]}), &["email"]);
    let cases: Vec<(String, &str)> = vec![
        ("[]".into(), "Empty expression not allowed"),
        (json!([{"conditions": []}]).to_string(), "Path is missing or empty in expression"),
        (json!([get("")]).to_string(), "Path is missing or empty in expression"),
        (json!([get("/a/??/b/??")]).to_string(), "Multiple ?? patterns in path are not supported"),
        (json!([get("/a"), get("/a")]).to_string(), "Duplicate path in expression"),
        (json!([{"path": "/a", "conditions": []}]).to_string(), "Conditions are missing in expression"),
        (json!([{"path": "/a"}]).to_string(), "Conditions are missing in expression"),
        (
            json!([{"path": "/a", "conditions": [{"httpMethods": []}]}]).to_string(),
            "HTTP Methods are missing or empty from condition in expression",
        ),
        (
            json!([{"path": "/a", "conditions": [
                {"httpMethods": ["GET", "POST"], "scope_expression": {"rule": {"var": 0}, "data": ["x"]}},
                {"httpMethods": ["POST"], "scope_expression": {"rule": {"var": 0}, "data": ["y"]}}]}])
            .to_string(),
            "Duplicate http method from conditions in expression",
        ),
        ("[{\"path\": \"/a\",".into(), "Invalid JSON in expression"),
    ];
    let version = configuration_version(&node).await;
    for (document, message) in &cases {
        let (status, body) =
            create_pep(&node, plugin_config(&node, &op, &client, json!({"oauth_scope_expression": document}))).await;
        assert_eq!(
            (status, body),
            (
                400,
                json!({"code": 2, "name": "schema violation",
                       "message": format!("schema violation (config.oauth_scope_expression: {message})"),
                       "fields": {"config": {"oauth_scope_expression": message}}})
            ),
            "{document}"
        );
    }
    assert_eq!(configuration_version(&node).await, version, "nothing was written");
    let plugins = support::admin(&node, Method::GET, "/plugins", Value::Null).await;
    assert_eq!(plugins["data"], json!([]));

    // A valid PEP, then a PATCH with a bad document: refused, and the stored document keeps protecting.
    let good = json!([get("/api/??")]).to_string();
    let (status, pep) =
        create_pep(&node, plugin_config(&node, &op, &client, json!({"oauth_scope_expression": good}))).await;
    assert_eq!(status, 201, "{pep}");
    let version = configuration_version(&node).await;
    let response = reqwest::Client::new()
        .patch(node.admin_url(&format!("/plugins/{}", pep["id"].as_str().unwrap())))
        .json(&json!({"config": {"oauth_scope_expression": "[]"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["fields"]["config"]["oauth_scope_expression"], "Empty expression not allowed");
    assert_eq!(configuration_version(&node).await, version);
    let stored =
        support::admin(&node, Method::GET, &format!("/plugins/{}", pep["id"].as_str().unwrap()), Value::Null).await;
    assert_eq!(stored["config"]["oauth_scope_expression"], good.as_str());
    // No auth plugin validated a token, so a protected path without one is the PEP's 401 (GG's step 2a).
    let started = Instant::now();
    while call(&node, "/api/x", None).await != (401, json!({"message": "Missed OAuth token"})) {
        assert!(started.elapsed() < Duration::from_secs(5), "the stored PEP never went live");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
