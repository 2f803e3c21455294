//! Who may use the admin UI, over HTTP as a browser reaches it: the first-start setup with the one-time token,
//! sign-in and sign-out, and the refusals of the session guard (no session, no or a wrong CSRF token, another
//! origin). Then the audit log: changes through the Admin API and through the UI, each under its actor.

mod support;

use reqwest::Method;
use serde_json::{Value, json};
use support::Gatehouse;
use support::gui::{self, PASSWORD, USERNAME, client};

fn location(response: &reqwest::Response) -> String {
    response.headers().get("location").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default()
}

fn set_cookie(response: &reqwest::Response) -> String {
    response.headers().get("set-cookie").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default()
}

async fn setup(node: &Gatehouse, token: &str, password: &str) -> reqwest::Response {
    let form = [("token", token), ("username", USERNAME), ("password", password), ("confirm", password)];
    client().post(node.gui_url("/setup")).form(&form).send().await.unwrap()
}

#[tokio::test]
async fn a_fresh_node_opens_setup_once_with_the_token_from_its_log() {
    let (node, _dir) = Gatehouse::start(&[]);
    let page = client().get(node.gui_url("/services")).send().await.unwrap();
    assert_eq!((page.status().as_u16(), location(&page)), (303, "/setup".to_string()));
    let api = client().post(node.gui_url("/api/admin_get")).form(&[("path", "/services")]).send().await.unwrap();
    assert_eq!(api.status(), 401);
    assert_eq!(api.json::<Value>().await.unwrap(), json!({"message": "sign in to the admin UI first"}));

    let token = gui::setup_token(&node).expect("the token is kept in the prefix");
    assert!(node.log().contains(&token), "the log prints the setup token");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(node.prefix.join("admin_setup_token")).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "only its owner reads the token file");

    let wrong = setup(&node, "not-the-token", PASSWORD).await;
    assert_eq!(location(&wrong), "/setup?error=token");
    let short = setup(&node, &token, "short").await;
    assert_eq!(location(&short), "/setup?error=short");
    assert!(set_cookie(&wrong).is_empty() && set_cookie(&short).is_empty());

    let created = setup(&node, &token, PASSWORD).await;
    assert_eq!((created.status().as_u16(), location(&created)), (303, "/".to_string()));
    let cookie = set_cookie(&created);
    for attribute in ["gatehouse_session=", "HttpOnly", "SameSite=Strict", "Secure", "Path=/"] {
        assert!(cookie.contains(attribute), "{attribute} in {cookie}");
    }
    assert!(gui::setup_token(&node).is_none(), "a spent token leaves the prefix");
    let again = setup(&node, &token, PASSWORD).await;
    assert_eq!(location(&again), "/login", "the token opens one setup only");
    let page = client().get(node.gui_url("/")).send().await.unwrap();
    assert!(location(&page).starts_with("/login?next="), "without a session: the sign-in page");

    let (status, html) = gui::sign_in(&node).await.page(&node, "/").await;
    assert_eq!(status, 200);
    assert!(html.contains(&format!("<span class=\"who\">{USERNAME}</span>")), "{html}");
    assert!(!html.contains(PASSWORD));
}

#[tokio::test]
async fn state_changing_calls_need_the_sessions_csrf_token_and_the_uis_origin() {
    let (node, _dir) = Gatehouse::start(&[]);
    let session = gui::sign_in(&node).await;
    let call = |csrf: Option<&str>, origin: Option<&str>| {
        let mut request = client().post(node.gui_url("/api/admin_write")).header("cookie", &session.cookie).form(&[
            ("method", "PUT"),
            ("path", "/services/billing"),
            ("body", r#"{"host":"billing.internal"}"#),
        ]);
        if let Some(csrf) = csrf {
            request = request.header("x-csrf-token", csrf);
        }
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        request.send()
    };
    assert_eq!(call(None, None).await.unwrap().status(), 403);
    assert_eq!(call(Some("forged"), None).await.unwrap().status(), 403);
    assert_eq!(call(Some(&session.csrf), Some("http://evil.example")).await.unwrap().status(), 403);
    let services: Value = reqwest::get(node.admin_url("/services")).await.unwrap().json().await.unwrap();
    assert_eq!(services["data"], json!([]), "a refused call changes nothing");

    let own_origin = format!("http://{}", node.gui);
    let accepted = call(Some(&session.csrf), Some(&own_origin)).await.unwrap();
    assert_eq!(accepted.status(), 200, "{}", accepted.text().await.unwrap());
    let service: Value = reqwest::get(node.admin_url("/services/billing")).await.unwrap().json().await.unwrap();
    assert_eq!(service["host"], "billing.internal");
}

#[tokio::test]
async fn a_wrong_password_is_refused_and_sign_out_ends_the_session() {
    let (node, _dir) = Gatehouse::start(&[]);
    let session = gui::sign_in(&node).await;
    let refused = client()
        .post(node.gui_url("/login"))
        .form(&[("username", USERNAME), ("password", "wrong password!"), ("next", "/services")])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&refused), "/login?error=invalid&next=%2Fservices");
    assert!(set_cookie(&refused).is_empty());
    let unknown = client()
        .post(node.gui_url("/login"))
        .form(&[("username", "nobody"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert!(location(&unknown).starts_with("/login?error=invalid"));

    for _ in 0..4 {
        let wrong = [("username", "nobody"), ("password", "guess guess guess")];
        client().post(node.gui_url("/login")).form(&wrong).send().await.unwrap();
    }
    let throttled = client()
        .post(node.gui_url("/login"))
        .form(&[("username", "nobody"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&throttled), "/login?error=throttled", "five wrong passwords, then a wait");

    let elsewhere = client()
        .post(node.gui_url("/login"))
        .form(&[("username", USERNAME), ("password", PASSWORD), ("next", "//evil.example/")])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&elsewhere), "/", "sign-in never redirects off the UI");

    let forged = client()
        .post(node.gui_url("/logout"))
        .header("cookie", &session.cookie)
        .form(&[("csrf", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    assert_eq!(session.page(&node, "/").await.0, 200, "a forged sign-out leaves the session");

    let out = client()
        .post(node.gui_url("/logout"))
        .header("cookie", &session.cookie)
        .form(&[("csrf", session.csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&out), "/login");
    assert!(set_cookie(&out).contains("Max-Age=0"));
    let (status, _) = session.page(&node, "/").await;
    assert_eq!(status, 303, "the old cookie signs nobody in");
    let api = session.post(&node, "/api/admin_get").form(&[("path", "/services")]).send().await.unwrap();
    assert_eq!(api.status(), 401);
}

#[tokio::test]
async fn every_change_is_in_the_audit_log_under_its_actor_with_secrets_masked() {
    let (node, _dir) = Gatehouse::start(&[]);
    let created = client()
        .put(node.admin_url("/services/billing"))
        .header("x-gatehouse-comment", "ticket OPS-1")
        .json(&json!({"host": "billing.internal"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 200);
    support::admin(
        &node,
        Method::POST,
        "/services/billing/plugins",
        json!({"name": "rate-limiting", "config": {"minute": 5, "policy": "local", "redis_password": "hunter2"}}),
    )
    .await;
    let session = gui::sign_in(&node).await;
    let ui = session
        .post(&node, "/api/admin_write")
        .form(&[("method", "PATCH"), ("path", "/services/billing"), ("body", r#"{"port":8080}"#)])
        .send()
        .await
        .unwrap();
    assert_eq!(ui.status(), 200);

    let audit: Value = reqwest::get(node.admin_url("/audit")).await.unwrap().json().await.unwrap();
    let entries = audit["data"].as_array().unwrap();
    assert_eq!(entries.len(), 3, "{audit}");
    let (patch, plugin, put) = (&entries[0], &entries[1], &entries[2]);
    assert_eq!((patch["actor"].as_str(), patch["via"].as_str()), (Some(USERNAME), Some("admin-gui")));
    assert_eq!(patch["action"], "update");
    assert_eq!((patch["before"]["port"].as_i64(), patch["after"]["port"].as_i64()), (Some(80), Some(8080)));
    assert_eq!((put["actor"].as_str(), put["via"].as_str()), (Some("127.0.0.1"), Some("admin-api")));
    assert_eq!((put["action"].as_str(), put["comment"].as_str()), (Some("create"), Some("ticket OPS-1")));
    assert_eq!(put["before"], Value::Null);
    assert_eq!(plugin["after"]["config"]["redis_password"], "******");
    assert!(!audit.to_string().contains("hunter2"), "no secret in the audit log");

    let page: Value = reqwest::get(node.admin_url("/audit?size=2")).await.unwrap().json().await.unwrap();
    assert_eq!(page["data"].as_array().unwrap().len(), 2);
    let next: Value = reqwest::get(node.admin_url(page["next"].as_str().unwrap())).await.unwrap().json().await.unwrap();
    assert_eq!(next["data"][0]["id"], put["id"], "the next page goes on where the first stopped");
    let about: Value = reqwest::get(node.admin_url("/audit?entity_kind=plugins")).await.unwrap().json().await.unwrap();
    assert_eq!(about["data"].as_array().unwrap().len(), 1);

    let deleted = client().delete(node.admin_url("/services/billing")).send().await.unwrap();
    assert_eq!(deleted.status(), 204);
    let audit: Value = reqwest::get(node.admin_url("/audit?size=2")).await.unwrap().json().await.unwrap();
    let actions: Vec<&str> = audit["data"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["delete", "delete"], "the service and the plugin that cascaded from it");

    let html = support::gui::signed_in_page(&node, "/audit").await;
    assert!(html.contains("ticket OPS-1") && html.contains("admin-gui"), "the UI lists the entries");
    assert!(!html.contains("hunter2"));
}

#[tokio::test]
async fn gatehouse_admin_create_adds_a_local_administrator_who_can_sign_in() {
    let (node, _dir) = Gatehouse::start(&[]);
    let create = |password: &str| gui::admin_create(&node, "ops", password);
    let short = create("short");
    assert!(!short.status.success());
    assert!(String::from_utf8_lossy(&short.stderr).contains("at least 12 characters"));
    let created = create("a long ops password");
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    assert_eq!(String::from_utf8_lossy(&created.stdout).trim(), "administrator ops created");
    let signed_in = client()
        .post(node.gui_url("/login"))
        .form(&[("username", "ops"), ("password", "a long ops password")])
        .send()
        .await
        .unwrap();
    assert!(set_cookie(&signed_in).starts_with("gatehouse_session="), "{}", set_cookie(&signed_in));
}

#[tokio::test]
async fn the_export_download_is_the_configuration_without_its_secrets() {
    let (node, _dir) = Gatehouse::start(&[]);
    support::admin(&node, Method::PUT, "/services/billing", json!({"host": "billing.internal"})).await;
    support::admin(
        &node,
        Method::POST,
        "/services/billing/plugins",
        json!({"name": "rate-limiting", "config": {"minute": 5, "redis_password": "hunter2"}}),
    )
    .await;
    let anonymous = client().get(node.gui_url("/config/export.yaml")).send().await.unwrap();
    assert_eq!(anonymous.status(), 303, "no session, no export");
    let session = gui::sign_in(&node).await;
    let export =
        client().get(node.gui_url("/config/export.yaml")).header("cookie", &session.cookie).send().await.unwrap();
    assert_eq!(export.status(), 200);
    assert!(export.headers()["content-disposition"].to_str().unwrap().contains("attachment"));
    let yaml = export.text().await.unwrap();
    assert!(yaml.contains("_format_version") && yaml.contains("billing.internal") && yaml.contains("rate-limiting"));
    assert!(!yaml.contains("hunter2") && !yaml.contains("redis_password"), "{yaml}");
}
