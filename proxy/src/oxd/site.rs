//! Sites: the OP clients the module registered or was given (`oxd.md` §1.9), and where they are kept.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::uma::{CachedRpt, UmaResource};

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One site. `metadata` is the client's registration metadata in RFC 7591 names, as last accepted by the OP:
/// RFC 7592 updates send it whole, since the PUT replaces the client.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Site {
    pub oxd_id: String,
    /// The OP's issuer.
    pub op_host: String,
    /// Where the OP's discovery document is.
    pub op_configuration_endpoint: String,
    pub client_id: String,
    pub client_secret: String,
    #[serde(default)]
    pub client_registration_access_token: Option<String>,
    #[serde(default)]
    pub client_registration_client_uri: Option<String>,
    #[serde(default)]
    pub client_id_issued_at: Option<i64>,
    #[serde(default)]
    pub client_secret_expires_at: Option<i64>,
    #[serde(default)]
    pub client_name: Option<String>,
    #[serde(default)]
    pub metadata: Map<String, Value>,
    /// UMA resources registered with `uma-rs-protect`.
    #[serde(default)]
    pub uma_protected_resources: Vec<UmaResource>,
    /// The last RPT obtained with `uma-rp-get-rpt` (oxd's flat `rpt*` fields).
    #[serde(default, flatten)]
    pub rpt: Option<CachedRpt>,
}

impl Site {
    /// The site as `get-rp` shows it (oxd's field names, the registration metadata flattened in).
    pub fn to_rp_json(&self) -> Value {
        let mut node = self.metadata.clone();
        let Value::Object(own) = serde_json::to_value(self).unwrap_or_default() else { return Value::Null };
        for (key, value) in own {
            if key != "metadata" && !value.is_null() {
                node.insert(key, value);
            }
        }
        Value::Object(node)
    }
}

/// Where sites are persisted. The server implements it over its database (shared by cluster nodes, secrets
/// encrypted at rest); [`MemorySites`] serves tests.
pub trait SiteStore: Send + Sync {
    fn load<'a>(&'a self, oxd_id: &'a str) -> BoxFuture<'a, Result<Option<Site>, String>>;
    fn save<'a>(&'a self, site: &'a Site) -> BoxFuture<'a, Result<(), String>>;
    /// `true` when a site was removed.
    fn remove<'a>(&'a self, oxd_id: &'a str) -> BoxFuture<'a, Result<bool, String>>;
    fn list(&self) -> BoxFuture<'_, Result<Vec<Site>, String>>;
}

/// Sites in memory.
#[derive(Default)]
pub struct MemorySites {
    sites: Mutex<HashMap<String, Site>>,
}

impl MemorySites {
    fn sites(&self) -> std::sync::MutexGuard<'_, HashMap<String, Site>> {
        self.sites.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl SiteStore for MemorySites {
    fn load<'a>(&'a self, oxd_id: &'a str) -> BoxFuture<'a, Result<Option<Site>, String>> {
        Box::pin(async move { Ok(self.sites().get(oxd_id).cloned()) })
    }
    fn save<'a>(&'a self, site: &'a Site) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            self.sites().insert(site.oxd_id.clone(), site.clone());
            Ok(())
        })
    }
    fn remove<'a>(&'a self, oxd_id: &'a str) -> BoxFuture<'a, Result<bool, String>> {
        Box::pin(async move { Ok(self.sites().remove(oxd_id).is_some()) })
    }
    fn list(&self) -> BoxFuture<'_, Result<Vec<Site>, String>> {
        Box::pin(async move { Ok(self.sites().values().cloned().collect()) })
    }
}
