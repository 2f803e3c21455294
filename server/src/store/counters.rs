//! The database counters behind rate-limiting's `cluster` policy (`proxy.md` §12.1): one row per counter
//! key, incremented with an upsert, so every node on the database shares them.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use proxy::plugins::{ClusterCounters, CounterKey};
use sqlx::Row;

use super::Store;

/// [`ClusterCounters`] over the store's database.
pub struct DatabaseCounters {
    store: Arc<Store>,
}

impl DatabaseCounters {
    pub fn new(store: Arc<Store>) -> DatabaseCounters {
        DatabaseCounters { store }
    }
}

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

impl ClusterCounters for DatabaseCounters {
    fn usage<'a>(&'a self, keys: &'a [CounterKey]) -> BoxFuture<'a, Result<Vec<u64>, String>> {
        Box::pin(async move {
            let mut values = Vec::with_capacity(keys.len());
            for key in keys {
                let row = sqlx::query("SELECT value FROM ratelimiting_metrics WHERE key = $1 AND expires_at > $2")
                    .bind(key.redis_key())
                    .bind(now())
                    .fetch_optional(&self.store.pool)
                    .await
                    .map_err(|e| e.to_string())?;
                let value: i64 = match row {
                    Some(row) => row.try_get("value").map_err(|e| e.to_string())?,
                    None => 0,
                };
                values.push(value.max(0) as u64);
            }
            Ok(values)
        })
    }

    fn increment<'a>(&'a self, keys: &'a [CounterKey]) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let _turn = self.store.write_turn().await;
            let mut tx = self.store.pool.begin().await.map_err(|e| e.to_string())?;
            let now = now();
            sqlx::query("DELETE FROM ratelimiting_metrics WHERE expires_at <= $1")
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(|e| e.to_string())?;
            for key in keys {
                sqlx::query(
                    "INSERT INTO ratelimiting_metrics (key, value, expires_at) VALUES ($1, 1, $2) \
                     ON CONFLICT (key) DO UPDATE SET value = ratelimiting_metrics.value + 1",
                )
                .bind(key.redis_key())
                .bind(key.period_start_ms / 1000 + key.window as i64)
                .execute(&mut *tx)
                .await
                .map_err(|e| e.to_string())?;
            }
            tx.commit().await.map_err(|e| e.to_string())
        })
    }
}
