//! Hosting the admin UI (`admin_gui_listen`): the Leptos app rendered on the server, its server functions,
//! and the compiled browser assets (`pkg/`, static files) from `admin_gui_assets`.

use std::path::PathBuf;
use std::sync::Arc;

use app::backend::{AdminBackend, ApiReply, SharedBackend};
use app::dashboard::{Dashboard, EntityCount, ListenerInfo};
use axum::Router;
use axum::body::Body;
use http_body_util::BodyExt;
use leptos::config::LeptosOptions;
use leptos::prelude::provide_context;
use leptos_axum::{LeptosRoutes, generate_route_list};
use proxy::oxd::{Oxd, OxdError};
use serde_json::Value;
use tower::ServiceExt;
use tower_http::services::ServeDir;

use crate::admin_api;
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

    async fn admin_api(&self, method: &str, path: &str, body: Option<Value>) -> Result<ApiReply, String> {
        let mut request = axum::http::Request::builder().method(method).uri(path);
        let body = match body {
            Some(json) => {
                request = request.header("content-type", "application/json");
                Body::from(json.to_string())
            }
            None => Body::empty(),
        };
        let request = request.body(body).map_err(|e| format!("bad Admin API request: {e}"))?;
        let response =
            admin_api::router(self.node.clone()).oneshot(request).await.unwrap_or_else(|never| match never {});
        let status = response.status().as_u16();
        let bytes = response.into_body().collect().await.map_err(|e| format!("Admin API body: {e}"))?.to_bytes();
        let body = if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).unwrap_or(Value::Null) };
        Ok(ApiReply { status, body })
    }

    async fn register_site(&self, params: Value) -> Result<Value, String> {
        let oxd = self.oxd()?;
        oxd.register_site(&object(params)).await.map_err(oxd_message)
    }

    async fn update_site(&self, params: Value) -> Result<Value, String> {
        let oxd = self.oxd()?;
        oxd.update_site(&object(params)).await.map_err(oxd_message)
    }

    async fn remove_site(&self, params: Value) -> Result<Value, String> {
        let oxd = self.oxd()?;
        oxd.remove_site(&object(params)).await.map_err(oxd_message)
    }

    fn local_oxd_url(&self) -> Option<String> {
        self.node.plugin_services.local_oxd_urls.first().cloned()
    }
}

impl NodeBackend {
    fn oxd(&self) -> Result<&Oxd, String> {
        self.node.oxd.as_deref().ok_or_else(|| "the oxd module is not running on this node".to_string())
    }
}

fn object(params: Value) -> serde_json::Map<String, Value> {
    match params {
        Value::Object(map) => map,
        _ => serde_json::Map::new(),
    }
}

/// oxd's error body (`error`, `error_description`), which never carries a secret.
fn oxd_message(error: OxdError) -> String {
    let body: Value = serde_json::from_str(&error.body()).unwrap_or(Value::Null);
    match (body["error"].as_str(), body["error_description"].as_str()) {
        (Some(code), Some(description)) => format!("{code}: {description}"),
        _ => error.body(),
    }
}
