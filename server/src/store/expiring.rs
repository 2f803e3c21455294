//! The oxd module's expiring values (state, nonce, ticket resources) in the database, so that a flow
//! started on one node finishes on another; values are sealed with the node key (`oxd.md` §1.9).

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use proxy::oxd::site::BoxFuture;
use proxy::oxd::{ExpiringKind, ExpiringStore};
use sqlx::Row;

use super::Store;
use crate::secrets::SecretBox;

pub struct DatabaseExpiring {
    store: Arc<Store>,
    secrets: Arc<SecretBox>,
}

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

impl DatabaseExpiring {
    pub fn new(store: Arc<Store>, secrets: Arc<SecretBox>) -> DatabaseExpiring {
        DatabaseExpiring { store, secrets }
    }

    fn open(&self, row: Option<sqlx::any::AnyRow>) -> Result<Option<String>, String> {
        let Some(row) = row else { return Ok(None) };
        let expires_at: i64 = row.try_get("expires_at").map_err(|e| e.to_string())?;
        if expires_at <= now() {
            return Ok(None);
        }
        self.secrets.open(&row.try_get::<String, _>("value").map_err(|e| e.to_string())?).map(Some)
    }
}

impl ExpiringStore for DatabaseExpiring {
    fn put<'a>(
        &'a self,
        kind: ExpiringKind,
        key: &'a str,
        value: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let sealed = self.secrets.seal(value);
            let now = now();
            let _turn = self.store.write_turn().await;
            // Expired values are swept here, where writes happen anyway.
            sqlx::query("DELETE FROM oxd_expiring WHERE expires_at <= $1")
                .bind(now)
                .execute(&self.store.pool)
                .await
                .map_err(|e| e.to_string())?;
            sqlx::query(
                "INSERT INTO oxd_expiring (key, kind, value, expires_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (key, kind) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at",
            )
            .bind(key)
            .bind(kind.as_str())
            .bind(sealed)
            .bind(now + ttl.as_secs() as i64)
            .execute(&self.store.pool)
            .await
            .map_err(|e| e.to_string())?;
            Ok(())
        })
    }

    fn take<'a>(&'a self, kind: ExpiringKind, key: &'a str) -> BoxFuture<'a, Result<Option<String>, String>> {
        Box::pin(async move {
            let _turn = self.store.write_turn().await;
            // One statement, so two nodes cannot both redeem the same state.
            let row = sqlx::query("DELETE FROM oxd_expiring WHERE key = $1 AND kind = $2 RETURNING value, expires_at")
                .bind(key)
                .bind(kind.as_str())
                .fetch_optional(&self.store.pool)
                .await
                .map_err(|e| e.to_string())?;
            self.open(row)
        })
    }

    fn peek<'a>(&'a self, kind: ExpiringKind, key: &'a str) -> BoxFuture<'a, Result<Option<String>, String>> {
        Box::pin(async move {
            let row = sqlx::query("SELECT value, expires_at FROM oxd_expiring WHERE key = $1 AND kind = $2")
                .bind(key)
                .bind(kind.as_str())
                .fetch_optional(&self.store.pool)
                .await
                .map_err(|e| e.to_string())?;
            self.open(row)
        })
    }
}
