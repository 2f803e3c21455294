//! The store suite, run once against SQLite and once against a real PostgreSQL.
//!
//! PostgreSQL comes from `GATEHOUSE_TEST_PG_URL` (an admin connection URL; `./scripts/test` starts a server and
//! sets it). Each test gets a database of its own so tests run in parallel.

use super::*;
use serde_json::json;

fn consumer(username: &str, tags: &[&str]) -> NewEntity {
    let id = Uuid::new_v4();
    NewEntity {
        kind: EntityKind::Consumers,
        id,
        doc: json!({"id": id, "username": username, "custom_id": null, "tags": tags}),
        unique_keys: vec![("username".into(), username.into())],
        tags: tags.iter().map(|t| t.to_string()).collect(),
    }
}

async fn inserted_entity_reads_back_by_id_and_key(store: Store) {
    let new = consumer("alice", &["team-a"]);
    let stored = store.insert(&new).await.unwrap();
    assert_eq!(stored.doc, new.doc);
    assert_eq!(store.get(EntityKind::Consumers, new.id).await.unwrap(), Some(stored.clone()));
    assert_eq!(store.get_by_key(EntityKind::Consumers, "username", "alice").await.unwrap(), Some(stored));
    assert_eq!(store.get(EntityKind::Services, new.id).await.unwrap(), None, "ids are per kind");
    assert_eq!(store.get_by_key(EntityKind::Consumers, "username", "bob").await.unwrap(), None);
}

async fn every_write_bumps_the_version_and_notifies(store: Store) {
    let mut changes = store.subscribe();
    let before = store.config_version();
    let new = consumer("alice", &[]);
    store.insert(&new).await.unwrap();
    assert_eq!(store.config_version(), before + 1);
    assert!(changes.has_changed().unwrap());
    assert_eq!(*changes.borrow_and_update(), before + 1);
    assert!(store.delete(EntityKind::Consumers, new.id).await.unwrap());
    assert_eq!(store.config_version(), before + 2);
    assert!(!store.delete(EntityKind::Consumers, new.id).await.unwrap(), "second delete finds nothing");
    assert_eq!(store.config_version(), before + 2, "a delete of nothing changes nothing");
}

async fn duplicate_unique_key_is_refused_and_changes_nothing(store: Store) {
    store.insert(&consumer("alice", &[])).await.unwrap();
    let version = store.config_version();
    let err = store.insert(&consumer("alice", &["x"])).await.unwrap_err();
    assert!(matches!(&err, StoreError::Unique { name, value, .. } if name == "username" && value == "alice"));
    assert_eq!(err.to_string(), r#"UNIQUE violation detected on '{username="alice"}'"#);
    assert_eq!(store.config_version(), version);
    let counts = store.counts().await.unwrap();
    assert_eq!(counts.iter().find(|(k, _)| *k == EntityKind::Consumers).unwrap().1, 1);
}

async fn duplicate_id_is_a_primary_key_violation(store: Store) {
    let first = consumer("alice", &[]);
    store.insert(&first).await.unwrap();
    let mut second = consumer("bob", &[]);
    second.id = first.id;
    let err = store.insert(&second).await.unwrap_err();
    assert!(matches!(err, StoreError::PrimaryKey { .. }), "{err}");
    assert_eq!(store.get_by_key(EntityKind::Consumers, "username", "bob").await.unwrap(), None);
}

async fn deleting_frees_the_unique_key(store: Store) {
    let first = consumer("alice", &["t"]);
    store.insert(&first).await.unwrap();
    store.delete(EntityKind::Consumers, first.id).await.unwrap();
    store.insert(&consumer("alice", &["t"])).await.unwrap();
}

async fn pages_walk_every_entity_once_in_id_order(store: Store) {
    let mut ids = Vec::new();
    for n in 0..7 {
        ids.push(store.insert(&consumer(&format!("user{n}"), &[])).await.unwrap().id);
    }
    ids.sort();
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = store.page(EntityKind::Consumers, after, 3).await.unwrap();
        if page.is_empty() {
            break;
        }
        after = page.last().map(|e| e.id);
        seen.extend(page.into_iter().map(|e| e.id));
    }
    assert_eq!(seen, ids);
}

async fn counts_cover_every_kind(store: Store) {
    store.insert(&consumer("a", &[])).await.unwrap();
    store.insert(&consumer("b", &[])).await.unwrap();
    let counts = store.counts().await.unwrap();
    assert_eq!(counts.len(), EntityKind::ALL.len());
    for (kind, n) in counts {
        assert_eq!(n, if kind == EntityKind::Consumers { 2 } else { 0 }, "{kind}");
    }
    assert!(store.ping().await);
}

async fn concurrent_writers_all_land(store: Store) {
    let store = std::sync::Arc::new(store);
    let before = store.config_version();
    let writers: Vec<_> = (0..16)
        .map(|n| {
            let store = store.clone();
            tokio::spawn(async move { store.insert(&consumer(&format!("writer{n}"), &[])).await.map(|_| ()) })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap().unwrap();
    }
    assert_eq!(store.config_version(), before + 16);
    assert_eq!(store.page(EntityKind::Consumers, None, 100).await.unwrap().len(), 16);
}

async fn sqlite_store() -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    (Store::open_sqlite(&dir.path().join("gatehouse.db")).await.unwrap(), dir)
}

/// A fresh PostgreSQL database; returns the store and its URL.
async fn postgres_store() -> (Store, String) {
    let admin_url = std::env::var("GATEHOUSE_TEST_PG_URL").expect(
        "GATEHOUSE_TEST_PG_URL must name a PostgreSQL server for the store tests; ./scripts/test starts one and sets it",
    );
    install_default_drivers();
    let admin = AnyPool::connect(&admin_url).await.expect("connect to GATEHOUSE_TEST_PG_URL");
    let name = format!("gatehouse_test_{}", Uuid::new_v4().simple());
    admin.execute(format!("CREATE DATABASE {name}").as_str()).await.unwrap();
    let base = admin_url.rsplit_once('/').map(|(base, _)| base).unwrap();
    let url = format!("{base}/{name}");
    (Store::open_url(Database::Postgres, &url, 5, Duration::from_secs(5)).await.unwrap(), url)
}

macro_rules! on_both_backends {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test]
            async fn $test() {
                let (store, _dir) = super::sqlite_store().await;
                super::$test(store).await;
            })*
        }
        mod postgres {
            $(#[tokio::test]
            async fn $test() {
                let (store, _url) = super::postgres_store().await;
                super::$test(store).await;
            })*
        }
    };
}

on_both_backends!(
    inserted_entity_reads_back_by_id_and_key,
    every_write_bumps_the_version_and_notifies,
    duplicate_unique_key_is_refused_and_changes_nothing,
    duplicate_id_is_a_primary_key_violation,
    deleting_frees_the_unique_key,
    pages_walk_every_entity_once_in_id_order,
    counts_cover_every_kind,
    concurrent_writers_all_land,
);

#[tokio::test]
async fn sqlite_data_and_version_survive_reopening_in_wal_mode() {
    let (store, dir) = sqlite_store().await;
    let new = consumer("alice", &[]);
    store.insert(&new).await.unwrap();
    let version = store.config_version();
    drop(store);
    let reopened = Store::open_sqlite(&dir.path().join("gatehouse.db")).await.unwrap();
    assert_eq!(reopened.config_version(), version);
    assert!(reopened.get(EntityKind::Consumers, new.id).await.unwrap().is_some());
    let mode: String = sqlx::query("PRAGMA journal_mode").fetch_one(&reopened.pool).await.unwrap().get(0);
    assert_eq!(mode, "wal");
}

#[tokio::test]
async fn postgres_data_and_version_survive_reopening() {
    let (store, url) = postgres_store().await;
    let new = consumer("alice", &[]);
    store.insert(&new).await.unwrap();
    let version = store.config_version();
    drop(store);
    let reopened = Store::open_url(Database::Postgres, &url, 2, Duration::from_secs(5)).await.unwrap();
    assert_eq!(reopened.config_version(), version);
    assert!(reopened.get(EntityKind::Consumers, new.id).await.unwrap().is_some());
}

#[test]
fn postgres_url_encodes_credentials_and_errors_hide_the_password() {
    let config = Config {
        pg_user: "gate house".into(),
        pg_password: "p@ss:word/".into(),
        pg_host: "db.example".into(),
        ..Config::default()
    };
    let url = postgres_url(&config);
    assert_eq!(url, "postgres://gate%20house:p%40ss%3Aword%2F@db.example:5432/gatehouse");
    assert!(!redact_url(&url).contains("p%40ss"));
}
