//! The app's view of this node ([`AdminBackend`]): the dashboard's figures, the Admin API run in-process on
//! behalf of the signed-in admin, and the embedded oxd module for OP clients.

use std::collections::BTreeMap;
use std::sync::Arc;

use app::admin::ApiReply;
use app::backend::AdminBackend;
use app::dashboard::{Dashboard, EntityCount, ListenerInfo, ProviderStatus};
use axum::body::Body;
use http_body_util::BodyExt;
use proxy::oxd::{Oxd, OxdError};
use serde_json::Value;
use tower::ServiceExt;

use crate::node::Node;
use crate::store::Actor;

/// The app's view of this node.
pub(super) struct NodeBackend {
    pub(super) node: Arc<Node>,
    pub(super) traffic: Arc<super::traffic::TrafficSampler>,
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
            traffic: self.traffic.traffic(),
            providers: self.providers().await,
            oxd_running: node.oxd.is_some(),
        })
    }

    async fn admin_api(&self, method: &str, path: &str, body: Option<serde_json::Value>) -> Result<ApiReply, String> {
        let request = admin_request(method, path, body)?;
        let response =
            crate::admin_api::service(self.node.clone()).oneshot(request).await.unwrap_or_else(|never| match never {});
        let status = response.status().as_u16();
        let bytes = response.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes();
        let body = if bytes.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(&bytes).into()))
        };
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
    /// The OPs the configuration names, each checked by its (cached) discovery document, at most 2 s.
    async fn providers(&self) -> Vec<ProviderStatus> {
        let mut used: BTreeMap<String, Vec<String>> = BTreeMap::new();
        if !self.node.config.admin_gui_op_host.is_empty() {
            used.entry(self.node.config.admin_gui_op_host.trim_end_matches('/').to_string())
                .or_default()
                .push("admin UI sign-in".into());
        }
        if let Ok(reply) = self.admin_api("GET", "/plugins?size=1000", None).await {
            for plugin in reply.body["data"].as_array().into_iter().flatten() {
                let Some(op) = plugin["config"]["op_url"].as_str().filter(|op| !op.is_empty()) else { continue };
                let scope = ["service", "route", "consumer"]
                    .into_iter()
                    .find(|scope| plugin[*scope].is_object())
                    .map_or_else(|| "globally".to_string(), |scope| format!("on a {scope}"));
                used.entry(op.trim_end_matches('/').to_string())
                    .or_default()
                    .push(format!("{} {scope}", plugin["name"].as_str().unwrap_or("plugin")));
            }
        }
        let checks = used.into_iter().map(|(url, used_by)| async move {
            let problem = match &self.node.oxd {
                None => Some("the oxd module is not running on this node".to_string()),
                Some(oxd) => {
                    let discovery = format!("{url}/.well-known/openid-configuration");
                    match tokio::time::timeout(std::time::Duration::from_secs(2), oxd.discovery(&discovery)).await {
                        Ok(Ok(_)) => None,
                        Ok(Err(error)) => Some(oxd_message(error)),
                        Err(_) => Some("no answer within 2 s".to_string()),
                    }
                }
            };
            ProviderStatus { url, used_by, problem }
        });
        futures_util::future::join_all(checks).await
    }

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

/// The one place a UI call becomes an Admin API request, on behalf of the signed-in admin (the audit log's
/// actor; the session guard put them in the request being served).
fn admin_request(method: &str, path: &str, body: Option<serde_json::Value>) -> Result<http::Request<Body>, String> {
    let actor = match app::session::signed_in() {
        Some(admin) => Actor { name: admin.username, via: "admin-gui".into(), comment: String::new() },
        None => Actor::system(),
    };
    let builder =
        http::Request::builder().method(method).uri(path).header(http::header::HOST, "admin-gui").extension(actor);
    let request = match body {
        Some(json) => builder.header(http::header::CONTENT_TYPE, "application/json").body(Body::from(json.to_string())),
        None => builder.body(Body::empty()),
    };
    request.map_err(|e| format!("invalid Admin API request: {e}"))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::*;
    use crate::config::Config;
    use crate::store::Store;

    async fn backend() -> (NodeBackend, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let config = Config { prefix: dir.path().into(), ..Config::default() };
        let store = Store::open_sqlite(&config.sqlite_file()).await.unwrap();
        let node = Arc::new(Node::new(config, Arc::new(store)));
        let traffic = super::super::traffic::TrafficSampler::start(node.plugin_services.metrics.clone());
        (NodeBackend { node, traffic }, dir)
    }

    /// The body the service form sends for these texts, read with the Admin API's own schema.
    async fn service_form(backend: &NodeBackend, texts: &[(&str, &str)]) -> serde_json::Value {
        let schema = backend.admin_api("GET", "/schemas/services", None).await.unwrap();
        let specs = app::schema::fields(&schema.body);
        let texts: BTreeMap<String, String> = texts.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        app::schema::body(&specs, &texts, false).unwrap()
    }

    #[tokio::test]
    async fn an_invalid_form_gets_the_admin_api_field_errors_and_changes_nothing() {
        let (backend, _dir) = backend().await;
        let body = service_form(&backend, &[("name", "bad name"), ("port", "80"), ("protocol", "http")]).await;
        let reply = backend.admin_api("POST", "/services", Some(body)).await.unwrap();
        assert_eq!(reply.status, 400);
        let errors = reply.field_errors();
        assert_eq!(errors["host"], "required field missing");
        assert!(errors["name"].contains("alphanumeric"), "{errors:?}");
        let list = backend.admin_api("GET", "/services", None).await.unwrap();
        assert_eq!(list.body["data"], json!([]));
    }

    #[tokio::test]
    async fn a_valid_form_creates_the_entity_and_a_delete_answers_an_empty_body() {
        let (backend, _dir) = backend().await;
        let body = service_form(
            &backend,
            &[
                ("name", "billing"),
                ("host", "billing.internal"),
                ("port", "8080"),
                ("protocol", "http"),
                ("tags", "team-a, prod"),
            ],
        )
        .await;
        let created = backend.admin_api("POST", "/services", Some(body)).await.unwrap();
        assert_eq!(created.status, 201, "{:?}", created.body);
        assert_eq!(created.body["port"], 8080);
        assert_eq!(created.body["tags"], json!(["team-a", "prod"]));
        let tagged = backend.admin_api("GET", "/services?tags=team-a", None).await.unwrap();
        assert_eq!(tagged.body["data"][0]["name"], "billing");
        let deleted = backend.admin_api("DELETE", "/services/billing", None).await.unwrap();
        assert_eq!((deleted.status, deleted.body), (204, serde_json::Value::Null));
    }
}
