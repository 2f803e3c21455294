//! Writes: insert, upsert and update with unique keys, tags and checked references; deletes that cascade or
//! are refused as the model's references say. Each is one transaction that bumps the configuration version.

use proxy::model::EntityKind;
use proxy::model::entities::{OnDelete, definition};
use serde_json::{Value, json};
use sqlx::Row;
use uuid::Uuid;

use super::audit::Change;
use super::{NewEntity, Result, Store, StoreError, StoredEntity, bump_version, on_unique, unix_now};
use crate::config::Database;

/// One change of a batch applied with [`Store::apply`].
#[derive(Debug, Clone)]
pub enum WriteOp {
    Insert(NewEntity),
    Upsert(NewEntity),
    /// Replace an existing entity; nothing when there is none.
    Update(NewEntity),
    Delete(EntityKind, Uuid),
}

/// What one operation did.
#[derive(Debug, Clone, PartialEq)]
pub enum Applied {
    Written(StoredEntity),
    Deleted,
    Nothing,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WriteMode {
    /// A new id; an existing one is a primary key violation.
    Insert,
    /// Create or fully replace (PUT).
    Upsert,
    /// Replace an existing entity only (PATCH).
    Update,
}

type Tx<'a> = sqlx::Transaction<'a, sqlx::Any>;

impl Store {
    /// Inserts a new entity.
    pub async fn insert(&self, entity: &NewEntity) -> Result<StoredEntity> {
        self.write(entity, WriteMode::Insert).await.map(|stored| stored.expect("an insert writes or fails"))
    }

    /// Creates the entity or replaces the one with its id, keeping the original `created_at`.
    pub async fn upsert(&self, entity: &NewEntity) -> Result<StoredEntity> {
        self.write(entity, WriteMode::Upsert).await.map(|stored| stored.expect("an upsert writes or fails"))
    }

    /// Replaces an existing entity; `None` when there is none.
    pub async fn update(&self, entity: &NewEntity) -> Result<Option<StoredEntity>> {
        self.write(entity, WriteMode::Update).await
    }

    async fn write(&self, entity: &NewEntity, mode: WriteMode) -> Result<Option<StoredEntity>> {
        let op = match mode {
            WriteMode::Insert => WriteOp::Insert(entity.clone()),
            WriteMode::Upsert => WriteOp::Upsert(entity.clone()),
            WriteMode::Update => WriteOp::Update(entity.clone()),
        };
        match self.apply(std::slice::from_ref(&op)).await?.pop() {
            Some(Applied::Written(stored)) => Ok(Some(stored)),
            _ => Ok(None),
        }
    }

    /// Applies every operation in one transaction with one version bump: all of them or none. Each change is
    /// recorded in the audit log in the same transaction.
    pub async fn apply(&self, ops: &[WriteOp]) -> Result<Vec<Applied>> {
        let _turn = self.write_turn().await;
        let mut tx = self.pool.begin().await?;
        let mut results = Vec::with_capacity(ops.len());
        let mut changes = Vec::new();
        for op in ops {
            let applied = match op {
                WriteOp::Insert(entity) => self.write_in(&mut tx, entity, WriteMode::Insert, &mut changes).await?,
                WriteOp::Upsert(entity) => self.write_in(&mut tx, entity, WriteMode::Upsert, &mut changes).await?,
                WriteOp::Update(entity) => self.write_in(&mut tx, entity, WriteMode::Update, &mut changes).await?,
                WriteOp::Delete(kind, id) => {
                    if self.delete_in(&mut tx, *kind, *id, &mut changes).await? {
                        Applied::Deleted
                    } else {
                        Applied::Nothing
                    }
                }
            };
            results.push(applied);
        }
        if results.iter().all(|r| matches!(r, Applied::Nothing)) {
            tx.rollback().await?;
            return Ok(results);
        }
        let version = bump_version(&mut tx).await?;
        self.record(&mut tx, version, changes).await?;
        tx.commit().await?;
        self.announce(version);
        Ok(results)
    }

    async fn write_in(
        &self,
        tx: &mut Tx<'_>,
        entity: &NewEntity,
        mode: WriteMode,
        changes: &mut Vec<Change>,
    ) -> Result<Applied> {
        let kind = entity.kind.as_str();
        let id = entity.id.to_string();
        let existing = sqlx::query(&format!(
            "SELECT created_at, doc FROM entities WHERE kind = $1 AND id = $2{}",
            self.lock(true)
        ))
        .bind(kind)
        .bind(&id)
        .fetch_optional(&mut **tx)
        .await?;
        match (mode, &existing) {
            (WriteMode::Insert, Some(_)) => return Err(StoreError::PrimaryKey { kind: entity.kind, id: entity.id }),
            (WriteMode::Update, None) => return Ok(Applied::Nothing),
            _ => {}
        }
        for reference in &entity.refs {
            let found = sqlx::query(&format!("SELECT 1 FROM entities WHERE kind = $1 AND id = $2{}", self.lock(false)))
                .bind(reference.kind.as_str())
                .bind(reference.id.to_string())
                .fetch_optional(&mut **tx)
                .await?;
            if found.is_none() {
                return Err(StoreError::ForeignKey {
                    field: reference.field.clone(),
                    kind: reference.kind,
                    id: reference.id,
                });
            }
        }

        let now = unix_now();
        let (created_at, previous_doc) = match &existing {
            Some(row) => (row.try_get::<i64, _>("created_at")?, Some(row.try_get::<String, _>("doc")?)),
            None => (now, None),
        };
        let mut doc = entity.doc.clone();
        stamp(&mut doc, entity.kind, created_at, now, previous_doc.as_deref());
        let text = self.stored_text(entity.kind, &doc);
        if existing.is_some() {
            sqlx::query("UPDATE entities SET updated_at = $3, doc = $4 WHERE kind = $1 AND id = $2")
                .bind(kind)
                .bind(&id)
                .bind(now)
                .bind(&text)
                .execute(&mut **tx)
                .await?;
            for table in ["entity_keys", "entity_tags", "entity_refs"] {
                sqlx::query(&format!("DELETE FROM {table} WHERE kind = $1 AND id = $2"))
                    .bind(kind)
                    .bind(&id)
                    .execute(&mut **tx)
                    .await?;
            }
        } else {
            sqlx::query("INSERT INTO entities (kind, id, created_at, updated_at, doc) VALUES ($1, $2, $3, $4, $5)")
                .bind(kind)
                .bind(&id)
                .bind(created_at)
                .bind(now)
                .bind(&text)
                .execute(&mut **tx)
                .await
                .map_err(|e| on_unique(e, || StoreError::PrimaryKey { kind: entity.kind, id: entity.id }))?;
        }
        insert_indexes(tx, entity).await?;
        changes.push(Change {
            action: if previous_doc.is_some() { "update" } else { "create" },
            kind: entity.kind,
            id: entity.id,
            before: previous_doc.as_deref().and_then(|text| serde_json::from_str(text).ok()),
            after: Some(doc.clone()),
        });
        Ok(Applied::Written(StoredEntity { kind: entity.kind, id: entity.id, created_at, updated_at: now, doc }))
    }

    /// Deletes an entity and what cascades from it; `false` when there was none (which changes nothing).
    /// Refused when an entity whose reference restricts deletes still points at it.
    pub async fn delete(&self, kind: EntityKind, id: Uuid) -> Result<bool> {
        let applied = self.apply(&[WriteOp::Delete(kind, id)]).await?;
        Ok(matches!(applied.first(), Some(Applied::Deleted)))
    }

    async fn delete_in(&self, tx: &mut Tx<'_>, kind: EntityKind, id: Uuid, changes: &mut Vec<Change>) -> Result<bool> {
        let found = sqlx::query(&format!("SELECT 1 FROM entities WHERE kind = $1 AND id = $2{}", self.lock(true)))
            .bind(kind.as_str())
            .bind(id.to_string())
            .fetch_optional(&mut **tx)
            .await?;
        if found.is_none() {
            return Ok(false);
        }
        let mut doomed = vec![(kind, id.to_string())];
        let mut next = 0;
        while next < doomed.len() {
            let (target_kind, target_id) = doomed[next].clone();
            next += 1;
            let rows = sqlx::query("SELECT kind, id, field FROM entity_refs WHERE ref_kind = $1 AND ref_id = $2")
                .bind(target_kind.as_str())
                .bind(&target_id)
                .fetch_all(&mut **tx)
                .await?;
            for row in rows {
                let referencing: String = row.try_get("kind")?;
                let field: String = row.try_get("field")?;
                let Some(referencing) = EntityKind::from_collection(&referencing) else { continue };
                let rule = definition(referencing).references.iter().find(|r| r.field == field).map(|r| r.on_delete);
                match rule {
                    Some(OnDelete::Cascade) => {
                        let dependent = (referencing, row.try_get::<String, _>("id")?);
                        if !doomed.contains(&dependent) {
                            doomed.push(dependent);
                        }
                    }
                    _ => return Err(StoreError::ReferencedBy { kind: target_kind, referencing }),
                }
            }
        }
        for (doomed_kind, doomed_id) in &doomed {
            let before = sqlx::query("SELECT doc FROM entities WHERE kind = $1 AND id = $2")
                .bind(doomed_kind.as_str())
                .bind(doomed_id)
                .fetch_optional(&mut **tx)
                .await?
                .and_then(|row| row.try_get::<String, _>("doc").ok())
                .and_then(|text| serde_json::from_str(&text).ok());
            changes.push(Change {
                action: "delete",
                kind: *doomed_kind,
                id: Uuid::parse_str(doomed_id).unwrap_or_default(),
                before,
                after: None,
            });
            for table in ["entity_keys", "entity_tags", "entity_refs", "entities"] {
                sqlx::query(&format!("DELETE FROM {table} WHERE kind = $1 AND id = $2"))
                    .bind(doomed_kind.as_str())
                    .bind(doomed_id)
                    .execute(&mut **tx)
                    .await?;
            }
        }
        Ok(true)
    }

    /// Row locks for PostgreSQL, where writers run concurrently; SQLite writers already take turns.
    fn lock(&self, exclusive: bool) -> &'static str {
        match (self.database(), exclusive) {
            (Database::Sqlite, _) => "",
            (Database::Postgres, true) => " FOR UPDATE",
            (Database::Postgres, false) => " FOR SHARE",
        }
    }
}

async fn insert_indexes(tx: &mut Tx<'_>, entity: &NewEntity) -> Result<()> {
    let kind = entity.kind.as_str();
    let id = entity.id.to_string();
    for (name, value) in &entity.unique_keys {
        sqlx::query("INSERT INTO entity_keys (kind, name, value, id) VALUES ($1, $2, $3, $4)")
            .bind(kind)
            .bind(name)
            .bind(value)
            .bind(&id)
            .execute(&mut **tx)
            .await
            .map_err(|e| {
                on_unique(e, || StoreError::Unique { kind: entity.kind, name: name.clone(), value: value.clone() })
            })?;
    }
    for tag in &entity.tags {
        sqlx::query("INSERT INTO entity_tags (tag, kind, id) VALUES ($1, $2, $3)")
            .bind(tag)
            .bind(kind)
            .bind(&id)
            .execute(&mut **tx)
            .await?;
    }
    for reference in &entity.refs {
        sqlx::query("INSERT INTO entity_refs (kind, id, field, ref_kind, ref_id) VALUES ($1, $2, $3, $4, $5)")
            .bind(kind)
            .bind(&id)
            .bind(&reference.field)
            .bind(reference.kind.as_str())
            .bind(reference.id.to_string())
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Sets the document's `created_at` (kept from the previous version on replace) and `updated_at` where the
/// kind has them. Targets carry `created_at` as float seconds with millisecond precision, as Kong's do.
fn stamp(doc: &mut Value, kind: EntityKind, created_at: i64, now: i64, previous: Option<&str>) {
    let Some(map) = doc.as_object_mut() else { return };
    if map.contains_key("created_at") {
        let kept = previous
            .and_then(|text| serde_json::from_str::<Value>(text).ok())
            .and_then(|doc| doc.get("created_at").cloned())
            .filter(|v| !v.is_null());
        let fresh = if kind == EntityKind::Targets {
            let millis = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() as f64)
                .unwrap_or(0.0);
            json!(millis / 1000.0)
        } else {
            json!(created_at)
        };
        map.insert("created_at".into(), kept.unwrap_or(fresh));
    }
    if map.contains_key("updated_at") {
        map.insert("updated_at".into(), json!(now));
    }
}
