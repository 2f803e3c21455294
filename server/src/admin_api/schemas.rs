//! Schema endpoints (`admin-api.md` §4.4, §4.5): entity and plugin schemas as Kong publishes them, validation
//! without storing, and the list of plugins this build ships.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use proxy::model::EntityKind;
use proxy::model::entities::{definition, plugin};
use proxy::model::plugins;
use proxy::model::schema::Type;
use serde_json::{Value, json};

use super::body::RawBody;
use super::entities::Entities;
use super::{AdminError, json};
use crate::node::Node;

pub async fn entity_schema(Path(entity): Path<String>) -> Result<Response, AdminError> {
    let kind = EntityKind::from_collection(&entity)
        .ok_or_else(|| AdminError::NotFoundMessage(format!("No entity named '{entity}'")))?;
    Ok(json(StatusCode::OK, &definition(kind).schema.describe()))
}

pub async fn plugin_schema(Path(name): Path<String>) -> Result<Response, AdminError> {
    let schema = plugin::schema_for(&name).map_err(|_| no_plugin(&name))?;
    Ok(json(StatusCode::OK, &schema.describe()))
}

/// The deprecated form Konga and the GG UI read: only the `config` record.
pub async fn plugin_config_schema(Path(name): Path<String>) -> Result<Response, AdminError> {
    let schema = plugin::schema_for(&name).map_err(|_| no_plugin(&name))?;
    let config = schema.field("config").expect("every plugin schema has config");
    let described = match &config.ty {
        Type::Record(_) => proxy::model::schema::describe_field(config),
        _ => json!({}),
    };
    Ok(json(StatusCode::OK, &json!({"fields": described["fields"].clone()})))
}

pub async fn enabled_plugins() -> Response {
    let names: Vec<&str> = plugins::all().iter().map(|def| def.name).collect();
    json(StatusCode::OK, &json!({"enabled_plugins": names}))
}

pub async fn validate(
    State(node): State<Arc<Node>>,
    headers: HeaderMap,
    Path(entity): Path<String>,
    bytes: Bytes,
) -> Result<Response, AdminError> {
    let kind = EntityKind::from_collection(&entity)
        .ok_or_else(|| AdminError::NotFoundMessage(format!("No entity named '{entity}'")))?;
    let body = RawBody::read(&headers, bytes).await?;
    let input = match body {
        RawBody::Json(Value::Object(map)) => map,
        RawBody::Json(_) => return Err(proxy::model::schema::SchemaViolation::entity("expected a record").into()),
        RawBody::Form(pairs) => {
            let tree = super::form::tree(&pairs);
            let fields = match (kind, tree.get("name").and_then(Value::as_str)) {
                (EntityKind::Plugins, Some(name)) => plugin::schema_for(name).map(|s| s.fields).unwrap_or_default(),
                _ => definition(kind).schema.fields.clone(),
            };
            super::form::type_record(&fields, tree)
        }
    };
    Entities { node }.prepare(kind, input, None).await?;
    Ok(json(StatusCode::OK, &json!({"message": "schema validation successful"})))
}

fn no_plugin(name: &str) -> AdminError {
    AdminError::NotFoundMessage(format!("No plugin named '{name}'"))
}
