//! Choosing a peer for a service whose host names an upstream (`proxy.md` §8): weighted round-robin,
//! consistent hashing or least-connections over the upstream's targets with weight above 0, skipping the
//! ones health checks (§9) took out of rotation.
//!
//! A balancer is built once per snapshot; the targets' health comes from the node's
//! [`HealthRegistry`], so it outlives the balancer. Picking a peer allocates nothing.
//!
//! A target named by a host name that resolved to N addresses (§8.1) is N members, each with the target's
//! full weight, connecting to its address while the Host header and SNI keep the name. Its members share the
//! target's health (Kong tracks each address; the `/health` view here stays per target).

mod hashing;
mod least_connections;
mod round_robin;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

pub use hashing::{Crc32, HashRequest, Hashed};

use crate::health::{self, HealthRegistry, InFlight, Observation, Rules, TargetHealth};
use crate::model::entities::target::Target;
use crate::model::entities::upstream::Upstream;
use hashing::{HashOn, Ring};

/// One target as the gateway connects to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    pub host: String,
    pub port: u16,
}

/// A target the balancer may choose.
#[derive(Debug)]
pub struct Member {
    pub peer: Peer,
    /// The address to connect to when the target's host name was resolved for this member; else the peer's
    /// host is resolved at connect time.
    pub address: Option<String>,
    pub weight: u32,
    pub health: Arc<TargetHealth>,
}

impl Member {
    /// Where to open the connection: the resolved address, else the target's host.
    pub fn connect_host(&self) -> &str {
        self.address.as_deref().unwrap_or(&self.peer.host)
    }
}

/// The addresses target host names resolved to, by lower-case host name.
pub type Resolved = std::collections::HashMap<String, Vec<std::net::IpAddr>>;

#[derive(Debug)]
enum Algorithm {
    RoundRobin,
    /// Requests without a hash value fall back to round-robin.
    ConsistentHashing {
        ring: Ring,
        on: HashOn,
    },
    LeastConnections,
}

/// How one proxied attempt ended, as passive health checks count it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    Responded(u16),
    /// The connection failed or broke before a response head arrived.
    Failed,
    TimedOut,
}

#[derive(Debug)]
pub struct Balancer {
    pub upstream: Upstream,
    members: Vec<Member>,
    /// Weight-0 targets: never chosen, but their state is kept (manual overrides, `/health`).
    idle: Vec<Arc<TargetHealth>>,
    algorithm: Algorithm,
    /// The round-robin order (also the fallback of consistent hashing).
    sequence: Vec<u32>,
    /// `None` when passive checks cannot change any target's health: nothing to count.
    passive: Option<Rules>,
    next: AtomicUsize,
}

impl Balancer {
    pub fn new(upstream: Upstream, targets: &[Target], registry: &HealthRegistry, resolved: &Resolved) -> Balancer {
        let mut members = Vec::new();
        let mut idle = Vec::new();
        for target in targets {
            let health = registry.target(upstream.id, &target.target);
            match parse_peer(&target.target) {
                Some(peer) if target.weight > 0 => {
                    let weight = target.weight;
                    match resolved.get(&peer.host.to_ascii_lowercase()).filter(|addresses| !addresses.is_empty()) {
                        Some(addresses) => members.extend(addresses.iter().map(|address| Member {
                            peer: peer.clone(),
                            address: Some(address.to_string()),
                            weight,
                            health: health.clone(),
                        })),
                        None => members.push(Member { peer, address: None, weight, health }),
                    }
                }
                _ => idle.push(health),
            }
        }
        let algorithm = match upstream.algorithm.as_str() {
            "consistent-hashing" => {
                Algorithm::ConsistentHashing { ring: Ring::new(&members, upstream.slots), on: HashOn::new(&upstream) }
            }
            "least-connections" => Algorithm::LeastConnections,
            _ => Algorithm::RoundRobin,
        };
        let sequence = match algorithm {
            Algorithm::LeastConnections => Vec::new(),
            _ => round_robin::smooth_sequence(&members.iter().map(|m| u64::from(m.weight)).collect::<Vec<_>>()),
        };
        let checks = &upstream.healthchecks;
        let passive = checks.passive_enabled().then(|| Rules::passive(&checks.passive));
        Balancer { upstream, members, idle, algorithm, sequence, passive, next: AtomicUsize::new(0) }
    }

    pub fn members(&self) -> &[Member] {
        &self.members
    }

    /// Every target state this balancer keeps alive in the registry, weight 0 included.
    pub fn tracked(&self) -> impl Iterator<Item = &Arc<TargetHealth>> {
        self.members.iter().map(|m| &m.health).chain(&self.idle)
    }

    /// The request's hash value (consistent hashing only), computed once per request.
    /// Whether [`Balancer::hash`] reads the request's headers.
    pub fn hashes_headers(&self) -> bool {
        matches!(&self.algorithm, Algorithm::ConsistentHashing { on, .. } if on.reads_headers())
    }

    pub fn hash(&self, request: &HashRequest<'_>) -> Hashed {
        match &self.algorithm {
            Algorithm::ConsistentHashing { on, .. } => on.hash(request),
            _ => Hashed::default(),
        }
    }

    /// The member for the next attempt, avoiding `avoid` (the one that just failed) when another is
    /// healthy. `None` when no target can take traffic or the upstream is below its health threshold.
    pub fn pick(&self, hash: Option<u32>, avoid: Option<usize>) -> Option<usize> {
        if self.members.is_empty() || !self.above_threshold() {
            return None;
        }
        match (&self.algorithm, hash) {
            (Algorithm::LeastConnections, _) => {
                least_connections::pick(&self.members, self.next.fetch_add(1, Ordering::Relaxed), avoid)
            }
            (Algorithm::ConsistentHashing { ring, .. }, Some(hash)) if !ring.is_empty() => {
                self.first_usable(ring.candidates(hash), avoid)
            }
            _ if self.sequence.is_empty() => None,
            _ => {
                let start = self.next.fetch_add(1, Ordering::Relaxed);
                self.first_usable(round_robin::candidates(&self.sequence, start), avoid)
            }
        }
    }

    pub fn member(&self, index: usize) -> Option<&Member> {
        self.members.get(index)
    }

    /// Counts the attempt as in flight until the guard drops (only least-connections needs the count).
    pub fn begin(&self, index: usize) -> Option<InFlight> {
        match self.algorithm {
            Algorithm::LeastConnections => self.members.get(index).map(|m| m.health.begin()),
            _ => None,
        }
    }

    /// Feeds one attempt's outcome to the passive health checks.
    pub fn report(&self, index: usize, attempt: Attempt) {
        let (Some(rules), Some(member)) = (&self.passive, self.members.get(index)) else { return };
        let observation = match attempt {
            Attempt::Responded(status) => match rules.judge(status) {
                Some(observation) => observation,
                None => return,
            },
            Attempt::Failed => Observation::TcpFailure,
            Attempt::TimedOut => Observation::Timeout,
        };
        member.health.observe(observation, &rules.limits, "passive");
    }

    /// Whether enough of the weight is healthy (`healthchecks.threshold`, percent).
    fn above_threshold(&self) -> bool {
        let threshold = self.upstream.healthchecks.threshold;
        threshold <= 0.0
            || health::upstream_is_healthy(threshold, self.members.iter().map(|m| (m.weight, m.health.is_healthy())))
    }

    fn first_usable(&self, candidates: impl Iterator<Item = usize>, avoid: Option<usize>) -> Option<usize> {
        let mut fallback = None;
        for index in candidates {
            if !self.members.get(index).is_some_and(|m| m.health.is_healthy()) {
                continue;
            }
            if Some(index) == avoid {
                fallback = Some(index);
                continue;
            }
            return Some(index);
        }
        fallback
    }
}

/// The host names (not IP literals) of `targets` with weight above 0, lower-case: what DNS must resolve.
pub fn target_host_names(targets: &[Target]) -> Vec<String> {
    let mut names: Vec<String> = targets
        .iter()
        .filter(|target| target.weight > 0)
        .filter_map(|target| parse_peer(&target.target))
        .map(|peer| peer.host.to_ascii_lowercase())
        .filter(|host| host.parse::<std::net::IpAddr>().is_err())
        .collect();
    names.sort();
    names.dedup();
    names
}

/// `host:port` or `[v6]:port`.
fn parse_peer(target: &str) -> Option<Peer> {
    let (host, port) = target.rsplit_once(':')?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    Some(Peer { host: host.to_string(), port: port.parse().ok()? })
}

#[cfg(test)]
mod tests;
