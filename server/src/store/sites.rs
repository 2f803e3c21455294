//! The oxd module's sites in the database, sealed with the node key (`oxd.md` §1.9), and its RP signing key.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use proxy::oxd::site::BoxFuture;
use proxy::oxd::{Site, SiteStore};
use sqlx::Row;

use super::Store;
use crate::secrets::SecretBox;

pub struct DatabaseSites {
    store: Arc<Store>,
    secrets: Arc<SecretBox>,
}

impl DatabaseSites {
    pub fn new(store: Arc<Store>, secrets: Arc<SecretBox>) -> DatabaseSites {
        DatabaseSites { store, secrets }
    }

    /// The RP signing key (PKCS#8) every node shares: the stored one, or `fresh` when none is stored yet. Two
    /// nodes starting together both offer one; the first insert wins and both read it back.
    pub async fn rp_signing_key(&self, fresh: &[u8]) -> Result<Vec<u8>, String> {
        use base64::Engine;
        let encoding = base64::engine::general_purpose::STANDARD;
        let sealed = self.secrets.seal(&encoding.encode(fresh));
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
        {
            let _turn = self.store.write_turn().await;
            sqlx::query(
                "INSERT INTO oxd_keys (name, data, created_at) VALUES ('rp_signing', $1, $2) ON CONFLICT (name) DO NOTHING",
            )
            .bind(sealed)
            .bind(now)
            .execute(&self.store.pool)
            .await
            .map_err(|e| e.to_string())?;
        }
        let row = sqlx::query("SELECT data FROM oxd_keys WHERE name = 'rp_signing'")
            .fetch_one(&self.store.pool)
            .await
            .map_err(|e| e.to_string())?;
        let plain = self.secrets.open(&row.try_get::<String, _>("data").map_err(|e| e.to_string())?)?;
        encoding.decode(plain.trim()).map_err(|_| "the stored RP signing key is not base64".to_string())
    }

    fn decode(&self, data: &str) -> Result<Site, String> {
        let plain = self.secrets.open(data)?;
        serde_json::from_str(&plain).map_err(|e| format!("stored site is not valid: {e}"))
    }
}

impl SiteStore for DatabaseSites {
    fn load<'a>(&'a self, oxd_id: &'a str) -> BoxFuture<'a, Result<Option<Site>, String>> {
        Box::pin(async move {
            let row = sqlx::query("SELECT data FROM oxd_sites WHERE oxd_id = $1")
                .bind(oxd_id)
                .fetch_optional(&self.store.pool)
                .await
                .map_err(|e| e.to_string())?;
            match row {
                Some(row) => Ok(Some(self.decode(&row.try_get::<String, _>("data").map_err(|e| e.to_string())?)?)),
                None => Ok(None),
            }
        })
    }

    fn save<'a>(&'a self, site: &'a Site) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let data = self.secrets.seal(&serde_json::to_string(site).map_err(|e| e.to_string())?);
            let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
            let _turn = self.store.write_turn().await;
            sqlx::query(
                "INSERT INTO oxd_sites (oxd_id, data, updated_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (oxd_id) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at",
            )
            .bind(&site.oxd_id)
            .bind(data)
            .bind(now)
            .execute(&self.store.pool)
            .await
            .map_err(|e| e.to_string())?;
            Ok(())
        })
    }

    fn remove<'a>(&'a self, oxd_id: &'a str) -> BoxFuture<'a, Result<bool, String>> {
        Box::pin(async move {
            let _turn = self.store.write_turn().await;
            let done = sqlx::query("DELETE FROM oxd_sites WHERE oxd_id = $1")
                .bind(oxd_id)
                .execute(&self.store.pool)
                .await
                .map_err(|e| e.to_string())?;
            Ok(done.rows_affected() > 0)
        })
    }

    fn list(&self) -> BoxFuture<'_, Result<Vec<Site>, String>> {
        Box::pin(async move {
            let rows = sqlx::query("SELECT data FROM oxd_sites ORDER BY oxd_id")
                .fetch_all(&self.store.pool)
                .await
                .map_err(|e| e.to_string())?;
            rows.iter().map(|row| self.decode(&row.try_get::<String, _>("data").map_err(|e| e.to_string())?)).collect()
        })
    }
}
