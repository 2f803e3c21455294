//! UMA 2.0 as oxd speaks it to oxAuth (`oxd.md` §1.7, §1.10, §2.7): UMA discovery and the PAT here; resource
//! registration (`uma-rs-protect`, `uma-rs-modify`) in [`resources`], the resource server's access check with
//! permission tickets and RPT introspection in [`access`], the client side (`uma-rp-get-rpt`, claims gathering)
//! in [`rpt`].

mod access;
mod resources;
mod rpt;

use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;

use super::{Oxd, OxdError, Site};
pub use resources::UmaResource;
pub use rpt::CachedRpt;

/// The UMA discovery document (`/.well-known/uma2-configuration`), the parts the module uses.
#[derive(Debug, Clone, Deserialize)]
pub struct UmaDiscovery {
    pub issuer: String,
    pub token_endpoint: String,
    pub introspection_endpoint: String,
    pub resource_registration_endpoint: String,
    pub permission_endpoint: String,
    #[serde(default)]
    pub claims_interaction_endpoint: Option<String>,
}

pub(super) fn code(status: u16, error: &'static str, description: &'static str) -> OxdError {
    OxdError::code(status, error, description)
}

pub(super) const DOC_URL: &str = "https://gluu.org/docs/oxd";

pub(super) fn invalid_uma_request() -> OxdError {
    OxdError::code(
        400,
        "invalid_uma_request",
        format!(
            "Resources list to protect is empty or blank. Please check it according to protocol definition at {DOC_URL}"
        ),
    )
}

pub(super) fn invalid_scope_expression() -> OxdError {
    code(
        400,
        "invalid_scope_expression",
        "The scope expression is invalid. Please check the documentation and make sure it is a valid JsonLogic \
         expression.",
    )
}

pub(super) fn invalid_http_method() -> OxdError {
    OxdError::code(
        400,
        "invalid_http_method",
        format!(
            "http_method is not specified or otherwise not GET or POST or PUT or DELETE. Please check it according \
             to protocol definition at {DOC_URL}"
        ),
    )
}

pub(super) fn invalid_path() -> OxdError {
    code(400, "invalid_path_parameter", "path parameter is not specified or otherwise not valid")
}

pub(super) fn invalid_ticket() -> OxdError {
    code(400, "invalid_ticket_parameter", "ticket parameter is not specified or otherwise is not valid")
}

pub(super) fn not_protected(path: &str, method: &str) -> OxdError {
    OxdError::code(
        400,
        "invalid_request",
        format!(
            "Resource is not protected with path: {path} and httpMethod: {method}. Please protect your resource \
             first with uma_rs_protect command. Check details on {DOC_URL}"
        ),
    )
}

/// The AS's error code in an OP error body, if it has one.
pub(super) fn op_error_code(body: &str) -> Option<String> {
    serde_json::from_str::<Value>(body).ok()?.get("error")?.as_str().map(str::to_string)
}

impl Oxd {
    /// The UMA discovery document of the site's OP, cached like the OpenID one.
    pub async fn uma_discovery(&self, site: &Site) -> Result<Arc<UmaDiscovery>, OxdError> {
        self.uma_discovery_of(&site.op_configuration_endpoint).await
    }

    /// The UMA discovery document beside the OpenID one at `op_configuration_endpoint`.
    pub(crate) async fn uma_discovery_of(
        &self,
        op_configuration_endpoint: &str,
    ) -> Result<Arc<UmaDiscovery>, OxdError> {
        let no_discovery = || {
            code(
                500,
                "no_uma_discovery_response",
                "Unable to fetch UMA discovery response /.well-known/uma2-configuration",
            )
        };
        let url = match op_configuration_endpoint.strip_suffix("/.well-known/openid-configuration") {
            Some(base) => format!("{base}/.well-known/uma2-configuration"),
            None => return Err(no_discovery()),
        };
        let ttl = self.settings.discovery_ttl;
        self.uma_discoveries
            .get_or_fetch(&url, false, || async {
                let (_, raw) = self.send_json(self.http.get(&url)).await.map_err(|error| {
                    tracing::error!(%error, url, "UMA discovery failed");
                    no_discovery()
                })?;
                let discovery: UmaDiscovery = serde_json::from_value(raw).map_err(|_| no_discovery())?;
                Ok((Arc::new(discovery), ttl))
            })
            .await
    }

    /// The site's PAT (a client token with `uma_protection`), cached and shared by concurrent callers;
    /// `fresh` drops the cached one first.
    pub(super) async fn pat(&self, site: &Site, fresh: bool) -> Result<String, OxdError> {
        const SCOPE: [&str; 2] = ["openid", "uma_protection"];
        if fresh {
            self.tokens.remove(&(site.op_host.clone(), site.client_id.clone(), SCOPE.join(" ")));
        }
        let token = self.site_token(site, &SCOPE).await?;
        if !token.scope.iter().any(|s| s == "uma_protection") {
            tracing::error!(oxd_id = %site.oxd_id, "the OP granted no uma_protection scope for the PAT");
            return Err(OxdError::internal());
        }
        Ok(token.access_token)
    }

    /// Sends a protection-API request with the PAT; a 400/401/403 is retried once with a fresh PAT, since
    /// the AS may have revoked or expired the cached one.
    pub(super) async fn with_pat(
        &self,
        site: &Site,
        request: impl Fn(&str) -> reqwest::RequestBuilder,
    ) -> Result<(u16, Value), OxdError> {
        let pat = self.pat(site, false).await?;
        match self.send_json(request(&pat)).await {
            Err(OxdError::Op { status: 400 | 401 | 403, .. }) => {
                let pat = self.pat(site, true).await?;
                self.send_json(request(&pat)).await
            }
            other => other,
        }
    }
}
