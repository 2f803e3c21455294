//! The compiled configuration the proxy serves from: built once per configuration version from the stored
//! routes and services, swapped in whole, never changed in place.

use std::collections::HashMap;
use std::sync::Arc;

use uuid::Uuid;

use crate::balancer::Balancer;
use crate::config_hash::ConfigMap;
use crate::health::HealthRegistry;
use crate::model::entities::consumer::Consumer;
use crate::model::entities::route::Route;
use crate::model::entities::service::Service;
use crate::model::entities::target::Target;
use crate::model::entities::upstream::Upstream;
use crate::plugins::{PluginConfig, PluginServices, PluginSet};
use crate::router::{Router, RouterError};
use crate::upstream::{CertificateStore, UpstreamTls};

/// The maps are keyed by what the configuration names and looked up with configuration values (a route's
/// service, a service's host, a token's `client_id` as the OP states it), never with what a client sends, so
/// they use the fast [`ConfigMap`] hasher.
pub struct Snapshot {
    /// The store's configuration version this snapshot was built from.
    pub config_version: i64,
    pub router: Router,
    /// By route index in [`Snapshot::router`]: the service a request on the route goes to, and its balancer.
    pub route_targets: Vec<RouteTarget>,
    /// Balancers by upstream name (lower-cased): a service whose host is one of these balances over it.
    pub balancers: ConfigMap<String, Arc<Balancer>>,
    pub plugins: PluginSet,
    pub consumers: ConfigMap<Uuid, Arc<Consumer>>,
    /// Consumers by `custom_id` (the Gluu auth plugins map OAuth client ids to consumers through it).
    pub consumers_by_custom_id: ConfigMap<String, Arc<Consumer>>,
    /// The ACL groups of each consumer (the `acls` entity), in creation order.
    pub acl_groups: ConfigMap<Uuid, Vec<String>>,
    /// The TLS of each `https` service towards its upstream. A service missing here has TLS settings that
    /// did not load (logged at build time) and fails closed with 502.
    pub upstream_tls: ConfigMap<Uuid, Arc<UpstreamTls>>,
    /// What the targets' host names resolved to for this snapshot (re-checked while it serves: a change
    /// rebuilds it).
    pub resolved: crate::balancer::Resolved,
}

/// A route's service and the balancer its host names, looked up once per snapshot instead of per request.
#[derive(Clone, Default)]
pub struct RouteTarget {
    /// `None` for a route without a service (its requests get 503).
    pub service: Option<Arc<Service>>,
    /// The balancer of the upstream the service's host names, if it names one.
    pub balancer: Option<Arc<Balancer>>,
}

/// One ACL row: a consumer's membership of a group.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct AclGroup {
    pub consumer: crate::model::entities::Reference,
    pub group: String,
}

/// Everything a snapshot is compiled from.
#[derive(Debug, Clone, Default)]
pub struct Configuration {
    pub version: i64,
    pub routes: Vec<Route>,
    pub services: Vec<Service>,
    pub upstreams: Vec<Upstream>,
    pub targets: Vec<Target>,
    pub plugins: Vec<PluginConfig>,
    pub consumers: Vec<Consumer>,
    pub acls: Vec<AclGroup>,
    /// Certificates and CA certificates, for services' upstream TLS.
    pub certificates: CertificateStore,
    /// The node's `proxy_ssl_verify`: what `tls_verify = null` means.
    pub proxy_ssl_verify: bool,
    /// What the targets' host names resolved to when the configuration was read.
    pub resolved: crate::balancer::Resolved,
}

impl Snapshot {
    /// A snapshot with nothing configured (every request gets the no-route 404).
    pub fn empty() -> Snapshot {
        Snapshot {
            config_version: 0,
            router: Router::build(Vec::new()).expect("no routes compile"),
            route_targets: Vec::new(),
            balancers: ConfigMap::default(),
            plugins: PluginSet::default(),
            consumers: ConfigMap::default(),
            consumers_by_custom_id: ConfigMap::default(),
            acl_groups: ConfigMap::default(),
            upstream_tls: ConfigMap::default(),
            resolved: HashMap::new(),
        }
    }

    /// Compiles a configuration; an error leaves the caller's current snapshot serving. The balancers take
    /// their targets' health from `health`, so it carries over from the previous snapshot.
    pub fn build(
        config: Configuration,
        services: &PluginServices,
        health: &HealthRegistry,
    ) -> Result<Snapshot, RouterError> {
        let balancers: ConfigMap<String, Arc<Balancer>> = config
            .upstreams
            .into_iter()
            .map(|upstream| {
                let targets: Vec<Target> =
                    config.targets.iter().filter(|t| t.upstream.id == upstream.id).cloned().collect();
                let balancer = Balancer::new(upstream, &targets, health, &config.resolved);
                (balancer.upstream.name.to_ascii_lowercase(), Arc::new(balancer))
            })
            .collect();
        let consumers: ConfigMap<Uuid, Arc<Consumer>> =
            config.consumers.into_iter().map(|c| (c.id, Arc::new(c))).collect();
        let consumers_by_custom_id =
            consumers.values().filter_map(|c| c.custom_id.clone().map(|id| (id, c.clone()))).collect();
        let mut acl_groups: ConfigMap<Uuid, Vec<String>> = ConfigMap::default();
        for acl in config.acls {
            acl_groups.entry(acl.consumer.id).or_default().push(acl.group);
        }
        let mut upstream_tls = ConfigMap::default();
        for service in config.services.iter().filter(|s| s.protocol == "https") {
            match UpstreamTls::for_service(service, config.proxy_ssl_verify, &config.certificates) {
                Ok(tls) => {
                    upstream_tls.insert(service.id, Arc::new(tls));
                }
                Err(error) => {
                    tracing::error!(service = %service.id, %error, "upstream TLS not loaded; the service answers 502")
                }
            }
        }
        let router = Router::build(config.routes)?;
        let services_by_id: ConfigMap<Uuid, Arc<Service>> =
            config.services.into_iter().map(|s| (s.id, Arc::new(s))).collect();
        let route_targets: Vec<RouteTarget> = router
            .routes()
            .iter()
            .map(|route| {
                let service = route.service.and_then(|s| services_by_id.get(&s.id)).cloned();
                let balancer = service.as_ref().and_then(|s| balancers.get(&s.host.to_ascii_lowercase())).cloned();
                RouteTarget { service, balancer }
            })
            .collect();
        let mut plugins = PluginSet::build(config.plugins, services);
        plugins.plan_routes(
            router
                .routes()
                .iter()
                .zip(&route_targets)
                .map(|(route, target)| (route.id, target.service.as_ref().map(|s| s.id))),
        );
        crate::plugins::exclusive::warn_conflicts(&plugins, router.routes());
        Ok(Snapshot {
            config_version: config.version,
            router,
            route_targets,
            balancers,
            plugins,
            consumers,
            consumers_by_custom_id,
            acl_groups,
            upstream_tls,
            resolved: config.resolved,
        })
    }
}

impl Default for Snapshot {
    fn default() -> Self {
        Snapshot::empty()
    }
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot")
            .field("config_version", &self.config_version)
            .field("routes", &self.router.routes().len())
            .field("plugins", &self.plugins.len())
            .finish()
    }
}
