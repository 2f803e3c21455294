//! This node: its identity for this process run and the shared state every listener reads.

use std::sync::Arc;

use proxy::headers::HeaderSet;
use proxy::health::HealthRegistry;
use proxy::listener::ListenerStats;
use proxy::plugins::PluginServices;
use uuid::Uuid;

use crate::config::Config;
use crate::store::Store;

/// What the listeners share. Built once at start.
pub struct Node {
    /// Random per process start, as Kong's `node_id`.
    pub id: Uuid,
    pub hostname: String,
    /// Unix seconds.
    pub started_at: i64,
    pub config: Config,
    pub store: Arc<Store>,
    /// Counters of the proxy listeners (`GET /status` → `server`).
    pub proxy_stats: Arc<ListenerStats>,
    /// The gateway's own response headers this node sends (`headers`).
    pub headers: HeaderSet,
    /// The embedded oxd module (the oxd API serves it; the Gluu plugins call it in-process).
    pub oxd: Option<Arc<proxy::oxd::Oxd>>,
    /// Node-wide state of plugin handlers that outlives snapshots (rate-limiting counters, Redis pools).
    pub plugin_services: PluginServices,
    /// Every target's health on this node (`proxy.md` §9): the balancers of each snapshot, the active checks
    /// and the Admin API's `/upstreams/{u}/health` all read and write this one registry.
    pub health: Arc<HealthRegistry>,
    /// Why the latest configuration did not compile, while the previous one keeps serving.
    snapshot_error: std::sync::Mutex<Option<String>>,
}

impl Node {
    pub fn set_snapshot_error(&self, error: Option<String>) {
        *self.snapshot_error.lock().expect("the snapshot error lock is never poisoned: no code panics holding it") =
            error;
    }

    pub fn snapshot_error(&self) -> Option<String> {
        self.snapshot_error
            .lock()
            .expect("the snapshot error lock is never poisoned: no code panics holding it")
            .clone()
    }

    pub fn new(config: Config, store: Arc<Store>) -> Node {
        Node {
            id: Uuid::new_v4(),
            hostname: gethostname::gethostname().to_string_lossy().into_owned(),
            started_at: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0),
            oxd: None,
            plugin_services: PluginServices {
                cluster: Some(Arc::new(crate::store::DatabaseCounters::new(store.clone()))),
                ..PluginServices::default()
            },
            health: Arc::new(HealthRegistry::default()),
            store,
            snapshot_error: std::sync::Mutex::new(None),
            proxy_stats: Arc::new(ListenerStats::default()),
            // A configuration is validated before a node is built; an invalid setting sends every header.
            headers: config
                .header_set()
                .unwrap_or(HeaderSet::parse("server_tokens, latency_tokens").expect("Kong's default parses")),
            config,
        }
    }
}
