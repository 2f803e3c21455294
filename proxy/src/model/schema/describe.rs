//! The schema as Kong publishes it at `/schemas/...`: fields as an ordered array of single-key objects.

use serde_json::{Map, Value, json};

use super::{Check, EntityCheck, Field, Schema, Type};

impl Schema {
    /// `{"fields":[{"id":{...}}, ...], "entity_checks":[...]}`.
    pub fn describe(&self) -> Value {
        let mut schema = Map::new();
        schema.insert("fields".into(), describe_fields(&self.fields));
        let checks: Vec<Value> = self.entity_checks.iter().filter_map(describe_entity_check).collect();
        if !checks.is_empty() {
            schema.insert("entity_checks".into(), checks.into());
        }
        Value::Object(schema)
    }
}

pub(super) fn describe_fields(fields: &[Field]) -> Value {
    Value::Array(fields.iter().map(|f| json!({ f.name: describe_field(f) })).collect())
}

pub fn describe_field(field: &Field) -> Value {
    let mut out = Map::new();
    let ty = match &field.ty {
        Type::String => "string",
        Type::Integer => "integer",
        Type::Number => "number",
        Type::Boolean => "boolean",
        Type::Array(_) => "array",
        Type::Set(_) => "set",
        Type::Map { .. } => "map",
        Type::Record(_) => "record",
        Type::Foreign(_) => "foreign",
    };
    out.insert("type".into(), ty.into());
    match &field.ty {
        Type::Array(elements) | Type::Set(elements) => {
            out.insert("elements".into(), describe_field(elements));
        }
        Type::Map { keys, values } => {
            out.insert("keys".into(), describe_field(keys));
            out.insert("values".into(), describe_field(values));
        }
        Type::Record(fields) => {
            out.insert("fields".into(), describe_fields(fields));
        }
        Type::Foreign(kind) => {
            out.insert("reference".into(), kind.as_str().into());
        }
        _ => {}
    }
    if field.required {
        out.insert("required".into(), true.into());
    }
    if let Some(default) = &field.default {
        out.insert("default".into(), default.clone());
    }
    if field.auto {
        out.insert("auto".into(), true.into());
    }
    if field.unique {
        out.insert("unique".into(), true.into());
    }
    for check in &field.checks {
        match check {
            Check::OneOf(options) => {
                out.insert("one_of".into(), options.clone().into());
            }
            Check::Between(low, high) => {
                out.insert("between".into(), json!([low, high]));
            }
            Check::Gt(low) => {
                out.insert("gt".into(), json!(low));
            }
            Check::LenMin(n) => {
                out.insert("len_min".into(), json!(n));
            }
            Check::LenMax(n) => {
                out.insert("len_max".into(), json!(n));
            }
            Check::StartsWith(prefix) => {
                out.insert("starts_with".into(), json!(prefix));
            }
            Check::Uuid => {
                out.insert("uuid".into(), true.into());
            }
            Check::Custom(_) => {}
        }
    }
    Value::Object(out)
}

fn describe_entity_check(check: &EntityCheck) -> Option<Value> {
    match check {
        EntityCheck::AtLeastOneOf(names) => Some(json!({"at_least_one_of": names})),
        EntityCheck::OnlyOneOf(names) => Some(json!({"only_one_of": names})),
        EntityCheck::MutuallyRequired(names) => Some(json!({"mutually_required": names})),
        EntityCheck::Custom(_) => None,
    }
}
