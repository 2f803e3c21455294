//! The oxd module (`oxd.md`): registers, updates and removes OP clients ("sites"), obtains client tokens,
//! introspects access tokens and verifies OP-signed JWTs. The Gluu plugins call it in-process; the server
//! serves the same commands on the oxd-compatible HTTP API.
//!
//! OP calls are plain `reqwest` + serde: dynamic registration must accept oxAuth's 200 as well as RFC 7591's
//! 201, RFC 7592 and oxAuth's introspection variants are not covered by the OAuth crates (`oxd.md` §4).
//! Outbound TLS is verified unless `trust_all_certs` is set.

pub(crate) mod cache;
mod client;
mod code_flow;
mod discovery;
pub mod error;
pub mod expiring;
pub mod id_token;
mod jwks;
pub mod jwt;
mod op_http;
pub mod params;
mod registration;
pub mod remote;
mod request_object;
pub mod rp_key;
mod settings;
pub mod site;
mod tokens;
pub mod uma;
mod webfinger;

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;

use cache::Cache;
pub use client::{OxdClient, PluginSite};
pub use discovery::{Discovery, discovery_url};
pub use error::OxdError;
pub use expiring::{ExpiringKind, ExpiringStore, MemoryExpiring};
pub use jwks::JwtRejection;
use op_http::basic_auth;
use params::{strings, text};
pub use remote::RemoteOxds;
pub use rp_key::RpKey;
pub use settings::{IntrospectionAuth, OxdSettings};
pub use site::{MemorySites, Site, SiteStore};
pub use tokens::ClientToken;
pub use uma::{CachedRpt, UmaResource};

pub struct Oxd {
    http: reqwest::Client,
    settings: OxdSettings,
    sites: Arc<dyn SiteStore>,
    expiring: Arc<dyn ExpiringStore>,
    discoveries: Cache<String, Arc<Discovery>>,
    uma_discoveries: Cache<String, Arc<uma::UmaDiscovery>>,
    tokens: Cache<(String, String, String), ClientToken>,
    jwks: Cache<String, Arc<jwt::Jwks>>,
    /// When each issuer's JWKS was last refreshed for an unknown `kid`.
    forced_refresh: jwks::ForcedRefresh,
    /// The RP signing key of `enable_jwks_generation`.
    rp_key: Option<RpKey>,
}

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
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

impl Oxd {
    pub fn new(
        settings: OxdSettings,
        sites: Arc<dyn SiteStore>,
        expiring: Arc<dyn ExpiringStore>,
    ) -> Result<Oxd, String> {
        if settings.trust_all_certs {
            tracing::warn!("trust_all_certs is set: the oxd module does not verify the OP's TLS certificates");
        }
        let http = settings.http_client().map_err(|e| format!("cannot build the OP client: {e}"))?;
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
            rp_key: None,
        })
    }

    /// Turns on `enable_jwks_generation` with the node's RP signing key.
    pub fn with_rp_key(mut self, key: RpKey) -> Oxd {
        self.rp_key = Some(key);
        self
    }

    /// Forgets cached discovery documents, JWKS and client tokens (the Admin API's `DELETE /cache`).
    pub fn purge_caches(&self) {
        self.discoveries.clear();
        self.uma_discoveries.clear();
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
            Ok(Some(site)) if !self.settings.allows_op(&site.op_host) => Err(OxdError::restricted_op_host()),
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
}
