//! `gluu-oauth-auth` (`gluu-plugins.md` §3, §6): bearer token → validation (local for OP-signed JWTs,
//! introspection through oxd otherwise: the embedded module, or a remote oxd server, `OxdClient`) → consumer →
//! upstream headers.
//!
//! Validations are cached per plugin instance, OP and SHA-256 of the token (never the token itself), up to
//! the token's expiry capped by `max_ttl`; inactive tokens are cached briefly; concurrent misses share one
//! OP call (§14 D1–D3). The consumer is looked up in the current snapshot on every request. Upstream headers
//! come from `custom_headers` when configured (computed once per cached token), else from the legacy set.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwapOption;
use http::StatusCode;
use http::header::{self, HeaderName, HeaderValue};
use ring::digest;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::custom_headers::{CustomHeaders, Environment, HeaderConfig, UpstreamHeaders};
use super::gluu_oauth_pep::token_scopes;
use super::{Access, AddedHeaders, BearerToken, Credential, Flow, Plugin, PluginServices, RequestCtx, settings};
use crate::errors::json_exit;
use crate::model::entities::consumer::Consumer;
use crate::oxd::{JwtRejection, OxdClient, OxdError, PluginSite, jwt};

/// GG's spelling, kept verbatim (`gluu-plugins.md` §3.9).
pub const UNEXPECTED: &str = "An unexpected error ocurred";
const INVALID_TOKEN: &str = "Invalid access token provided in Authorization header";

/// Token-cache limits (`gluu-plugins.md` §14 D2).
#[derive(Debug, Clone, Copy)]
pub struct TokenCacheSettings {
    pub max_ttl: Duration,
    pub negative_ttl: Duration,
    pub capacity: usize,
}

impl Default for TokenCacheSettings {
    fn default() -> Self {
        TokenCacheSettings {
            max_ttl: Duration::from_secs(300),
            negative_ttl: Duration::from_secs(10),
            capacity: 10_000,
        }
    }
}

/// What validating one token found.
#[derive(Debug, Clone)]
pub enum Validation {
    Active(Arc<ActiveToken>),
    /// A 401-class failure with its message.
    Rejected(String),
}

/// A valid token: its data as the OP (or the JWT) gave it, and what requests with it pass on.
#[derive(Debug)]
pub struct ActiveToken {
    pub data: Map<String, Value>,
    /// `data.client_id`, looked up once rather than on every cache hit.
    client_id: Option<Box<str>>,
    /// Computed on the token's first authenticated use and kept as long as the cache entry (§3.3), under the
    /// fingerprint of the configuration and the consumer they were computed for: when either changes (a
    /// reconfigured plugin, consumer mapping switched, the consumer replaced) they are computed again.
    headers: Mutex<Option<(HeadersFor, UpstreamHeaders)>>,
    /// The token data and legacy headers for the consumer last seen with the token, so that a cache hit
    /// neither copies the token data nor serializes the consumer.
    identity: ArcSwapOption<Identity>,
}

/// What a request authenticated by a token carries on, for one consumer (or none, without consumer
/// mapping): the token data with `consumer` added when mapped (§6 step 5), and the legacy upstream headers.
#[derive(Debug)]
struct Identity {
    /// The snapshot's consumer it was built for, held so the comparison by identity stays sound.
    consumer: Option<Arc<Consumer>>,
    token_data: Arc<Value>,
    scopes: Arc<[Box<str>]>,
    legacy_headers: Arc<AddedHeaders>,
}

/// What cached headers were computed for: the `custom_headers` fingerprint and the consumer's id.
type HeadersFor = (u64, Option<Uuid>);

impl ActiveToken {
    pub fn new(data: Map<String, Value>) -> ActiveToken {
        let client_id = data.get("client_id").and_then(Value::as_str).map(Box::from);
        ActiveToken { data, client_id, headers: Mutex::new(None), identity: ArcSwapOption::empty() }
    }

    /// The token's [`Identity`] for `consumer`, built unless the last one was for the same consumer object (a
    /// consumer replaced in a new snapshot is another object). Two requests building it at once build the same.
    fn identity(&self, consumer: Option<&Arc<Consumer>>) -> Arc<Identity> {
        if let Some(identity) = self.identity.load_full()
            && match (&identity.consumer, consumer) {
                (None, None) => true,
                (Some(built_for), Some(consumer)) => Arc::ptr_eq(built_for, consumer),
                _ => false,
            }
        {
            return identity;
        }
        let mut data = self.data.clone();
        if let Some(consumer) = consumer {
            data.insert("consumer".into(), consumer_json(consumer));
        }
        let token_data = Value::Object(data);
        let legacy_headers = Arc::new(AddedHeaders::new(legacy_headers(consumer.map(Arc::as_ref), &token_data)));
        let scopes = token_scopes(&token_data).into_iter().map(Box::from).collect();
        let identity = Arc::new(Identity {
            consumer: consumer.cloned(),
            token_data: Arc::new(token_data),
            scopes,
            legacy_headers,
        });
        self.identity.store(Some(identity.clone()));
        identity
    }

    /// The headers `custom` gives for this token, computed by `compute` unless cached. Concurrent requests
    /// with the token wait for the one computing (briefly: evaluation is bounded and never awaits).
    fn headers(
        &self,
        custom: &CustomHeaders,
        consumer: Option<Uuid>,
        compute: impl FnOnce() -> UpstreamHeaders,
    ) -> UpstreamHeaders {
        let key: HeadersFor = (custom.fingerprint(), consumer);
        let mut slot = self.headers.lock().unwrap_or_else(|e| e.into_inner());
        match &*slot {
            Some((computed_for, headers)) if *computed_for == key => headers.clone(),
            _ => {
                let headers = compute();
                *slot = Some((key, headers.clone()));
                headers
            }
        }
    }
}

/// A token-cache key: plugin instance, token kind, OP and the SHA-256 of the token (D1). Equality compares
/// all of it; the map hashes only part of the digest, which is already uniformly distributed (and cannot be
/// chosen without finding SHA-256 preimages, so chosen tokens cannot pile up in one bucket).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenKey {
    pub plugin: Uuid,
    pub kind: &'static str,
    /// The OP, by [`op_number`].
    pub op: u32,
    pub digest: [u8; 32],
}

impl std::hash::Hash for TokenKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write(&self.digest[..16]);
    }
}

impl TokenKey {
    pub fn new(plugin: Uuid, kind: &'static str, op: u32, token: &[u8]) -> TokenKey {
        let digest = digest::digest(&digest::SHA256, token);
        TokenKey { plugin, kind, op, digest: digest.as_ref().try_into().expect("SHA-256 digests are 32 bytes") }
    }
}

/// A number per distinct OP (its discovery URL) for the life of the process, so token-cache keys are plain
/// values built per request without allocating. Called when plugins are built, never per request.
pub fn op_number(discovery: &str) -> u32 {
    static OPS: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let mut ops = OPS.lock().unwrap_or_else(|e| e.into_inner());
    let index = ops.iter().position(|op| op == discovery).unwrap_or_else(|| {
        ops.push(discovery.to_string());
        ops.len() - 1
    });
    u32::try_from(index).expect("fewer than 2^32 OPs")
}
/// Keyed by digests, which nobody can choose, so the fast configuration hasher serves.
pub type TokenCache =
    crate::oxd::cache::Cache<TokenKey, Validation, std::hash::BuildHasherDefault<crate::config_hash::ConfigHasher>>;

pub fn token_cache(settings: &TokenCacheSettings) -> Arc<TokenCache> {
    Arc::new(TokenCache::new(settings.capacity))
}

#[derive(Deserialize)]
struct Settings {
    oxd_id: String,
    oxd_url: String,
    client_id: String,
    client_secret: String,
    op_url: String,
    anonymous: Option<String>,
    pass_credentials: Option<String>,
    consumer_mapping: Option<bool>,
    custom_headers: Option<Vec<HeaderConfig>>,
    jwt_audience: Option<Vec<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PassCredentials {
    Pass,
    Hide,
    PhantomToken,
}

pub struct GluuOauthAuth {
    id: Uuid,
    site: PluginSite,
    /// [`op_number`] of the site's OP discovery URL.
    op: u32,
    anonymous: Option<String>,
    pass_credentials: PassCredentials,
    consumer_mapping: bool,
    /// `None` when not configured: the legacy headers are set instead.
    custom_headers: Option<CustomHeaders>,
    /// The anonymous consumer's `custom_headers`, computed once per snapshot (the consumer is the snapshot's).
    anonymous_headers: OnceLock<UpstreamHeaders>,
    jwt_audience: Option<Vec<String>>,
    oxd: OxdClient,
    cache: Arc<TokenCache>,
    cache_settings: TokenCacheSettings,
}

/// The bearer token of an `Authorization` value: the first capture of `\s*[Bb]earer\s+(.+)` searched anywhere in
/// it (`gluu-plugins.md` §3.1), found without running a regex on every request.
fn bearer_token(value: &str) -> Option<&str> {
    let until_newline = |text: &str| text.bytes().position(|b| b == b'\n').unwrap_or(text.len());
    let mut from = 0;
    // A byte scan: the usual value has the word at its start, where setting up a substring searcher would
    // cost more than the whole scan.
    while let Some(found) = value.as_bytes()[from..].windows(5).position(|w| w == b"earer") {
        let at = from + found;
        from = at + 1;
        if !matches!(value.as_bytes()[..at].last(), Some(b'B' | b'b')) {
            continue;
        }
        let after = &value[at + "earer".len()..];
        let rest = after.trim_start_matches(char::is_whitespace);
        let space = &after[..after.len() - rest.len()];
        if space.is_empty() {
            continue;
        }
        if !rest.is_empty() {
            return Some(&rest[..until_newline(rest)]);
        }
        // Nothing after the whitespace: `\s+` gives back its last characters that `.` can take.
        let Some((start, _)) = space.char_indices().skip(1).filter(|(_, c)| *c != '\n').last() else { continue };
        let tail = &space[start..];
        return Some(&tail[..until_newline(tail)]);
    }
    None
}

/// The headers that only the gateway may set; a client's own are removed.
const IDENTITY_HEADERS: [&str; 10] = [
    "x-consumer-id",
    "x-consumer-custom-id",
    "x-consumer-username",
    "x-credential-identifier",
    "x-anonymous-consumer",
    "x-oauth-client-id",
    "x-oauth-expiration",
    "x-authenticated-scope",
    "x-consumer-groups",
    "x-authenticated-groups",
];

fn unexpected() -> Flow {
    Flow::Respond(json_exit(StatusCode::BAD_GATEWAY, UNEXPECTED))
}

fn unauthorized(message: &str) -> Flow {
    Flow::Respond(json_exit(StatusCode::UNAUTHORIZED, message))
}

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

impl GluuOauthAuth {
    pub fn new(id: Uuid, config: &Value, services: &PluginServices) -> Result<GluuOauthAuth, String> {
        let s: Settings = settings(config)?;
        let oxd = services.oxd_client(&s.oxd_url)?;
        let site =
            PluginSite { oxd_id: s.oxd_id, client_id: s.client_id, client_secret: s.client_secret, op_url: s.op_url };
        Ok(GluuOauthAuth {
            id,
            op: op_number(&site.op_discovery()),
            site,
            anonymous: s.anonymous.map(|a| a.trim().to_string()).filter(|a| !a.is_empty()),
            pass_credentials: match s.pass_credentials.as_deref() {
                Some("hide") => PassCredentials::Hide,
                Some("phantom_token") => PassCredentials::PhantomToken,
                _ => PassCredentials::Pass,
            },
            consumer_mapping: s.consumer_mapping.unwrap_or(true),
            custom_headers: s.custom_headers.as_deref().map(CustomHeaders::new).transpose()?,
            anonymous_headers: OnceLock::new(),
            jwt_audience: s.jwt_audience,
            oxd,
            cache: services.token_cache.clone(),
            cache_settings: services.token_cache_settings,
        })
    }

    /// Validates `token` (cached under `key`).
    async fn validate(&self, token: &str, key: &TokenKey) -> Result<Validation, OxdError> {
        let settings = self.cache_settings;
        self.cache
            .get_or_fetch(key, false, || async {
                let validation = self.validate_uncached(token).await?;
                let ttl = match &validation {
                    Validation::Active(token) => {
                        let left = token.data.get("exp").and_then(Value::as_i64).map_or(0, |exp| exp - now() - 5);
                        Duration::from_secs(left.max(0) as u64).min(settings.max_ttl)
                    }
                    Validation::Rejected(_) => settings.negative_ttl,
                };
                Ok((validation, ttl))
            })
            .await
    }

    async fn validate_uncached(&self, token: &str) -> Result<Validation, OxdError> {
        if let Some(parsed) = jwt::parse(token) {
            return match self.oxd.verify_jwt(&self.site, &parsed, self.jwt_audience.as_deref()).await {
                Ok(payload) => Ok(Validation::Active(Arc::new(ActiveToken::new(payload)))),
                Err(JwtRejection::Unavailable(error)) => {
                    tracing::error!(%error, "cannot verify a JWT access token");
                    Err(OxdError::internal())
                }
                Err(rejection) => Ok(Validation::Rejected(match rejection {
                    JwtRejection::BadJwt => "Bad JWT".into(),
                    JwtRejection::MissedKid => "JWT - missed kid".into(),
                    JwtRejection::UnknownKid => "Unknown kid".into(),
                    JwtRejection::MalformedPayload => "JWT - malformed payload".into(),
                    JwtRejection::NotVerified(reason) => format!("JWT is not verified, reason: {reason}"),
                    JwtRejection::Unavailable(_) => unreachable!("handled above"),
                })),
            };
        }
        let answer = self.oxd.introspect_access_token(&self.site, token).await?;
        match answer {
            Value::Object(data) if data.get("active") == Some(&Value::Bool(true)) => {
                Ok(Validation::Active(Arc::new(ActiveToken::new(data))))
            }
            _ => Ok(Validation::Rejected(INVALID_TOKEN.into())),
        }
    }

    /// The access phase up to the token's validation: the client's identity headers removed and the bearer
    /// token taken, or the answer when there is none.
    // Matched at once by the one caller: boxing the answer would cost an allocation on the error path only.
    #[allow(clippy::result_large_err)]
    fn bearer(&self, cx: &mut RequestCtx) -> Result<BearerToken, Flow> {
        // Clients rarely send any: one pass over the names instead of a lookup of each.
        let identity_header = |name: &HeaderName| {
            let name = name.as_str();
            name.starts_with("x-") && IDENTITY_HEADERS.contains(&name)
        };
        if cx.request.headers.keys().any(identity_header) {
            for name in IDENTITY_HEADERS {
                cx.request.headers.remove(name);
            }
        }
        if let Some(custom) = &self.custom_headers {
            custom.remove_client_values(&mut cx.request.headers);
        }
        let authorization = cx.request.headers.get(header::AUTHORIZATION);
        let token = authorization.and_then(|value| {
            let text = value.to_str().ok()?;
            Some(BearerToken::within(value, text, bearer_token(text)?))
        });
        match token {
            Some(token) => Ok(token),
            None => Err(match &self.anonymous {
                Some(anonymous) => self.anonymous_branch(cx, anonymous),
                None => unauthorized("Failed to get bearer token from Authorization header"),
            }),
        }
    }

    /// The access phase once the token's validation is known.
    fn authenticate(&self, cx: &mut RequestCtx, token: BearerToken, validation: Result<Validation, OxdError>) -> Flow {
        let active = match validation {
            Ok(Validation::Active(active)) => active,
            Ok(Validation::Rejected(message)) => {
                return match &self.anonymous {
                    Some(anonymous) => self.anonymous_branch(cx, anonymous),
                    None => unauthorized(&message),
                };
            }
            Err(error) => {
                tracing::error!(%error, "token validation failed");
                return unexpected();
            }
        };
        let client_id = active.client_id.as_deref();
        let consumer = if self.consumer_mapping {
            let found = client_id.and_then(|id| cx.snapshot.consumers_by_custom_id.get(id)).cloned();
            let Some(consumer) = found else {
                tracing::info!(client_id = client_id.unwrap_or_default(), "consumer with custom_id not found");
                return unauthorized("Unknown consumer");
            };
            Some(consumer)
        } else {
            None
        };
        let identity = active.identity(consumer.as_ref());
        if let Some(client_id) = client_id {
            cx.credential = Some(Credential { id: client_id.to_string(), consumer: consumer.as_ref().map(|c| c.id) });
        }
        cx.consumer = consumer.clone();
        cx.gluu_flags().oauth_client_authenticated = true;
        let token_data = &*identity.token_data;
        match self.pass_credentials {
            PassCredentials::Pass => {}
            PassCredentials::Hide => {
                cx.request.headers.remove(header::AUTHORIZATION);
            }
            PassCredentials::PhantomToken => {
                if token_data.get("active").is_some_and(truthy)
                    && let Ok(value) = HeaderValue::from_str(&format!("Bearer {}", jwt::unsigned(token_data)))
                {
                    cx.request.headers.insert(header::AUTHORIZATION, value);
                }
            }
        }
        match &self.custom_headers {
            Some(_) => self.identity_headers(cx, consumer.as_deref(), token_data, Some(&active)),
            None => cx.add_headers(identity.legacy_headers.clone()),
        }
        cx.request_token = Some(token);
        cx.request_token_data = Some(identity.token_data.clone());
        cx.request_token_scopes = Some(identity.scopes.clone());
        Flow::Continue
    }

    /// No token, or a 401-class failure, with `anonymous` configured (`gluu-plugins.md` §3.5).
    fn anonymous_branch(&self, cx: &mut RequestCtx, anonymous: &str) -> Flow {
        if self.consumer_mapping {
            let consumer = Uuid::parse_str(anonymous).ok().and_then(|id| cx.snapshot.consumers.get(&id)).cloned();
            let Some(consumer) = consumer else {
                tracing::error!(anonymous, "the anonymous consumer does not exist");
                return unexpected();
            };
            let data = json!({"consumer": consumer_json(&consumer)});
            self.identity_headers(cx, Some(&consumer), &data, None);
        } else {
            self.identity_headers(cx, None, &json!({}), None);
        }
        Flow::Continue
    }

    /// The headers telling the upstream who calls (§6 step 7): `custom_headers` evaluated with
    /// `{introspect_data = data, consumer = data.consumer}` — cached with the token, or per snapshot in the
    /// anonymous branch (`token` = `None`) — or the legacy set when none are configured. Either way
    /// `X-Anonymous-Consumer: true` when the data has no `client_id`.
    fn identity_headers(
        &self,
        cx: &mut RequestCtx,
        consumer: Option<&Consumer>,
        data: &Value,
        token: Option<&ActiveToken>,
    ) {
        let Some(custom) = &self.custom_headers else {
            return cx.add_headers(Arc::new(AddedHeaders::new(legacy_headers(consumer, data))));
        };
        let compute = || custom.compute(&Environment::auth(data));
        let headers = match token {
            Some(token) => token.headers(custom, consumer.map(|c| c.id), compute),
            None => self.anonymous_headers.get_or_init(compute).clone(),
        };
        headers.apply(&mut cx.request.headers);
        if !data.get("client_id").is_some_and(truthy) {
            cx.request
                .headers
                .insert(HeaderName::from_static("x-anonymous-consumer"), HeaderValue::from_static("true"));
        }
    }
}

fn truthy(value: &Value) -> bool {
    !matches!(value, Value::Null | Value::Bool(false))
}

fn consumer_json(consumer: &Consumer) -> Value {
    serde_json::to_value(consumer).unwrap_or_default()
}

/// Kong's consumer headers and the OAuth ones (the issue's legacy set), used when `custom_headers` is not
/// configured (an empty array is configured: no headers, as in GG).
/// They go to the upstream through [`RequestCtx::add_headers`]: [`GluuOauthAuth::bearer`] removed every
/// identity header of the client's first.
fn legacy_headers(consumer: Option<&Consumer>, data: &Value) -> Vec<(HeaderName, HeaderValue)> {
    let mut headers = Vec::new();
    let mut set = |name: &'static str, value: String| {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.push((HeaderName::from_static(name), value));
        }
    };
    if let Some(consumer) = consumer {
        set("x-consumer-id", consumer.id.to_string());
        if let Some(custom_id) = &consumer.custom_id {
            set("x-consumer-custom-id", custom_id.clone());
        }
        if let Some(username) = &consumer.username {
            set("x-consumer-username", username.clone());
        }
    }
    match data.get("client_id").and_then(Value::as_str) {
        Some(client_id) => {
            set("x-oauth-client-id", client_id.to_string());
            if let Some(exp) = data.get("exp").and_then(Value::as_i64) {
                set("x-oauth-expiration", exp.to_string());
            }
            set("x-authenticated-scope", token_scopes(data).join(", "));
        }
        None => set("x-anonymous-consumer", "true".into()),
    }
    headers
}

impl Plugin for GluuOauthAuth {
    /// Its fixed identity headers and `Authorization` never are; a `custom_headers` name may be.
    fn writes_forwarding_headers(&self) -> bool {
        self.custom_headers.as_ref().is_some_and(|custom| custom.may_set("host") || custom.may_set("x-forwarded-for"))
    }

    fn access<'a>(&'a self, cx: &'a mut RequestCtx) -> Access<'a> {
        let token = match self.bearer(cx) {
            Ok(token) => token,
            Err(flow) => return Access::Done(flow),
        };
        let key = TokenKey::new(self.id, "access_token", self.op, token.as_bytes());
        // A cached token (the usual request) is decided without a future to box.
        if let Some(validation) = self.cache.peek(&key) {
            return Access::Done(self.authenticate(cx, token, Ok(validation)));
        }
        Access::Later(Box::pin(async move {
            let validation = self.validate(token.as_str(), &key).await;
            self.authenticate(cx, token, validation)
        }))
    }

    fn response_phases(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    fn custom(expression: &str) -> CustomHeaders {
        let config = HeaderConfig {
            header_name: "x-h".into(),
            value_lua_exp: expression.into(),
            format: None,
            sep: None,
            iterate: None,
        };
        CustomHeaders::new(&[config]).unwrap()
    }

    #[test]
    fn the_bearer_token_is_what_the_specified_regex_captures() {
        let regex = regex::Regex::new(r"\s*[Bb]earer\s+(.+)").unwrap();
        let samples = [
            "Bearer abc",
            "bearer abc.def-ghi",
            "  Bearer   abc  ",
            "BEARER abc",
            "Bearerabc",
            "Bearer",
            "Bearer ",
            "Bearer  ",
            "Bearer \t",
            "Bearer \n",
            "Bearer  \n",
            "Bearer \n\n ",
            "Bearer a\nb",
            "Basic xyz, Bearer tok",
            "NotBearer tok",
            "earer tok",
            "Bearer\tBearer tok",
            "Bearer\u{a0}tok",
            "xBearer bearer y",
            "Bearer  Bearer",
            "Beare r tok",
            "",
            "ébearer é",
        ];
        for sample in samples {
            let expected = regex.captures(sample).and_then(|c| c.get(1)).map(|m| m.as_str());
            assert_eq!(bearer_token(sample), expected, "{sample:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn the_bearer_token_matches_the_regex_on_any_text(
            pieces in proptest::collection::vec(
                proptest::sample::select(vec!["Bearer", "bearer", "B", "earer", " ", "\t", "\n", "x.y", "\u{a0}"]),
                0..10,
            )
        ) {
            let sample = pieces.concat();
            let regex = regex::Regex::new(r"\s*[Bb]earer\s+(.+)").unwrap();
            let expected = regex.captures(&sample).and_then(|c| c.get(1)).map(|m| m.as_str());
            proptest::prop_assert_eq!(bearer_token(&sample), expected);
            // Where the value is a header value, the token kept for the request is the same text.
            if let Ok(value) = http::HeaderValue::from_str(&sample)
                && let Ok(text) = value.to_str()
            {
                let kept = bearer_token(text).map(|token| BearerToken::within(&value, text, token));
                proptest::prop_assert_eq!(kept.as_ref().map(BearerToken::as_str), expected);
            }
        }
    }

    #[test]
    fn a_tokens_headers_are_computed_once_per_configuration_and_consumer() {
        let token = ActiveToken::new(Map::new());
        let computed = Cell::new(0);
        let compute = || {
            computed.set(computed.get() + 1);
            UpstreamHeaders::default()
        };
        let (first, changed) = (custom("consumer.id"), custom("consumer.username"));
        let (alice, bob) = (Some(Uuid::from_u128(1)), Some(Uuid::from_u128(2)));
        token.headers(&first, alice, compute);
        token.headers(&custom("consumer.id"), alice, compute);
        assert_eq!(computed.get(), 1, "cached, also for the same configuration compiled again");
        token.headers(&changed, alice, compute);
        assert_eq!(computed.get(), 2, "a changed configuration recomputes");
        token.headers(&changed, bob, compute);
        token.headers(&changed, None, compute);
        assert_eq!(computed.get(), 4, "another consumer, or none, recomputes");
    }
}
