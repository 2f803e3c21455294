//! Black-box tests of the running binary: each listener answers on its own port with its own contract.

mod support;

use support::Gatehouse;

#[tokio::test]
async fn admin_api_answers_root_and_status() {
    let (node, _dir) = Gatehouse::start(&[]);
    let client = reqwest::Client::new();
    let root = client.get(node.admin_url("/")).send().await.unwrap();
    assert_eq!(root.status(), 200);
    assert_eq!(root.headers()["content-type"], "application/json; charset=utf-8");
    let root: serde_json::Value = root.json().await.unwrap();
    assert_eq!(root["version"], "2.2.1");
    assert_eq!(root["gatehouse"]["version"], env!("CARGO_PKG_VERSION"));
    assert!(uuid::Uuid::parse_str(root["node_id"].as_str().unwrap()).is_ok());
    assert_eq!(root["configuration"]["database"], "sqlite");

    let status: serde_json::Value = client.get(node.admin_url("/status")).send().await.unwrap().json().await.unwrap();
    assert_eq!(status["database"]["reachable"], true);
    assert!(status["server"]["connections_accepted"].is_u64());
}

#[tokio::test]
async fn proxy_answers_kongs_404_over_http_and_over_tls_with_alpn() {
    let (node, _dir) = Gatehouse::start(&[]);
    let expected = r#"{"message":"no Route matched with those values"}"#;

    let plain = reqwest::get(format!("http://{}/anything?x=1", node.proxy_http)).await.unwrap();
    assert_eq!(plain.status(), 404);
    assert_eq!(plain.headers()["content-type"], "application/json; charset=utf-8");
    assert_eq!(plain.text().await.unwrap(), expected);

    // A real handshake: the client trusts only the certificate the node generated in its prefix.
    let tls = node.tls_client(node.proxy_https);
    let secure = tls.get(format!("https://localhost:{}/anything", node.proxy_https.port())).send().await.unwrap();
    assert_eq!(secure.status(), 404);
    assert_eq!(secure.version(), reqwest::Version::HTTP_2, "ALPN offers h2 first");
    assert_eq!(secure.text().await.unwrap(), expected);

    let status: serde_json::Value = reqwest::get(node.admin_url("/status")).await.unwrap().json().await.unwrap();
    assert!(status["server"]["total_requests"].as_u64().unwrap() >= 2, "{status}");
}

#[tokio::test]
async fn plain_http_to_a_tls_listener_gets_no_answer_but_the_listener_survives() {
    let (node, _dir) = Gatehouse::start(&[]);
    let plain = reqwest::Client::builder().timeout(std::time::Duration::from_secs(5)).build().unwrap();
    assert!(plain.get(format!("http://{}/", node.proxy_https)).send().await.is_err());
    let tls = node.tls_client(node.proxy_https);
    let response = tls.get(format!("https://localhost:{}/", node.proxy_https.port())).send().await.unwrap();
    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn oxd_health_check_answers_over_tls() {
    let (node, _dir) = Gatehouse::start(&[]);
    let client = node.tls_client(node.oxd);
    let response = client.get(format!("https://localhost:{}/health-check", node.oxd.port())).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        body,
        serde_json::json!({"application": "oxd", "version": env!("CARGO_PKG_VERSION"), "status": "running"})
    );
}

#[tokio::test]
async fn dashboard_is_rendered_on_the_server_with_store_counts() {
    let (node, _dir) = Gatehouse::start(&[]);
    let session = support::gui::sign_in(&node).await;
    let response =
        support::gui::client().get(node.gui_url("/")).header("cookie", &session.cookie).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let html = response.text().await.unwrap();
    let hostname = gethostname::gethostname().to_string_lossy().into_owned();
    assert!(html.contains(&format!(r#"<dd class="hostname">{hostname}</dd>"#)), "{html}");
    assert!(html.contains("sqlite (reachable)"), "{html}");
    assert!(html.contains(r#"<tr data-kind="consumers"><td>Consumers</td><td class="count">0</td></tr>"#), "{html}");
}

#[test]
fn sigterm_drains_and_exits_cleanly() {
    let (mut node, _dir) = Gatehouse::start(&[]);
    let status = node.stop();
    assert!(status.success(), "exit status {status}\n{}", node.log());
    let log = node.log();
    assert!(log.contains("received SIGTERM") && log.contains("stopped"), "{log}");
}

#[test]
fn sigint_also_stops_the_node() {
    let (mut node, _dir) = Gatehouse::start(&[]);
    support::signal(node.pid(), "INT");
    let status = node.stop_after_signal();
    assert!(status.success(), "exit status {status}");
}
