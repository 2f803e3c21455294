use super::*;
use crate::config::Config;
use crate::store::Store;

async fn new_node() -> (Arc<Node>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let config = Config { prefix: dir.path().into(), ..Config::default() };
    let store = Store::open_sqlite(&config.sqlite_file()).await.unwrap();
    (Arc::new(Node::new(config, Arc::new(store))), dir)
}

const FILE: &str = r#"
_format_version: "1.1"
services:
- name: billing
  url: https://billing.internal/v1
  routes:
  - name: billing-api
    paths: ["/billing"]
- name: ledger
  host: ledger.internal
routes:
- name: ledger-api
  hosts: ["ledger.example.com"]
  service: ledger
consumers:
- username: app
  custom_id: "client-123"
upstreams:
- name: ledger.internal
  targets:
  - target: 10.0.0.1:8080
  - target: 10.0.0.2
    weight: 50
"#;

fn count(entities: &[StoredEntity], kind: EntityKind) -> usize {
    entities.iter().filter(|e| e.kind == kind).count()
}

#[tokio::test]
async fn a_kong_file_is_flattened_resolved_and_applied_in_one_version() {
    let (node, _dir) = new_node().await;
    let applied = import(&node, parse(FILE).unwrap()).await.unwrap();
    assert_eq!(count(&applied, EntityKind::Services), 2);
    assert_eq!(count(&applied, EntityKind::Routes), 2);
    assert_eq!(count(&applied, EntityKind::Targets), 2);
    assert_eq!(node.store.config_version(), 1);
    let billing = node.store.get_by_key(EntityKind::Services, "name", "billing").await.unwrap().unwrap();
    let route = node.store.get_by_key(EntityKind::Routes, "name", "billing-api").await.unwrap().unwrap();
    assert_eq!(route.doc["service"]["id"], json!(billing.id));
    let ledger = node.store.get_by_key(EntityKind::Services, "name", "ledger").await.unwrap().unwrap();
    let ledger_api = node.store.get_by_key(EntityKind::Routes, "name", "ledger-api").await.unwrap().unwrap();
    assert_eq!(ledger_api.doc["service"]["id"], json!(ledger.id), "top-level routes name their service");
    assert_eq!(billing.doc["protocol"], "https");

    // The same file again keeps every id: named entities get ids derived from their names.
    let again = import(&node, parse(FILE).unwrap()).await.unwrap();
    let ids = |list: &[StoredEntity]| {
        let mut ids: Vec<Uuid> = list.iter().map(|e| e.id).collect();
        ids.sort();
        ids
    };
    assert_eq!(ids(&again), ids(&applied));
    assert_eq!(node.store.all(EntityKind::Targets).await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_file_updates_entities_made_through_the_api_by_name() {
    let (node, _dir) = new_node().await;
    let entities = crate::admin_api::Entities { node: node.clone() };
    let made = entities
        .prepare(
            EntityKind::Services,
            json!({"name": "billing", "host": "old.internal"}).as_object().unwrap().clone(),
            None,
        )
        .await
        .unwrap();
    node.store.insert(&made).await.unwrap();
    import(&node, parse(FILE).unwrap()).await.unwrap();
    let billing = node.store.get_by_key(EntityKind::Services, "name", "billing").await.unwrap().unwrap();
    assert_eq!(billing.id, made.id, "the stored id is kept");
    assert_eq!(billing.doc["host"], "billing.internal");
    let route = node.store.get_by_key(EntityKind::Routes, "name", "billing-api").await.unwrap().unwrap();
    assert_eq!(route.doc["service"]["id"], json!(made.id), "children follow the adopted id");
}

#[tokio::test]
async fn export_then_import_elsewhere_reproduces_the_configuration() {
    let (node, _dir) = new_node().await;
    import(&node, parse(FILE).unwrap()).await.unwrap();
    let exported = export(&node.store).await.unwrap();
    assert_eq!(exported["_format_version"], "2.1");
    let yaml = to_yaml(&exported);
    let (other, _other_dir) = new_node().await;
    import(&other, parse(&yaml).unwrap()).await.unwrap();
    for kind in EntityKind::ALL {
        let mut here: Vec<Value> = node.store.all(kind).await.unwrap().into_iter().map(|e| strip(e.doc)).collect();
        let mut there: Vec<Value> = other.store.all(kind).await.unwrap().into_iter().map(|e| strip(e.doc)).collect();
        here.sort_by_key(|d| d["id"].to_string());
        there.sort_by_key(|d| d["id"].to_string());
        assert_eq!(here, there, "{kind}");
    }
}

fn strip(mut doc: Value) -> Value {
    for field in ["created_at", "updated_at"] {
        doc.as_object_mut().unwrap().remove(field);
    }
    doc
}

#[tokio::test]
async fn an_invalid_file_names_every_problem_and_applies_nothing() {
    let (node, _dir) = new_node().await;
    let file = r#"
_format_version: "2.1"
services:
- name: ok
  host: ok.internal
- name: bad
  host: bad.internal
  port: "eighty"
  routes:
  - paths: ["no-slash"]
plugins:
- name: key-auth
"#;
    let err = import(&node, parse(file).unwrap()).await.unwrap_err();
    let AdminError::Kong { status, body } = err else { panic!("{err:?}") };
    assert_eq!((status, body["code"].as_i64()), (400, Some(14)));
    let fields = body["fields"].as_object().unwrap();
    assert!(fields["services[2]"].as_str().unwrap().contains("port: expected an integer"), "{body}");
    assert!(fields["services[2].routes[1]"].as_str().unwrap().contains("should start with: /"), "{body}");
    assert!(fields["plugins[1]"].as_str().unwrap().contains("gluu-oauth-auth"), "{body}");
    assert_eq!(node.store.config_version(), 0);
    assert!(node.store.all(EntityKind::Services).await.unwrap().is_empty());

    let err = import(&node, parse("services: []").unwrap()).await.unwrap_err();
    assert!(err.to_string().contains("_format_version"), "{err}");
    assert!(parse("{not yaml: [").is_err());
}

#[tokio::test]
async fn a_reference_to_an_entity_neither_in_the_file_nor_stored_is_refused() {
    let (node, _dir) = new_node().await;
    let file = "_format_version: \"2.1\"\nroutes:\n- name: r\n  paths: [\"/\"]\n  service: ghost\n";
    let err = import(&node, parse(file).unwrap()).await.unwrap_err();
    assert!(err.to_string().contains("ghost"), "{err}");
}
