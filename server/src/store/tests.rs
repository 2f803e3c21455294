//! The store suite, run once against SQLite and once against a real PostgreSQL.
//!
//! PostgreSQL comes from `GATEHOUSE_TEST_PG_URL` (an admin connection URL; `./scripts/test` starts a server and
//! sets it). Each test gets a database of its own so tests run in parallel.

use super::*;
use crate::secrets::SecretBox;
use serde_json::json;

fn consumer(username: &str, tags: &[&str]) -> NewEntity {
    let id = Uuid::new_v4();
    NewEntity {
        kind: EntityKind::Consumers,
        id,
        doc: json!({"id": id, "username": username, "custom_id": null, "tags": tags}),
        unique_keys: vec![("username".into(), username.into())],
        tags: tags.iter().map(|t| t.to_string()).collect(),
        refs: vec![],
    }
}

fn entity(kind: EntityKind, refs: Vec<(&str, EntityKind, Uuid)>, tags: &[&str]) -> NewEntity {
    let id = Uuid::new_v4();
    NewEntity {
        kind,
        id,
        doc: json!({"id": id, "created_at": null, "updated_at": null}),
        unique_keys: vec![],
        tags: tags.iter().map(|t| t.to_string()).collect(),
        refs: refs.into_iter().map(|(field, kind, id)| EntityRef { field: field.into(), kind, id }).collect(),
    }
}

async fn references_must_exist_and_never_change_the_store_when_they_do_not(store: Store) {
    let version = store.config_version();
    let route = entity(EntityKind::Routes, vec![("service", EntityKind::Services, Uuid::new_v4())], &[]);
    let err = store.insert(&route).await.unwrap_err();
    assert!(matches!(err, StoreError::ForeignKey { kind: EntityKind::Services, .. }), "{err}");
    assert!(err.to_string().ends_with("does not reference an existing 'services' entity."), "{err}");
    assert_eq!(store.config_version(), version);
    assert_eq!(store.get(EntityKind::Routes, route.id).await.unwrap(), None);
}

async fn restricted_deletes_are_refused_and_cascades_follow_references(store: Store) {
    let service = entity(EntityKind::Services, vec![], &[]);
    store.insert(&service).await.unwrap();
    let route = entity(EntityKind::Routes, vec![("service", EntityKind::Services, service.id)], &[]);
    store.insert(&route).await.unwrap();
    let on_route = entity(EntityKind::Plugins, vec![("route", EntityKind::Routes, route.id)], &[]);
    let on_service = entity(EntityKind::Plugins, vec![("service", EntityKind::Services, service.id)], &[]);
    store.insert(&on_route).await.unwrap();
    store.insert(&on_service).await.unwrap();

    let err = store.delete(EntityKind::Services, service.id).await.unwrap_err();
    assert_eq!(err.to_string(), "an existing 'routes' entity references this 'services' entity");
    assert!(store.get(EntityKind::Plugins, on_service.id).await.unwrap().is_some(), "a refused delete changes nothing");

    assert!(store.delete(EntityKind::Routes, route.id).await.unwrap());
    assert_eq!(store.get(EntityKind::Plugins, on_route.id).await.unwrap(), None, "plugins cascade with their route");
    assert!(store.delete(EntityKind::Services, service.id).await.unwrap());
    assert_eq!(store.get(EntityKind::Plugins, on_service.id).await.unwrap(), None);
}

async fn pages_filter_by_parent_and_by_tags(store: Store) {
    let a = entity(EntityKind::Upstreams, vec![], &[]);
    let b = entity(EntityKind::Upstreams, vec![], &[]);
    store.insert(&a).await.unwrap();
    store.insert(&b).await.unwrap();
    let t1 = entity(EntityKind::Targets, vec![("upstream", EntityKind::Upstreams, a.id)], &["red", "big"]);
    let t2 = entity(EntityKind::Targets, vec![("upstream", EntityKind::Upstreams, a.id)], &["red"]);
    let t3 = entity(EntityKind::Targets, vec![("upstream", EntityKind::Upstreams, b.id)], &["blue"]);
    for t in [&t1, &t2, &t3] {
        store.insert(t).await.unwrap();
    }
    let ids = |page: Vec<StoredEntity>| {
        let mut ids: Vec<Uuid> = page.into_iter().map(|e| e.id).collect();
        ids.sort();
        ids
    };
    let sorted = |mut v: Vec<Uuid>| {
        v.sort();
        v
    };
    let of_a = ListFilter { parent: Some(("upstream".into(), a.id)), tags: None };
    assert_eq!(ids(store.page(EntityKind::Targets, &of_a, None, 100).await.unwrap()), sorted(vec![t1.id, t2.id]));
    let all_of = ListFilter { parent: None, tags: Some(TagFilter::All(vec!["red".into(), "big".into()])) };
    assert_eq!(ids(store.page(EntityKind::Targets, &all_of, None, 100).await.unwrap()), vec![t1.id]);
    let any_of = ListFilter { parent: None, tags: Some(TagFilter::Any(vec!["big".into(), "blue".into()])) };
    assert_eq!(ids(store.page(EntityKind::Targets, &any_of, None, 100).await.unwrap()), sorted(vec![t1.id, t3.id]));
    let tags = store.tags(None, None, 100).await.unwrap();
    assert_eq!(tags.len(), 4);
    assert_eq!(tags[0].tag, "big");
    assert_eq!(tags[2].tag, "red");
    let red = store.tags(Some("red"), Some(&tags[2]), 100).await.unwrap();
    assert_eq!(red.len(), 1, "keyset pagination continues after the given row");
    assert!(store.delete(EntityKind::Upstreams, a.id).await.unwrap());
    assert_eq!(store.page(EntityKind::Targets, &ListFilter::default(), None, 100).await.unwrap().len(), 1);
}

async fn upsert_replaces_and_keeps_created_at_and_update_needs_an_entity(store: Store) {
    let mut first = consumer("alice", &["a"]);
    first.doc["created_at"] = json!(null);
    let created = store.upsert(&first).await.unwrap();
    let created_at = created.doc["created_at"].clone();
    assert!(created_at.is_i64());
    let mut replacement = first.clone();
    replacement.doc["username"] = json!("alice2");
    replacement.unique_keys = vec![("username".into(), "alice2".into())];
    replacement.tags = vec![];
    let replaced = store.upsert(&replacement).await.unwrap();
    assert_eq!(replaced.doc["created_at"], created_at);
    assert_eq!(replaced.doc["username"], "alice2");
    assert_eq!(store.get_by_key(EntityKind::Consumers, "username", "alice").await.unwrap(), None, "old key freed");
    assert!(store.tags(Some("a"), None, 10).await.unwrap().is_empty(), "old tags gone");
    let missing = consumer("bob", &[]);
    assert_eq!(store.update(&missing).await.unwrap(), None);
    assert_eq!(store.get(EntityKind::Consumers, missing.id).await.unwrap(), None);
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
        let page = store.page(EntityKind::Consumers, &ListFilter::default(), after, 3).await.unwrap();
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
    assert_eq!(store.all(EntityKind::Consumers).await.unwrap().len(), 16);
}

async fn a_batch_lands_whole_or_not_at_all(store: Store) {
    let version = store.config_version();
    let service = entity(EntityKind::Services, vec![], &[]);
    let route = entity(EntityKind::Routes, vec![("service", EntityKind::Services, service.id)], &[]);
    let dangling = entity(EntityKind::Routes, vec![("service", EntityKind::Services, Uuid::new_v4())], &[]);
    let err = store
        .apply(&[WriteOp::Upsert(service.clone()), WriteOp::Upsert(route.clone()), WriteOp::Upsert(dangling)])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::ForeignKey { .. }), "{err}");
    assert_eq!(store.config_version(), version);
    assert_eq!(store.get(EntityKind::Services, service.id).await.unwrap(), None, "nothing of a failed batch stays");
    let applied = store.apply(&[WriteOp::Upsert(service.clone()), WriteOp::Upsert(route.clone())]).await.unwrap();
    assert_eq!(applied.len(), 2);
    assert_eq!(store.config_version(), version + 1, "one batch, one version");
    assert!(store.get(EntityKind::Routes, route.id).await.unwrap().is_some(), "a batch sees its own earlier writes");
}

async fn plugin_secret_fields_are_sealed_at_rest_and_read_back_plain(store: Store) {
    let store = store.with_secrets(Arc::new(SecretBox::from_key(&[9; 32])));
    let id = Uuid::new_v4();
    let doc = json!({"id": id, "name": "rate-limiting", "config": {"minute": 1, "redis_password": "hunter2"}});
    let plugin = NewEntity { kind: EntityKind::Plugins, id, doc, unique_keys: vec![], tags: vec![], refs: vec![] };
    store.insert(&plugin).await.unwrap();
    let stored: String = sqlx::query("SELECT doc FROM entities WHERE kind = 'plugins' AND id = $1")
        .bind(id.to_string())
        .fetch_one(&store.pool)
        .await
        .unwrap()
        .try_get("doc")
        .unwrap();
    assert!(!stored.contains("hunter2") && stored.contains("sealed:v1:"), "{stored}");
    assert_eq!(store.get(EntityKind::Plugins, id).await.unwrap().unwrap().doc["config"]["redis_password"], "hunter2");
    assert_eq!(store.all(EntityKind::Plugins).await.unwrap()[0].doc["config"]["minute"], 1);
    // Without the key the sealed value cannot be read, and the error says so instead of leaking it.
    let keyless = Store { secrets: None, ..store };
    let error = keyless.get(EntityKind::Plugins, id).await.unwrap_err().to_string();
    assert!(error.contains("no secrets key"), "{error}");
}

async fn the_rp_signing_key_is_stored_once_sealed_and_shared(store: Store) {
    let secrets = Arc::new(SecretBox::from_key(&[7; 32]));
    let store = Arc::new(store);
    let sites = DatabaseSites::new(store.clone(), secrets);
    let first = sites.rp_signing_key(b"first key bytes").await.unwrap();
    assert_eq!(first, b"first key bytes");
    let stored: String = sqlx::query("SELECT data FROM oxd_keys WHERE name = 'rp_signing'")
        .fetch_one(&store.pool)
        .await
        .unwrap()
        .try_get("data")
        .unwrap();
    assert!(SecretBox::is_sealed(&stored) && !stored.contains("Zmlyc3Qga2V5"), "{stored}");
    // Another node (or a restart) offering its own key gets the stored one.
    assert_eq!(sites.rp_signing_key(b"second key bytes").await.unwrap(), b"first key bytes");
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

async fn changes_are_audited_under_their_actor_in_their_own_transaction(store: Store) {
    let service = entity(EntityKind::Services, vec![], &[]);
    let dangling = entity(EntityKind::Routes, vec![("service", EntityKind::Services, Uuid::new_v4())], &[]);
    let alice = Actor { name: "alice".into(), via: "admin-gui".into(), comment: "OPS-1".into() };
    let batch = [WriteOp::Upsert(service.clone()), WriteOp::Upsert(dangling)];
    assert!(acting_as(alice.clone(), store.apply(&batch)).await.is_err());
    let all = AuditFilter { limit: 100, ..AuditFilter::default() };
    assert_eq!(store.audit(&all).await.unwrap(), vec![], "a failed batch records nothing");

    acting_as(alice, store.insert(&service)).await.unwrap();
    store.delete(EntityKind::Services, service.id).await.unwrap();
    let entries = store.audit(&all).await.unwrap();
    let summary: Vec<(&str, &str, &str)> =
        entries.iter().map(|e| (e.action.as_str(), e.actor.as_str(), e.via.as_str())).collect();
    assert_eq!(summary, [("delete", "gatehouse", "system"), ("create", "alice", "admin-gui")]);
    assert_eq!(entries[1].comment, "OPS-1");
    assert_eq!(entries[0].before.as_ref().unwrap()["id"], json!(service.id));
    let older = AuditFilter { before: Some((entries[0].version, entries[0].position)), ..all };
    assert_eq!(store.audit(&older).await.unwrap(), entries[1..]);
}

async fn sessions_are_found_by_token_only_until_they_end_or_expire(store: Store) {
    assert_eq!(store.admin_count().await.unwrap(), 0);
    store.create_admin("alice", "$argon2id$stand-in").await.unwrap();
    assert!(matches!(store.create_admin("alice", "x").await, Err(NewAdminError::Exists(_))));
    assert_eq!(store.admin_password_hash("alice").await.unwrap().as_deref(), Some("$argon2id$stand-in"));
    store.create_session("token-1", "alice", "csrf-1", "", 3600).await.unwrap();
    store.create_session("token-2", "alice", "csrf-2", "", -1).await.unwrap();
    let session = store.session("token-1").await.unwrap().unwrap();
    assert_eq!((session.username.as_str(), session.csrf_token.as_str()), ("alice", "csrf-1"));
    assert_eq!(store.session("token-2").await.unwrap(), None, "an expired session signs nobody in");
    assert_eq!(store.session(&token_hash("token-1")).await.unwrap(), None, "the stored hash is not a token");
    store.end_session("token-1").await.unwrap();
    assert_eq!(store.session("token-1").await.unwrap(), None);
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
    references_must_exist_and_never_change_the_store_when_they_do_not,
    restricted_deletes_are_refused_and_cascades_follow_references,
    pages_filter_by_parent_and_by_tags,
    upsert_replaces_and_keeps_created_at_and_update_needs_an_entity,
    a_batch_lands_whole_or_not_at_all,
    plugin_secret_fields_are_sealed_at_rest_and_read_back_plain,
    the_rp_signing_key_is_stored_once_sealed_and_shared,
    changes_are_audited_under_their_actor_in_their_own_transaction,
    sessions_are_found_by_token_only_until_they_end_or_expire,
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
