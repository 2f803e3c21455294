//! Weighted round-robin: nginx's smooth weighted sequence, unrolled into one period once per snapshot and
//! walked with one atomic counter per request.

/// The sequence is capped; weights are scaled down past it, keeping their proportions roughly.
pub const MAX_SEQUENCE: u64 = 10_000;

/// Indexes into the members, each appearing in proportion to its weight, interleaved.
pub fn smooth_sequence(weights: &[u64]) -> Vec<u32> {
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
        let Some(best) = (0..current.len()).max_by_key(|&i| (current[i], std::cmp::Reverse(i))) else { break };
        current[best] -= total as i64;
        sequence.push(best as u32);
    }
    sequence
}

/// The members in sequence order from position `start`, once around.
pub fn candidates(sequence: &[u32], start: usize) -> impl Iterator<Item = usize> + '_ {
    let len = sequence.len();
    (0..len).map(move |k| sequence[(start.wrapping_add(k)) % len] as usize)
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_share_the_sequence_and_interleave() {
        let sequence = smooth_sequence(&[100, 50]);
        assert_eq!(sequence, [0, 1, 0]);
        assert!(smooth_sequence(&[0, 0]).is_empty());
    }

    #[test]
    fn large_weights_are_scaled_into_a_bounded_sequence() {
        let sequence = smooth_sequence(&[65535, 65534, 1]);
        assert!(sequence.len() <= MAX_SEQUENCE as usize + 3);
        assert!(sequence.contains(&2), "even the lightest member gets its share");
    }

    #[test]
    fn candidates_wrap_around_once() {
        let sequence = [0, 1, 2];
        assert_eq!(candidates(&sequence, 4).collect::<Vec<_>>(), [1, 2, 0]);
        assert_eq!(candidates(&sequence, usize::MAX).count(), 3);
    }
}
