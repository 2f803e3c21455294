//! `rate-limiting` (`proxy.md` §12.1): counts requests per identifier and calendar-aligned period, in node
//! memory (`local`), the database (`cluster`) or Redis (`redis`); answers 429 once a limit is used up.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use http::{HeaderName, HeaderValue, StatusCode};
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use super::{Access, Flow, Plugin, PluginServices, RequestCtx, ResponseSummary, Scope, fail_closed, settings};
use crate::errors::negotiated_error;
use crate::model::civil::{civil_from_days, days_from_civil};
use crate::model::plugins::rate_limiting::PERIODS;

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The counters of `policy = cluster`, kept in the node's database and shared by every node.
pub trait ClusterCounters: Send + Sync {
    /// The current value of each key (0 when absent or expired).
    fn usage<'a>(&'a self, keys: &'a [CounterKey]) -> BoxFuture<'a, Result<Vec<u64>, String>>;
    /// Adds one to each key, creating it with its window's expiry.
    fn increment<'a>(&'a self, keys: &'a [CounterKey]) -> BoxFuture<'a, Result<(), String>>;
}

/// One counter: a plugin scope, an identifier, a period and the start of its current window.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CounterKey {
    pub route_id: Uuid,
    pub service_id: Uuid,
    pub identifier: String,
    pub period: &'static str,
    pub period_start_ms: i64,
    /// The window length in seconds, for expiry.
    pub window: u64,
}

impl CounterKey {
    /// Kong's key: `ratelimit:<route_id>:<service_id>:<identifier>:<period_start_ms>:<period>`.
    pub fn redis_key(&self) -> String {
        format!(
            "ratelimit:{}:{}:{}:{}:{}",
            self.route_id, self.service_id, self.identifier, self.period_start_ms, self.period
        )
    }
}

/// `policy = local`: counters in this node's memory, dropped when their window is over.
#[derive(Default)]
pub struct LocalCounters {
    counters: Mutex<HashMap<CounterKey, (u64, Instant)>>,
}

impl LocalCounters {
    fn usage(&self, keys: &[CounterKey]) -> Vec<u64> {
        let counters = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        keys.iter().map(|key| counters.get(key).filter(|(_, until)| *until > now).map_or(0, |(n, _)| *n)).collect()
    }

    fn increment(&self, keys: &[CounterKey]) {
        let mut counters = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        if counters.len() > 10_000 {
            counters.retain(|_, (_, until)| *until > now);
        }
        for key in keys {
            let entry = counters.entry(key.clone()).or_insert((0, now + Duration::from_secs(key.window)));
            if entry.1 <= now {
                *entry = (0, now + Duration::from_secs(key.window));
            }
            entry.0 += 1;
        }
    }
}

/// Redis connections, one multiplexed connection per server and database.
#[derive(Default)]
pub struct RedisPools {
    connections: tokio::sync::Mutex<HashMap<String, redis::aio::ConnectionManager>>,
}

#[derive(Debug, Clone, Deserialize)]
struct RedisSettings {
    redis_host: Option<String>,
    redis_port: Option<u16>,
    redis_username: Option<String>,
    redis_password: Option<String>,
    redis_database: Option<i64>,
    redis_timeout: Option<f64>,
}

impl RedisSettings {
    fn url(&self) -> String {
        let auth = match (&self.redis_username, &self.redis_password) {
            (Some(user), Some(password)) => format!("{}:{}@", encode(user), encode(password)),
            (None, Some(password)) => format!(":{}@", encode(password)),
            _ => String::new(),
        };
        let host = self.redis_host.as_deref().unwrap_or("127.0.0.1");
        let host = if host.contains(':') { format!("[{host}]") } else { host.to_string() };
        format!("redis://{auth}{host}:{}/{}", self.redis_port.unwrap_or(6379), self.redis_database.unwrap_or(0))
    }

    fn timeout(&self) -> Duration {
        Duration::from_millis(self.redis_timeout.unwrap_or(2000.0).max(1.0) as u64)
    }
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

impl RedisPools {
    async fn connection(&self, settings: &RedisSettings) -> Result<redis::aio::ConnectionManager, String> {
        let url = settings.url();
        let mut connections = self.connections.lock().await;
        if let Some(connection) = connections.get(&url) {
            return Ok(connection.clone());
        }
        let client = redis::Client::open(url.as_str()).map_err(|e| e.to_string())?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(settings.timeout())
            .set_response_timeout(settings.timeout())
            .set_number_of_retries(1);
        let connection =
            tokio::time::timeout(settings.timeout(), redis::aio::ConnectionManager::new_with_config(client, config))
                .await
                .map_err(|_| "timeout connecting to Redis".to_string())?
                .map_err(|e| e.to_string())?;
        connections.insert(url, connection.clone());
        Ok(connection)
    }

    async fn usage(&self, settings: &RedisSettings, keys: &[CounterKey]) -> Result<Vec<u64>, String> {
        let mut connection = self.connection(settings).await?;
        let mut pipe = redis::pipe();
        for key in keys {
            pipe.get(key.redis_key());
        }
        let values: Vec<Option<u64>> = tokio::time::timeout(settings.timeout(), pipe.query_async(&mut connection))
            .await
            .map_err(|_| "timeout reading from Redis".to_string())?
            .map_err(|e| e.to_string())?;
        Ok(values.into_iter().map(Option::unwrap_or_default).collect())
    }

    async fn increment(&self, settings: &RedisSettings, keys: &[CounterKey]) -> Result<(), String> {
        let mut connection = self.connection(settings).await?;
        let mut pipe = redis::pipe();
        for key in keys {
            pipe.incr(key.redis_key(), 1);
        }
        let values: Vec<u64> = pipe.query_async(&mut connection).await.map_err(|e| e.to_string())?;
        // A key this request created gets its window's expiry.
        let mut expire = redis::pipe();
        for (key, value) in keys.iter().zip(values) {
            if value == 1 {
                expire.expire(key.redis_key(), key.window as i64).ignore();
            }
        }
        expire.query_async::<()>(&mut connection).await.map_err(|e| e.to_string())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Policy {
    Local,
    Cluster,
    Redis,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum LimitBy {
    Consumer,
    Credential,
    Ip,
    Service,
    Header,
    Path,
}

#[derive(Deserialize)]
struct Settings {
    second: Option<f64>,
    minute: Option<f64>,
    hour: Option<f64>,
    day: Option<f64>,
    month: Option<f64>,
    year: Option<f64>,
    limit_by: LimitBy,
    header_name: Option<String>,
    path: Option<String>,
    policy: Policy,
    fault_tolerant: bool,
    hide_client_headers: bool,
    #[serde(flatten)]
    redis: RedisSettings,
}

/// A configured period: its index in [`PERIODS`] and its limit.
#[derive(Debug, Clone, Copy)]
struct Limit {
    period: usize,
    limit: f64,
}

pub struct RateLimiting {
    limits: Vec<Limit>,
    limit_by: LimitBy,
    header_name: Option<HeaderName>,
    path: Option<String>,
    policy: Policy,
    fault_tolerant: bool,
    hide_client_headers: bool,
    redis: RedisSettings,
    scope: Scope,
    services: PluginServices,
}

/// What `access` found, for `header_filter` (headers) and `log` (the counters to increment).
#[derive(Clone)]
struct Counted {
    keys: Vec<CounterKey>,
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl RateLimiting {
    pub fn new(config: &Value, scope: Scope, services: &PluginServices) -> Result<RateLimiting, String> {
        let s: Settings = settings(config)?;
        let limits = [s.second, s.minute, s.hour, s.day, s.month, s.year]
            .into_iter()
            .enumerate()
            .filter_map(|(period, limit)| limit.map(|limit| Limit { period, limit }))
            .collect();
        if s.policy == Policy::Cluster && services.cluster.is_none() {
            return Err("policy 'cluster' needs a database".into());
        }
        Ok(RateLimiting {
            limits,
            limit_by: s.limit_by,
            header_name: s.header_name.as_deref().map(HeaderName::try_from).transpose().map_err(|e| e.to_string())?,
            path: s.path,
            policy: s.policy,
            fault_tolerant: s.fault_tolerant,
            hide_client_headers: s.hide_client_headers,
            redis: s.redis,
            scope,
            services: services.clone(),
        })
    }

    fn identifier(&self, cx: &RequestCtx) -> String {
        let chosen = match self.limit_by {
            LimitBy::Consumer => {
                cx.consumer.as_ref().map(|c| c.id.to_string()).or_else(|| cx.credential.as_ref().map(|c| c.id.clone()))
            }
            LimitBy::Credential => cx.credential.as_ref().map(|c| c.id.clone()),
            LimitBy::Ip => None,
            LimitBy::Service => cx.service_id().map(|id| id.to_string()),
            LimitBy::Header => self
                .header_name
                .as_ref()
                .and_then(|h| cx.request.headers.get(h))
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
            LimitBy::Path => self.path.as_ref().filter(|p| cx.request.uri.path() == p.as_str()).cloned(),
        };
        chosen.unwrap_or_else(|| cx.client_addr.to_string())
    }

    fn keys(&self, identifier: &str, now_ms: i64) -> Vec<CounterKey> {
        self.limits
            .iter()
            .map(|limit| {
                let (period, window) = PERIODS[limit.period];
                CounterKey {
                    route_id: self.scope.route.unwrap_or(Uuid::nil()),
                    service_id: self.scope.service.unwrap_or(Uuid::nil()),
                    identifier: identifier.to_string(),
                    period,
                    period_start_ms: window_start(limit.period, now_ms),
                    window,
                }
            })
            .collect()
    }

    async fn shared_usage(&self, keys: &[CounterKey]) -> Result<Vec<u64>, String> {
        match (self.policy, &self.services.cluster) {
            (Policy::Redis, _) => self.services.redis.usage(&self.redis, keys).await,
            (_, Some(cluster)) => cluster.usage(keys).await,
            (_, None) => Err("no database for policy 'cluster'".into()),
        }
    }

    /// Decides on the usage read for `keys`, keeping the headers and the counters for later phases.
    fn decide(&self, cx: &mut RequestCtx, keys: Vec<CounterKey>, usage: Result<Vec<u64>, String>, now_ms: i64) -> Flow {
        let usage = match usage {
            Ok(usage) => usage,
            Err(error) if self.fault_tolerant => {
                tracing::error!(%error, "failed to get usage; the request goes through (fault_tolerant)");
                return Flow::Continue;
            }
            Err(error) => {
                tracing::error!(%error, "failed to get usage");
                return Flow::Respond(fail_closed());
            }
        };
        let remaining: Vec<f64> = self.limits.iter().zip(&usage).map(|(l, used)| l.limit - *used as f64).collect();
        let exceeded = remaining.iter().any(|r| *r <= 0.0);
        let mut headers = Vec::new();
        let mut tightest: Option<(f64, usize)> = None;
        for (limit, remaining) in self.limits.iter().zip(&remaining) {
            let shown = if !exceeded || *remaining <= 0.0 { (remaining - 1.0).max(0.0) } else { remaining.max(0.0) };
            let name = capitalized(PERIODS[limit.period].0);
            if !self.hide_client_headers {
                push(&mut headers, &format!("x-ratelimit-limit-{name}"), limit.limit);
                push(&mut headers, &format!("x-ratelimit-remaining-{name}"), shown);
            }
            // The lowest shown remaining; on ties the longer window (later in the list).
            if tightest.is_none_or(|(best, _)| shown <= best) {
                tightest = Some((shown, limit.period));
            }
        }
        let reset = tightest.map(|(_, period)| reset_seconds(period, now_ms)).unwrap_or(1);
        if !self.hide_client_headers
            && let Some((shown, period)) = tightest
        {
            let limit = self.limits.iter().find(|l| l.period == period).map_or(0.0, |l| l.limit);
            push(&mut headers, "ratelimit-limit", limit);
            push(&mut headers, "ratelimit-remaining", shown);
            headers.push((HeaderName::from_static("ratelimit-reset"), HeaderValue::from(reset)));
        }
        if exceeded {
            let mut response =
                negotiated_error(StatusCode::TOO_MANY_REQUESTS, "API rate limit exceeded", cx.header("accept"));
            response.headers_mut().insert(http::header::RETRY_AFTER, HeaderValue::from(reset));
            cx.extensions.insert(Counted { keys: Vec::new(), headers });
            return Flow::Respond(response);
        }
        cx.extensions.insert(Counted { keys, headers });
        Flow::Continue
    }
}

fn push(headers: &mut Vec<(HeaderName, HeaderValue)>, name: &str, value: f64) {
    if let Ok(name) = HeaderName::try_from(name) {
        let text = if value.fract() == 0.0 { format!("{}", value as i64) } else { value.to_string() };
        if let Ok(value) = HeaderValue::from_str(&text) {
            headers.push((name, value));
        }
    }
}

fn capitalized(period: &str) -> String {
    let mut chars = period.chars();
    chars.next().map(|c| c.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
}

impl Plugin for RateLimiting {
    fn writes_forwarding_headers(&self) -> bool {
        false
    }

    fn access<'a>(&'a self, cx: &'a mut RequestCtx) -> Access<'a> {
        let now_ms = now_ms();
        let keys = self.keys(&self.identifier(cx), now_ms);
        if self.policy == Policy::Local {
            let usage = self.services.local_counters.usage(&keys);
            return Access::Done(self.decide(cx, keys, Ok(usage), now_ms));
        }
        Access::Later(Box::pin(async move {
            let usage = self.shared_usage(&keys).await;
            self.decide(cx, keys, usage, now_ms)
        }))
    }

    fn header_filter(&self, cx: &mut RequestCtx, response: &mut http::response::Parts) {
        if let Some(counted) = cx.extensions.get::<Counted>() {
            for (name, value) in &counted.headers {
                response.headers.insert(name.clone(), value.clone());
            }
        }
    }

    fn log(&self, cx: &RequestCtx, _summary: &ResponseSummary) {
        let Some(counted) = cx.extensions.get::<Counted>().filter(|c| !c.keys.is_empty()) else { return };
        let keys = counted.keys.clone();
        match self.policy {
            Policy::Local => self.services.local_counters.increment(&keys),
            Policy::Redis => {
                let redis = self.services.redis.clone();
                let settings = self.redis.clone();
                tokio::spawn(async move {
                    if let Err(error) = redis.increment(&settings, &keys).await {
                        tracing::error!(%error, "failed to increment Redis rate-limiting counters");
                    }
                });
            }
            Policy::Cluster => {
                let Some(cluster) = self.services.cluster.clone() else { return };
                tokio::spawn(async move {
                    if let Err(error) = cluster.increment(&keys).await {
                        tracing::error!(%error, "failed to increment cluster rate-limiting counters");
                    }
                });
            }
        }
    }
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// The start (ms since the epoch, UTC) of the window of period `index` containing `now_ms`.
fn window_start(index: usize, now_ms: i64) -> i64 {
    let secs = now_ms.div_euclid(1000);
    match index {
        0..=3 => {
            let length = PERIODS[index].1 as i64;
            secs.div_euclid(length) * length * 1000
        }
        _ => {
            let (year, month, _) = civil_from_days(secs.div_euclid(86_400));
            let month = if index == 4 { month } else { 1 };
            days_from_civil(year, month, 1) * 86_400_000
        }
    }
}

/// Seconds until the window of period `index` containing `now_ms` ends (at least 1).
fn reset_seconds(index: usize, now_ms: i64) -> u64 {
    let start = window_start(index, now_ms);
    let end = match index {
        0..=3 => start + PERIODS[index].1 as i64 * 1000,
        _ => {
            let (year, month, _) = civil_from_days(start / 86_400_000);
            let (year, month) = match (index, month) {
                (4, 12) | (5, _) => (year + 1, 1),
                _ => (year, month + 1),
            };
            days_from_civil(year, month, 1) * 86_400_000
        }
    };
    (((end - now_ms) + 999) / 1000).max(1) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_calendar_aligned_in_utc() {
        // 2026-11-27T23:35:43.500Z
        let now = days_from_civil(2026, 11, 27) * 86_400_000 + (23 * 3600 + 35 * 60 + 43) * 1000 + 500;
        assert_eq!(window_start(0, now), now - 500);
        assert_eq!(window_start(1, now), now - 43_500);
        assert_eq!(window_start(3, now), days_from_civil(2026, 11, 27) * 86_400_000);
        assert_eq!(window_start(4, now), days_from_civil(2026, 11, 1) * 86_400_000);
        assert_eq!(window_start(5, now), days_from_civil(2026, 1, 1) * 86_400_000);
        assert_eq!(reset_seconds(0, now), 1);
        assert_eq!(reset_seconds(1, now), 17);
        assert_eq!(reset_seconds(4, now), (days_from_civil(2026, 12, 1) * 86_400_000 - now + 999) as u64 / 1000);
        let december = days_from_civil(2026, 12, 31) * 86_400_000;
        assert_eq!(window_start(4, december), days_from_civil(2026, 12, 1) * 86_400_000);
        assert_eq!(reset_seconds(4, december), 86_400);
        assert_eq!(reset_seconds(5, december), 86_400);
        let (year, month, _) = civil_from_days(days_from_civil(2024, 2, 29));
        assert_eq!((year, month), (2024, 2));
    }

    #[test]
    fn local_counters_expire_with_their_window() {
        let counters = LocalCounters::default();
        let key = |window| CounterKey {
            route_id: Uuid::nil(),
            service_id: Uuid::nil(),
            identifier: "127.0.0.1".into(),
            period: "second",
            period_start_ms: 0,
            window,
        };
        counters.increment(&[key(60), key(0)]);
        counters.increment(&[key(60)]);
        assert_eq!(counters.usage(&[key(60), key(0)]), vec![2, 0]);
    }
}
