//! Black-box tests of starting, restarting and configuring the binary.

mod support;

use std::str::FromStr;

use server::store::{NewEntity, Store};
use support::{Gatehouse, free_port, run};

#[test]
fn a_listener_that_cannot_bind_stops_startup_with_one_clear_line() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let (status, stdout, stderr) = run(&[
        "start",
        "--prefix",
        dir.path().to_str().unwrap(),
        "--admin_listen",
        &free_port().to_string(),
        "--admin_gui_listen",
        &free_port().to_string(),
        "--oxd_listen",
        &free_port().to_string(),
        "--proxy_listen",
        &addr,
    ]);
    assert!(!status.success());
    assert_eq!(stdout, "");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    let error = lines.last().unwrap();
    assert!(error.contains("proxy") && error.contains(&addr) && error.contains("proxy_listen"), "{stderr}");
    assert!(error.contains("already"), "names the reason: {stderr}");
    assert!(!stderr.contains("panicked") && !stderr.contains("backtrace"), "{stderr}");
    assert!(lines.iter().filter(|l| l.contains("Error")).count() == 1, "{stderr}");
}

#[tokio::test]
async fn a_restart_keeps_the_data_in_the_sqlite_file() {
    let (mut node, _dir) = Gatehouse::start(&[]);
    let certificate = node.default_certificate();
    assert!(node.stop().success());

    // Write while the node is down, through the same store code the node uses.
    let store = Store::open_sqlite(&node.prefix.join("gatehouse.db")).await.unwrap();
    let id = uuid::Uuid::new_v4();
    store
        .insert(&NewEntity {
            kind: proxy::model::EntityKind::Consumers,
            id,
            doc: serde_json::json!({"id": id, "username": "alice"}),
            unique_keys: vec![("username".into(), "alice".into())],
            tags: vec![],
            refs: vec![],
        })
        .await
        .unwrap();
    let version = store.config_version();
    drop(store);

    node.restart();
    let html = support::gui::signed_in_page(&node, "/").await;
    assert!(html.contains(r#"<tr data-kind="consumers"><td>Consumers</td><td class="count">1</td></tr>"#), "{html}");
    let status: serde_json::Value = reqwest::get(node.admin_url("/status")).await.unwrap().json().await.unwrap();
    assert_eq!(status["configuration_version"], version);
    assert_eq!(node.default_certificate(), certificate, "the self-signed certificate is kept, not regenerated");
}

#[tokio::test]
async fn runs_on_postgresql_when_configured() {
    let admin_url = std::env::var("GATEHOUSE_TEST_PG_URL")
        .expect("GATEHOUSE_TEST_PG_URL must name a PostgreSQL server; ./scripts/test starts one and sets it");
    let options = sqlx::postgres::PgConnectOptions::from_str(&admin_url).unwrap();
    let admin = sqlx::PgPool::connect(&admin_url).await.unwrap();
    let database = format!("gatehouse_test_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE DATABASE {database}")).execute(&admin).await.unwrap();

    let port = options.get_port().to_string();
    let (node, _dir) = Gatehouse::start(&[
        "--database",
        "postgres",
        "--pg_host",
        options.get_host(),
        "--pg_port",
        &port,
        "--pg_user",
        options.get_username(),
        "--pg_database",
        &database,
    ]);
    let root: serde_json::Value = reqwest::get(node.admin_url("/")).await.unwrap().json().await.unwrap();
    assert_eq!(root["configuration"]["database"], "postgres");
    let status: serde_json::Value = reqwest::get(node.admin_url("/status")).await.unwrap().json().await.unwrap();
    assert_eq!(status["database"]["reachable"], true);
    let html = support::gui::signed_in_page(&node, "/").await;
    assert!(html.contains("postgres (reachable)"), "{html}");
    // The node migrated its own database: the schema is there and the version row starts at zero.
    let base = admin_url.rsplit_once('/').unwrap().0;
    let own = sqlx::PgPool::connect(&format!("{base}/{database}")).await.unwrap();
    let version: i64 =
        sqlx::query_scalar("SELECT version FROM config_state WHERE id = 1").fetch_one(&own).await.unwrap();
    assert_eq!(version, 0);
}

#[test]
fn an_unreachable_database_stops_startup_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let closed = free_port();
    let (status, _, stderr) = run(&[
        "start",
        "--prefix",
        dir.path().to_str().unwrap(),
        "--database",
        "postgres",
        "--pg_host",
        "127.0.0.1",
        "--pg_port",
        &closed.port().to_string(),
        "--pg_password",
        "s3cret-value",
        "--pg_timeout",
        "2000",
    ]);
    assert!(!status.success());
    assert!(stderr.contains("cannot open the postgres database"), "{stderr}");
    assert!(!stderr.contains("s3cret-value"), "the password never reaches the output: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn check_accepts_a_valid_file_and_names_the_bad_key_of_an_invalid_one() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.toml");
    std::fs::write(&good, "admin_listen = '127.0.0.1:9001'\ndatabase = 'postgres'\n").unwrap();
    let (status, stdout, _) = run(&["check", good.to_str().unwrap()]);
    assert!(status.success());
    assert_eq!(stdout.trim(), format!("configuration at {} is valid", good.display()));

    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "proxy_listen = '0.0.0.0:80 ssl, 0.0.0.0'\n").unwrap();
    let (status, _, stderr) = run(&["check", bad.to_str().unwrap()]);
    assert!(!status.success());
    assert!(stderr.contains("proxy_listen") && stderr.contains("0.0.0.0"), "{stderr}");
}

#[test]
fn version_prints_gatehouse_and_kong_versions() {
    let (status, stdout, _) = run(&["version"]);
    assert!(status.success());
    assert_eq!(stdout.trim(), format!("Gatehouse {} (Kong 2.2.1 compatible)", env!("CARGO_PKG_VERSION")));
}

#[test]
fn config_db_import_then_db_export_round_trips_a_kong_file() {
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().to_str().unwrap();
    let file = dir.path().join("kong.yml");
    std::fs::write(
        &file,
        "_format_version: \"1.1\"\nservices:\n- name: echo\n  url: http://127.0.0.1:9000\n  routes:\n  - name: echo\n    paths: [\"/echo\"]\nconsumers:\n- username: app\n",
    )
    .unwrap();
    let (status, stdout, stderr) = run(&["config", "db_import", file.to_str().unwrap(), "--prefix", prefix]);
    assert!(status.success(), "{stderr}");
    assert_eq!(stdout.trim(), format!("parse successful; 3 entities imported from {}", file.display()));

    let (status, yaml, stderr) = run(&["config", "db_export", "-", "--prefix", prefix]);
    assert!(status.success(), "{stderr}");
    let exported: serde_json::Value = serde_yaml::from_str(&yaml).unwrap();
    assert_eq!(exported["_format_version"], "2.1");
    assert_eq!(exported["services"][0]["name"], "echo");
    assert_eq!(exported["routes"][0]["service"], exported["services"][0]["id"], "references export as ids");

    let bad = dir.path().join("bad.yml");
    std::fs::write(&bad, "_format_version: \"2.1\"\nservices:\n- name: x\n").unwrap();
    let (status, _, stderr) = run(&["config", "db_import", bad.to_str().unwrap(), "--prefix", prefix]);
    assert!(!status.success());
    assert!(
        stderr.contains("declarative config is invalid") && stderr.contains("host: required field missing"),
        "{stderr}"
    );
}
