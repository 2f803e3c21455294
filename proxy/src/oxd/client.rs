//! How a Gluu plugin reaches oxd (`gluu-plugins.md` §3.2): the node's own module, in-process, when `oxd_url`
//! names this node's oxd API; otherwise that oxd server over its HTTP API. Plugins call one [`OxdClient`]
//! and never branch on the transport.

use std::sync::Arc;

use serde_json::{Map, Value};

use super::remote::RemoteOxd;
use super::{JwtRejection, Oxd, OxdError, jwt};

/// A plugin's site at oxd: the fields every Gluu plugin configuration carries.
#[derive(Clone)]
pub struct PluginSite {
    pub oxd_id: String,
    pub client_id: String,
    pub client_secret: String,
    /// The OP, as configured (`op_url`, sent as `op_host`).
    pub op_url: String,
}

impl std::fmt::Debug for PluginSite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginSite")
            .field("oxd_id", &self.oxd_id)
            .field("client_id", &self.client_id)
            .field("op_url", &self.op_url)
            .finish_non_exhaustive()
    }
}

impl PluginSite {
    /// The OP's discovery URL.
    pub fn op_discovery(&self) -> String {
        format!("{}/.well-known/openid-configuration", self.op_url.trim_end_matches('/'))
    }
}

#[derive(Clone)]
pub enum OxdClient {
    /// This node's oxd module, called in-process.
    Embedded(Arc<Oxd>),
    /// Another oxd server (another Gatehouse node, or Gluu's oxd).
    Remote(Arc<RemoteOxd>),
}

impl OxdClient {
    /// `introspect-access-token` for the plugin's site. In-process, the plugin's credentials must be the
    /// stored site's (else an internal error, logged as GG logs it); a remote server checks them itself.
    pub async fn introspect_access_token(&self, site: &PluginSite, token: &str) -> Result<Value, OxdError> {
        match self {
            OxdClient::Embedded(oxd) => {
                let stored = oxd.site(Some(&site.oxd_id)).await?;
                if stored.client_id != site.client_id || stored.client_secret != site.client_secret {
                    tracing::error!(oxd_id = %site.oxd_id, "oxd_id/client credentials mismatch");
                    return Err(OxdError::internal());
                }
                oxd.introspect_access_token(&stored, token).await
            }
            OxdClient::Remote(remote) => remote.introspect_access_token(site, token).await,
        }
    }

    /// Verifies an OP-signed JWT access token of the site's OP.
    pub async fn verify_jwt(
        &self,
        site: &PluginSite,
        token: &jwt::Jwt<'_>,
        audiences: Option<&[String]>,
    ) -> Result<Map<String, Value>, JwtRejection> {
        match self {
            OxdClient::Embedded(oxd) => oxd.verify_jwt(&site.op_discovery(), token, audiences).await,
            OxdClient::Remote(remote) => remote.verify_jwt(&site.op_url, token, audiences).await,
        }
    }
}
