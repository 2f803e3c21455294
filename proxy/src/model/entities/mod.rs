//! The Admin API entities: each kind's schema, endpoint key, unique keys and references to other kinds.
//! The server's generic endpoints and store writes are driven entirely by these definitions.

pub mod certificate;
pub mod consumer;
pub mod healthchecks;
pub mod plugin;
pub mod route;
pub mod service;
pub mod target;
pub mod upstream;

use std::sync::LazyLock;

use serde_json::Value;

use super::EntityKind;
use super::schema::{Schema, SchemaViolation};

/// A stored reference to another entity: `{"id": "<uuid>"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Reference {
    pub id: uuid::Uuid,
}

/// What deleting a referenced entity does to the entities that reference it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnDelete {
    /// The delete is refused (Kong error code 4).
    Restrict,
    /// The referencing entities are deleted too.
    Cascade,
}

/// A field of this kind that references another kind.
#[derive(Debug, Clone, Copy)]
pub struct ReferenceField {
    pub field: &'static str,
    pub kind: EntityKind,
    pub on_delete: OnDelete,
}

#[derive(Debug)]
pub struct EntityDef {
    pub kind: EntityKind,
    pub schema: Schema,
    /// The field a non-UUID URL segment names (`name`, `username`, ...).
    pub endpoint_key: Option<&'static str>,
    /// Unique keys: each is a list of fields whose values together must be unique among the kind.
    pub unique: &'static [&'static [&'static str]],
    pub references: &'static [ReferenceField],
}

impl EntityDef {
    /// Validates a complete entity of this kind (plugins by their own config schema).
    pub fn process(&self, body: &Value) -> Result<Value, SchemaViolation> {
        match self.kind {
            EntityKind::Plugins => plugin::process(body),
            _ => self.schema.process(body),
        }
    }

    /// The value of unique key `fields` in `entity`, as stored; `None` when every part is null.
    pub fn unique_value(entity: &Value, fields: &[&str]) -> Option<String> {
        let parts: Vec<&Value> = fields.iter().map(|f| &entity[*f]).collect();
        if parts.iter().all(|p| p.is_null()) {
            return None;
        }
        Some(match parts.as_slice() {
            [Value::String(single)] => single.clone(),
            _ => Value::Array(parts.into_iter().cloned().collect()).to_string(),
        })
    }
}

static DEFINITIONS: LazyLock<Vec<EntityDef>> = LazyLock::new(|| {
    use EntityKind::*;
    vec![
        EntityDef {
            kind: Services,
            schema: service::schema(),
            endpoint_key: Some("name"),
            unique: &[&["name"]],
            references: &[ReferenceField {
                field: "client_certificate",
                kind: Certificates,
                on_delete: OnDelete::Restrict,
            }],
        },
        EntityDef {
            kind: Routes,
            schema: route::schema(),
            endpoint_key: Some("name"),
            unique: &[&["name"]],
            references: &[ReferenceField { field: "service", kind: Services, on_delete: OnDelete::Restrict }],
        },
        EntityDef {
            kind: Consumers,
            schema: consumer::schema(),
            endpoint_key: Some("username"),
            unique: &[&["username"], &["custom_id"]],
            references: &[],
        },
        EntityDef {
            kind: Plugins,
            schema: plugin::schema(),
            endpoint_key: None,
            unique: &[&["name", "route", "service", "consumer"]],
            references: &[
                ReferenceField { field: "route", kind: Routes, on_delete: OnDelete::Cascade },
                ReferenceField { field: "service", kind: Services, on_delete: OnDelete::Cascade },
                ReferenceField { field: "consumer", kind: Consumers, on_delete: OnDelete::Cascade },
            ],
        },
        EntityDef {
            kind: Upstreams,
            schema: upstream::schema(),
            endpoint_key: Some("name"),
            unique: &[&["name"]],
            references: &[ReferenceField {
                field: "client_certificate",
                kind: Certificates,
                on_delete: OnDelete::Restrict,
            }],
        },
        EntityDef {
            kind: Targets,
            schema: target::schema(),
            endpoint_key: Some("target"),
            unique: &[&["upstream", "target"]],
            references: &[ReferenceField { field: "upstream", kind: Upstreams, on_delete: OnDelete::Cascade }],
        },
        EntityDef {
            kind: Certificates,
            schema: certificate::certificate_schema(),
            endpoint_key: None,
            unique: &[],
            references: &[],
        },
        EntityDef {
            kind: Snis,
            schema: certificate::sni_schema(),
            endpoint_key: Some("name"),
            unique: &[&["name"]],
            references: &[ReferenceField { field: "certificate", kind: Certificates, on_delete: OnDelete::Cascade }],
        },
        EntityDef {
            kind: CaCertificates,
            schema: certificate::ca_certificate_schema(),
            endpoint_key: None,
            unique: &[&["cert_digest"]],
            references: &[],
        },
        EntityDef {
            kind: Acls,
            schema: consumer::acl_schema(),
            // Under `/consumers/{c}/acls/{key}` a non-UUID key is the group name (resolved with the consumer).
            endpoint_key: None,
            unique: &[&["consumer", "group"]],
            references: &[ReferenceField { field: "consumer", kind: Consumers, on_delete: OnDelete::Cascade }],
        },
    ]
});

/// The definition of `kind`.
pub fn definition(kind: EntityKind) -> &'static EntityDef {
    DEFINITIONS.iter().find(|def| def.kind == kind).expect("every EntityKind has a definition")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_a_definition_whose_references_name_real_fields() {
        for kind in EntityKind::ALL {
            let def = definition(kind);
            for reference in def.references {
                assert!(def.schema.field(reference.field).is_some(), "{kind}.{}", reference.field);
            }
            for key in def.unique {
                for field in *key {
                    assert!(def.schema.field(field).is_some(), "{kind}.{field}");
                }
            }
            if let Some(key) = def.endpoint_key {
                assert!(def.schema.field(key).is_some(), "{kind}.{key}");
            }
        }
    }

    #[test]
    fn unique_values_are_stable_strings() {
        let plugin = serde_json::json!({"name": "cors", "route": null, "service": {"id": "x"}, "consumer": null});
        assert_eq!(
            EntityDef::unique_value(&plugin, &["name", "route", "service", "consumer"]).unwrap(),
            r#"["cors",null,{"id":"x"},null]"#
        );
        assert_eq!(EntityDef::unique_value(&serde_json::json!({"name": null}), &["name"]), None);
    }
}
