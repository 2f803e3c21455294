//! A small expiring cache with single-flight fetches: concurrent misses for one key wait for the first
//! caller's fetch and share its result (`gluu-plugins.md` §14 D3).
//!
//! A hit (the proxy's hot path: every request with a cached token) takes the map's read lock and reads the
//! value without any other lock or reference count, so proxy workers reading the same entries do not wait for
//! each other; only misses and fetches take the write lock or a slot's fetch lock.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;

/// One key's entry: the value with its expiry, and the lock its fetches take turns on.
struct Slot<V> {
    value: ArcSwapOption<(V, Instant)>,
    fetching: tokio::sync::Mutex<()>,
}

impl<V: Clone> Slot<V> {
    fn fresh(&self, now: Instant) -> Option<V> {
        self.value.load().as_ref().filter(|entry| entry.1 > now).map(|entry| entry.0.clone())
    }
}

/// `S` hashes the keys: SipHash with random keys unless the keys are such that nobody can choose their
/// hashes (the token cache's are SHA-256 digests).
pub struct Cache<K, V, S = RandomState> {
    slots: RwLock<HashMap<K, Arc<Slot<V>>, S>>,
    capacity: usize,
}

impl<K: Eq + Hash + Clone, V: Clone, S: BuildHasher + Default> Cache<K, V, S> {
    pub fn new(capacity: usize) -> Cache<K, V, S> {
        Cache { slots: RwLock::new(HashMap::default()), capacity }
    }

    fn slot(&self, key: &K) -> Arc<Slot<V>> {
        if let Some(slot) = self.slots.read().unwrap_or_else(|e| e.into_inner()).get(key) {
            return slot.clone();
        }
        let mut slots = self.slots.write().unwrap_or_else(|e| e.into_inner());
        if let Some(slot) = slots.get(key) {
            return slot.clone();
        }
        if slots.len() >= self.capacity {
            // Drop the expired entries (and, if that is not enough, the idle ones) before growing; a slot some
            // caller holds is being fetched.
            let now = Instant::now();
            slots
                .retain(|_, slot| Arc::strong_count(slot) > 1 || slot.value.load().as_ref().is_some_and(|e| e.1 > now));
            if slots.len() >= self.capacity {
                slots.retain(|_, slot| Arc::strong_count(slot) > 1);
            }
        }
        let empty = || Arc::new(Slot { value: ArcSwapOption::empty(), fetching: tokio::sync::Mutex::new(()) });
        slots.entry(key.clone()).or_insert_with(empty).clone()
    }

    /// The cached value, or the result of `fetch` (value and time to live) stored for later callers. An error
    /// is returned to every caller waiting on this fetch and nothing is stored. `force` refetches even when a
    /// value is cached.
    pub async fn get_or_fetch<E, F, Fut>(&self, key: &K, force: bool, fetch: F) -> Result<V, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<(V, Duration), E>>,
    {
        if !force && let Some(value) = self.peek(key) {
            return Ok(value);
        }
        let slot = self.slot(key);
        let _fetching = slot.fetching.lock().await;
        // Another caller may have fetched while this one waited.
        if !force && let Some(value) = slot.fresh(Instant::now()) {
            return Ok(value);
        }
        let (value, ttl) = fetch().await?;
        if !ttl.is_zero() {
            slot.value.store(Some(Arc::new((value.clone(), Instant::now() + ttl))));
        }
        Ok(value)
    }

    /// The cached value, if fresh, without waiting for a fetch in progress.
    pub fn peek(&self, key: &K) -> Option<V> {
        self.slots.read().unwrap_or_else(|e| e.into_inner()).get(key)?.fresh(Instant::now())
    }

    pub fn remove(&self, key: &K) {
        self.slots.write().unwrap_or_else(|e| e.into_inner()).remove(key);
    }

    /// Forgets every entry (fetches in progress finish for their waiters, then are not kept).
    pub fn clear(&self) {
        self.slots.write().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn concurrent_misses_fetch_once_and_errors_are_not_kept() {
        let cache: Arc<Cache<&str, u32>> = Arc::new(Cache::new(10));
        let fetches = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let (cache, fetches) = (cache.clone(), fetches.clone());
            tasks.push(tokio::spawn(async move {
                cache
                    .get_or_fetch(&"k", false, || async {
                        fetches.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        Ok::<_, ()>((7, Duration::from_secs(60)))
                    })
                    .await
            }));
        }
        for task in tasks {
            assert_eq!(task.await.unwrap(), Ok(7));
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
        let failed = cache.get_or_fetch(&"e", false, || async { Err::<(u32, Duration), _>("down") }).await;
        assert_eq!(failed, Err("down"));
        assert_eq!(cache.peek(&"e"), None);
        assert_eq!(cache.peek(&"k"), Some(7));
    }
}
