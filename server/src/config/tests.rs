use super::*;

fn no_env() -> Vec<(String, String)> {
    Vec::new()
}

#[test]
fn defaults_are_kongs() {
    let config = Config::load(None, no_env(), &[]).unwrap();
    assert_eq!(config.proxy_listen, "0.0.0.0:80, 0.0.0.0:443 ssl");
    assert_eq!(config.admin_listen, "127.0.0.1:8001");
    assert_eq!(config.admin_gui_listen, "127.0.0.1:1338");
    assert_eq!(config.oxd_listen, "127.0.0.1:8443 ssl");
    assert_eq!(config.database, Database::Sqlite);
    assert_eq!(config.sqlite_file(), PathBuf::from("/usr/local/gatehouse/gatehouse.db"));
}

#[test]
fn flag_beats_environment_beats_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("gatehouse.toml");
    std::fs::write(&file, "admin_listen = '127.0.0.1:9001'\npg_port = 6000\nlog_level = 'debug'\n").unwrap();
    let env = vec![
        ("GATEHOUSE_ADMIN_LISTEN".to_string(), "127.0.0.1:9002".to_string()),
        ("GATEHOUSE_PG_PORT".to_string(), "6001".to_string()),
        ("GATEHOUSE_TEST_PG_URL".to_string(), "ignored: not a configuration key".to_string()),
    ];
    let flags = vec!["--admin-listen".to_string(), "127.0.0.1:9003".to_string()];
    let config = Config::load(Some(&file), env, &flags).unwrap();
    assert_eq!(config.admin_listen, "127.0.0.1:9003");
    assert_eq!(config.pg_port, 6001);
    assert_eq!(config.log_level, LogLevel::Debug);
}

#[test]
fn unknown_keys_are_refused_wherever_they_come_from() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("gatehouse.toml");
    std::fs::write(&file, "admin_lisen = '127.0.0.1:9001'\n").unwrap();
    let err = Config::load(Some(&file), no_env(), &[]).unwrap_err();
    assert!(err.to_string().contains("admin_lisen"), "{err}");
    let err = Config::load(None, no_env(), &["--nope=1".to_string()]).unwrap_err();
    assert!(err.to_string().contains("nope"), "{err}");
}

#[test]
fn bad_values_name_the_key_and_where_they_came_from() {
    let env = vec![("GATEHOUSE_PG_PORT".to_string(), "five".to_string())];
    let err = Config::load(None, env, &[]).unwrap_err().to_string();
    assert!(err.contains("pg_port") && err.contains("GATEHOUSE_PG_PORT"), "{err}");
    let err = Config::load(None, no_env(), &["--proxy_listen=0.0.0.0".to_string()]).unwrap_err().to_string();
    assert!(err.contains("proxy_listen"), "{err}");
    let err = Config::load(None, no_env(), &["--database=mysql".to_string()]).unwrap_err().to_string();
    assert!(err.contains("mysql"), "{err}");
    let err = Config::load(None, no_env(), &["--admin_listen".to_string()]).unwrap_err().to_string();
    assert!(err.contains("needs a value"), "{err}");
}

#[test]
fn public_view_masks_secrets_and_lists_listeners() {
    let flags = vec!["--pg_password=hunter2".to_string()];
    let view = Config::load(None, no_env(), &flags).unwrap().public_view();
    assert_eq!(view["pg_password"], "******");
    assert!(!view.to_string().contains("hunter2"));
    assert_eq!(view["proxy_listen"], serde_json::json!(["0.0.0.0:80", "0.0.0.0:443 ssl"]));
    assert_eq!(view["database"], "sqlite");
}

#[test]
fn request_head_settings_use_nginx_syntax() {
    let config = Config::load(None, no_env(), &[]).unwrap();
    assert_eq!(config.head_limits().unwrap(), proxy::request_head::HeadLimits::default());
    assert_eq!(config.client_header_timeout().unwrap(), Duration::from_secs(60));
    let flags: Vec<String> =
        ["--large_client_header_buffers", "4 8k", "--client_header_timeout", "500ms"].map(String::from).into();
    let config = Config::load(None, no_env(), &flags).unwrap();
    assert_eq!(config.head_limits().unwrap().total, 32 * 1024);
    assert_eq!(config.client_header_timeout().unwrap(), Duration::from_millis(500));
    for (key, value) in [
        ("large_client_header_buffers", "16k"),
        ("large_client_header_buffers", "8 100"),
        ("client_header_timeout", "soon"),
        ("client_header_timeout", "0s"),
        ("client_header_timeout", "5x"),
    ] {
        let err = Config::load(None, no_env(), &[format!("--{key}={value}")]).unwrap_err().to_string();
        assert!(err.contains(key), "{key} = {value}: {err}");
    }
}

#[test]
fn proxy_workers_are_one_per_core_by_default_or_the_number_given() {
    let config = Config::load(None, no_env(), &[]).unwrap();
    assert!(config.proxy_workers().unwrap() >= 1);
    let config = Config::load(None, no_env(), &["--nginx_worker_processes=3".to_string()]).unwrap();
    assert_eq!(config.proxy_workers().unwrap(), 3);
    for value in ["0", "many", "-1"] {
        let err = Config::load(None, no_env(), &[format!("--nginx_worker_processes={value}")]).unwrap_err();
        assert!(err.to_string().contains("nginx_worker_processes"), "{value}: {err}");
    }
}
