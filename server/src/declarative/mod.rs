//! Kong's declarative configuration (`_format_version` "1.1", "2.1", and "3.0" upgraded): parsed from YAML
//! or JSON, nested entities flattened, missing ids derived deterministically, references by name resolved,
//! every entity validated by the Admin API's own rules, and the whole file applied in one store transaction.
//! Export writes the store back in the same format.

mod export;

use std::collections::HashMap;
use std::sync::Arc;

use proxy::model::EntityKind;
use proxy::model::entities::definition;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::admin_api::{AdminError, Entities, combinations};
use crate::node::Node;
use crate::store::{StoredEntity, WriteOp};

pub use export::{export, to_yaml};

/// Namespace of the ids derived for entities a file gives without one.
const ID_NAMESPACE: Uuid = Uuid::from_u128(0x6761_7465_686f_7573_6564_6563_6c61_7265);

/// The order entities are applied in: every reference points at something applied before it.
pub const ORDER: [EntityKind; 10] = [
    EntityKind::Certificates,
    EntityKind::CaCertificates,
    EntityKind::Snis,
    EntityKind::Services,
    EntityKind::Routes,
    EntityKind::Consumers,
    EntityKind::Acls,
    EntityKind::Upstreams,
    EntityKind::Targets,
    EntityKind::Plugins,
];

/// One entity of a file, flattened, with its id.
#[derive(Debug, Clone)]
struct Entry {
    kind: EntityKind,
    id: Uuid,
    body: Map<String, Value>,
    /// Where the entity was in the file, for error messages (`services[2].routes[1]`).
    place: String,
    /// Whether the id was derived here rather than given by the file.
    derived_id: bool,
}

/// A file that cannot be applied: Kong's code 14 with the problems by place.
fn invalid(fields: Map<String, Value>) -> AdminError {
    let details: Vec<String> = fields.iter().map(|(place, problem)| format!("{place}: {problem}")).collect();
    AdminError::Kong {
        status: 400,
        body: json!({"code": 14, "name": "invalid declarative configuration",
                     "message": format!("declarative config is invalid: {}", details.join("; ")), "fields": fields}),
    }
}

/// Parses YAML or JSON text into the top-level record.
pub fn parse(text: &str) -> Result<Map<String, Value>, AdminError> {
    let value: Value = serde_yaml::from_str(text)
        .map_err(|e| invalid(Map::from_iter([("@file".to_string(), json!(format!("cannot parse: {e}")))])))?;
    match value {
        Value::Object(map) => Ok(map),
        _ => Err(invalid(Map::from_iter([("@file".to_string(), json!("expected a record at the top level"))]))),
    }
}

/// Validates and applies a declarative configuration; returns the applied entities.
pub async fn import(node: &Arc<Node>, file: Map<String, Value>) -> Result<Vec<StoredEntity>, AdminError> {
    let mut entries = flatten(file)?;
    adopt_stored_ids(node, &mut entries).await?;
    let entities = Entities { node: node.clone() };
    let mut ops = Vec::with_capacity(entries.len());
    let mut places = HashMap::with_capacity(entries.len());
    let mut problems = Map::new();
    for entry in entries {
        places.insert(entry.id, entry.place.clone());
        match entities.prepare(entry.kind, entry.body, Some(entry.id)).await {
            Ok(entity) => ops.push(WriteOp::Upsert(entity)),
            Err(AdminError::Schema(violation)) => {
                problems.insert(entry.place, Value::String(violation.message()));
            }
            Err(AdminError::Kong { body, .. }) => {
                problems.insert(entry.place, body["message"].clone());
            }
            Err(other) => return Err(other),
        }
    }
    if !problems.is_empty() {
        return Err(invalid(problems));
    }
    let applied = match node.store.apply(&ops).await {
        Ok(applied) => applied,
        Err(error) => {
            return Err(match combinations::refusal(&node.store, &error, &ops).await {
                Some(refusal) => {
                    let place = places.get(&refusal.plugin).cloned().unwrap_or_else(|| "plugins".into());
                    invalid(Map::from_iter([(place, Value::String(refusal.message))]))
                }
                None => error.into(),
            });
        }
    };
    Ok(applied
        .into_iter()
        .filter_map(|a| match a {
            crate::store::Applied::Written(stored) => Some(stored),
            _ => None,
        })
        .collect())
}

/// An entity the file names without an id takes the id of the stored entity with the same name, so a file
/// can update configuration that was made through the API; references to it follow.
async fn adopt_stored_ids(node: &Node, entries: &mut [Entry]) -> Result<(), AdminError> {
    let mut renamed: HashMap<Uuid, Uuid> = HashMap::new();
    for entry in entries.iter_mut().filter(|e| e.derived_id) {
        let Some(field) = definition(entry.kind).endpoint_key else { continue };
        let Some(Value::String(name)) = entry.body.get(field) else { continue };
        if entry.kind == EntityKind::Targets {
            continue;
        }
        if let Some(stored) = node.store.get_by_key(entry.kind, field, name).await? {
            renamed.insert(entry.id, stored.id);
            entry.id = stored.id;
            entry.body.insert("id".into(), json!(stored.id));
        }
    }
    if renamed.is_empty() {
        return Ok(());
    }
    for entry in entries.iter_mut() {
        for reference in definition(entry.kind).references {
            let Some(id) = entry.body.get(reference.field).and_then(|r| r.get("id")).and_then(Value::as_str) else {
                continue;
            };
            if let Some(stored) = Uuid::parse_str(id).ok().and_then(|id| renamed.get(&id)) {
                entry.body.insert(reference.field.into(), json!({"id": stored}));
            }
        }
    }
    Ok(())
}

fn flatten(mut file: Map<String, Value>) -> Result<Vec<Entry>, AdminError> {
    let mut problems = Map::new();
    match file.remove("_format_version").as_ref().and_then(Value::as_str) {
        Some("1.1" | "2.1" | "3.0") => {}
        Some(other) => {
            problems.insert(
                "_format_version".into(),
                json!(format!("unsupported version '{other}' (expected 1.1, 2.1 or 3.0)")),
            );
        }
        None => {
            problems.insert("_format_version".into(), json!("required field missing"));
        }
    }
    file.remove("_transform");
    file.remove("_comment");
    file.remove("_workspace");
    let mut entries = Vec::new();
    for (key, value) in file {
        let Some(kind) = EntityKind::from_collection(&key) else {
            problems.insert(key.clone(), json!("unknown field"));
            continue;
        };
        let Value::Array(items) = value else {
            problems.insert(key, json!("expected an array"));
            continue;
        };
        for (index, item) in items.into_iter().enumerate() {
            collect(kind, item, None, format!("{key}[{}]", index + 1), &mut entries, &mut problems);
        }
    }
    if !problems.is_empty() {
        return Err(invalid(problems));
    }
    resolve_names(&mut entries);
    entries.sort_by_key(|entry| ORDER.iter().position(|k| *k == entry.kind));
    Ok(entries)
}

/// Children a kind may nest: the child collection key, its kind and the child's field naming the parent.
fn children(kind: EntityKind) -> &'static [(&'static str, EntityKind, &'static str)] {
    use EntityKind::*;
    match kind {
        Services => &[("routes", Routes, "service"), ("plugins", Plugins, "service")],
        Routes => &[("plugins", Plugins, "route")],
        Consumers => &[("plugins", Plugins, "consumer"), ("acls", Acls, "consumer")],
        Upstreams => &[("targets", Targets, "upstream")],
        Certificates => &[("snis", Snis, "certificate")],
        _ => &[],
    }
}

fn collect(
    kind: EntityKind,
    item: Value,
    parent: Option<(&'static str, Uuid, String)>,
    place: String,
    entries: &mut Vec<Entry>,
    problems: &mut Map<String, Value>,
) {
    let mut body = match item {
        Value::Object(body) => body,
        // Certificates may list their SNIs as plain names.
        Value::String(name) if kind == EntityKind::Snis => Map::from_iter([("name".to_string(), json!(name))]),
        _ => {
            problems.insert(place, json!("expected a record"));
            return;
        }
    };
    let nested: Vec<(String, &'static str, EntityKind, Value)> = children(kind)
        .iter()
        .filter_map(|(key, child, field)| body.remove(*key).map(|v| (key.to_string(), *field, *child, v)))
        .collect();
    let parent_key = parent.as_ref().map(|(_, _, key)| key.clone()).unwrap_or_default();
    if let Some((field, parent_id, _)) = &parent {
        body.insert((*field).into(), json!({"id": parent_id}));
    }
    let natural_key = natural_key(kind, &body);
    let derived_id = body.get("id").is_none_or(Value::is_null);
    let id = match body.get("id").and_then(Value::as_str).map(Uuid::parse_str) {
        Some(Ok(id)) => id,
        Some(Err(_)) => {
            problems.insert(format!("{place}.id"), json!("expected a valid UUID"));
            return;
        }
        None => match &natural_key {
            Some(key) => Uuid::new_v5(&ID_NAMESPACE, format!("{kind}:{parent_key}:{key}").as_bytes()),
            None => Uuid::new_v4(),
        },
    };
    body.insert("id".into(), json!(id));
    let own_key = format!("{parent_key}/{}", natural_key.unwrap_or_else(|| id.to_string()));
    for (key, field, child, value) in nested {
        let Value::Array(items) = value else {
            problems.insert(format!("{place}.{key}"), json!("expected an array"));
            continue;
        };
        for (index, item) in items.into_iter().enumerate() {
            let child_place = format!("{place}.{key}[{}]", index + 1);
            collect(child, item, Some((field, id, own_key.clone())), child_place, entries, problems);
        }
    }
    entries.push(Entry { kind, id, body, place, derived_id });
}

/// The key a derived id is made from: the endpoint key, or for plugins their name and scope.
fn natural_key(kind: EntityKind, body: &Map<String, Value>) -> Option<String> {
    let text = |field: &str| {
        body.get(field)
            .filter(|v| !v.is_null())
            .map(|v| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()))
    };
    match kind {
        EntityKind::Plugins => Some(format!(
            "{}|{}|{}|{}",
            text("name")?,
            text("route").unwrap_or_default(),
            text("service").unwrap_or_default(),
            text("consumer").unwrap_or_default()
        )),
        _ => text(definition(kind).endpoint_key?),
    }
}

/// References written as a plain string (an id or a name) or by name become `{"id": ...}` when the file
/// itself defines the entity; names the file does not define are left for the store to resolve.
fn resolve_names(entries: &mut [Entry]) {
    let mut by_name: HashMap<(EntityKind, String), Uuid> = HashMap::new();
    for entry in entries.iter() {
        if let Some(field) = definition(entry.kind).endpoint_key
            && let Some(Value::String(name)) = entry.body.get(field)
        {
            by_name.insert((entry.kind, name.clone()), entry.id);
        }
    }
    for entry in entries.iter_mut() {
        for reference in definition(entry.kind).references {
            let Some(value) = entry.body.get(reference.field) else { continue };
            let key_field = definition(reference.kind).endpoint_key;
            let name = match value {
                Value::String(text) => match Uuid::parse_str(text) {
                    Ok(id) => {
                        entry.body.insert(reference.field.into(), json!({"id": id}));
                        continue;
                    }
                    Err(_) => text.clone(),
                },
                Value::Object(map) if !map.contains_key("id") => {
                    match key_field.and_then(|f| map.get(f)).and_then(Value::as_str) {
                        Some(name) => name.to_string(),
                        None => continue,
                    }
                }
                _ => continue,
            };
            let resolved = match by_name.get(&(reference.kind, name.clone())) {
                Some(id) => json!({"id": id}),
                None => match key_field {
                    Some(field) => json!({ field: name }),
                    None => json!({"id": name}),
                },
            };
            entry.body.insert(reference.field.into(), resolved);
        }
    }
}

#[cfg(test)]
mod tests;
