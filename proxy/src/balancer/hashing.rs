//! Consistent hashing (`proxy.md` §8.2): the CRC32 of a request attribute chosen by `hash_on` (then
//! `hash_fallback`) is looked up on a ring of about `slots` points, each target owning points in proportion to
//! its weight. A target's points depend only on its own name, so adding or removing one moves few keys.

use std::fmt::Write as _;
use std::net::IpAddr;

use http::header::{COOKIE, HeaderMap, HeaderName, HeaderValue};
use uuid::Uuid;

use super::Member;
use crate::model::entities::upstream::Upstream;

/// CRC-32 (IEEE), as `ngx.crc32_long`; fed through `fmt::Write` so numbers and addresses hash without
/// being formatted into a heap string.
#[derive(Debug, Clone, Copy)]
pub struct Crc32(u32);

const TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
};

impl Crc32 {
    pub fn new() -> Crc32 {
        Crc32(0xFFFF_FFFF)
    }

    pub fn update(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = TABLE[((self.0 ^ u32::from(b)) & 0xFF) as usize] ^ (self.0 >> 8);
        }
    }

    pub fn finish(self) -> u32 {
        !self.0
    }

    pub fn of(bytes: &[u8]) -> u32 {
        let mut crc = Crc32::new();
        crc.update(bytes);
        crc.finish()
    }
}

impl Default for Crc32 {
    fn default() -> Self {
        Crc32::new()
    }
}

impl std::fmt::Write for Crc32 {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.update(s.as_bytes());
        Ok(())
    }
}

/// What a request is hashed on.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Source {
    /// The consumer's id, else the credential's.
    Consumer,
    Ip,
    Header(HeaderName),
    /// A cookie; when the client has none, a new one is made up and set on the response.
    Cookie {
        name: String,
        path: String,
    },
}

/// The compiled `hash_on` / `hash_fallback` pair of an upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HashOn {
    sources: Vec<Source>,
}

/// The request attributes a hash can be taken from.
#[derive(Debug, Clone, Copy)]
pub struct HashRequest<'a> {
    pub headers: &'a HeaderMap,
    pub client_addr: IpAddr,
    pub consumer: Option<Uuid>,
    pub credential: Option<&'a str>,
}

/// A request's hash, and the cookie to set when the gateway made the hashed value up.
#[derive(Debug, Clone, Default)]
pub struct Hashed {
    pub value: Option<u32>,
    pub set_cookie: Option<HeaderValue>,
}

impl HashOn {
    pub fn new(upstream: &Upstream) -> HashOn {
        let source = |on: &str, header: &Option<String>| match on {
            "consumer" => Some(Source::Consumer),
            "ip" => Some(Source::Ip),
            "header" => header.as_deref().and_then(|h| HeaderName::from_bytes(h.as_bytes()).ok()).map(Source::Header),
            "cookie" => upstream
                .hash_on_cookie
                .clone()
                .map(|name| Source::Cookie { name, path: upstream.hash_on_cookie_path.clone() }),
            _ => None,
        };
        let mut sources: Vec<Source> = source(&upstream.hash_on, &upstream.hash_on_header).into_iter().collect();
        if !sources.is_empty() {
            sources.extend(source(&upstream.hash_fallback, &upstream.hash_fallback_header));
        }
        HashOn { sources }
    }

    /// Whether a source is a request header (or cookie).
    pub fn reads_headers(&self) -> bool {
        self.sources.iter().any(|source| matches!(source, Source::Header(_) | Source::Cookie { .. }))
    }

    /// The first source the request has; no value means round-robin.
    pub fn hash(&self, request: &HashRequest<'_>) -> Hashed {
        self.sources.iter().find_map(|source| source.hash(request)).unwrap_or_default()
    }
}

impl Source {
    fn hash(&self, request: &HashRequest<'_>) -> Option<Hashed> {
        let mut crc = Crc32::new();
        match self {
            Source::Consumer => match (request.consumer, request.credential) {
                (Some(consumer), _) => write!(crc, "{consumer}").ok()?,
                (None, Some(credential)) => crc.update(credential.as_bytes()),
                (None, None) => return None,
            },
            Source::Ip => write!(crc, "{}", request.client_addr).ok()?,
            Source::Header(name) => {
                // A repeated header hashes as its values concatenated, as Kong's `table.concat`.
                let mut values = request.headers.get_all(name).iter().peekable();
                values.peek()?;
                values.for_each(|v| crc.update(v.as_bytes()));
            }
            Source::Cookie { name, path } => match cookie(request.headers, name) {
                Some(value) => crc.update(value.as_bytes()),
                None => {
                    let made_up = Uuid::new_v4().to_string();
                    crc.update(made_up.as_bytes());
                    let set_cookie = HeaderValue::from_str(&format!("{name}={made_up}; Path={path}")).ok();
                    return Some(Hashed { value: Some(crc.finish()), set_cookie });
                }
            },
        }
        Some(Hashed { value: Some(crc.finish()), set_cookie: None })
    }
}

/// A cookie's value from the request's `Cookie` headers (names compare as nginx's `$cookie_` does).
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| n.trim().eq_ignore_ascii_case(name))
        .map(|(_, value)| value.trim())
}

/// Points on the hash ring: `(point, member index)`, sorted by point.
#[derive(Debug, Clone, Default)]
pub struct Ring {
    points: Vec<(u32, u32)>,
}

impl Ring {
    pub fn new(members: &[Member], slots: u32) -> Ring {
        let total: u64 = members.iter().map(|m| u64::from(m.weight)).sum();
        if total == 0 {
            return Ring::default();
        }
        let mut points = Vec::with_capacity(slots as usize + members.len());
        for (index, member) in members.iter().enumerate() {
            let share = (u64::from(slots) * u64::from(member.weight) + total / 2) / total;
            for k in 0..share.max(1) {
                let mut crc = Crc32::new();
                let _ = write!(crc, "{} {k}", member.health.target);
                points.push((crc.finish(), index as u32));
            }
        }
        // Ties broken by target name, so the ring does not depend on the order targets were listed in.
        points.sort_unstable_by(|a, b| {
            a.0.cmp(&b.0).then_with(|| members[a.1 as usize].health.target.cmp(&members[b.1 as usize].health.target))
        });
        Ring { points }
    }

    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// The members clockwise from `hash`, once around the ring.
    pub fn candidates(&self, hash: u32) -> impl Iterator<Item = usize> + '_ {
        let len = self.points.len();
        let start = self.points.partition_point(|p| p.0 < hash);
        (0..len).map(move |k| self.points[(start + k) % len].1 as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_the_standard_check_value() {
        assert_eq!(Crc32::of(b"123456789"), 0xCBF4_3926);
        let mut split = Crc32::new();
        split.update(b"1234");
        let _ = write!(split, "{}", 56789);
        assert_eq!(split.finish(), 0xCBF4_3926, "hashing in pieces is hashing the concatenation");
    }

    #[test]
    fn cookies_are_found_among_several_headers() {
        let mut headers = HeaderMap::new();
        headers.append(COOKIE, HeaderValue::from_static("a=1; session = xyz"));
        headers.append(COOKIE, HeaderValue::from_static("other=2"));
        assert_eq!(cookie(&headers, "session"), Some("xyz"));
        assert_eq!(cookie(&headers, "other"), Some("2"));
        assert_eq!(cookie(&headers, "missing"), None);
    }
}
