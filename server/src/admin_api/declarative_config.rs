//! `GET /config` and `POST /config`: the whole configuration out and in, in Kong's declarative format.
//! (Kong offers these only without a database; Gatehouse serves them on its database too, so Kong and Gluu
//! Gateway users can move a configuration in and out over HTTP as well as with `gatehouse config`.)

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::body::RawBody;
use super::{AdminError, json};
use crate::declarative;
use crate::node::Node;

pub async fn get(State(node): State<Arc<Node>>) -> Result<Response, AdminError> {
    let file = declarative::export(&node.store).await?;
    Ok(json(StatusCode::OK, &json!({"config": declarative::to_yaml(&file)})))
}

pub async fn post(State(node): State<Arc<Node>>, headers: HeaderMap, bytes: Bytes) -> Result<Response, AdminError> {
    let file = match RawBody::read(&headers, bytes).await? {
        RawBody::Json(Value::Object(body)) if body.contains_key("_format_version") => body,
        RawBody::Json(Value::Object(body)) => declarative::parse(config_text(body.get("config"))?)?,
        RawBody::Form(pairs) => {
            let text = pairs.iter().find(|(k, _)| k == "config").map(|(_, v)| Value::String(v.clone()));
            declarative::parse(config_text(text.as_ref())?)?
        }
        RawBody::Json(_) => return Err(AdminError::BadRequest("expected a declarative configuration".into())),
    };
    let applied = declarative::import(&node, file).await?;
    let mut by_kind = Map::new();
    for entity in applied {
        let list = by_kind.entry(entity.kind.as_str()).or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(items) = list {
            items.push(entity.doc);
        }
    }
    Ok(json(StatusCode::CREATED, &Value::Object(by_kind)))
}

fn config_text(value: Option<&Value>) -> Result<&str, AdminError> {
    value.and_then(Value::as_str).ok_or_else(|| {
        AdminError::BadRequest("expected a declarative configuration in 'config' or a body with _format_version".into())
    })
}
