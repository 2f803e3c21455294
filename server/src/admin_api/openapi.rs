//! `GET /openapi.json`: an OpenAPI 3.0 description of the Admin API, generated from the endpoint catalogue
//! and the entity schemas, the same sources the router and the validation use.

use proxy::model::EntityKind;
use proxy::model::entities::definition;
use proxy::model::schema::{Check, Field, Type};
use serde_json::{Map, Value, json};

use super::catalogue::{Shape, catalogue};

pub fn document() -> Value {
    let mut schemas = Map::new();
    for kind in EntityKind::ALL {
        schemas.insert(schema_name(kind), record(&definition(kind).schema.fields, false));
        schemas.insert(format!("{}Input", schema_name(kind)), record(&definition(kind).schema.fields, true));
    }
    schemas.insert(
        "Error".into(),
        json!({"type": "object", "properties": {
            "message": {"type": "string"}, "code": {"type": "integer"}, "name": {"type": "string"},
            "fields": {"type": "object", "additionalProperties": true}}, "required": ["message"]}),
    );
    schemas.insert("Any".into(), json!({"type": "object", "additionalProperties": true}));

    let mut paths = Map::new();
    for endpoint in catalogue() {
        let parameters: Vec<Value> = endpoint
            .template
            .split('/')
            .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
            .map(|name| {
                json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"},
                              "description": "a UUID or the entity's endpoint key"})
            })
            .collect();
        let mut item = Map::new();
        for method in endpoint.shape.methods() {
            item.insert(method.to_ascii_lowercase(), operation(endpoint.shape, method, &endpoint.template));
        }
        if !parameters.is_empty() {
            item.insert("parameters".into(), parameters.into());
        }
        paths.insert(endpoint.template.clone(), Value::Object(item));
    }
    json!({
        "openapi": "3.0.3",
        "info": {"title": "Gatehouse Admin API", "version": proxy::VERSION,
                 "description": "Kong 2.2-compatible Admin API of Gatehouse."},
        "paths": paths,
        "components": {"schemas": schemas},
    })
}

fn schema_name(kind: EntityKind) -> String {
    kind.as_str()
        .split('_')
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map(|c| c.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
        })
        .collect()
}

fn reference(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn content(schema: Value) -> Value {
    json!({"application/json": {"schema": schema}})
}

fn operation(shape: Shape, method: &str, template: &str) -> Value {
    let entity = |kind: EntityKind| reference(&schema_name(kind));
    let input = |kind: EntityKind| reference(&format!("{}Input", schema_name(kind)));
    let page = |kind: EntityKind| {
        json!({"type": "object", "properties": {
            "data": {"type": "array", "items": entity(kind)},
            "next": {"type": "string", "nullable": true}, "offset": {"type": "string"}}})
    };
    let error = json!({"description": "error", "content": content(reference("Error"))});
    let (summary, body, ok_status, ok_schema, list_params) = match (shape, method) {
        (Shape::Collection(kind) | Shape::Nested { child: kind, .. }, "GET") => {
            (format!("List {kind}"), None, "200", Some(page(kind)), true)
        }
        (Shape::Collection(kind) | Shape::Nested { child: kind, .. }, _) => {
            (format!("Create one of {kind}"), Some(input(kind)), "201", Some(entity(kind)), false)
        }
        (Shape::Entity(kind) | Shape::NestedEntity { child: kind, .. } | Shape::Referenced { target: kind, .. }, m) => {
            match m {
                "GET" => (format!("Read one of {kind}"), None, "200", Some(entity(kind)), false),
                "PUT" => {
                    (format!("Create or replace one of {kind}"), Some(input(kind)), "200", Some(entity(kind)), false)
                }
                "PATCH" => (format!("Update one of {kind}"), Some(reference("Any")), "200", Some(entity(kind)), false),
                _ => (format!("Delete one of {kind}"), None, "204", None, false),
            }
        }
        (Shape::Command, m) => (format!("{m} {template}"), None, "204", None, false),
        (Shape::Fixed(_), m) => {
            (format!("{m} {template}"), (m == "POST").then(|| reference("Any")), "200", Some(reference("Any")), false)
        }
    };
    let mut op = Map::new();
    op.insert("summary".into(), summary.into());
    let mut responses = Map::new();
    responses.insert(
        ok_status.into(),
        match ok_schema {
            Some(schema) => json!({"description": "success", "content": content(schema)}),
            None => json!({"description": "success"}),
        },
    );
    responses.insert("400".into(), error.clone());
    responses.insert("404".into(), error.clone());
    if method != "GET" && method != "DELETE" {
        responses.insert("409".into(), error.clone());
        responses.insert("415".into(), json!({"description": "unsupported media type"}));
    }
    op.insert("responses".into(), Value::Object(responses));
    if let Some(schema) = body {
        op.insert(
            "requestBody".into(),
            json!({"required": false, "content": {
            "application/json": {"schema": schema},
            "application/x-www-form-urlencoded": {"schema": reference("Any")},
            "multipart/form-data": {"schema": reference("Any")}}}),
        );
    }
    if list_params {
        op.insert("parameters".into(), json!([
            {"name": "size", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}},
            {"name": "offset", "in": "query", "schema": {"type": "string"}},
            {"name": "tags", "in": "query", "schema": {"type": "string"}, "description": "a,b = all of; a/b = any of"},
        ]));
    }
    Value::Object(op)
}

/// A record's JSON schema; `input` marks required fields (auto fields never), output lists every field.
fn record(fields: &[Field], input: bool) -> Value {
    if fields.is_empty() {
        // Plugin configs: their shape depends on the plugin (see /schemas/plugins/{name}).
        return json!({"type": "object", "additionalProperties": true});
    }
    let mut properties = Map::new();
    let mut required = Vec::new();
    for field in fields {
        properties.insert(field.name.into(), field_schema(field, input));
        if input && field.required && !field.auto && field.default.is_none() {
            required.push(json!(field.name));
        }
    }
    let mut schema = json!({"type": "object", "properties": properties});
    if !input {
        schema["required"] = fields.iter().map(|f| json!(f.name)).collect::<Vec<_>>().into();
    }
    if !required.is_empty() {
        schema["required"] = required.into();
    }
    schema
}

fn field_schema(field: &Field, input: bool) -> Value {
    let mut schema = match &field.ty {
        Type::String => json!({"type": "string"}),
        Type::Integer => json!({"type": "integer"}),
        Type::Number => json!({"type": "number"}),
        Type::Boolean => json!({"type": "boolean"}),
        Type::Array(elements) => json!({"type": "array", "items": field_schema(elements, input)}),
        Type::Set(elements) => json!({"type": "array", "uniqueItems": true, "items": field_schema(elements, input)}),
        Type::Map { values, .. } => json!({"type": "object", "additionalProperties": field_schema(values, input)}),
        Type::Record(fields) => record(fields, input),
        Type::Foreign(_) => json!({"type": "object", "properties": {"id": {"type": "string", "format": "uuid"}}}),
    };
    for check in &field.checks {
        match check {
            Check::OneOf(options) => schema["enum"] = options.clone().into(),
            Check::Between(low, high) => {
                schema["minimum"] = json!(low);
                schema["maximum"] = json!(high);
            }
            Check::Gt(low) => {
                schema["minimum"] = json!(low);
                schema["exclusiveMinimum"] = json!(true);
            }
            Check::LenMin(n) => schema[if field.elements().is_some() { "minItems" } else { "minLength" }] = json!(n),
            Check::LenMax(n) => schema[if field.elements().is_some() { "maxItems" } else { "maxLength" }] = json!(n),
            Check::Uuid => schema["format"] = json!("uuid"),
            Check::StartsWith(_) | Check::Custom(_) => {}
        }
    }
    if let Some(default) = &field.default {
        schema["default"] = default.clone();
    }
    if !field.required || field.auto {
        schema["nullable"] = json!(true);
    }
    schema
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refs(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(target)) = map.get("$ref") {
                    out.push(target.clone());
                }
                map.values().for_each(|v| refs(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }

    #[test]
    fn every_catalogued_endpoint_is_described_and_every_reference_resolves() {
        let doc = document();
        assert_eq!(doc["openapi"], "3.0.3");
        for endpoint in catalogue() {
            let item = &doc["paths"][&endpoint.template];
            for method in endpoint.shape.methods() {
                assert!(item[method.to_ascii_lowercase()].is_object(), "{method} {}", endpoint.template);
            }
        }
        let mut found = Vec::new();
        refs(&doc, &mut found);
        assert!(!found.is_empty());
        for target in found {
            let name = target.trim_start_matches("#/components/schemas/");
            assert!(doc["components"]["schemas"][name].is_object(), "{target}");
        }
        let service = &doc["components"]["schemas"]["Services"]["properties"];
        assert_eq!(service["protocol"]["enum"].as_array().unwrap().len(), 7);
        assert_eq!(service["port"]["maximum"], 65535);
        assert_eq!(doc["components"]["schemas"]["ServicesInput"]["required"], json!(["host"]));
    }
}
