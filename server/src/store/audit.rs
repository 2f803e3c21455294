//! The audit log: every configuration change written through [`Store::apply`] (the Admin API, the admin UI,
//! a declarative import) is recorded in the change's own transaction, so a change and its record commit or
//! fail together. Who acted comes from the [`Actor`] the caller runs under ([`acting_as`]); documents are
//! recorded with their secrets masked.

use std::future::Future;

use proxy::model::EntityKind;
use serde::Serialize;
use serde_json::Value;
use sqlx::Row;
use uuid::Uuid;

use super::{Result, Store};

/// Who makes a change, and through what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// An admin's username, or the Admin API client's address (the Admin API has no users, as in Kong).
    pub name: String,
    /// `admin-api`, `admin-gui`, or `system` for changes the node makes itself.
    pub via: String,
    /// What the caller said about the change (`X-Gatehouse-Comment` on the Admin API), possibly empty.
    pub comment: String,
}

impl Actor {
    pub fn system() -> Actor {
        Actor { name: "gatehouse".into(), via: "system".into(), comment: String::new() }
    }
}

tokio::task_local! {
    static ACTOR: Actor;
}

/// Runs `work` with `actor` as the author of every change it makes through the store.
pub async fn acting_as<F: Future>(actor: Actor, work: F) -> F::Output {
    ACTOR.scope(actor, work).await
}

pub(crate) fn current_actor() -> Actor {
    ACTOR.try_with(Clone::clone).unwrap_or_else(|_| Actor::system())
}

/// The mask that replaces a secret's value in a recorded document.
pub const MASKED: &str = "******";

/// One change of an applied batch, before it is recorded.
#[derive(Debug)]
pub(crate) struct Change {
    pub action: &'static str,
    pub kind: EntityKind,
    pub id: Uuid,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

/// A recorded change, as `GET /audit` lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    pub id: String,
    /// Unix seconds.
    pub at: i64,
    pub actor: String,
    pub via: String,
    /// `create`, `update` or `delete`.
    pub action: String,
    pub entity_kind: String,
    pub entity_id: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub comment: String,
    /// The configuration version the change produced.
    pub version: i64,
    #[serde(skip)]
    pub position: i64,
}

/// Which entries a listing wants: newest first, optionally about one entity kind or entity, after a cursor.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub entity_kind: Option<String>,
    pub entity_id: Option<String>,
    /// Only entries older than this (version, position): the cursor of the previous page.
    pub before: Option<(i64, i64)>,
    pub limit: i64,
}

/// `doc` with every secret value replaced by [`MASKED`]: a certificate's private key, any field named like a
/// password or a secret, and plugin secret fields (still sealed in a stored document).
pub fn masked(kind: EntityKind, mut doc: Value) -> Value {
    fn mask(collection: &str, value: &mut Value) {
        match value {
            Value::Object(map) => {
                for (key, inner) in map.iter_mut() {
                    if proxy::model::secrets::is_secret(collection, key) && !inner.is_null() {
                        *inner = Value::String(MASKED.into());
                    } else {
                        mask(collection, inner);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|inner| mask(collection, inner)),
            _ => {}
        }
    }
    mask(kind.as_str(), &mut doc);
    for field in super::secret_fields(kind, &doc) {
        if let Some(value) = doc["config"].get_mut(*field).filter(|v| !v.is_null()) {
            *value = Value::String(MASKED.into());
        }
    }
    doc
}

impl Store {
    /// Records `changes` (in order) as the changes that produced `version`, inside the batch's transaction.
    pub(crate) async fn record(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        version: i64,
        changes: Vec<Change>,
    ) -> Result<()> {
        let actor = current_actor();
        let now = super::unix_now();
        for (position, change) in changes.into_iter().enumerate() {
            let text = |doc: Option<Value>| doc.map(|doc| masked(change.kind, doc).to_string());
            sqlx::query(
                "INSERT INTO audit_log (id, version, position, at, actor, via, action, entity_kind, entity_id, \
                 before_doc, after_doc, comment) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            )
            .bind(Uuid::new_v4().to_string())
            .bind(version)
            .bind(position as i64)
            .bind(now)
            .bind(&actor.name)
            .bind(&actor.via)
            .bind(change.action)
            .bind(change.kind.as_str())
            .bind(change.id.to_string())
            .bind(text(change.before))
            .bind(text(change.after))
            .bind(&actor.comment)
            .execute(&mut **tx)
            .await?;
        }
        Ok(())
    }

    /// Recorded changes, newest first.
    pub async fn audit(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>> {
        let mut sql = String::from(
            "SELECT id, version, position, at, actor, via, action, entity_kind, entity_id, before_doc, after_doc, \
             comment FROM audit_log WHERE 1 = 1",
        );
        let mut next = 1;
        let mut placeholder = || {
            let p = format!("${next}");
            next += 1;
            p
        };
        if filter.entity_kind.is_some() {
            sql += &format!(" AND entity_kind = {}", placeholder());
        }
        if filter.entity_id.is_some() {
            sql += &format!(" AND entity_id = {}", placeholder());
        }
        if filter.before.is_some() {
            let (v1, v2, p) = (placeholder(), placeholder(), placeholder());
            sql += &format!(" AND (version < {v1} OR (version = {v2} AND position < {p}))");
        }
        sql += &format!(" ORDER BY version DESC, position DESC LIMIT {}", placeholder());
        let mut query = sqlx::query(&sql);
        if let Some(kind) = &filter.entity_kind {
            query = query.bind(kind);
        }
        if let Some(id) = &filter.entity_id {
            query = query.bind(id);
        }
        if let Some((version, position)) = filter.before {
            query = query.bind(version).bind(version).bind(position);
        }
        let rows = query.bind(filter.limit.max(1)).fetch_all(&self.pool).await?;
        rows.iter().map(entry_from_row).collect()
    }
}

fn entry_from_row(row: &sqlx::any::AnyRow) -> Result<AuditEntry> {
    let doc = |column: &str| -> Result<Option<Value>> {
        let text: Option<String> = row.try_get(column)?;
        Ok(text.map(|text| serde_json::from_str(&text).unwrap_or(Value::String(text))))
    };
    Ok(AuditEntry {
        id: row.try_get("id")?,
        version: row.try_get("version")?,
        position: row.try_get("position")?,
        at: row.try_get("at")?,
        actor: row.try_get("actor")?,
        via: row.try_get("via")?,
        action: row.try_get("action")?,
        entity_kind: row.try_get("entity_kind")?,
        entity_id: row.try_get("entity_id")?,
        before: doc("before_doc")?,
        after: doc("after_doc")?,
        comment: row.try_get("comment")?,
    })
}
