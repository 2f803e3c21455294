//! A schema violation (Kong error code 2): per-field messages mirroring the schema tree, plus `@entity`.

use serde_json::{Map, Value, json};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct SchemaViolation {
    /// Messages by field; records nest, array elements are positional (`null` where an element is fine).
    pub fields: Map<String, Value>,
    /// Messages about the entity as a whole.
    pub entity: Vec<String>,
}

impl SchemaViolation {
    pub fn field(name: impl Into<String>, message: impl Into<String>) -> SchemaViolation {
        let mut violation = SchemaViolation::default();
        violation.fields.insert(name.into(), Value::String(message.into()));
        violation
    }

    pub fn entity(message: impl Into<String>) -> SchemaViolation {
        SchemaViolation { fields: Map::new(), entity: vec![message.into()] }
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.entity.is_empty()
    }

    /// Adds the messages of `other`, keeping ours where both name a field.
    pub fn merge(&mut self, other: SchemaViolation) {
        for (key, value) in other.fields {
            self.fields.entry(key).or_insert(value);
        }
        self.entity.extend(other.entity);
    }

    /// Every message as `path: message` (entity messages bare), in a stable order.
    pub fn flatten(&self) -> Vec<String> {
        let mut lines = Vec::new();
        flatten_into("", &Value::Object(self.fields.clone()), &mut lines);
        lines.sort();
        let mut all = self.entity.clone();
        all.extend(lines);
        all
    }

    /// Kong's message: `schema violation (a: x)` or `2 schema violations (a: x; b: y)`.
    pub fn message(&self) -> String {
        let lines = self.flatten();
        match lines.len() {
            1 => format!("schema violation ({})", lines[0]),
            n => format!("{n} schema violations ({})", lines.join("; ")),
        }
    }

    /// The Admin API body.
    pub fn to_kong_json(&self) -> Value {
        let mut fields = self.fields.clone();
        if !self.entity.is_empty() {
            fields.insert("@entity".into(), json!(self.entity));
        }
        json!({"code": 2, "name": "schema violation", "message": self.message(), "fields": fields})
    }
}

fn flatten_into(prefix: &str, value: &Value, lines: &mut Vec<String>) {
    let join = |key: &str| if prefix.is_empty() { key.to_string() } else { format!("{prefix}.{key}") };
    match value {
        Value::Object(entries) => {
            for (key, value) in entries {
                if key == "@entity" {
                    if let Value::Array(messages) = value {
                        for message in messages {
                            lines.push(format!("{prefix}: {}", message.as_str().unwrap_or_default()));
                        }
                    }
                } else {
                    flatten_into(&join(key), value, lines);
                }
            }
        }
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate().filter(|(_, item)| !item.is_null()) {
                flatten_into(&join(&(index + 1).to_string()), item, lines);
            }
        }
        Value::String(message) => lines.push(format!("{prefix}: {message}")),
        other => lines.push(format!("{prefix}: {other}")),
    }
}

impl std::fmt::Display for SchemaViolation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for SchemaViolation {}
