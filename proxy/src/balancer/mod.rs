//! Choosing a peer for a service whose host names an upstream (`proxy.md` §8): weighted round-robin over
//! the upstream's targets, precomputed once per snapshot as a smooth sequence and walked with one atomic
//! counter per request.

use std::sync::atomic::{AtomicUsize, Ordering};

use crate::model::entities::target::Target;
use crate::model::entities::upstream::Upstream;

/// One target as the gateway connects to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    pub host: String,
    pub port: u16,
}

#[derive(Debug)]
pub struct Balancer {
    pub upstream: Upstream,
    peers: Vec<Peer>,
    /// Indexes into `peers`, each appearing in proportion to its weight, interleaved.
    sequence: Vec<u32>,
    next: AtomicUsize,
}

/// The sequence is capped; weights are scaled down past it, keeping their proportions roughly.
const MAX_SEQUENCE: u64 = 10_000;

impl Balancer {
    pub fn new(upstream: Upstream, targets: &[Target]) -> Balancer {
        let mut peers = Vec::new();
        let mut weights = Vec::new();
        for target in targets.iter().filter(|t| t.weight > 0) {
            if let Some(peer) = parse_peer(&target.target) {
                peers.push(peer);
                weights.push(u64::from(target.weight));
            }
        }
        let sequence = smooth_sequence(&weights);
        Balancer { upstream, peers, sequence, next: AtomicUsize::new(0) }
    }

    /// The next peer, or `None` when no target can take traffic (all weights 0, none configured).
    pub fn next_peer(&self) -> Option<&Peer> {
        if self.sequence.is_empty() {
            return None;
        }
        let at = self.next.fetch_add(1, Ordering::Relaxed) % self.sequence.len();
        self.peers.get(self.sequence[at] as usize)
    }
}

/// nginx's smooth weighted round-robin, unrolled into one period.
fn smooth_sequence(weights: &[u64]) -> Vec<u32> {
    let total: u64 = weights.iter().sum();
    if total == 0 {
        return Vec::new();
    }
    let divisor = weights.iter().copied().fold(0, gcd).max(1);
    let mut weights: Vec<u64> = weights.iter().map(|w| w / divisor).collect();
    let mut total: u64 = weights.iter().sum();
    if total > MAX_SEQUENCE {
        weights = weights.iter().map(|w| (w * MAX_SEQUENCE / total).max(1)).collect();
        total = weights.iter().sum();
    }
    let mut current = vec![0i64; weights.len()];
    let mut sequence = Vec::with_capacity(total as usize);
    for _ in 0..total {
        for (c, w) in current.iter_mut().zip(&weights) {
            *c += *w as i64;
        }
        let best =
            (0..current.len()).max_by_key(|&i| (current[i], std::cmp::Reverse(i))).expect("weights are not empty");
        current[best] -= total as i64;
        sequence.push(best as u32);
    }
    sequence
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// `host:port` or `[v6]:port`.
fn parse_peer(target: &str) -> Option<Peer> {
    let (host, port) = target.rsplit_once(':')?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    Some(Peer { host: host.to_string(), port: port.parse().ok()? })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn balancer(weights: &[u32]) -> Balancer {
        let upstream: Upstream = serde_json::from_value(json!({"id": uuid::Uuid::nil(), "name": "u"})).unwrap();
        let targets: Vec<Target> = weights
            .iter()
            .enumerate()
            .map(|(i, w)| {
                serde_json::from_value(
                    json!({"id": uuid::Uuid::from_u128(i as u128), "upstream": {"id": uuid::Uuid::nil()},
                                             "target": format!("10.0.0.{i}:80"), "weight": w}),
                )
                .unwrap()
            })
            .collect();
        Balancer::new(upstream, &targets)
    }

    #[test]
    fn weights_share_the_traffic_and_interleave() {
        let b = balancer(&[100, 50, 0]);
        let picks: Vec<String> = (0..6).map(|_| b.next_peer().unwrap().host.clone()).collect();
        assert_eq!(picks.iter().filter(|h| *h == "10.0.0.0").count(), 4);
        assert_eq!(picks.iter().filter(|h| *h == "10.0.0.1").count(), 2);
        assert!(!picks.contains(&"10.0.0.2".to_string()), "weight 0 never gets traffic");
        assert_ne!(picks[0], picks[1], "smooth: the heavier target does not take a run first");
    }

    #[test]
    fn no_usable_target_means_no_peer() {
        assert_eq!(balancer(&[0, 0]).next_peer(), None);
        assert_eq!(balancer(&[]).next_peer(), None);
    }

    #[test]
    fn large_weights_are_scaled_into_a_bounded_sequence() {
        let b = balancer(&[65535, 65534, 1]);
        assert!(b.sequence.len() <= MAX_SEQUENCE as usize + 3);
        let picks: Vec<String> = (0..b.sequence.len()).map(|_| b.next_peer().unwrap().host.clone()).collect();
        assert!(picks.contains(&"10.0.0.2".to_string()), "even the lightest target gets its share");
    }
}
