//! Hosting the admin UI (`admin_gui_listen`): the Leptos app rendered on the server, its server functions,
//! and the compiled browser assets (`pkg/`, static files) from `admin_gui_assets`.

use std::path::PathBuf;
use std::sync::Arc;

use app::backend::{AdminBackend, SharedBackend};
use app::dashboard::{Dashboard, EntityCount, ListenerInfo};
use axum::Router;
use leptos::config::LeptosOptions;
use leptos::prelude::provide_context;
use leptos_axum::{LeptosRoutes, generate_route_list};
use tower_http::services::ServeDir;

use crate::node::Node;

/// Where the compiled UI assets are: the `admin_gui_assets` setting, else `site/` beside the binary's folder
/// (`target/site` next to `target/debug/gatehouse`, where `./scripts/build` puts them).
pub fn assets_dir(node: &Node) -> PathBuf {
    if !node.config.admin_gui_assets.is_empty() {
        return PathBuf::from(&node.config.admin_gui_assets);
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.join("site")))
        .unwrap_or_else(|| PathBuf::from("target/site"))
}

pub fn router(node: Arc<Node>) -> Router {
    let site_root = assets_dir(&node);
    if !site_root.join("pkg").is_dir() {
        tracing::warn!(
            path = %site_root.display(),
            "admin UI assets not found: pages render but will not hydrate; build them with ./scripts/build \
             or set admin_gui_assets"
        );
    }
    let options = LeptosOptions::builder()
        .output_name("gatehouse")
        .site_root(site_root.display().to_string())
        .site_pkg_dir("pkg")
        .build();
    let backend: SharedBackend = Arc::new(NodeBackend { node });
    let routes = generate_route_list(app::App);
    Router::new()
        .leptos_routes_with_context(&options, routes, move || provide_context(backend.clone()), {
            let options = options.clone();
            move || app::shell(options.clone())
        })
        .fallback_service(ServeDir::new(site_root))
        .with_state(options)
}

/// The app's view of this node.
struct NodeBackend {
    node: Arc<Node>,
}

#[async_trait::async_trait]
impl AdminBackend for NodeBackend {
    async fn dashboard(&self) -> Result<Dashboard, String> {
        let node = &self.node;
        let counts = node.store.counts().await.map_err(|e| {
            tracing::error!(error = %e, "dashboard cannot read entity counts");
            "the store cannot be read right now".to_string()
        })?;
        Ok(Dashboard {
            hostname: node.hostname.clone(),
            node_id: node.id.to_string(),
            version: proxy::VERSION.to_string(),
            kong_version: proxy::KONG_COMPAT_VERSION.to_string(),
            started_at: node.started_at,
            database: node.config.database.as_str().to_string(),
            database_reachable: node.store.ping().await,
            config_version: node.store.config_version(),
            listeners: node
                .config
                .listen_settings()
                .into_iter()
                .map(|(setting, value)| ListenerInfo {
                    setting: setting.to_string(),
                    addresses: value.split(',').map(|s| s.trim().to_string()).collect(),
                })
                .collect(),
            counts: counts.into_iter().map(|(kind, count)| EntityCount { kind, count }).collect(),
        })
    }
}
