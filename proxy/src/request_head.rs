//! What the proxy refuses in a request head before routing: heads larger than the
//! `large_client_header_buffers` limits (494, `proxy.md` §13) and a missing, duplicated or invalid `Host`
//! (400, §7, §14), with nginx's rules so clients see what Kong showed them.
//!
//! hyper's parsers keep a hard cap above these limits (see [`HeadLimits::parser_cap`]): a head between the
//! limit and the cap reaches the gateway and gets the 494 error page; a larger one is cut off by hyper with a
//! bare 431 (HTTP/1.1, then the connection closes) or an h2 431 and `REFUSED_STREAM`.

use http::request::Parts;
use http::{HeaderMap, StatusCode, Uri, Version, header};

/// What the proxy's own HTTP/1.1 parser learnt of a request head while parsing it, so that the gateway need
/// not look again. A head that came another way (hyper) is [`HeadFacts::UNKNOWN`]: every header "may" be there.
/// The header facts hold for the head as the client sent it, that is until a plugin runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeadFacts {
    /// The head passes the gateway's head checks (size limits, one valid `Host`).
    pub checked: bool,
    /// It may have a `Content-Type` line.
    pub content_type: bool,
    /// It may have an `X-Forwarded-For` line.
    pub forwarded_for: bool,
}

impl HeadFacts {
    pub const UNKNOWN: HeadFacts = HeadFacts { checked: false, content_type: true, forwarded_for: true };
}

/// nginx's `large_client_header_buffers`: a request line or one header line must fit in one buffer, the
/// whole head in all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeadLimits {
    /// Longest request line or header line, in bytes.
    pub line: usize,
    /// Largest head (request line and every header line), in bytes.
    pub total: usize,
}

impl Default for HeadLimits {
    /// Gluu Gateway's `8 16k` (raised from nginx's `4 8k` for OpenID Connect session cookies).
    fn default() -> Self {
        HeadLimits { line: 16 * 1024, total: 8 * 16 * 1024 }
    }
}

impl HeadLimits {
    /// Parses nginx's `NUMBER SIZE` (`8 16k`, `4 8k`, `2 1m`); sizes take `k` or `m`, and are at least 1 KiB
    /// so a request line always fits.
    pub fn parse(value: &str) -> Result<HeadLimits, String> {
        let mut words = value.split_whitespace();
        let (Some(number), Some(size), None) = (words.next(), words.next(), words.next()) else {
            return Err(format!("'{value}' is not NUMBER SIZE (for example '8 16k')"));
        };
        let number: usize = number
            .parse()
            .ok()
            .filter(|n| (1..=1024).contains(n))
            .ok_or_else(|| format!("'{number}' is not a buffer count between 1 and 1024"))?;
        let line = parse_size(size).ok_or_else(|| format!("'{size}' is not a size (for example 16k or 1m)"))?;
        if !(1024..=16 * 1024 * 1024).contains(&line) {
            return Err(format!("'{size}' must be between 1k and 16m"));
        }
        let total = line.checked_mul(number).filter(|t| *t <= 64 * 1024 * 1024).ok_or("more than 64m in total")?;
        Ok(HeadLimits { line, total })
    }

    /// The hard cap given to hyper's parsers: twice the total, so that heads just over the limit still reach
    /// the gateway and get Kong's 494 page, while no client can make a connection buffer without bound.
    /// Never below 8 KiB, hyper's minimum buffer (it panics below it).
    pub fn parser_cap(&self) -> usize {
        self.total.saturating_mul(2).max(8 * 1024)
    }

    /// Whether the head fits: the request line, each header line (`name: value`) and their sum with line
    /// ends, as nginx counts them.
    pub fn check(&self, parts: &Parts) -> Result<(), StatusCode> {
        let request_line = parts.method.as_str().len() + 1 + uri_len(&parts.uri) + 1 + "HTTP/1.1".len();
        if request_line > self.line {
            return Err(too_large());
        }
        let mut total = request_line + 2;
        for (name, value) in &parts.headers {
            let line = name.as_str().len() + 2 + value.len();
            if line > self.line {
                return Err(too_large());
            }
            total += line + 2;
        }
        if total + 2 > self.total { Err(too_large()) } else { Ok(()) }
    }
}

/// Kong's (nginx's) 494 "Request header or cookie too large".
fn too_large() -> StatusCode {
    StatusCode::from_u16(494).expect("494 is a valid status code")
}

fn parse_size(size: &str) -> Option<usize> {
    let lower = size.to_ascii_lowercase();
    let (digits, unit) = match lower.strip_suffix('k') {
        Some(digits) => (digits, 1024),
        None => match lower.strip_suffix('m') {
            Some(digits) => (digits, 1024 * 1024),
            None => (lower.as_str(), 1),
        },
    };
    digits.parse::<usize>().ok()?.checked_mul(unit)
}

/// The request target's length as the client sent it, without formatting the URI.
fn uri_len(uri: &Uri) -> usize {
    let path_and_query = uri.path_and_query().map_or(0, |p| p.as_str().len());
    match (uri.scheme_str(), uri.authority()) {
        (Some(scheme), Some(authority)) => scheme.len() + "://".len() + authority.as_str().len() + path_and_query,
        (None, Some(authority)) => authority.as_str().len() + path_and_query,
        _ => path_and_query,
    }
}

/// nginx's `Host` rules: HTTP/1.1 needs one; more than one, or one nginx would not accept, is a 400.
/// HTTP/1.0 may go without (routed with an empty host); HTTP/2 carries the host in `:authority`.
pub fn check_host(version: Version, headers: &HeaderMap) -> Result<(), StatusCode> {
    let mut hosts = headers.get_all(header::HOST).iter();
    match (hosts.next(), hosts.next()) {
        (Some(_), Some(_)) => Err(StatusCode::BAD_REQUEST),
        (Some(host), None) if !valid_host(host.as_bytes()) => Err(StatusCode::BAD_REQUEST),
        (None, _) if version == Version::HTTP_11 => Err(StatusCode::BAD_REQUEST),
        _ => Ok(()),
    }
}

/// `ngx_http_validate_host`: no `/`, control characters, spaces or `..`; not empty once a
/// port and one trailing dot are taken off.
pub(crate) fn valid_host(host: &[u8]) -> bool {
    #[derive(PartialEq)]
    enum State {
        Usual,
        Literal,
        Rest,
    }
    let mut state = State::Usual;
    let mut host_len = host.len();
    let mut dot_pos = None;
    for (i, &ch) in host.iter().enumerate() {
        // Most bytes of a host are none of the ones below: one table load decides that (every request).
        if !HOST_SPECIAL[usize::from(ch)] {
            continue;
        }
        match ch {
            b'.' => {
                if dot_pos.is_some_and(|pos| pos + 1 == i) {
                    return false;
                }
                dot_pos = Some(i);
            }
            b':' if state == State::Usual => {
                host_len = i;
                state = State::Rest;
            }
            b'[' if i == 0 => state = State::Literal,
            b']' if state == State::Literal => {
                host_len = i + 1;
                state = State::Rest;
            }
            b'/' => return false,
            ch if ch <= 0x20 || ch == 0x7f => return false,
            _ => {}
        }
    }
    if host_len > 0 && dot_pos == Some(host_len - 1) {
        host_len -= 1;
    }
    host_len > 0
}

/// The bytes [`valid_host`] looks at.
static HOST_SPECIAL: [bool; 256] = {
    let mut table = [false; 256];
    let mut ch = 0;
    while ch < 256 {
        table[ch] = matches!(ch as u8, b'.' | b':' | b'[' | b']' | b'/' | 0..=0x20 | 0x7f);
        ch += 1;
    }
    table
};

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(uri: &str, headers: &[(&str, &str)]) -> Parts {
        let mut builder = http::Request::builder().uri(uri);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(()).unwrap().into_parts().0
    }

    #[test]
    fn parses_nginx_buffer_settings() {
        assert_eq!(HeadLimits::parse("8 16k"), Ok(HeadLimits::default()));
        assert_eq!(HeadLimits::parse(" 4  8K "), Ok(HeadLimits { line: 8192, total: 32768 }));
        assert_eq!(HeadLimits::parse("2 1m").unwrap().total, 2 * 1024 * 1024);
        for bad in ["", "8", "8 16k 1", "0 16k", "8 16q", "8 512", "x 16k", "1025 1k", "8 99999999m"] {
            assert!(HeadLimits::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(HeadLimits { line: 1024, total: 1024 }.parser_cap(), 8192, "never below hyper's minimum");
    }

    #[test]
    fn a_line_or_head_over_the_limit_is_494() {
        let limits = HeadLimits { line: 100, total: 300 };
        assert_eq!(limits.check(&parts("/short", &[("x-a", "1")])), Ok(()));
        let long_uri = format!("/{}", "a".repeat(100));
        assert_eq!(limits.check(&parts(&long_uri, &[])).unwrap_err().as_u16(), 494);
        let long_value = "v".repeat(96);
        assert_eq!(limits.check(&parts("/", &[("x-b", &long_value)])).unwrap_err().as_u16(), 494);
        let fits = "v".repeat(90);
        assert_eq!(limits.check(&parts("/", &[("x-1", &fits), ("x-2", &fits)])), Ok(()));
        let total = limits.check(&parts("/", &[("x-1", &fits), ("x-2", &fits), ("x-3", &fits)]));
        assert_eq!(total.unwrap_err().as_u16(), 494, "each line fits, their sum does not");
        let absolute = format!("http://example.com/{}", "a".repeat(70));
        assert_eq!(limits.check(&parts(&absolute, &[])).unwrap_err().as_u16(), 494, "absolute-form counts");
    }

    #[test]
    fn hosts_follow_nginx() {
        for good in ["example.com", "example.com:8080", "[::1]:8000", "example.com.", "a_b.example", "1.2.3.4"] {
            assert!(valid_host(good.as_bytes()), "{good}");
        }
        for bad in ["", ".", "a..b", "exa mple.com", "a/b", "a\tb", ":80", "a\x7fb", "a\0b"] {
            assert!(!valid_host(bad.as_bytes()), "{bad:?}");
        }
    }

    #[test]
    fn http_1_1_needs_exactly_one_valid_host() {
        let headers = |hosts: &[&str]| {
            let mut map = HeaderMap::new();
            for host in hosts {
                map.append(header::HOST, host.parse().unwrap());
            }
            map
        };
        assert_eq!(check_host(Version::HTTP_11, &headers(&["a.example"])), Ok(()));
        assert_eq!(check_host(Version::HTTP_11, &headers(&[])), Err(StatusCode::BAD_REQUEST));
        assert_eq!(check_host(Version::HTTP_10, &headers(&[])), Ok(()), "HTTP/1.0 is routed without a host");
        assert_eq!(check_host(Version::HTTP_2, &headers(&[])), Ok(()), "HTTP/2 has :authority");
        assert_eq!(check_host(Version::HTTP_11, &headers(&["a", "b"])), Err(StatusCode::BAD_REQUEST));
        assert_eq!(check_host(Version::HTTP_10, &headers(&["a..b"])), Err(StatusCode::BAD_REQUEST));
    }
}
