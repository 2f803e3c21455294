//! The configuration collections the UI pages cover, with what their lists show.

use serde_json::Value;

pub struct Collection {
    /// The Admin API collection (`services`).
    pub name: &'static str,
    pub label: &'static str,
    /// The columns of its list, after the entity's name.
    pub columns: &'static [&'static str],
    /// Collections nested under one of its entities (`/services/{id}/routes`).
    pub children: &'static [&'static str],
    /// Only reachable under a parent (`/upstreams/{id}/targets`): not in the navigation, created with
    /// `POST /{parents}/{id}/{name}` where the parent's id is the form's value of this foreign key.
    pub under: Option<&'static str>,
}

pub const ALL: &[Collection] = &[
    Collection {
        name: "services",
        label: "Services",
        columns: &["host", "port", "protocol", "tags"],
        children: &["routes", "plugins"],
        under: None,
    },
    Collection {
        name: "routes",
        label: "Routes",
        columns: &["paths", "hosts", "service", "tags"],
        children: &["plugins"],
        under: None,
    },
    Collection {
        name: "consumers",
        label: "Consumers",
        columns: &["custom_id", "tags"],
        children: &["plugins"],
        under: None,
    },
    Collection {
        name: "plugins",
        label: "Plugins",
        columns: &["service", "route", "consumer", "enabled"],
        children: &[],
        under: None,
    },
    Collection {
        name: "upstreams",
        label: "Upstreams",
        columns: &["algorithm", "slots", "tags"],
        children: &["targets"],
        under: None,
    },
    Collection {
        name: "certificates",
        label: "Certificates",
        columns: &["snis", "tags"],
        children: &["snis"],
        under: None,
    },
    Collection { name: "snis", label: "SNIs", columns: &["certificate", "tags"], children: &[], under: None },
    Collection {
        name: "targets",
        label: "Targets",
        columns: &["weight", "health", "tags"],
        children: &[],
        under: Some("upstream"),
    },
];

pub fn find(name: &str) -> Option<&'static Collection> {
    ALL.iter().find(|c| c.name == name)
}

/// The singular a nested collection uses for its parent's foreign key (`services` → `service`).
pub fn singular(collection: &str) -> &str {
    collection.strip_suffix('s').unwrap_or(collection)
}

/// How an entity is named in lists and headings: its name, username, else its id.
pub fn entity_label(entity: &Value) -> String {
    ["name", "username", "target", "id"]
        .iter()
        .find_map(|key| entity.get(*key).and_then(Value::as_str).filter(|s| !s.is_empty()))
        .unwrap_or("")
        .to_string()
}

/// A stored value as one line of a list cell.
pub fn cell_text(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(text)) => text.clone(),
        Some(Value::Array(items)) => items.iter().map(|item| cell_text(Some(item))).collect::<Vec<_>>().join(", "),
        Some(Value::Object(map)) if map.contains_key("id") => cell_text(map.get("id")),
        Some(other) => other.to_string(),
    }
}
