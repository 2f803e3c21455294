//! Idle upstream connections kept for reuse (`proxy.md` §8.3): at most `pool_size` per key, each closed
//! after `max_requests` exchanges or `idle_timeout` without one. The key is the whole upstream identity
//! (address, port, TLS profile, SNI), so a connection is never reused under other TLS settings.
//!
//! The lock guards plain vectors and is never held across an await.

use std::borrow::Borrow;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use super::h1::Connection;
use crate::config_hash::ConfigMap;

/// Kong's `upstream_keepalive_*` settings; as in Kong, a pool size of 0 turns keep-alive off and 0 for the
/// other two means no limit.
#[derive(Debug, Clone, Copy)]
pub struct Keepalive {
    pub pool_size: usize,
    pub max_requests: u32,
    pub idle_timeout: Duration,
}

impl Keepalive {
    fn fresh(&self, since: Instant) -> bool {
        self.idle_timeout.is_zero() || since.elapsed() < self.idle_timeout
    }

    fn worn_out(&self, exchanges: u32) -> bool {
        self.max_requests != 0 && exchanges >= self.max_requests
    }
}

impl Default for Keepalive {
    fn default() -> Self {
        Keepalive { pool_size: 60, max_requests: 100, idle_timeout: Duration::from_secs(60) }
    }
}

/// Which connections are interchangeable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolKey {
    pub host: Box<str>,
    pub port: u16,
    /// The TLS profile's fingerprint and the SNI; `None` for plain HTTP.
    pub tls: Option<(u64, Box<str>)>,
}

/// A [`PoolKey`] borrowed from a request's destination: checkouts look connections up without building one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyRef<'a> {
    pub host: &'a str,
    pub port: u16,
    pub tls: Option<(u64, &'a str)>,
}

impl KeyRef<'_> {
    pub fn owned(self) -> PoolKey {
        PoolKey {
            host: self.host.into(),
            port: self.port,
            tls: self.tls.map(|(fingerprint, sni)| (fingerprint, sni.into())),
        }
    }
}

/// What the map hashes and compares, owned or borrowed (the map's keys borrow as `dyn AsKeyRef`).
trait AsKeyRef {
    fn key_ref(&self) -> KeyRef<'_>;
}

impl AsKeyRef for PoolKey {
    fn key_ref(&self) -> KeyRef<'_> {
        KeyRef {
            host: &self.host,
            port: self.port,
            tls: self.tls.as_ref().map(|(fingerprint, sni)| (*fingerprint, &**sni)),
        }
    }
}

impl AsKeyRef for KeyRef<'_> {
    fn key_ref(&self) -> KeyRef<'_> {
        *self
    }
}

impl Hash for PoolKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.key_ref().hash(state);
    }
}

impl<'a> Borrow<dyn AsKeyRef + 'a> for PoolKey {
    fn borrow(&self) -> &(dyn AsKeyRef + 'a) {
        self
    }
}

impl Hash for dyn AsKeyRef + '_ {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.key_ref().hash(state);
    }
}

impl PartialEq for dyn AsKeyRef + '_ {
    fn eq(&self, other: &Self) -> bool {
        self.key_ref() == other.key_ref()
    }
}

impl Eq for dyn AsKeyRef + '_ {}

struct Idle {
    connection: Connection,
    since: Instant,
}

pub struct Pool {
    idle: Mutex<ConfigMap<PoolKey, Vec<Idle>>>,
    keepalive: Keepalive,
    reaping: AtomicBool,
}

impl Pool {
    pub fn new(keepalive: Keepalive) -> Arc<Pool> {
        Arc::new(Pool { idle: Mutex::default(), keepalive, reaping: AtomicBool::new(false) })
    }

    /// The most recently used idle connection of `key` that the upstream has not closed.
    pub fn checkout(&self, key: KeyRef<'_>) -> Option<Connection> {
        let mut idle = self.idle.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let list = idle.get_mut(&key as &dyn AsKeyRef)?;
        while let Some(mut entry) = list.pop() {
            if self.keepalive.fresh(entry.since) && !entry.connection.is_closed() {
                return Some(entry.connection);
            }
        }
        None
    }

    /// Keeps a connection whose exchange is complete, unless it is worn out, closed, or the pool is full.
    pub fn checkin(self: &Arc<Self>, connection: Connection) {
        // Bytes past the response are a broken upstream; a close is found at the next checkout.
        if self.keepalive.worn_out(connection.exchanges) || !connection.read_buf.is_empty() {
            return;
        }
        connection.bounds.disarm_reading();
        {
            let mut idle = self.idle.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            let list = match idle.get_mut(&connection.key.key_ref() as &dyn AsKeyRef) {
                Some(list) => list,
                None => idle.entry(connection.key.clone()).or_default(),
            };
            if list.len() >= self.keepalive.pool_size {
                return;
            }
            list.push(Idle { connection, since: Instant::now() });
        }
        self.start_reaping();
    }

    /// Idle connections of every key, for tests and diagnostics.
    pub fn idle_count(&self) -> usize {
        self.idle.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).values().map(Vec::len).sum()
    }

    /// Closes idle connections past their idle timeout even when their key sees no more traffic; the task
    /// ends with the pool.
    fn start_reaping(self: &Arc<Self>) {
        if self.keepalive.idle_timeout.is_zero() || self.reaping.swap(true, Ordering::Relaxed) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            self.reaping.store(false, Ordering::Relaxed);
            return;
        };
        let pool: Weak<Pool> = Arc::downgrade(self);
        let every = (self.keepalive.idle_timeout / 2).max(Duration::from_millis(500));
        runtime.spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                let Some(pool) = pool.upgrade() else { return };
                pool.reap();
            }
        });
    }

    fn reap(&self) {
        let mut idle = self.idle.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        idle.retain(|_, list| {
            list.retain_mut(|entry| self.keepalive.fresh(entry.since) && !entry.connection.is_closed());
            !list.is_empty()
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_means_no_limit_for_requests_and_idle_time() {
        let kong = Keepalive::default();
        assert!(!kong.worn_out(99) && kong.worn_out(100));
        assert!(kong.fresh(Instant::now()));
        let unlimited = Keepalive { pool_size: 1, max_requests: 0, idle_timeout: Duration::ZERO };
        assert!(!unlimited.worn_out(u32::MAX));
        // (An Instant cannot go back 61 s on a machine that booted less than 61 s ago.)
        if let Some(long_ago) = Instant::now().checked_sub(Duration::from_secs(61)) {
            assert!(!kong.fresh(long_ago), "60 s idle is too long");
            assert!(unlimited.fresh(long_ago));
        }
    }
}
