//! The generic URL shapes of entities and their methods: `/{c}`, `/{c}/{k}`, `/{c}/{k}/{sub}`,
//! `/{c}/{k}/{sub}/{k2}`. Each resolves the collection names, then hands over to [`Entities`].

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use proxy::model::EntityKind;
use proxy::model::entities::definition;

use super::body::RawBody;
use super::entities::{Entities, Parent, nested, top_level};
use super::{AdminError, health, json, preflight};
use crate::node::Node;

pub async fn collection(
    State(node): State<Arc<Node>>,
    method: Method,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
    Path(collection): Path<String>,
    bytes: Bytes,
) -> Result<Response, AdminError> {
    let kind = top_level(&collection).ok_or(AdminError::NotFound)?;
    let entities = Entities { node };
    match method {
        Method::GET | Method::HEAD => entities.list(kind, None, &query, &format!("/{collection}")).await,
        Method::POST => entities.create(kind, None, RawBody::read(&headers, bytes).await?).await,
        Method::OPTIONS => Ok(preflight("GET, HEAD, OPTIONS, POST")),
        _ => Err(AdminError::MethodNotAllowed),
    }
}

pub async fn entity(
    State(node): State<Arc<Node>>,
    method: Method,
    headers: HeaderMap,
    Path((collection, key)): Path<(String, String)>,
    bytes: Bytes,
) -> Result<Response, AdminError> {
    let kind = top_level(&collection).ok_or(AdminError::NotFound)?;
    one(Entities { node }, kind, None, &key, method, &headers, bytes).await
}

pub async fn sub(
    State(node): State<Arc<Node>>,
    method: Method,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
    Path((collection, key, sub)): Path<(String, String, String)>,
    bytes: Bytes,
) -> Result<Response, AdminError> {
    let kind = top_level(&collection).ok_or(AdminError::NotFound)?;
    let entities = Entities { node };
    if kind == EntityKind::Upstreams && sub == "health" {
        return match method {
            Method::GET | Method::HEAD => health::get(&entities, &key, &query).await,
            Method::OPTIONS => Ok(preflight("GET, HEAD, OPTIONS")),
            _ => Err(AdminError::MethodNotAllowed),
        };
    }
    if let Some((child, field)) = nested(kind, &sub) {
        let parent = entities.resolve(kind, None, &key).await?.ok_or(AdminError::NotFound)?;
        let parent = Parent { id: parent.id, field };
        let path = format!("/{collection}/{key}/{sub}");
        return match method {
            Method::GET | Method::HEAD => entities.list(child, Some(parent), &query, &path).await,
            Method::POST => entities.create(child, Some(parent), RawBody::read(&headers, bytes).await?).await,
            Method::OPTIONS => Ok(preflight("GET, HEAD, OPTIONS, POST")),
            _ => Err(AdminError::MethodNotAllowed),
        };
    }
    // `/{c}/{k}/{field}`: the entity a reference points at; SNIs do not expose their certificate this way.
    let reference = definition(kind).references.iter().find(|r| r.field == sub).ok_or(AdminError::NotFound)?;
    if kind == EntityKind::Snis {
        return Err(AdminError::NotFound);
    }
    match method {
        Method::GET | Method::HEAD => {
            let found = entities.referenced(kind, &key, &sub).await?.ok_or(AdminError::NotFound)?;
            Ok(json(StatusCode::OK, &entities.render(&found).await?))
        }
        Method::PATCH | Method::PUT => {
            let found = entities.referenced(kind, &key, &sub).await?.ok_or(AdminError::NotFound)?;
            let id = found.id.to_string();
            let body = RawBody::read(&headers, bytes).await?;
            if method == Method::PATCH {
                entities.patch(reference.kind, None, &id, body).await
            } else {
                entities.put(reference.kind, None, &id, body).await
            }
        }
        Method::OPTIONS => Ok(preflight("GET, HEAD, OPTIONS, PATCH, PUT")),
        _ => Err(AdminError::MethodNotAllowed),
    }
}

pub async fn nested_entity(
    State(node): State<Arc<Node>>,
    method: Method,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
    Path((collection, key, sub, child_key)): Path<(String, String, String, String)>,
    bytes: Bytes,
) -> Result<Response, AdminError> {
    let kind = top_level(&collection).ok_or(AdminError::NotFound)?;
    let (child, field) = nested(kind, &sub).ok_or(AdminError::NotFound)?;
    let entities = Entities { node };
    let parent = entities.resolve(kind, None, &key).await?.ok_or(AdminError::NotFound)?;
    let parent = Parent { id: parent.id, field };
    // `/upstreams/{u}/targets/all`: the targets again, kept from Kong 2.x for its clients.
    if child == EntityKind::Targets && child_key == "all" {
        let path = format!("/{collection}/{key}/{sub}/all");
        return match method {
            Method::GET | Method::HEAD => entities.list(child, Some(parent), &query, &path).await,
            Method::OPTIONS => Ok(preflight("GET, HEAD, OPTIONS")),
            _ => Err(AdminError::MethodNotAllowed),
        };
    }
    one(entities, child, Some(parent), &child_key, method, &headers, bytes).await
}

/// `/upstreams/{u}/targets/{t}/healthy|unhealthy`.
pub async fn target_health(
    State(node): State<Arc<Node>>,
    method: Method,
    Path((collection, key, sub, target, action)): Path<(String, String, String, String, String)>,
) -> Result<Response, AdminError> {
    set_health(node, method, [&collection, &sub, &action], &key, &target, None).await
}

/// `/upstreams/{u}/targets/{t}/{address}/healthy|unhealthy`.
pub async fn address_health(
    State(node): State<Arc<Node>>,
    method: Method,
    Path((collection, key, sub, target, address, action)): Path<(String, String, String, String, String, String)>,
) -> Result<Response, AdminError> {
    set_health(node, method, [&collection, &sub, &action], &key, &target, Some(&address)).await
}

async fn set_health(
    node: Arc<Node>,
    method: Method,
    [collection, sub, action]: [&str; 3],
    key: &str,
    target: &str,
    address: Option<&str>,
) -> Result<Response, AdminError> {
    let healthy = match (collection, sub, action) {
        ("upstreams", "targets", "healthy") => true,
        ("upstreams", "targets", "unhealthy") => false,
        _ => return Err(AdminError::NotFound),
    };
    match method {
        Method::POST => health::set(&Entities { node }, key, target, address, healthy).await,
        Method::OPTIONS => Ok(preflight("OPTIONS, POST")),
        _ => Err(AdminError::MethodNotAllowed),
    }
}

async fn one(
    entities: Entities,
    kind: EntityKind,
    parent: Option<Parent>,
    key: &str,
    method: Method,
    headers: &HeaderMap,
    bytes: Bytes,
) -> Result<Response, AdminError> {
    match method {
        Method::GET | Method::HEAD => entities.get(kind, parent, key).await,
        Method::PUT => entities.put(kind, parent, key, RawBody::read(headers, bytes).await?).await,
        Method::PATCH => entities.patch(kind, parent, key, RawBody::read(headers, bytes).await?).await,
        Method::DELETE => entities.delete(kind, parent, key).await,
        Method::OPTIONS => Ok(preflight("DELETE, GET, HEAD, OPTIONS, PATCH, PUT")),
        _ => Err(AdminError::MethodNotAllowed),
    }
}
