//! The store: configuration entities and the configuration version, in SQLite (the embedded default, in the
//! prefix, WAL mode) or PostgreSQL (for clusters).
//!
//! Both backends run the same SQL through `sqlx::Any`; they differ only in how a connection is set up and in
//! their migration files (`migrations/sqlite`, `migrations/postgres`), so there is one implementation of every
//! operation and one test suite that runs against both. Every write is one transaction that bumps the
//! configuration version and then announces it on a `watch` channel the proxy (and later the cluster feed)
//! subscribes to.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use proxy::model::EntityKind;
use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyConnection, AnyPool, Connection, Executor, Row};
use tokio::sync::{Mutex, watch};
use uuid::Uuid;

use crate::config::{Config, Database};
use crate::secrets::SecretBox;

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
    #[error("the foreign key '{{id=\"{id}\"}}' does not reference an existing '{kind}' entity.")]
    ForeignKey { field: String, kind: EntityKind, id: Uuid },
    #[error("an existing '{referencing}' entity references this '{kind}' entity")]
    ReferencedBy { kind: EntityKind, referencing: EntityKind },
    #[error("the stored {kind} '{id}' is not valid JSON: {source}")]
    Corrupt { kind: EntityKind, id: String, source: serde_json::Error },
    #[error("{0}")]
    Secrets(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// An entity to write: the document the model validated, with the keys that must be unique among its kind,
/// its tags and its references to other entities.
#[derive(Debug, Clone)]
pub struct NewEntity {
    pub kind: EntityKind,
    pub id: Uuid,
    pub doc: serde_json::Value,
    pub unique_keys: Vec<(String, String)>,
    pub tags: Vec<String>,
    pub refs: Vec<EntityRef>,
}

/// A reference from one of an entity's fields to another entity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityRef {
    pub field: String,
    pub kind: EntityKind,
    pub id: Uuid,
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
    pub(crate) pool: AnyPool,
    database: Database,
    /// SQLite has one writer at a time; taking turns here keeps writers from failing with SQLITE_BUSY when a
    /// read transaction upgrades to a write. PostgreSQL does its own row locking and skips this.
    sqlite_writer: Mutex<()>,
    version: watch::Sender<i64>,
    /// Seals plugin secret fields at rest; `None` stores them as given (tests, tools without a prefix).
    secrets: Option<Arc<SecretBox>>,
}

impl Store {
    /// Opens the database the configuration names and applies pending migrations.
    /// Opens the database the configuration names, with the node's secrets key, and applies pending
    /// migrations.
    pub async fn open(config: &Config) -> Result<Store> {
        let secrets = SecretBox::load_or_create(&config.secrets_key_path()).map_err(StoreError::Secrets)?;
        Ok(Store::open_database(config).await?.with_secrets(Arc::new(secrets)))
    }

    /// The store's key for secrets at rest (shared with the oxd module's sites).
    pub fn secrets(&self) -> Option<Arc<SecretBox>> {
        self.secrets.clone()
    }

    pub fn with_secrets(mut self, secrets: Arc<SecretBox>) -> Store {
        self.secrets = Some(secrets);
        self
    }

    async fn open_database(config: &Config) -> Result<Store> {
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
        Ok(Store { pool, database, sqlite_writer: Mutex::new(()), version: watch::channel(current).0, secrets: None })
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

    /// Announces a committed version. Concurrent writers on PostgreSQL may commit in one order and get here
    /// in another, so the version only ever moves forward.
    pub(crate) fn announce(&self, version: i64) {
        self.version.send_if_modified(|current| {
            let newer = version > *current;
            if newer {
                *current = version;
            }
            newer
        });
    }

    pub(crate) async fn write_turn(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match self.database {
            Database::Sqlite => Some(self.sqlite_writer.lock().await),
            Database::Postgres => None,
        }
    }
}

pub(crate) async fn current_version(pool: &AnyPool) -> Result<i64> {
    Ok(sqlx::query("SELECT version FROM config_state WHERE id = 1").fetch_one(pool).await?.try_get("version")?)
}

pub(crate) async fn bump_version(tx: &mut sqlx::Transaction<'_, sqlx::Any>) -> Result<i64> {
    let row = sqlx::query("UPDATE config_state SET version = version + 1 WHERE id = 1 RETURNING version")
        .fetch_one(&mut **tx)
        .await?;
    Ok(row.try_get("version")?)
}

impl Store {
    pub(crate) fn entity_from_row(&self, kind: EntityKind, row: &sqlx::any::AnyRow) -> Result<StoredEntity> {
        let id: String = row.try_get("id")?;
        let doc: String = row.try_get("doc")?;
        let corrupt = |source| StoreError::Corrupt { kind, id: id.clone(), source };
        let mut doc: serde_json::Value = serde_json::from_str(&doc).map_err(corrupt)?;
        self.reveal_secrets(kind, &mut doc).map_err(|e| StoreError::Secrets(format!("{kind} {id}: {e}")))?;
        Ok(StoredEntity {
            kind,
            id: Uuid::parse_str(&id).map_err(|e| corrupt(serde_json::Error::io(std::io::Error::other(e))))?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
            doc,
        })
    }

    /// The text stored for `doc`: plugin secret fields sealed.
    pub(crate) fn stored_text(&self, kind: EntityKind, doc: &serde_json::Value) -> String {
        let Some(secrets) = &self.secrets else { return doc.to_string() };
        let mut doc = doc.clone();
        for field in secret_fields(kind, &doc) {
            if let Some(serde_json::Value::String(plain)) = doc["config"].get_mut(field) {
                *plain = secrets.seal(plain);
            }
        }
        doc.to_string()
    }

    fn reveal_secrets(&self, kind: EntityKind, doc: &mut serde_json::Value) -> std::result::Result<(), String> {
        let fields = secret_fields(kind, doc);
        for field in fields {
            if let Some(serde_json::Value::String(sealed)) = doc["config"].get_mut(field)
                && SecretBox::is_sealed(sealed)
            {
                let secrets = self.secrets.as_ref().ok_or("a sealed secret and no secrets key")?;
                *sealed = secrets.open(sealed)?;
            }
        }
        Ok(())
    }
}

/// The secret config fields of a plugin document.
fn secret_fields(kind: EntityKind, doc: &serde_json::Value) -> &'static [&'static str] {
    if kind != EntityKind::Plugins {
        return &[];
    }
    doc["name"].as_str().and_then(proxy::model::plugins::find).map_or(&[], |def| def.secret_fields)
}

pub(crate) fn on_unique(error: sqlx::Error, violation: impl FnOnce() -> StoreError) -> StoreError {
    match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => violation(),
        _ => StoreError::Database(error),
    }
}

pub(crate) fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// The PostgreSQL URL for the `pg_*` settings, with user and password percent-encoded.
fn postgres_url(config: &Config) -> String {
    let credentials = if config.pg_password.is_empty() {
        crate::url_text::encode_component(&config.pg_user)
    } else {
        format!(
            "{}:{}",
            crate::url_text::encode_component(&config.pg_user),
            crate::url_text::encode_component(&config.pg_password)
        )
    };
    let host = if config.pg_host.contains(':') { format!("[{}]", config.pg_host) } else { config.pg_host.clone() };
    format!(
        "postgres://{credentials}@{host}:{}/{}",
        config.pg_port,
        crate::url_text::encode_component(&config.pg_database)
    )
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

mod admins;
mod audit;
mod counters;
mod entities;
mod expiring;
mod queries;
mod sites;

pub use admins::{AdminSession, NewAdminError, token_hash};
pub use audit::{Actor, AuditEntry, AuditFilter, MASKED, acting_as, masked};
pub use counters::DatabaseCounters;
pub use expiring::DatabaseExpiring;
pub use sites::DatabaseSites;

pub use entities::{Applied, WriteOp};
pub use queries::{ListFilter, TagFilter, TagRow};

#[cfg(test)]
mod tests;
