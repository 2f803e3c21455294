//! The admin UI's OAuth editor over HTTP, as the browser's form posts it: the OP client registered through the
//! embedded oxd module, its secret returned once and never again (not by a read, not in the page's HTML),
//! protection documents checked by the engine's parser, and Admin API refusals shown with nothing left behind.

mod support;

use reqwest::Method;
use serde_json::{Value, json};
use support::op::Op;
use support::{Gatehouse, admin, echo};

/// A form post to one of the editor's server functions; the status and the body.
async fn post(node: &Gatehouse, function: &str, form: &[(&str, &str)]) -> (u16, String) {
    let session = support::gui::sign_in(node).await;
    let response = session.post(node, &format!("/api/gluu/{function}")).form(form).send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// GG UI's default custom headers, as the editor pre-fills them for a new plugin.
const HEADERS: &str = r#"[{"header_name":"x-consumer-id","value_lua_exp":"consumer.id","format":"string"},
    {"header_name":"x-authenticated-scope","value_lua_exp":"introspect_data.scope","format":"list","sep":","}]"#;

fn save_form<'a>(op: &'a Op, oxd_url: &'a str, document: &'a str, pass: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("scope", "services/api"),
        ("op_url", op.issuer.as_str()),
        ("oxd_url", oxd_url),
        ("redirect_uri", ""),
        ("client_scopes", "admin"),
        ("anonymous", ""),
        ("pass_credentials", pass),
        ("consumer_mapping", "on"),
        ("jwt_audience", ""),
        ("custom_headers", HEADERS),
        ("pep", "on"),
        ("deny_by_default", "on"),
        ("oauth_scope_expression", document),
    ]
}

async fn plugins(node: &Gatehouse) -> Vec<Value> {
    let list = reqwest::get(node.admin_url("/plugins")).await.unwrap().json::<Value>().await.unwrap();
    list["data"].as_array().unwrap().clone()
}

async fn registrations(op: &Op) -> u64 {
    op.stats().await["registration"].as_u64().unwrap()
}

const DOCUMENT: &str = r#"[{"path":"/api","conditions":[{"httpMethods":["GET"],
    "scope_expression":{"rule":{"and":[{"var":0}]},"data":["admin"]}}]}]"#;

#[tokio::test]
async fn a_save_registers_one_client_whose_secret_is_shown_once_and_never_again() {
    let op = Op::start(&["--extra-scopes", "admin"]);
    let upstream = echo::start().await;
    let (node, _dir) = Gatehouse::start(&[]);
    admin(&node, Method::PUT, "/services/api", json!({"url": format!("http://{upstream}")})).await;
    let oxd_url = format!("https://127.0.0.1:{}", node.oxd.port());

    let (status, body) = post(&node, "save_oauth", &save_form(&op, &oxd_url, DOCUMENT, "pass")).await;
    assert_eq!(status, 200, "{body}");
    let saved: Value = serde_json::from_str(&body).unwrap();
    let secret = saved["new_client_secret"].as_str().unwrap().to_string();
    let client_id = saved["settings"]["client_id"].as_str().unwrap().to_string();
    assert!(secret.len() > 10 && !client_id.is_empty(), "{saved}");
    assert_eq!(saved["settings"]["auth_attached"], true);
    assert_eq!(saved["settings"]["pep_attached"], true);
    let stored = plugins(&node).await;
    let names: Vec<&str> = stored.iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names.len(), 2, "{names:?}");
    for plugin in &stored {
        assert_eq!(plugin["config"]["client_id"], client_id.as_str());
        assert_eq!(plugin["config"]["client_secret"], secret.as_str(), "the plugins carry the registered secret");
    }
    let auth = stored.iter().find(|p| p["name"] == "gluu-oauth-auth").unwrap();
    assert_eq!(auth["config"]["custom_headers"][1]["sep"], ",");
    assert_eq!(auth["config"]["custom_headers"][1]["format"], "list");

    // A second save keeps the client: no new registration, no secret in the answer.
    let before = registrations(&op).await;
    let mut form = save_form(&op, &oxd_url, DOCUMENT, "hide");
    form.retain(|(name, _)| *name != "client_scopes");
    form.push(("client_scopes", ""));
    let (status, body) = post(&node, "save_oauth", &form).await;
    assert_eq!(status, 200, "{body}");
    assert!(!body.contains(&secret), "a later save must not return the secret: {body}");
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["new_client_secret"], Value::Null);
    assert_eq!(registrations(&op).await, before);

    // New scopes for the same client: oxd update-site (an RFC 7592 PUT at the OP, counted as a registration call).
    let mut form = save_form(&op, &oxd_url, DOCUMENT, "pass");
    form.retain(|(name, _)| *name != "client_scopes");
    form.push(("client_scopes", "admin email"));
    let (status, body) = post(&node, "save_oauth", &form).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(registrations(&op).await, before + 1);
    let site = support::gluu::oxd(&node, "get-rp", json!({"oxd_id": saved["settings"]["oxd_id"]})).await;
    assert!(site.to_string().contains("email"), "{site}");

    let (status, body) = post(&node, "get_oauth", &[("scope", "services/api")]).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(&client_id) && !body.contains(&secret), "{body}");
    let page = support::gui::signed_in_page(&node, "/gluu/services/api").await;
    assert!(page.contains(&client_id), "the page names the client");
    assert!(!page.contains(&secret), "the page must never carry the secret");
    assert!(page.contains("name=\"oauth_scope_expression\""));

    // Removing deletes both plugins and the oxd site.
    let (status, body) = post(&node, "delete_oauth", &[("scope", "services/api")]).await;
    assert_eq!(status, 200, "{body}");
    assert!(plugins(&node).await.is_empty());
}

#[tokio::test]
async fn a_bad_document_is_refused_with_ggs_message_before_any_client_is_registered() {
    let op = Op::start(&["--extra-scopes", "admin"]);
    let (node, _dir) = Gatehouse::start(&[]);
    admin(&node, Method::PUT, "/services/api", json!({"url": "http://127.0.0.1:9"})).await;
    let oxd_url = format!("https://127.0.0.1:{}", node.oxd.port());
    let (status, body) = post(&node, "save_oauth", &save_form(&op, &oxd_url, r#"[{"path":"/a"}]"#, "pass")).await;
    assert_ne!(status, 200);
    assert!(body.contains("Conditions are missing in expression"), "{body}");
    assert_eq!(registrations(&op).await, 0);
    assert!(plugins(&node).await.is_empty());
}

#[tokio::test]
async fn an_admin_api_refusal_is_shown_and_leaves_no_plugin_and_no_client() {
    let op = Op::start(&["--extra-scopes", "admin"]);
    let (node, _dir) = Gatehouse::start(&[]);
    admin(&node, Method::PUT, "/services/api", json!({"url": "http://127.0.0.1:9"})).await;
    let oxd_url = format!("https://127.0.0.1:{}", node.oxd.port());
    let (status, body) = post(&node, "save_oauth", &save_form(&op, &oxd_url, DOCUMENT, "bogus")).await;
    assert_ne!(status, 200);
    assert!(body.contains("gluu-oauth-auth") && body.contains("pass_credentials"), "{body}");
    assert!(plugins(&node).await.is_empty());
    let mut form = save_form(&op, &oxd_url, DOCUMENT, "pass");
    let bad_lua = r#"[{"header_name":"x-bad","value_lua_exp":"consumer.("}]"#;
    form.retain(|(name, _)| *name != "custom_headers");
    form.push(("custom_headers", bad_lua));
    let (status, body) = post(&node, "save_oauth", &form).await;
    assert_ne!(status, 200);
    assert!(body.contains("x-bad has not a valid lua expression value, Error:"), "{body}");
    assert!(plugins(&node).await.is_empty());
    // The save got as far as registering its client (then removed it again).
    assert!(registrations(&op).await >= 1);
}

#[tokio::test]
async fn the_metrics_toggle_attaches_and_removes_one_global_gluu_metrics() {
    let (node, _dir) = Gatehouse::start(&[]);
    let (status, body) = post(&node, "set_metrics", &[("enabled", "on")]).await;
    assert_eq!((status, body.as_str()), (200, "true"));
    post(&node, "set_metrics", &[("enabled", "on")]).await;
    let names: Vec<Value> = plugins(&node).await.iter().map(|p| p["name"].clone()).collect();
    assert_eq!(names, vec![json!("gluu-metrics")], "ticking twice keeps one plugin");
    let (status, body) = post(&node, "get_metrics", &[]).await;
    assert_eq!((status, body.as_str()), (200, "true"));
    let page = support::gui::signed_in_page(&node, "/gluu/global").await;
    assert!(page.contains(r#"id="metrics-enabled" name="enabled" type="checkbox" value="on" checked"#), "{page}");
    let (status, body) = post(&node, "set_metrics", &[]).await;
    assert_eq!((status, body.as_str()), (200, "false"));
    assert!(plugins(&node).await.is_empty());
}

#[tokio::test]
async fn a_consumer_client_is_registered_at_the_op_and_becomes_the_consumers_custom_id() {
    let op = Op::start(&["--extra-scopes", "admin"]);
    let (node, _dir) = Gatehouse::start(&[]);
    let consumer = admin(&node, Method::POST, "/consumers", json!({"username": "billing-app"})).await;
    let form = [("consumer", "billing-app"), ("op_url", op.issuer.as_str()), ("scopes", "admin")];
    let (status, body) = post(&node, "create_consumer_client", &form).await;
    assert_eq!(status, 200, "{body}");
    let client: Value = serde_json::from_str(&body).unwrap();
    let (client_id, secret) = (client["client_id"].as_str().unwrap(), client["client_secret"].as_str().unwrap());
    assert!(!secret.is_empty());
    let stored =
        admin(&node, Method::GET, &format!("/consumers/{}", consumer["id"].as_str().unwrap()), Value::Null).await;
    assert_eq!(stored["custom_id"], client_id);

    // The client is real: the OP gives it a token for the scope it was registered with.
    let token = reqwest::Client::new()
        .post(format!("{}/token", op.issuer))
        .basic_auth(client_id, Some(secret))
        .form(&[("grant_type", "client_credentials"), ("scope", "admin")])
        .send()
        .await
        .unwrap();
    assert_eq!(token.status(), 200, "{}", token.text().await.unwrap());

    let (status, body) =
        post(&node, "create_consumer_client", &[("consumer", "nobody"), ("op_url", &op.issuer), ("scopes", "")]).await;
    assert_ne!(status, 200);
    assert!(body.contains("no consumer nobody"), "{body}");
}
