//! A remote oxd server (`gluu-plugins.md` §3.2, "Remote"): a Gluu plugin whose `oxd_url` is not this node's
//! oxd API talks to that server with oxd's commands over HTTP(S), TLS verified like every outbound call of
//! the module (§14 D6) and each call bounded by the module's timeout.
//!
//! The plugin's PAT (`get-client-token` of its client with scope `openid oxd`) is kept per (OP, client) until
//! shortly before it expires and shared by concurrent requests (§14 D3, D5); a PAT the server refuses (403) is
//! renewed once. The OP's discovery document and JWKS, fetched through the server (`get-discovery`,
//! `get-jwks`) for the local verification of JWT access tokens, are cached as the embedded module does.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Map, Value, json};

use super::cache::Cache;
use super::discovery::Discovery;
use super::jwks::{ForcedRefresh, verify_access_token};
use super::{ClientToken, JwtRejection, OxdError, OxdSettings, PluginSite, jwt};

/// The remote oxd servers plugins name, one client each, kept across configuration snapshots so their
/// caches survive reloads.
pub struct RemoteOxds {
    http: reqwest::Client,
    settings: OxdSettings,
    servers: Mutex<HashMap<String, Arc<RemoteOxd>>>,
}

impl RemoteOxds {
    pub fn new(settings: &OxdSettings) -> Result<RemoteOxds, String> {
        let http = settings.http_client().map_err(|e| format!("cannot build the remote oxd client: {e}"))?;
        Ok(RemoteOxds { http, settings: settings.clone(), servers: Mutex::default() })
    }

    /// Forgets every server's PATs, discovery documents and JWKS (the Admin API's `DELETE /cache`).
    pub fn purge_caches(&self) {
        for server in self.servers.lock().unwrap_or_else(|e| e.into_inner()).values() {
            server.pats.clear();
            server.discoveries.clear();
            server.jwks.clear();
        }
    }

    /// The client of the oxd server at `oxd_url`.
    pub fn server(&self, oxd_url: &str) -> Arc<RemoteOxd> {
        let url = oxd_url.trim().trim_end_matches('/').to_string();
        let mut servers = self.servers.lock().unwrap_or_else(|e| e.into_inner());
        servers
            .entry(url.clone())
            .or_insert_with(|| {
                Arc::new(RemoteOxd {
                    url,
                    http: self.http.clone(),
                    token_margin: self.settings.token_margin,
                    discovery_ttl: self.settings.discovery_ttl,
                    jwks_ttl: self.settings.jwks_ttl,
                    pats: Cache::new(10_000),
                    discoveries: Cache::new(256),
                    jwks: Cache::new(256),
                    forced_refresh: ForcedRefresh::default(),
                })
            })
            .clone()
    }
}

pub struct RemoteOxd {
    url: String,
    http: reqwest::Client,
    token_margin: Duration,
    discovery_ttl: Duration,
    jwks_ttl: Duration,
    /// PATs by (OP URL, client id).
    pats: Cache<(String, String), ClientToken>,
    discoveries: Cache<String, Arc<Discovery>>,
    jwks: Cache<String, Arc<jwt::Jwks>>,
    forced_refresh: ForcedRefresh,
}

/// What a remote command answered: its status and JSON body.
struct Answer {
    status: u16,
    body: Value,
}

impl RemoteOxd {
    pub fn url(&self) -> &str {
        &self.url
    }

    /// `POST {oxd_url}/{command}`. The server's error code is logged, never the request (it may carry the
    /// client secret) nor the body; a body that is not JSON is an internal error (§3.2).
    async fn command(&self, command: &str, body: &Value, bearer: Option<&str>) -> Result<Answer, OxdError> {
        let mut request = self.http.post(format!("{}/{command}", self.url)).json(body);
        if let Some(bearer) = bearer {
            request = request.bearer_auth(bearer);
        }
        let response = request.send().await.map_err(|error| {
            tracing::error!(error = %error.without_url(), oxd = %self.url, command, "remote oxd request failed");
            OxdError::internal()
        })?;
        let status = response.status().as_u16();
        let text = response.text().await.map_err(|error| {
            tracing::error!(error = %error.without_url(), oxd = %self.url, command, "remote oxd answer cut short");
            OxdError::internal()
        })?;
        let body = serde_json::from_str(&text).map_err(|_| {
            tracing::error!(oxd = %self.url, command, status, "remote oxd answered something that is not JSON");
            OxdError::internal()
        })?;
        Ok(Answer { status, body })
    }

    /// The answer of a command that must succeed; anything but 200 is logged with oxd's error code.
    async fn expect_ok(&self, command: &str, body: &Value, bearer: Option<&str>) -> Result<Value, OxdError> {
        let answer = self.command(command, body, bearer).await?;
        if answer.status != 200 {
            let error = answer.body.get("error").and_then(Value::as_str).unwrap_or_default();
            tracing::error!(oxd = %self.url, command, status = answer.status, error, "remote oxd refused a command");
            return Err(OxdError::internal());
        }
        Ok(answer.body)
    }

    /// The plugin's PAT; `fresh` drops the cached one first.
    async fn pat(&self, site: &PluginSite, fresh: bool) -> Result<String, OxdError> {
        let key = (site.op_url.clone(), site.client_id.clone());
        if fresh {
            self.pats.remove(&key);
        }
        let margin = self.token_margin;
        let token = self
            .pats
            .get_or_fetch(&key, false, || async {
                let request = json!({"client_id": site.client_id, "client_secret": site.client_secret,
                    "scope": ["openid", "oxd"], "op_host": site.op_url});
                let token = ClientToken::from_answer(&self.expect_ok("get-client-token", &request, None).await?)?;
                let ttl = Duration::from_secs(token.expires_in).saturating_sub(margin);
                Ok((token, ttl))
            })
            .await?;
        Ok(token.access_token)
    }

    /// `introspect-access-token` with the plugin's PAT, renewed once when the server refuses it.
    pub async fn introspect_access_token(&self, site: &PluginSite, token: &str) -> Result<Value, OxdError> {
        let request = json!({"oxd_id": site.oxd_id, "access_token": token});
        let pat = self.pat(site, false).await?;
        let answer = self.command("introspect-access-token", &request, Some(&pat)).await?;
        if answer.status == 403 {
            let pat = self.pat(site, true).await?;
            return self.expect_ok("introspect-access-token", &request, Some(&pat)).await;
        }
        if answer.status != 200 {
            let error = answer.body.get("error").and_then(Value::as_str).unwrap_or_default();
            tracing::error!(oxd = %self.url, status = answer.status, error, "introspect-access-token error");
            return Err(OxdError::internal());
        }
        Ok(answer.body)
    }

    async fn discovery(&self, op_url: &str) -> Result<Arc<Discovery>, OxdError> {
        let ttl = self.discovery_ttl;
        self.discoveries
            .get_or_fetch(&op_url.to_string(), false, || async {
                let raw = self.expect_ok("get-discovery", &json!({"op_host": op_url}), None).await?;
                let mut discovery: Discovery = serde_json::from_value(raw.clone()).map_err(|_| {
                    tracing::error!(oxd = %self.url, "remote oxd's get-discovery answer is not a discovery document");
                    OxdError::no_discovery()
                })?;
                discovery.raw = raw;
                Ok((Arc::new(discovery), ttl))
            })
            .await
    }

    async fn op_jwks(&self, op_url: &str, issuer: &str, force: bool) -> Result<Arc<jwt::Jwks>, OxdError> {
        let force = force && self.forced_refresh.allow(issuer);
        let ttl = self.jwks_ttl;
        self.jwks
            .get_or_fetch(&issuer.to_string(), force, || async {
                let keys = self.expect_ok("get-jwks", &json!({"op_host": op_url}), None).await?;
                Ok((Arc::new(jwt::Jwks::from_json(&keys)), ttl))
            })
            .await
    }

    /// Verifies an OP-signed JWT access token with the OP's keys as the remote server reports them.
    pub async fn verify_jwt(
        &self,
        op_url: &str,
        token: &jwt::Jwt<'_>,
        audiences: Option<&[String]>,
    ) -> Result<Map<String, Value>, JwtRejection> {
        let discovery = self.discovery(op_url).await.map_err(|error| JwtRejection::Unavailable(error.to_string()))?;
        let issuer = discovery.issuer.as_str();
        verify_access_token(token, issuer, audiences, |force| self.op_jwks(op_url, issuer, force)).await
    }
}
