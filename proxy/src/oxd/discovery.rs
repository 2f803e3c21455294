//! OP discovery (`oxd.md` §2.1): the discovery URL of an OP location, and the OP's discovery document,
//! cached and checked against its issuer.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Map, Value};

use super::params::text;
use super::{Oxd, OxdError};

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

impl Oxd {
    /// The OP's discovery document, cached.
    pub async fn discovery(&self, url: &str) -> Result<Arc<Discovery>, OxdError> {
        if !self.settings.allows_op(url) {
            return Err(OxdError::restricted_op_host());
        }
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
}

#[cfg(test)]
mod tests {
    use super::*;

    use serde_json::json;

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
}
