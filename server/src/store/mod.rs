//! The store: configuration entities and the configuration version, in SQLite (the embedded default, in the
//! prefix, WAL mode) or PostgreSQL (for clusters).
//!
//! Both backends run the same SQL through `sqlx::Any`; they differ only in how a connection is set up and in
//! their migration files (`migrations/sqlite`, `migrations/postgres`), so there is one implementation of every
//! operation and one test suite that runs against both. Every write is one transaction that bumps the
//! configuration version and then announces it on a `watch` channel the proxy (and later the cluster feed)
//! subscribes to.

use std::path::Path;
use std::time::Duration;

use proxy::model::EntityKind;
use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyConnection, AnyPool, Connection, Executor, Row};
use tokio::sync::{Mutex, watch};
use uuid::Uuid;

use crate::config::{Config, Database};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the {backend} database at {location}: {source}")]
    Connect { backend: &'static str, location: String, source: sqlx::Error },
    #[error("cannot create the data directory {path}: {source}")]
    Prefix { path: String, source: std::io::Error },
    #[error("cannot apply database migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("primary key violation on key '{{id=\"{id}\"}}'")]
    PrimaryKey { kind: EntityKind, id: Uuid },
    #[error("UNIQUE violation detected on '{{{name}=\"{value}\"}}'")]
    Unique { kind: EntityKind, name: String, value: String },
    #[error("the stored {kind} '{id}' is not valid JSON: {source}")]
    Corrupt { kind: EntityKind, id: String, source: serde_json::Error },
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// An entity to write: the document the model validated, with the keys that must be unique among its kind
/// and its tags.
#[derive(Debug, Clone)]
pub struct NewEntity {
    pub kind: EntityKind,
    pub id: Uuid,
    pub doc: serde_json::Value,
    pub unique_keys: Vec<(String, String)>,
    pub tags: Vec<String>,
}

/// An entity as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEntity {
    pub kind: EntityKind,
    pub id: Uuid,
    pub created_at: i64,
    pub updated_at: i64,
    pub doc: serde_json::Value,
}

pub struct Store {
    pool: AnyPool,
    database: Database,
    /// SQLite has one writer at a time; taking turns here keeps writers from failing with SQLITE_BUSY when a
    /// read transaction upgrades to a write. PostgreSQL does its own row locking and skips this.
    sqlite_writer: Mutex<()>,
    version: watch::Sender<i64>,
}

impl Store {
    /// Opens the database the configuration names and applies pending migrations.
    pub async fn open(config: &Config) -> Result<Store> {
        match config.database {
            Database::Sqlite => Store::open_sqlite(&config.sqlite_file()).await,
            Database::Postgres => {
                let url = postgres_url(config);
                let timeout = Duration::from_millis(config.pg_timeout);
                Store::open_url(Database::Postgres, &url, config.pg_max_connections, timeout).await
            }
        }
    }

    pub async fn open_sqlite(path: &Path) -> Result<Store> {
        if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|source| StoreError::Prefix { path: dir.display().to_string(), source })?;
        }
        let url = format!("sqlite://{}?mode=rwc", path.display());
        Store::open_url(Database::Sqlite, &url, 8, Duration::from_secs(5)).await
    }

    /// Opens `url` (an sqlx connection URL of `database`'s kind) and migrates it.
    pub async fn open_url(database: Database, url: &str, max_connections: u32, timeout: Duration) -> Result<Store> {
        install_default_drivers();
        let location = redact_url(url);
        let connect_error =
            |source| StoreError::Connect { backend: database.as_str(), location: location.clone(), source };
        // One connection first: a pool reports only "timed out", this reports why (refused, auth, no database).
        match tokio::time::timeout(timeout, AnyConnection::connect(url)).await {
            Ok(Ok(probe)) => probe.close().await.map_err(connect_error)?,
            Ok(Err(error)) => return Err(connect_error(error)),
            Err(_) => return Err(connect_error(sqlx::Error::PoolTimedOut)),
        }
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections.max(1))
            .acquire_timeout(timeout)
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if database == Database::Sqlite {
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                             PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;",
                        )
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect(url)
            .await
            .map_err(connect_error)?;
        match database {
            Database::Sqlite => sqlx::migrate!("./migrations/sqlite").run(&pool).await?,
            Database::Postgres => sqlx::migrate!("./migrations/postgres").run(&pool).await?,
        }
        let current = current_version(&pool).await?;
        Ok(Store { pool, database, sqlite_writer: Mutex::new(()), version: watch::channel(current).0 })
    }

    pub fn database(&self) -> Database {
        self.database
    }

    /// Whether the database answers now.
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }

    /// The configuration version as last written through this store.
    pub fn config_version(&self) -> i64 {
        *self.version.borrow()
    }

    /// A receiver that sees every new configuration version.
    pub fn subscribe(&self) -> watch::Receiver<i64> {
        self.version.subscribe()
    }

    /// Inserts a new entity with its unique keys and tags, in one transaction that bumps the version.
    pub async fn insert(&self, entity: &NewEntity) -> Result<StoredEntity> {
        let _turn = self.write_turn().await;
        let mut tx = self.pool.begin().await?;
        let now = unix_now();
        let kind = entity.kind.as_str();
        let id = entity.id.to_string();
        sqlx::query("INSERT INTO entities (kind, id, created_at, updated_at, doc) VALUES ($1, $2, $3, $4, $5)")
            .bind(kind)
            .bind(&id)
            .bind(now)
            .bind(now)
            .bind(entity.doc.to_string())
            .execute(&mut *tx)
            .await
            .map_err(|e| on_unique(e, || StoreError::PrimaryKey { kind: entity.kind, id: entity.id }))?;
        for (name, value) in &entity.unique_keys {
            sqlx::query("INSERT INTO entity_keys (kind, name, value, id) VALUES ($1, $2, $3, $4)")
                .bind(kind)
                .bind(name)
                .bind(value)
                .bind(&id)
                .execute(&mut *tx)
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
                .execute(&mut *tx)
                .await?;
        }
        let version = bump_version(&mut tx).await?;
        tx.commit().await?;
        self.version.send_replace(version);
        Ok(StoredEntity { kind: entity.kind, id: entity.id, created_at: now, updated_at: now, doc: entity.doc.clone() })
    }

    /// Deletes an entity; `false` when there was none (which changes nothing, not even the version).
    pub async fn delete(&self, kind: EntityKind, id: Uuid) -> Result<bool> {
        let _turn = self.write_turn().await;
        let mut tx = self.pool.begin().await?;
        let id = id.to_string();
        for table in ["entity_keys", "entity_tags"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE kind = $1 AND id = $2"))
                .bind(kind.as_str())
                .bind(&id)
                .execute(&mut *tx)
                .await?;
        }
        let deleted = sqlx::query("DELETE FROM entities WHERE kind = $1 AND id = $2")
            .bind(kind.as_str())
            .bind(&id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if deleted == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        let version = bump_version(&mut tx).await?;
        tx.commit().await?;
        self.version.send_replace(version);
        Ok(true)
    }

    pub async fn get(&self, kind: EntityKind, id: Uuid) -> Result<Option<StoredEntity>> {
        let row = sqlx::query("SELECT id, created_at, updated_at, doc FROM entities WHERE kind = $1 AND id = $2")
            .bind(kind.as_str())
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| entity_from_row(kind, &row)).transpose()
    }

    /// The entity of `kind` whose unique key `name` is `value` (a service by name, a consumer by username...).
    pub async fn get_by_key(&self, kind: EntityKind, name: &str, value: &str) -> Result<Option<StoredEntity>> {
        let row = sqlx::query(
            "SELECT e.id, e.created_at, e.updated_at, e.doc FROM entity_keys k \
             JOIN entities e ON e.kind = k.kind AND e.id = k.id \
             WHERE k.kind = $1 AND k.name = $2 AND k.value = $3",
        )
        .bind(kind.as_str())
        .bind(name)
        .bind(value)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| entity_from_row(kind, &row)).transpose()
    }

    /// Up to `size` entities of `kind` with ids after `after`, in id order (keyset pagination).
    pub async fn page(&self, kind: EntityKind, after: Option<Uuid>, size: u32) -> Result<Vec<StoredEntity>> {
        let after = after.map(|id| id.to_string()).unwrap_or_default();
        let rows = sqlx::query(
            "SELECT id, created_at, updated_at, doc FROM entities WHERE kind = $1 AND id > $2 ORDER BY id LIMIT $3",
        )
        .bind(kind.as_str())
        .bind(after)
        .bind(i64::from(size))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|row| entity_from_row(kind, row)).collect()
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
        let plugins = self.page(EntityKind::Plugins, None, u32::MAX).await?;
        let mut names: Vec<String> =
            plugins.iter().filter_map(|p| p.doc.get("name")?.as_str().map(str::to_string)).collect();
        names.sort();
        names.dedup();
        Ok(names)
    }

    async fn write_turn(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match self.database {
            Database::Sqlite => Some(self.sqlite_writer.lock().await),
            Database::Postgres => None,
        }
    }
}

async fn current_version(pool: &AnyPool) -> Result<i64> {
    Ok(sqlx::query("SELECT version FROM config_state WHERE id = 1").fetch_one(pool).await?.try_get("version")?)
}

async fn bump_version(tx: &mut sqlx::Transaction<'_, sqlx::Any>) -> Result<i64> {
    let row = sqlx::query("UPDATE config_state SET version = version + 1 WHERE id = 1 RETURNING version")
        .fetch_one(&mut **tx)
        .await?;
    Ok(row.try_get("version")?)
}

fn entity_from_row(kind: EntityKind, row: &sqlx::any::AnyRow) -> Result<StoredEntity> {
    let id: String = row.try_get("id")?;
    let doc: String = row.try_get("doc")?;
    let corrupt = |source| StoreError::Corrupt { kind, id: id.clone(), source };
    Ok(StoredEntity {
        kind,
        id: Uuid::parse_str(&id).map_err(|e| corrupt(serde_json::Error::io(std::io::Error::other(e))))?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        doc: serde_json::from_str(&doc).map_err(corrupt)?,
    })
}

fn on_unique(error: sqlx::Error, violation: impl FnOnce() -> StoreError) -> StoreError {
    match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => violation(),
        _ => StoreError::Database(error),
    }
}

fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// The PostgreSQL URL for the `pg_*` settings, with user and password percent-encoded.
fn postgres_url(config: &Config) -> String {
    let credentials = if config.pg_password.is_empty() {
        percent_encode(&config.pg_user)
    } else {
        format!("{}:{}", percent_encode(&config.pg_user), percent_encode(&config.pg_password))
    };
    let host = if config.pg_host.contains(':') { format!("[{}]", config.pg_host) } else { config.pg_host.clone() };
    format!("postgres://{credentials}@{host}:{}/{}", config.pg_port, percent_encode(&config.pg_database))
}

fn percent_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A connection URL fit for an error message: the password replaced.
fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{}{user}:******{}", &url[..scheme_end + 3], &url[at..])
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests;
