//! Reads: entities by id or unique key, filtered keyset pages, counts, tags.

use proxy::model::EntityKind;
use sqlx::Row;
use uuid::Uuid;

use super::{Result, Store, StoredEntity};

/// Which entities of a kind a page holds.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// Only entities whose reference `field` points at this id (nested collections: a service's routes).
    pub parent: Option<(String, Uuid)>,
    pub tags: Option<TagFilter>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagFilter {
    /// `?tags=a,b`: entities with every tag.
    All(Vec<String>),
    /// `?tags=a/b`: entities with any of the tags.
    Any(Vec<String>),
}

/// One row of `GET /tags`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagRow {
    pub tag: String,
    pub kind: String,
    pub id: String,
}

const COLUMNS: &str = "e.id, e.created_at, e.updated_at, e.doc";

impl Store {
    pub async fn get(&self, kind: EntityKind, id: Uuid) -> Result<Option<StoredEntity>> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM entities e WHERE e.kind = $1 AND e.id = $2"))
            .bind(kind.as_str())
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| self.entity_from_row(kind, &row)).transpose()
    }

    /// The entity of `kind` whose unique key `name` is `value` (a service by name, a consumer by username...).
    pub async fn get_by_key(&self, kind: EntityKind, name: &str, value: &str) -> Result<Option<StoredEntity>> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM entity_keys k JOIN entities e ON e.kind = k.kind AND e.id = k.id \
             WHERE k.kind = $1 AND k.name = $2 AND k.value = $3"
        ))
        .bind(kind.as_str())
        .bind(name)
        .bind(value)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| self.entity_from_row(kind, &row)).transpose()
    }

    /// Up to `size` entities of `kind` matching `filter` with ids after `after`, in id order.
    pub async fn page(
        &self,
        kind: EntityKind,
        filter: &ListFilter,
        after: Option<Uuid>,
        size: u32,
    ) -> Result<Vec<StoredEntity>> {
        let mut sql = format!("SELECT {COLUMNS} FROM entities e WHERE e.kind = $1 AND e.id > $2");
        let mut binds: Vec<String> = vec![kind.as_str().into(), after.map(|id| id.to_string()).unwrap_or_default()];
        let param = |sql: &mut String, value: String, binds: &mut Vec<String>| {
            binds.push(value);
            sql.push_str(&format!("${}", binds.len()));
        };
        if let Some((field, parent)) = &filter.parent {
            sql.push_str(" AND e.id IN (SELECT r.id FROM entity_refs r WHERE r.kind = e.kind AND r.field = ");
            param(&mut sql, field.clone(), &mut binds);
            sql.push_str(" AND r.ref_id = ");
            param(&mut sql, parent.to_string(), &mut binds);
            sql.push(')');
        }
        match &filter.tags {
            Some(TagFilter::All(tags)) => {
                for tag in tags {
                    sql.push_str(" AND e.id IN (SELECT t.id FROM entity_tags t WHERE t.kind = e.kind AND t.tag = ");
                    param(&mut sql, tag.clone(), &mut binds);
                    sql.push(')');
                }
            }
            Some(TagFilter::Any(tags)) => {
                sql.push_str(" AND e.id IN (SELECT t.id FROM entity_tags t WHERE t.kind = e.kind AND t.tag IN (");
                for (n, tag) in tags.iter().enumerate() {
                    if n > 0 {
                        sql.push_str(", ");
                    }
                    param(&mut sql, tag.clone(), &mut binds);
                }
                sql.push_str("))");
            }
            None => {}
        }
        sql.push_str(&format!(" ORDER BY e.id LIMIT {size}"));
        let mut query = sqlx::query(&sql);
        for bind in &binds {
            query = query.bind(bind);
        }
        let rows = query.fetch_all(&self.pool).await?;
        rows.iter().map(|row| self.entity_from_row(kind, row)).collect()
    }

    /// Every entity of `kind` (for exports and snapshots).
    pub async fn all(&self, kind: EntityKind) -> Result<Vec<StoredEntity>> {
        let mut all = Vec::new();
        let mut after = None;
        loop {
            let page = self.page(kind, &ListFilter::default(), after, 1000).await?;
            let full = page.len() == 1000;
            after = page.last().map(|e| e.id);
            all.extend(page);
            if !full {
                return Ok(all);
            }
        }
    }

    /// How many entities of each kind there are, for every kind (zero included).
    pub async fn counts(&self) -> Result<Vec<(EntityKind, i64)>> {
        let rows = sqlx::query("SELECT kind, COUNT(*) AS n FROM entities GROUP BY kind").fetch_all(&self.pool).await?;
        let mut counts: Vec<(EntityKind, i64)> = EntityKind::ALL.iter().map(|kind| (*kind, 0)).collect();
        for row in rows {
            let kind: String = row.try_get("kind")?;
            if let Some(slot) = counts.iter_mut().find(|(k, _)| k.as_str() == kind) {
                slot.1 = row.try_get("n")?;
            }
        }
        Ok(counts)
    }

    /// The distinct names of configured plugins (`GET /` → `plugins.enabled_in_cluster`).
    pub async fn plugin_names(&self) -> Result<Vec<String>> {
        let plugins = self.all(EntityKind::Plugins).await?;
        let mut names: Vec<String> =
            plugins.iter().filter_map(|p| p.doc.get("name")?.as_str().map(str::to_string)).collect();
        names.sort();
        names.dedup();
        Ok(names)
    }

    /// A page of `(tag, kind, id)` rows ordered by tag, kind and id, after `after`; only `tag` if given.
    pub async fn tags(&self, tag: Option<&str>, after: Option<&TagRow>, size: u32) -> Result<Vec<TagRow>> {
        let (after_tag, after_kind, after_id) =
            after.map(|a| (a.tag.clone(), a.kind.clone(), a.id.clone())).unwrap_or_default();
        let mut sql = String::from(
            "SELECT tag, kind, id FROM entity_tags WHERE (tag > $1 OR (tag = $1 AND (kind > $2 OR (kind = $2 AND id > $3))))",
        );
        if tag.is_some() {
            sql.push_str(" AND tag = $4");
        }
        sql.push_str(&format!(" ORDER BY tag, kind, id LIMIT {size}"));
        let mut query = sqlx::query(&sql).bind(after_tag).bind(after_kind).bind(after_id);
        if let Some(tag) = tag {
            query = query.bind(tag.to_string());
        }
        let rows = query.fetch_all(&self.pool).await?;
        rows.iter()
            .map(|row| Ok(TagRow { tag: row.try_get("tag")?, kind: row.try_get("kind")?, id: row.try_get("id")? }))
            .collect()
    }
}
