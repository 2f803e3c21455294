//! Writing the store as a declarative file: `_format_version: "2.1"`, one flat list per collection,
//! references as ids, unset fields and timestamps left out.

use proxy::model::entities::definition;
use serde_json::{Map, Value, json};

use super::ORDER;
use crate::store::{Store, StoreError};

/// The whole configuration as a declarative record.
pub async fn export(store: &Store) -> Result<Map<String, Value>, StoreError> {
    let mut file = Map::new();
    file.insert("_format_version".into(), json!("2.1"));
    for kind in ORDER {
        let entities = store.all(kind).await?;
        if entities.is_empty() {
            continue;
        }
        let references: Vec<&str> = definition(kind).references.iter().map(|r| r.field).collect();
        let list: Vec<Value> = entities
            .into_iter()
            .map(|entity| {
                let mut doc = entity.doc.as_object().cloned().unwrap_or_default();
                doc.retain(|key, value| !value.is_null() && key != "created_at" && key != "updated_at");
                for field in &references {
                    if let Some(id) = doc.get(*field).and_then(|r| r.get("id")).cloned() {
                        doc.insert((*field).to_string(), id);
                    }
                }
                Value::Object(doc)
            })
            .collect();
        file.insert(kind.as_str().into(), Value::Array(list));
    }
    Ok(file)
}

/// The record as YAML text.
pub fn to_yaml(file: &Map<String, Value>) -> String {
    serde_yaml::to_string(file).expect("JSON values always serialize to YAML")
}
