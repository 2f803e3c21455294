//! Compiling routes into ranked entries with lookup indexes, and matching requests against them.

use http::HeaderMap;
use regex::{Regex, RegexSet};

use crate::config_hash::ConfigMap;
use crate::model::entities::route::Route;

#[derive(Debug, thiserror::Error)]
pub enum RouterError {
    #[error("route {route}: invalid regex path '{path}': {detail}")]
    Regex { route: uuid::Uuid, path: String, detail: String },
    #[error("the route patterns do not compile together: {0}")]
    Set(String),
}

/// What the router looks at in a request.
#[derive(Debug, Clone, Copy)]
pub struct RequestInfo<'a> {
    /// Upper-case method.
    pub method: &'a str,
    /// The normalized path, without the query (see [`super::uri::normalize`]).
    pub path: &'a str,
    /// The `Host` header (`:authority` for HTTP/2) as sent, possibly with a port; empty when absent.
    pub host: &'a str,
    /// `http` or `https`.
    pub scheme: &'a str,
    /// The TLS server name; `None` on plain HTTP.
    pub sni: Option<&'a str>,
    pub headers: &'a HeaderMap,
}

/// The route a request matched and how.
#[derive(Debug, Clone, PartialEq)]
pub struct Match {
    /// Index into [`Router::routes`].
    pub route: usize,
    /// How much of the request path the route's path matched (see [`Match::prefix`]); `None` when the route
    /// has no paths.
    pub prefix_len: Option<usize>,
    /// Regex captures: `[0]` the whole match, then numbered groups (`None` when a group did not take part).
    pub captures: Vec<Option<String>>,
    pub named_captures: Vec<(String, String)>,
    /// How long the request's host is without its port (see [`Match::host`]).
    pub host_len: usize,
}

/// The ranks the hash indexes gave, in order: the one list as it is when only one index hit (the usual
/// case), else the lists merged.
#[derive(Default)]
struct Candidates<'r> {
    first: Option<&'r [u32]>,
    merged: Vec<u32>,
}

impl<'r> Candidates<'r> {
    fn add(&mut self, ranks: &'r [u32]) {
        match self.first {
            None => self.first = Some(ranks),
            Some(first) => {
                if self.merged.is_empty() {
                    self.merged.extend_from_slice(first);
                }
                self.merged.extend_from_slice(ranks);
            }
        }
    }

    /// Ascending, each rank once.
    fn ranks(&mut self) -> &[u32] {
        if self.merged.is_empty() {
            return self.first.unwrap_or_default();
        }
        self.merged.sort_unstable();
        self.merged.dedup();
        &self.merged
    }
}

impl Match {
    /// The part of `path` (the path the match was found for) that the route's path matched.
    pub fn prefix<'p>(&self, path: &'p str) -> Option<&'p str> {
        path.get(..self.prefix_len?)
    }

    /// The request's host (as the match was found for) without its port: [`split_port`] as the router did it.
    pub fn host<'h>(&self, host: &'h str) -> &'h str {
        host.get(..self.host_len).unwrap_or(host)
    }
}

enum PathMatcher {
    Prefix(Box<str>),
    Regex(Regex),
}

struct Entry {
    route: usize,
    path: Option<PathMatcher>,
    plain_hosts: Vec<Box<str>>,
    wildcard_hosts: Vec<Regex>,
    methods: Vec<Box<str>>,
    headers: Vec<(http::HeaderName, Vec<Box<str>>)>,
    snis: Vec<Box<str>>,
}

/// Routes compiled for one configuration snapshot.
pub struct Router {
    routes: Vec<Route>,
    /// In Kong's priority order: the first matching entry wins.
    entries: Vec<Entry>,
    // Looked up with what clients send, but only administrators add keys, so the configuration hasher
    // serves (a chosen key cannot make the lookup walk more entries than the routes put there).
    by_host: ConfigMap<Box<str>, Vec<u32>>,
    by_path: ConfigMap<Box<str>, Vec<u32>>,
    /// The distinct lengths of indexed plain paths, to probe only prefixes that can hit.
    path_lengths: Vec<usize>,
    regex_path: Vec<u32>,
    /// Every regex path at once: one pass over the request path finds the regex entries worth checking.
    regex_set: RegexSet,
    /// Every wildcard host pattern, with the entry each belongs to.
    wildcard_set: RegexSet,
    wildcard_owner: Vec<u32>,
    /// Entries with neither hosts nor paths (methods, headers or SNIs only).
    rest: Vec<u32>,
}

const HOST: u8 = 0x40;
const HEADER: u8 = 0x20;
const URI: u8 = 0x10;
const METHOD: u8 = 0x08;
const SNI: u8 = 0x04;

impl Router {
    pub fn build(routes: Vec<Route>) -> Result<Router, RouterError> {
        let mut ranked = Vec::new();
        for (index, route) in routes.iter().enumerate() {
            let paths: Vec<Option<&String>> = match &route.paths {
                Some(paths) if !paths.is_empty() => paths.iter().map(Some).collect(),
                _ => vec![None],
            };
            for path in paths {
                let entry = compile(index, route, path.map(String::as_str))?;
                ranked.push((rank_key(route, &entry), entry));
            }
        }
        // Stable: equal keys keep configuration order.
        ranked.sort_by_key(|(key, _)| *key);
        let entries: Vec<Entry> = ranked.into_iter().map(|(_, entry)| entry).collect();

        let mut router = Router {
            routes,
            entries: Vec::new(),
            by_host: ConfigMap::default(),
            by_path: ConfigMap::default(),
            path_lengths: Vec::new(),
            regex_path: Vec::new(),
            regex_set: RegexSet::empty(),
            wildcard_set: RegexSet::empty(),
            wildcard_owner: Vec::new(),
            rest: Vec::new(),
        };
        let mut regex_patterns = Vec::new();
        let mut wildcard_patterns = Vec::new();
        for (rank, entry) in entries.iter().enumerate() {
            let rank = rank as u32;
            if !entry.plain_hosts.is_empty() || !entry.wildcard_hosts.is_empty() {
                for host in &entry.plain_hosts {
                    router.by_host.entry(host.clone()).or_default().push(rank);
                }
                for pattern in &entry.wildcard_hosts {
                    wildcard_patterns.push(pattern.as_str().to_string());
                    router.wildcard_owner.push(rank);
                }
            } else {
                match &entry.path {
                    Some(PathMatcher::Prefix(prefix)) => {
                        router.by_path.entry(prefix.clone()).or_default().push(rank);
                        if !router.path_lengths.contains(&prefix.len()) {
                            router.path_lengths.push(prefix.len());
                        }
                    }
                    Some(PathMatcher::Regex(regex)) => {
                        router.regex_path.push(rank);
                        regex_patterns.push(regex.as_str().to_string());
                    }
                    None => router.rest.push(rank),
                }
            }
        }
        router.path_lengths.sort_unstable();
        let set_error = |e: regex::Error| RouterError::Set(e.to_string());
        router.regex_set = RegexSet::new(&regex_patterns).map_err(set_error)?;
        router.wildcard_set = RegexSet::new(&wildcard_patterns).map_err(set_error)?;
        router.entries = entries;
        Ok(router)
    }

    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// The best route for the request, as Kong 2.2 chooses it.
    pub fn find(&self, request: &RequestInfo<'_>) -> Option<Match> {
        // Most clients send lower-case hosts: only allocate when there is something to lower.
        let host: std::borrow::Cow<'_, str> = if request.host.bytes().any(|b| b.is_ascii_uppercase()) {
            request.host.to_ascii_lowercase().into()
        } else {
            request.host.into()
        };
        let host = host.as_ref();
        let (host_no_port, port) = split_port(host);
        // Only wildcard hosts compare against `host:port`.
        let host_with_port = match (self.wildcard_owner.is_empty(), port) {
            (true, _) => String::new(),
            (false, Some(_)) => host.to_string(),
            (false, None) => format!("{host}:{}", if request.scheme == "https" { 443 } else { 80 }),
        };

        // Hash-indexed candidates (plain hosts, plain path prefixes) are few; the wildcard, regex and
        // attribute-only lists can be long, so they are merged lazily in rank order and the walk stops at
        // the first full match.
        let mut indexed = Candidates::default();
        if let Some(ranks) = self.by_host.get(host) {
            indexed.add(ranks);
        }
        if host_no_port != host
            && let Some(ranks) = self.by_host.get(host_no_port)
        {
            indexed.add(ranks);
        }
        for &length in self.path_lengths.iter().take_while(|&&l| l <= request.path.len()) {
            if let Some(ranks) = request.path.get(..length).and_then(|prefix| self.by_path.get(prefix)) {
                indexed.add(ranks);
            }
        }
        let indexed = indexed.ranks();

        let regex_hits: Vec<u32> = if self.regex_path.is_empty() {
            Vec::new()
        } else {
            self.regex_set.matches(request.path).into_iter().map(|i| self.regex_path[i]).collect()
        };
        let mut wildcard_hits: Vec<u32> = if self.wildcard_owner.is_empty() {
            Vec::new()
        } else {
            self.wildcard_set.matches(&host_with_port).into_iter().map(|i| self.wildcard_owner[i]).collect()
        };
        wildcard_hits.dedup();
        let lists: [&[u32]; 4] = [indexed, &wildcard_hits, &regex_hits, &self.rest];
        let mut positions = [0usize; 4];
        loop {
            let next = lists.iter().zip(positions).filter_map(|(list, at)| list.get(at).copied()).min()?;
            for (list, at) in lists.iter().zip(positions.iter_mut()) {
                if list.get(*at) == Some(&next) {
                    *at += 1;
                }
            }
            let entry = &self.entries[next as usize];
            if let Some(found) = entry.matches(request, host, host_no_port, &host_with_port) {
                return Some(found);
            }
        }
    }
}

impl Entry {
    fn matches(
        &self,
        request: &RequestInfo<'_>,
        host: &str,
        host_no_port: &str,
        host_with_port: &str,
    ) -> Option<Match> {
        if !(self.plain_hosts.is_empty() && self.wildcard_hosts.is_empty()) {
            let plain = self.plain_hosts.iter().any(|h| **h == *host || **h == *host_no_port);
            if !plain && !self.wildcard_hosts.iter().any(|re| re.is_match(host_with_port)) {
                return None;
            }
        }
        if !self.methods.is_empty() && !self.methods.iter().any(|m| **m == *request.method) {
            return None;
        }
        if let Some(sni) = request.sni
            && !self.snis.is_empty()
            && !self.snis.iter().any(|s| s.eq_ignore_ascii_case(sni))
        {
            return None;
        }
        for (name, values) in &self.headers {
            let found = request.headers.get_all(name).iter().any(|value| {
                value.to_str().is_ok_and(|v| values.iter().any(|expected| expected.eq_ignore_ascii_case(v.trim())))
            });
            if !found {
                return None;
            }
        }
        let (prefix, captures, named_captures) = match &self.path {
            None => (None, Vec::new(), Vec::new()),
            Some(PathMatcher::Prefix(prefix)) => {
                if !request.path.starts_with(&**prefix) {
                    return None;
                }
                (Some(prefix.len()), Vec::new(), Vec::new())
            }
            Some(PathMatcher::Regex(regex)) => {
                let caps = regex.captures(request.path)?;
                let postfix_start = caps.name("uri_postfix").map_or(request.path.len(), |m| m.start());
                let matched = &request.path[..postfix_start];
                let mut numbered = vec![Some(matched.to_string())];
                let mut named = Vec::new();
                for (index, name) in regex.capture_names().enumerate().skip(1) {
                    if name == Some("uri_postfix") {
                        continue;
                    }
                    let value = caps.get(index).map(|m| m.as_str().to_string());
                    if let (Some(name), Some(value)) = (name, &value) {
                        named.push((name.to_string(), value.clone()));
                    }
                    numbered.push(value);
                }
                (Some(postfix_start), numbered, named)
            }
        };
        Some(Match { route: self.route, prefix_len: prefix, captures, named_captures, host_len: host_no_port.len() })
    }
}

fn compile(index: usize, route: &Route, path: Option<&str>) -> Result<Entry, RouterError> {
    let regex_error = |path: &str, e: regex::Error| RouterError::Regex {
        route: route.id,
        path: path.to_string(),
        detail: e.to_string().lines().last().unwrap_or_default().trim().to_string(),
    };
    let path = match path {
        None => None,
        Some(path) if crate::model::entities::route::is_regex_path(path) => {
            let regex = Regex::new(&format!("^(?:{path}(?P<uri_postfix>.*))")).map_err(|e| regex_error(path, e))?;
            Some(PathMatcher::Regex(regex))
        }
        Some(path) => Some(PathMatcher::Prefix(super::uri::normalize(path).into())),
    };
    let mut plain_hosts = Vec::new();
    let mut wildcard_hosts = Vec::new();
    for host in route.hosts.iter().flatten() {
        let host = host.to_ascii_lowercase();
        if host.contains('*') {
            let has_port = split_port(&host).1.is_some();
            let pattern =
                format!("^{}{}$", regex::escape(&host).replace(r"\*", ".+"), if has_port { "" } else { r"(?::\d+)?" });
            wildcard_hosts.push(Regex::new(&pattern).map_err(|e| regex_error(&host, e))?);
        } else {
            plain_hosts.push(host.into());
        }
    }
    let headers = route
        .headers
        .iter()
        .flatten()
        .filter_map(|(name, values)| {
            let name = http::HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes()).ok()?;
            Some((name, values.iter().map(|v| v.to_ascii_lowercase().into()).collect()))
        })
        .collect();
    Ok(Entry {
        route: index,
        path,
        plain_hosts,
        wildcard_hosts,
        methods: route.methods.iter().flatten().map(|m| m.as_str().into()).collect(),
        headers,
        snis: route.snis.iter().flatten().map(|s| s.to_ascii_lowercase().into()).collect(),
    })
}

/// Kong's order as one sortable key: ascending sort puts the winner first.
type RankKey = (std::cmp::Reverse<(u8, u8, u8, usize, i64, usize)>, i64);

fn rank_key(route: &Route, entry: &Entry) -> RankKey {
    let mut rules = 0u8;
    let has_hosts = !entry.plain_hosts.is_empty() || !entry.wildcard_hosts.is_empty();
    if has_hosts {
        rules |= HOST;
    }
    if !entry.headers.is_empty() {
        rules |= HEADER;
    }
    if entry.path.is_some() {
        rules |= URI;
    }
    if !entry.methods.is_empty() {
        rules |= METHOD;
    }
    if !entry.snis.is_empty() {
        rules |= SNI;
    }
    let weight = rules.count_ones() as u8;
    let mut submatch = 0u8;
    let last_wildcard = route.hosts.iter().flatten().rfind(|h| h.contains('*'));
    if last_wildcard.is_some_and(|h| split_port(h).1.is_some()) {
        submatch |= 0x04;
    }
    if has_hosts && entry.wildcard_hosts.is_empty() {
        submatch |= 0x02;
    }
    let uri_length = match &entry.path {
        Some(PathMatcher::Regex(_)) => {
            submatch |= 0x01;
            0
        }
        Some(PathMatcher::Prefix(prefix)) => prefix.len(),
        None => 0,
    };
    (
        std::cmp::Reverse((weight, rules, submatch, entry.headers.len(), route.regex_priority, uri_length)),
        route.created_at.unwrap_or(0),
    )
}

/// `host:port` → (`host`, `Some(port)`); IPv6 in brackets keeps its brackets.
pub fn split_port(host: &str) -> (&str, Option<&str>) {
    if host.starts_with('[') {
        return match host.rfind("]:") {
            Some(at) => (&host[..=at], Some(&host[at + 2..])),
            None => (host, None),
        };
    }
    // One byte scan (this runs for every request): the port is what follows the first colon when that is
    // all digits, which also means there is no other colon.
    let bytes = host.as_bytes();
    match bytes.iter().position(|&b| b == b':') {
        Some(colon) if bytes[colon + 1..].iter().all(u8::is_ascii_digit) => (&host[..colon], Some(&host[colon + 1..])),
        _ => (host, None),
    }
}
