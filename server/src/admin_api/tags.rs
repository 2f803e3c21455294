//! `GET /tags` and `GET /tags/{tag}`: every tagged entity, paginated like any list (`admin-api.md` §4.8).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::pagination::{PageQuery, decode_offset, encode_offset};
use super::{AdminError, json};
use crate::node::Node;
use crate::store::TagRow;

pub async fn all(
    State(node): State<Arc<Node>>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, AdminError> {
    page(&node, None, &query, "/tags").await
}

pub async fn one(
    State(node): State<Arc<Node>>,
    Path(tag): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, AdminError> {
    let path = format!("/tags/{}", super::pagination::escape(&tag));
    page(&node, Some(&tag), &query, &path).await
}

async fn page(
    node: &Node,
    tag: Option<&str>,
    query: &HashMap<String, String>,
    path: &str,
) -> Result<Response, AdminError> {
    let page = PageQuery::parse(query, false)?;
    let after = match &page.offset {
        None => None,
        Some(token) => match decode_offset(token)?.as_slice() {
            [Value::String(tag), Value::String(kind), Value::String(id)] => {
                Some(TagRow { tag: tag.clone(), kind: kind.clone(), id: id.clone() })
            }
            _ => {
                return Err(AdminError::Kong {
                    status: 400,
                    body: json!({"code": 7, "name": "invalid offset",
                                 "message": format!("'{token}' is not a valid offset: bad json encoding")}),
                });
            }
        },
    };
    let mut rows = node.store.tags(tag, after.as_ref(), page.size + 1).await?;
    let more = rows.len() > page.size as usize;
    rows.truncate(page.size as usize);
    let data: Vec<Value> =
        rows.iter().map(|r| json!({"entity_name": r.kind, "entity_id": r.id, "tag": r.tag})).collect();
    let mut body = json!({"data": data, "next": null});
    if let (true, Some(last)) = (more, rows.last()) {
        let token = encode_offset(&[json!(last.tag), json!(last.kind), json!(last.id)]);
        body["next"] = json!(page.next_link(path, &token));
        body["offset"] = json!(token);
    }
    Ok(json(StatusCode::OK, &body))
}
