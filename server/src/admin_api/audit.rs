//! The audit log on the Admin API: who each change is recorded under ([`acting`]), and `GET /audit`, newest
//! first, paged as Kong pages (`size`, opaque `offset`, `next`), filtered by `entity_kind` and `entity_id`.
//!
//! The Admin API has no users (as in Kong): a change made through it is recorded under the caller's address.
//! The admin UI calls the Admin API in-process with its signed-in admin as the request's [`Actor`].

use std::collections::HashMap;

use axum::extract::{Query, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;
use proxy::listener::ConnInfo;
use serde_json::{Value, json};
use std::sync::Arc;

use super::pagination::{PageQuery, decode_offset, encode_offset, invalid_offset};
use super::{AdminError, json};
use crate::node::Node;
use crate::store::{Actor, AuditFilter, acting_as};

/// The header a caller explains a change with; kept in the audit entry.
pub const COMMENT_HEADER: &str = "x-gatehouse-comment";

/// Runs the request as its actor: the admin UI's admin, else the Admin API caller's address.
pub async fn acting(request: Request, next: Next) -> Response {
    let comment: String = request
        .headers()
        .get(COMMENT_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(|text| text.chars().take(500).collect())
        .unwrap_or_default();
    let mut actor = request.extensions().get::<Actor>().cloned().unwrap_or_else(|| Actor {
        name: request
            .extensions()
            .get::<ConnInfo>()
            .map_or_else(|| "unknown".into(), |conn| conn.remote.ip().to_string()),
        via: "admin-api".into(),
        comment: String::new(),
    });
    if actor.comment.is_empty() {
        actor.comment = comment;
    }
    acting_as(actor, next.run(request)).await
}

/// `GET /audit`.
pub async fn list(
    State(node): State<Arc<Node>>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, AdminError> {
    let page = PageQuery::parse(&query, false)?;
    let before = match &page.offset {
        None => None,
        Some(token) => match decode_offset(token)?.as_slice() {
            [Value::Number(version), Value::Number(position)] => match (version.as_i64(), position.as_i64()) {
                (Some(version), Some(position)) => Some((version, position)),
                _ => return Err(invalid_offset(token, "bad json encoding")),
            },
            _ => return Err(invalid_offset(token, "bad json encoding")),
        },
    };
    let filter = AuditFilter {
        entity_kind: query.get("entity_kind").cloned(),
        entity_id: query.get("entity_id").cloned(),
        before,
        limit: i64::from(page.size) + 1,
    };
    let mut entries = node.store.audit(&filter).await?;
    let more = entries.len() > page.size as usize;
    entries.truncate(page.size as usize);
    let (next, offset) = match entries.last() {
        Some(last) if more => {
            let token = encode_offset(&[json!(last.version), json!(last.position)]);
            let mut link = page.next_link("/audit", &token);
            for key in ["entity_kind", "entity_id"] {
                if let Some(value) = query.get(key) {
                    link.push_str(&format!("&{key}={}", super::pagination::escape(value)));
                }
            }
            (json!(link), json!(token))
        }
        _ => (Value::Null, Value::Null),
    };
    let mut body = json!({ "data": entries, "next": next });
    if !offset.is_null() {
        body["offset"] = offset;
    }
    Ok(json(StatusCode::OK, &body))
}
