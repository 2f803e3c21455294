//! The dashboard's data and the server function that reads it.

use leptos::prelude::*;
use proxy::model::EntityKind;
use serde::{Deserialize, Serialize};

/// What the dashboard shows: this node, its listeners, and how much configuration the store holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dashboard {
    pub hostname: String,
    pub node_id: String,
    pub version: String,
    pub kong_version: String,
    /// Unix seconds.
    pub started_at: i64,
    pub database: String,
    pub database_reachable: bool,
    pub config_version: i64,
    pub listeners: Vec<ListenerInfo>,
    pub counts: Vec<EntityCount>,
    /// Requests per service from gluu-metrics; `None` while gluu-metrics is off (there are no metrics).
    pub traffic: Option<Vec<ServiceTraffic>>,
    /// The OpenID Providers the configuration names (Gluu plugins, the UI's sign-in) and whether they answer.
    pub providers: Vec<ProviderStatus>,
    /// Whether the embedded oxd module runs on this node.
    pub oxd_running: bool,
}

/// One service's traffic on this node: totals since the node started and rates over the last minute.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceTraffic {
    pub service: String,
    pub requests: u64,
    /// Answers with a 5xx status.
    pub errors: u64,
    pub requests_per_second: f64,
    pub errors_per_second: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProviderStatus {
    pub url: String,
    /// Where the configuration names it (`gluu-oauth-auth on service billing`, `admin UI sign-in`).
    pub used_by: Vec<String>,
    /// `None` when it answers its discovery; else why not.
    pub problem: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListenerInfo {
    /// The configuration key (`proxy_listen`, ...).
    pub setting: String,
    pub addresses: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EntityCount {
    pub kind: EntityKind,
    pub count: i64,
}

/// Reads the dashboard from the server.
#[server(prefix = "/api", client = crate::csrf::CsrfClient)]
pub async fn get_dashboard() -> Result<Dashboard, ServerFnError> {
    let backend = crate::backend::from_context()?;
    backend.dashboard().await.map_err(ServerFnError::new)
}
