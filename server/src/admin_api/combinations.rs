//! The plugin-combination rule at the Admin API (`proxy::model::plugins::combinations`): an enabled member of
//! an exclusive group (the PEPs) holds a unique key for its scope, so the store refuses a second one in the
//! same transaction; this module adds that key and turns the store's refusal into a schema violation that
//! names the plugin already protecting the scope.

use proxy::model::EntityKind;
use proxy::model::plugins::combinations::{ExclusiveGroup, exclusive_key};
use uuid::Uuid;

use crate::store::{NewEntity, Store, StoreError, WriteOp};

/// Adds a plugin entity's exclusive-group key to the keys the store keeps unique.
pub fn add_key(entity: &mut NewEntity) {
    if entity.kind == EntityKind::Plugins
        && let Some(key) = exclusive_key(&entity.doc)
    {
        entity.unique_keys.push(key);
    }
}

/// A write the combination rule refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The refused plugin.
    pub plugin: Uuid,
    pub message: String,
}

/// When `error` is an exclusive group's unique key, which plugin of the batch `ops` was refused and why: the
/// message names the plugin already in that scope, stored before or written earlier in the same batch.
/// `None` for every other error.
pub async fn refusal(store: &Store, error: &StoreError, ops: &[WriteOp]) -> Option<Refusal> {
    let StoreError::Unique { kind: EntityKind::Plugins, name, value } = error else { return None };
    let group = ExclusiveGroup::by_key_name(name)?;
    let mut contenders = ops.iter().filter_map(|op| match op {
        WriteOp::Insert(entity) | WriteOp::Upsert(entity) | WriteOp::Update(entity)
            if entity.unique_keys.iter().any(|(n, v)| n == name && v == value) =>
        {
            Some(entity)
        }
        _ => None,
    });
    let first = contenders.next()?;
    let (refused, existing) = match contenders.next() {
        Some(second) => (second, describe(&first.doc, first.id)),
        None => {
            // The transaction rolled back, so the key's holder is the plugin stored before it.
            let stored = store.get_by_key(EntityKind::Plugins, name, value).await.ok().flatten()?;
            (first, describe(&stored.doc, stored.id))
        }
    };
    let plugin = refused.doc["name"].as_str().unwrap_or_default();
    Some(Refusal { plugin: refused.id, message: group.conflict(plugin, &existing) })
}

fn describe(doc: &serde_json::Value, id: Uuid) -> String {
    format!("{} (plugin {id})", doc["name"].as_str().unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    async fn store() -> (Store, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        (Store::open_sqlite(&dir.path().join("test.db")).await.unwrap(), dir)
    }

    /// A plugin entity as `prepare` makes it (the store does not look at names, so PEPs Gatehouse does not ship
    /// yet can be stored here).
    fn plugin(id: u128, name: &str, service: Value, enabled: bool) -> NewEntity {
        let id = Uuid::from_u128(id);
        let doc = json!({"id": id, "name": name, "route": null, "service": service, "consumer": null,
                         "enabled": enabled, "config": {}});
        let mut entity = NewEntity {
            kind: EntityKind::Plugins,
            id,
            doc,
            unique_keys: Vec::new(),
            tags: Vec::new(),
            refs: Vec::new(),
        };
        add_key(&mut entity);
        entity
    }

    const SERVICE: &str = "6d2f7b0e-0000-4000-8000-000000000001";

    #[tokio::test]
    async fn a_second_pep_in_a_scope_is_refused_naming_the_first() {
        let (store, _dir) = store().await;
        let oauth = plugin(1, "gluu-oauth-pep", json!({"id": SERVICE}), true);
        store.insert(&oauth).await.unwrap();
        let uma = plugin(2, "gluu-uma-pep", json!({"id": SERVICE}), true);
        let ops = [WriteOp::Insert(uma.clone())];
        let error = store.apply(&ops).await.unwrap_err();
        let refused = refusal(&store, &error, &ops).await.expect("the combination rule refused it");
        assert_eq!(refused.plugin, uma.id);
        assert_eq!(
            refused.message,
            format!(
                "gluu-uma-pep cannot be added where gluu-oauth-pep (plugin {}) is configured: at most one policy \
                 enforcement point (gluu-oauth-pep, gluu-uma-pep, gluu-opa-pep) per route, service or global scope",
                oauth.id
            )
        );
        assert!(store.get(EntityKind::Plugins, uma.id).await.unwrap().is_none(), "nothing stored");

        // Elsewhere, disabled, or replacing the PEP itself: allowed.
        store.insert(&plugin(3, "gluu-opa-pep", Value::Null, true)).await.unwrap();
        store.insert(&plugin(4, "gluu-uma-pep", json!({"id": SERVICE}), false)).await.unwrap();
        store.upsert(&plugin(1, "gluu-opa-pep", json!({"id": SERVICE}), true)).await.unwrap();
        // Enabling the disabled one now collides with the replaced first one.
        let ops = [WriteOp::Update(plugin(4, "gluu-uma-pep", json!({"id": SERVICE}), true))];
        let error = store.apply(&ops).await.unwrap_err();
        assert!(refusal(&store, &error, &ops).await.unwrap().message.contains("where gluu-opa-pep (plugin"));
    }

    /// `method uri` with a JSON body through the Admin API router; the status and the JSON answer.
    async fn send(node: &std::sync::Arc<crate::node::Node>, method: &str, uri: &str, body: Value) -> (u16, Value) {
        use http_body_util::BodyExt;
        use tower::ServiceExt;
        let request = axum::http::Request::builder()
            .method(method)
            .uri(uri)
            .header("content-type", "application/json")
            .body(axum::body::Body::from(body.to_string()))
            .unwrap();
        let response = super::super::service(node.clone()).oneshot(request).await.unwrap();
        let status = response.status().as_u16();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    #[tokio::test]
    async fn the_admin_api_and_config_imports_name_the_pep_already_in_the_scope() {
        let dir = tempfile::tempdir().unwrap();
        let config = crate::config::Config { prefix: dir.path().into(), ..Default::default() };
        let store = Store::open_sqlite(&config.sqlite_file()).await.unwrap();
        let node = std::sync::Arc::new(crate::node::Node::new(config, std::sync::Arc::new(store)));
        let (status, service) = send(&node, "PUT", "/services/api", json!({"url": "http://127.0.0.1:9"})).await;
        assert_eq!(status, 200, "{service}");
        // A PEP this build does not ship, stored as a build that ships it would store it.
        let uma = plugin(7, "gluu-uma-pep", json!({"id": service["id"]}), true);
        node.store.insert(&uma).await.unwrap();
        let site = json!({"oxd_id": "s", "client_id": "c", "client_secret": "x", "op_url": "https://op.example.com",
                          "oxd_url": "https://127.0.0.1:8443"});
        let message = format!(
            "gluu-oauth-pep cannot be added where gluu-uma-pep (plugin {}) is configured: at most one policy \
             enforcement point (gluu-oauth-pep, gluu-uma-pep, gluu-opa-pep) per route, service or global scope",
            uma.id
        );
        let pep = json!({"name": "gluu-oauth-pep", "config": site});
        assert_eq!(
            send(&node, "POST", "/services/api/plugins", pep.clone()).await,
            (
                400,
                json!({"code": 2, "name": "schema violation", "message": format!("schema violation (name: {message})"),
                       "fields": {"name": message}})
            )
        );
        let file = json!({"_format_version": "1.1",
                          "services": [{"name": "api", "url": "http://127.0.0.1:9", "plugins": [pep]}]});
        let (status, body) = send(&node, "POST", "/config", json!({"config": file.to_string()})).await;
        assert_eq!(
            (status, body["code"].clone(), body["fields"].clone()),
            (400, json!(14), json!({"services[1].plugins[1]": message}))
        );
        let plugins = send(&node, "GET", "/plugins", Value::Null).await.1;
        assert_eq!(plugins["data"].as_array().unwrap().len(), 1, "nothing stored: {plugins}");
    }

    #[tokio::test]
    async fn two_peps_of_one_batch_are_refused_naming_the_earlier_and_other_errors_are_left_alone() {
        let (store, _dir) = store().await;
        let (first, second) =
            (plugin(1, "gluu-oauth-pep", Value::Null, true), plugin(2, "gluu-uma-pep", Value::Null, true));
        let ops = [WriteOp::Upsert(first.clone()), WriteOp::Upsert(second.clone())];
        let error = store.apply(&ops).await.unwrap_err();
        let refused = refusal(&store, &error, &ops).await.unwrap();
        assert_eq!(refused.plugin, second.id);
        assert!(refused.message.contains(&format!("where gluu-oauth-pep (plugin {}) is configured", first.id)));
        assert!(store.get(EntityKind::Plugins, first.id).await.unwrap().is_none(), "one transaction: none of it");

        let duplicate = StoreError::Unique {
            kind: EntityKind::Plugins,
            name: "name+route+service+consumer".into(),
            value: "x".into(),
        };
        assert_eq!(refusal(&store, &duplicate, &ops).await, None, "Kong's own unique keys keep Kong's answer");
    }
}
