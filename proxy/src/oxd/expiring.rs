//! Short-lived values the module must remember between two commands: the `state` and `nonce` of a code flow
//! (with its PKCE verifier), the resources behind a permission ticket and the request objects of
//! `get-request-object-uri` (`oxd.md` §1.9 `oxd_expiring`).
//! The server keeps them in its database so that any cluster node can finish a flow another node started;
//! [`MemoryExpiring`] serves tests and single-process use.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::site::BoxFuture;

/// What a stored value is, so a `state` can never be redeemed as a `nonce`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExpiringKind {
    State,
    Nonce,
    Ticket,
    RequestObject,
}

impl ExpiringKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ExpiringKind::State => "state",
            ExpiringKind::Nonce => "nonce",
            ExpiringKind::Ticket => "ticket",
            ExpiringKind::RequestObject => "request_object",
        }
    }
}

/// Where expiring values are kept. `take` removes the value: each one is good once.
pub trait ExpiringStore: Send + Sync {
    fn put<'a>(
        &'a self,
        kind: ExpiringKind,
        key: &'a str,
        value: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<(), String>>;
    fn take<'a>(&'a self, kind: ExpiringKind, key: &'a str) -> BoxFuture<'a, Result<Option<String>, String>>;
    /// The value without consuming it.
    fn peek<'a>(&'a self, kind: ExpiringKind, key: &'a str) -> BoxFuture<'a, Result<Option<String>, String>>;
}

/// Expiring values in memory; expired entries are dropped whenever a value is stored.
#[derive(Default)]
pub struct MemoryExpiring {
    values: Mutex<HashMap<(ExpiringKind, String), (String, Instant)>>,
}

impl MemoryExpiring {
    fn values(&self) -> std::sync::MutexGuard<'_, HashMap<(ExpiringKind, String), (String, Instant)>> {
        self.values.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl ExpiringStore for MemoryExpiring {
    fn put<'a>(
        &'a self,
        kind: ExpiringKind,
        key: &'a str,
        value: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let now = Instant::now();
            let mut values = self.values();
            values.retain(|_, (_, until)| *until > now);
            values.insert((kind, key.to_string()), (value.to_string(), now + ttl));
            Ok(())
        })
    }

    fn take<'a>(&'a self, kind: ExpiringKind, key: &'a str) -> BoxFuture<'a, Result<Option<String>, String>> {
        Box::pin(async move {
            let entry = self.values().remove(&(kind, key.to_string()));
            Ok(entry.filter(|(_, until)| *until > Instant::now()).map(|(value, _)| value))
        })
    }

    fn peek<'a>(&'a self, kind: ExpiringKind, key: &'a str) -> BoxFuture<'a, Result<Option<String>, String>> {
        Box::pin(async move {
            let values = self.values();
            let entry = values.get(&(kind, key.to_string()));
            Ok(entry.filter(|(_, until)| *until > Instant::now()).map(|(value, _)| value.clone()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn values_are_good_once_per_kind_and_expire() {
        let store = MemoryExpiring::default();
        store.put(ExpiringKind::State, "s", "v", Duration::from_secs(60)).await.unwrap();
        assert_eq!(store.take(ExpiringKind::Nonce, "s").await.unwrap(), None, "a state is not a nonce");
        assert_eq!(store.peek(ExpiringKind::State, "s").await.unwrap().as_deref(), Some("v"));
        assert_eq!(store.take(ExpiringKind::State, "s").await.unwrap().as_deref(), Some("v"));
        assert_eq!(store.take(ExpiringKind::State, "s").await.unwrap(), None);
        store.put(ExpiringKind::Nonce, "n", "v", Duration::ZERO).await.unwrap();
        assert_eq!(store.take(ExpiringKind::Nonce, "n").await.unwrap(), None);
    }
}
