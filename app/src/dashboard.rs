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
    let backend = use_context::<crate::backend::SharedBackend>()
        .ok_or_else(|| ServerFnError::new("the admin backend is not available"))?;
    backend.dashboard().await.map_err(ServerFnError::new)
}
