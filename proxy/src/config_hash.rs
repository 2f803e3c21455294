//! A fast hasher for maps keyed by what the configuration names (plugin scopes, upstream peers, protection
//! document segments): keys that come from administrators, never from clients (requests only look keys up),
//! so the map does not need SipHash's protection against chosen collisions. The mixing is FxHash's (rustc's), with a final rotation so the low bits hashbrown
//! indexes with depend on the whole key.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A `HashMap` keyed by configuration values.
pub type ConfigMap<K, V> = HashMap<K, V, BuildHasherDefault<ConfigHasher>>;

#[derive(Debug, Default, Clone, Copy)]
pub struct ConfigHasher {
    hash: u64,
}

const SEED: u64 = 0xf135_7aea_2e62_a9c5;

impl ConfigHasher {
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for ConfigHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            self.add(u64::from_le_bytes(word.try_into().expect("chunks of 8 bytes")));
        }
        // The last 1 to 7 bytes in one word without copying them (a copy of a run-time length is a `memcpy`
        // call, which costs more than the short keys hashed here): overlapping reads, and the length.
        let rest = words.remainder();
        let len = rest.len();
        let tail = match len {
            0 => return,
            1..=3 => u64::from(rest[0]) | u64::from(rest[len / 2]) << 8 | u64::from(rest[len - 1]) << 16,
            _ => {
                let low = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]);
                let high = u32::from_le_bytes([rest[len - 4], rest[len - 3], rest[len - 2], rest[len - 1]]);
                u64::from(low) | u64::from(high) << 32
            }
        };
        self.add(tail ^ (len as u64) << 56);
    }

    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }

    fn write_u16(&mut self, n: u16) {
        self.add(u64::from(n));
    }

    fn write_u32(&mut self, n: u32) {
        self.add(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }

    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    fn finish(&self) -> u64 {
        self.hash.rotate_left(26)
    }
}

#[cfg(test)]
mod tests {
    use std::hash::BuildHasher;

    use super::*;

    #[test]
    fn equal_keys_hash_equal_and_different_keys_spread() {
        let build = BuildHasherDefault::<ConfigHasher>::default();
        let hash = |key: &(&str, u16)| build.hash_one(key);
        assert_eq!(hash(&("127.0.0.1", 80)), hash(&("127.0.0.1", 80)));
        let buckets: std::collections::HashSet<u64> = (0..1000u16).map(|port| hash(&("10.0.0.1", port)) & 63).collect();
        assert!(buckets.len() > 48, "the low bits spread: {} of 64 buckets", buckets.len());
        // Keys that differ only in their last bytes or their length.
        let words = ["a", "aa", "aaa", "ab", "ba", "abc", "acb", "abcd", "abce", "abcdefg", "abcdefh", "bbcdefg"];
        let distinct: std::collections::HashSet<u64> = words.iter().map(|w| build.hash_one(w)).collect();
        assert_eq!(distinct.len(), words.len());
        let mut map: ConfigMap<(String, u16), u16> = ConfigMap::default();
        map.insert(("a".into(), 1), 1);
        assert_eq!(map.get(&("a".to_string(), 1)), Some(&1));
    }
}
