//! The generated endpoints of every entity (`admin-api.md` §4.1, §6): collections, entities by id or endpoint
//! key, nested collections under a parent, and the entity a reference field points at. Everything is driven
//! by the model's entity definitions; the few per-kind rules (url shorthand, upstream hashing shorthands,
//! target ports, POST of an existing target) are named where they apply.

use std::collections::HashMap;
use std::sync::Arc;

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use proxy::model::EntityKind;
use proxy::model::entities::{EntityDef, definition, plugin, service, target, upstream};
use proxy::model::schema::{Field, SchemaViolation, Type};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::body::RawBody;
use super::pagination::{PageQuery, encode_offset};
use super::{AdminError, certificates, combinations, form, json};
use crate::node::Node;
use crate::store::{Applied, EntityRef, ListFilter, NewEntity, StoreError, StoredEntity, WriteOp};

/// Collections reachable at the top level (targets only live under their upstream).
pub fn top_level(collection: &str) -> Option<EntityKind> {
    EntityKind::from_collection(collection).filter(|kind| *kind != EntityKind::Targets)
}

/// `/{parent}/{key}/{collection}`: the child kind and the child's field that points at the parent.
pub fn nested(parent: EntityKind, collection: &str) -> Option<(EntityKind, &'static str)> {
    use EntityKind::*;
    match (parent, collection) {
        (Services, "routes") => Some((Routes, "service")),
        (Services, "plugins") => Some((Plugins, "service")),
        (Routes, "plugins") => Some((Plugins, "route")),
        (Consumers, "plugins") => Some((Plugins, "consumer")),
        (Consumers, "acls") => Some((Acls, "consumer")),
        (Upstreams, "targets") => Some((Targets, "upstream")),
        (Certificates, "snis") => Some((Snis, "certificate")),
        _ => None,
    }
}

/// The parent a nested request is under.
#[derive(Debug, Clone, Copy)]
pub struct Parent {
    pub id: Uuid,
    /// The child's field that references the parent.
    pub field: &'static str,
}

pub struct Entities {
    pub node: Arc<Node>,
}

/// One page of stored entities, and the link to the next one when there is more.
pub struct Page {
    pub rows: Vec<StoredEntity>,
    /// The `next` link and the `offset` token.
    pub next: Option<(String, String)>,
}

impl Page {
    /// Sets a listing body's `next` and `offset` as Kong does (`offset` only when there is more).
    pub fn link(&self, body: &mut Value) {
        if let Some((next, offset)) = &self.next {
            body["next"] = json!(next);
            body["offset"] = json!(offset);
        }
    }
}

impl Entities {
    pub async fn list(
        &self,
        kind: EntityKind,
        parent: Option<Parent>,
        query: &HashMap<String, String>,
        path: &str,
    ) -> Result<Response, AdminError> {
        let store = &self.node.store;
        if let (EntityKind::Consumers, None, Some(custom_id)) = (kind, parent, query.get("custom_id")) {
            let found = store.get_by_key(kind, "custom_id", custom_id).await?;
            let mut data = Vec::new();
            if let Some(entity) = found {
                data.push(self.render(&entity).await?);
            }
            return Ok(json(StatusCode::OK, &json!({"data": data, "next": null})));
        }
        let page = self.page(kind, parent, query, path).await?;
        let mut data = Vec::with_capacity(page.rows.len());
        for entity in &page.rows {
            data.push(self.render(entity).await?);
        }
        let mut body = json!({"data": data, "next": null});
        page.link(&mut body);
        Ok(json(StatusCode::OK, &body))
    }

    /// One page of a listing as the query asks for it; `path` is what its `next` link points at.
    pub async fn page(
        &self,
        kind: EntityKind,
        parent: Option<Parent>,
        query: &HashMap<String, String>,
        path: &str,
    ) -> Result<Page, AdminError> {
        let page = PageQuery::parse(query, parent.is_none())?;
        let filter = ListFilter { parent: parent.map(|p| (p.field.to_string(), p.id)), tags: page.tag_filter() };
        let mut rows = self.node.store.page(kind, &filter, page.after_id()?, page.size + 1).await?;
        let more = rows.len() > page.size as usize;
        rows.truncate(page.size as usize);
        let next = match (more, rows.last()) {
            (true, Some(last)) => {
                let token = encode_offset(&[json!(last.id)]);
                Some((page.next_link(path, &token), token))
            }
            _ => None,
        };
        Ok(Page { rows, next })
    }

    pub async fn create(
        &self,
        kind: EntityKind,
        parent: Option<Parent>,
        body: RawBody,
    ) -> Result<Response, AdminError> {
        let mut input = typed_input(kind, body, None)?;
        if let Some(parent) = parent {
            input.insert(parent.field.into(), json!({"id": parent.id}));
        }
        let snis = take_snis(kind, &mut input)?;
        let entity = self.prepare(kind, input, None).await?;
        if kind == EntityKind::Targets {
            // Kong 2.x: POSTing a target that exists updates it and says so.
            let existing = match entity.unique_keys.first() {
                Some((name, value)) => self.node.store.get_by_key(kind, name, value).await?,
                None => None,
            };
            if let Some(existing) = existing {
                let mut replacement = entity.clone();
                replacement.id = existing.id;
                replacement.doc["id"] = json!(existing.id);
                let stored = self.node.store.upsert(&replacement).await?;
                let mut response = json(StatusCode::OK, &self.render(&stored).await?);
                response.headers_mut().insert("deprecation", HeaderValue::from_static("true"));
                return Ok(response);
            }
        }
        let stored = self.commit(WriteOp::Insert(entity), snis).await?;
        Ok(json(StatusCode::CREATED, &self.render(&stored).await?))
    }

    pub async fn get(&self, kind: EntityKind, parent: Option<Parent>, key: &str) -> Result<Response, AdminError> {
        let entity = self.resolve(kind, parent, key).await?.ok_or(AdminError::NotFound)?;
        Ok(json(StatusCode::OK, &self.render(&entity).await?))
    }

    pub async fn put(
        &self,
        kind: EntityKind,
        parent: Option<Parent>,
        key: &str,
        body: RawBody,
    ) -> Result<Response, AdminError> {
        let mut input = typed_input(kind, body, None)?;
        if let Some(parent) = parent {
            input.insert(parent.field.into(), json!({"id": parent.id}));
        }
        let mut snis = take_snis(kind, &mut input)?;
        let existing = match self.resolve(kind, parent, key).await {
            // PUT /certificates/{sni} creates the certificate with that SNI.
            Err(AdminError::NotFoundMessage(_)) if kind == EntityKind::Certificates => None,
            other => other?,
        };
        let id = match Uuid::parse_str(key) {
            Ok(id) => id,
            Err(_) if kind == EntityKind::Certificates => {
                let names = snis.get_or_insert_with(Vec::new);
                if !names.iter().any(|n| n == key) {
                    names.push(key.to_string());
                }
                existing.as_ref().map(|e| e.id).unwrap_or_else(Uuid::new_v4)
            }
            Err(_) if kind == EntityKind::Acls => {
                // PUT /consumers/{c}/acls/{group}: the group from the URL unless the body names one.
                if input.get("group").is_none_or(Value::is_null) {
                    input.insert("group".into(), json!(key));
                }
                existing.as_ref().map(|e| e.id).unwrap_or_else(Uuid::new_v4)
            }
            Err(_) => {
                // A key that is not a UUID is the endpoint key, and it wins over the body.
                let field = endpoint_key(kind).ok_or(AdminError::NotFound)?;
                input.insert(field.into(), json!(key));
                existing.as_ref().map(|e| e.id).unwrap_or_else(Uuid::new_v4)
            }
        };
        let entity = self.prepare(kind, input, Some(id)).await?;
        // A PUT replaces the whole certificate, SNIs included.
        let snis = if kind == EntityKind::Certificates { Some(snis.unwrap_or_default()) } else { snis };
        let stored = self.commit(WriteOp::Upsert(entity), snis).await?;
        Ok(json(StatusCode::OK, &self.render(&stored).await?))
    }

    pub async fn patch(
        &self,
        kind: EntityKind,
        parent: Option<Parent>,
        key: &str,
        body: RawBody,
    ) -> Result<Response, AdminError> {
        let existing = self.resolve(kind, parent, key).await?.ok_or(AdminError::NotFound)?;
        let stored_name = existing.doc.get("name").and_then(Value::as_str).map(str::to_string);
        let mut input = typed_input(kind, body, stored_name.as_deref())?;
        let snis = take_snis(kind, &mut input)?;
        let mut merged = existing.doc.as_object().cloned().unwrap_or_default();
        let plugin_name = input.get("name").and_then(Value::as_str).or(stored_name.as_deref()).map(str::to_string);
        let fields = fields_of(kind, plugin_name.as_deref());
        merge(&fields, &mut merged, input);
        if let Some(parent) = parent {
            merged.insert(parent.field.into(), json!({"id": parent.id}));
        }
        merged.remove("snis");
        let entity = self.prepare(kind, merged, Some(existing.id)).await?;
        let stored = self.commit(WriteOp::Update(entity), snis).await?;
        Ok(json(StatusCode::OK, &self.render(&stored).await?))
    }

    pub async fn delete(&self, kind: EntityKind, parent: Option<Parent>, key: &str) -> Result<Response, AdminError> {
        if let Some(entity) = self.resolve(kind, parent, key).await? {
            self.node.store.delete(kind, entity.id).await?;
        }
        Ok(StatusCode::NO_CONTENT.into_response())
    }

    /// The entity a reference field points at (`/routes/{r}/service`).
    pub async fn referenced(
        &self,
        kind: EntityKind,
        key: &str,
        field: &str,
    ) -> Result<Option<StoredEntity>, AdminError> {
        let reference = definition(kind).references.iter().find(|r| r.field == field).ok_or(AdminError::NotFound)?;
        let entity = self.resolve(kind, None, key).await?.ok_or(AdminError::NotFound)?;
        let Some(id) = entity.doc[field]["id"].as_str().and_then(|id| Uuid::parse_str(id).ok()) else {
            return Ok(None);
        };
        Ok(self.node.store.get(reference.kind, id).await?)
    }

    /// Finds an entity by id or endpoint key, within `parent` when given.
    pub async fn resolve(
        &self,
        kind: EntityKind,
        parent: Option<Parent>,
        key: &str,
    ) -> Result<Option<StoredEntity>, AdminError> {
        let store = &self.node.store;
        let found = if let Ok(id) = Uuid::parse_str(key) {
            store.get(kind, id).await?
        } else if kind == EntityKind::Targets {
            match parent {
                Some(parent) => {
                    let probe = json!({"upstream": {"id": parent.id}, "target": target::normalize_target(key)});
                    match EntityDef::unique_value(&probe, &["upstream", "target"]) {
                        Some(value) => store.get_by_key(kind, "upstream+target", &value).await?,
                        None => None,
                    }
                }
                None => None,
            }
        } else if kind == EntityKind::Acls {
            // `/consumers/{c}/acls/{group}`: the consumer's row for that group.
            match parent {
                Some(parent) => {
                    let probe = json!({"consumer": {"id": parent.id}, "group": key});
                    match EntityDef::unique_value(&probe, &["consumer", "group"]) {
                        Some(value) => store.get_by_key(kind, "consumer+group", &value).await?,
                        None => None,
                    }
                }
                None => None,
            }
        } else if kind == EntityKind::Certificates {
            // A certificate may be named by one of its SNIs.
            match store.get_by_key(EntityKind::Snis, "name", key).await? {
                Some(sni) => match sni.doc["certificate"]["id"].as_str().and_then(|id| Uuid::parse_str(id).ok()) {
                    Some(id) => store.get(kind, id).await?,
                    None => None,
                },
                None => return Err(AdminError::NotFoundMessage("SNI not found".into())),
            }
        } else if let Some(field) = endpoint_key(kind) {
            store.get_by_key(kind, field, key).await?
        } else {
            None
        };
        Ok(found.filter(|entity| match parent {
            Some(parent) => entity.doc[parent.field]["id"].as_str() == Some(parent.id.to_string().as_str()),
            None => true,
        }))
    }

    /// Writes one entity, with a certificate's SNIs brought in line with `snis` in the same transaction.
    async fn commit(&self, op: WriteOp, snis: Option<Vec<String>>) -> Result<StoredEntity, AdminError> {
        let mut ops = vec![op.clone()];
        if let (WriteOp::Insert(cert) | WriteOp::Upsert(cert) | WriteOp::Update(cert), Some(names)) = (&op, snis) {
            let filter = ListFilter { parent: Some(("certificate".into(), cert.id)), tags: None };
            let current = self.node.store.page(EntityKind::Snis, &filter, None, u32::MAX).await?;
            let current_names: Vec<&str> = current.iter().filter_map(|s| s.doc["name"].as_str()).collect();
            for sni in &current {
                if !names.iter().any(|n| Some(n.as_str()) == sni.doc["name"].as_str()) {
                    ops.push(WriteOp::Delete(EntityKind::Snis, sni.id));
                }
            }
            for name in names.iter().filter(|n| !current_names.contains(&n.as_str())) {
                let body =
                    Map::from_iter([("name".into(), json!(name)), ("certificate".into(), json!({"id": cert.id}))]);
                ops.push(WriteOp::Insert(self.prepare(EntityKind::Snis, body, None).await?));
            }
        }
        let applied = match self.node.store.apply(&ops).await {
            Ok(applied) => applied,
            Err(error) => return Err(self.explain(error, &ops).await),
        };
        match applied.into_iter().next() {
            Some(Applied::Written(stored)) => Ok(stored),
            _ => Err(AdminError::NotFound),
        }
    }

    /// A refused write as the client sees it: a plugin that breaks the combination rule is a schema violation
    /// on its `name` (Kong's code 2), naming the plugin already in its scope; anything else as the store said.
    async fn explain(&self, error: StoreError, ops: &[WriteOp]) -> AdminError {
        match combinations::refusal(&self.node.store, &error, ops).await {
            Some(refusal) => SchemaViolation::field("name", refusal.message).into(),
            None => error.into(),
        }
    }

    /// Validates `input` as a whole entity of `kind` and derives what the store indexes.
    pub async fn prepare(
        &self,
        kind: EntityKind,
        mut input: Map<String, Value>,
        id: Option<Uuid>,
    ) -> Result<NewEntity, AdminError> {
        match kind {
            EntityKind::Services => service::expand_url(&mut input)?,
            EntityKind::Upstreams => upstream::apply_shorthands(&mut input),
            EntityKind::Targets => {
                if let Some(Value::String(text)) = input.get("target") {
                    let normalized = target::normalize_target(text);
                    input.insert("target".into(), json!(normalized));
                }
            }
            _ => {}
        }
        self.resolve_foreign_keys(kind, &mut input).await?;
        if let Some(id) = id {
            input.insert("id".into(), json!(id));
        }
        let def = definition(kind);
        let mut doc = def.process(&Value::Object(input))?;
        certificates::check(kind, &mut doc)?;
        let id = doc["id"].as_str().and_then(|id| Uuid::parse_str(id).ok()).unwrap_or_else(Uuid::new_v4);
        doc["id"] = json!(id);
        let unique_keys = def
            .unique
            .iter()
            .filter_map(|fields| Some((fields.join("+"), EntityDef::unique_value(&doc, fields)?)))
            .collect();
        let tags = doc["tags"].as_array().into_iter().flatten().filter_map(Value::as_str).map(str::to_string).collect();
        let refs = def
            .references
            .iter()
            .filter_map(|r| {
                let id = Uuid::parse_str(doc[r.field]["id"].as_str()?).ok()?;
                Some(EntityRef { field: r.field.to_string(), kind: r.kind, id })
            })
            .collect();
        let mut entity = NewEntity { kind, id, doc, unique_keys, tags, refs };
        combinations::add_key(&mut entity);
        Ok(entity)
    }

    /// References given by endpoint key (`"service": {"name": "x"}`) become ids; unknown ones are code 13.
    async fn resolve_foreign_keys(&self, kind: EntityKind, input: &mut Map<String, Value>) -> Result<(), AdminError> {
        for reference in definition(kind).references {
            let Some(Value::Object(given)) = input.get(reference.field) else { continue };
            if given.contains_key("id") {
                continue;
            }
            let Some(key_field) = endpoint_key(reference.kind) else { continue };
            let Some(Value::String(key)) = given.get(key_field) else { continue };
            match self.node.store.get_by_key(reference.kind, key_field, key).await? {
                Some(found) => {
                    input.insert(reference.field.into(), json!({"id": found.id}));
                }
                None => {
                    let detail = format!(
                        "the foreign key cannot be resolved with '{{{key_field}=\"{key}\"}}' for an existing '{}' entity",
                        reference.kind
                    );
                    return Err(AdminError::Kong {
                        status: 400,
                        body: json!({"code": 13, "name": "foreign keys unresolved",
                                     "message": format!("foreign key unresolved ({}.{key_field}: {detail})", reference.field),
                                     "fields": { reference.field: { key_field: detail } }}),
                    });
                }
            }
        }
        Ok(())
    }

    /// An entity as the API returns it: the stored document, plus certificates' `snis`.
    pub async fn render(&self, entity: &StoredEntity) -> Result<Value, AdminError> {
        let mut doc = entity.doc.clone();
        if entity.kind == EntityKind::Certificates {
            let filter = ListFilter { parent: Some(("certificate".into(), entity.id)), tags: None };
            let snis = self.node.store.page(EntityKind::Snis, &filter, None, u32::MAX).await?;
            let mut names: Vec<String> =
                snis.iter().filter_map(|s| s.doc["name"].as_str().map(str::to_string)).collect();
            names.sort();
            doc["snis"] = json!(names);
        }
        Ok(doc)
    }
}

fn endpoint_key(kind: EntityKind) -> Option<&'static str> {
    definition(kind).endpoint_key
}

/// Certificates carry their SNIs as a `snis` pseudo-field; other kinds have no such thing.
fn take_snis(kind: EntityKind, input: &mut Map<String, Value>) -> Result<Option<Vec<String>>, AdminError> {
    if kind == EntityKind::Certificates { Ok(certificates::take_snis(input)?) } else { Ok(None) }
}

/// The fields of `kind` (for plugins, of the named plugin) used to type forms and merge patches.
fn fields_of(kind: EntityKind, plugin_name: Option<&str>) -> Vec<Field> {
    match (kind, plugin_name) {
        (EntityKind::Plugins, Some(name)) => plugin::schema_for(name).map(|s| s.fields).unwrap_or_default(),
        _ => definition(kind).schema.fields.clone(),
    }
}

/// The body as a record, form values typed by the schema (plugins by the named plugin's schema).
fn typed_input(kind: EntityKind, body: RawBody, stored_name: Option<&str>) -> Result<Map<String, Value>, AdminError> {
    match body {
        RawBody::Json(Value::Object(map)) => Ok(map),
        RawBody::Json(_) => Err(SchemaViolation::entity("expected a record").into()),
        RawBody::Form(pairs) => {
            let tree = form::tree(&pairs);
            let name = tree.get("name").and_then(Value::as_str).map(str::to_string);
            let fields = fields_of(kind, name.as_deref().or(stored_name));
            Ok(form::type_record(&fields, tree))
        }
    }
}

/// PATCH: records merge field by field, everything else (arrays, sets, maps, references) is replaced.
fn merge(fields: &[Field], base: &mut Map<String, Value>, patch: Map<String, Value>) {
    for (key, value) in patch {
        let record_fields = fields.iter().find(|f| f.name == key).and_then(|f| match &f.ty {
            Type::Record(fields) => Some(fields),
            _ => None,
        });
        match (record_fields, base.get_mut(&key), value) {
            (Some(fields), Some(Value::Object(existing)), Value::Object(changes)) => merge(fields, existing, changes),
            (_, _, value) => {
                base.insert(key, value);
            }
        }
    }
}
