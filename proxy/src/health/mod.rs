//! Target health (`proxy.md` §9): the node-level registry of every target's state, which outlives the
//! configuration snapshots, and the active checks that probe targets in the background.
//!
//! Balancers are rebuilt with every snapshot but take their targets' [`TargetHealth`] from the registry, so
//! counters, health and in-flight counts carry over a reload. The request path only touches the `Arc`s a
//! balancer holds: an atomic load to skip unhealthy targets, a short uncontended lock to count a report.

mod active;
pub mod counters;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use uuid::Uuid;

pub use counters::{Counters, Limits, Observation, Rules, State, StatusSet};

use crate::balancer::Balancer;

/// One target's health on this node.
#[derive(Debug)]
pub struct TargetHealth {
    pub upstream: Uuid,
    /// The target as stored (`host:port`).
    pub target: String,
    /// Mirrors `counters.state.is_healthy()` so the balancer reads it without the lock.
    healthy: AtomicBool,
    counters: Mutex<Counters>,
    /// Requests being proxied to the target (least-connections).
    in_flight: AtomicU32,
}

impl TargetHealth {
    fn new(upstream: Uuid, target: &str) -> TargetHealth {
        TargetHealth {
            upstream,
            target: target.to_string(),
            healthy: AtomicBool::new(true),
            counters: Mutex::new(Counters::default()),
            in_flight: AtomicU32::new(0),
        }
    }

    pub fn is_healthy(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }

    pub fn state(&self) -> State {
        self.lock().state
    }

    /// Counts one report against `limits`; logs when the target enters or leaves the rotation.
    pub fn observe(&self, observation: Observation, limits: &Limits, source: &'static str) {
        let mut counters = self.lock();
        if let Some(state) = counters.observe(observation, limits) {
            self.publish(state, source);
        }
    }

    /// An operator's override: the given state, counters reset.
    pub fn set_healthy(&self, healthy: bool) {
        let mut counters = self.lock();
        counters.set(healthy);
        self.publish(counters.state, "manual");
    }

    fn publish(&self, state: State, source: &'static str) {
        let was = self.healthy.swap(state.is_healthy(), Ordering::Relaxed);
        if was != state.is_healthy() {
            let health = if state.is_healthy() { "healthy" } else { "unhealthy" };
            tracing::warn!(upstream = %self.upstream, target = %self.target, source, "[healthchecks] target is {health}");
        }
    }

    pub fn in_flight(&self) -> u32 {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// Counts a request to this target until the guard is dropped.
    pub fn begin(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(self.clone())
    }

    fn lock(&self) -> MutexGuard<'_, Counters> {
        // The counters stay consistent whatever a panicking holder did: every update is one assignment.
        self.counters.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// One request in flight to a target; dropping it ends the count.
#[derive(Debug)]
pub struct InFlight(Arc<TargetHealth>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

type Key = (Uuid, String);

/// Every target's health on this node, and the active checks running for the serving configuration.
#[derive(Debug, Default)]
pub struct HealthRegistry {
    targets: Mutex<HashMap<Key, Arc<TargetHealth>>>,
    checks: Mutex<active::Checks>,
}

impl HealthRegistry {
    /// The target's state, created healthy when first seen.
    pub fn target(&self, upstream: Uuid, target: &str) -> Arc<TargetHealth> {
        let mut targets = lock(&self.targets);
        if let Some(found) = targets.get(&(upstream, target.to_string())) {
            return found.clone();
        }
        let created = Arc::new(TargetHealth::new(upstream, target));
        targets.insert((upstream, target.to_string()), created.clone());
        created
    }

    /// The state of a target the node tracks, if any.
    pub fn find(&self, upstream: Uuid, target: &str) -> Option<Arc<TargetHealth>> {
        lock(&self.targets).get(&(upstream, target.to_string())).cloned()
    }

    /// Follows a newly installed configuration: forgets targets it no longer has (a target added again
    /// starts healthy) and starts, restarts or stops the active checks of its upstreams.
    pub fn follow<'a>(&self, balancers: impl IntoIterator<Item = &'a Arc<Balancer>>) {
        let balancers: Vec<&Arc<Balancer>> = balancers.into_iter().collect();
        let live: HashSet<Key> =
            balancers.iter().flat_map(|b| b.tracked().map(|t| (t.upstream, t.target.clone()))).collect();
        lock(&self.targets).retain(|key, _| live.contains(key));
        lock(&self.checks).follow(&balancers);
    }

    /// Stops every active check (node shutdown).
    pub fn stop(&self) {
        lock(&self.checks).follow(&[]);
    }
}

/// Whether an upstream takes traffic: some weight is healthy, and at least `threshold` percent of it.
pub fn upstream_is_healthy(threshold: f64, targets: impl Iterator<Item = (u32, bool)>) -> bool {
    let (mut total, mut available) = (0u64, 0u64);
    for (weight, healthy) in targets {
        total += u64::from(weight);
        if healthy {
            available += u64::from(weight);
        }
    }
    available > 0 && available as f64 * 100.0 >= threshold * total as f64
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Maps and task handles stay usable after a panic elsewhere: each change is a single insert or remove.
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_registry_hands_out_one_state_per_target_and_upstream() {
        let registry = HealthRegistry::default();
        let (u1, u2) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let a = registry.target(u1, "10.0.0.1:80");
        a.set_healthy(false);
        assert!(!registry.target(u1, "10.0.0.1:80").is_healthy(), "the same target gets the same state");
        assert!(registry.target(u2, "10.0.0.1:80").is_healthy(), "another upstream's target is separate");
        assert!(registry.find(u1, "10.0.0.9:80").is_none());
    }

    #[test]
    fn upstream_health_is_the_healthy_share_of_the_weight() {
        let targets = [(100, true), (100, true), (200, false)];
        assert!(upstream_is_healthy(50.0, targets.into_iter()));
        assert!(!upstream_is_healthy(51.0, targets.into_iter()));
        assert!(upstream_is_healthy(0.0, [(1, true)].into_iter()));
        assert!(!upstream_is_healthy(0.0, [(1, false)].into_iter()), "nothing healthy is never enough");
        assert!(!upstream_is_healthy(0.0, std::iter::empty()));
    }

    #[test]
    fn in_flight_counts_until_the_guard_is_dropped() {
        let registry = HealthRegistry::default();
        let target = registry.target(Uuid::nil(), "a:1");
        let (first, second) = (target.begin(), target.begin());
        assert_eq!(target.in_flight(), 2);
        drop(first);
        drop(second);
        assert_eq!(target.in_flight(), 0);
    }

    #[test]
    fn observations_flip_the_lock_free_flag() {
        let target = HealthRegistry::default().target(Uuid::nil(), "a:1");
        let limits = Limits { timeouts: 2, successes: 1, ..Limits::default() };
        target.observe(Observation::Timeout, &limits, "passive");
        assert!(target.is_healthy());
        target.observe(Observation::Timeout, &limits, "passive");
        assert!(!target.is_healthy());
        assert_eq!(target.state(), State::Unhealthy);
        target.observe(Observation::Success, &limits, "active");
        assert!(target.is_healthy());
    }
}
