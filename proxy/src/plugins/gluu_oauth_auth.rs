//! `gluu-oauth-auth` (`gluu-plugins.md` §3, §6): bearer token → validation (local for OP-signed JWTs,
//! introspection through the embedded oxd module otherwise) → consumer → upstream headers.
//!
//! Validations are cached per plugin instance, OP and SHA-256 of the token (never the token itself), up to
//! the token's expiry capped by `max_ttl`; inactive tokens are cached briefly; concurrent misses share one
//! OP call (§14 D1–D3). The consumer is looked up in the current snapshot on every request.

use std::sync::{Arc, LazyLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::StatusCode;
use http::header::{self, HeaderName, HeaderValue};
use regex::Regex;
use ring::digest;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::{Access, Credential, Flow, Plugin, PluginServices, RequestCtx, settings};
use crate::errors::json_exit;
use crate::model::entities::consumer::Consumer;
use crate::oxd::{JwtRejection, Oxd, OxdError, jwt};

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
    Active(Arc<Map<String, Value>>),
    /// A 401-class failure with its message.
    Rejected(String),
}

/// (plugin instance, token kind, OP, SHA-256 of the token).
pub type TokenKey = (Uuid, &'static str, String, [u8; 32]);
pub type TokenCache = crate::oxd::cache::Cache<TokenKey, Validation>;

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
    oxd_id: String,
    client_id: String,
    client_secret: String,
    op_discovery: String,
    anonymous: Option<String>,
    pass_credentials: PassCredentials,
    consumer_mapping: bool,
    jwt_audience: Option<Vec<String>>,
    oxd: Arc<Oxd>,
    cache: Arc<TokenCache>,
    cache_settings: TokenCacheSettings,
}

static BEARER: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\s*[Bb]earer\s+(.+)").expect("a valid regex"));

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
        let oxd = services.oxd.clone().ok_or("this node runs no oxd module")?;
        if !services.is_local_oxd(&s.oxd_url) {
            return Err(format!(
                "oxd_url '{}' is not this node's oxd module ({}); a remote oxd is not supported yet",
                s.oxd_url,
                services.local_oxd_urls.join(", ")
            ));
        }
        let op = s.op_url.trim_end_matches('/');
        Ok(GluuOauthAuth {
            id,
            oxd_id: s.oxd_id,
            client_id: s.client_id,
            client_secret: s.client_secret,
            op_discovery: format!("{op}/.well-known/openid-configuration"),
            anonymous: s.anonymous.map(|a| a.trim().to_string()).filter(|a| !a.is_empty()),
            pass_credentials: match s.pass_credentials.as_deref() {
                Some("hide") => PassCredentials::Hide,
                Some("phantom_token") => PassCredentials::PhantomToken,
                _ => PassCredentials::Pass,
            },
            consumer_mapping: s.consumer_mapping.unwrap_or(true),
            jwt_audience: s.jwt_audience,
            oxd,
            cache: services.token_cache.clone(),
            cache_settings: services.token_cache_settings,
        })
    }

    /// Validates `token` (cached).
    async fn validate(&self, token: &str) -> Result<Validation, OxdError> {
        let hash: [u8; 32] = digest::digest(&digest::SHA256, token.as_bytes()).as_ref().try_into().unwrap_or([0; 32]);
        let key: TokenKey = (self.id, "access_token", self.op_discovery.clone(), hash);
        let settings = self.cache_settings;
        self.cache
            .get_or_fetch(&key, false, || async {
                let validation = self.validate_uncached(token).await?;
                let ttl = match &validation {
                    Validation::Active(data) => {
                        let left = data.get("exp").and_then(Value::as_i64).map_or(0, |exp| exp - now() - 5);
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
            return match self.oxd.verify_jwt(&self.op_discovery, &parsed, self.jwt_audience.as_deref()).await {
                Ok(payload) => Ok(Validation::Active(Arc::new(payload))),
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
        let site = self.oxd.site(Some(&self.oxd_id)).await?;
        if site.client_id != self.client_id || site.client_secret != self.client_secret {
            tracing::error!(oxd_id = %self.oxd_id, "oxd_id/client credentials mismatch");
            return Err(OxdError::internal());
        }
        let answer = self.oxd.introspect_access_token(&site, token).await?;
        match answer {
            Value::Object(data) if data.get("active") == Some(&Value::Bool(true)) => {
                Ok(Validation::Active(Arc::new(data)))
            }
            _ => Ok(Validation::Rejected(INVALID_TOKEN.into())),
        }
    }

    async fn authenticate(&self, cx: &mut RequestCtx) -> Flow {
        for name in IDENTITY_HEADERS {
            cx.request.headers.remove(name);
        }
        let token = cx
            .header("authorization")
            .and_then(|value| BEARER.captures(value))
            .and_then(|captures| captures.get(1))
            .map(|m| m.as_str().to_string());
        let Some(token) = token else {
            return match &self.anonymous {
                Some(anonymous) => self.anonymous_branch(cx, anonymous),
                None => unauthorized("Failed to get bearer token from Authorization header"),
            };
        };
        let data = match self.validate(&token).await {
            Ok(Validation::Active(data)) => data,
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
        let client_id = data.get("client_id").and_then(Value::as_str).map(str::to_string);
        let mut token_data = (*data).clone();
        let consumer = if self.consumer_mapping {
            let found = client_id.as_deref().and_then(|id| cx.snapshot.consumers_by_custom_id.get(id)).cloned();
            let Some(consumer) = found else {
                tracing::info!(
                    client_id = client_id.as_deref().unwrap_or_default(),
                    "consumer with custom_id not found"
                );
                return unauthorized("Unknown consumer");
            };
            token_data.insert("consumer".into(), consumer_json(&consumer));
            Some(consumer)
        } else {
            None
        };
        if let Some(client_id) = &client_id {
            cx.credential = Some(Credential { id: client_id.clone(), consumer: consumer.as_ref().map(|c| c.id) });
        }
        cx.consumer = consumer.clone();
        cx.gluu_flags().oauth_client_authenticated = true;
        let token_data = Value::Object(token_data);
        match self.pass_credentials {
            PassCredentials::Pass => {}
            PassCredentials::Hide => {
                cx.request.headers.remove(header::AUTHORIZATION);
            }
            PassCredentials::PhantomToken => {
                if token_data.get("active").is_some_and(truthy)
                    && let Ok(value) = HeaderValue::from_str(&format!("Bearer {}", jwt::unsigned(&token_data)))
                {
                    cx.request.headers.insert(header::AUTHORIZATION, value);
                }
            }
        }
        legacy_headers(cx, consumer.as_deref(), &token_data);
        cx.request_token = Some(token);
        cx.request_token_data = Some(token_data);
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
            legacy_headers(cx, Some(&consumer), &data);
        } else {
            legacy_headers(cx, None, &json!({}));
        }
        Flow::Continue
    }
}

fn truthy(value: &Value) -> bool {
    !matches!(value, Value::Null | Value::Bool(false))
}

fn consumer_json(consumer: &Consumer) -> Value {
    serde_json::to_value(consumer).unwrap_or_default()
}

/// Kong's consumer headers and the OAuth ones (the issue's legacy set), used when no `custom_headers` are
/// configured.
fn legacy_headers(cx: &mut RequestCtx, consumer: Option<&Consumer>, data: &Value) {
    let mut set = |name: &'static str, value: String| {
        if let Ok(value) = HeaderValue::from_str(&value) {
            cx.request.headers.insert(HeaderName::from_static(name), value);
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
            let scopes: Vec<&str> = data
                .get("scope")
                .and_then(Value::as_array)
                .map(|s| s.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            set("x-authenticated-scope", scopes.join(", "));
        }
        None => set("x-anonymous-consumer", "true".into()),
    }
}

impl Plugin for GluuOauthAuth {
    fn access<'a>(&'a self, cx: &'a mut RequestCtx) -> Access<'a> {
        Access::Later(Box::pin(self.authenticate(cx)))
    }
}
