//! The oxd module (`oxd.md`): registers, updates and removes OP clients ("sites"), obtains client tokens,
//! introspects access tokens and verifies OP-signed JWTs. The Gluu plugins call it in-process; the server
//! serves the same commands on the oxd-compatible HTTP API.
//!
//! OP calls are plain `reqwest` + serde: dynamic registration must accept oxAuth's 200 as well as RFC 7591's
//! 201, RFC 7592 and oxAuth's introspection variants are not covered by the OAuth crates (`oxd.md` §4).
//! Outbound TLS is verified unless `trust_all_certs` is set.

pub(crate) mod cache;
mod code_flow;
pub mod error;
pub mod expiring;
pub mod id_token;
pub mod jwt;
pub mod site;
pub mod uma;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use cache::Cache;
pub use error::OxdError;
pub use expiring::{ExpiringKind, ExpiringStore, MemoryExpiring};
pub use site::{MemorySites, Site, SiteStore};
pub use uma::{CachedRpt, UmaResource};

/// How the module authenticates to the OP's introspection endpoint (`oxd.md` §2.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntrospectionAuth {
    /// From the discovery document: client_secret_basic, else client_secret_post, else bearer.
    Auto,
    /// oxAuth: `Authorization: Bearer <a client token of the site>`.
    Bearer,
    ClientSecretBasic,
    ClientSecretPost,
}

#[derive(Debug, Clone)]
pub struct OxdSettings {
    /// Lab opt-out of TLS verification towards the OP (`gluu-plugins.md` §14 D6).
    pub trust_all_certs: bool,
    pub add_client_credentials_grant: bool,
    pub introspection_auth: IntrospectionAuth,
    /// `remove-site` also deletes the client at the OP (RFC 7592 DELETE).
    pub remove_site_deletes_op_client: bool,
    pub timeout: Duration,
    pub discovery_ttl: Duration,
    pub jwks_ttl: Duration,
    /// Client tokens are renewed this long before they expire.
    pub token_margin: Duration,
    /// How long a code flow's `state` and `nonce` wait for the code (`state_expiration_in_minutes`).
    pub state_ttl: Duration,
    /// PKCE S256 when the OP's discovery lists it (`pkce = auto`); `false` is `pkce = off`.
    pub pkce: bool,
}

impl Default for OxdSettings {
    fn default() -> Self {
        OxdSettings {
            trust_all_certs: false,
            add_client_credentials_grant: true,
            introspection_auth: IntrospectionAuth::Auto,
            remove_site_deletes_op_client: false,
            timeout: Duration::from_secs(10),
            discovery_ttl: Duration::from_secs(3600),
            jwks_ttl: Duration::from_secs(600),
            token_margin: Duration::from_secs(5),
            state_ttl: Duration::from_secs(300),
            pkce: true,
        }
    }
}

/// The parts of an OP's discovery document the module uses; `raw` is the whole document.
#[derive(Debug, Clone, Deserialize)]
pub struct Discovery {
    pub issuer: String,
    #[serde(default)]
    pub authorization_endpoint: Option<String>,
    pub token_endpoint: String,
    #[serde(default)]
    pub userinfo_endpoint: Option<String>,
    #[serde(default)]
    pub jwks_uri: Option<String>,
    #[serde(default)]
    pub registration_endpoint: Option<String>,
    #[serde(default)]
    pub end_session_endpoint: Option<String>,
    #[serde(default)]
    pub introspection_endpoint: Option<String>,
    #[serde(default)]
    pub introspection_endpoint_auth_methods_supported: Option<Vec<String>>,
    #[serde(default)]
    pub token_endpoint_auth_methods_supported: Option<Vec<String>>,
    #[serde(skip)]
    pub raw: Value,
}

/// A client token: what `get-client-token` answers, and what the module keeps to call the OP.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientToken {
    pub access_token: String,
    pub expires_in: u64,
    pub refresh_token: Option<String>,
    pub scope: Vec<String>,
}

/// Why an OP-signed JWT was refused (`gluu-plugins.md` §3.4, §14 D7–D8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwtRejection {
    /// 401 `Bad JWT`: an unsupported algorithm (`none`, HMAC) or one the key does not allow.
    BadJwt,
    MissedKid,
    UnknownKid,
    /// 401 `JWT is not verified, reason: <reason>`.
    NotVerified(&'static str),
    MalformedPayload,
    /// 502: the OP could not be asked.
    Unavailable(String),
}

pub struct Oxd {
    http: reqwest::Client,
    settings: OxdSettings,
    sites: Arc<dyn SiteStore>,
    expiring: Arc<dyn ExpiringStore>,
    discoveries: Cache<String, Arc<Discovery>>,
    uma_discoveries: Cache<String, Arc<uma::UmaDiscovery>>,
    tokens: Cache<(String, String, String), ClientToken>,
    jwks: Cache<String, Arc<jwt::Jwks>>,
    /// When each issuer's JWKS was last refreshed for an unknown `kid` (at most once per 10 s).
    forced_refresh: std::sync::Mutex<std::collections::HashMap<String, Instant>>,
}

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

/// RFC 6749 §2.3.1: id and secret are form-encoded before they are joined and base64-encoded.
fn basic_auth(client_id: &str, client_secret: &str) -> String {
    let encode = |text: &str| form_urlencoded::byte_serialize(text.as_bytes()).collect::<String>();
    let pair = format!("{}:{}", encode(client_id), encode(client_secret));
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(pair))
}

/// A fresh unguessable value (256 bits, base64url) for `state`, `nonce` and PKCE verifiers.
fn random_token() -> String {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 32];
    if ring::rand::SystemRandom::new().fill(&mut bytes).is_err() {
        // The OS random source failing is not recoverable; a UUID v4 still comes from a CSPRNG.
        return uuid::Uuid::new_v4().simple().to_string();
    }
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn strings(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::Array(items)) => items.iter().filter_map(|v| v.as_str().map(str::to_string)).collect(),
        Some(Value::String(text)) => text.split_whitespace().map(str::to_string).collect(),
        _ => Vec::new(),
    }
}

fn text<'a>(params: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    params.get(name).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty())
}

/// The discovery URL of an OP location (`oxd.md` §1.5).
pub fn discovery_url(params: &Map<String, Value>) -> Option<String> {
    if let Some(endpoint) = text(params, "op_configuration_endpoint") {
        return Some(endpoint.to_string());
    }
    let host = text(params, "op_host")?;
    let host = if host.contains("://") { host.to_string() } else { format!("https://{host}") };
    let path = text(params, "op_discovery_path").unwrap_or_default();
    Some(format!("{}{}/.well-known/openid-configuration", host.trim_end_matches('/'), path.trim_end_matches('/')))
}

/// Registration metadata fields: oxd's parameter name and the RFC 7591 / OIDC Registration name.
const METADATA: &[(&str, &str)] = &[
    ("redirect_uris", "redirect_uris"),
    ("post_logout_redirect_uris", "post_logout_redirect_uris"),
    ("response_types", "response_types"),
    ("grant_types", "grant_types"),
    ("client_name", "client_name"),
    ("client_jwks_uri", "jwks_uri"),
    ("client_token_endpoint_auth_method", "token_endpoint_auth_method"),
    ("client_token_endpoint_auth_signing_alg", "token_endpoint_auth_signing_alg"),
    ("client_request_uris", "request_uris"),
    ("client_sector_identifier_uri", "sector_identifier_uri"),
    ("contacts", "contacts"),
    ("logo_uri", "logo_uri"),
    ("client_uri", "client_uri"),
    ("policy_uri", "policy_uri"),
    ("tos_uri", "tos_uri"),
    ("subject_type", "subject_type"),
    ("id_token_signed_response_alg", "id_token_signed_response_alg"),
    ("user_info_signed_response_alg", "userinfo_signed_response_alg"),
    ("request_object_signing_alg", "request_object_signing_alg"),
    ("default_max_age", "default_max_age"),
    ("require_auth_time", "require_auth_time"),
    ("initiate_login_uri", "initiate_login_uri"),
    ("software_id", "software_id"),
    ("software_version", "software_version"),
    ("software_statement", "software_statement"),
    ("ui_locales", "ui_locales_supported"),
    ("claims_locales", "claims_locales_supported"),
    // oxAuth's metadata for UMA claims gathering; OPs that do not know it drop it.
    ("claims_redirect_uri", "claims_redirect_uri"),
];

/// What a registration answer carries besides metadata; never sent back in an RFC 7592 PUT.
const REGISTRATION_OUTPUT: [&str; 5] = [
    "registration_access_token",
    "registration_client_uri",
    "client_id_issued_at",
    "client_secret_expires_at",
    "client_secret",
];

impl Oxd {
    pub fn new(
        settings: OxdSettings,
        sites: Arc<dyn SiteStore>,
        expiring: Arc<dyn ExpiringStore>,
    ) -> Result<Oxd, String> {
        if settings.trust_all_certs {
            tracing::warn!("trust_all_certs is set: the oxd module does not verify the OP's TLS certificates");
        }
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout.min(Duration::from_secs(5)))
            .danger_accept_invalid_certs(settings.trust_all_certs)
            .build()
            .map_err(|e| format!("cannot build the OP client: {e}"))?;
        Ok(Oxd {
            http,
            settings,
            sites,
            expiring,
            discoveries: Cache::new(256),
            uma_discoveries: Cache::new(256),
            tokens: Cache::new(10_000),
            jwks: Cache::new(256),
            forced_refresh: Default::default(),
        })
    }

    /// Forgets cached discovery documents, JWKS and client tokens (the Admin API's `DELETE /cache`).
    pub fn purge_caches(&self) {
        self.discoveries.clear();
        self.jwks.clear();
        self.tokens.clear();
    }

    pub fn sites(&self) -> &Arc<dyn SiteStore> {
        &self.sites
    }

    /// The site `oxd_id` names (`400 bad_request` when blank, `400 invalid_oxd_id` when unknown).
    pub async fn site(&self, oxd_id: Option<&str>) -> Result<Site, OxdError> {
        let oxd_id = oxd_id.map(str::trim).filter(|s| !s.is_empty()).ok_or_else(OxdError::blank_oxd_id)?;
        match self.sites.load(oxd_id).await {
            Ok(Some(site)) => Ok(site),
            Ok(None) => Err(OxdError::invalid_oxd_id()),
            Err(error) => {
                tracing::error!(%error, "cannot read oxd site");
                Err(OxdError::internal())
            }
        }
    }

    async fn save(&self, site: &Site) -> Result<(), OxdError> {
        self.sites.save(site).await.map_err(|error| {
            tracing::error!(%error, "cannot store oxd site");
            OxdError::internal()
        })
    }

    /// The OP's discovery document, cached.
    pub async fn discovery(&self, url: &str) -> Result<Arc<Discovery>, OxdError> {
        let ttl = self.settings.discovery_ttl;
        self.discoveries
            .get_or_fetch(&url.to_string(), false, || async {
                let response = self.http.get(url).send().await.map_err(|error| {
                    tracing::error!(%error, url, "discovery failed");
                    OxdError::no_discovery()
                })?;
                if !response.status().is_success() {
                    tracing::error!(status = %response.status(), url, "discovery failed");
                    return Err(OxdError::no_discovery());
                }
                let raw: Value = response.json().await.map_err(|_| OxdError::no_discovery())?;
                let mut discovery: Discovery =
                    serde_json::from_value(raw.clone()).map_err(|_| OxdError::no_discovery())?;
                // The issuer must be the prefix the document was found under (OIDC Discovery §4.3).
                if url.strip_suffix("/.well-known/openid-configuration").map(|p| p.trim_end_matches('/'))
                    != Some(discovery.issuer.trim_end_matches('/'))
                {
                    tracing::error!(issuer = %discovery.issuer, url, "discovery issuer does not match its URL");
                    return Err(OxdError::no_discovery());
                }
                discovery.raw = raw;
                Ok((Arc::new(discovery), ttl))
            })
            .await
    }

    async fn send_json(&self, request: reqwest::RequestBuilder) -> Result<(u16, Value), OxdError> {
        let response = request.send().await.map_err(|error| {
            tracing::error!(%error, "OP request failed");
            OxdError::internal()
        })?;
        let status = response.status().as_u16();
        let body = response.text().await.unwrap_or_default();
        if (400..500).contains(&status) {
            return Err(OxdError::Op { status, body });
        }
        if !(200..300).contains(&status) {
            tracing::error!(status, body = %body.chars().take(300).collect::<String>(), "OP error");
            return Err(OxdError::internal());
        }
        if body.trim().is_empty() {
            return Ok((status, Value::Null));
        }
        serde_json::from_str(&body).map(|v| (status, v)).map_err(|_| {
            tracing::error!(status, "OP answered with something that is not JSON");
            OxdError::internal()
        })
    }

    /// `register-site` (`oxd.md` §1.6).
    pub async fn register_site(&self, params: &Map<String, Value>) -> Result<Value, OxdError> {
        let (client_id, client_secret) = (text(params, "client_id"), text(params, "client_secret"));
        match (client_id, client_secret) {
            (Some(_), None) => {
                return Err(OxdError::code(
                    400,
                    "invalid_client_secret",
                    "client_secret is required parameter in request (skip client_id if you wish to dynamically \
                     register client.).",
                ));
            }
            (None, Some(_)) => {
                return Err(OxdError::code(
                    400,
                    "invalid_client_id",
                    "client_id is required parameter in request (skip client_secret if you wish to dynamically \
                     register client.).",
                ));
            }
            _ => {}
        }
        let url = discovery_url(params).ok_or_else(|| {
            OxdError::code(
                400,
                "invalid_op_host_and_configuration_endpoint",
                "Both op_host and op_configuration_endpoint are invalid (empty or blank). At least one parameter \
                 should be defined.",
            )
        })?;
        let oxd_id = uuid::Uuid::new_v4().to_string();
        let metadata = self.registration_metadata(params, &oxd_id, None)?;
        let discovery = self.discovery(&url).await?;
        let mut site = Site {
            oxd_id: oxd_id.clone(),
            op_host: discovery.issuer.clone(),
            op_configuration_endpoint: url,
            client_id: String::new(),
            client_secret: String::new(),
            client_registration_access_token: None,
            client_registration_client_uri: None,
            client_id_issued_at: None,
            client_secret_expires_at: None,
            client_name: metadata.get("client_name").and_then(Value::as_str).map(str::to_string),
            metadata,
            ..Site::default()
        };
        if let (Some(id), Some(secret)) = (client_id, client_secret) {
            // Given credentials: no registration (a later update-site has no client URI to call).
            site.client_id = id.to_string();
            site.client_secret = secret.to_string();
        } else {
            let endpoint = discovery.registration_endpoint.clone().ok_or_else(|| {
                OxdError::code(
                    500,
                    "invalid_request",
                    "OP does not support dynamic client registration. Please register client manually and provide \
                     client_id and client_secret to register_site command.",
                )
            })?;
            let (_, registered) = self.send_json(self.http.post(&endpoint).json(&site.metadata)).await?;
            self.absorb_registration(&mut site, &registered)?;
        }
        self.save(&site).await?;
        Ok(json!({
            "oxd_id": site.oxd_id,
            "op_host": site.op_host,
            "client_id": site.client_id,
            "client_name": site.client_name,
            "client_secret": site.client_secret,
            "client_registration_access_token": site.client_registration_access_token,
            "client_registration_client_uri": site.client_registration_client_uri,
            "client_id_issued_at": site.client_id_issued_at,
            "client_secret_expires_at": site.client_secret_expires_at,
        }))
    }

    /// The RFC 7591 metadata for a registration or an update: `base` (the stored metadata) with the given
    /// parameters applied, oxd's defaults for what is still missing.
    fn registration_metadata(
        &self,
        params: &Map<String, Value>,
        oxd_id: &str,
        base: Option<&Map<String, Value>>,
    ) -> Result<Map<String, Value>, OxdError> {
        let mut metadata = base.cloned().unwrap_or_default();
        for (param, field) in METADATA {
            match params.get(*param) {
                Some(Value::Null) | None => {}
                Some(value) => {
                    metadata.insert((*field).to_string(), value.clone());
                }
            }
        }
        if let Some(scope) = params.get("scope").filter(|v| !v.is_null()) {
            metadata.insert("scope".into(), json!(strings(Some(scope)).join(" ")));
        }
        let defaults: [(&str, Value); 3] = [
            ("response_types", json!(["code"])),
            ("grant_types", json!(["authorization_code"])),
            ("scope", json!("openid profile email")),
        ];
        for (field, value) in defaults {
            if metadata.get(field).is_none_or(|v| v.is_null() || v.as_array().is_some_and(Vec::is_empty)) {
                metadata.insert(field.into(), value);
            }
        }
        if self.settings.add_client_credentials_grant
            && let Some(Value::Array(grants)) = metadata.get_mut("grant_types")
            && !grants.iter().any(|g| g == "client_credentials")
        {
            grants.push(json!("client_credentials"));
        }
        metadata.entry("application_type").or_insert(json!("web"));
        metadata.entry("client_name").or_insert_with(|| json!(format!("oxd client for rp: {oxd_id}")));
        let redirects = strings(metadata.get("redirect_uris"));
        if redirects.is_empty() || redirects.iter().any(|uri| !uri.contains("://")) {
            return Err(OxdError::code(400, "invalid_redirect_uri", "Invalid redirect_uri (empty, blank or invalid)."));
        }
        if metadata.get("scope").and_then(Value::as_str).is_none_or(|s| s.trim().is_empty()) {
            return Err(OxdError::code(400, "invalid_scope", "Invalid scope parameter (empty or blank)."));
        }
        Ok(metadata)
    }

    /// Takes the credentials and the accepted metadata from a registration (or RFC 7592) answer.
    fn absorb_registration(&self, site: &mut Site, registered: &Value) -> Result<(), OxdError> {
        let Value::Object(answer) = registered else { return Err(OxdError::internal()) };
        if let Some(id) = text(answer, "client_id") {
            site.client_id = id.to_string();
        }
        if let Some(secret) = text(answer, "client_secret") {
            site.client_secret = secret.to_string();
        }
        if site.client_id.is_empty() {
            return Err(OxdError::code(
                500,
                "no_client_id_returned",
                "`client_id` is not returned from OP host. Please check OP log file for error (oxauth.log).",
            ));
        }
        if site.client_secret.is_empty() {
            return Err(OxdError::code(
                500,
                "no_client_secret_returned",
                "`client_secret` is not returned from OP host. Please check: 1) OP log file for error (oxauth.log) \
                 2) whether `returnClientSecretOnRead` configuration property is set to true on OP host.",
            ));
        }
        // A rotated registration access token replaces the old one, which the OP no longer accepts.
        if let Some(rat) = text(answer, "registration_access_token") {
            site.client_registration_access_token = Some(rat.to_string());
        }
        if let Some(uri) = text(answer, "registration_client_uri") {
            site.client_registration_client_uri = Some(uri.to_string());
        }
        site.client_id_issued_at =
            answer.get("client_id_issued_at").and_then(Value::as_i64).or(site.client_id_issued_at);
        site.client_secret_expires_at =
            answer.get("client_secret_expires_at").and_then(Value::as_i64).or(site.client_secret_expires_at);
        let mut metadata = answer.clone();
        for field in REGISTRATION_OUTPUT {
            metadata.remove(field);
        }
        metadata.remove("client_id");
        site.client_name = metadata.get("client_name").and_then(Value::as_str).map(str::to_string);
        site.metadata = metadata;
        Ok(())
    }

    /// `update-site`: RFC 7592 PUT of the complete metadata with the stored registration access token.
    pub async fn update_site(&self, params: &Map<String, Value>) -> Result<Value, OxdError> {
        let mut site = self.site(text(params, "oxd_id")).await?;
        let (Some(uri), Some(rat)) =
            (site.client_registration_client_uri.clone(), site.client_registration_access_token.clone())
        else {
            return Err(OxdError::code(
                500,
                "invalid_registration_client_url",
                "Registration client URL is invalid. Please check registration_client_url response parameter from \
                 IDP (http://openid.net/specs/openid-connect-registration-1_0.html#RegistrationResponse).",
            ));
        };
        let mut metadata = self.registration_metadata(params, &site.oxd_id, Some(&site.metadata))?;
        metadata.insert("client_id".into(), json!(site.client_id));
        for field in REGISTRATION_OUTPUT {
            metadata.remove(field);
        }
        let request = self.http.put(&uri).bearer_auth(&rat).json(&metadata);
        let (_, answer) = self.send_json(request).await?;
        self.absorb_registration(&mut site, &answer)?;
        self.save(&site).await?;
        Ok(json!({"oxd_id": site.oxd_id}))
    }

    /// `remove-site`: forgets the site (and, when configured, deletes the client at the OP).
    pub async fn remove_site(&self, params: &Map<String, Value>) -> Result<Value, OxdError> {
        let site = self.site(text(params, "oxd_id")).await?;
        if self.settings.remove_site_deletes_op_client
            && let (Some(uri), Some(rat)) =
                (&site.client_registration_client_uri, &site.client_registration_access_token)
        {
            let response = self.http.delete(uri).bearer_auth(rat).send().await;
            if !response.as_ref().is_ok_and(|r| r.status().is_success()) {
                tracing::warn!(oxd_id = %site.oxd_id, "the OP did not delete the client");
            }
        }
        match self.sites.remove(&site.oxd_id).await {
            Ok(_) => Ok(json!({"oxd_id": site.oxd_id})),
            Err(error) => {
                tracing::error!(%error, "cannot remove oxd site");
                Err(OxdError::code(500, "remove_site_failed", "Failed to remove site."))
            }
        }
    }

    /// `get-client-token`: a client_credentials token (`openid` always requested), not cached.
    pub async fn get_client_token(&self, params: &Map<String, Value>) -> Result<Value, OxdError> {
        let (Some(client_id), Some(client_secret)) = (text(params, "client_id"), text(params, "client_secret")) else {
            return Err(OxdError::invalid_request());
        };
        let url = discovery_url(params).ok_or_else(OxdError::invalid_request)?;
        let discovery = self.discovery(&url).await?;
        let mut scope = strings(params.get("scope"));
        if !scope.iter().any(|s| s == "openid") {
            scope.insert(0, "openid".into());
        }
        let token = self.request_client_token(&discovery, client_id, client_secret, &scope).await?;
        Ok(json!({
            "access_token": token.access_token,
            "expires_in": token.expires_in,
            "refresh_token": token.refresh_token,
            "scope": token.scope,
        }))
    }

    async fn request_client_token(
        &self,
        discovery: &Discovery,
        client_id: &str,
        client_secret: &str,
        scope: &[String],
    ) -> Result<ClientToken, OxdError> {
        let form = [("grant_type", "client_credentials".to_string()), ("scope", scope.join(" "))];
        let request = self
            .http
            .post(&discovery.token_endpoint)
            .header(reqwest::header::AUTHORIZATION, basic_auth(client_id, client_secret))
            .form(&form);
        self.client_token_from(self.send_json(request).await?.1)
    }

    /// A token endpoint answer read as a client token (`500 no_access_token` without one).
    fn client_token_from(&self, answer: Value) -> Result<ClientToken, OxdError> {
        let access_token = answer["access_token"].as_str().filter(|t| !t.is_empty()).ok_or_else(|| {
            OxdError::code(500, "no_access_token", "access_token is not returned by OP. Please check OP configuration.")
        })?;
        Ok(ClientToken {
            access_token: access_token.to_string(),
            expires_in: answer["expires_in"].as_u64().unwrap_or(0),
            refresh_token: answer["refresh_token"].as_str().map(str::to_string),
            scope: strings(answer.get("scope")),
        })
    }

    /// A client token of `site` for `scope`, kept until shortly before it expires; concurrent callers share
    /// one request to the OP.
    pub async fn site_token(&self, site: &Site, scope: &[&str]) -> Result<ClientToken, OxdError> {
        let key = (site.op_host.clone(), site.client_id.clone(), scope.join(" "));
        let discovery = self.discovery(&site.op_configuration_endpoint).await?;
        let margin = self.settings.token_margin;
        let scope: Vec<String> = scope.iter().map(|s| s.to_string()).collect();
        self.tokens
            .get_or_fetch(&key, false, || async {
                let token = self.request_client_token(&discovery, &site.client_id, &site.client_secret, &scope).await?;
                let ttl = Duration::from_secs(token.expires_in).saturating_sub(margin);
                Ok((token, ttl))
            })
            .await
    }

    /// `introspect-access-token`: the OP's answer with `scope` always an array (`oxd.md` §2.5).
    pub async fn introspect_access_token(&self, site: &Site, token: &str) -> Result<Value, OxdError> {
        let discovery = self.discovery(&site.op_configuration_endpoint).await?;
        let endpoint = discovery.introspection_endpoint.clone().ok_or_else(|| {
            tracing::error!(op = %site.op_host, "the OP has no introspection endpoint");
            OxdError::internal()
        })?;
        let mode = match self.settings.introspection_auth {
            // Without introspection auth methods in discovery (oidc-provider publishes none), the token
            // endpoint's methods tell whether the OP authenticates clients; oxAuth's bearer mode is the last resort.
            IntrospectionAuth::Auto => match discovery
                .introspection_endpoint_auth_methods_supported
                .as_ref()
                .or(discovery.token_endpoint_auth_methods_supported.as_ref())
            {
                Some(methods) if methods.iter().any(|m| m == "client_secret_basic") => {
                    IntrospectionAuth::ClientSecretBasic
                }
                Some(methods) if methods.iter().any(|m| m == "client_secret_post") => {
                    IntrospectionAuth::ClientSecretPost
                }
                _ => IntrospectionAuth::Bearer,
            },
            other => other,
        };
        let form = |extra: bool| {
            let mut form = vec![("token", token.to_string()), ("token_type_hint", "access_token".to_string())];
            if extra {
                form.push(("client_id", site.client_id.clone()));
                form.push(("client_secret", site.client_secret.clone()));
            }
            form
        };
        let answer = match mode {
            IntrospectionAuth::ClientSecretBasic => {
                let request = self
                    .http
                    .post(&endpoint)
                    .header(reqwest::header::AUTHORIZATION, basic_auth(&site.client_id, &site.client_secret))
                    .form(&form(false));
                self.send_json(request).await?.1
            }
            IntrospectionAuth::ClientSecretPost => self.send_json(self.http.post(&endpoint).form(&form(true))).await?.1,
            _ => {
                // oxAuth: a token of the site as bearer; a refused one is renewed once.
                let bearer = self.site_token(site, &["openid"]).await?;
                let first = self.http.post(&endpoint).bearer_auth(&bearer.access_token).form(&form(false));
                match self.send_json(first).await {
                    Err(OxdError::Op { status: 400 | 401, .. }) => {
                        self.tokens.remove(&(site.op_host.clone(), site.client_id.clone(), "openid".into()));
                        let bearer = self.site_token(site, &["openid"]).await?;
                        let retry = self.http.post(&endpoint).bearer_auth(&bearer.access_token).form(&form(false));
                        self.send_json(retry).await?.1
                    }
                    other => other?.1,
                }
            }
        };
        Ok(normalize_introspection(answer))
    }

    /// The OP's JWKS, cached per issuer; `force` refetches (at most once per 10 s per issuer).
    pub async fn jwks(&self, discovery: &Discovery, force: bool) -> Result<Arc<jwt::Jwks>, OxdError> {
        let force = force && {
            let mut refreshed = self.forced_refresh.lock().unwrap_or_else(|e| e.into_inner());
            let due = refreshed.get(&discovery.issuer).is_none_or(|at| at.elapsed() >= Duration::from_secs(10));
            if due {
                refreshed.insert(discovery.issuer.clone(), Instant::now());
            }
            due
        };
        let uri = discovery.jwks_uri.clone().ok_or_else(OxdError::internal)?;
        let ttl = self.settings.jwks_ttl;
        self.jwks
            .get_or_fetch(&discovery.issuer, force, || async {
                let (_, keys) = self.send_json(self.http.get(&uri)).await?;
                Ok((Arc::new(jwt::Jwks::from_json(&keys)), ttl))
            })
            .await
    }

    /// Verifies an OP-signed JWT access token (`gluu-plugins.md` §3.4 with §14 D7/D8) and returns its payload.
    pub async fn verify_jwt(
        &self,
        op_configuration_endpoint: &str,
        token: &jwt::Jwt<'_>,
        audiences: Option<&[String]>,
    ) -> Result<Map<String, Value>, JwtRejection> {
        let alg = token.alg().filter(|alg| jwt::ALGORITHMS.contains(alg)).ok_or(JwtRejection::BadJwt)?;
        let kid = token.kid().ok_or(JwtRejection::MissedKid)?;
        let unavailable = |e: OxdError| JwtRejection::Unavailable(e.to_string());
        let discovery = self.discovery(op_configuration_endpoint).await.map_err(unavailable)?;
        let mut keys = self.jwks(&discovery, false).await.map_err(unavailable)?;
        if keys.find(kid).is_none() {
            keys = self.jwks(&discovery, true).await.map_err(unavailable)?;
        }
        let key = keys.find(kid).ok_or(JwtRejection::UnknownKid)?;
        if key.alg.as_deref().is_some_and(|a| a != alg) || key.use_.as_deref().is_some_and(|u| u != "sig") {
            return Err(JwtRejection::BadJwt);
        }
        if key.exp.is_some_and(|exp| exp / 1000 < now()) {
            return Err(JwtRejection::UnknownKid);
        }
        if !token.verify_with(alg, key) {
            return Err(JwtRejection::NotVerified("signature mismatch"));
        }
        let payload = &token.payload;
        let (Some(_), Some(exp)) =
            (payload.get("client_id").and_then(Value::as_str), payload.get("exp").and_then(Value::as_i64))
        else {
            return Err(JwtRejection::MalformedPayload);
        };
        let now = now();
        if exp <= now {
            return Err(JwtRejection::NotVerified("token expired"));
        }
        if payload.get("nbf").and_then(Value::as_i64).is_some_and(|nbf| nbf > now) {
            return Err(JwtRejection::NotVerified("token not yet valid"));
        }
        if payload.get("iss").and_then(Value::as_str).map(|i| i.trim_end_matches('/'))
            != Some(discovery.issuer.trim_end_matches('/'))
        {
            return Err(JwtRejection::NotVerified("issuer mismatch"));
        }
        if let Some(audiences) = audiences {
            let aud = strings(payload.get("aud"));
            if !aud.iter().any(|a| audiences.contains(a)) {
                return Err(JwtRejection::NotVerified("audience mismatch"));
            }
        }
        Ok(payload.clone())
    }
}

/// Introspection answers with `scope` as an array (oxAuth's form, which the plugins iterate).
fn normalize_introspection(answer: Value) -> Value {
    let Value::Object(mut answer) = answer else { return json!({"active": false}) };
    if let Some(scope) = answer.get("scope").cloned() {
        answer.insert("scope".into(), json!(strings(Some(&scope))));
    }
    if !answer.get("active").is_some_and(Value::is_boolean) {
        let active = answer.get("active").and_then(Value::as_str) == Some("true");
        answer.insert("active".into(), json!(active));
    }
    Value::Object(answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovery_urls_from_every_op_location_form() {
        let params = |v: Value| v.as_object().cloned().unwrap();
        assert_eq!(
            discovery_url(&params(json!({"op_host": "op.example.com"}))).unwrap(),
            "https://op.example.com/.well-known/openid-configuration"
        );
        assert_eq!(
            discovery_url(&params(json!({"op_host": "http://127.0.0.1:3000/", "op_discovery_path": "/oxauth"})))
                .unwrap(),
            "http://127.0.0.1:3000/oxauth/.well-known/openid-configuration"
        );
        assert_eq!(
            discovery_url(&params(json!({"op_configuration_endpoint": "https://x/.well-known/openid-configuration",
                "op_host": "ignored"})))
            .unwrap(),
            "https://x/.well-known/openid-configuration"
        );
        assert_eq!(discovery_url(&params(json!({"op_host": "  "}))), None);
    }

    #[test]
    fn introspection_scope_becomes_an_array_whatever_the_op_sent() {
        assert_eq!(normalize_introspection(json!({"active": true, "scope": "a b"}))["scope"], json!(["a", "b"]));
        assert_eq!(normalize_introspection(json!({"active": true, "scope": ["a"]}))["scope"], json!(["a"]));
        assert_eq!(normalize_introspection(json!("garbage")), json!({"active": false}));
    }

    #[test]
    fn basic_auth_form_encodes_before_base64() {
        let header = basic_auth("@!1736.179E", "s:e cret");
        let decoded = base64::engine::general_purpose::STANDARD.decode(header.strip_prefix("Basic ").unwrap()).unwrap();
        assert_eq!(String::from_utf8(decoded).unwrap(), "%40%211736.179E:s%3Ae+cret");
    }
}
